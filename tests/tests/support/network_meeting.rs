//! A meeting between a kiosk behind a network of its own (a namespace, `KioskNetwork`) and an
//! officer on this side, for the tests of bad networks (`kiosk_network`) and firewalls
//! (`kiosk_firewall`). Each test file compiles this module and uses part of it.
#![allow(dead_code)]

use nara_tests::e2e::{enrol_kiosk_process_via, KioskProcess, OfficerBrowser, MEDIA_PATIENCE};
use nara_tests::harness::{admin, BrokerEndpoint, BrokerProcess, PATIENCE};
use nara_tests::netns::KioskNetwork;
use serde_json::{json, Value};
use std::time::Duration;

pub const BROKER: &str = env!("CARGO_BIN_EXE_broker-process");
pub const KIOSK: &str = env!("CARGO_BIN_EXE_kiosk-process");
pub const IMPAIRED_LINK: &str = env!("CARGO_BIN_EXE_impaired-link");

/// The officer's video and voice as the kiosk decoded them: (video frames, audio buffers,
/// the last break the video had, in ms).
pub fn kiosk_decoded(status: &Value) -> (u64, u64, Option<u64>) {
    let mut frames = 0;
    let mut audio = 0;
    let mut video_break = None;
    for track in status["peers"][0]["received"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if track["width"].as_u64().unwrap_or(0) > 0 {
            frames = track["decoded"].as_u64().unwrap_or(0);
            video_break = track["lastBreakMs"].as_u64();
        } else if track["peakDecibelsX10"].is_number() {
            audio = track["decoded"].as_u64().unwrap_or(0);
        }
    }
    (frames, audio, video_break)
}

/// A meeting under way between a kiosk behind `network` and an officer on this side: both
/// already decode the other's video.
pub struct Meeting {
    pub _data: tempfile::TempDir,
    pub _broker: BrokerProcess,
    pub kiosk: KioskProcess,
    pub officer: OfficerBrowser,
    /// The kiosk's status once it saw the officer.
    pub in_call: Value,
    /// The officer's statistics once the kiosk's video played.
    pub officer_saw: Value,
}

/// A broker on every address, with a certificate for the address the kiosk reaches it on.
pub async fn broker_for(
    network: &KioskNetwork,
    env: &[(&str, &str)],
) -> (tempfile::TempDir, BrokerProcess) {
    let data = tempfile::tempdir().unwrap();
    let names = format!("[\"{}\"]", network.near);
    let mut env = env.to_vec();
    env.push(("NARA_TLS__SELF_SIGNED_NAMES", &names));
    let broker = BrokerProcess::start_at(
        BROKER.as_ref(),
        &data.path().join("broker"),
        &env,
        None,
        "0.0.0.0:0".parse().unwrap(),
    )
    .await
    .unwrap();
    (data, broker)
}

pub async fn meeting_behind(network: &KioskNetwork) -> Meeting {
    let (data, broker) = broker_for(network, &[]).await;
    meeting_through(network, data, broker).await
}

/// Enrols a kiosk behind `network` with `broker` and starts a meeting with an officer.
pub async fn meeting_through(
    network: &KioskNetwork,
    data: tempfile::TempDir,
    broker: BrokerProcess,
) -> Meeting {
    let admin = admin(&broker).await.unwrap();
    let kiosk_dir = data.path().join("kiosk");
    let base = format!("https://{}:{}", network.near, broker.addr().port());
    enrol_kiosk_process_via(
        KIOSK.as_ref(),
        &broker,
        &base,
        &admin,
        "rinkeby",
        &kiosk_dir,
    )
    .await
    .unwrap();
    let kiosk = KioskProcess::start_in(KIOSK.as_ref(), &kiosk_dir, &[], Some(network))
        .await
        .unwrap();
    kiosk.connected().await.unwrap();

    let mut officer = OfficerBrowser::start_available(&broker, "anna.csn", &[])
        .await
        .unwrap();
    let (officer_saw, in_call) = visit_answered(&kiosk, &mut officer, MEDIA_PATIENCE).await;
    Meeting {
        _data: data,
        _broker: broker,
        kiosk,
        officer,
        in_call,
        officer_saw,
    }
}

/// The citizen at `kiosk` asks for CSN in Swedish and the available `officer` is put through:
/// the officer's statistics once the kiosk's video plays, and the kiosk's status once the
/// officer's does, each within `patience`.
pub async fn visit_answered(
    kiosk: &KioskProcess,
    officer: &mut OfficerBrowser,
    patience: Duration,
) -> (Value, Value) {
    let (status, body) = kiosk
        .post("/visit", json!({ "language": "sv", "agency": "csn" }))
        .await
        .unwrap();
    assert_eq!(status, 204, "{body}");
    officer
        .expect("the call", PATIENCE, |e| e["event"] == "callStarted")
        .await
        .unwrap();
    let officer_saw = officer
        .expect("the kiosk's video", patience, |e| {
            e["event"] == "stats" && e["framesDecoded"].as_u64().unwrap_or(0) > 30
        })
        .await
        .unwrap_or_else(|e| panic!("{e:#}\nkiosk log:\n{}", kiosk.log()));
    let in_call = kiosk
        .wait_for("the officer's video", patience, |s| kiosk_decoded(s).0 > 30)
        .await
        .unwrap();
    (officer_saw, in_call)
}

/// The officer ends the meeting; both sides see it end and the kiosk stops cleanly.
pub async fn end(kiosk: KioskProcess, mut officer: OfficerBrowser) {
    officer.command("end").await.unwrap();
    officer
        .expect("the end of the call", PATIENCE, |e| {
            e["event"] == "callEnded"
        })
        .await
        .unwrap();
    kiosk
        .wait_for("the end of the visit", PATIENCE, |s| {
            s["visit"]["phase"] == "ended"
        })
        .await
        .unwrap();
    officer.close().await.unwrap();
    let exit = kiosk.stop().await.unwrap();
    assert!(exit.success(), "the kiosk did not stop cleanly: {exit}");
}

/// The officer's browser sends to the TURN server's relay on this side, not to the kiosk. Its
/// candidate type is "relay", or "prflx" when the relay's first check arrived before the kiosk's
/// trickled relay candidate did; the address is the relay's either way.
pub fn assert_relayed(officer_saw: &Value, network: &KioskNetwork) {
    let kind = officer_saw["remoteCandidateType"]
        .as_str()
        .unwrap_or_default();
    assert!(kind == "relay" || kind == "prflx", "{officer_saw}");
    assert_eq!(
        officer_saw["remoteAddress"],
        network.near.to_string(),
        "{officer_saw}"
    );
}
