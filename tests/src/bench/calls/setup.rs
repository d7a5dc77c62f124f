//! `call-setup`: how soon the officer and the citizen see each other.
//!
//! Each call of the run is two calls:
//! - **Answered a second after it rang**, as a quick officer would. The kiosk and the officer's
//!   browser connected while it rang; what is timed is the answer (the officer's click, in the
//!   browser's clock) to the first decoded picture: the citizen's at the officer, and the
//!   officer's at the kiosk. The peer is a Chromium-to-Chromium call through the same broker
//!   that connects only on the answer, as browsers' call apps do: an interpreter's browser
//!   answers an invitation, then offers to the officer's, and is timed from its answer to its
//!   first picture of the officer.
//! - **Answered as it rings**, so that the connection is made on the answer: from the offer's
//!   arrival in the officer's browser to its first decoded frame. Ours: the kiosk's offer.
//!   Peer: the interpreter's browser's offer, in the same call, timed the same way in the same
//!   browser.
//!
//! Then the same answered-after-a-second calls with the officer and the interpreter behind an
//! agency's proxy ([`crate::agency`]): media through the embedded TURN server over TLS.

use super::{invite_interpreter, percentile, start, CallBench, CallFigure, Stage};
use crate::agency::{AgencyOffice, TurnOverTls};
use crate::bench::process::sibling_binary;
use crate::bench::{median, Figures, RatioTarget};
use crate::e2e::{begin_call, end_call, OfficerBrowser, MEDIA_PATIENCE};
use crate::harness::PATIENCE;
use anyhow::{anyhow, bail, Result};
use serde_json::{json, Value};
use std::time::Duration;

/// How long the officer takes to answer once it rings: quicker than most people.
const OFFICER_REACTION: Duration = Duration::from_secs(1);

/// The figures of one kind of round, call after call.
#[derive(Default)]
struct Series {
    /// Answer → the citizen's first picture at the officer.
    officer_sees: Vec<f64>,
    /// Answer → the officer's first picture at the kiosk.
    kiosk_sees: Vec<f64>,
    /// The browser call: the interpreter's answer → its first picture of the officer.
    browser_sees: Vec<f64>,
    /// Offer → first frame, connecting on the answer: the kiosk's, and the browser's.
    kiosk_first_frame: Vec<f64>,
    browser_first_frame: Vec<f64>,
}

pub(super) async fn run(bench: &CallBench, figures: &mut Figures) -> Result<()> {
    let mut loopback = Series::default();
    let mut stage = start(CallFigure::Setup, "vp8").await?;
    for call in 1..=bench.calls {
        let (officer_sees, kiosk_sees) = answered_after_a_second(&mut stage).await?;
        let (kiosk_first, browser_first, browser_sees) = answered_as_it_rings(&mut stage).await?;
        println!(
            "call {call}: answer → officer sees the citizen {officer_sees:.0} ms, kiosk sees the officer {kiosk_sees:.0} ms; \
             browser call: answer → picture {browser_sees:.0} ms; \
             offer → first frame: kiosk's {kiosk_first:.0} ms, browser's {browser_first:.0} ms"
        );
        loopback.officer_sees.push(officer_sees);
        loopback.kiosk_sees.push(kiosk_sees);
        loopback.browser_sees.push(browser_sees);
        loopback.kiosk_first_frame.push(kiosk_first);
        loopback.browser_first_frame.push(browser_first);
    }
    stage.finish().await;

    let mut firewalled = Series::default();
    let mut stage = start_behind_agency_proxy().await?;
    for call in 1..=bench.calls {
        let (officer_sees, kiosk_sees) = answered_after_a_second(&mut stage).await?;
        let browser_sees = browser_call(&mut stage).await?;
        println!(
            "behind the agency's proxy, call {call}: answer → officer sees the citizen {officer_sees:.0} ms, \
             kiosk sees the officer {kiosk_sees:.0} ms; browser call: answer → picture {browser_sees:.0} ms"
        );
        firewalled.officer_sees.push(officer_sees);
        firewalled.kiosk_sees.push(kiosk_sees);
        firewalled.browser_sees.push(browser_sees);
    }
    stage.finish().await;

    for (what, values) in [
        ("answer → officer sees the citizen", &loopback.officer_sees),
        ("answer → kiosk sees the officer", &loopback.kiosk_sees),
        ("browser call, answer → picture", &loopback.browser_sees),
        ("kiosk's offer → first frame", &loopback.kiosk_first_frame),
        (
            "browser's offer → first frame",
            &loopback.browser_first_frame,
        ),
        (
            "behind the proxy, answer → officer sees the citizen",
            &firewalled.officer_sees,
        ),
        (
            "behind the proxy, answer → kiosk sees the officer",
            &firewalled.kiosk_sees,
        ),
        (
            "behind the proxy, browser call, answer → picture",
            &firewalled.browser_sees,
        ),
    ] {
        print_spread(what, values);
    }
    println!("targets: answer → picture p95 at most 100 ms at the officer, 150 ms at the kiosk");
    figures.against_peer_and_target(
        "call-setup.answer-to-picture-p95",
        percentile(&loopback.officer_sees, 95.0),
        percentile(&loopback.browser_sees, 95.0),
        "ms",
        RatioTarget::AtMost(0.3),
    );
    figures.against_target(
        "call-setup.answer-to-picture-kiosk-p95",
        percentile(&loopback.kiosk_sees, 95.0),
        150.0,
        "ms",
    );
    figures.against_peer(
        "call-setup.answer-to-picture-firewalled-p95",
        percentile(&firewalled.officer_sees, 95.0),
        percentile(&firewalled.browser_sees, 95.0),
        "ms",
    );
    figures.against_peer(
        "call-setup.first-frame-p50",
        median(loopback.kiosk_first_frame.clone()),
        median(loopback.browser_first_frame.clone()),
        "ms",
    );
    figures.against_peer_and_target(
        "call-setup.first-frame-p95",
        percentile(&loopback.kiosk_first_frame, 95.0),
        percentile(&loopback.browser_first_frame, 95.0),
        "ms",
        RatioTarget::AtMost(1.0),
    );
    Ok(())
}

