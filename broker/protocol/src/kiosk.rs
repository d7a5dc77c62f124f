//! The kiosk's WebSocket (`/ws/kiosk`, mutual TLS with the kiosk's certificate).

use crate::common::*;
use crate::ids::*;
use crate::values::*;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Everything a kiosk may send to the broker.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum KioskToBroker {
    /// First message. `resumeVisit` names the visit in progress after a reconnect.
    #[serde(rename_all = "camelCase")]
    Hello {
        protocol_version: u32,
        software_version: ShortText,
        resume_visit: Option<VisitId>,
    },
    /// A citizen without a booking chose a language and an agency.
    #[serde(rename_all = "camelCase")]
    StartVisit {
        language: LanguageCode,
        agency: AgencyId,
        topic: Option<Topic>,
    },
    /// A citizen typed the code from their letter.
    #[serde(rename_all = "camelCase")]
    CheckIn { booking_code: BookingCode },
    /// The citizen left while waiting, or ended the meeting.
    #[serde(rename_all = "camelCase")]
    EndVisit { visit: VisitId },
    /// Signalling towards one desk peer of a call.
    #[serde(rename_all = "camelCase")]
    Signal {
        call: CallId,
        to: StaffId,
        payload: SignalPayload,
    },
    /// A document went to one officer over the data channel: count and size, never content.
    #[serde(rename_all = "camelCase")]
    DocumentSent {
        visit: VisitId,
        to: StaffId,
        pages: u16,
        #[ts(type = "number")]
        bytes: u64,
    },
    /// The citizen's answer to "how was the meeting?", 1 (bad) to 5 (good).
    #[serde(rename_all = "camelCase")]
    Survey { visit: VisitId, score: u8 },
    #[serde(rename_all = "camelCase")]
    Heartbeat {
        devices: DeviceStates,
        network: Option<NetworkQuality>,
        /// One-minute load average ×100.
        load_x100: u32,
        #[ts(type = "number")]
        disk_free_megabytes: u64,
        activity: KioskActivity,
    },
    #[serde(rename_all = "camelCase")]
    SelfTestResult {
        request: RequestId,
        report: SelfTestReport,
    },
}

/// An agency as the kiosk offers it to the citizen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AgencyChoice {
    pub agency: AgencyId,
    pub name: ShortText,
    pub open_now: bool,
    /// Opening hours, e.g. `mon-fri 09:00-16:00`, for the kiosk to show in the citizen's language.
    pub hours: OpeningHours,
    pub languages: Vec<LanguageCode>,
}

/// Why a visit ended, as the kiosk tells the citizen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum VisitEndReason {
    /// The officer or the citizen ended the meeting.
    Completed,
    /// The citizen left the queue.
    LeftQueue,
    /// The kiosk did not come back within the reconnect grace time.
    ConnectionLost,
    /// The queue closed or nobody could take the visit.
    NotServed,
}

/// Everything the broker may send to a kiosk.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum BrokerToKiosk {
    #[serde(rename_all = "camelCase")]
    Welcome {
        protocol_version: u32,
        kiosk: KioskId,
        site: SiteId,
        site_name: ShortText,
        agencies: Vec<AgencyChoice>,
        ice_servers: Vec<IceServer>,
        heartbeat_seconds: u32,
        /// Set when the broker is holding the kiosk out of service.
        out_of_service: Option<LongText>,
    },
    /// The visit is (still) waiting. Sent on enqueue, on every change of position, and on resume.
    #[serde(rename_all = "camelCase")]
    Queued {
        visit: VisitId,
        agency: AgencyId,
        language: LanguageCode,
        estimate: WaitEstimate,
        booked: bool,
    },
    /// A desk rings for this visit (an officer's offer), or for the call (an invitation): the
    /// kiosk makes an offer to `staff` on `call` now, so that the connection is up before the
    /// answer. Its tracks send nothing until `callStarted` or `participantJoined` names
    /// `staff`; nothing of the citizen reaches a desk that has not answered. A kiosk that
    /// ignores this connects on the answer instead.
    #[serde(rename_all = "camelCase")]
    Ringing {
        visit: VisitId,
        call: CallId,
        staff: StaffId,
    },
    /// The ring for `staff` stopped unanswered (timed out, declined): the connection made
    /// for it is closed.
    #[serde(rename_all = "camelCase")]
    RingEnded {
        call: CallId,
        staff: StaffId,
    },
    /// An officer answered: the kiosk starts sending to `officer.staff`, making an offer
    /// first unless it already connected while the offer rang.
    #[serde(rename_all = "camelCase")]
    CallStarted {
        visit: VisitId,
        call: CallId,
        officer: StaffCard,
    },
    /// Someone joined the call (interpreter, colleague): the kiosk starts sending to them,
    /// making an offer first unless it already connected while their invitation rang.
    #[serde(rename_all = "camelCase")]
    ParticipantJoined {
        call: CallId,
        participant: StaffCard,
    },
    #[serde(rename_all = "camelCase")]
    ParticipantLeft {
        call: CallId,
        staff: StaffId,
    },
    #[serde(rename_all = "camelCase")]
    Signal {
        call: CallId,
        from: StaffId,
        payload: SignalPayload,
    },
    /// The officer asks the citizen to put a paper on the scanner.
    #[serde(rename_all = "camelCase")]
    DocumentRequested {
        call: CallId,
        by: StaffId,
    },
    /// The visit moved to another agency's queue; a `queued` follows.
    #[serde(rename_all = "camelCase")]
    Transferred {
        visit: VisitId,
        to_agency: AgencyId,
    },
    #[serde(rename_all = "camelCase")]
    VisitEnded {
        visit: VisitId,
        reason: VisitEndReason,
    },
    /// The survey answer is stored; the kiosk may thank the citizen and start over.
    #[serde(rename_all = "camelCase")]
    SurveyReceived {
        visit: VisitId,
    },
    #[serde(rename_all = "camelCase")]
    RunSelfTest {
        request: RequestId,
    },
    #[serde(rename_all = "camelCase")]
    OutOfService {
        message: LongText,
    },
    BackInService,
    /// The agencies changed: one opened or closed, or an administrator edited one.
    #[serde(rename_all = "camelCase")]
    Agencies {
        agencies: Vec<AgencyChoice>,
    },
    /// Fresh ICE servers, sent before the TURN credentials expire.
    #[serde(rename_all = "camelCase")]
    IceServers {
        ice_servers: Vec<IceServer>,
    },
    Error(ErrorReply),
}
