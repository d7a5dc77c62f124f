//! A kiosk on a bad network: the kiosk binary runs in a network namespace of its own, behind a
//! link that delays and loses packets (`impaired-link`, standing in for `tc netem`, which this
//! kernel lacks), with the broker and an officer in headless Chromium on this side.
//!
//! - With 5 % loss and 100 ms delay each way, the call keeps its voice and at least 20 frames a
//!   second of video, both ways.
//! - When the kiosk's network device goes down for 10 s and comes back, media flows again in
//!   the same call (no new queue entry, no new ring), and the kiosk reports how long it broke.
//! - When the cable stays out past the reconnect grace time while a citizen waits, the broker
//!   ends the visit; back, the kiosk is told so and shows the start screen.
//!
//! Behind a firewall that lets no UDP through: `kiosk_firewall`.
//!
//! Needs root, as CI and the development machines have.

use nara_tests::e2e::{enrol_kiosk_process_via, KioskProcess, SCAN_PATIENCE};
use nara_tests::harness::{admin, agency_statistics, get_json, get_text, BrokerEndpoint, PATIENCE};
use nara_tests::netns::KioskNetwork;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

#[path = "support/network_meeting.rs"]
mod network_meeting;

use network_meeting::*;

/// How long the kiosk's link stays down.
const OUTAGE: Duration = Duration::from_secs(10);
/// How long after the link comes back media must flow again.
const RECOVERY_PATIENCE: Duration = Duration::from_secs(20);
/// The window over which frame and sample rates are measured.
const WINDOW: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kiosk_without_a_default_route_still_calls() {
    // No multicast route for mDNS: the kiosk calls without it.
    let network = KioskNetwork::create(IMPAIRED_LINK.as_ref()).unwrap();
    network.remove_default_route().unwrap();
    let meeting = meeting_behind(&network).await;
    assert_eq!(meeting.in_call["visit"]["phase"], "inCall");
    end(meeting.kiosk, meeting.officer).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_survives_loss_delay_and_a_dropped_link() {
    let mut network = KioskNetwork::create(IMPAIRED_LINK.as_ref()).unwrap();
    let Meeting {
        _data,
        _broker,
        kiosk,
        mut officer,
        in_call,
        ..
    } = meeting_behind(&network).await;
    let visit = in_call["visit"]["visit"].clone();

    // 5 % loss and 100 ms delay each way.
    network.impair(100, 5.0).unwrap();
    let before_officer = officer.fresh_stats().await.unwrap();
    let before_kiosk = kiosk.status().await.unwrap();
    let started = Instant::now();
    tokio::time::sleep(WINDOW).await;
    let after_officer = officer.fresh_stats().await.unwrap();
    let after_kiosk = kiosk.status().await.unwrap();
    let seconds = started.elapsed().as_secs_f64();
    let officer_seconds =
        (after_officer["at"].as_f64().unwrap() - before_officer["at"].as_f64().unwrap()) / 1000.0;
    let delta = |key: &str| {
        after_officer[key].as_f64().unwrap_or(0.0) - before_officer[key].as_f64().unwrap_or(0.0)
    };
    let officer_fps = delta("framesDecoded") / officer_seconds;
    let officer_audio = delta("audioSamples") / officer_seconds;
    let concealed = delta("concealedSamples") / delta("audioSamples").max(1.0);
    let (kiosk_frames_0, kiosk_audio_0, _) = kiosk_decoded(&before_kiosk);
    let (kiosk_frames_1, kiosk_audio_1, _) = kiosk_decoded(&after_kiosk);
    let kiosk_fps = (kiosk_frames_1 - kiosk_frames_0) as f64 / seconds;
    let kiosk_audio = (kiosk_audio_1 - kiosk_audio_0) as f64 / seconds;
    eprintln!(
        "5 % loss, 100 ms delay: officer sees {officer_fps:.1} fps and hears {officer_audio:.0} samples/s \
         ({:.1} % concealed); the kiosk sees {kiosk_fps:.1} fps and decodes {kiosk_audio:.0} voice buffers/s",
        concealed * 100.0
    );
    eprintln!(
        "the kiosk measures its path as {}; the officer's browser sends {}",
        after_kiosk["peers"][0]["network"], after_officer["sending"]
    );
    assert!(officer_fps >= 20.0, "the officer saw {officer_fps:.1} fps");
    assert!(kiosk_fps >= 20.0, "the kiosk saw {kiosk_fps:.1} fps");
    // 48 kHz voice, 20 ms buffers: at least nine tenths of it arrives and plays.
    assert!(
        officer_audio >= 0.9 * 48_000.0,
        "{officer_audio:.0} samples/s"
    );
    assert!(concealed < 0.15, "{:.1} % concealed", concealed * 100.0);
    assert!(
        kiosk_audio >= 0.9 * 50.0,
        "{kiosk_audio:.1} voice buffers/s"
    );

    // The kiosk's cable is pulled for ten seconds.
    network.impair(0, 0.0).unwrap();
    let frames_before = kiosk_decoded(&kiosk.status().await.unwrap()).0;
    network.kiosk_link(false).unwrap();
    tokio::time::sleep(OUTAGE).await;
    network.kiosk_link(true).unwrap();
    let back = Instant::now();
    let resumed = kiosk
        .wait_for(
            "the officer's video again",
            RECOVERY_PATIENCE,
            |s| matches!(kiosk_decoded(s), (frames, _, Some(_)) if frames > frames_before + 30),
        )
        .await
        .unwrap();
    let kiosk_back_after = back.elapsed();
    let officer_frames = officer.fresh_stats().await.unwrap()["framesDecoded"]
        .as_u64()
        .unwrap();
    officer
        .expect("the kiosk's video again", RECOVERY_PATIENCE, |e| {
            e["event"] == "stats" && e["framesDecoded"].as_u64().unwrap_or(0) > officer_frames + 30
        })
        .await
        .unwrap();
    let reported = kiosk_decoded(&resumed).2.unwrap();
    eprintln!(
        "after a {OUTAGE:?} outage the kiosk saw the officer again {:.1} s after the link came back; \
         it reports a break of {:.1} s",
        kiosk_back_after.as_secs_f64(),
        reported as f64 / 1000.0
    );
    // The kiosk times the break by decoded frames, each held in its jitter buffer for a
    // moment; a frame or two either side of the outage is within that.
    assert!(
        reported + 300 >= OUTAGE.as_millis() as u64,
        "the kiosk reports a break of {reported} ms\nkiosk log:\n{}",
        kiosk.log()
    );
    // Same visit, still in the call; the officer was never rung again and nobody queued.
    assert_eq!(resumed["visit"]["phase"], "inCall", "{resumed}");
    assert_eq!(resumed["visit"]["visit"], visit, "{resumed}");
    let calls = officer.seen.iter().filter(|e| e["event"] == "callStarted");
    assert_eq!(calls.count(), 1, "the officer's call started again");
    let offers = officer.seen.iter().filter(|e| e["event"] == "offer");
    assert_eq!(offers.count(), 1, "the officer was rung again");
    let since_call = officer
        .seen
        .iter()
        .skip_while(|e| e["event"] != "callStarted");
    let requeued = since_call
        .filter(|e| e["event"] == "queues" && e["waiting"].as_u64() > Some(0))
        .count();
    assert_eq!(requeued, 0, "the visit went back into the queue");
    assert!(!officer.seen.iter().any(|e| e["event"] == "callEnded"));

    end(kiosk, officer).await;
}

/// A document on its way when the kiosk's cable is pulled: the link is shaped to 20 Mbit/s, so
/// two colour pages take seconds, and the cable comes out halfway. Afterwards the officer has
/// the whole document, every page matching its SHA-256, or is told it failed; never part of it
/// shown as whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_cut_off_by_a_pulled_cable_arrives_whole_or_is_said_to_fail() {
    let mut network = KioskNetwork::create(IMPAIRED_LINK.as_ref()).unwrap();
    let Meeting {
        _data,
        _broker,
        kiosk,
        mut officer,
        ..
    } = meeting_behind(&network).await;
    network.shape(20).unwrap();
    network.impair(20, 0.0).unwrap();
    officer
        .expect("the data channel", PATIENCE, |e| {
            e["event"] == "channelOpen"
        })
        .await
        .unwrap();
    kiosk
        .wait_for("the kiosk's channel", PATIENCE, |s| {
            s["peers"][0]["channelOpen"] == true
        })
        .await
        .unwrap();
    let mut hashes = Vec::new();
    for pages in 1..=2 {
        let (status, body) = kiosk.post("/document/scan", json!({})).await.unwrap();
        assert_eq!(status, 204, "{body}");
        kiosk
            .wait_for("a scanned page", SCAN_PATIENCE, |s| {
                s["document"]["pages"].as_array().map(Vec::len) == Some(pages)
            })
            .await
            .unwrap();
        let (_, jpeg) = kiosk
            .get_bytes(&format!("/document/pages/{}", pages - 1))
            .await
            .unwrap();
        hashes.push(format!(
            "{:x}",
            <sha2::Sha256 as sha2::Digest>::digest(&jpeg)
        ));
    }
    let (status, body) = kiosk.post("/document/send", json!({})).await.unwrap();
    assert_eq!(status, 204, "{body}");
    kiosk
        .wait_for("a first megabyte sent", PATIENCE, |s| {
            s["document"]["sending"]["sentBytes"].as_u64().unwrap_or(0) > 1_000_000
        })
        .await
        .unwrap();
    network.kiosk_link(false).unwrap();
    tokio::time::sleep(OUTAGE).await;
    network.kiosk_link(true).unwrap();

    let ending = officer
        .expect("the document's end", Duration::from_secs(90), |e| {
            e["event"] == "documentComplete" || e["event"] == "documentFailed"
        })
        .await
        .unwrap_or_else(|e| panic!("{e:#}\nkiosk log:\n{}", kiosk.log()));
    let shown: Vec<&Value> = officer
        .seen
        .iter()
        .filter(|e| e["event"] == "page")
        .collect();
    for page in &shown {
        let index = page["page"].as_u64().unwrap() as usize;
        assert_eq!(
            page["sha256"].as_str(),
            Some(hashes[index].as_str()),
            "{page}"
        );
    }
    if ending["event"] == "documentComplete" {
        eprintln!("the document resumed after the outage and arrived whole");
        assert_eq!(shown.len(), 2, "{shown:?}");
        kiosk
            .wait_for("the delivery", PATIENCE, |s| {
                s["document"]["deliveredTo"] == "anna-csn"
            })
            .await
            .unwrap();
    } else {
        eprintln!("the document failed clearly: {ending}");
        let told = kiosk
            .wait_for("the citizen told", RECOVERY_PATIENCE, |s| {
                s["document"]["problem"].is_string()
            })
            .await
            .unwrap();
        // The pages stay, so that the citizen can send them again.
        assert_eq!(told["document"]["pages"].as_array().map(Vec::len), Some(2));
        assert!(!officer
            .seen
            .iter()
            .any(|e| e["event"] == "documentComplete"));
    }
    end(kiosk, officer).await;
}

