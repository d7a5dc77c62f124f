//! Whole visits through the core alone: no sockets, no clock, time moved by hand.

use super::*;
use crate::routing::{StaffKind, StaffProfile};
use nara_protocol::desk::{AvailabilityChoice, OfferWithdrawnReason, TransferMode};
use std::collections::{BTreeMap, BTreeSet};

const MINUTE: Millis = 60_000;

fn id<T: TryFrom<String, Error = String>>(s: &str) -> T {
    T::try_from(s.to_string()).unwrap()
}

/// Milliseconds of a local time in Stockholm.
pub(super) fn at(local: &str) -> Millis {
    let zoned: jiff::Zoned = format!("{local}[Europe/Stockholm]").parse().unwrap();
    zoned.timestamp().as_millisecond() as Millis
}

fn agency(id: &str, hours: &str, languages: &[&str]) -> AgencyRow {
    AgencyRow {
        id: id.into(),
        name: id.to_uppercase(),
        hours: hours.into(),
        languages: languages.iter().map(|l| l.to_string()).collect(),
    }
}

pub(super) fn config() -> CoreConfig {
    CoreConfig {
        routing: RoutingConfig::default(),
        zone: TimeZone::get("Europe/Stockholm").unwrap(),
        heartbeat_seconds: 15,
        id_prefix: "t".into(),
    }
}

pub(super) fn agencies() -> Vec<AgencyRow> {
    vec![
        agency("skatteverket", "daily 00:00-24:00", &["sv", "ar"]),
        agency("kronofogden", "mon-fri 09:00-15:00", &["sv"]),
    ]
}

/// A core and what it said, with time in the test's hands.
pub(super) struct Scene {
    pub core: Core,
    pub now: Millis,
    pub next_connection: ConnectionId,
    /// Every write so far, as storage would have them.
    pub writes: Vec<Write>,
}

impl Scene {
    /// Monday 7 December 2026, 10:00 in Stockholm: both agencies open.
    fn new() -> Scene {
        Scene::with(Vec::new(), Vec::new(), at("2026-12-07T10:00"))
    }

    pub(super) fn with(
        bookings: Vec<BookingRow>,
        waiting: Vec<WaitingRecord>,
        now: Millis,
    ) -> Scene {
        let mut scene = Scene {
            core: Core::new(
                config(),
                Restored {
                    agencies: agencies(),
                    bookings,
                    waiting,
                    ..Restored::default()
                },
                now,
            ),
            now,
            next_connection: 0,
            writes: Vec::new(),
        };
        scene.input(Input::Timeout);
        scene
    }

    pub(super) fn input(&mut self, input: Input) -> Vec<Output> {
        self.core.handle_input(input, self.now);
        let mut out = Vec::new();
        while let Some(o) = self.core.poll_output() {
            match &o {
                Output::Write(w) | Output::Acknowledged { write: w, .. } => {
                    self.writes.push(w.clone())
                }
                _ => {}
            }
            out.push(o);
        }
        out
    }

    /// Moves time on by `ms`, firing every timeout due on the way, in order.
    pub(super) fn advance(&mut self, ms: Millis) -> Vec<Output> {
        let until = self.now + ms;
        let mut out = Vec::new();
        loop {
            let due = self.core.poll_timeout();
            if due > until {
                break;
            }
            self.now = due.max(self.now);
            out.extend(self.input(Input::Timeout));
        }
        self.now = until;
        out
    }

    pub(super) fn connect_kiosk(
        &mut self,
        kiosk: &str,
        resume: Option<&str>,
    ) -> (ConnectionId, Vec<Output>) {
        self.next_connection += 1;
        let connection = self.next_connection;
        let out = self.input(Input::KioskConnected {
            kiosk: id(kiosk),
            connection,
            info: directory::KioskInfo {
                site: id("norsjo"),
                site_name: id("Norsjö"),
            },
            software_version: id("1.0"),
            resume: resume.map(id),
            ice_servers: Vec::new(),
        });
        (connection, out)
    }

