//! A whole meeting with real processes: the broker, the kiosk binary (headless, GStreamer test
//! sources) and an officer in headless Chromium with its fake camera. Each side must decode
//! the other's picture and hear the other's voice, chat must pass both ways, and the call
//! must end cleanly on both sides.

use anyhow::Result;
use nara_tests::coturn::Coturn;
use nara_tests::e2e::{
    begin_call, decodes_video, end_call, enrol_kiosk_process, KioskProcess, OfficerBrowser,
    BROWSER_PATIENCE, MEDIA_PATIENCE,
};
use nara_tests::harness::{admin, get_json, BrokerProcess, PATIENCE};
use serde_json::{json, Value};

const BROKER: &str = env!("CARGO_BIN_EXE_broker-process");
const KIOSK: &str = env!("CARGO_BIN_EXE_kiosk-process");

/// The officer's video and voice as the kiosk decoded them.
fn kiosk_decoded(status: &Value) -> (u64, u64) {
    let received = &status["peers"][0]["received"];
    let mut frames = 0;
    let mut audio = 0;
    for track in received.as_array().into_iter().flatten() {
        if track["width"].as_u64().unwrap_or(0) > 0 {
            frames = frames.max(track["decoded"].as_u64().unwrap_or(0));
        } else if track["peakDecibelsX10"].is_number() {
            audio = audio.max(track["decoded"].as_u64().unwrap_or(0));
        }
    }
    (frames, audio)
}

/// The kiosk's latest heartbeat as the administrator sees it, once `matches` holds for it.
async fn last_heartbeat(
    admin: &reqwest::Client,
    broker: &BrokerProcess,
    kiosk: &str,
    matches: impl Fn(&Value) -> bool,
) -> Result<Value> {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let mut ticks = tokio::time::interval(std::time::Duration::from_millis(250));
    loop {
        ticks.tick().await;
        let view = get_json(admin, broker, &format!("/api/admin/kiosks/{kiosk}")).await?;
        let heartbeat = &view["lastHeartbeat"];
        if matches(heartbeat) {
            return Ok(heartbeat.clone());
        }
        if tokio::time::Instant::now() > deadline {
            anyhow::bail!("the kiosk never reported such a heartbeat; the last: {heartbeat}");
        }
    }
}

/// How the media must travel in a test.
struct Route<'a> {
    broker_env: &'a [(&'a str, &'a str)],
    kiosk_flags: &'a [&'a str],
    officer_flags: &'a [&'a str],
    /// The officer's selected local candidate: `host` for direct, `relay` through TURN.
    candidate: &'a str,
}

const DIRECT: Route = Route {
    broker_env: &[],
    kiosk_flags: &[],
    officer_flags: &[],
    candidate: "host",
};