/// The stage of `call-setup` with the officer and the interpreter at agency desktops whose
/// only way out is the agency's proxy; the kiosk on this side.
async fn start_behind_agency_proxy() -> Result<Stage> {
    let office = AgencyOffice::start(
        &sibling_binary("broker-process")?,
        &sibling_binary("impaired-link")?,
        TurnOverTls::Embedded,
        &[
            ("NARA_LIMITS__MESSAGES_PER_SECOND", "500"),
            ("NARA_LIMITS__MESSAGE_BURST", "1000"),
        ],
    )
    .await?;
    let kiosk = office.kiosk(&sibling_binary("kiosk-process")?, &[]).await?;
    let officer = office.officer("anna.csn", &[]).await?;
    let interpreter = office.officer("tolk.amir", &[]).await?;
    Ok(Stage {
        kiosk,
        officer_browser_pid: officer.pid(),
        officer,
        interpreter: Some(interpreter),
        _holds: Box::new(office),
    })
}

/// A visit whose offer the officer answers a second after it rang. Returns the times from the
/// answer to the first picture each way: (at the officer, at the kiosk).
async fn answered_after_a_second(stage: &mut Stage) -> Result<(f64, f64)> {
    let (kiosk, officer) = (&stage.kiosk, &mut stage.officer);
    officer.seen.clear();
    answer_by(officer, "command").await?;
    let (status, body) = kiosk
        .post("/visit", json!({ "language": "sv", "agency": "csn" }))
        .await?;
    if status != 204 {
        bail!("the kiosk did not start a visit ({status}): {body}");
    }
    officer
        .expect("the offer", PATIENCE, |e| e["event"] == "offer")
        .await?;
    tokio::time::sleep(OFFICER_REACTION).await;
    let rang = kiosk.status().await?;
    let ready = rang["ringing"][0]["connected"] == true;
    officer.command("answer").await?;
    let answered_at = officer
        .expect("the answer", PATIENCE, |e| e["event"] == "answered")
        .await?["at"]
        .as_f64()
        .ok_or_else(|| anyhow!("an answer without its time"))?;
    let first = officer
        .expect("the citizen's first picture", MEDIA_PATIENCE, |e| {
            e["event"] == "firstFrame" && e["from"] == "kiosk"
        })
        .await?;
    let officer_sees = first["sinceAnswer"]
        .as_f64()
        .ok_or_else(|| anyhow!("a first picture with no answer before it: {first}"))?;
    let status = kiosk
        .wait_for("the officer's picture at the kiosk", MEDIA_PATIENCE, |s| {
            kiosk_first_picture(s).is_some()
        })
        .await?;
    let kiosk_sees = kiosk_first_picture(&status).unwrap_or(f64::NAN) - answered_at;
    if !ready {
        println!("  (the connection made while it rang was not up after {OFFICER_REACTION:?})");
    }
    end_call(kiosk, officer, std::iter::empty()).await?;
    answer_by(officer, "offer").await?;
    Ok((officer_sees, kiosk_sees))
}

