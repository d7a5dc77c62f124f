//! The routing engine's vocabulary: events in, commands out, and the state between.

use nara_protocol::desk::{
    InviteTarget, OfferPurpose, OfferWithdrawnReason, StaffStatus, TransferMode,
};
use nara_protocol::kiosk::VisitEndReason;
use nara_protocol::{
    AgencyId, CallId, ErrorCode, KioskId, LanguageCode, OfferId, Outcome, ShortText, StaffId,
    Topic, VisitId, WaitEstimate,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Milliseconds since the Unix epoch. The engine never reads a clock; `now` is passed in.
pub type Millis = u64;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
// Each key on its own: a file or an environment variable may set one and keep the rest.
#[serde(default, deny_unknown_fields)]
pub struct RoutingConfig {
    /// How long an offer rings before it goes to the next officer.
    pub ring_timeout_ms: u64,
    /// How long a kiosk or desk may be gone (network drop, broker restart) and keep its place.
    pub reconnect_grace_ms: u64,
    /// After a call, officers are made available again after this long unless they choose.
    pub wrap_up_ms: u64,
    /// How long an invitation (interpreter, colleague, warm transfer) looks for someone.
    pub invite_timeout_ms: u64,
    /// A booked visit that checked in goes ahead of drop-ins from this long before its time.
    pub booking_early_ms: u64,
}

impl Default for RoutingConfig {
    fn default() -> Self {
        RoutingConfig {
            ring_timeout_ms: 20_000,
            reconnect_grace_ms: 120_000,
            wrap_up_ms: 120_000,
            invite_timeout_ms: 120_000,
            booking_early_ms: 5 * 60_000,
        }
    }
}

/// A queue: agency and language, optionally a topic.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct QueueKey {
    pub agency: AgencyId,
    pub language: LanguageCode,
    pub topic: Option<Topic>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StaffKind {
    Officer {
        agency: AgencyId,
    },
    /// Interpreters are a pool of their own, not of one agency: `serves` names the agencies
    /// they work for, none meaning all.
    Interpreter {
        serves: BTreeSet<AgencyId>,
    },
}

/// The language officers and interpreters share: a visit in it never needs an interpreter,
/// and an officer answering through one speaks it.
pub const WORKING_LANGUAGE: &str = "sv";

/// What the engine needs to know of a person at a desk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffProfile {
    pub id: StaffId,
    pub kind: StaffKind,
    pub languages: BTreeSet<LanguageCode>,
    pub skills: BTreeSet<Topic>,
}

impl StaffProfile {
    pub fn can_answer(&self, queue: &QueueKey) -> bool {
        matches!(&self.kind, StaffKind::Officer { agency } if *agency == queue.agency)
            && self.languages.contains(&queue.language)
            && queue.topic.as_ref().is_none_or(|t| self.skills.contains(t))
    }

    /// Whether this officer can take `queue`'s visits with an interpreter: of its agency,
    /// with its topic, speaking the working language; the visit's language is another.
    pub fn can_answer_through_interpreter(&self, queue: &QueueKey) -> bool {
        needs_interpreter(&queue.language, self)
            && matches!(&self.kind, StaffKind::Officer { agency } if *agency == queue.agency)
            && self
                .languages
                .iter()
                .any(|l| l.as_str() == WORKING_LANGUAGE)
            && queue.topic.as_ref().is_none_or(|t| self.skills.contains(t))
    }

    /// Whether this interpreter can interpret `language` in a visit to `agency`.
    pub fn can_interpret(&self, language: &LanguageCode, agency: &AgencyId) -> bool {
        matches!(&self.kind, StaffKind::Interpreter { serves } if serves.is_empty() || serves.contains(agency))
            && self.languages.contains(language)
    }

    pub fn agency(&self) -> Option<&AgencyId> {
        match &self.kind {
            StaffKind::Officer { agency } => Some(agency),
            StaffKind::Interpreter { .. } => None,
        }
    }
}

/// Whether a visit in `language` answered by `officer` needs an interpreter.
pub fn needs_interpreter(language: &LanguageCode, officer: &StaffProfile) -> bool {
    language.as_str() != WORKING_LANGUAGE && !officer.languages.contains(language)
}

