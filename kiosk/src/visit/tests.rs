use super::*;
use nara_protocol::{StaffRoleKind, WaitRange};

fn card(staff: &str) -> StaffCard {
    StaffCard {
        staff: StaffId::new(staff).unwrap(),
        display_name: nara_protocol::ShortText::new("Anna Lind").unwrap(),
        role: StaffRoleKind::Officer,
        agency: Some(AgencyId::new("csn").unwrap()),
        agency_name: None,
        interprets: None,
    }
}

fn queued(visit: &str) -> BrokerToKiosk {
    BrokerToKiosk::Queued {
        visit: VisitId::new(visit).unwrap(),
        agency: AgencyId::new("csn").unwrap(),
        language: LanguageCode::new("sv").unwrap(),
        estimate: WaitEstimate {
            position: 1,
            wait: WaitRange::NoOfficerOnline,
        },
        booked: false,
    }
}

fn call_started(visit: &str, call: &str, staff: &str) -> BrokerToKiosk {
    BrokerToKiosk::CallStarted {
        visit: VisitId::new(visit).unwrap(),
        call: CallId::new(call).unwrap(),
        officer: card(staff),
    }
}

fn start(visit: &mut Visit) -> Vec<Command> {
    visit
        .citizen(CitizenAction::StartVisit {
            language: LanguageCode::new("sv").unwrap(),
            agency: AgencyId::new("csn").unwrap(),
        })
        .unwrap()
}

fn in_call() -> Visit {
    let mut visit = Visit::new();
    start(&mut visit);
    visit.broker(queued("v-1"));
    visit.broker(call_started("v-1", "c-1", "anna-csn"));
    visit
}

#[test]
fn a_visit_goes_from_the_queue_to_a_call_to_the_survey() {
    let mut visit = Visit::new();
    let sent = start(&mut visit);
    assert!(matches!(
        sent.as_slice(),
        [Command::Ask {
            message: KioskToBroker::StartVisit { .. },
            ..
        }]
    ));
    assert_eq!(visit.broker(queued("v-1")), vec![]);
    assert!(matches!(visit.phase(), Phase::Waiting { .. }));
    assert_eq!(visit.resumable(), Some(VisitId::new("v-1").unwrap()));

    let opened = visit.broker(call_started("v-1", "c-1", "anna-csn"));
    assert_eq!(
        opened,
        vec![Command::OpenPeer {
            call: CallId::new("c-1").unwrap(),
            staff: card("anna-csn"),
        }]
    );

    let ended = visit.broker(BrokerToKiosk::VisitEnded {
        visit: VisitId::new("v-1").unwrap(),
        reason: VisitEndReason::Completed,
    });
    assert_eq!(ended, vec![Command::DropVisit]);
    assert_eq!(visit.resumable(), None, "an ended visit is not resumed");

    let rated = visit.citizen(CitizenAction::Survey { score: 4 }).unwrap();
    assert!(matches!(
        rated.as_slice(),
        [Command::Send(KioskToBroker::Survey { score: 4, .. })]
    ));
    assert_eq!(
        visit.citizen(CitizenAction::Survey { score: 5 }),
        Err(Refusal::NoVisit("rate")),
        "one answer per visit"
    );
}

#[test]
fn a_survey_score_outside_one_to_five_is_refused() {
    let mut visit = in_call();
    assert_eq!(
        visit.citizen(CitizenAction::Survey { score: 9 }),
        Err(Refusal::BadScore(9))
    );
}

#[test]
fn the_call_announced_again_after_a_reconnect_keeps_its_peers() {
    let mut visit = in_call();
    let again = visit.broker(call_started("v-1", "c-1", "anna-csn"));
    assert!(
        !again.contains(&Command::DropVisit),
        "a resume must not drop the meeting: {again:?}"
    );
    let Phase::InCall { participants, .. } = visit.phase() else {
        panic!("not in the call: {:?}", visit.phase());
    };
    assert_eq!(participants.len(), 1);
}

