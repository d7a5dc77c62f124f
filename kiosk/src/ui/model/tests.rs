use super::*;
use crate::media::receiver::ReceiverStats;
use crate::status::PeerStatus;
use nara_protocol::kiosk::VisitEndReason;
use nara_protocol::{CallId, ErrorCode, LanguageCode, VisitId, WaitEstimate};

fn status(visit: Phase) -> Status {
    Status::connected_in(visit)
}

fn waiting(position: u32, wait: WaitRange) -> Phase {
    Phase::Waiting {
        visit: VisitId::new("v-1").unwrap(),
        agency: AgencyId::new("csn").unwrap(),
        language: nara_protocol::LanguageCode::new("ar").unwrap(),
        estimate: WaitEstimate { position, wait },
        booked: false,
    }
}

fn in_call(picture: bool) -> Status {
    let mut s = status(Phase::InCall {
        visit: VisitId::new("v-1").unwrap(),
        call: CallId::new("c-1").unwrap(),
        participants: Vec::new(),
    });
    s.peers.push(PeerStatus {
        staff: StaffId::new("anna-csn").unwrap(),
        display_name: "Anna Lind".into(),
        agency_name: Some("CSN".into()),
        role: nara_protocol::StaffRoleKind::Officer,
        connected: true,
        channel_open: true,
        network: None,
        received: vec![ReceiverStats {
            decoded: u64::from(picture),
            width: if picture { 640 } else { 0 },
            ..Default::default()
        }],
    });
    s
}

fn ended() -> Status {
    status(Phase::Ended {
        visit: VisitId::new("v-1").unwrap(),
        reason: VisitEndReason::Completed,
        survey_answered: false,
    })
}

const SECOND: Millis = 1000;

#[test]
fn a_visit_goes_from_the_attract_screen_to_the_queue_in_the_chosen_language() {
    let idle = status(Phase::Idle);
    let mut model = Model::new(0);
    assert_eq!(model.screen(&idle), Screen::Attract);
    model.input(Input::Start, SECOND);
    assert_eq!(model.screen(&idle), Screen::Language);
    model.input(Input::ChooseLanguage(Language::Arabic), 2 * SECOND);
    assert_eq!(model.screen(&idle), Screen::Agency);
    let asked = model.input(
        Input::ChooseAgency(AgencyId::new("csn").unwrap()),
        3 * SECOND,
    );
    assert_eq!(
        asked,
        [Request::Citizen(CitizenAction::StartVisit {
            language: nara_protocol::LanguageCode::new("ar").unwrap(),
            agency: AgencyId::new("csn").unwrap(),
        })]
    );
    let queued = status(waiting(
        3,
        WaitRange::Seconds {
            low_seconds: 240,
            high_seconds: 600,
        },
    ));
    assert_eq!(
        model.screen(&queued),
        Screen::Waiting {
            position: 3,
            estimate: Estimate::Minutes { low: 4, high: 10 },
            booked: false
        }
    );
    let nobody = status(waiting(1, WaitRange::NoOfficerOnline));
    assert!(matches!(
        model.screen(&nobody),
        Screen::Waiting {
            estimate: Estimate::NoOfficer,
            ..
        }
    ));
    let no_interpreter = status(waiting(1, WaitRange::NoInterpreterOnline));
    assert!(matches!(
        model.screen(&no_interpreter),
        Screen::Waiting {
            estimate: Estimate::NoInterpreter,
            ..
        }
    ));
}

#[test]
fn the_meeting_shows_once_the_officer_is_seen_and_chimes_once() {
    let mut model = Model::new(0);
    assert_eq!(model.screen(&in_call(false)), Screen::Connecting);
    assert_eq!(model.tick(&in_call(false), SECOND), [Request::Chime]);
    assert_eq!(model.tick(&in_call(true), 2 * SECOND), []);
    assert_eq!(model.screen(&in_call(true)), Screen::Meeting);
}

