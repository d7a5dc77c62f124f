//! Whole situations, step by step, as an officer or citizen would live them.

use super::test_support::*;
use super::*;
use nara_protocol::desk::{AvailabilityChoice as Choice, InviteTarget, OfferPurpose, TransferMode};
use nara_protocol::WaitRange;

const S: Millis = 1_000;

fn online_available(r: &mut Router, profile: StaffProfile, now: Millis) {
    let id = profile.id.clone();
    r.handle(Event::StaffOnline { profile }, now).unwrap();
    r.handle(
        Event::SetStatus {
            staff: id,
            status: Choice::Available,
        },
        now,
    )
    .unwrap();
}

#[test]
fn unanswered_offer_goes_to_the_next_officer_and_the_visit_keeps_its_place() {
    let mut r = Router::new(RoutingConfig::default(), "t");
    online_available(&mut r, officer("anna", "csn", &["sv"]), 0);
    online_available(&mut r, officer("bo", "csn", &["sv"]), 5 * S);
    let out = r
        .handle(
            Event::Enqueue {
                spec: spec("v1", queue("csn", "sv"), 10 * S),
            },
            10 * S,
        )
        .unwrap();
    // Anna has been idle longest.
    assert_eq!(offers_to(&out, "anna").len(), 1);
    r.handle(
        Event::Enqueue {
            spec: spec("v2", queue("csn", "sv"), 11 * S),
        },
        11 * S,
    )
    .unwrap();
    // Bo is offered v2 meanwhile.
    let bo_offer = r
        .offers()
        .find(|(_, o)| o.staff.as_str() == "bo")
        .map(|(id, o)| (id.clone(), o.visit.clone()))
        .unwrap();
    assert_eq!(bo_offer.1.as_str(), "v2");
    r.handle(
        Event::Decline {
            staff: id("bo"),
            offer: bo_offer.0,
        },
        12 * S,
    )
    .unwrap();

    let deadline = r.next_deadline().unwrap();
    assert_eq!(deadline, 10 * S + r.config().ring_timeout_ms);
    let out = r.handle(Event::Tick, deadline).unwrap();
    assert!(
        out.contains(&Command::StaffStatus {
            staff: id("anna"),
            status: StaffStatus::Away
        }),
        "{out:#?}"
    );
    // v1 is still first in line and now rings at Bo.
    let bo = offers_to(&out, "bo");
    assert_eq!(bo.len(), 1);
    assert_eq!(bo[0].1.as_str(), "v1");
    assert_eq!(r.waiting_in(&id("csn"), deadline)[0].visit.as_str(), "v1");
}

