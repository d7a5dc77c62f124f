//! `document-transfer`: an A4 page scanned in colour at 300 dpi goes from the kiosk to the
//! officer's browser over an office link: the kiosk in a network namespace of its own, its link
//! shaped to 20 Mbit/s each way (`tc tbf`) with 20 ms each way (40 ms round trip, through
//! `impaired-link`), while the call's video runs. Per round: from the citizen pressing send
//! (the kiosk's local API) to the page shown in the officer's browser, whole and its SHA-256
//! checked; and the officer's video frame rate over that time.
//!
//! The page is SANE's `test` backend's grid (black lines on white, like a letter: about
//! 370 kB as the kiosk compresses it); its colour test pattern, a worst case of sharp colour
//! edges everywhere (about 2.4 MB, compressed harder than a letter), is timed too.
//!
//! Needs root (namespaces, TUN devices), as the network fault tests do.

use super::process::sibling_binary;
use super::{median, Figures};
use crate::e2e::{
    begin_call, enrol_kiosk_process_via, sane_test_backend, KioskProcess, OfficerBrowser,
    MEDIA_PATIENCE, SCAN_PATIENCE,
};
use crate::harness::{admin, BrokerEndpoint, BrokerProcess, PATIENCE};
use crate::netns::KioskNetwork;
use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone)]
pub struct DocumentBench {
    pub rounds: usize,
}

impl Default for DocumentBench {
    fn default() -> Self {
        DocumentBench { rounds: 10 }
    }
}

const LINK_MBIT: u32 = 20;
const DELAY_EACH_WAY_MS: u32 = 20;

/// SANE's test backend on an A4 bed with `picture` loaded.
fn sane_with(picture: &str) -> String {
    format!("geometry_max 300.0\nbr_x 210.0\nbr_y 297.0\ntest-picture \"{picture}\"\n")
}

struct Round {
    shown_ms: f64,
    fps: f64,
    bytes: u64,
}

pub fn run(bench: &DocumentBench) -> Result<Figures> {
    super::runtime()?.block_on(async {
        let mut figures = Figures::default();
        let letter = rounds_with("Grid", bench.rounds).await?;
        let photo = rounds_with("Color pattern", bench.rounds.div_ceil(2)).await?;
        let summary = |name: &str, rounds: &[Round]| {
            println!(
                "{name}: {} kB; shown after median {:.0} ms (min {:.0}, max {:.0}); video {:.1} fps",
                rounds.first().map(|r| r.bytes / 1000).unwrap_or(0),
                median(rounds.iter().map(|r| r.shown_ms).collect()),
                rounds.iter().map(|r| r.shown_ms).fold(f64::INFINITY, f64::min),
                rounds.iter().map(|r| r.shown_ms).fold(0.0, f64::max),
                median(rounds.iter().map(|r| r.fps).collect()),
            );
        };
        summary("letter-like page (grid)", &letter);
        summary("colour test pattern (worst case)", &photo);
        figures.against_target(
            "document-transfer.a4-colour-20mbit",
            median(letter.iter().map(|r| r.shown_ms).collect()),
            1500.0,
            "ms",
        );
        figures.against_target(
            "document-transfer.fps-during",
            median(letter.iter().map(|r| r.fps).collect()),
            20.0,
            "fps",
        );
        figures.against_target(
            "document-transfer.a4-colour-pattern-20mbit",
            median(photo.iter().map(|r| r.shown_ms).collect()),
            1500.0,
            "ms",
        );
        Ok(figures)
    })
}

fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or(0.0)
}

