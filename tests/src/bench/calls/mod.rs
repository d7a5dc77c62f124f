//! The call benchmarks, over real calls between the kiosk binary (headless, test sources) and
//! officers in headless Chromium, through one broker on loopback:
//!
//! - `call-setup` ([`setup`]): how soon people see each other. From the answer to the first
//!   decoded picture, at the officer and at the kiosk, with the connection made while it rang;
//!   and from the offer's arrival in the answering browser to its first decoded frame, with
//!   the connection made on the answer. The peer is a Chromium-to-Chromium call through the
//!   same broker.
//! - `capture-to-display`: pictures that turn white on each whole second of the wall clock
//!   (the kiosk's marker source, a canvas in the browsers); the receiver notes how far past
//!   the second it first shows (browsers) or decodes (the kiosk, headless) the turn. Ours:
//!   kiosk → officer and officer → kiosk; peer: the officer's and interpreter's browsers.
//! - `kiosk-cpu`: the kiosk process's CPU while it sends and receives 720p at 30 fps to one
//!   officer, next to the officer's browser (all its processes) doing the same; with VP8,
//!   the kiosk's default, then with H.264.

mod setup;

use super::process::{cpu_seconds, sibling_binary, tree_cpu_seconds};
use super::{median, Figures};
use crate::e2e::{
    begin_call, end_call, enrol_kiosk_process, KioskProcess, OfficerBrowser, BROWSER_PATIENCE,
    MEDIA_PATIENCE,
};
use crate::harness::{admin, BrokerProcess};
use anyhow::{anyhow, bail, Result};
use serde_json::Value;
use std::time::{Duration, Instant};

/// How long a browser may take to raise its bitrate to 720p (its estimate starts low).
const RAMP_PATIENCE: Duration = Duration::from_secs(60);

#[derive(Debug, Clone)]
pub struct CallBench {
    pub calls: usize,
    /// How long the CPU is measured in each call of `kiosk-cpu`.
    pub cpu_window: Duration,
}

