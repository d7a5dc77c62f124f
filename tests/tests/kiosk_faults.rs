//! The kiosk binary when things go wrong: the broker killed mid-call and started again (with
//! the officer back, and without), a wrong enrolment code, a kiosk started before enrolment,
//! bad requests to its local API. Each ends in a clear state, says what was wrong, and loses
//! nothing.

use anyhow::Result;
use nara_tests::bench::process::free_port;
use nara_tests::e2e::{
    enrol_kiosk_process, KioskProcess, OfficerBrowser, BROWSER_PATIENCE, MEDIA_PATIENCE,
};
use nara_tests::harness::{admin, agency_statistics, BrokerEndpoint, BrokerProcess, PATIENCE};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::Path;

const BROKER: &str = env!("CARGO_BIN_EXE_broker-process");
const KIOSK: &str = env!("CARGO_BIN_EXE_kiosk-process");

fn officer_frames(status: &Value) -> u64 {
    status["peers"][0]["received"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["width"].as_u64().unwrap_or(0) > 0)
        .filter_map(|t| t["decoded"].as_u64())
        .max()
        .unwrap_or(0)
}

/// Every file in `dir`, recursively, relative to it.
fn files_in(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(next) = stack.pop() {
        for entry in std::fs::read_dir(&next).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(relative) = path.strip_prefix(dir) {
                found.push(relative.to_string_lossy().to_string());
            }
        }
    }
    found.sort();
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_broker_keeps_the_visit_when_the_officer_does_not_come_back() -> Result<()> {
    let data = tempfile::tempdir()?;
    let broker_dir = data.path().join("broker");
    let listen: SocketAddr = format!("127.0.0.1:{}", free_port()?).parse()?;
    let broker = BrokerProcess::start_at(BROKER.as_ref(), &broker_dir, &[], None, listen).await?;
    let admin = admin(&broker).await?;
    let kiosk_dir = data.path().join("kiosk");
    enrol_kiosk_process(KIOSK.as_ref(), &broker, &admin, "norsjo", &kiosk_dir).await?;
    let kiosk = KioskProcess::start(KIOSK.as_ref(), &kiosk_dir, &[]).await?;
    kiosk
        .wait_for("a connection", PATIENCE, |s| s["connected"] == true)
        .await?;
    let officer = OfficerBrowser::start_available(&broker, "anna.csn", &[]).await?;
    kiosk
        .post("/visit", json!({ "language": "sv", "agency": "csn" }))
        .await?;
    let before = kiosk
        .wait_for("the officer's picture", MEDIA_PATIENCE, |s| {
            officer_frames(s) > 10
        })
        .await?;
    let visit = before["visit"]["visit"].clone();

    broker.kill().await?;
    let outage = kiosk
        .wait_for("the lost broker", PATIENCE, |s| s["connected"] == false)
        .await?;
    assert_eq!(outage["visit"]["phase"], "inCall", "{outage}");
    // Media goes peer to peer: the meeting goes on while the broker is away.
    let frames = officer_frames(&outage);
    kiosk
        .wait_for("pictures during the outage", PATIENCE, |s| {
            officer_frames(s) > frames + 30
        })
        .await?;

    // The broker comes back without the officer, whose browser is gone: once the officer's
    // grace time is over, the visit waits at the front of the queue for the next officer.
    officer.close().await?;
    // The grace is the kiosk's too, and the kiosk's reconnect backoff is at 2-4 s by now: with
    // 3 s, a broker slow to start on a loaded machine saw the kiosk come back too late, and
    // ended the visit as a kiosk gone past its grace (one full run in five).
    let grace = [("NARA_ROUTING__RECONNECT_GRACE_MS", "10000")];
    let _broker =
        BrokerProcess::start_at(BROKER.as_ref(), &broker_dir, &grace, None, listen).await?;
    let back = kiosk
        .wait_for("the visit back in the queue", PATIENCE * 4, |s| {
            s["connected"] == true && s["visit"]["phase"] == "waiting"
        })
        .await?;
    assert_eq!(
        back["visit"]["visit"], visit,
        "the same visit is resumed: {back}"
    );
    assert_eq!(back["visit"]["estimate"]["position"], 1, "{back}");
    assert_eq!(back["peers"], json!([]), "{back}");

    let (status, body) = kiosk.post("/visit/leave", json!({})).await?;
    assert_eq!(status, 204, "{body}");
    let ended = kiosk
        .wait_for("the visit ended", PATIENCE, |s| {
            s["visit"]["phase"] == "ended"
        })
        .await?;
    assert_eq!(ended["peers"], json!([]));
    kiosk.stop().await?;
    Ok(())
}