#[test]
fn signalling_for_another_call_is_ignored() {
    let mut visit = in_call();
    let payload = SignalPayload::Answer {
        sdp: nara_protocol::Sdp::new("v=0\r\n").unwrap(),
    };
    let stale = visit.broker(BrokerToKiosk::Signal {
        call: CallId::new("c-old").unwrap(),
        from: StaffId::new("anna-csn").unwrap(),
        payload: payload.clone(),
    });
    assert_eq!(stale, vec![]);
    let current = visit.broker(BrokerToKiosk::Signal {
        call: CallId::new("c-1").unwrap(),
        from: StaffId::new("anna-csn").unwrap(),
        payload: payload.clone(),
    });
    assert_eq!(
        current,
        vec![Command::DeliverSignal {
            from: StaffId::new("anna-csn").unwrap(),
            payload
        }]
    );
}

#[test]
fn an_interpreter_joins_and_leaves_with_their_own_peer() {
    let mut visit = in_call();
    let joined = visit.broker(BrokerToKiosk::ParticipantJoined {
        call: CallId::new("c-1").unwrap(),
        participant: card("tolk-amir"),
    });
    assert!(matches!(joined.as_slice(), [Command::OpenPeer { .. }]));
    let left = visit.broker(BrokerToKiosk::ParticipantLeft {
        call: CallId::new("c-1").unwrap(),
        staff: StaffId::new("tolk-amir").unwrap(),
    });
    assert_eq!(
        left,
        vec![Command::ClosePeer {
            staff: StaffId::new("tolk-amir").unwrap()
        }]
    );
}

#[test]
fn leaving_the_queue_tells_the_broker_and_drops_the_visit() {
    let mut visit = Visit::new();
    start(&mut visit);
    visit.broker(queued("v-1"));
    let left = visit.citizen(CitizenAction::Leave).unwrap();
    assert_eq!(
        left,
        vec![
            Command::DropVisit,
            Command::Send(KioskToBroker::EndVisit {
                visit: VisitId::new("v-1").unwrap()
            })
        ]
    );
}

#[test]
fn a_visit_placed_after_the_citizen_left_is_ended_and_not_shown() {
    // The citizen asked with the broker out of reach, then left; the request goes out when
    // the link returns, and the broker queues a visit for nobody.
    let mut visit = Visit::new();
    start(&mut visit);
    assert_eq!(visit.citizen(CitizenAction::Leave).unwrap(), vec![]);
    let end_it = vec![Command::Send(KioskToBroker::EndVisit {
        visit: VisitId::new("v-1").unwrap(),
    })];
    assert_eq!(visit.broker(queued("v-1")), end_it);
    assert_eq!(visit.phase(), &Phase::Idle);
    // An officer who answered before the broker heard is sent away the same way.
    assert_eq!(visit.broker(call_started("v-1", "c-1", "anna")), end_it);
    assert_eq!(visit.phase(), &Phase::Idle);
}

#[test]
fn a_call_answered_as_the_citizen_leaves_the_queue_does_not_start() {
    let mut visit = Visit::new();
    start(&mut visit);
    visit.broker(queued("v-1"));
    visit.citizen(CitizenAction::Leave).unwrap();
    assert_eq!(
        visit.broker(call_started("v-1", "c-1", "anna")),
        vec![Command::Send(KioskToBroker::EndVisit {
            visit: VisitId::new("v-1").unwrap()
        })]
    );
    assert!(
        matches!(visit.phase(), Phase::Ended { .. }),
        "still the survey"
    );
}

#[test]
fn a_second_visit_cannot_start_while_one_is_in_progress() {
    let mut visit = in_call();
    assert_eq!(
        visit.citizen(CitizenAction::StartVisit {
            language: LanguageCode::new("en").unwrap(),
            agency: AgencyId::new("csn").unwrap(),
        }),
        Err(Refusal::Busy)
    );
}