#[derive(Debug, Clone)]
pub struct Staff {
    pub profile: StaffProfile,
    pub status: StaffStatus,
    pub online: bool,
    /// Fairness: the available officer idle longest is offered first.
    pub idle_since: Millis,
    pub offer: Option<OfferId>,
    pub call: Option<CallId>,
    pub offline_deadline: Option<Millis>,
    pub wrap_up_deadline: Option<Millis>,
}

impl Staff {
    pub(crate) fn new(profile: StaffProfile, now: Millis) -> Self {
        Staff {
            profile,
            status: StaffStatus::Away,
            online: true,
            idle_since: now,
            offer: None,
            call: None,
            offline_deadline: None,
            wrap_up_deadline: None,
        }
    }

    pub(crate) fn can_be_offered(&self) -> bool {
        self.online
            && self.status == StaffStatus::Available
            && self.offer.is_none()
            && self.call.is_none()
    }
}

/// A new visit for the queue, or one restored after a restart.
#[derive(Debug, Clone)]
pub struct VisitSpec {
    pub visit: VisitId,
    pub kiosk: KioskId,
    pub site_name: ShortText,
    pub queue: QueueKey,
    /// Appointment time of a booked visit that checked in.
    pub booking: Option<Millis>,
    pub queued_at: Millis,
    /// Restored visits that were in a call when the broker stopped go to the front.
    pub front_of_queue: bool,
    pub kiosk_online: bool,
}

/// One agency's part of a visit: queued, offered, answered, ended. Statistics are built from these.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    pub queue: QueueKey,
    pub queued_at: Millis,
    pub first_offered_at: Option<Millis>,
    pub answered_at: Option<Millis>,
    pub answered_by: Option<StaffId>,
}

impl Segment {
    pub(crate) fn new(queue: QueueKey, queued_at: Millis) -> Self {
        Segment {
            queue,
            queued_at,
            first_offered_at: None,
            answered_at: None,
            answered_by: None,
        }
    }

