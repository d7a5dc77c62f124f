//! One sample of every message, shared by the golden and TypeScript tests.

use nara_protocol::desk::*;
use nara_protocol::kiosk::*;
use nara_protocol::*;

pub fn id<T: TryFrom<String, Error = String>>(s: &str) -> T {
    T::try_from(s.to_string()).unwrap()
}

fn agency_choice() -> AgencyChoice {
    AgencyChoice {
        agency: id("skatteverket"),
        name: id("Skatteverket"),
        open_now: true,
        hours: id("mon-thu 08:00-16:30; fri 08:00-15:00"),
        languages: vec![id("sv"), id("en"), id("ar")],
    }
}

fn card() -> StaffCard {
    StaffCard {
        staff: id("anna-fk"),
        display_name: id("Anna Lind"),
        role: StaffRoleKind::Officer,
        agency: Some(id("forsakringskassan")),
        agency_name: Some(id("Försäkringskassan")),
        interprets: None,
    }
}

fn offer_sdp() -> SignalPayload {
    SignalPayload::Offer {
        sdp: id("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"),
    }
}

fn candidate() -> SignalPayload {
    SignalPayload::Candidate {
        candidate: id("candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host"),
        sdp_mid: Some(id("0")),
        sdp_m_line_index: Some(0),
    }
}

fn devices() -> DeviceStates {
    DeviceStates {
        camera: DeviceState::Ok,
        microphone: DeviceState::Ok,
        speaker: DeviceState::Ok,
        scanner: DeviceState::Failing {
            detail: id("paper jam"),
        },
    }
}

fn turn() -> IceServer {
    IceServer {
        urls: vec!["turn:127.0.0.1:3478?transport=udp".into()],
        username: Some("1790000000:k-norsjo-1".into()),
        credential: Some("c2VjcmV0".into()),
    }
}

pub fn kiosk_to_broker() -> Vec<KioskToBroker> {
    vec![
        KioskToBroker::Hello {
            protocol_version: 1,
            software_version: id("0.1.0"),
            resume_visit: Some(id("v-1")),
        },
        KioskToBroker::StartVisit {
            language: id("ar"),
            agency: id("skatteverket"),
            topic: Some(id("id-kort")),
        },
        KioskToBroker::CheckIn {
            booking_code: id("K7M2PX9Q"),
        },
        KioskToBroker::EndVisit { visit: id("v-1") },
        KioskToBroker::Signal {
            call: id("c-1"),
            to: id("anna-fk"),
            payload: offer_sdp(),
        },
        KioskToBroker::DocumentSent {
            visit: id("v-1"),
            to: id("anna-fk"),
            pages: 2,
            bytes: 812_345,
        },
        KioskToBroker::Survey {
            visit: id("v-1"),
            score: 5,
        },
        KioskToBroker::Heartbeat {
            devices: devices(),
            network: Some(NetworkQuality {
                rtt_ms: 38,
                loss_permille: 4,
                bitrate_kbps: 1800,
                last_interruption_ms: Some(10_900),
            }),
            load_x100: 42,
            disk_free_megabytes: 20480,
            activity: KioskActivity::Idle,
        },
        KioskToBroker::SelfTestResult {
            request: id("r-1"),
            report: SelfTestReport {
                passed: false,
                camera_frames: 150,
                microphone_peak_decibels_x10: Some(-235),
                scanner: DeviceState::Missing,
                turn_reachable: true,
                details: vec![id("no scanner connected")],
            },
        },
    ]
}

pub fn broker_to_kiosk() -> Vec<BrokerToKiosk> {
    vec![
        BrokerToKiosk::Welcome {
            protocol_version: 1,
            kiosk: id("k-norsjo-1"),
            site: id("norsjo"),
            site_name: id("Norsjö"),
            agencies: vec![agency_choice()],
            ice_servers: vec![turn()],
            heartbeat_seconds: 15,
            out_of_service: None,
        },
        BrokerToKiosk::Queued {
            visit: id("v-1"),
            agency: id("skatteverket"),
            language: id("ar"),
            estimate: WaitEstimate {
                position: 2,
                wait: WaitRange::Seconds {
                    low_seconds: 240,
                    high_seconds: 600,
                },
            },
            booked: false,
        },
        BrokerToKiosk::Ringing {
            visit: id("v-1"),
            call: id("c-1"),
            staff: id("anna-fk"),
        },
        BrokerToKiosk::RingEnded {
            call: id("c-1"),
            staff: id("anna-fk"),
        },
        BrokerToKiosk::CallStarted {
            visit: id("v-1"),
            call: id("c-1"),
            officer: card(),
        },
        BrokerToKiosk::ParticipantJoined {
            call: id("c-1"),
            participant: StaffCard {
                staff: id("tolk-amir"),
                display_name: id("Amir Haddad"),
                role: StaffRoleKind::Interpreter,
                agency: None,
                agency_name: None,
                interprets: None,
            },
        },
        BrokerToKiosk::ParticipantLeft {
            call: id("c-1"),
            staff: id("tolk-amir"),
        },
        BrokerToKiosk::Signal {
            call: id("c-1"),
            from: id("anna-fk"),
            payload: candidate(),
        },
        BrokerToKiosk::DocumentRequested {
            call: id("c-1"),
            by: id("anna-fk"),
        },
        BrokerToKiosk::Transferred {
            visit: id("v-1"),
            to_agency: id("csn"),
        },
        BrokerToKiosk::VisitEnded {
            visit: id("v-1"),
            reason: VisitEndReason::Completed,
        },
        BrokerToKiosk::SurveyReceived { visit: id("v-1") },
        BrokerToKiosk::RunSelfTest { request: id("r-1") },
        BrokerToKiosk::OutOfService {
            message: id("Ur funktion – välkommen åter i morgon"),
        },
        BrokerToKiosk::BackInService,
        BrokerToKiosk::Agencies {
            agencies: vec![AgencyChoice {
                open_now: false,
                ..agency_choice()
            }],
        },
        BrokerToKiosk::IceServers {
            ice_servers: vec![turn()],
        },
        BrokerToKiosk::Error(ErrorReply {
            code: ErrorCode::VersionMismatch,
            message: "this broker speaks protocol version 1, the kiosk sent 2".into(),
            fatal: true,
            request: None,
        }),
    ]
}

