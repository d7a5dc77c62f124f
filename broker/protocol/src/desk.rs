//! The desk's WebSocket (`/ws/desk`, session cookie): officers, interpreters and administrators.

use crate::common::*;
use crate::ids::*;
use crate::values::*;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// What an officer sets themselves to. `offered` and `inCall` are set by the broker only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum AvailabilityChoice {
    Available,
    Away,
    WrapUp,
}

/// An officer's or interpreter's state as the broker holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum StaffStatus {
    Available,
    /// Ringing: an offer waits for this person's answer.
    Offered,
    InCall,
    WrapUp,
    Away,
}

/// Whom to bring into a call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum InviteTarget {
    Interpreter { language: LanguageCode },
    Officer { agency: AgencyId },
}

/// Warm: the current officer stays until the next one has joined. Cold: the visit goes back to
/// the other agency's queue at once and the current officer leaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum TransferMode {
    Warm,
    Cold,
}

/// Everything a desk may send to the broker.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum DeskToBroker {
    #[serde(rename_all = "camelCase")]
    Hello { protocol_version: u32 },
    #[serde(rename_all = "camelCase")]
    SetStatus { status: AvailabilityChoice },
    #[serde(rename_all = "camelCase")]
    AcceptOffer { offer: OfferId },
    #[serde(rename_all = "camelCase")]
    DeclineOffer { offer: OfferId },
    #[serde(rename_all = "camelCase")]
    Signal {
        call: CallId,
        to: Peer,
        payload: SignalPayload,
    },
    #[serde(rename_all = "camelCase")]
    RequestDocument { call: CallId },
    #[serde(rename_all = "camelCase")]
    Invite { call: CallId, target: InviteTarget },
    #[serde(rename_all = "camelCase")]
    Transfer {
        call: CallId,
        agency: AgencyId,
        language: LanguageCode,
        mode: TransferMode,
    },
    /// Leave a call that goes on without you (interpreter, invited colleague, warm transfer).
    #[serde(rename_all = "camelCase")]
    LeaveCall { call: CallId },
    /// The officer responsible ends the meeting for everyone.
    #[serde(rename_all = "camelCase")]
    EndCall { call: CallId, outcome: Outcome },
    /// Ask for a fresh queue snapshot (sent unasked on every change too).
    RefreshQueues,
}

/// Why an offer stopped ringing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum OfferWithdrawnReason {
    /// Not answered within the ring time; you were set to away.
    TimedOut,
    /// The citizen left or the kiosk lost its connection.
    VisitGone,
    /// You declined.
    Declined,
    /// The visit needs an interpreter and an officer together, and the one this offer was
    /// to go with declined or went, with nobody free to take their place.
    PartnerGone,
}

/// What an offer asks of the person it rings for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum OfferPurpose {
    /// Answer a waiting citizen.
    Answer,
    /// Answer a waiting citizen whose language you do not speak, with an interpreter who is
    /// rung at the same time: the call starts when both have answered.
    AnswerWithInterpreter { language: LanguageCode },
    /// Interpret: in a call already going on, or (an offer naming no call yet) from the start
    /// of one, together with the officer rung at the same time.
    Interpret { language: LanguageCode },
    /// Join a colleague's call from another agency.
    Join { invited_by: StaffId },
    /// Take over a visit transferred by another agency (warm: they are still in the call).
    #[serde(rename_all = "camelCase")]
    TransferIn { from_agency: AgencyId, warm: bool },
}

/// A waiting visit as an officer sees it in the queue — never who the citizen is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct WaitingVisit {
    pub visit: VisitId,
    pub language: LanguageCode,
    pub topic: Option<Topic>,
    pub waited_seconds: u32,
    pub booked: bool,
    pub site_name: ShortText,
}

/// One of the caller's agency's queues.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct QueueView {
    pub agency: AgencyId,
    pub language: LanguageCode,
    pub waiting: Vec<WaitingVisit>,
    pub officers_available: u32,
    pub officers_busy: u32,
}

/// Who is logged in on this desk.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Me {
    pub card: StaffCard,
    pub languages: Vec<LanguageCode>,
    pub region: Option<RegionId>,
}

/// Everything the broker may send to a desk.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum BrokerToDesk {
    #[serde(rename_all = "camelCase")]
    Welcome {
        protocol_version: u32,
        me: Me,
        status: StaffStatus,
        ice_servers: Vec<IceServer>,
    },
    #[serde(rename_all = "camelCase")]
    StatusChanged {
        status: StaffStatus,
    },
    #[serde(rename_all = "camelCase")]
    Queues {
        queues: Vec<QueueView>,
    },
    /// Rings. The kiosk connects to this desk on `call` while it does (its offer arrives as
    /// `signal`s naming `call`); nothing is sent either way until the answer.
    #[serde(rename_all = "camelCase")]
    Offer {
        offer: OfferId,
        visit: VisitId,
        /// The call answering starts or joins.
        call: CallId,
        /// Who is at a desk in that call already (an invitation, a transfer): the desk
        /// connects to them too while it rings, sending nothing until the answer.
        in_call: Vec<StaffId>,
        purpose: OfferPurpose,
        language: LanguageCode,
        site_name: ShortText,
        booked: bool,
        ring_seconds: u32,
    },
    /// You answered an offer that needs someone else too (an officer and an interpreter):
    /// the call starts when they answer as well. It may still be withdrawn.
    #[serde(rename_all = "camelCase")]
    OfferHeld {
        offer: OfferId,
    },
    #[serde(rename_all = "camelCase")]
    OfferWithdrawn {
        offer: OfferId,
        reason: OfferWithdrawnReason,
    },
    /// You are in a call. Make no offer: the kiosk offers to you; answer it. Towards other desk
    /// peers already in the call, the one who joined later makes the offer.
    #[serde(rename_all = "camelCase")]
    CallStarted {
        call: CallId,
        visit: VisitId,
        kiosk: KioskId,
        site_name: ShortText,
        language: LanguageCode,
        participants: Vec<StaffCard>,
        /// The officer responsible for the call: who may invite, transfer and end it.
        owner: StaffId,
    },
    /// An invitation to your call stopped ringing unanswered: the connection its desk made to
    /// yours while it rang goes.
    #[serde(rename_all = "camelCase")]
    RingEnded {
        call: CallId,
        staff: StaffId,
    },
    /// Someone joined; `owner` is the officer responsible now (a warm transfer hands over).
    #[serde(rename_all = "camelCase")]
    ParticipantJoined {
        call: CallId,
        participant: StaffCard,
        owner: StaffId,
    },
    #[serde(rename_all = "camelCase")]
    ParticipantLeft {
        call: CallId,
        staff: StaffId,
    },
    #[serde(rename_all = "camelCase")]
    Signal {
        call: CallId,
        from: Peer,
        payload: SignalPayload,
    },
    /// The citizen sent a document to you (count and size; the pages come over the data channel).
    #[serde(rename_all = "camelCase")]
    DocumentNoted {
        call: CallId,
        pages: u16,
        #[ts(type = "number")]
        bytes: u64,
    },
    #[serde(rename_all = "camelCase")]
    CallEnded {
        call: CallId,
        outcome: Outcome,
    },
    /// Nobody could be found for an invitation or warm transfer within the invite time.
    #[serde(rename_all = "camelCase")]
    InviteUnanswered {
        call: CallId,
        target: InviteTarget,
    },
    #[serde(rename_all = "camelCase")]
    IceServers {
        ice_servers: Vec<IceServer>,
    },
    Error(ErrorReply),
}
