//! A whole visit through a real broker: enrol a kiosk, connect with its certificate, queue,
//! an offer that rings out, the next officer answers, signalling relayed, an interpreter
//! joins, a cold transfer to another agency, the end, the survey, and the statistics.

use nara_protocol::desk::*;
use nara_protocol::kiosk::*;
use nara_protocol::*;
use nara_tests::harness::BrokerEndpoint;
use nara_tests::harness::*;

fn id<T: TryFrom<String, Error = String>>(s: &str) -> T {
    T::try_from(s.to_string()).unwrap()
}

fn sdp(kind: &str) -> Sdp {
    id(&format!(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns={kind}\r\nt=0 0\r\n"
    ))
}

async fn available(desk: &mut Desk) {
    desk.go_available().await.unwrap();
}

async fn offer(desk: &mut Desk) -> (OfferId, OfferPurpose) {
    desk.expect("an offer", |m| match m {
        BrokerToDesk::Offer { offer, purpose, .. } => Some((offer.clone(), purpose.clone())),
        _ => None,
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whole_visit_with_timeout_interpreter_and_transfer() {
    let broker = TestBroker::start(400).await.unwrap();
    let admin = admin(&broker).await.unwrap();
    let identity = enrol_kiosk(&broker, &admin, "norsjo").await.unwrap();
    let mut kiosk = kiosk(broker.addr(), &broker.cert_path(), &identity, None)
        .await
        .unwrap();

    let mut anna = desk(&broker, "anna.csn").await.unwrap();
    let mut omar = desk(&broker, "omar.csn").await.unwrap();
    available(&mut anna).await;
    available(&mut omar).await;

    kiosk
        .send(&KioskToBroker::StartVisit {
            language: id("sv"),
            agency: id("csn"),
            topic: None,
        })
        .await
        .unwrap();
    let (visit, estimate) = kiosk
        .expect("queued", |m| match m {
            BrokerToKiosk::Queued {
                visit, estimate, ..
            } => Some((visit.clone(), estimate.clone())),
            _ => None,
        })
        .await
        .unwrap();
    assert_eq!(estimate.position, 1);

    // Anna, idle longest, is offered first and does not answer.
    let (first, purpose) = offer(&mut anna).await;
    assert_eq!(purpose, OfferPurpose::Answer);
    let reason = anna.expect("the offer withdrawn", |m| match m {
        BrokerToDesk::OfferWithdrawn { offer, reason } if *offer == first => Some(*reason),
        _ => None,
    });
    assert_eq!(reason.await.unwrap(), OfferWithdrawnReason::TimedOut);
    anna.expect("set away", |m| {
        matches!(
            m,
            BrokerToDesk::StatusChanged {
                status: StaffStatus::Away
            }
        )
        .then_some(())
    })
    .await
    .unwrap();

    // Omar gets it next and answers; both sides hear about the call.
    let (second, _) = offer(&mut omar).await;
    omar.send(&DeskToBroker::AcceptOffer { offer: second })
        .await
        .unwrap();
    let call = omar
        .expect("call started", |m| match m {
            BrokerToDesk::CallStarted { call, visit: v, .. } if *v == visit => Some(call.clone()),
            _ => None,
        })
        .await
        .unwrap();
    let officer = kiosk
        .expect("call started at the kiosk", |m| match m {
            BrokerToKiosk::CallStarted { officer, .. } => Some(officer.clone()),
            _ => None,
        })
        .await
        .unwrap();
    assert_eq!(officer.staff.as_str(), "omar-csn");
    assert_eq!(
        officer.agency_name.as_ref().map(|n| n.as_str()),
        Some("CSN")
    );

    // Offer, answer and candidates relayed between the kiosk and the officer.
    kiosk
        .send(&KioskToBroker::Signal {
            call: call.clone(),
            to: id("omar-csn"),
            payload: SignalPayload::Offer { sdp: sdp("kiosk") },
        })
        .await
        .unwrap();
    let got = omar.expect("the kiosk's offer", |m| match m {
        BrokerToDesk::Signal {
            from: Peer::Kiosk { .. },
            payload: SignalPayload::Offer { sdp },
            ..
        } => Some(sdp.clone()),
        _ => None,
    });
    assert_eq!(got.await.unwrap(), sdp("kiosk"));
    omar.send(&DeskToBroker::Signal {
        call: call.clone(),
        to: Peer::Kiosk {
            kiosk: id(&identity.kiosk),
        },
        payload: SignalPayload::Answer { sdp: sdp("omar") },
    })
    .await
    .unwrap();
    kiosk
        .expect("the answer", |m| {
            matches!(
                m,
                BrokerToKiosk::Signal {
                    payload: SignalPayload::Answer { .. },
                    ..
                }
            )
            .then_some(())
        })
        .await
        .unwrap();
    let candidate = SignalPayload::Candidate {
        candidate: id("candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host"),
        sdp_mid: Some(id("0")),
        sdp_m_line_index: Some(0),
    };
    kiosk
        .send(&KioskToBroker::Signal {
            call: call.clone(),
            to: id("omar-csn"),
            payload: candidate.clone(),
        })
        .await
        .unwrap();
    omar.expect("a candidate", |m| {
        matches!(
            m,
            BrokerToDesk::Signal {
                payload: SignalPayload::Candidate { .. },
                ..
            }
        )
        .then_some(())
    })
    .await
    .unwrap();

    // An interpreter joins; the mesh relays between the two desks too.
    let mut amir = desk(&broker, "tolk.amir").await.unwrap();
    available(&mut amir).await;
    omar.send(&DeskToBroker::Invite {
        call: call.clone(),
        target: InviteTarget::Interpreter { language: id("ar") },
    })
    .await
    .unwrap();
    let (interpret, purpose) = offer(&mut amir).await;
    assert_eq!(purpose, OfferPurpose::Interpret { language: id("ar") });
    amir.send(&DeskToBroker::AcceptOffer { offer: interpret })
        .await
        .unwrap();
    let joined = kiosk.expect("the interpreter joined", |m| match m {
        BrokerToKiosk::ParticipantJoined { participant, .. } => Some(participant.role),
        _ => None,
    });
    assert_eq!(joined.await.unwrap(), StaffRoleKind::Interpreter);
    omar.expect("the interpreter joined", |m| {
        matches!(m, BrokerToDesk::ParticipantJoined { .. }).then_some(())
    })
    .await
    .unwrap();
    amir.send(&DeskToBroker::Signal {
        call: call.clone(),
        to: Peer::Staff {
            staff: id("omar-csn"),
        },
        payload: SignalPayload::Offer { sdp: sdp("amir") },
    })
    .await
    .unwrap();
    omar.expect("the interpreter's offer", |m| {
        matches!(
            m,
            BrokerToDesk::Signal {
                from: Peer::Staff { .. },
                ..
            }
        )
        .then_some(())
    })
    .await
    .unwrap();

    // Cold transfer to Skatteverket, whose officer answers.
    let mut maria = desk(&broker, "maria.skatteverket").await.unwrap();
    available(&mut maria).await;
    omar.send(&DeskToBroker::Transfer {
        call: call.clone(),
        agency: id("skatteverket"),
        language: id("sv"),
        mode: TransferMode::Cold,
    })
    .await
    .unwrap();
    omar.expect("the call ended by transfer", |m| {
        matches!(
            m,
            BrokerToDesk::CallEnded {
                outcome: Outcome::Transferred,
                ..
            }
        )
        .then_some(())
    })
    .await
    .unwrap();
    kiosk.expect("transferred", |m| matches!(m, BrokerToKiosk::Transferred { to_agency, .. } if to_agency.as_str() == "skatteverket").then_some(())).await.unwrap();
    let (take_over, _) = offer(&mut maria).await;
    maria
        .send(&DeskToBroker::AcceptOffer { offer: take_over })
        .await
        .unwrap();
    let call2 = maria
        .expect("call started", |m| match m {
            BrokerToDesk::CallStarted { call, .. } => Some(call.clone()),
            _ => None,
        })
        .await
        .unwrap();
    kiosk.expect("the new officer", |m| matches!(m, BrokerToKiosk::CallStarted { officer, .. } if officer.staff.as_str() == "maria-skatteverket").then_some(())).await.unwrap();
    // The old call's peers may no longer signal.
    omar.send(&DeskToBroker::Signal {
        call: call.clone(),
        to: Peer::Kiosk {
            kiosk: id(&identity.kiosk),
        },
        payload: SignalPayload::Offer { sdp: sdp("late") },
    })
    .await
    .unwrap();
    omar.expect("refused", |m| {
        matches!(
            m,
            BrokerToDesk::Error(ErrorReply {
                code: ErrorCode::CallGone,
                ..
            })
        )
        .then_some(())
    })
    .await
    .unwrap();

    // A document noted (count and size only), the end, and the survey.
    kiosk
        .send(&KioskToBroker::DocumentSent {
            visit: visit.clone(),
            to: id("maria-skatteverket"),
            pages: 2,
            bytes: 700_000,
        })
        .await
        .unwrap();
    maria
        .expect("document noted", |m| {
            matches!(m, BrokerToDesk::DocumentNoted { pages: 2, .. }).then_some(())
        })
        .await
        .unwrap();
    maria
        .send(&DeskToBroker::EndCall {
            call: call2,
            outcome: Outcome::Served,
        })
        .await
        .unwrap();
    kiosk
        .expect("visit ended", |m| {
            matches!(
                m,
                BrokerToKiosk::VisitEnded {
                    reason: VisitEndReason::Completed,
                    ..
                }
            )
            .then_some(())
        })
        .await
        .unwrap();
    kiosk
        .send(&KioskToBroker::Survey {
            visit: visit.clone(),
            score: 4,
        })
        .await
        .unwrap();
    kiosk
        .expect("the survey stored", |m| {
            matches!(m, BrokerToKiosk::SurveyReceived { visit: v } if v == &visit).then_some(())
        })
        .await
        .unwrap();

    // The statistics show the visit: one transferred segment at CSN, one served at Skatteverket.
    let base = format!("https://localhost:{}", broker.addr().port());
    let stats = get_json(&admin, &broker, "/api/statistics?groupBy=agency")
        .await
        .unwrap();
    let rows = stats.as_array().unwrap();
    let csn = rows
        .iter()
        .find(|r| r["group"] == "csn")
        .unwrap_or_else(|| panic!("{stats}"));
    let skv = rows
        .iter()
        .find(|r| r["group"] == "skatteverket")
        .unwrap_or_else(|| panic!("{stats}"));
    assert_eq!(
        (csn["visits"].as_u64(), csn["transferred"].as_u64()),
        (Some(1), Some(1)),
        "{stats}"
    );
    assert_eq!(
        (
            skv["visits"].as_u64(),
            skv["served"].as_u64(),
            skv["documents"].as_u64()
        ),
        (Some(1), Some(1), Some(2)),
        "{stats}"
    );
    assert_eq!(skv["surveyAverage"].as_f64(), Some(4.0), "{stats}");
    let csv = get_text(&admin, &broker, "/api/statistics.csv?groupBy=site")
        .await
        .unwrap();
    // Visits, served, ended by the citizen, abandoned, transferred, failed.
    assert!(
        csv.starts_with("group,visits,served,ended_by_citizen,abandoned,transferred,failed,"),
        "{csv}"
    );
    assert!(
        csv.lines().any(|l| l.starts_with("norsjo,2,1,0,0,1,0,")),
        "{csv}"
    );

    // An officer of CSN sees neither Skatteverket's statistics nor its queues.
    let omar_http = http(&broker.cert_path()).unwrap();
    login(&omar_http, broker.addr(), "omar.csn").await.unwrap();
    let forbidden = omar_http
        .get(format!("{base}/api/statistics?agency=skatteverket"))
        .send()
        .await
        .unwrap();
    assert_eq!(forbidden.status(), 403);
    let forbidden = omar_http
        .get(format!("{base}/api/agencies/skatteverket/queues"))
        .send()
        .await
        .unwrap();
    assert_eq!(forbidden.status(), 403);
    assert!(forbidden.text().await.unwrap().contains("own agency"));
    let own = omar_http
        .get(format!("{base}/api/agencies/csn/queues"))
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), 200);

    broker.broker.shutdown().await;
}