    pub(super) fn connect_desk(
        &mut self,
        staff: &str,
        kind: StaffKind,
        languages: &[&str],
    ) -> Vec<Output> {
        self.next_connection += 1;
        let (role, agency) = match &kind {
            StaffKind::Officer { agency } => (StaffRoleKind::Officer, Some(agency.clone())),
            StaffKind::Interpreter => (StaffRoleKind::Interpreter, None),
        };
        let card = StaffCard {
            staff: id(staff),
            display_name: id(staff),
            role,
            agency: agency.clone(),
            agency_name: None,
        };
        let profile = StaffProfile {
            id: id(staff),
            kind,
            languages: languages.iter().map(|l| id::<LanguageCode>(l)).collect(),
            skills: BTreeSet::new(),
        };
        self.input(Input::DeskConnected {
            connection: self.next_connection,
            me: Me {
                card,
                languages: languages.iter().map(|l| id(l)).collect(),
                region: None,
            },
            profile: Some(profile),
            ice_servers: Vec::new(),
        })
    }

    /// An officer of `agency` at their desk, available.
    fn officer(&mut self, staff: &str, agency: &str, languages: &[&str]) -> Vec<Output> {
        let kind = StaffKind::Officer { agency: id(agency) };
        self.connect_desk(staff, kind, languages);
        self.desk(
            staff,
            DeskToBroker::SetStatus {
                status: AvailabilityChoice::Available,
            },
        )
    }

    pub(super) fn kiosk(&mut self, kiosk: &str, message: KioskToBroker) -> Vec<Output> {
        self.input(Input::FromKiosk {
            kiosk: id(kiosk),
            message,
        })
    }

    pub(super) fn desk(&mut self, staff: &str, message: DeskToBroker) -> Vec<Output> {
        self.input(Input::FromDesk {
            staff: id(staff),
            message,
        })
    }

    pub(super) fn start_visit(&mut self, kiosk: &str, agency: &str, language: &str) -> Vec<Output> {
        self.kiosk(
            kiosk,
            KioskToBroker::StartVisit {
                language: id(language),
                agency: id(agency),
                topic: None,
            },
        )
    }
}

fn to_kiosk<'a>(out: &'a [Output], kiosk: &str) -> Vec<&'a BrokerToKiosk> {
    out.iter()
        .filter_map(|o| match o {
            Output::ToKiosk { kiosk: k, message } if k.as_str() == kiosk => Some(message),
            _ => None,
        })
        .collect()
}

fn to_desk<'a>(out: &'a [Output], staff: &str) -> Vec<&'a BrokerToDesk> {
    out.iter()
        .filter_map(|o| match o {
            Output::ToDesk { staff: s, message } if s.as_str() == staff => Some(message),
            _ => None,
        })
        .collect()
}

fn queued_visit(out: &[Output], kiosk: &str) -> VisitId {
    to_kiosk(out, kiosk)
        .into_iter()
        .find_map(|m| match m {
            BrokerToKiosk::Queued { visit, .. } => Some(visit.clone()),
            _ => None,
        })
        .expect("the kiosk is told it is queued")
}