pub fn desk_to_broker() -> Vec<DeskToBroker> {
    vec![
        DeskToBroker::Hello {
            protocol_version: 1,
        },
        DeskToBroker::SetStatus {
            status: AvailabilityChoice::Available,
        },
        DeskToBroker::AcceptOffer { offer: id("o-1") },
        DeskToBroker::DeclineOffer { offer: id("o-1") },
        DeskToBroker::Signal {
            call: id("c-1"),
            to: Peer::Kiosk {
                kiosk: id("k-norsjo-1"),
            },
            payload: SignalPayload::Answer { sdp: id("v=0\r\n") },
        },
        DeskToBroker::RequestDocument { call: id("c-1") },
        DeskToBroker::Invite {
            call: id("c-1"),
            target: InviteTarget::Interpreter { language: id("ar") },
        },
        DeskToBroker::Transfer {
            call: id("c-1"),
            agency: id("csn"),
            language: id("ar"),
            mode: TransferMode::Cold,
        },
        DeskToBroker::LeaveCall { call: id("c-1") },
        DeskToBroker::EndCall {
            call: id("c-1"),
            outcome: Outcome::Served,
        },
        DeskToBroker::RefreshQueues,
    ]
}

pub fn broker_to_desk() -> Vec<BrokerToDesk> {
    vec![
        BrokerToDesk::Welcome {
            protocol_version: 1,
            me: Me {
                card: card(),
                languages: vec![id("sv"), id("en")],
                region: None,
            },
            status: StaffStatus::Away,
            ice_servers: vec![turn()],
        },
        BrokerToDesk::StatusChanged {
            status: StaffStatus::Offered,
        },
        BrokerToDesk::Queues {
            queues: vec![QueueView {
                agency: id("forsakringskassan"),
                language: id("so"),
                waiting: vec![WaitingVisit {
                    visit: id("v-1"),
                    language: id("so"),
                    topic: None,
                    waited_seconds: 95,
                    booked: true,
                    site_name: id("Rinkeby"),
                }],
                officers_available: 1,
                officers_busy: 3,
            }],
        },
        BrokerToDesk::Offer {
            offer: id("o-1"),
            visit: id("v-1"),
            call: id("c-1"),
            in_call: vec![id("omar-sk")],
            purpose: OfferPurpose::TransferIn {
                from_agency: id("skatteverket"),
                warm: true,
            },
            language: id("so"),
            site_name: id("Rinkeby"),
            booked: false,
            ring_seconds: 20,
        },
        BrokerToDesk::OfferWithdrawn {
            offer: id("o-1"),
            reason: OfferWithdrawnReason::TimedOut,
        },
        BrokerToDesk::RingEnded {
            call: id("c-1"),
            staff: id("tolk-amir"),
        },
        BrokerToDesk::CallStarted {
            call: id("c-1"),
            visit: id("v-1"),
            kiosk: id("k-norsjo-1"),
            site_name: id("Norsjö"),
            language: id("so"),
            participants: vec![card()],
            owner: id("anna-fk"),
        },
        BrokerToDesk::ParticipantJoined {
            call: id("c-1"),
            participant: card(),
            owner: id("anna-fk"),
        },
        BrokerToDesk::ParticipantLeft {
            call: id("c-1"),
            staff: id("anna-fk"),
        },
        BrokerToDesk::Signal {
            call: id("c-1"),
            from: Peer::Staff {
                staff: id("tolk-amir"),
            },
            payload: offer_sdp(),
        },
        BrokerToDesk::DocumentNoted {
            call: id("c-1"),
            pages: 1,
            bytes: 400_000,
        },
        BrokerToDesk::CallEnded {
            call: id("c-1"),
            outcome: Outcome::Transferred,
        },
        BrokerToDesk::InviteUnanswered {
            call: id("c-1"),
            target: InviteTarget::Officer { agency: id("csn") },
        },
        BrokerToDesk::IceServers {
            ice_servers: vec![turn()],
        },
        BrokerToDesk::Error(ErrorReply {
            code: ErrorCode::Forbidden,
            message: "officers of csn cannot see the queues of skatteverket".into(),
            fatal: false,
            request: Some(RequestId::new("d12").unwrap()),
        }),
    ]
}