impl Default for CallBench {
    fn default() -> Self {
        CallBench {
            calls: 20,
            cpu_window: Duration::from_secs(10),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallFigure {
    Setup,
    Cpu,
    Latency,
}

/// Marks per direction and call for `capture-to-display` (one a second), after the first
/// two, which fall while the picture settles.
const MARKS_PER_CALL: usize = 5;
const MARKS_SKIPPED: usize = 2;

/// Everything a round of calls needs, started once.
struct Stage {
    /// What keeps the stage's broker running, dropped with it: a broker of its own on
    /// loopback, or one serving an agency's network ([`crate::agency`]).
    _holds: Box<dyn std::any::Any + Send>,
    kiosk: KioskProcess,
    officer: OfficerBrowser,
    officer_browser_pid: Option<u32>,
    interpreter: Option<OfficerBrowser>,
}

pub fn run(bench: &CallBench, figure: CallFigure) -> Result<Figures> {
    super::runtime()?.block_on(async {
        let mut figures = Figures::default();
        match figure {
            CallFigure::Setup => setup::run(bench, &mut figures).await?,
            CallFigure::Cpu => {
                // VP8, the kiosk's default, then H.264 (x264 here; a hardware encoder where
                // the kiosk has one).
                for (codec, line) in [
                    ("vp8", "kiosk-cpu.cores-720p30"),
                    ("h264", "kiosk-cpu.cores-720p30-h264"),
                ] {
                    let mut stage = start(figure, codec).await?;
                    let mut ours = Vec::new();
                    let mut peer = Vec::new();
                    for call in 1..=bench.calls {
                        let (kiosk, browser) = cpu_round(&mut stage, bench.cpu_window).await?;
                        println!(
                            "{codec} call {call}: kiosk {kiosk:.3} cores, officer's Chromium {browser:.3} cores"
                        );
                        ours.push(kiosk);
                        peer.push(browser);
                    }
                    let (ours, peer) = (median(ours), median(peer));
                    println!(
                        "{codec}: the officer's Chromium, sending and receiving the same: {peer:.3} cores"
                    );
                    figures.against_target(line, ours, 0.5, "cores");
                    stage.finish().await;
                }
            }
            CallFigure::Latency => {
                let mut stage = start(figure, "vp8").await?;
                let mut directions: [Vec<f64>; 4] = Default::default();
                for call in 1..=bench.calls {
                    let marks = latency_round(&mut stage).await?;
                    for (all, these) in directions.iter_mut().zip(marks) {
                        all.extend(these);
                    }
                    println!("call {call}: {} marks each way", MARKS_PER_CALL - MARKS_SKIPPED);
                }
                let names = [
                    "kiosk → officer",
                    "officer → kiosk",
                    "browser → browser",
                    "browser ← browser",
                ];
                for (name, marks) in names.iter().zip(&directions) {
                    println!(
                        "{name}: p50 {:.0} ms, p95 {:.0} ms over {} marks",
                        percentile(marks, 50.0),
                        percentile(marks, 95.0),
                        marks.len()
                    );
                }
                let ours: Vec<f64> = directions[..2].concat();
                let peer: Vec<f64> = directions[2..].concat();
                println!("target: a p95 of at most 60 ms each way on loopback");
                figures.against_peer(
                    "capture-to-display.p95",
                    percentile(&ours, 95.0),
                    percentile(&peer, 95.0),
                    "ms",
                );
                stage.finish().await;
            }
        }
        Ok(figures)
    })
}

impl Stage {
    async fn finish(mut self) {
        self.officer.close().await.ok();
        if let Some(interpreter) = self.interpreter.take() {
            interpreter.close().await.ok();
        }
        self.kiosk.stop().await.ok();
    }
}

async fn start(figure: CallFigure, codec: &str) -> Result<Stage> {
    let broker_binary = sibling_binary("broker-process")?;
    let kiosk_binary = sibling_binary("kiosk-process")?;
    let data = tempfile::tempdir()?;
    // Calls back to back trickle more candidates a second than an officer ever would.
    let limits = [
        ("NARA_LIMITS__MESSAGES_PER_SECOND", "500"),
        ("NARA_LIMITS__MESSAGE_BURST", "1000"),
    ];
    let broker =
        BrokerProcess::start_with(&broker_binary, &data.path().join("broker"), &limits, None)
            .await?;
    let admin = admin(&broker).await?;
    let kiosk_dir = data.path().join("kiosk");
    enrol_kiosk_process(&kiosk_binary, &broker, &admin, "rinkeby", &kiosk_dir).await?;
    let mut flags = Vec::new();
    let config = data.path().join("kiosk.toml");
    if figure == CallFigure::Latency {
        std::fs::write(&config, "[media]\nsource = { kind = \"marker\" }\n")?;
        flags.extend(["--config", config.to_str().unwrap_or_default()]);
    }
    if figure == CallFigure::Cpu {
        // Start at 720p: the test pattern compresses so well that no estimate would ask for it.
        std::fs::write(
            &config,
            format!("[media]\nstart-bitrate-kbps = 2500\ncodec = \"{codec}\"\n"),
        )?;
        flags.extend(["--config", config.to_str().unwrap_or_default()]);
    }
    let kiosk = KioskProcess::start(&kiosk_binary, &kiosk_dir, &flags).await?;
    kiosk.connected().await?;
    let camera: &[&str] = match figure {
        CallFigure::Cpu => &["--video", "1280x720"],
        CallFigure::Setup => &[],
        CallFigure::Latency => &["--marker"],
    };
    let mut officer = OfficerBrowser::start(&broker, "anna.csn", camera).await?;
    let officer_browser_pid = officer.pid();
    officer
        .expect("going available", BROWSER_PATIENCE, |e| {
            e["event"] == "available"
        })
        .await?;
    let interpreter = match figure {
        CallFigure::Setup | CallFigure::Latency => {
            let interpreter = OfficerBrowser::start_available(&broker, "tolk.amir", camera).await?;
            Some(interpreter)
        }
        CallFigure::Cpu => None,
    };
    Ok(Stage {
        _holds: Box::new((data, broker)),
        kiosk,
        officer,
        officer_browser_pid,
        interpreter,
    })
}

/// One call at 720p both ways: CPU seconds per second of the kiosk and of the officer's
/// browser over `window`.
async fn cpu_round(stage: &mut Stage, window: Duration) -> Result<(f64, f64)> {
    begin_call(&stage.kiosk, &mut stage.officer).await?;
    let kiosk_pid = stage
        .kiosk
        .pid()
        .ok_or_else(|| anyhow!("the kiosk exited"))?;
    let browser_pid = stage
        .officer_browser_pid
        .ok_or_else(|| anyhow!("the officer's browser has no pid"))?;
    stage
        .officer
        .expect("the kiosk's 720p", RAMP_PATIENCE, |e| {
            e["event"] == "stats" && e["frameWidth"].as_u64() == Some(1280)
        })
        .await?;
    stage
        .kiosk
        .wait_for("the officer's 720p", RAMP_PATIENCE, |s| {
            s["peers"][0]["received"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|track| track["width"].as_u64() == Some(1280))
        })
        .await?;
    let started = Instant::now();
    // The driver (node) is the browser's parent; only Chromium's processes are counted.
    let chromium =
        || -> Result<f64> { Ok(tree_cpu_seconds(browser_pid)? - cpu_seconds(browser_pid)?) };
    let (kiosk_before, browser_before) = (cpu_seconds(kiosk_pid)?, chromium()?);
    tokio::time::sleep(window).await;
    let seconds = started.elapsed().as_secs_f64();
    let kiosk = (cpu_seconds(kiosk_pid)? - kiosk_before) / seconds;
    let browser = (chromium()? - browser_before) / seconds;
    let fresh = stage.officer.fresh_stats().await?;
    if fresh["frameWidth"].as_u64() != Some(1280) {
        bail!("the officer no longer received 720p: {fresh}");
    }
    end_call(
        &stage.kiosk,
        &mut stage.officer,
        stage.interpreter.iter_mut(),
    )
    .await?;
    Ok((kiosk, browser))
}

/// The `p`th percentile (nearest rank) of `values`.
fn percentile(values: &[f64], p: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// `MARKS_PER_CALL` marks `desk` saw from `from`, past the first few.
async fn marks_from(desk: &mut OfficerBrowser, from: &str) -> Result<Vec<f64>> {
    let marks = desk
        .expect_many("marks", MEDIA_PATIENCE, MARKS_PER_CALL, |e| {
            e["event"] == "mark" && e["from"] == from
        })
        .await?;
    Ok(marks
        .iter()
        .filter_map(|e| e["ms"].as_f64())
        .skip(MARKS_SKIPPED)
        .collect())
}

/// One call: wall-clock marks from the kiosk to the officer and back, then between the
/// officer's and the interpreter's browsers.
async fn latency_round(stage: &mut Stage) -> Result<[Vec<f64>; 4]> {
    begin_call(&stage.kiosk, &mut stage.officer).await?;
    let to_officer = marks_from(&mut stage.officer, "kiosk").await?;
    let kiosk_marks = |status: &Value| -> Vec<f64> {
        status["peers"][0]["received"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|t| t["marksMs"].as_array().cloned().unwrap_or_default())
            .filter_map(|m| m.as_f64())
            .collect()
    };
    let status = stage
        .kiosk
        .wait_for("marks from the officer", MEDIA_PATIENCE, |s| {
            kiosk_marks(s).len() >= MARKS_PER_CALL
        })
        .await?;
    let to_kiosk: Vec<f64> = kiosk_marks(&status)
        .into_iter()
        .skip(MARKS_SKIPPED)
        .take(MARKS_PER_CALL - MARKS_SKIPPED)
        .collect();

    let to_interpreter = marks_from(invite_interpreter(stage).await?, "anna-csn").await?;
    let to_officer_from_browser = marks_from(&mut stage.officer, "tolk-amir").await?;
    end_call(
        &stage.kiosk,
        &mut stage.officer,
        stage.interpreter.iter_mut(),
    )
    .await?;
    Ok([
        to_officer,
        to_kiosk,
        to_officer_from_browser,
        to_interpreter,
    ])
}

/// The officer invites an Arabic interpreter; the interpreter's browser, its past forgotten.
async fn invite_interpreter(stage: &mut Stage) -> Result<&mut OfficerBrowser> {
    stage.officer.command("invite ar").await?;
    let interpreter = stage
        .interpreter
        .as_mut()
        .ok_or_else(|| anyhow!("no interpreter"))?;
    interpreter.seen.clear();
    Ok(interpreter)
}