#[test]
fn out_of_service_waits_for_the_meeting_to_end() {
    let mut visit = in_call();
    let notice = LongText::new("Kiosken lagas. Välkommen tillbaka i morgon.").unwrap();
    assert_eq!(
        visit.broker(BrokerToKiosk::OutOfService {
            message: notice.clone()
        }),
        vec![]
    );
    assert!(matches!(visit.phase(), Phase::InCall { .. }), "not cut off");
    visit.broker(BrokerToKiosk::VisitEnded {
        visit: VisitId::new("v-1").unwrap(),
        reason: VisitEndReason::Completed,
    });
    visit.citizen(CitizenAction::Reset).unwrap();
    assert_eq!(visit.phase(), &Phase::OutOfService { message: notice });
    assert!(matches!(
        start(&mut Visit::new()).as_slice(),
        [Command::Ask { .. }]
    ));
    assert!(matches!(
        visit.citizen(CitizenAction::Leave),
        Err(Refusal::OutOfService(_))
    ));
    visit.broker(BrokerToKiosk::BackInService);
    assert_eq!(visit.phase(), &Phase::Idle);
}

fn refusal(code: ErrorCode, request: Option<&RequestId>) -> BrokerToKiosk {
    BrokerToKiosk::Error(ErrorReply {
        code,
        message: "in English, for the log".into(),
        fatal: false,
        request: request.cloned(),
    })
}

fn asked(commands: &[Command]) -> RequestId {
    match commands {
        [Command::Ask { id, .. }] => id.clone(),
        other => panic!("not one request: {other:?}"),
    }
}

#[test]
fn a_refusal_of_the_request_waited_on_says_why_and_the_citizen_can_try_again() {
    let mut visit = Visit::new();
    let sent = visit
        .citizen(CitizenAction::CheckIn {
            code: BookingCode::new("ABCDEFGK").unwrap(),
        })
        .unwrap();
    let request = asked(&sent);
    // A refusal of something else (signalling in flight, an old request) changes nothing.
    visit.broker(refusal(ErrorCode::CallGone, None));
    visit.broker(refusal(
        ErrorCode::BookingUnknown,
        Some(&RequestId::new("k0").unwrap()),
    ));
    assert!(matches!(visit.phase(), Phase::Asking { .. }));
    visit.broker(refusal(ErrorCode::BookingUnknown, Some(&request)));
    assert_eq!(
        visit.phase(),
        &Phase::Refused {
            code: ErrorCode::BookingUnknown,
            agency: None
        }
    );
    // Another try is a new request with an id of its own.
    let again = start(&mut visit);
    assert_ne!(asked(&again), request);
    visit.broker(refusal(ErrorCode::AgencyClosed, Some(&asked(&again))));
    assert_eq!(
        visit.phase(),
        &Phase::Refused {
            code: ErrorCode::AgencyClosed,
            agency: Some(AgencyId::new("csn").unwrap())
        }
    );
    visit.citizen(CitizenAction::Reset).unwrap();
    assert_eq!(visit.phase(), &Phase::Idle);
}

#[test]
fn a_wait_ended_unmet_is_no_meeting_to_rate() {
    // The queue closed while the citizen waited: they are told it is closed.
    let mut visit = Visit::new();
    start(&mut visit);
    visit.broker(queued("v-1"));
    visit.broker(BrokerToKiosk::VisitEnded {
        visit: VisitId::new("v-1").unwrap(),
        reason: VisitEndReason::NotServed,
    });
    assert_eq!(
        visit.phase(),
        &Phase::Refused {
            code: ErrorCode::AgencyClosed,
            agency: Some(AgencyId::new("csn").unwrap())
        }
    );
    // The kiosk was away past the grace time: back at the start, no survey.
    let mut visit = Visit::new();
    start(&mut visit);
    visit.broker(queued("v-1"));
    assert_eq!(
        visit.broker(BrokerToKiosk::VisitEnded {
            visit: VisitId::new("v-1").unwrap(),
            reason: VisitEndReason::ConnectionLost,
        }),
        vec![Command::DropVisit]
    );
    assert_eq!(visit.phase(), &Phase::Idle);
    // A meeting lost the same way is still one to rate.
    let mut visit = in_call();
    visit.broker(BrokerToKiosk::VisitEnded {
        visit: VisitId::new("v-1").unwrap(),
        reason: VisitEndReason::ConnectionLost,
    });
    assert!(matches!(visit.phase(), Phase::Ended { .. }));
}