/// Issue 20's restart in the middle of a meeting: the broker process is killed while the
/// kiosk binary and an officer in Chromium are in a call, and started again on its data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_meeting_goes_on_through_a_killed_broker() {
    let data = tempfile::tempdir().unwrap();
    let broker_dir = data.path().join("broker");
    let address: SocketAddr = format!("127.0.0.1:{}", free_port().unwrap())
        .parse()
        .unwrap();
    let broker = BrokerProcess::start_at(BROKER.as_ref(), &broker_dir, &[], None, address)
        .await
        .unwrap();
    let admin_client = admin(&broker).await.unwrap();
    let kiosk_dir = data.path().join("kiosk");
    enrol_kiosk_process(
        KIOSK.as_ref(),
        &broker,
        &admin_client,
        "rinkeby",
        &kiosk_dir,
    )
    .await
    .unwrap();
    let kiosk = KioskProcess::start(KIOSK.as_ref(), &kiosk_dir, &[])
        .await
        .unwrap();
    kiosk.connected().await.unwrap();
    let mut officer = OfficerBrowser::start_available(&broker, "anna.csn", &[])
        .await
        .unwrap();
    let (status, body) = kiosk
        .post("/visit", json!({ "language": "sv", "agency": "csn" }))
        .await
        .unwrap();
    assert_eq!(status, 204, "{body}");
    let started = officer
        .expect("the call", PATIENCE, |e| e["event"] == "callStarted")
        .await
        .unwrap();
    officer
        .expect("the data channel", MEDIA_PATIENCE, |e| {
            e["event"] == "channelOpen"
        })
        .await
        .unwrap();
    officer.command("chat Före: hej!").await.unwrap();
    kiosk
        .wait_for(
            "media both ways and the first chat line",
            MEDIA_PATIENCE,
            |s| officer_frames(s) > 30 && s["chat"][0]["text"] == "Före: hej!",
        )
        .await
        .unwrap();

    broker.kill().await.unwrap();
    // While there is no broker, the picture keeps coming on both sides.
    let before = officer.fresh_stats().await.unwrap()["framesDecoded"]
        .as_u64()
        .unwrap();
    let kiosk_before = officer_frames(&kiosk.status().await.unwrap());
    officer
        .expect("frames without a broker", MEDIA_PATIENCE, |e| {
            e["event"] == "stats" && e["framesDecoded"].as_u64().unwrap_or(0) > before + 30
        })
        .await
        .unwrap();
    kiosk
        .wait_for("frames without a broker", MEDIA_PATIENCE, |s| {
            s["connected"] == false && officer_frames(s) > kiosk_before + 30
        })
        .await
        .unwrap();

    let broker = BrokerProcess::start_at(BROKER.as_ref(), &broker_dir, &[], None, address)
        .await
        .unwrap();
    // Both come back to the same call.
    officer
        .expect("the desk back", BROWSER_PATIENCE, |e| {
            e["event"] == "reconnected"
        })
        .await
        .unwrap();
    let calls = officer
        .expect_many("the call announced again", PATIENCE, 2, |e| {
            e["event"] == "callStarted"
        })
        .await
        .unwrap();
    assert_eq!(calls[1]["call"], started["call"], "{calls:?}");
    assert_eq!(calls[1]["resumed"], true, "{calls:?}");
    kiosk
        .wait_for("the kiosk back in the call", PATIENCE, |s| {
            assert_ne!(
                s["visit"]["phase"], "waiting",
                "the visit was queued again: {s}"
            );
            s["connected"] == true && s["visit"]["phase"] == "inCall"
        })
        .await
        .unwrap();

    // Chat goes on, and what was said before is still there.
    officer
        .command("chat Efter: nu är vi tillbaka.")
        .await
        .unwrap();
    let (status, body) = kiosk
        .post("/chat", json!({ "text": "Bra, tack." }))
        .await
        .unwrap();
    assert_eq!(status, 204, "{body}");
    officer
        .expect("the citizen's line after", PATIENCE, |e| {
            e["event"] == "chat" && e["text"] == "Bra, tack."
        })
        .await
        .unwrap();
    let chat = kiosk
        .wait_for("both lines at the kiosk", PATIENCE, |s| {
            s["chat"].as_array().is_some_and(|lines| {
                lines
                    .iter()
                    .any(|l| l["text"] == "Efter: nu är vi tillbaka.")
            })
        })
        .await
        .unwrap();
    let lines: Vec<&str> = chat["chat"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["text"].as_str())
        .collect();
    assert_eq!(lines.first(), Some(&"Före: hej!"), "{chat}");
    assert!(lines.contains(&"Bra, tack."), "{chat}");

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
    // One offer in all (the visit was not queued again), one visit, one call.
    let offers = officer
        .expect_many("the offer", PATIENCE, 1, |e| e["event"] == "offer")
        .await
        .unwrap();
    assert_eq!(offers.len(), 1, "{offers:?}");
    let admin_client = admin(&broker).await.unwrap();
    let csn = agency_statistics(&admin_client, &broker, "csn")
        .await
        .unwrap();
    assert_eq!(
        (csn["visits"].as_u64(), csn["served"].as_u64()),
        (Some(1), Some(1)),
        "{csn}"
    );
    officer.close().await.unwrap();
    kiosk.stop().await.unwrap();
    broker.kill().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kiosk_says_what_is_wrong_and_keeps_nothing_of_a_visit() -> Result<()> {
    let data = tempfile::tempdir()?;
    let broker = BrokerProcess::start(BROKER.as_ref(), &data.path().join("broker")).await?;
    let kiosk_dir = data.path().join("kiosk");

    // Started before enrolment: it says how to enrol.
    let output = tokio::process::Command::new(KIOSK)
        .args(["run", "--headless", "--test-sources", "--data-dir"])
        .arg(&kiosk_dir)
        .output()
        .await?;
    assert!(!output.status.success());
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("enrol this kiosk first"), "{said}");

    // A wrong code is refused in the broker's words, and nothing is left behind.
    let output = tokio::process::Command::new(KIOSK)
        .args(["enrol", "--code", "WRONGCODE", "--broker"])
        .arg(format!("https://localhost:{}", broker.addr().port()))
        .arg("--broker-ca")
        .arg(broker.cert_path())
        .arg("--data-dir")
        .arg(&kiosk_dir)
        .output()
        .await?;
    assert!(!output.status.success());
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("unknown, used or expired"), "{said}");
    assert!(
        files_in(&kiosk_dir).is_empty(),
        "{:?}",
        files_in(&kiosk_dir)
    );

    let admin = admin(&broker).await?;
    enrol_kiosk_process(KIOSK.as_ref(), &broker, &admin, "rosengard", &kiosk_dir).await?;
    let identity = files_in(&kiosk_dir);
    let key = kiosk_dir.join("kiosk-key.pem");
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&key)?.permissions());
    assert_eq!(mode & 0o777, 0o600, "the private key is the kiosk's alone");

    let kiosk = KioskProcess::start(KIOSK.as_ref(), &kiosk_dir, &[]).await?;
    kiosk
        .wait_for("a connection", PATIENCE, |s| s["connected"] == true)
        .await?;
    for (body, expected) in [
        (
            json!({}),
            "give either a bookingCode, or a language and an agency",
        ),
        (json!({ "language": "svenska", "agency": "csn" }), "ISO 639"),
        (
            json!({ "bookingCode": "0000" }),
            "booking code must be 8 characters",
        ),
        (
            json!({ "language": "sv", "agency": "csn", "extra": 1 }),
            "unknown field",
        ),
    ] {
        let (status, answer) = kiosk.post("/visit", body.clone()).await?;
        assert_eq!(status, 400, "{body} → {answer}");
        let message = answer["error"].as_str().unwrap_or_default();
        assert!(message.contains(expected), "{body} → {message}");
    }
    let (status, answer) = kiosk.post("/visit/survey", json!({ "score": 4 })).await?;
    assert_eq!(status, 409, "no visit to rate: {answer}");

    // A visit with chat refused (nobody to chat with) and the citizen leaving the queue.
    kiosk
        .post(
            "/visit",
            json!({ "language": "sv", "agency": "skatteverket" }),
        )
        .await?;
    kiosk
        .wait_for("the queue", PATIENCE, |s| s["visit"]["phase"] == "waiting")
        .await?;
    let (status, answer) = kiosk.post("/chat", json!({ "text": "Hallå?" })).await?;
    assert_eq!(status, 409, "{answer}");
    assert!(answer["error"]
        .as_str()
        .unwrap_or_default()
        .contains("no officer"));
    kiosk.post("/visit/leave", json!({})).await?;
    kiosk
        .wait_for("the visit ended", PATIENCE, |s| {
            s["visit"]["phase"] == "ended"
        })
        .await?;
    kiosk.stop().await?;
    assert_eq!(
        files_in(&kiosk_dir),
        identity,
        "a visit writes nothing to the kiosk's data directory"
    );
    Ok(())
}
