//! Structures shared by the kiosk and desk protocols.

use crate::ids::*;
use crate::values::*;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// One side of a peer connection in a call: the kiosk or a person at a desk.
/// A call with an interpreter is a mesh, so desks also signal to each other.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Peer {
    Kiosk { kiosk: KioskId },
    Staff { staff: StaffId },
}

/// What is relayed between two peers of a call. The broker reads only the envelope.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum SignalPayload {
    Offer {
        sdp: Sdp,
    },
    Answer {
        sdp: Sdp,
    },
    #[serde(rename_all = "camelCase")]
    Candidate {
        candidate: CandidateLine,
        sdp_mid: Option<ShortText>,
        sdp_m_line_index: Option<u16>,
    },
}

/// An ICE server as `RTCPeerConnection` takes it. TURN entries carry short-lived
/// credentials (TURN REST style: `expiry:who` and an HMAC of it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct IceServer {
    pub urls: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub credential: Option<String>,
}

/// How long a waiting citizen should expect to wait, said honestly.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct WaitEstimate {
    /// 1 = next in line.
    pub position: u32,
    pub wait: WaitRange,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum WaitRange {
    /// Likely between `low` and `high` seconds; wide when there is little history.
    #[serde(rename_all = "camelCase")]
    Seconds { low_seconds: u32, high_seconds: u32 },
    /// No officer who can take this visit is logged in; no number would be honest.
    NoOfficerOnline,
    /// Officers are here, but none speaks the citizen's language and no interpreter for it
    /// is logged in: the citizen is told so, and offered a booked time with one.
    NoInterpreterOnline,
}

/// Who the citizen is talking to, as the kiosk shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct StaffCard {
    pub staff: StaffId,
    pub display_name: ShortText,
    pub role: StaffRoleKind,
    /// The agency an officer works for; none for interpreters.
    pub agency: Option<AgencyId>,
    pub agency_name: Option<ShortText>,
    /// The language an interpreter interprets in this meeting, so that the citizen sees
    /// "Tolk, tigrinja". Told in a meeting only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub interprets: Option<LanguageCode>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum StaffRoleKind {
    Officer,
    Interpreter,
    Admin,
}

/// A device's state as the kiosk last saw it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "state", rename_all = "camelCase")]
pub enum DeviceState {
    Ok,
    /// No such device is connected.
    Missing,
    /// Present but not working; `detail` says how (e.g. "no frames for 5 s", "paper jam").
    Failing {
        detail: ShortText,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DeviceStates {
    pub camera: DeviceState,
    pub microphone: DeviceState,
    pub speaker: DeviceState,
    pub scanner: DeviceState,
}

/// Network quality of the call in progress, from the WebRTC statistics (none between calls).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct NetworkQuality {
    pub rtt_ms: u32,
    /// Packet loss in thousandths (0–1000).
    pub loss_permille: u16,
    pub bitrate_kbps: u32,
    /// How long the last break in the call's media lasted, from the last frame before it to
    /// the first after (a dropped link, a path change); none if media never broke.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub last_interruption_ms: Option<u32>,
}

/// What a kiosk is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum KioskActivity {
    Idle,
    Waiting,
    InCall,
    SelfTest,
    OutOfService,
}

/// The result of a kiosk's self-test.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SelfTestReport {
    pub passed: bool,
    pub camera_frames: u32,
    /// Peak microphone level in dBFS ×10 (e.g. -235 = -23.5 dBFS); none when silent or absent.
    pub microphone_peak_decibels_x10: Option<i16>,
    pub scanner: DeviceState,
    pub turn_reachable: bool,
    pub details: Vec<ShortText>,
}

/// How a call or visit ended, for statistics. Never content.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum Outcome {
    /// The officer helped the citizen.
    Served,
    /// The citizen ended the meeting at the kiosk before the officer did: whether they were
    /// helped, nobody said.
    EndedByCitizen,
    /// The citizen left before being answered.
    Abandoned,
    /// Handed to another agency's queue.
    Transferred,
    /// Broke down: lost connection, device failure, nobody could take it.
    Failed,
}

/// Machine-readable error kinds. Clients choose what to show by the code, in their own
/// language; `message` beside it is for logs and developers, in English.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum ErrorCode {
    /// Not JSON, or JSON of the wrong shape.
    Malformed,
    /// A `type` this broker does not know.
    UnknownType,
    /// A field with a value outside what is allowed.
    Invalid,
    /// The first message named another protocol version.
    VersionMismatch,
    /// A message larger than the limit.
    TooLarge,
    /// Too many messages too fast.
    RateLimited,
    /// Nothing heard for several heartbeat periods; the connection is presumed dead.
    HeartbeatMissed,
    /// The client stopped reading what the broker sends; it is cut off rather than buffered.
    TooSlow,
    /// Not allowed for this role, agency or kiosk.
    Forbidden,
    /// The visit, call or offer does not exist (any more).
    NotFound,
    /// The request does not fit the current state (e.g. answering an offer already withdrawn).
    Conflict,
    /// Something failed in the broker; the request may be retried.
    Internal,
    /// The person logged out, or their session expired: the desk asks them to log in again.
    SessionEnded,
    /// No such agency, or not any more.
    AgencyUnknown,
    /// The agency is closed now (its opening hours are in the kiosk's agency list).
    AgencyClosed,
    /// The agency has no queue in that language.
    LanguageNotServed,
    /// An administrator has taken this kiosk out of service.
    OutOfService,
    /// This kiosk already has a visit going.
    VisitInProgress,
    /// No booking has that code.
    BookingUnknown,
    /// The booking's check-in opens later.
    BookingTooEarly,
    /// The booking's time has passed.
    BookingTooLate,
    /// The booking was already used to check in.
    BookingUsed,
    /// The offer stopped ringing before the answer: taken by the visit's end or a timeout.
    OfferGone,
    /// The call has ended, or you are no longer in it (signalling in flight as it ends meets
    /// this).
    CallGone,
    /// Only the officer responsible for the call may invite, transfer or end it.
    NotOwner,
    /// Not while you are in a call: end or leave it first.
    InCall,
    /// The same invitation is already looking for someone.
    AlreadyInvited,
    /// A transfer of this call is already under way.
    TransferUnderway,
    /// The visit is already in that queue.
    SameQueue,
    /// The officer responsible cannot leave the call: they end or transfer it.
    OwnerCannotLeave,
}

/// An error reply. The connection stays open unless the error says otherwise.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ErrorReply {
    pub code: ErrorCode,
    pub message: String,
    /// True when the broker closes the connection after this message.
    pub fatal: bool,
    /// The request refused, as the client named it in `requestId`; none when it named none,
    /// or when the error answers no request (a missed heartbeat).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub request: Option<RequestId>,
}

/// A message from a kiosk or desk as it goes on the wire: the message's own fields, and the
/// id its sender chose for it, so that a refusal can name the request it refuses. Read with
/// [`crate::codec::decode_request`].
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Request<M> {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<RequestId>,
    #[serde(flatten)]
    pub message: M,
}

impl<M> Request<M> {
    /// A message with no request id: nothing it leads to needs to name it.
    pub fn unnamed(message: M) -> Self {
        Request {
            request_id: None,
            message,
        }
    }
}
