//! Every agency in every language, with real processes: a citizen at the kiosk binary asks
//! Skatteverket in Tigrinya, which none of its officers speaks. The broker rings an officer
//! and a Tigrinya interpreter (both in headless Chromium) together; the one who answers
//! first waits for the other, and the meeting starts with both: the kiosk decodes both
//! pictures and names both, and the officer and the interpreter see each other.

use nara_tests::e2e::{connected_kiosk, decodes_video, OfficerBrowser, MEDIA_PATIENCE};
use nara_tests::harness::{BrokerProcess, PATIENCE};
use serde_json::Value;

const BROKER: &str = env!("CARGO_BIN_EXE_broker-process");
const KIOSK: &str = env!("CARGO_BIN_EXE_kiosk-process");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tigrinya_visit_brings_the_officer_and_an_interpreter_together() {
    let data = tempfile::tempdir().unwrap();
    let broker = BrokerProcess::start(BROKER.as_ref(), &data.path().join("broker"))
        .await
        .unwrap();
    let kiosk = connected_kiosk(KIOSK.as_ref(), &broker, &data.path().join("kiosk"), &[])
        .await
        .unwrap();
    // Maria Berg speaks Swedish and English; Selam Haile interprets Tigrinya.
    let answer_by_command = ["--answer-by-command"];
    let mut officer =
        OfficerBrowser::start_available(&broker, "maria.skatteverket", &answer_by_command)
            .await
            .unwrap();
    let mut interpreter =
        OfficerBrowser::start_available(&broker, "tolk.selam", &answer_by_command)
            .await
            .unwrap();

    let (status, body) = kiosk
        .post(
            "/visit",
            serde_json::json!({ "language": "ti", "agency": "skatteverket" }),
        )
        .await
        .unwrap();
    assert_eq!(status, 204, "the kiosk did not start a visit: {body}");

    // Both desks ring on one call.
    let offer = officer
        .expect("the officer's offer", PATIENCE, |e| e["event"] == "offer")
        .await
        .unwrap();
    assert_eq!(offer["purpose"], "answerWithInterpreter", "{offer}");
    let interpreting = interpreter
        .expect("the interpreter's offer", PATIENCE, |e| {
            e["event"] == "offer"
        })
        .await
        .unwrap();
    assert_eq!(interpreting["purpose"], "interpret", "{interpreting}");
    assert_eq!(offer["call"], interpreting["call"]);

    // The interpreter answers first and is held: no call yet, for anyone.
    interpreter.command("answer").await.unwrap();
    interpreter
        .expect("being held for the officer", PATIENCE, |e| {
            e["event"] == "offerHeld"
        })
        .await
        .unwrap();
    let waiting = kiosk.status().await.unwrap();
    assert_ne!(waiting["visit"]["phase"], "inCall", "{waiting}");

    // The officer answers: the meeting starts with both.
    officer.command("answer").await.unwrap();
    let started = officer
        .expect("the call", PATIENCE, |e| e["event"] == "callStarted")
        .await
        .unwrap();
    assert_eq!(started["call"], offer["call"]);
    interpreter
        .expect("the call", PATIENCE, |e| e["event"] == "callStarted")
        .await
        .unwrap();
    let first_frame =
        |from: &'static str| move |e: &Value| e["event"] == "firstFrame" && e["from"] == from;
    officer
        .expect(
            "the citizen's picture",
            MEDIA_PATIENCE,
            first_frame("kiosk"),
        )
        .await
        .unwrap();
    officer
        .expect(
            "the interpreter's picture",
            MEDIA_PATIENCE,
            first_frame("tolk-selam"),
        )
        .await
        .unwrap();
    interpreter
        .expect(
            "the citizen's picture",
            MEDIA_PATIENCE,
            first_frame("kiosk"),
        )
        .await
        .unwrap();
    interpreter
        .expect(
            "the officer's picture",
            MEDIA_PATIENCE,
            first_frame("maria-skatteverket"),
        )
        .await
        .unwrap();

    // The kiosk decodes both, and knows each by name and role, the officer first.
    let both = kiosk
        .wait_for("both desks' pictures", MEDIA_PATIENCE, |s| {
            let peers = s["peers"].as_array().cloned().unwrap_or_default();
            peers.len() == 2 && peers.iter().all(decodes_video)
        })
        .await
        .unwrap();
    let people: Vec<(&str, &str)> = both["visit"]["participants"]
        .as_array()
        .expect("the meeting's participants")
        .iter()
        .map(|p| {
            (
                p["displayName"].as_str().unwrap_or_default(),
                p["role"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        people,
        [
            ("Maria Berg", "officer"),
            ("Selam Haile (tolk)", "interpreter")
        ],
        "{both}"
    );

    officer.command("end").await.unwrap();
    kiosk
        .wait_for("the end of the visit", PATIENCE, |s| {
            s["visit"]["phase"] == "ended"
        })
        .await
        .unwrap();
    officer.close().await.unwrap();
    interpreter.close().await.unwrap();
    let exit = kiosk.stop().await.unwrap();
    assert!(exit.success(), "the kiosk did not stop cleanly: {exit}");
}