/// A kiosk that comes back late: its cable is pulled while a citizen waits in the queue (no
/// officer is on) and stays out past the reconnect grace time, so the broker ends the visit,
/// connection lost. With the cable back, the kiosk names the visit in its hello, is told it
/// ended, and shows the start screen (idle: no survey for a meeting that never was); nothing
/// of the visit waits in the queue.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kiosk_back_after_the_grace_time_finds_its_visit_ended_and_shows_the_start_screen() {
    let network = KioskNetwork::create(IMPAIRED_LINK.as_ref()).unwrap();
    // A heartbeat a second: three missed and the broker lets the kiosk go; three seconds
    // later it gives the visit up.
    let (data, broker) = broker_for(
        &network,
        &[
            ("NARA_FLEET__HEARTBEAT_SECONDS", "1"),
            ("NARA_FLEET__OFFLINE_AFTER_MISSED", "3"),
            ("NARA_ROUTING__RECONNECT_GRACE_MS", "3000"),
        ],
    )
    .await;
    let admin = admin(&broker).await.unwrap();
    let kiosk_dir = data.path().join("kiosk");
    let base = format!("https://{}:{}", network.near, broker.addr().port());
    enrol_kiosk_process_via(KIOSK.as_ref(), &broker, &base, &admin, "norsjo", &kiosk_dir)
        .await
        .unwrap();
    let kiosk = KioskProcess::start_in(KIOSK.as_ref(), &kiosk_dir, &[], Some(&network))
        .await
        .unwrap();
    kiosk.connected().await.unwrap();
    // The visits waiting in CSN's queues, as an administrator sees them.
    let waiting_at_csn = |queues: &Value| -> Vec<Value> {
        queues
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|q| q["waiting"].as_array().into_iter().flatten())
            .map(|w| w["visit"].clone())
            .collect()
    };

    let (status, body) = kiosk
        .post("/visit", json!({ "language": "sv", "agency": "csn" }))
        .await
        .unwrap();
    assert_eq!(status, 204, "{body}");
    let waiting = kiosk
        .wait_for("the queue", PATIENCE, |s| s["visit"]["phase"] == "waiting")
        .await
        .unwrap();
    let visit = waiting["visit"]["visit"].clone();
    let queues = get_json(&admin, &broker, "/api/agencies/csn/queues")
        .await
        .unwrap();
    assert_eq!(
        waiting_at_csn(&queues),
        std::slice::from_ref(&visit),
        "{queues}"
    );

    // The cable is pulled, and stays out until the broker has ended the visit.
    network.kiosk_link(false).unwrap();
    let deadline = Instant::now() + PATIENCE * 3;
    let mut ticks = tokio::time::interval(Duration::from_millis(250));
    let csn = loop {
        ticks.tick().await;
        let metrics = get_text(&admin, &broker, "/metrics").await.unwrap();
        let lost = metrics.contains("reason=\"connectionLost\"");
        // CSN has no row of statistics until a visit of its has ended.
        match agency_statistics(&admin, &broker, "csn").await.ok() {
            Some(csn) if lost && csn["abandoned"] == 1 => break csn,
            csn => assert!(
                Instant::now() < deadline,
                "the broker never ended visit {visit}; CSN's statistics: {csn:?}\n\
                 metrics:\n{metrics}\nbroker log:\n{}",
                broker.log()
            ),
        }
    };
    assert_eq!(
        (csn["visits"].as_u64(), csn["served"].as_u64()),
        (Some(1), Some(0)),
        "{csn}"
    );

    // Back, the kiosk names the visit in its hello and is told it is over.
    network.kiosk_link(true).unwrap();
    let back = kiosk
        .wait_for(
            "the kiosk back and told its visit ended",
            Duration::from_secs(60),
            |s| s["connected"] == true && s["visit"]["phase"] != "waiting",
        )
        .await
        .unwrap();
    assert_eq!(
        back["visit"]["phase"], "idle",
        "the citizen does not see the start screen: {back}"
    );
    assert_eq!(back["peers"], json!([]), "{back}");
    let queues = get_json(&admin, &broker, "/api/agencies/csn/queues")
        .await
        .unwrap();
    assert!(
        waiting_at_csn(&queues).is_empty(),
        "a visit waits: {queues}"
    );

    let exit = kiosk.stop().await.unwrap();
    assert!(exit.success(), "the kiosk did not stop cleanly: {exit}");
}
