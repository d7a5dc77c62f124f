//! `tests/bench signalling`: the broker's WebSockets against the PeerJS server (npm `peer`)
//! under the same load, in the same run, alternating, several rounds.
//!
//! Each round starts a fresh server pinned to core 0; this process, the load generator, runs
//! on core 1. A round:
//! 1. connects relay pairs (for the broker: a kiosk and an officer in a call; for PeerJS two
//!    peers) and reads the server's resident size;
//! 2. opens idle connections up to the ceiling, a fixed number in flight, from 64 loopback
//!    source addresses: connects per second, and memory per idle connection from the growth
//!    of the resident size;
//! 3. with those held, sends an offer-sized SDP (a browser's audio, video and data-channel
//!    offer, ~5.6 KB) through every pair at a steady rate: relay latency p50 and p99;
//! 4. counts the idle connections still open: the most held.
//!
//! The broker is measured over TLS with its real authentication (officers by session cookie,
//! kiosks by client certificate); PeerJS over plain WebSockets, as the issue asks and as it
//! is usually deployed behind a TLS proxy. Its per-connection TLS cost is ours alone.

mod load;
mod ours;
mod peerjs;

use super::{median, process::pin_self, Compared, Figures};
use anyhow::Result;
use load::RoundFigures;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct SignallingBench {
    pub rounds: usize,
    /// Idle connections each round tries to hold.
    pub ceiling: usize,
    /// Connection attempts in flight while opening them.
    pub in_flight: usize,
    pub relay_pairs: usize,
    /// Offers per second through each pair.
    pub offers_per_second: u32,
    pub relay_duration: Duration,
}

impl Default for SignallingBench {
    fn default() -> Self {
        SignallingBench {
            rounds: 3,
            // Under the 20 000 open files this project's machines allow a process.
            ceiling: 19_000,
            in_flight: 64,
            relay_pairs: 20,
            offers_per_second: 10,
            relay_duration: Duration::from_secs(10),
        }
    }
}

/// The SDP every relayed offer carries; `{stamp}` becomes the send time in microseconds.
const OFFER_TEMPLATE: &str = include_str!("offer.sdp");

/// Descriptors each process keeps beside the connections (listeners, database, runtime).
const DESCRIPTORS_BESIDE: u64 = 200;

pub fn run(bench: &SignallingBench) -> Result<Figures> {
    let mut bench = bench.clone();
    // Every connection is a descriptor in the server and one in this process; both inherit
    // this process's limit.
    let limit = rlimit::increase_nofile_limit(u64::MAX)?;
    let fits = limit.saturating_sub(DESCRIPTORS_BESIDE + 2 * bench.relay_pairs as u64) as usize;
    if bench.ceiling > fits {
        println!(
            "signalling: the open-files limit is {limit}; holding at most {fits} idle \
             connections instead of {}",
            bench.ceiling
        );
        bench.ceiling = fits;
    }
    let bench = &bench;
    pin_self(1)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    runtime.block_on(run_rounds(bench))
}

async fn run_rounds(bench: &SignallingBench) -> Result<Figures> {
    let fixture = ours::Fixture::prepare(bench).await?;
    let peerjs = peerjs::installed()?;
    let mut ours_rounds = Vec::new();
    let mut theirs_rounds = Vec::new();
    for round in 0..bench.rounds {
        // Alternating order, so neither server always runs second.
        let ours_first = round % 2 == 0;
        for ours_now in [ours_first, !ours_first] {
            let figures = if ours_now {
                let target = fixture.start().await?;
                load::run_round(&target, bench).await?
            } else {
                let target = peerjs::PeerJs::start(&peerjs, bench).await?;
                load::run_round(&target, bench).await?
            };
            println!(
                "signalling round {}: {:<7} held {:>6} idle, {:>5.2} KiB each, {:>6.0} connects/s, \
                 relay p50 {:.2} ms p99 {:.2} ms ({} offers, {} lost)",
                round + 1,
                if ours_now { "broker" } else { "peerjs" },
                figures.held,
                figures.bytes_per_idle / 1024.0,
                figures.connects_per_second,
                figures.relay_p50_ms,
                figures.relay_p99_ms,
                figures.offers_received,
                figures.offers_lost,
            );
            if ours_now {
                ours_rounds.push(figures);
            } else {
                theirs_rounds.push(figures);
            }
        }
    }
    println!(
        "signalling: up to {} idle connections ({} in flight), {} relay pairs × {} offers/s for \
         {} s, {} rounds, medians; server on core 0, load on core 1; broker over TLS, PeerJS \
         plain WebSockets",
        bench.ceiling,
        bench.in_flight,
        bench.relay_pairs,
        bench.offers_per_second,
        bench.relay_duration.as_secs(),
        bench.rounds
    );
    let mut figures = Figures::default();
    let compared: [Compared<RoundFigures>; 5] = [
        (
            "signalling.memory-per-idle-connection",
            |r| r.bytes_per_idle / 1024.0,
            "KiB",
        ),
        ("signalling.connections-held", |r| r.held as f64, ""),
        (
            "signalling.connects-per-second",
            |r| r.connects_per_second,
            "/s",
        ),
        ("signalling.relay-p50", |r| r.relay_p50_ms, "ms"),
        ("signalling.relay-p99", |r| r.relay_p99_ms, "ms"),
    ];
    for (name, figure, unit) in compared {
        figures.median_against_peer(name, &ours_rounds, &theirs_rounds, figure, unit);
    }
    figures.against_target(
        "signalling.idle-connections-per-core",
        median(ours_rounds.iter().map(|r| r.held as f64).collect()),
        20_000.0,
        "",
    );
    Ok(figures)
}
