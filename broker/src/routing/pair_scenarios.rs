//! A Tigrinya speaker at Skatteverket, where no officer speaks Tigrinya: the officer and an
//! interpreter are rung together, and nobody waits alone in a call.

use super::test_support::*;
use super::*;
use nara_protocol::desk::{AvailabilityChoice as Choice, InviteTarget, OfferPurpose};
use nara_protocol::{LanguageCode, WaitRange};

const S: Millis = 1_000;

fn available(r: &mut Router, profile: StaffProfile, now: Millis) {
    let id = profile.id.clone();
    r.handle(Event::StaffOnline { profile }, now).unwrap();
    let status = Choice::Available;
    r.handle(Event::SetStatus { staff: id, status }, now)
        .unwrap();
}

fn purposes(out: &[Command]) -> Vec<(String, OfferPurpose, CallId)> {
    out.iter()
        .filter_map(|c| match c {
            Command::Offer {
                staff,
                purpose,
                call,
                ..
            } => Some((staff.to_string(), purpose.clone(), call.clone())),
            _ => None,
        })
        .collect()
}

fn offer_of(r: &Router, staff: &str) -> OfferId {
    r.staff.get(&id(staff)).unwrap().offer.clone().unwrap()
}

fn accept(r: &mut Router, staff: &str, now: Millis) -> Vec<Command> {
    let offer = offer_of(r, staff);
    let staff = id(staff);
    r.handle(Event::Accept { staff, offer }, now).unwrap()
}

/// Skatteverket with Anna (Swedish, English) and Tesfay, a Tigrinya interpreter; a Tigrinya
/// visit queued at 10 s.
fn skatteverket_in_tigrinya() -> (Router, Vec<Command>) {
    let mut r = Router::new(RoutingConfig::default(), "t");
    available(&mut r, officer("anna", "skatteverket", &["sv", "en"]), 0);
    available(&mut r, interpreter("tesfay", &["ti"]), 0);
    let spec = spec("v1", queue("skatteverket", "ti"), 10 * S);
    let out = r.handle(Event::Enqueue { spec }, 10 * S).unwrap();
    (r, out)
}

#[test]
fn officer_and_interpreter_are_rung_together_on_one_call() {
    let (r, out) = skatteverket_in_tigrinya();
    let rung = purposes(&out);
    let language: LanguageCode = id("ti");
    assert_eq!(rung.len(), 2, "{out:#?}");
    let anna = rung.iter().find(|(s, ..)| s == "anna").unwrap();
    let tesfay = rung.iter().find(|(s, ..)| s == "tesfay").unwrap();
    assert_eq!(
        anna.1,
        OfferPurpose::AnswerWithInterpreter {
            language: language.clone()
        }
    );
    assert_eq!(tesfay.1, OfferPurpose::Interpret { language });
    assert_eq!(
        anna.2, tesfay.2,
        "both ring on the call the kiosk connects on"
    );
    let peers = r.call_peers(&anna.2).unwrap();
    assert_eq!(peers.staff.len(), 2, "the kiosk may signal to both desks");
}

#[test]
fn whoever_answers_first_is_held_and_the_call_starts_with_both() {
    let (mut r, _) = skatteverket_in_tigrinya();
    let out = accept(&mut r, "tesfay", 12 * S);
    assert!(
        out.iter()
            .any(|c| matches!(c, Command::OfferHeld { staff, .. } if staff.as_str() == "tesfay")),
        "{out:#?}"
    );
    assert!(!out.iter().any(|c| matches!(c, Command::CallStarted { .. })));
    // Held, Tesfay's offer no longer times out; Anna's still does.
    assert_eq!(r.next_deadline(), Some(10 * S + r.config().ring_timeout_ms));

    let out = accept(&mut r, "anna", 14 * S);
    let started = out
        .iter()
        .position(|c| matches!(c, Command::CallStarted { staff, .. } if staff.as_str() == "anna"));
    let joined = out
        .iter()
        .position(|c| matches!(c, Command::Joined { staff, .. } if staff.as_str() == "tesfay"));
    assert!(started.unwrap() < joined.unwrap(), "{out:#?}");
    let call = r.calls().next().unwrap();
    assert_eq!(call.owner.as_str(), "anna");
    assert_eq!(call.participants, vec![id("anna"), id("tesfay")]);
    assert!(call.invites.is_empty());
}