    pub(crate) fn closed(&self, outcome: Outcome, ended_at: Millis) -> ClosedSegment {
        ClosedSegment {
            segment: self.clone(),
            ended_at,
            outcome,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClosedSegment {
    pub segment: Segment,
    pub ended_at: Millis,
    pub outcome: Outcome,
}

#[derive(Debug, Clone)]
pub struct Waiting {
    pub queue: QueueKey,
    pub sort_time: Millis,
    pub seq: u64,
    pub front: bool,
    /// The offer ringing for (or held by) the officer who is to answer.
    pub offer: Option<OfferId>,
    /// The interpreter's offer of a visit that needs one: rung with the officer's, on the
    /// same call, so that both join together (see `pairs`).
    pub interpreter: Option<OfferId>,
    /// Who declined or let it ring out, and until when they are skipped for this visit.
    pub tried: BTreeMap<StaffId, Millis>,
}

#[derive(Debug, Clone)]
pub enum VisitState {
    Waiting(Waiting),
    InCall { call: CallId },
}

#[derive(Debug, Clone)]
pub struct Visit {
    pub id: VisitId,
    pub kiosk: KioskId,
    pub site_name: ShortText,
    pub booking: Option<Millis>,
    pub segment: Segment,
    pub state: VisitState,
    pub kiosk_online: bool,
    pub gone_deadline: Option<Millis>,
    /// The last estimate told to the kiosk, so that only changes are sent.
    pub announced: Option<WaitEstimate>,
}

impl Visit {
    pub(crate) fn waiting_record(&self) -> Option<WaitingRecord> {
        match &self.state {
            VisitState::Waiting(w) => Some(WaitingRecord {
                visit: self.id.clone(),
                kiosk: self.kiosk.clone(),
                site_name: self.site_name.clone(),
                queue: w.queue.clone(),
                booking: self.booking,
                queued_at: self.segment.queued_at,
                front: w.front,
            }),
            VisitState::InCall { .. } => None,
        }
    }
}

/// What the shell persists so that waiting visits survive a restart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitingRecord {
    pub visit: VisitId,
    pub kiosk: KioskId,
    pub site_name: ShortText,
    pub queue: QueueKey,
    pub booking: Option<Millis>,
    pub queued_at: Millis,
    pub front: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OfferKind {
    /// Answer a waiting visit, which starts `call`. The call's id is chosen when the offer
    /// rings, so that the kiosk and the desk connect on it before anyone answers.
    Answer { call: CallId },
    /// Interpret a waiting visit from the start of `call`, which the officer rung with it
    /// starts: the call starts when both have answered.
    Interpret {
        call: CallId,
        language: LanguageCode,
    },
    /// Join a call in progress for an invitation.
    Invite {
        call: CallId,
        invited_by: StaffId,
        target: InviteTarget,
        transfer_to: Option<QueueKey>,
    },
}

#[derive(Debug, Clone)]
pub struct Offer {
    pub staff: StaffId,
    pub visit: VisitId,
    pub kind: OfferKind,
    pub deadline: Millis,
    /// Answered, and waiting for the other half of its pair to answer too: it no longer
    /// times out.
    pub held: bool,
}

impl Offer {
    /// The call the offer is about: the one answering starts, or the one an invitation joins.
    pub fn call(&self) -> &CallId {
        match &self.kind {
            OfferKind::Answer { call }
            | OfferKind::Interpret { call, .. }
            | OfferKind::Invite { call, .. } => call,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Invite {
    pub invited_by: StaffId,
    pub target: InviteTarget,
    /// Set for a warm transfer: the one who joins takes the visit over into this queue.
    pub transfer_to: Option<QueueKey>,
    pub offer: Option<OfferId>,
    /// Who declined or let it ring out, and until when they are skipped.
    pub tried: BTreeMap<StaffId, Millis>,
    pub deadline: Millis,
}

#[derive(Debug, Clone)]
pub struct Call {
    pub id: CallId,
    pub visit: VisitId,
    pub kiosk: KioskId,
    /// The officer responsible: the one who answered, or who took a warm transfer over.
    pub owner: StaffId,
    /// Everyone at a desk in the call, in order of joining.
    pub participants: Vec<StaffId>,
    /// The interpreters among them, and the language each interprets.
    pub interprets: BTreeMap<StaffId, LanguageCode>,
    pub invites: Vec<Invite>,
}

/// The peers of a call as far as signalling goes: see [`super::Router::call_peers`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallPeers {
    pub kiosk: KioskId,
    pub staff: Vec<StaffId>,
}

/// What the shell persists so that a call in progress survives a restart: the visit, who is
/// in the call, who owns it, and the invitations (a warm transfer among them) still looking
/// for someone. Never what was said or shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallRecord {
    pub call: CallId,
    pub visit: VisitId,
    pub kiosk: KioskId,
    pub site_name: ShortText,
    pub booking: Option<Millis>,
    pub segment: Segment,
    pub owner: StaffId,
    pub participants: Vec<ParticipantRecord>,
    pub invites: Vec<InviteRecord>,
}

/// Someone at a desk in a saved call: an officer of `agency`, or an interpreter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParticipantRecord {
    pub staff: StaffId,
    pub agency: Option<AgencyId>,
    /// What an interpreter interprets in the call.
    #[serde(default)]
    pub interprets: Option<LanguageCode>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteRecord {
    pub invited_by: StaffId,
    pub target: InviteTarget,
    pub transfer_to: Option<QueueKey>,
    pub deadline: Millis,
}

/// A waiting visit as queue views show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitingView {
    pub visit: VisitId,
    pub queue: QueueKey,
    pub waited_ms: u64,
    pub booked: bool,
    pub site_name: ShortText,
}

/// Inputs to the engine.
#[derive(Debug, Clone)]
pub enum Event {
    StaffOnline {
        profile: StaffProfile,
    },
    StaffOffline {
        staff: StaffId,
    },
    /// An administrator changed what someone can take (languages, skills, the agencies an
    /// interpreter serves): counted so from now if they are here; read at their next login
    /// if not.
    ProfileChanged {
        profile: StaffProfile,
    },
    SetStatus {
        staff: StaffId,
        status: nara_protocol::desk::AvailabilityChoice,
    },
    Enqueue {
        spec: VisitSpec,
    },
    KioskDisconnected {
        visit: VisitId,
    },
    KioskReconnected {
        visit: VisitId,
    },
    /// The citizen left the queue or ended the meeting at the kiosk.
    CitizenLeft {
        visit: VisitId,
    },
    Accept {
        staff: StaffId,
        offer: OfferId,
    },
    Decline {
        staff: StaffId,
        offer: OfferId,
    },
    Invite {
        staff: StaffId,
        call: CallId,
        target: InviteTarget,
    },
    Transfer {
        staff: StaffId,
        call: CallId,
        to: QueueKey,
        mode: TransferMode,
    },
    Leave {
        staff: StaffId,
        call: CallId,
    },
    EndCall {
        staff: StaffId,
        call: CallId,
        outcome: Outcome,
    },
    /// These agencies closed: visits still waiting for them are ended, not served.
    QueuesClosed {
        agencies: Vec<AgencyId>,
    },
    /// Fire whatever timeouts are due at `now`.
    Tick,
}

/// Outputs of the engine, for the shell to carry out in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    StaffStatus {
        staff: StaffId,
        status: StaffStatus,
    },
    /// `staff` answered their half of a pair; the call starts when the other half answers.
    OfferHeld {
        offer: OfferId,
        staff: StaffId,
    },
    /// `staff`'s desk rings; the kiosk and the desk connect on `call` while it does.
    Offer {
        offer: OfferId,
        staff: StaffId,
        visit: VisitId,
        call: CallId,
        purpose: OfferPurpose,
        ring_ms: u64,
    },
    /// The ring stopped unanswered: the connections made for it on `call` go. `kiosk` is the
    /// visit's, taken when the offer was withdrawn (the visit may be gone by the time this is
    /// told).
    OfferWithdrawn {
        offer: OfferId,
        staff: StaffId,
        visit: VisitId,
        kiosk: Option<KioskId>,
        call: CallId,
        reason: OfferWithdrawnReason,
    },
    /// Tell the kiosk where it stands. Sent on enqueue and whenever the estimate changes.
    Queued {
        visit: VisitId,
        queue: QueueKey,
        booked: bool,
        estimate: WaitEstimate,
    },
    CallStarted {
        call: CallId,
        visit: VisitId,
        kiosk: KioskId,
        staff: StaffId,
    },
    /// `staff` joined `call`; everyone already in it is told.
    Joined {
        call: CallId,
        staff: StaffId,
    },
    Left {
        call: CallId,
        staff: StaffId,
    },
    CallEnded {
        call: CallId,
        visit: VisitId,
        kiosk: KioskId,
        outcome: Outcome,
        participants: Vec<StaffId>,
    },
    /// The kiosk came back to a call in progress.
    ResumeCall {
        visit: VisitId,
        call: CallId,
    },
    Transferred {
        visit: VisitId,
        kiosk: KioskId,
        to: QueueKey,
    },
    InviteUnanswered {
        call: CallId,
        staff: StaffId,
        target: InviteTarget,
    },
    VisitEnded {
        visit: VisitId,
        kiosk: KioskId,
        reason: VisitEndReason,
    },
    QueuesChanged {
        agency: AgencyId,
    },
    SaveWaiting {
        record: WaitingRecord,
    },
    /// A call began or changed: who is in it, who owns it, a transfer under way.
    SaveCall {
        record: CallRecord,
    },
    /// The call is over: its saved record goes.
    ForgetCall {
        call: CallId,
    },
    /// The visit is no longer waiting (answered or ended): remove its persisted record.
    ForgetVisit {
        visit: VisitId,
    },
    SegmentClosed {
        visit: VisitId,
        kiosk: KioskId,
        segment: ClosedSegment,
    },
}

/// A request that does not fit: nothing changed. The code says which rule refused it, for
/// clients to explain in their own language; the message says it in English for logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct RoutingError {
    pub code: ErrorCode,
    pub message: String,
}

impl RoutingError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        RoutingError {
            code,
            message: message.into(),
        }
    }

    pub fn not_found(what: &str, id: &impl std::fmt::Display) -> Self {
        RoutingError::new(
            ErrorCode::NotFound,
            format!("no {what} {id} (it may have ended)"),
        )
    }

    /// The offer was answered, withdrawn or timed out.
    pub fn offer_gone(offer: &OfferId) -> Self {
        RoutingError::new(
            ErrorCode::OfferGone,
            format!("offer {offer} is no longer open"),
        )
    }

    /// The call has ended, or was never this person's.
    pub fn call_gone(call: &CallId) -> Self {
        RoutingError::new(
            ErrorCode::CallGone,
            format!("no call {call} (it may have ended)"),
        )
    }

    pub fn code(&self) -> ErrorCode {
        self.code
    }
}