fn offer_to(out: &[Output], staff: &str) -> OfferId {
    to_desk(out, staff)
        .into_iter()
        .find_map(|m| match m {
            BrokerToDesk::Offer { offer, .. } => Some(offer.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{staff} is offered the visit: {out:#?}"))
}

fn refusal_to_kiosk(out: &[Output], kiosk: &str) -> ErrorReply {
    to_kiosk(out, kiosk)
        .into_iter()
        .find_map(|m| match m {
            BrokerToKiosk::Error(e) => Some(e.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{kiosk} is refused: {out:#?}"))
}

fn refusal_to_desk(out: &[Output], staff: &str) -> ErrorReply {
    to_desk(out, staff)
        .into_iter()
        .find_map(|m| match m {
            BrokerToDesk::Error(e) => Some(e.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{staff} is refused: {out:#?}"))
}

fn call_started_at_kiosk(out: &[Output], kiosk: &str) -> (CallId, StaffCard) {
    to_kiosk(out, kiosk)
        .into_iter()
        .find_map(|m| match m {
            BrokerToKiosk::CallStarted { call, officer, .. } => {
                Some((call.clone(), officer.clone()))
            }
            _ => None,
        })
        .unwrap_or_else(|| panic!("{kiosk} hears the call started: {out:#?}"))
}

fn visit_ended(out: &[Output], kiosk: &str) -> Option<VisitEndReason> {
    to_kiosk(out, kiosk).into_iter().find_map(|m| match m {
        BrokerToKiosk::VisitEnded { reason, .. } => Some(*reason),
        _ => None,
    })
}

fn candidate() -> SignalPayload {
    SignalPayload::Candidate {
        candidate: id("candidate:1 1 udp 1 192.0.2.1 5000 typ host"),
        sdp_mid: None,
        sdp_m_line_index: Some(0),
    }
}

#[test]
fn a_whole_visit_rings_out_once_then_is_answered_relayed_ended_and_rated() {
    let mut s = Scene::new();
    let (_, out) = s.connect_kiosk("k1", None);
    assert!(matches!(
        to_kiosk(&out, "k1")[0],
        BrokerToKiosk::Welcome { agencies, .. } if agencies.len() == 2
    ));
    let out = s.start_visit("k1", "skatteverket", "sv");
    let visit = queued_visit(&out, "k1");

    // Anna rings and does not answer: the offer is withdrawn at the ring time, not before.
    let out = s.officer("anna", "skatteverket", &["sv"]);
    let first = offer_to(&out, "anna");
    let ring = s.core.router().config().ring_timeout_ms;
    assert!(to_desk(&s.advance(ring - 1), "anna").is_empty());
    let out = s.advance(1);
    assert!(to_desk(&out, "anna").iter().any(|m| matches!(
        m,
        BrokerToDesk::OfferWithdrawn { offer, reason: OfferWithdrawnReason::TimedOut } if *offer == first
    )));

    // Omar answers.
    let out = s.officer("omar", "skatteverket", &["sv"]);
    let offer = offer_to(&out, "omar");
    let out = s.desk("omar", DeskToBroker::AcceptOffer { offer });
    let (call, officer) = call_started_at_kiosk(&out, "k1");
    assert_eq!(officer.staff.as_str(), "omar");
    assert!(to_desk(&out, "omar")
        .iter()
        .any(|m| matches!(m, BrokerToDesk::CallStarted { call: c, .. } if *c == call)));

    // Signalling goes between the two, and nobody else may use the call.
    let out = s.kiosk(
        "k1",
        KioskToBroker::Signal {
            call: call.clone(),
            to: id("omar"),
            payload: candidate(),
        },
    );
    assert!(matches!(
        to_desk(&out, "omar")[0],
        BrokerToDesk::Signal { .. }
    ));
    let out = s.desk(
        "anna",
        DeskToBroker::Signal {
            call: call.clone(),
            to: Peer::Kiosk { kiosk: id("k1") },
            payload: candidate(),
        },
    );
    assert_eq!(refusal_to_desk(&out, "anna").code, ErrorCode::Forbidden);
    assert!(to_kiosk(&out, "k1").is_empty());

    // Omar ends it; the citizen rates it, and the rating is written before it is thanked.
    let out = s.desk(
        "omar",
        DeskToBroker::EndCall {
            call,
            outcome: Outcome::Served,
        },
    );
    assert_eq!(visit_ended(&out, "k1"), Some(VisitEndReason::Completed));
    let out = s.kiosk(
        "k1",
        KioskToBroker::Survey {
            visit: visit.clone(),
            score: 5,
        },
    );
    // The thanks goes out once the answer is stored, and only then.
    let thanked_once_written = out.iter().any(|o| match o {
        Output::Acknowledged {
            write: Write::Survey { score: 5, .. },
            ack,
            ..
        } => matches!(
            **ack,
            Output::ToKiosk {
                message: BrokerToKiosk::SurveyReceived { .. },
                ..
            }
        ),
        _ => false,
    });
    assert!(thanked_once_written, "{out:#?}");
    let segment = s
        .writes
        .iter()
        .find_map(|w| match w {
            Write::Segment(row) => Some(row.clone()),
            _ => None,
        })
        .expect("the visit's statistics are written");
    assert_eq!(segment.outcome, "served");
    assert_eq!(segment.visit_id, visit.as_str());
}

#[test]
fn a_closed_agency_is_refused_and_its_waiting_visits_end_at_closing_time() {
    // Friday 11 December, 14:50: Kronofogden closes at 15:00.
    let mut s = Scene::with(Vec::new(), Vec::new(), at("2026-12-11T14:50"));
    s.connect_kiosk("k1", None);
    s.connect_kiosk("k2", None);
    let out = s.start_visit("k1", "kronofogden", "sv");
    queued_visit(&out, "k1");

    // Nobody answers; at 15:00 the visit ends, and the citizen is told why.
    let out = s.advance(10 * MINUTE + 30_000);
    assert_eq!(visit_ended(&out, "k1"), Some(VisitEndReason::NotServed));
    assert!(to_kiosk(&out, "k2").iter().any(|m| matches!(
        m,
        BrokerToKiosk::Agencies { agencies } if agencies.iter().any(|a| a.agency.as_str() == "kronofogden" && !a.open_now)
    )));
    assert!(s.writes.iter().any(|w| matches!(
        w,
        Write::Segment(row) if row.agency == "kronofogden" && row.outcome == "failed"
    )));

    // A new visit there is refused, with what was wrong.
    let out = s.start_visit("k2", "kronofogden", "sv");
    let refusal = refusal_to_kiosk(&out, "k2");
    assert_eq!(refusal.code, ErrorCode::Conflict);
    assert!(refusal.message.contains("closed"), "{}", refusal.message);
    // A language the agency does not serve, and an agency that does not exist.
    let out = s.start_visit("k2", "skatteverket", "so");
    assert_eq!(refusal_to_kiosk(&out, "k2").code, ErrorCode::Invalid);
    let out = s.start_visit("k2", "csn", "sv");
    assert_eq!(refusal_to_kiosk(&out, "k2").code, ErrorCode::NotFound);
}

#[test]
fn a_kiosk_out_of_service_starts_nothing_until_it_is_back() {
    let mut s = Scene::new();
    s.connect_kiosk("k1", None);
    let out = s.input(Input::Directory(DirectoryChange::OutOfService {
        kiosk: id("k1"),
        message: Some(id("Trasig skärm")),
    }));
    assert!(matches!(
        to_kiosk(&out, "k1")[0],
        BrokerToKiosk::OutOfService { .. }
    ));
    let out = s.start_visit("k1", "skatteverket", "sv");
    let refusal = refusal_to_kiosk(&out, "k1");
    assert!(refusal.message.contains("out of service"));
    let out = s.input(Input::Directory(DirectoryChange::OutOfService {
        kiosk: id("k1"),
        message: None,
    }));
    assert!(matches!(
        to_kiosk(&out, "k1")[0],
        BrokerToKiosk::BackInService
    ));
    let out = s.start_visit("k1", "skatteverket", "sv");
    queued_visit(&out, "k1");
}

#[test]
fn a_booking_checks_in_once_within_its_window_and_goes_first() {
    let appointment = at("2026-12-07T13:00");
    let booking = BookingRow {
        code: "ABCD2345".into(),
        agency: "skatteverket".into(),
        language: "ar".into(),
        appointment_at: appointment,
        interpreter_needed: false,
        created_by: "admin".into(),
        checked_in_at: None,
    };
    let mut s = Scene::with(vec![booking], Vec::new(), at("2026-12-07T10:00"));
    s.connect_kiosk("k1", None);
    s.connect_kiosk("k2", None);
    let check_in = KioskToBroker::CheckIn {
        booking_code: id("ABCD2345"),
    };
    // Three hours early is too early.
    let out = s.kiosk("k1", check_in.clone());
    assert_eq!(
        refusal_to_kiosk(&out, "k1").message,
        "this booking is for another time"
    );

    // A drop-in waits in Arabic; the booked citizen comes near their time and goes first.
    s.advance(2 * 3600 * 1000);
    let out = s.start_visit("k2", "skatteverket", "ar");
    let drop_in = queued_visit(&out, "k2");
    s.advance(56 * MINUTE);
    let out = s.kiosk("k1", check_in.clone());
    let booked = queued_visit(&out, "k1");
    assert!(out
        .iter()
        .any(|o| matches!(o, Output::Write(Write::CheckedIn { .. }))));
    assert!(to_kiosk(&out, "k1")
        .iter()
        .any(|m| matches!(m, BrokerToKiosk::Queued { booked: true, .. })));
    s.connect_kiosk("k3", None);
    let out = s.kiosk("k3", check_in);
    assert_eq!(
        refusal_to_kiosk(&out, "k3").message,
        "this booking has already been used to check in"
    );

    let out = s.officer("layla", "skatteverket", &["sv", "ar"]);
    let offered = to_desk(&out, "layla")
        .into_iter()
        .find_map(|m| match m {
            BrokerToDesk::Offer { visit, .. } => Some(visit.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(offered, booked);
    assert_ne!(offered, drop_in);
}

#[test]
fn a_kiosk_back_after_its_visit_ended_is_told_so_and_starts_over() {
    let mut s = Scene::new();
    let (connection, _) = s.connect_kiosk("k1", None);
    let out = s.start_visit("k1", "skatteverket", "sv");
    let visit = queued_visit(&out, "k1");
    s.input(Input::KioskDisconnected {
        kiosk: id("k1"),
        connection,
    });
    let grace = s.core.router().config().reconnect_grace_ms;
    let out = s.advance(grace + 1);
    // Nobody to tell while it is away ...
    assert_eq!(
        visit_ended(&out, "k1"),
        Some(VisitEndReason::ConnectionLost)
    );
    // ... so it is told when it is back, whenever that is.
    s.advance(3600 * 1000);
    let (_, out) = s.connect_kiosk("k1", Some(visit.as_str()));
    assert_eq!(
        visit_ended(&out, "k1"),
        Some(VisitEndReason::ConnectionLost)
    );
    let out = s.start_visit("k1", "skatteverket", "sv");
    assert_ne!(queued_visit(&out, "k1"), visit);
}

#[test]
fn a_close_from_an_older_connection_does_not_take_the_new_one_offline() {
    let mut s = Scene::new();
    let (old, _) = s.connect_kiosk("k1", None);
    let out = s.start_visit("k1", "skatteverket", "sv");
    let visit = queued_visit(&out, "k1");
    let (_, _) = s.connect_kiosk("k1", Some(visit.as_str()));
    s.input(Input::KioskDisconnected {
        kiosk: id("k1"),
        connection: old,
    });
    let grace = s.core.router().config().reconnect_grace_ms;
    let out = s.advance(grace * 2);
    assert_eq!(visit_ended(&out, "k1"), None);
    assert!(s
        .core
        .router()
        .visit(&visit)
        .is_some_and(|v| v.kiosk_online));
}

#[test]
fn transfers_and_invitations_respect_the_target_agencys_hours() {
    // Monday 7 December, 16:00: Skatteverket open, Kronofogden closed since 15:00.
    let mut s = Scene::with(Vec::new(), Vec::new(), at("2026-12-07T16:00"));
    s.connect_kiosk("k1", None);
    let out = s.start_visit("k1", "skatteverket", "sv");
    queued_visit(&out, "k1");
    let out = s.officer("omar", "skatteverket", &["sv"]);
    let offer = offer_to(&out, "omar");
    let out = s.desk("omar", DeskToBroker::AcceptOffer { offer });
    let (call, _) = call_started_at_kiosk(&out, "k1");

    for mode in [TransferMode::Cold, TransferMode::Warm] {
        let out = s.desk(
            "omar",
            DeskToBroker::Transfer {
                call: call.clone(),
                agency: id("kronofogden"),
                language: id("sv"),
                mode,
            },
        );
        let refusal = refusal_to_desk(&out, "omar");
        assert_eq!(refusal.code, ErrorCode::Conflict);
        assert!(refusal.message.contains("closed"), "{}", refusal.message);
    }
    let out = s.desk(
        "omar",
        DeskToBroker::Invite {
            call: call.clone(),
            target: nara_protocol::desk::InviteTarget::Officer {
                agency: id("kronofogden"),
            },
        },
    );
    assert_eq!(refusal_to_desk(&out, "omar").code, ErrorCode::Conflict);
    // The call goes on regardless.
    assert!(s.core.router().call(&call).is_some());
}

#[test]
fn a_restart_rebuilt_from_what_the_core_wrote_keeps_the_waiting_in_order() {
    let mut s = Scene::new();
    for k in ["k1", "k2", "k3"] {
        s.connect_kiosk(k, None);
        s.start_visit(k, "skatteverket", "sv");
        s.advance(MINUTE);
    }
    s.kiosk(
        "k2",
        KioskToBroker::EndVisit {
            visit: s.core.kiosk_visit[&id::<KioskId>("k2")].clone(),
        },
    );
    // What storage holds after those writes.
    let mut stored: BTreeMap<VisitId, WaitingRecord> = BTreeMap::new();
    for w in &s.writes {
        match w {
            Write::SaveWaiting(r) => {
                stored.insert(r.visit.clone(), r.clone());
            }
            Write::ForgetWaiting(v) => {
                stored.remove(v);
            }
            _ => {}
        }
    }
    let before: Vec<VisitId> = s
        .core
        .router()
        .waiting_in(&id("skatteverket"), s.now)
        .into_iter()
        .map(|w| w.visit)
        .collect();
    assert_eq!(before.len(), 2);

    let mut restarted = Scene::with(Vec::new(), stored.into_values().collect(), s.now);
    let after: Vec<VisitId> = restarted
        .core
        .router()
        .waiting_in(&id("skatteverket"), restarted.now)
        .into_iter()
        .map(|w| w.visit)
        .collect();
    assert_eq!(after, before);
    // The kiosk comes back within the grace time and is where it was: waiting, second.
    let (_, out) = restarted.connect_kiosk("k3", Some(before[1].as_str()));
    assert!(visit_ended(&out, "k3").is_none());
    assert!(to_kiosk(&out, "k3").iter().any(|m| matches!(
        m,
        BrokerToKiosk::Queued { visit, estimate, .. } if *visit == before[1] && estimate.position == 2
    )));
    // k1 has not come back, so the first officer is offered k3's visit; k1 keeps its place
    // until its grace runs out.
    let out = restarted.officer("omar", "skatteverket", &["sv"]);
    let offered = to_desk(&out, "omar").into_iter().find_map(|m| match m {
        BrokerToDesk::Offer { visit, .. } => Some(visit.clone()),
        _ => None,
    });
    assert_eq!(offered.as_ref(), Some(&before[1]));
}

#[test]
fn how_a_visit_ended_is_told_to_its_own_kiosk_only() {
    let mut s = Scene::new();
    let (connection, _) = s.connect_kiosk("k1", None);
    let out = s.start_visit("k1", "skatteverket", "sv");
    let visit = queued_visit(&out, "k1");
    s.kiosk(
        "k1",
        KioskToBroker::EndVisit {
            visit: visit.clone(),
        },
    );
    s.input(Input::KioskDisconnected {
        kiosk: id("k1"),
        connection,
    });
    let (_, out) = s.connect_kiosk("k2", Some(visit.as_str()));
    assert_eq!(
        visit_ended(&out, "k2"),
        Some(VisitEndReason::ConnectionLost)
    );
    let (_, out) = s.connect_kiosk("k1", Some(visit.as_str()));
    assert_eq!(visit_ended(&out, "k1"), Some(VisitEndReason::LeftQueue));
}

#[test]
fn out_of_service_holds_from_the_start_and_for_kiosks_not_connected() {
    let now = at("2026-12-07T10:00");
    let restored = Restored {
        agencies: agencies(),
        out_of_service: vec![(id("k1"), id("Skannern byts"))],
        ..Restored::default()
    };
    let mut s = Scene {
        core: Core::new(config(), restored, now),
        now,
        next_connection: 0,
        writes: Vec::new(),
    };
    let (_, out) = s.connect_kiosk("k1", None);
    assert!(matches!(
        to_kiosk(&out, "k1")[0],
        BrokerToKiosk::Welcome { out_of_service: Some(m), .. } if m.as_str() == "Skannern byts"
    ));
    let out = s.start_visit("k1", "skatteverket", "sv");
    assert!(refusal_to_kiosk(&out, "k1")
        .message
        .contains("out of service"));

    // Taken out while away: the welcome says so, and nothing starts.
    s.input(Input::Directory(DirectoryChange::OutOfService {
        kiosk: id("k2"),
        message: Some(id("Stängt för städning")),
    }));
    let (_, out) = s.connect_kiosk("k2", None);
    assert!(matches!(
        to_kiosk(&out, "k2")[0],
        BrokerToKiosk::Welcome {
            out_of_service: Some(_),
            ..
        }
    ));
    let out = s.start_visit("k2", "skatteverket", "sv");
    assert!(refusal_to_kiosk(&out, "k2")
        .message
        .contains("out of service"));
}