/// A meeting through a shaped link, and `rounds` pages of `picture` sent in it.
async fn rounds_with(picture: &str, rounds: usize) -> Result<Vec<Round>> {
    // The kiosk (and its scanner helper) inherit this.
    std::env::set_var("SANE_CONFIG_DIR", sane_test_backend(&sane_with(picture))?);
    let mut network = KioskNetwork::create(&sibling_binary("impaired-link")?)?;
    let data = tempfile::tempdir()?;
    let names = format!("[\"{}\"]", network.near);
    let broker = BrokerProcess::start_at(
        &sibling_binary("broker-process")?,
        &data.path().join("broker"),
        &[("NARA_TLS__SELF_SIGNED_NAMES", &names)],
        None,
        "0.0.0.0:0".parse()?,
    )
    .await?;
    let admin = admin(&broker).await?;
    let kiosk_dir = data.path().join("kiosk");
    let base = format!("https://{}:{}", network.near, broker.addr().port());
    let kiosk_binary = sibling_binary("kiosk-process")?;
    enrol_kiosk_process_via(&kiosk_binary, &broker, &base, &admin, "rinkeby", &kiosk_dir).await?;
    let kiosk = KioskProcess::start_in(&kiosk_binary, &kiosk_dir, &[], Some(&network)).await?;
    kiosk.connected().await?;
    let mut officer = OfficerBrowser::start_available(&broker, "anna.csn", &[]).await?;
    network.shape(LINK_MBIT)?;
    network.impair(DELAY_EACH_WAY_MS, 0.0)?;
    begin_call(&kiosk, &mut officer).await?;
    officer
        .expect("the data channel", MEDIA_PATIENCE, |e| {
            e["event"] == "channelOpen"
        })
        .await?;
    // Let the video ramp up to what the link carries before timing anything.
    tokio::time::sleep(Duration::from_secs(5)).await;

    let mut results = Vec::new();
    for round in 1..=rounds {
        let result = one_page(&kiosk, &mut officer)
            .await
            .with_context(|| format!("round {round} with the {picture}"))?;
        println!(
            "{picture} round {round}: {} kB shown after {:.0} ms; video {:.1} fps",
            result.bytes / 1000,
            result.shown_ms,
            result.fps
        );
        results.push(result);
    }
    officer.close().await?;
    kiosk.stop().await?;
    Ok(results)
}

fn frames_at(stats: &Value) -> (f64, f64) {
    (
        stats["at"].as_f64().unwrap_or(0.0),
        stats["framesDecoded"].as_f64().unwrap_or(0.0),
    )
}

async fn one_page(kiosk: &KioskProcess, officer: &mut OfficerBrowser) -> Result<Round> {
    let (status, body) = kiosk.post("/document/scan", json!({})).await?;
    if status != 204 {
        bail!("the kiosk did not scan ({status}): {body}");
    }
    let scanned = kiosk
        .wait_for("the scanned page", SCAN_PATIENCE, |s| {
            s["document"]["scanning"] == false
        })
        .await?;
    let bytes = scanned["document"]["pages"][0]["bytes"]
        .as_u64()
        .with_context(|| format!("no page: {}", scanned["document"]))?;
    let before = frames_at(&officer.fresh_stats().await?);
    officer.seen.retain(|e| e["event"] != "page");
    let pressed = now_ms();
    let (status, body) = kiosk.post("/document/send", json!({})).await?;
    if status != 204 {
        bail!("the kiosk did not send ({status}): {body}");
    }
    let shown = officer
        .expect("the page", MEDIA_PATIENCE, |e| {
            e["event"] == "page" || e["event"] == "documentFailed"
        })
        .await?;
    if shown["event"] != "page" {
        bail!("the document failed: {shown}");
    }
    let shown_ms = shown["at"].as_f64().unwrap_or(0.0) - pressed;
    let after = frames_at(&officer.fresh_stats().await?);
    let fps = (after.1 - before.1) / ((after.0 - before.0) / 1000.0).max(0.001);
    kiosk
        .wait_for("the delivery", PATIENCE, |s| {
            s["document"]["deliveredTo"].is_string()
        })
        .await?;
    Ok(Round {
        shown_ms,
        fps,
        bytes,
    })
}