#[test]
fn a_lost_connection_keeps_the_place_and_says_so() {
    let model = Model::new(0);
    let mut lost = status(waiting(2, WaitRange::NoOfficerOnline));
    lost.connected = false;
    assert_eq!(model.screen(&lost), Screen::ConnectionLost);
    let mut idle = status(Phase::Idle);
    idle.connected = false;
    assert_eq!(
        model.screen(&idle),
        Screen::Attract,
        "nobody to tell at rest"
    );
    let mut meeting = in_call(true);
    meeting.connected = false;
    assert_eq!(
        model.screen(&meeting),
        Screen::Meeting,
        "the officer is still seen and heard peer to peer"
    );
    let mut no_picture = in_call(false);
    no_picture.connected = false;
    assert_eq!(model.screen(&no_picture), Screen::ConnectionLost);
}

#[test]
fn the_citizen_may_leave_while_the_connection_is_lost() {
    let mut model = Model::new(0);
    let mut asking = status(Phase::Asking {
        language: LanguageCode::new("so").unwrap(),
    });
    asking.connected = false;
    model.input(Input::ChooseLanguage(Language::Somali), 0);
    assert_eq!(model.screen(&asking), Screen::ConnectionLost);
    assert_eq!(
        model.input(Input::Leave, SECOND),
        [Request::Citizen(CitizenAction::Leave)]
    );
    let mut left = status(Phase::Idle);
    left.connected = false;
    assert_eq!(model.screen(&left), Screen::Agency, "choose again");
    assert_eq!(model.language, Language::Somali);
}

#[test]
fn a_minute_without_touch_outside_a_meeting_drops_everything() {
    let idle = status(Phase::Idle);
    let mut model = Model::new(0);
    model.input(Input::Start, 0);
    model.input(Input::ChooseLanguage(Language::Tigrinya), SECOND);
    model.input(Input::ToggleLargerText, 2 * SECOND);
    model.input(Input::OpenBooking, 3 * SECOND);
    model.input(Input::BookingKey('k'), 4 * SECOND);
    assert_eq!(
        model.tick(&idle, 63 * SECOND),
        [],
        "59 s is not yet a minute"
    );
    assert_eq!(
        model.screen(&idle),
        Screen::Booking {
            code: "K".into(),
            wrong: false
        }
    );
    assert_eq!(model.tick(&idle, 64 * SECOND), []);
    assert_eq!(model.screen(&idle), Screen::Attract);
    assert_eq!(model.language, Language::Swedish);
    assert!(!model.larger_text);
    assert!(model.booking_code.is_empty());
}

#[test]
fn after_a_meeting_the_idle_minute_also_asks_the_kiosk_to_forget_the_visit() {
    let mut model = Model::new(0);
    model.tick(&in_call(true), 0);
    model.input(Input::ToggleChat, SECOND);
    model.input(Input::ChatKey('h'), 2 * SECOND);
    // Watching the officer for minutes without touching is not idleness.
    assert_eq!(model.tick(&in_call(true), 600 * SECOND), []);
    assert_eq!(model.chat_draft, "h");
    let over = ended();
    assert_eq!(model.tick(&over, 601 * SECOND), []);
    model.input(Input::Survey(4), 602 * SECOND);
    assert_eq!(
        model.tick(&over, 662 * SECOND),
        [Request::Citizen(CitizenAction::Reset)]
    );
    assert_eq!(model.chat_draft, "");
    assert!(!model.chat_open);
}

#[test]
fn waiting_in_the_queue_is_not_idleness() {
    let mut model = Model::new(0);
    let queued = status(waiting(5, WaitRange::NoOfficerOnline));
    assert_eq!(model.tick(&queued, 3600 * SECOND), []);
    assert!(matches!(model.screen(&queued), Screen::Waiting { .. }));
}