#[test]
fn an_out_of_service_notice_held_during_a_wait_shows_once_the_wait_is_given_up() {
    let mut visit = Visit::new();
    start(&mut visit);
    visit.broker(queued("v-1"));
    let notice = LongText::new("Ur funktion till måndag").unwrap();
    visit.broker(BrokerToKiosk::OutOfService {
        message: notice.clone(),
    });
    visit.broker(BrokerToKiosk::VisitEnded {
        visit: VisitId::new("v-1").unwrap(),
        reason: VisitEndReason::ConnectionLost,
    });
    assert_eq!(visit.phase(), &Phase::OutOfService { message: notice });
}

#[test]
fn an_ask_slowed_down_by_the_broker_is_refused_not_left_waiting() {
    let mut visit = Visit::new();
    start(&mut visit);
    visit.broker(refusal(ErrorCode::RateLimited, None));
    assert!(matches!(
        visit.phase(),
        Phase::Refused {
            code: ErrorCode::RateLimited,
            ..
        }
    ));
}

fn ringing(visit: &str, call: &str, staff: &str) -> BrokerToKiosk {
    BrokerToKiosk::Ringing {
        visit: VisitId::new(visit).unwrap(),
        call: CallId::new(call).unwrap(),
        staff: StaffId::new(staff).unwrap(),
    }
}

fn ring_ended(call: &str, staff: &str) -> BrokerToKiosk {
    BrokerToKiosk::RingEnded {
        call: CallId::new(call).unwrap(),
        staff: StaffId::new(staff).unwrap(),
    }
}

fn prepare(call: &str, staff: &str) -> Command {
    Command::PreparePeer {
        call: CallId::new(call).unwrap(),
        staff: StaffId::new(staff).unwrap(),
    }
}

fn close(staff: &str) -> Command {
    Command::ClosePeer {
        staff: StaffId::new(staff).unwrap(),
    }
}

fn answer_signal(call: &str, from: &str) -> BrokerToKiosk {
    BrokerToKiosk::Signal {
        call: CallId::new(call).unwrap(),
        from: StaffId::new(from).unwrap(),
        payload: SignalPayload::Answer {
            sdp: nara_protocol::Sdp::new("v=0\r\n").unwrap(),
        },
    }
}

#[test]
fn a_ringing_desk_is_connected_to_and_its_answer_sends_over_that_connection() {
    let mut visit = Visit::new();
    start(&mut visit);
    // An officer free at once rings before the kiosk hears its place in the queue.
    assert_eq!(
        visit.broker(ringing("v-1", "c-0", "omar-csn")),
        [prepare("c-0", "omar-csn")]
    );
    visit.broker(ring_ended("c-0", "omar-csn"));
    visit.broker(queued("v-1"));
    assert_eq!(
        visit.broker(ringing("v-1", "c-1", "anna-csn")),
        [prepare("c-1", "anna-csn")]
    );
    // Told twice (a resent message), it is still one connection.
    assert_eq!(visit.broker(ringing("v-1", "c-1", "anna-csn")), []);
    // The desk's answer to the kiosk's offer reaches that connection while it rings.
    assert!(matches!(
        visit.broker(answer_signal("c-1", "anna-csn")).as_slice(),
        [Command::DeliverSignal { .. }]
    ));
    assert_eq!(visit.broker(answer_signal("c-1", "omar-csn")), []);

    let answered = visit.broker(call_started("v-1", "c-1", "anna-csn"));
    assert_eq!(
        answered,
        [Command::OpenPeer {
            call: CallId::new("c-1").unwrap(),
            staff: card("anna-csn"),
        }]
    );
    assert!(visit.rings().is_empty());
}