async fn a_whole_meeting(route: Route<'_>) -> Result<()> {
    let data = tempfile::tempdir()?;
    // A heartbeat a second, to see what the kiosk reports during the call and after it.
    let mut env = route.broker_env.to_vec();
    env.push(("NARA_FLEET__HEARTBEAT_SECONDS", "1"));
    let broker =
        BrokerProcess::start_with(BROKER.as_ref(), &data.path().join("broker"), &env, None).await?;
    let admin = admin(&broker).await?;
    let kiosk_dir = data.path().join("kiosk");
    enrol_kiosk_process(KIOSK.as_ref(), &broker, &admin, "rinkeby", &kiosk_dir).await?;
    let kiosk = KioskProcess::start(KIOSK.as_ref(), &kiosk_dir, route.kiosk_flags).await?;
    kiosk.connected().await?;

    let mut officer =
        OfficerBrowser::start_available(&broker, "anna.csn", route.officer_flags).await?;

    let (status, body) = kiosk
        .post("/visit", json!({ "language": "sv", "agency": "csn" }))
        .await?;
    assert_eq!(status, 204, "{body}");
    officer
        .expect("the call", PATIENCE, |e| e["event"] == "callStarted")
        .await?;

    // The officer's browser decodes the kiosk's picture and hears its tone.
    let stats = officer
        .expect("the kiosk's video and audio", MEDIA_PATIENCE, |e| {
            e["event"] == "stats"
                && e["framesDecoded"].as_u64().unwrap_or(0) > 30
                && e["audioSamples"].as_u64().unwrap_or(0) > 48_000
                && e["audioEnergy"].as_f64().unwrap_or(0.0) > 0.0
        })
        .await
        .map_err(|e| anyhow::anyhow!("{e:#}\nkiosk log:\n{}", kiosk.log()))?;
    assert!(stats["frameWidth"].as_u64().unwrap_or(0) >= 320, "{stats}");
    assert_eq!(stats["candidateType"], route.candidate, "{stats}");

    // The kiosk decodes the officer's fake camera and hears the fake microphone's beeps.
    let seen = kiosk
        .wait_for("the officer's video and audio", MEDIA_PATIENCE, |s| {
            let (frames, audio) = kiosk_decoded(s);
            frames > 30 && audio > 50
        })
        .await?;
    assert_eq!(seen["visit"]["phase"], "inCall", "{seen}");
    assert_eq!(seen["peers"][0]["displayName"], "Anna Lind", "{seen}");

    // Chat both ways over the data channel.
    officer
        .expect("the data channel", PATIENCE, |e| {
            e["event"] == "channelOpen"
        })
        .await?;
    officer
        .command("chat Hej! Vad kan jag hjälpa dig med?")
        .await?;
    kiosk
        .wait_for("the officer's chat line", PATIENCE, |s| {
            s["chat"][0]["text"] == "Hej! Vad kan jag hjälpa dig med?"
        })
        .await?;
    let (status, body) = kiosk
        .post(
            "/chat",
            json!({ "text": "Jag har fått ett brev om studiemedel." }),
        )
        .await?;
    assert_eq!(status, 204, "{body}");
    officer
        .expect("the citizen's chat line", PATIENCE, |e| {
            e["event"] == "chat" && e["text"] == "Jag har fått ett brev om studiemedel."
        })
        .await?;

    // The kiosk reports the call's network to the administrator while it lasts.
    let id = kiosk.status().await?["kiosk"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let during = last_heartbeat(&admin, &broker, &id, |h| {
        h["activity"] == "inCall" && h["network"]["rttMs"].is_number()
    })
    .await?;
    assert!(
        during["network"]["bitrateKbps"].as_u64() > Some(0),
        "{during}"
    );

    // The officer ends; both sides see it end, and the kiosk holds nothing of the meeting.
    officer.command("end").await?;
    officer
        .expect("the end of the call", PATIENCE, |e| {
            e["event"] == "callEnded"
        })
        .await?;
    let ended = kiosk
        .wait_for("the end of the visit", PATIENCE, |s| {
            s["visit"]["phase"] == "ended"
        })
        .await?;
    assert_eq!(ended["peers"], json!([]), "{ended}");
    assert_eq!(ended["chat"], json!([]), "{ended}");
    let (status, body) = kiosk.post("/visit/survey", json!({ "score": 5 })).await?;
    assert_eq!(status, 204, "{body}");
    // Once it is over, the call's network figures are no longer reported as current.
    last_heartbeat(&admin, &broker, &id, |h| {
        h["activity"] == "idle" && h["network"].is_null()
    })
    .await?;

    officer.close().await?;
    let exit = kiosk.stop().await?;
    assert!(exit.success(), "the kiosk did not stop cleanly: {exit}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kiosk_and_officer_meet_directly() {
    a_whole_meeting(DIRECT).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kiosk_and_officer_meet_through_the_embedded_turn_server_only() {
    a_whole_meeting(Route {
        // Both relays are on loopback, which the embedded server refuses unless allowed.
        broker_env: &[("NARA_TURN__EMBEDDED__ALLOWED_PEERS", "[\"127.0.0.0/8\"]")],
        kiosk_flags: &["--relay-only"],
        officer_flags: &["--relay-only"],
        candidate: "relay",
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kiosk_and_officer_meet_through_coturn_only() {
    const SECRET: &str = "coturn-test-secret";
    let port = nara_tests::bench::process::free_port().unwrap();
    let coturn = Coturn::start(port, SECRET).unwrap();
    let urls = format!("{:?}", coturn.urls());
    a_whole_meeting(Route {
        broker_env: &[
            ("NARA_TURN__URLS", &urls),
            ("NARA_TURN__SHARED_SECRET", SECRET),
            ("NARA_TURN__EMBEDDED__ENABLED", "false"),
        ],
        kiosk_flags: &["--relay-only"],
        officer_flags: &["--relay-only"],
        candidate: "relay",
    })
    .await
    .unwrap();
}

/// A meeting of three (the kiosk, an officer and an interpreter the officer invites) is a mesh:
/// each of the three decodes the other two. Three such meetings in a row, because taking a
/// second desk's receivers out of the running pipeline once crashed the kiosk at the end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interpreter_joins_and_everyone_sees_everyone() {
    let data = tempfile::tempdir().unwrap();
    let broker = BrokerProcess::start(BROKER.as_ref(), &data.path().join("broker"))
        .await
        .unwrap();
    let admin = admin(&broker).await.unwrap();
    let kiosk_dir = data.path().join("kiosk");
    enrol_kiosk_process(KIOSK.as_ref(), &broker, &admin, "rinkeby", &kiosk_dir)
        .await
        .unwrap();
    let kiosk = KioskProcess::start(KIOSK.as_ref(), &kiosk_dir, &[])
        .await
        .unwrap();
    kiosk.connected().await.unwrap();
    let mut officer = OfficerBrowser::start(&broker, "anna.csn", &[])
        .await
        .unwrap();
    let mut interpreter = OfficerBrowser::start(&broker, "tolk.amir", &[])
        .await
        .unwrap();
    for desk in [&mut officer, &mut interpreter] {
        desk.expect("going available", BROWSER_PATIENCE, |e| {
            e["event"] == "available"
        })
        .await
        .unwrap();
    }
    let first_frame =
        |from: &'static str| move |e: &Value| e["event"] == "firstFrame" && e["from"] == from;
    for meeting in 1..=3 {
        begin_call(&kiosk, &mut officer).await.unwrap();
        officer
            .expect("the kiosk's picture", MEDIA_PATIENCE, first_frame("kiosk"))
            .await
            .unwrap();
        officer.command("invite ar").await.unwrap();
        interpreter.seen.clear();
        interpreter
            .expect("the interpreter's offer", PATIENCE, |e| {
                e["event"] == "offer" && e["purpose"] == "interpret"
            })
            .await
            .unwrap();
        interpreter
            .expect("the kiosk's picture", MEDIA_PATIENCE, first_frame("kiosk"))
            .await
            .unwrap();
        interpreter
            .expect(
                "the officer's picture",
                MEDIA_PATIENCE,
                first_frame("anna-csn"),
            )
            .await
            .unwrap();
        officer
            .expect(
                "the interpreter's picture",
                MEDIA_PATIENCE,
                first_frame("tolk-amir"),
            )
            .await
            .unwrap();
        let both = kiosk
            .wait_for("both desks' pictures", MEDIA_PATIENCE, |s| {
                let peers = s["peers"].as_array().cloned().unwrap_or_default();
                peers.len() == 2 && peers.iter().all(decodes_video)
            })
            .await
            .unwrap_or_else(|e| panic!("meeting {meeting}: {e:#}"));
        let names: Vec<&str> = both["peers"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| p["displayName"].as_str())
            .collect();
        assert!(names.contains(&"Anna Lind"), "{names:?}");
        assert!(names.contains(&"Amir Haddad (tolk)"), "{names:?}");
        end_call(&kiosk, &mut officer, std::iter::once(&mut interpreter))
            .await
            .unwrap_or_else(|e| panic!("meeting {meeting}: {e:#}\nkiosk log:\n{}", kiosk.log()));
        let after = kiosk.status().await.unwrap();
        assert_eq!(after["peers"], json!([]), "{after}");
    }
    officer.close().await.unwrap();
    interpreter.close().await.unwrap();
    let exit = kiosk.stop().await.unwrap();
    assert!(exit.success(), "the kiosk did not stop cleanly: {exit}");
}