#[test]
fn a_long_untouched_wait_asks_if_anyone_is_there_before_giving_the_place_up() {
    let after = STILL_THERE_AFTER.as_millis() as u64;
    let answer_within = STILL_THERE_FOR.as_millis() as u64;
    let mut model = Model::new(0);
    model.input(Input::ChooseLanguage(Language::Arabic), 0);
    let queued = status(waiting(5, WaitRange::NoOfficerOnline));
    // The wait starts at 10 s; nothing is asked before it has gone untouched long enough.
    model.tick(&queued, 10 * SECOND);
    assert_eq!(model.tick(&queued, 10 * SECOND + after - 1), []);
    assert!(matches!(model.screen(&queued), Screen::Waiting { .. }));
    assert_eq!(model.tick(&queued, 10 * SECOND + after), []);
    assert_eq!(model.screen(&queued), Screen::StillThere);

    // A touch keeps the place, and the question comes again only after as long again.
    let answered = 20 * SECOND + after;
    assert_eq!(model.input(Input::StillHere, answered), []);
    assert!(matches!(model.screen(&queued), Screen::Waiting { .. }));
    assert_eq!(model.tick(&queued, answered + after - 1), []);
    assert!(matches!(model.screen(&queued), Screen::Waiting { .. }));
    model.tick(&queued, answered + after);
    assert_eq!(model.screen(&queued), Screen::StillThere);

    // Nobody answers: the place is given up and the next person starts afresh.
    assert_eq!(
        model.tick(&queued, answered + after + answer_within - 1),
        []
    );
    assert_eq!(
        model.tick(&queued, answered + after + answer_within),
        [Request::Citizen(CitizenAction::Reset)]
    );
    assert_eq!(model.screen(&status(Phase::Idle)), Screen::Attract);
    assert_eq!(model.language, Language::Swedish);
}

#[test]
fn nobody_is_asked_while_the_broker_is_away_or_the_officer_is_there() {
    let after = STILL_THERE_AFTER.as_millis() as u64;
    let mut model = Model::new(0);
    let mut lost = status(waiting(2, WaitRange::NoOfficerOnline));
    lost.connected = false;
    model.tick(&lost, 0);
    assert_eq!(model.tick(&lost, 3 * after), []);
    assert_eq!(model.screen(&lost), Screen::ConnectionLost);
    // Back, the wait counts from then.
    let queued = status(waiting(2, WaitRange::NoOfficerOnline));
    assert_eq!(model.tick(&queued, 3 * after + 1), []);
    assert!(matches!(model.screen(&queued), Screen::Waiting { .. }));
    // A call that starts while the question is up ends the question.
    model.tick(&queued, 4 * after + 1);
    assert_eq!(model.screen(&queued), Screen::StillThere);
    model.tick(&in_call(true), 4 * after + 2);
    assert_eq!(model.screen(&in_call(true)), Screen::Meeting);
    model.tick(&queued, 4 * after + 3);
    assert!(matches!(model.screen(&queued), Screen::Waiting { .. }));
}

#[test]
fn goodbye_returns_to_the_attract_screen_with_nothing_kept() {
    let mut model = Model::new(0);
    model.input(Input::ChooseLanguage(Language::Dari), 0);
    model.input(Input::ToggleHighContrast, 0);
    assert_eq!(
        model.input(Input::Done, SECOND),
        [Request::Citizen(CitizenAction::Reset)]
    );
    let idle = status(Phase::Idle);
    assert_eq!(model.screen(&idle), Screen::Goodbye);
    model.tick(&idle, SECOND + GOODBYE_FOR.as_millis() as u64);
    assert_eq!(model.screen(&idle), Screen::Attract);
    assert_eq!(model.language, Language::Swedish);
    assert!(!model.high_contrast);
}

#[test]
fn another_agency_keeps_the_language_and_starts_over_at_the_agencies() {
    let mut model = Model::new(0);
    model.input(Input::ChooseLanguage(Language::Somali), 0);
    assert_eq!(
        model.input(Input::AnotherAgency, SECOND),
        [Request::Citizen(CitizenAction::Reset)]
    );
    assert_eq!(model.screen(&status(Phase::Idle)), Screen::Agency);
    assert_eq!(model.language, Language::Somali);
}

