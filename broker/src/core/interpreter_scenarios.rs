//! Every agency in every language: a Somali speaker at Skatteverket, whose officers speak
//! Swedish and Arabic, reaches an officer through an interpreter, as the kiosk and both
//! desks see it.

use super::scene::*;
use super::*;
use nara_protocol::desk::OfferPurpose;

fn offer_purpose(out: &[Output], staff: &str) -> Option<(OfferPurpose, CallId)> {
    to_desk(out, staff).into_iter().find_map(|m| match m {
        BrokerToDesk::Offer { purpose, call, .. } => Some((purpose.clone(), call.clone())),
        _ => None,
    })
}

fn ringing_at_kiosk(out: &[Output]) -> Vec<StaffId> {
    to_kiosk(out, "k1")
        .into_iter()
        .filter_map(|m| match m {
            BrokerToKiosk::Ringing { staff, .. } => Some(staff.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_language_no_officer_speaks_queues_and_is_answered_with_an_interpreter() {
    let mut s = Scene::new();
    s.connect_kiosk("k1", None);
    s.officer("anna", "skatteverket", &["sv", "ar"]);
    let out = s.start_visit("k1", "skatteverket", "so");
    queued_visit(&out, "k1");
    // Nobody interprets Somali yet: the kiosk is told so, not given a number.
    let queued = to_kiosk(&out, "k1").into_iter().find_map(|m| match m {
        BrokerToKiosk::Queued { estimate, .. } => Some(estimate.wait.clone()),
        _ => None,
    });
    assert_eq!(queued, Some(WaitRange::NoInterpreterOnline), "{out:#?}");

    // Hodan, who interprets Somali, comes to her desk: both desks ring on one call, and the
    // kiosk connects to both while they do.
    let out = s.interpreter("hodan", &["so", "sv"]);
    let (anna, call) = offer_purpose(&out, "anna").expect("Anna rings");
    let (hodan, hodan_call) = offer_purpose(&out, "hodan").expect("Hodan rings");
    let somali: LanguageCode = id("so");
    assert_eq!(
        anna,
        OfferPurpose::AnswerWithInterpreter {
            language: somali.clone()
        }
    );
    assert_eq!(hodan, OfferPurpose::Interpret { language: somali });
    assert_eq!(call, hodan_call);
    let mut ringing = ringing_at_kiosk(&out);
    ringing.sort();
    assert_eq!(ringing, [id("anna"), id("hodan")]);

    // Hodan answers first and is told to wait for Anna; nothing starts yet.
    let anna_offer = offer_to(&out, "anna");
    let offer = offer_to(&out, "hodan");
    let out = s.desk("hodan", DeskToBroker::AcceptOffer { offer });
    assert!(to_desk(&out, "hodan")
        .iter()
        .any(|m| matches!(m, BrokerToDesk::OfferHeld { .. })));
    assert!(to_kiosk(&out, "k1").is_empty(), "{out:#?}");

    // Anna answers: the citizen sees Anna, then Hodan joining; each desk sees the other.
    let out = s.desk("anna", DeskToBroker::AcceptOffer { offer: anna_offer });
    let (started, officer) = call_started_at_kiosk(&out, "k1");
    assert_eq!((started, officer.staff.as_str()), (call.clone(), "anna"));
    assert!(to_kiosk(&out, "k1").iter().any(|m| matches!(
        m,
        BrokerToKiosk::ParticipantJoined { participant, .. }
            if participant.staff.as_str() == "hodan"
                && participant.role == StaffRoleKind::Interpreter
                && participant.interprets.as_ref().map(|l| l.as_str()) == Some("so")
    )));
    assert!(to_desk(&out, "anna").iter().any(|m| matches!(
        m,
        BrokerToDesk::ParticipantJoined { participant, .. } if participant.staff.as_str() == "hodan"
    )));
    // Anna starts the call alone and hears Hodan join: Hodan, the later, offers to Anna, so
    // the two desks never offer to each other at once.
    assert!(to_desk(&out, "anna").iter().any(|m| matches!(
        m,
        BrokerToDesk::CallStarted { participants, .. } if participants.len() == 1
    )));
    assert!(to_desk(&out, "hodan").iter().any(|m| matches!(
        m,
        BrokerToDesk::CallStarted { participants, owner, .. }
            if participants.len() == 2 && owner.as_str() == "anna"
    )));
}