#[test]
fn a_ring_that_ends_unanswered_closes_its_connection_and_the_next_ring_opens_its_own() {
    let mut visit = Visit::new();
    start(&mut visit);
    visit.broker(queued("v-1"));
    visit.broker(ringing("v-1", "c-1", "anna-csn"));
    // A ring ended for another call or person changes nothing.
    assert_eq!(visit.broker(ring_ended("c-9", "anna-csn")), []);
    assert_eq!(
        visit.broker(ring_ended("c-1", "anna-csn")),
        [close("anna-csn")]
    );
    assert_eq!(visit.broker(answer_signal("c-1", "anna-csn")), []);
    assert_eq!(
        visit.broker(ringing("v-1", "c-2", "omar-csn")),
        [prepare("c-2", "omar-csn")]
    );
    assert_eq!(visit.rings().len(), 1);
    // A ring for another visit is not this kiosk's to connect.
    assert_eq!(visit.broker(ringing("v-other", "c-3", "lina-csn")), []);
}

#[test]
fn rings_from_before_a_lost_link_are_closed_and_leaving_drops_them() {
    let mut visit = Visit::new();
    start(&mut visit);
    visit.broker(queued("v-1"));
    visit.broker(ringing("v-1", "c-1", "anna-csn"));
    let welcome = visit.broker(BrokerToKiosk::Welcome {
        protocol_version: nara_protocol::PROTOCOL_VERSION,
        kiosk: nara_protocol::KioskId::new("k-1").unwrap(),
        site: nara_protocol::SiteId::new("rinkeby").unwrap(),
        site_name: nara_protocol::ShortText::new("Rinkeby").unwrap(),
        agencies: Vec::new(),
        ice_servers: Vec::new(),
        heartbeat_seconds: 30,
        out_of_service: None,
    });
    assert_eq!(welcome, [close("anna-csn")]);

    visit.broker(ringing("v-1", "c-2", "omar-csn"));
    let left = visit.citizen(CitizenAction::Leave).unwrap();
    assert!(left.contains(&Command::DropVisit));
    assert!(visit.rings().is_empty());

    // Leaving before the broker said where the visit stands closes a ring too.
    start(&mut visit);
    visit.broker(ringing("v-2", "c-3", "anna-csn"));
    let left = visit.citizen(CitizenAction::Leave).unwrap();
    assert_eq!(left, [close("anna-csn")]);
    assert!(visit.rings().is_empty());
}

#[test]
fn an_invited_colleague_is_connected_to_while_their_invitation_rings() {
    let mut visit = in_call();
    // Not for a call the kiosk is not in, nor for someone already in it.
    assert_eq!(visit.broker(ringing("v-1", "c-9", "tolk-amir")), []);
    assert_eq!(visit.broker(ringing("v-1", "c-1", "anna-csn")), []);
    assert_eq!(
        visit.broker(ringing("v-1", "c-1", "tolk-amir")),
        [prepare("c-1", "tolk-amir")]
    );
    let joined = visit.broker(BrokerToKiosk::ParticipantJoined {
        call: CallId::new("c-1").unwrap(),
        participant: card("tolk-amir"),
    });
    assert!(matches!(joined.as_slice(), [Command::OpenPeer { .. }]));
    assert!(visit.rings().is_empty());
}

#[test]
fn an_interpreter_rung_with_the_officer_keeps_the_connection_made_while_both_rang() {
    let mut visit = Visit::new();
    start(&mut visit);
    visit.broker(queued("v-1"));
    visit.broker(ringing("v-1", "c-1", "selam-tolk"));
    visit.broker(ringing("v-1", "c-1", "maria-skv"));
    // The officer starts the call: the interpreter's ring on it goes on.
    let started = visit.broker(call_started("v-1", "c-1", "maria-skv"));
    assert!(!started.contains(&close("selam-tolk")), "{started:?}");
    assert_eq!(visit.rings().len(), 1);
    // The interpreter joins over the connection made while they rang.
    let joined = visit.broker(BrokerToKiosk::ParticipantJoined {
        call: CallId::new("c-1").unwrap(),
        participant: card("selam-tolk"),
    });
    assert_eq!(
        joined,
        [Command::OpenPeer {
            call: CallId::new("c-1").unwrap(),
            staff: card("selam-tolk"),
        }]
    );
    assert!(visit.rings().is_empty());
}