#[test]
fn a_booking_code_must_be_whole_before_it_is_sent() {
    let idle = status(Phase::Idle);
    let mut model = Model::new(0);
    model.input(Input::OpenBooking, 0);
    for c in "abc".chars() {
        model.input(Input::BookingKey(c), 0);
    }
    assert_eq!(model.input(Input::SubmitBooking, 0), []);
    assert_eq!(
        model.screen(&idle),
        Screen::Booking {
            code: "ABC".into(),
            wrong: true
        }
    );
    for c in "DEFGHJK".chars() {
        model.input(Input::BookingKey(c), 0);
    }
    assert_eq!(model.booking_code, "ABCDEFGH", "no more than eight");
    assert_eq!(
        model.input(Input::SubmitBooking, 0),
        [Request::Citizen(CitizenAction::CheckIn {
            code: BookingCode::new("ABCDEFGH").unwrap()
        })]
    );
}

/// M3 of the security review: the document went to whoever asked last, an interpreter
/// included, and the label shown and the recipient were worked out separately.
#[test]
fn m3_a_document_goes_to_the_officer_named_on_the_button_touched() {
    let mut model = Model::new(0);
    let mut meeting = in_call(true);
    meeting.peers.push(PeerStatus {
        staff: StaffId::new("maria-skatteverket").unwrap(),
        ..meeting.peers[0].clone()
    });
    meeting.document_requested_by = Some(StaffId::new("maria-skatteverket").unwrap());
    let anna = meeting.peers[0].staff.clone();
    assert_eq!(
        model.input(Input::SendDocument(anna.clone()), 0),
        [Request::Document(DocumentRequest::Send { to: Some(anna) })],
        "who asked last does not change who receives it"
    );
}

#[test]
fn m3_interpreters_are_never_offered_as_recipients() {
    let mut meeting = in_call(true);
    meeting.peers.push(PeerStatus {
        staff: StaffId::new("tolk-amir").unwrap(),
        display_name: "Amir Haddad".into(),
        agency_name: None,
        role: nara_protocol::StaffRoleKind::Interpreter,
        ..meeting.peers[0].clone()
    });
    let recipients: Vec<String> = meeting
        .peers
        .iter()
        .filter(|p| p.receives_documents())
        .map(|p| p.name_with_agency())
        .collect();
    assert_eq!(recipients, [meeting.peers[0].name_with_agency()]);
}

#[test]
fn a_refused_booking_says_why_and_back_leads_to_the_code_again() {
    let mut model = Model::new(0);
    model.input(Input::Start, 1);
    model.input(Input::ChooseLanguage(Language::Somali), 2);
    model.input(Input::OpenBooking, 3);
    for c in "ABCD2345".chars() {
        model.input(Input::BookingKey(c), 4);
    }
    let refused = status(Phase::Refused {
        code: ErrorCode::BookingTooEarly,
        agency: None,
    });
    assert_eq!(
        model.screen(&refused),
        Screen::Refused {
            code: ErrorCode::BookingTooEarly,
            agency: None
        }
    );
    assert_eq!(
        model.input(Input::DismissRefusal, 5),
        vec![Request::Citizen(CitizenAction::Reset)]
    );
    // Back on the booking screen, in Somali, with the code as typed.
    assert_eq!(
        model.screen(&status(Phase::Idle)),
        Screen::Booking {
            code: "ABCD2345".into(),
            wrong: false
        }
    );
    assert_eq!(model.language, Language::Somali);
}

#[test]
fn a_wait_given_up_while_the_kiosk_was_away_shows_the_start_screen() {
    let mut model = Model::new(0);
    model.input(Input::Start, 1);
    model.input(Input::ChooseLanguage(Language::Arabic), 2);
    let waiting = status(waiting(3, WaitRange::NoOfficerOnline));
    model.tick(&waiting, 3);
    // The broker ended the visit while the kiosk was away; nobody touched the screen.
    model.tick(&status(Phase::Idle), 4);
    assert_eq!(model.screen(&status(Phase::Idle)), Screen::Attract);
    assert_eq!(model.language, Language::Swedish);
}