#[test]
fn an_officer_who_speaks_the_language_is_preferred_and_needs_no_interpreter() {
    let mut r = Router::new(RoutingConfig::default(), "t");
    available(&mut r, officer("anna", "skatteverket", &["sv"]), 0);
    available(&mut r, interpreter("tesfay", &["ti"]), 0);
    // Selam came later, so Anna has been idle longer; Selam speaks Tigrinya all the same.
    available(
        &mut r,
        officer("selam", "skatteverket", &["sv", "ti"]),
        5 * S,
    );
    let spec = spec("v1", queue("skatteverket", "ti"), 10 * S);
    let out = r.handle(Event::Enqueue { spec }, 10 * S).unwrap();
    let rung = purposes(&out);
    assert_eq!(rung.len(), 1, "{out:#?}");
    assert_eq!(rung[0].0, "selam");
    assert_eq!(rung[0].1, OfferPurpose::Answer);
}

#[test]
fn swedish_never_needs_an_interpreter() {
    let mut r = Router::new(RoutingConfig::default(), "t");
    available(&mut r, officer("anna", "skatteverket", &["en"]), 0);
    available(&mut r, interpreter("tolk", &["sv", "en"]), 0);
    let spec = spec("v1", queue("skatteverket", "sv"), 10 * S);
    let out = r.handle(Event::Enqueue { spec }, 10 * S).unwrap();
    assert!(purposes(&out).is_empty(), "{out:#?}");
    assert_eq!(
        r.estimate(&id("v1"), 10 * S).wait,
        WaitRange::NoOfficerOnline
    );
}

#[test]
fn an_interpreter_is_reserved_only_with_an_officer_free() {
    let mut r = Router::new(RoutingConfig::default(), "t");
    available(&mut r, interpreter("tesfay", &["ti"]), 0);
    r.handle(
        Event::StaffOnline {
            profile: officer("anna", "skatteverket", &["sv"]),
        },
        0,
    )
    .unwrap();
    let spec = spec("v1", queue("skatteverket", "ti"), 10 * S);
    let out = r.handle(Event::Enqueue { spec }, 10 * S).unwrap();
    assert!(purposes(&out).is_empty(), "Anna is away: {out:#?}");
    assert_eq!(r.staff_status(&id("tesfay")), Some(StaffStatus::Available));
    let status = Choice::Available;
    let out = r
        .handle(
            Event::SetStatus {
                staff: id("anna"),
                status,
            },
            20 * S,
        )
        .unwrap();
    assert_eq!(purposes(&out).len(), 2, "{out:#?}");
}

#[test]
fn no_interpreter_online_is_said_plainly() {
    let mut r = Router::new(RoutingConfig::default(), "t");
    available(&mut r, officer("anna", "skatteverket", &["sv"]), 0);
    let first = spec("v1", queue("skatteverket", "ti"), 10 * S);
    r.handle(Event::Enqueue { spec: first }, 10 * S).unwrap();
    assert_eq!(
        r.estimate(&id("v1"), 10 * S).wait,
        WaitRange::NoInterpreterOnline
    );
    // An interpreter logs in: the visit is rung at once, and the estimate is a number again
    // for the next visit.
    let out = r
        .handle(
            Event::StaffOnline {
                profile: interpreter("tesfay", &["ti"]),
            },
            20 * S,
        )
        .unwrap();
    assert!(purposes(&out).is_empty(), "logged in away");
    let status = Choice::Available;
    let staff = id("tesfay");
    let out = r
        .handle(Event::SetStatus { staff, status }, 21 * S)
        .unwrap();
    assert_eq!(purposes(&out).len(), 2, "{out:#?}");
    let spec2 = spec("v2", queue("skatteverket", "ti"), 22 * S);
    r.handle(Event::Enqueue { spec: spec2 }, 22 * S).unwrap();
    assert!(matches!(
        r.estimate(&id("v2"), 22 * S).wait,
        WaitRange::Seconds { .. }
    ));
}

