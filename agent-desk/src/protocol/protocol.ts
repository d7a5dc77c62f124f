// Generated from broker/protocol by its `typescript` test. Do not edit by hand:
// NARA_BLESS=1 cargo test -p nara-protocol --test typescript

export const PROTOCOL_VERSION = 1;

export type KioskId = string;

export type VisitId = string;

export type CallId = string;

export type StaffId = string;

export type AgencyId = string;

export type SiteId = string;

export type RegionId = string;

export type OfferId = string;

export type RequestId = string;

export type LanguageCode = string;

export type Topic = string;

export type BookingCode = string;

export type Sdp = string;

export type CandidateLine = string;

export type ShortText = string;

export type LongText = string;

export type OpeningHours = string;

export type Peer = { "kind": "kiosk", kiosk: KioskId, } | { "kind": "staff", staff: StaffId, };

export type SignalPayload = { "kind": "offer", sdp: Sdp, } | { "kind": "answer", sdp: Sdp, } | { "kind": "candidate", candidate: CandidateLine, sdpMid: ShortText | null, sdpMLineIndex: number | null, };

export type IceServer = { urls: Array<string>, username?: string, credential?: string, };

export type WaitEstimate = { 
/**
 * 1 = next in line.
 */
position: number, wait: WaitRange, };

export type WaitRange = { "kind": "seconds", lowSeconds: number, highSeconds: number, } | { "kind": "noOfficerOnline" } | { "kind": "noInterpreterOnline" };

export type StaffCard = { staff: StaffId, displayName: ShortText, role: StaffRoleKind, 
/**
 * The agency an officer works for; none for interpreters.
 */
agency: AgencyId | null, agencyName: ShortText | null, 
/**
 * The language an interpreter interprets in this meeting, so that the citizen sees
 * "Tolk, tigrinja". Told in a meeting only.
 */
interprets?: LanguageCode, };

export type StaffRoleKind = "officer" | "interpreter" | "admin";

export type DeviceState = { "state": "ok" } | { "state": "missing" } | { "state": "failing", detail: ShortText, };

export type DeviceStates = { camera: DeviceState, microphone: DeviceState, speaker: DeviceState, scanner: DeviceState, };

export type NetworkQuality = { rttMs: number, 
/**
 * Packet loss in thousandths (0–1000).
 */
lossPermille: number, bitrateKbps: number, 
/**
 * How long the last break in the call's media lasted, from the last frame before it to
 * the first after (a dropped link, a path change); none if media never broke.
 */
lastInterruptionMs?: number, };

export type KioskActivity = "idle" | "waiting" | "inCall" | "selfTest" | "outOfService";

export type SelfTestReport = { passed: boolean, cameraFrames: number, 
/**
 * Peak microphone level in dBFS ×10 (e.g. -235 = -23.5 dBFS); none when silent or absent.
 */
microphonePeakDecibelsX10: number | null, scanner: DeviceState, turnReachable: boolean, details: Array<ShortText>, };

export type Outcome = "served" | "endedByCitizen" | "abandoned" | "transferred" | "failed";

export type ErrorCode = "malformed" | "unknownType" | "invalid" | "versionMismatch" | "tooLarge" | "rateLimited" | "heartbeatMissed" | "tooSlow" | "forbidden" | "notFound" | "conflict" | "internal" | "sessionEnded" | "agencyUnknown" | "agencyClosed" | "languageNotServed" | "outOfService" | "visitInProgress" | "bookingUnknown" | "bookingTooEarly" | "bookingTooLate" | "bookingUsed" | "offerGone" | "callGone" | "notOwner" | "inCall" | "alreadyInvited" | "transferUnderway" | "sameQueue" | "ownerCannotLeave";

export type ErrorReply = { code: ErrorCode, message: string, 
/**
 * True when the broker closes the connection after this message.
 */
fatal: boolean, 
/**
 * The request refused, as the client named it in `requestId`; none when it named none,
 * or when the error answers no request (a missed heartbeat).
 */
request?: RequestId, };

export type KioskToBroker = { "type": "hello", protocolVersion: number, softwareVersion: ShortText, resumeVisit: VisitId | null, } | { "type": "startVisit", language: LanguageCode, agency: AgencyId, topic: Topic | null, } | { "type": "checkIn", bookingCode: BookingCode, } | { "type": "endVisit", visit: VisitId, } | { "type": "signal", call: CallId, to: StaffId, payload: SignalPayload, } | { "type": "documentSent", visit: VisitId, to: StaffId, pages: number, bytes: number, } | { "type": "survey", visit: VisitId, score: number, } | { "type": "heartbeat", devices: DeviceStates, network: NetworkQuality | null, 
/**
 * One-minute load average ×100.
 */
loadX100: number, diskFreeMegabytes: number, activity: KioskActivity, } | { "type": "selfTestResult", request: RequestId, report: SelfTestReport, };

export type AgencyChoice = { agency: AgencyId, name: ShortText, openNow: boolean, 
/**
 * Opening hours, e.g. `mon-fri 09:00-16:00`, for the kiosk to show in the citizen's language.
 */
hours: OpeningHours, languages: Array<LanguageCode>, };

export type VisitEndReason = "completed" | "leftQueue" | "connectionLost" | "notServed";