#[test]
fn booked_visit_goes_ahead_of_drop_ins_at_its_time_not_before() {
    let mut r = Router::new(RoutingConfig::default(), "t");
    r.handle(
        Event::Enqueue {
            spec: spec("drop-in", queue("skatteverket", "ar"), 0),
        },
        0,
    )
    .unwrap();
    let mut booked = spec("booked", queue("skatteverket", "ar"), 60 * S);
    booked.booking = Some(60 * 60 * S);
    r.handle(Event::Enqueue { spec: booked }, 60 * S).unwrap();
    let order = |r: &Router, now| {
        r.waiting_in(&id("skatteverket"), now)
            .iter()
            .map(|w| w.visit.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        order(&r, 60 * S),
        ["drop-in", "booked"],
        "an hour early it waits like anyone"
    );
    assert_eq!(
        order(&r, 56 * 60 * S),
        ["booked", "drop-in"],
        "five minutes before its time it goes first"
    );
}

#[test]
fn estimate_is_honest_about_no_officers_and_grows_with_position() {
    let mut r = Router::new(RoutingConfig::default(), "t");
    for n in 0..3 {
        r.handle(
            Event::Enqueue {
                spec: spec(&format!("v{n}"), queue("csn", "so"), n * S),
            },
            n * S,
        )
        .unwrap();
    }
    assert_eq!(
        r.estimate(&id("v0"), 5 * S).wait,
        WaitRange::NoOfficerOnline
    );
    r.handle(
        Event::StaffOnline {
            profile: officer("anna", "csn", &["so"]),
        },
        5 * S,
    )
    .unwrap();
    r.handle(
        Event::SetStatus {
            staff: id("anna"),
            status: Choice::WrapUp,
        },
        5 * S,
    )
    .unwrap();
    let e0 = r.estimate(&id("v0"), 5 * S);
    let e2 = r.estimate(&id("v2"), 5 * S);
    assert_eq!((e0.position, e2.position), (1, 3));
    let (
        WaitRange::Seconds {
            high_seconds: h0, ..
        },
        WaitRange::Seconds {
            low_seconds: l2,
            high_seconds: h2,
        },
    ) = (e0.wait, e2.wait)
    else {
        panic!("an officer is online")
    };
    assert!(h2 > h0 && l2 < h2, "further back waits longer, as a range");
}

#[test]
fn interpreter_and_cold_transfer_through_one_visit() {
    let mut r = Router::new(RoutingConfig::default(), "t");
    online_available(
        &mut r,
        officer("anna", "forsakringskassan", &["sv", "ar"]),
        0,
    );
    online_available(&mut r, interpreter("amir", &["ar"]), 0);
    online_available(&mut r, officer("carl", "csn", &["ar"]), 0);
    let call = answered(
        &mut r,
        spec("v1", queue("forsakringskassan", "ar"), S),
        "anna",
        2 * S,
    );

    let out = r
        .handle(
            Event::Invite {
                staff: id("anna"),
                call: call.clone(),
                target: InviteTarget::Interpreter { language: id("ar") },
            },
            3 * S,
        )
        .unwrap();
    let amir = out.iter().find_map(|c| match c {
        Command::Offer {
            offer,
            staff,
            purpose: OfferPurpose::Interpret { .. },
            ..
        } if staff.as_str() == "amir" => Some(offer.clone()),
        _ => None,
    });
    let out = r
        .handle(
            Event::Accept {
                staff: id("amir"),
                offer: amir.unwrap(),
            },
            4 * S,
        )
        .unwrap();
    assert!(out.contains(&Command::Joined {
        call: call.clone(),
        staff: id("amir")
    }));
    assert_eq!(r.call(&call).unwrap().participants.len(), 2);

    // Only the responsible officer may transfer; the interpreter may not.
    let err = r.handle(
        Event::Transfer {
            staff: id("amir"),
            call: call.clone(),
            to: queue("csn", "ar"),
            mode: TransferMode::Cold,
        },
        5 * S,
    );
    assert_eq!(err.unwrap_err().code, ErrorCode::NotOwner);
    let out = r
        .handle(
            Event::Transfer {
                staff: id("anna"),
                call: call.clone(),
                to: queue("csn", "ar"),
                mode: TransferMode::Cold,
            },
            5 * S,
        )
        .unwrap();
    assert!(out.iter().any(|c| matches!(
        c,
        Command::CallEnded {
            outcome: Outcome::Transferred,
            ..
        }
    )));
    assert!(out.iter().any(|c| matches!(c, Command::SegmentClosed { segment, .. } if segment.outcome == Outcome::Transferred)));
    assert_eq!(
        offers_to(&out, "carl").len(),
        1,
        "csn's officer is offered the transferred visit: {out:#?}"
    );
    assert_eq!(r.staff_status(&id("anna")), Some(StaffStatus::WrapUp));
    assert_eq!(r.staff_status(&id("amir")), Some(StaffStatus::WrapUp));
}

#[test]
fn warm_transfer_hands_over_when_the_colleague_joins() {
    let mut r = Router::new(RoutingConfig::default(), "t");
    online_available(&mut r, officer("anna", "skatteverket", &["sv"]), 0);
    online_available(&mut r, officer("carl", "kronofogden", &["sv"]), 0);
    let call = answered(
        &mut r,
        spec("v1", queue("skatteverket", "sv"), S),
        "anna",
        2 * S,
    );
    let out = r
        .handle(
            Event::Transfer {
                staff: id("anna"),
                call: call.clone(),
                to: queue("kronofogden", "sv"),
                mode: TransferMode::Warm,
            },
            3 * S,
        )
        .unwrap();
    let (carl_offer, _) = offers_to(&out, "carl").remove(0);
    let out = r
        .handle(
            Event::Accept {
                staff: id("carl"),
                offer: carl_offer,
            },
            4 * S,
        )
        .unwrap();
    assert!(out.iter().any(|c| matches!(c, Command::SegmentClosed { segment, .. } if segment.outcome == Outcome::Transferred && segment.segment.queue.agency.as_str() == "skatteverket")));
    assert_eq!(r.call(&call).unwrap().owner.as_str(), "carl");
    r.handle(
        Event::Leave {
            staff: id("anna"),
            call: call.clone(),
        },
        5 * S,
    )
    .unwrap();
    let out = r
        .handle(
            Event::EndCall {
                staff: id("carl"),
                call,
                outcome: Outcome::Served,
            },
            9 * S,
        )
        .unwrap();
    let closed = out
        .iter()
        .find_map(|c| {
            if let Command::SegmentClosed { segment, .. } = c {
                Some(segment.clone())
            } else {
                None
            }
        })
        .unwrap();
    assert_eq!(closed.segment.queue.agency.as_str(), "kronofogden");
    assert_eq!(closed.outcome, Outcome::Served);
}

#[test]
fn officer_browser_lost_mid_call_puts_the_visit_back_at_the_front() {
    let mut r = Router::new(RoutingConfig::default(), "t");
    online_available(&mut r, officer("anna", "csn", &["sv"]), 0);
    let out = r
        .handle(
            Event::Enqueue {
                spec: spec("v1", queue("csn", "sv"), S),
            },
            S,
        )
        .unwrap();
    r.handle(
        Event::Enqueue {
            spec: spec("v2", queue("csn", "sv"), S),
        },
        S,
    )
    .unwrap();
    let (offer, _) = offers_to(&out, "anna").remove(0);
    r.handle(
        Event::Accept {
            staff: id("anna"),
            offer,
        },
        2 * S,
    )
    .unwrap();
    r.handle(Event::StaffOffline { staff: id("anna") }, 3 * S)
        .unwrap();
    // Waiting citizens are told their new positions on the next second ...
    let announce = r.next_deadline().unwrap();
    assert_eq!(announce, 4 * S);
    r.handle(Event::Tick, announce).unwrap();
    // ... and then nothing is due before the grace time ends.
    let deadline = r.next_deadline().unwrap();
    assert_eq!(deadline, 3 * S + r.config().reconnect_grace_ms);
    r.handle(Event::Tick, deadline).unwrap();
    let waiting = r.waiting_in(&id("csn"), deadline);
    assert_eq!(
        waiting.iter().map(|w| w.visit.as_str()).collect::<Vec<_>>(),
        ["v1", "v2"]
    );
    assert!(r.staff_status(&id("anna")).is_none());
}

#[test]
fn kiosk_gone_longer_than_grace_abandons_the_visit() {
    let mut r = Router::new(RoutingConfig::default(), "t");
    r.handle(
        Event::Enqueue {
            spec: spec("v1", queue("csn", "sv"), 0),
        },
        0,
    )
    .unwrap();
    r.handle(Event::KioskDisconnected { visit: id("v1") }, S)
        .unwrap();
    r.handle(Event::KioskReconnected { visit: id("v1") }, 2 * S)
        .unwrap();
    assert!(r.next_deadline().is_none());
    r.handle(Event::KioskDisconnected { visit: id("v1") }, 3 * S)
        .unwrap();
    let out = r
        .handle(Event::Tick, 3 * S + r.config().reconnect_grace_ms)
        .unwrap();
    assert!(out.iter().any(|c| matches!(c, Command::SegmentClosed { segment, .. } if segment.outcome == Outcome::Abandoned)));
    assert!(r.visit(&id("v1")).is_none());
}

#[test]
fn interpreter_invite_that_nobody_answers_is_reported() {
    let mut r = Router::new(RoutingConfig::default(), "t");
    online_available(&mut r, officer("anna", "csn", &["sv"]), 0);
    let call = answered(&mut r, spec("v1", queue("csn", "sv"), 0), "anna", S);
    r.handle(
        Event::Invite {
            staff: id("anna"),
            call: call.clone(),
            target: InviteTarget::Interpreter { language: id("ti") },
        },
        S,
    )
    .unwrap();
    let out = r
        .handle(Event::Tick, S + r.config().invite_timeout_ms)
        .unwrap();
    assert!(out
        .iter()
        .any(|c| matches!(c, Command::InviteUnanswered { staff, .. } if staff.as_str() == "anna")));
}

#[test]
fn a_bilingual_officer_counts_once_and_the_estimate_follows_the_dispatch_order() {
    let mut r = Router::new(RoutingConfig::default(), "t");
    // Layla is CSN's only Arabic speaker, and she speaks Swedish too; Omar speaks Somali.
    for profile in [
        officer("layla", "csn", &["sv", "ar"]),
        officer("omar", "csn", &["so"]),
    ] {
        let staff = profile.id.clone();
        r.handle(Event::StaffOnline { profile }, 0).unwrap();
        r.handle(
            Event::SetStatus {
                staff,
                status: Choice::WrapUp,
            },
            0,
        )
        .unwrap();
    }
    for (n, (visit, language)) in [("sv1", "sv"), ("sv2", "sv"), ("so1", "so"), ("ar1", "ar")]
        .into_iter()
        .enumerate()
    {
        let at = n as u64 * S;
        r.handle(
            Event::Enqueue {
                spec: spec(visit, queue("csn", language), at),
            },
            at,
        )
        .unwrap();
    }
    // First in the Arabic queue, but behind two Swedish visitors Layla takes first; the
    // Somali visitor ahead waits for someone else.
    let now = 10 * S;
    assert_eq!(r.estimate(&id("ar1"), now).position, 3);
    assert_eq!(r.estimate(&id("so1"), now).position, 1);
    assert_eq!(r.estimate(&id("sv2"), now).position, 2);
    // What announcements say is the same.
    let announced: BTreeMap<VisitId, u32> = r
        .estimates_in(|_| true, now)
        .into_iter()
        .map(|(v, e)| (v, e.position))
        .collect();
    assert_eq!(announced[&id::<VisitId>("ar1")], 3);
    // And Layla is offered the Swedish visitors first, as the estimate said.
    let mut offered = Vec::new();
    let mut at = now;
    for _ in 0..3 {
        let out = r
            .handle(
                Event::SetStatus {
                    staff: id("layla"),
                    status: Choice::Available,
                },
                at,
            )
            .unwrap();
        let (offer, visit) = offers_to(&out, "layla").remove(0);
        offered.push(visit.to_string());
        let out = r
            .handle(
                Event::Accept {
                    staff: id("layla"),
                    offer,
                },
                at,
            )
            .unwrap();
        let call = out
            .iter()
            .find_map(|c| match c {
                Command::CallStarted { call, .. } => Some(call.clone()),
                _ => None,
            })
            .unwrap();
        at += S;
        r.handle(
            Event::EndCall {
                staff: id("layla"),
                call,
                outcome: Outcome::Served,
            },
            at,
        )
        .unwrap();
    }
    assert_eq!(offered, ["sv1", "sv2", "ar1"]);
}

#[test]
fn a_citizen_who_ends_the_meeting_is_not_counted_as_served() {
    let mut r = Router::new(RoutingConfig::default(), "t");
    online_available(&mut r, officer("anna", "csn", &["sv"]), 0);
    let call = answered(&mut r, spec("v1", queue("csn", "sv"), 0), "anna", S);
    // An officer cannot claim this outcome for themselves.
    let refused = r.handle(
        Event::EndCall {
            staff: id("anna"),
            call: call.clone(),
            outcome: Outcome::EndedByCitizen,
        },
        2 * S,
    );
    assert_eq!(refused.unwrap_err().code, ErrorCode::Invalid);
    let out = r
        .handle(Event::CitizenLeft { visit: id("v1") }, 3 * S)
        .unwrap();
    assert!(out.iter().any(|c| matches!(
        c,
        Command::CallEnded { outcome: Outcome::EndedByCitizen, participants, .. } if participants == &[id::<StaffId>("anna")]
    )));
    let closed = out
        .iter()
        .find_map(|c| match c {
            Command::SegmentClosed { segment, .. } => Some(segment.outcome),
            _ => None,
        })
        .unwrap();
    assert_eq!(closed, Outcome::EndedByCitizen);
}