#[test]
fn an_interpreter_who_declines_is_replaced_while_the_officer_waits() {
    let (mut r, _) = skatteverket_in_tigrinya();
    available(&mut r, interpreter("yonas", &["ti", "am"]), 11 * S);
    accept(&mut r, "anna", 12 * S);
    let offer = offer_of(&r, "tesfay");
    let out = r
        .handle(
            Event::Decline {
                staff: id("tesfay"),
                offer,
            },
            13 * S,
        )
        .unwrap();
    let rung = purposes(&out);
    assert_eq!(rung.len(), 1, "{out:#?}");
    assert_eq!(rung[0].0, "yonas");
    assert!(!out.iter().any(|c| matches!(c, Command::CallStarted { .. })));
    let out = accept(&mut r, "yonas", 15 * S);
    assert!(out.iter().any(|c| matches!(c, Command::CallStarted { .. })));
    let call = r.calls().next().unwrap();
    assert_eq!(call.participants, vec![id("anna"), id("yonas")]);
}

#[test]
fn an_officer_held_with_no_interpreter_left_starts_and_invites_one() {
    let (mut r, _) = skatteverket_in_tigrinya();
    accept(&mut r, "anna", 12 * S);
    // Tesfay lets it ring out; nobody else interprets Tigrinya.
    let deadline = r.next_deadline().unwrap();
    let out = r.handle(Event::Tick, deadline).unwrap();
    assert!(
        out.iter()
            .any(|c| matches!(c, Command::CallStarted { staff, .. } if staff.as_str() == "anna")),
        "{out:#?}"
    );
    let call = r.calls().next().unwrap();
    assert_eq!(call.participants, vec![id("anna")]);
    assert_eq!(
        call.invites[0].target,
        InviteTarget::Interpreter { language: id("ti") }
    );
    // Tesfay, away after missing it, comes back: the invitation rings at his desk.
    let status = Choice::Available;
    let staff = id("tesfay");
    let out = r
        .handle(Event::SetStatus { staff, status }, deadline + S)
        .unwrap();
    let rung = purposes(&out);
    assert_eq!(rung[0].0, "tesfay", "{out:#?}");
}

#[test]
fn a_held_interpreter_is_let_go_when_no_officer_is_left() {
    let (mut r, _) = skatteverket_in_tigrinya();
    accept(&mut r, "tesfay", 12 * S);
    let offer = offer_of(&r, "anna");
    let out = r
        .handle(
            Event::Decline {
                staff: id("anna"),
                offer,
            },
            13 * S,
        )
        .unwrap();
    assert!(
        out.iter().any(|c| matches!(
            c,
            Command::OfferWithdrawn {
                staff,
                reason: OfferWithdrawnReason::PartnerGone,
                ..
            } if staff.as_str() == "tesfay"
        )),
        "{out:#?}"
    );
    assert_eq!(r.staff_status(&id("tesfay")), Some(StaffStatus::Available));
    assert!(r.offers().next().is_none());
    // The visit keeps its place, and Anna (declined it) is not rung for it again at once.
    assert_eq!(r.waiting_in(&id("skatteverket"), 13 * S).len(), 1);
}