export type BrokerToKiosk = { "type": "welcome", protocolVersion: number, kiosk: KioskId, site: SiteId, siteName: ShortText, agencies: Array<AgencyChoice>, iceServers: Array<IceServer>, heartbeatSeconds: number, 
/**
 * Set when the broker is holding the kiosk out of service.
 */
outOfService: LongText | null, } | { "type": "queued", visit: VisitId, agency: AgencyId, language: LanguageCode, estimate: WaitEstimate, booked: boolean, } | { "type": "ringing", visit: VisitId, call: CallId, staff: StaffId, } | { "type": "ringEnded", call: CallId, staff: StaffId, } | { "type": "callStarted", visit: VisitId, call: CallId, officer: StaffCard, } | { "type": "participantJoined", call: CallId, participant: StaffCard, } | { "type": "participantLeft", call: CallId, staff: StaffId, } | { "type": "signal", call: CallId, from: StaffId, payload: SignalPayload, } | { "type": "documentRequested", call: CallId, by: StaffId, } | { "type": "transferred", visit: VisitId, toAgency: AgencyId, } | { "type": "visitEnded", visit: VisitId, reason: VisitEndReason, } | { "type": "surveyReceived", visit: VisitId, } | { "type": "runSelfTest", request: RequestId, } | { "type": "outOfService", message: LongText, } | { "type": "backInService" } | { "type": "agencies", agencies: Array<AgencyChoice>, } | { "type": "iceServers", iceServers: Array<IceServer>, } | { "type": "error" } & ErrorReply;

export type AvailabilityChoice = "available" | "away" | "wrapUp";

export type StaffStatus = "available" | "offered" | "inCall" | "wrapUp" | "away";

export type InviteTarget = { "kind": "interpreter", language: LanguageCode, } | { "kind": "officer", agency: AgencyId, };

export type TransferMode = "warm" | "cold";

export type DeskToBroker = { "type": "hello", protocolVersion: number, } | { "type": "setStatus", status: AvailabilityChoice, } | { "type": "acceptOffer", offer: OfferId, } | { "type": "declineOffer", offer: OfferId, } | { "type": "signal", call: CallId, to: Peer, payload: SignalPayload, } | { "type": "requestDocument", call: CallId, } | { "type": "invite", call: CallId, target: InviteTarget, } | { "type": "transfer", call: CallId, agency: AgencyId, language: LanguageCode, mode: TransferMode, } | { "type": "leaveCall", call: CallId, } | { "type": "endCall", call: CallId, outcome: Outcome, } | { "type": "refreshQueues" };

export type OfferWithdrawnReason = "timedOut" | "visitGone" | "declined" | "partnerGone";

export type OfferPurpose = { "kind": "answer" } | { "kind": "answerWithInterpreter", language: LanguageCode, } | { "kind": "interpret", language: LanguageCode, } | { "kind": "join", invited_by: StaffId, } | { "kind": "transferIn", fromAgency: AgencyId, warm: boolean, };

export type WaitingVisit = { visit: VisitId, language: LanguageCode, topic: Topic | null, waitedSeconds: number, booked: boolean, siteName: ShortText, };

export type QueueView = { agency: AgencyId, language: LanguageCode, waiting: Array<WaitingVisit>, officersAvailable: number, officersBusy: number, };

export type Me = { card: StaffCard, languages: Array<LanguageCode>, region: RegionId | null, };

export type BrokerToDesk = { "type": "welcome", protocolVersion: number, me: Me, status: StaffStatus, iceServers: Array<IceServer>, } | { "type": "statusChanged", status: StaffStatus, } | { "type": "queues", queues: Array<QueueView>, } | { "type": "offer", offer: OfferId, visit: VisitId, 
/**
 * The call answering starts or joins.
 */
call: CallId, 
/**
 * Who is at a desk in that call already (an invitation, a transfer): the desk
 * connects to them too while it rings, sending nothing until the answer.
 */
inCall: Array<StaffId>, purpose: OfferPurpose, language: LanguageCode, siteName: ShortText, booked: boolean, ringSeconds: number, } | { "type": "offerHeld", offer: OfferId, } | { "type": "offerWithdrawn", offer: OfferId, reason: OfferWithdrawnReason, } | { "type": "callStarted", call: CallId, visit: VisitId, kiosk: KioskId, siteName: ShortText, language: LanguageCode, participants: Array<StaffCard>, 
/**
 * The officer responsible for the call: who may invite, transfer and end it.
 */
owner: StaffId, } | { "type": "ringEnded", call: CallId, staff: StaffId, } | { "type": "participantJoined", call: CallId, participant: StaffCard, owner: StaffId, } | { "type": "participantLeft", call: CallId, staff: StaffId, } | { "type": "signal", call: CallId, from: Peer, payload: SignalPayload, } | { "type": "documentNoted", call: CallId, pages: number, bytes: number, } | { "type": "callEnded", call: CallId, outcome: Outcome, } | { "type": "inviteUnanswered", call: CallId, target: InviteTarget, } | { "type": "iceServers", iceServers: Array<IceServer>, } | { "type": "error" } & ErrorReply;

export type Sha256Hex = string;

export type PageMediaType = "image/jpeg" | "image/png";

export type PageManifest = { bytes: number, sha256: Sha256Hex, mediaType: PageMediaType, widthPx: number, heightPx: number, };

export type DocumentFailure = "cancelled" | "corrupted" | "protocolViolation" | "tooLarge" | "connectionLost";

export type PeerMessage = { "type": "chat", id: number, text: LongText, } | { "type": "chatSeen", id: number, } | { "type": "documentOffered", document: number, pages: Array<PageManifest>, } | { "type": "pageReceived", document: number, page: number, } | { "type": "scannerState", scanning: boolean, 
/**
 * Pages scanned and not yet sent.
 */
pages: number, 
/**
 * What went wrong at the scanner, as the citizen was told ("paper jam").
 */
problem: ShortText | null, } | { "type": "documentFailed", document: number, reason: DocumentFailure, };