/// The officer answers offers on `answer` (`command`) or as they ring (`offer`) from now on.
async fn answer_by(officer: &mut OfficerBrowser, mode: &str) -> Result<()> {
    officer.seen.retain(|e| e["event"] != "answerBy");
    officer.command(&format!("answerBy {mode}")).await?;
    officer
        .expect("the answer mode", PATIENCE, |e| {
            e["event"] == "answerBy" && e["mode"] == mode
        })
        .await?;
    Ok(())
}

/// When the kiosk decoded the officer's first picture, Unix ms.
fn kiosk_first_picture(status: &Value) -> Option<f64> {
    status["peers"][0]["received"]
        .as_array()?
        .iter()
        .filter(|track| track["width"].as_u64().unwrap_or(0) > 0)
        .find_map(|track| track["firstDecodedUnixMs"].as_f64())
}

/// A visit the officer answers as it rings, then an interpreter invited into it. Returns the
/// offer-to-first-frame times of the kiosk's connection and of the interpreter's browser's,
/// and the interpreter's answer to its first picture of the officer.
async fn answered_as_it_rings(stage: &mut Stage) -> Result<(f64, f64, f64)> {
    begin_call(&stage.kiosk, &mut stage.officer).await?;
    let kiosk = stage
        .officer
        .expect("the kiosk's first frame", MEDIA_PATIENCE, |e| {
            e["event"] == "firstFrame" && e["from"] == "kiosk"
        })
        .await?;
    let browser_sees = interpreter_sees_the_officer(stage).await?;
    let browser = stage
        .officer
        .expect("the interpreter's first frame", MEDIA_PATIENCE, |e| {
            e["event"] == "firstFrame" && e["from"] == "tolk-amir"
        })
        .await?;
    let times = (
        first_frame_ms(&kiosk)?,
        first_frame_ms(&browser)?,
        browser_sees,
    );
    for from in ["kiosk", "tolk-amir"] {
        println!("  {from}: {}", milestones(&stage.officer.seen, from));
    }
    end_call(
        &stage.kiosk,
        &mut stage.officer,
        stage.interpreter.iter_mut(),
    )
    .await?;
    Ok(times)
}

/// The browser call alone: a visit the officer answers as it rings, then an interpreter's
/// browser that answers its invitation and connects to the officer's. Its answer to its first
/// picture of the officer.
async fn browser_call(stage: &mut Stage) -> Result<f64> {
    begin_call(&stage.kiosk, &mut stage.officer).await?;
    let browser_sees = interpreter_sees_the_officer(stage).await?;
    end_call(
        &stage.kiosk,
        &mut stage.officer,
        stage.interpreter.iter_mut(),
    )
    .await?;
    Ok(browser_sees)
}

/// The officer invites the interpreter, whose browser answers at once and connects to the
/// officer's on the answer. From that answer to its first picture of the officer.
async fn interpreter_sees_the_officer(stage: &mut Stage) -> Result<f64> {
    let interpreter = invite_interpreter(stage).await?;
    let first = interpreter
        .expect("the officer's first picture", MEDIA_PATIENCE, |e| {
            e["event"] == "firstFrame" && e["from"] == "anna-csn"
        })
        .await?;
    first["sinceAnswer"]
        .as_f64()
        .ok_or_else(|| anyhow!("the interpreter saw the officer before answering: {first}"))
}

fn print_spread(what: &str, values: &[f64]) {
    println!(
        "{what}: min {:.0} ms, p50 {:.0} ms, p95 {:.0} ms, max {:.0} ms over {} calls",
        percentile(values, 0.0),
        percentile(values, 50.0),
        percentile(values, 95.0),
        percentile(values, 100.0),
        values.len()
    );
}

fn first_frame_ms(event: &Value) -> Result<f64> {
    event["ms"]
        .as_f64()
        .ok_or_else(|| anyhow!("a first frame without its offer time: {event}"))
}

/// When, after the offer arrived, the connection from `from` passed ICE and DTLS.
fn milestones(seen: &[Value], from: &str) -> String {
    let at = |key: &str, state: &str| {
        seen.iter()
            .find(|e| e["event"] == "connection" && e["from"] == from && e[key] == state)
            .and_then(|e| e["ms"].as_u64())
            .map_or("?".to_string(), |ms| format!("{ms} ms"))
    };
    format!(
        "ICE connected {}, DTLS connected {}",
        at("ice", "connected"),
        at("state", "connected")
    )
}
