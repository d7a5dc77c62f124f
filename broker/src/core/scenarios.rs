//! Whole visits through the core alone: no sockets, no clock, time moved by hand.

use super::scene::*;
use super::*;
use crate::routing::StaffKind;
use nara_protocol::desk::{OfferWithdrawnReason, TransferMode};

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
    assert!(!to_desk(&s.advance(ring - 1), "anna")
        .iter()
        .any(|m| matches!(m, BrokerToDesk::OfferWithdrawn { .. })));
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
    assert_eq!(refusal_to_desk(&out, "anna").code, ErrorCode::CallGone);
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
    assert_eq!(refusal_to_kiosk(&out, "k2").code, ErrorCode::AgencyClosed);
    // An agency that does not exist.
    let out = s.start_visit("k2", "csn", "sv");
    assert_eq!(refusal_to_kiosk(&out, "k2").code, ErrorCode::AgencyUnknown);
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
    let missed = BookingRow {
        code: "SENT2346".into(),
        appointment_at: at("2026-12-07T08:30"),
        ..booking.clone()
    };
    let mut s = Scene::with(vec![booking, missed], Vec::new(), at("2026-12-07T10:00"));
    s.connect_kiosk("k1", None);
    s.connect_kiosk("k2", None);
    let check_in = KioskToBroker::CheckIn {
        booking_code: id("ABCD2345"),
    };
    // Three hours early is too early.
    let out = s.kiosk("k1", check_in.clone());
    assert_eq!(
        refusal_to_kiosk(&out, "k1").code,
        ErrorCode::BookingTooEarly
    );
    // A code nobody was given.
    let out = s.kiosk(
        "k1",
        KioskToBroker::CheckIn {
            booking_code: id("ZZZZ2346"),
        },
    );
    assert_eq!(refusal_to_kiosk(&out, "k1").code, ErrorCode::BookingUnknown);
    // A citizen an hour and a half late is told so, not that the code is unknown.
    let out = s.kiosk(
        "k1",
        KioskToBroker::CheckIn {
            booking_code: id("SENT2346"),
        },
    );
    assert_eq!(refusal_to_kiosk(&out, "k1").code, ErrorCode::BookingTooLate);

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
    assert_eq!(refusal_to_kiosk(&out, "k3").code, ErrorCode::BookingUsed);
    // The visit already going at a kiosk is not joined by another.
    let out = s.start_visit("k1", "skatteverket", "ar");
    assert_eq!(
        refusal_to_kiosk(&out, "k1").code,
        ErrorCode::VisitInProgress
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
        assert_eq!(refusal_to_desk(&out, "omar").code, ErrorCode::AgencyClosed);
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
    assert_eq!(refusal_to_desk(&out, "omar").code, ErrorCode::AgencyClosed);
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
    let before: Vec<VisitId> = s
        .core
        .router()
        .waiting_in(&id("skatteverket"), s.now)
        .into_iter()
        .map(|w| w.visit)
        .collect();
    assert_eq!(before.len(), 2);

    let mut restarted = s.restarted();
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

#[test]
fn a_call_goes_on_through_a_restart_and_is_counted_once() {
    let mut s = Scene::new();
    s.connect_kiosk("k1", None);
    let out = s.start_visit("k1", "skatteverket", "ar");
    let visit = queued_visit(&out, "k1");
    let out = s.officer("omar", "skatteverket", &["sv", "ar"]);
    let offer = offer_to(&out, "omar");
    let out = s.desk("omar", DeskToBroker::AcceptOffer { offer });
    let (call, _) = call_started_at_kiosk(&out, "k1");
    // The call is saved before anyone hears of it.
    let saved = out
        .iter()
        .position(|o| matches!(o, Output::Write(Write::SaveCall(r)) if r.call == call))
        .expect("the call is saved");
    let told = out
        .iter()
        .position(|o| {
            matches!(
                o,
                Output::ToKiosk {
                    message: BrokerToKiosk::CallStarted { .. },
                    ..
                }
            )
        })
        .unwrap();
    assert!(saved < told);
    // A warm transfer under way is part of what is saved.
    s.desk(
        "omar",
        DeskToBroker::Transfer {
            call: call.clone(),
            agency: id("kronofogden"),
            language: id("sv"),
            mode: TransferMode::Warm,
        },
    );

    let mut s = s.restarted();
    let invites = &s
        .core
        .router()
        .call(&call)
        .expect("the call is back")
        .invites;
    assert!(invites.iter().any(|i| i.transfer_to.is_some()));
    // Nobody is offered the visit again while its people come back.
    s.officer("anna", "skatteverket", &["sv", "ar"]);
    let queues = s.core.queue_views(&id("skatteverket"));
    assert!(queues.iter().all(|q| q.waiting.is_empty()), "{queues:?}");

    let (_, out) = s.connect_kiosk("k1", Some(visit.as_str()));
    let (resumed, officer) = call_started_at_kiosk(&out, "k1");
    assert_eq!(resumed, call);
    assert_eq!(officer.staff.as_str(), "omar");
    assert!(to_kiosk(&out, "k1")
        .iter()
        .all(|m| !matches!(m, BrokerToKiosk::Queued { .. })));
    let out = s.connect_desk(
        "omar",
        StaffKind::Officer {
            agency: id("skatteverket"),
        },
        &["sv", "ar"],
    );
    assert!(to_desk(&out, "omar")
        .iter()
        .any(|m| matches!(m, BrokerToDesk::CallStarted { call: c, .. } if *c == call)));

    let out = s.desk(
        "omar",
        DeskToBroker::EndCall {
            call: call.clone(),
            outcome: Outcome::Served,
        },
    );
    assert_eq!(visit_ended(&out, "k1"), Some(VisitEndReason::Completed));
    let segments: Vec<&SegmentRow> = s
        .writes
        .iter()
        .filter_map(|w| match w {
            Write::Segment(row) if row.visit_id == visit.as_str() => Some(row),
            _ => None,
        })
        .collect();
    assert_eq!(segments.len(), 1, "{segments:?}");
    assert_eq!(segments[0].outcome, "served");
    assert!(stored(&s.writes).calls.is_empty());
}

#[test]
fn a_restored_call_whose_kiosk_never_returns_ends_after_the_grace_time() {
    let mut s = Scene::new();
    s.connect_kiosk("k1", None);
    s.start_visit("k1", "skatteverket", "sv");
    let out = s.officer("omar", "skatteverket", &["sv"]);
    let offer = offer_to(&out, "omar");
    let out = s.desk("omar", DeskToBroker::AcceptOffer { offer });
    let (call, _) = call_started_at_kiosk(&out, "k1");

    let mut s = s.restarted();
    s.connect_desk(
        "omar",
        StaffKind::Officer {
            agency: id("skatteverket"),
        },
        &["sv"],
    );
    let grace = s.core.router().config().reconnect_grace_ms;
    let out = s.advance(grace + 1);
    assert!(to_desk(&out, "omar")
        .iter()
        .any(|m| matches!(m, BrokerToDesk::CallEnded { call: c, .. } if *c == call)));
    assert_eq!(
        visit_ended(&out, "k1"),
        Some(VisitEndReason::ConnectionLost)
    );
    assert!(stored(&s.writes).calls.is_empty());
}