#[test]
fn a_held_interpreter_waits_for_the_next_officer() {
    let (mut r, _) = skatteverket_in_tigrinya();
    available(&mut r, officer("bo", "skatteverket", &["sv"]), 11 * S);
    accept(&mut r, "tesfay", 12 * S);
    let offer = offer_of(&r, "anna");
    let staff = id("anna");
    let out = r.handle(Event::Decline { staff, offer }, 13 * S).unwrap();
    let rung = purposes(&out);
    assert_eq!(rung.len(), 1, "{out:#?}");
    assert_eq!(rung[0].0, "bo");
    let out = accept(&mut r, "bo", 16 * S);
    assert!(out
        .iter()
        .any(|c| matches!(c, Command::Joined { staff, .. } if staff.as_str() == "tesfay")));
}

#[test]
fn a_citizen_who_leaves_stops_both_rings() {
    let (mut r, _) = skatteverket_in_tigrinya();
    accept(&mut r, "tesfay", 12 * S);
    let visit = id("v1");
    let out = r.handle(Event::CitizenLeft { visit }, 13 * S).unwrap();
    let withdrawn = out
        .iter()
        .filter(|c| matches!(c, Command::OfferWithdrawn { .. }))
        .count();
    assert_eq!(withdrawn, 2, "{out:#?}");
    assert!(r.ringing_calls.is_empty());
    assert_eq!(r.staff_status(&id("anna")), Some(StaffStatus::Available));
    assert_eq!(r.staff_status(&id("tesfay")), Some(StaffStatus::Available));
}

#[test]
fn an_interpreter_serves_only_the_agencies_named_and_a_change_counts_at_once() {
    let mut r = Router::new(RoutingConfig::default(), "t");
    available(&mut r, officer("anna", "skatteverket", &["sv"]), 0);
    let mut tesfay = interpreter("tesfay", &["ti"]);
    tesfay.kind = StaffKind::Interpreter {
        serves: [id("csn")].into(),
    };
    available(&mut r, tesfay.clone(), 0);
    let spec = spec("v1", queue("skatteverket", "ti"), 10 * S);
    let out = r.handle(Event::Enqueue { spec }, 10 * S).unwrap();
    assert!(purposes(&out).is_empty(), "{out:#?}");
    assert_eq!(
        r.estimate(&id("v1"), 10 * S).wait,
        WaitRange::NoInterpreterOnline
    );
    tesfay.kind = StaffKind::Interpreter {
        serves: [id("csn"), id("skatteverket")].into(),
    };
    let out = r
        .handle(Event::ProfileChanged { profile: tesfay }, 20 * S)
        .unwrap();
    assert_eq!(purposes(&out).len(), 2, "{out:#?}");
}

#[test]
fn an_officer_given_a_skill_takes_the_visits_about_it_at_once() {
    let mut r = Router::new(RoutingConfig::default(), "t");
    let mut anna = officer("anna", "skatteverket", &["sv"]);
    available(&mut r, anna.clone(), 0);
    let mut about_tax = queue("skatteverket", "sv");
    about_tax.topic = Some(id("tax"));
    let spec = spec("v1", about_tax, 10 * S);
    let out = r.handle(Event::Enqueue { spec }, 10 * S).unwrap();
    assert!(purposes(&out).is_empty(), "{out:#?}");
    anna.skills.insert(id("tax"));
    let out = r
        .handle(Event::ProfileChanged { profile: anna }, 20 * S)
        .unwrap();
    assert_eq!(purposes(&out).len(), 1, "{out:#?}");
    // Someone not logged in is changed at their next login, not now.
    let out = r
        .handle(
            Event::ProfileChanged {
                profile: officer("bo", "skatteverket", &["sv"]),
            },
            21 * S,
        )
        .unwrap();
    let about_bo = out.iter().filter(|c| {
        matches!(c, Command::StaffStatus { staff, .. } | Command::Offer { staff, .. } if staff.as_str() == "bo")
    });
    assert_eq!(about_bo.count(), 0, "{out:#?}");
    assert!(r.profile(&id("bo")).is_none());
}
