//! `tests/bench signalling`: the broker's WebSockets against the PeerJS server (npm `peer`)
//! under the same load, in the same run, alternating, several rounds.
//!
//! Each round starts a fresh server pinned to core 0; this process, the load generator, runs
//! on core 1. A round:
//! 1. connects relay pairs (for the broker: a kiosk and an officer in a call; for PeerJS two
//!    peers) and reads the server's resident size;
//! 2. opens idle connections up to the ceiling, a fixed number in flight, from 64 loopback
//!    source addresses, pausing every tenth of the way to read the resident size again:
//!    connects per second, and memory per idle connection, compared at the most connections
//!    every round of both servers held, so both figures are spread over the same count;
//! 3. with those held, sends an offer-sized SDP (a browser's audio, video and data-channel
//!    offer, ~5.6 KB) through every pair at a steady rate, in relay rounds: relay latency p50
//!    and p99, each side's the median of at least `relay_rounds` rounds;
//! 4. counts the idle connections still open: the most held.
//!
//! The ceiling is what the open-files limit allows: this process raises its soft limit to the
//! hard one, both servers inherit it (each round reads theirs back), and each side keeps the
//! same few descriptors aside, so neither server is held to fewer connections than the other.
//!
//! Both are measured over TLS, as each is deployed: the broker with its real authentication
//! (officers by session cookie, kiosks by client certificate), PeerJS with its own TLS
//! (`--sslkey`, `--sslcert`) and a certificate made for the run, ECDSA P-256 as the broker's.

mod load;
mod ours;
mod peerjs;

use super::{median, process::pin_self, Figures, RatioTarget};
use anyhow::Result;
use load::{RelayFigures, RoundFigures};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct SignallingBench {
    pub rounds: usize,
    /// Idle connections each round tries to hold on each server, capped at what the
    /// open-files limit allows; the default asks for all of that.
    pub ceiling: usize,
    /// Connection attempts in flight while opening them.
    pub in_flight: usize,
    pub relay_pairs: usize,
    /// Offers per second through each pair.
    pub offers_per_second: u32,
    /// How long each relay round sends.
    pub relay_duration: Duration,
    /// Relay rounds for each server, at least, spread over its rounds.
    pub relay_rounds: usize,
}

impl Default for SignallingBench {
    fn default() -> Self {
        SignallingBench {
            rounds: 3,
            ceiling: usize::MAX,
            in_flight: 64,
            relay_pairs: 20,
            offers_per_second: 10,
            relay_duration: Duration::from_secs(6),
            relay_rounds: 5,
        }
    }
}

impl SignallingBench {
    /// Identities (officers, PeerJS ids) a round may connect idle as: the ceiling and 2 %
    /// more, so a failed attempt is replaced and both servers reach the same counts.
    pub fn idle_identities(&self) -> usize {
        self.ceiling.saturating_add(self.ceiling / 50)
    }
}

/// The SDP every relayed offer carries; `{stamp}` becomes the send time in microseconds.
const OFFER_TEMPLATE: &str = include_str!("offer.sdp");

/// Descriptors each process keeps beside the connections (listeners, database, runtime; the
/// broker reserves 64 and 100 for TURN relays).
const DESCRIPTORS_BESIDE: u64 = 200;

pub fn run(bench: &SignallingBench) -> Result<Figures> {
    let mut bench = bench.clone();
    // Every connection is a descriptor here and one in the server, which inherits this limit.
    let limit = rlimit::increase_nofile_limit(u64::MAX)?;
    let fits = limit.saturating_sub(DESCRIPTORS_BESIDE + 2 * bench.relay_pairs as u64) as usize;
    bench.ceiling = bench.ceiling.min(fits);
    println!(
        "signalling: open-files limit {limit} here and in both servers: up to {} idle \
         connections on each",
        bench.ceiling
    );
    let bench = &bench;
    pin_self(1)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    runtime.block_on(run_rounds(bench, limit))
}

async fn run_rounds(bench: &SignallingBench, open_files: u64) -> Result<Figures> {
    let fixture = ours::Fixture::prepare(bench).await?;
    let peerjs = peerjs::installed()?;
    let peer_tls = peerjs::PeerTls::self_signed()?;
    let relays_per_round = bench.relay_rounds.div_ceil(bench.rounds.max(1));
    let mut ours_rounds = Vec::new();
    let mut theirs_rounds = Vec::new();
    for round in 0..bench.rounds {
        // Alternating order, so neither server always runs second.
        let ours_first = round % 2 == 0;
        for ours_now in [ours_first, !ours_first] {
            let figures = if ours_now {
                let target = fixture.start().await?;
                load::run_round(&target, bench, relays_per_round).await?
            } else {
                let target = peerjs::PeerJs::start(&peerjs, bench, &peer_tls).await?;
                load::run_round(&target, bench, relays_per_round).await?
            };
            print_round(
                round + 1,
                if ours_now { "broker" } else { "peerjs" },
                &figures,
            );
            if figures.server_open_files < open_files {
                println!(
                    "  the server ran with an open-files limit of {}, not {open_files}",
                    figures.server_open_files
                );
            }
            if ours_now {
                ours_rounds.push(figures);
            } else {
                theirs_rounds.push(figures);
            }
        }
    }
    let memory_at = common_checkpoint(&ours_rounds, &theirs_rounds);
    println!(
        "signalling: up to {} idle connections ({} in flight), memory per idle connection at {} \
         held in every round; {} relay pairs × {} offers/s for {} s, {} relay rounds per \
         server; {} rounds, medians; server on core 0, load on core 1; both over TLS",
        bench.ceiling,
        bench.in_flight,
        memory_at.map_or_else(|| "no count".to_string(), |n| n.to_string()),
        bench.relay_pairs,
        bench.offers_per_second,
        bench.relay_duration.as_secs(),
        relays_per_round * bench.rounds,
        bench.rounds
    );
    Ok(closing_lines(&ours_rounds, &theirs_rounds, memory_at))
}

/// The most idle connections every round of both servers held at a checkpoint; None if one
/// reached none.
fn common_checkpoint(ours: &[RoundFigures], theirs: &[RoundFigures]) -> Option<usize> {
    let most: Option<Vec<usize>> = ours
        .iter()
        .chain(theirs)
        .map(RoundFigures::most_checkpointed)
        .collect();
    most?.into_iter().min()
}

fn closing_lines(
    ours: &[RoundFigures],
    theirs: &[RoundFigures],
    memory_at: Option<usize>,
) -> Figures {
    let memory_kib = |rounds: &[RoundFigures]| {
        let each = rounds
            .iter()
            .filter_map(|r| memory_at.and_then(|at| r.bytes_per_idle_at(at)))
            .map(|bytes| bytes / 1024.0);
        median(each.collect())
    };
    let held = |rounds: &[RoundFigures]| median(rounds.iter().map(|r| r.held as f64).collect());
    let mut figures = Figures::default();
    figures.against_peer_and_target(
        "signalling.memory-per-idle-connection",
        memory_kib(ours),
        memory_kib(theirs),
        "KiB",
        RatioTarget::AtMost(0.5),
    );
    figures.against_peer_and_target(
        "signalling.connections-held",
        held(ours),
        held(theirs),
        "",
        RatioTarget::AtLeast(1.0),
    );
    figures.median_against_peer(
        "signalling.connects-per-second",
        ours,
        theirs,
        |r| r.connects_per_second,
        "/s",
    );
    figures.against_peer(
        "signalling.relay-p50",
        relay_median(ours, |r| r.p50_ms),
        relay_median(theirs, |r| r.p50_ms),
        "ms",
    );
    figures.against_peer_and_target(
        "signalling.relay-p99",
        relay_median(ours, |r| r.p99_ms),
        relay_median(theirs, |r| r.p99_ms),
        "ms",
        RatioTarget::AtMost(0.5),
    );
    figures.against_target(
        "signalling.idle-connections-per-core",
        held(ours),
        20_000.0,
        "",
    );
    figures
}

/// One server round, relay figures round by round.
fn print_round(round: usize, server: &str, figures: &RoundFigures) {
    let most = figures.most_checkpointed();
    let kib_each = most
        .and_then(|at| figures.bytes_per_idle_at(at))
        .map_or(f64::NAN, |bytes| bytes / 1024.0);
    let sent: usize = figures.relays.iter().map(|r| r.sent).sum();
    let received: usize = figures.relays.iter().map(|r| r.received).sum();
    println!(
        "signalling round {round}: {server:<7} held {:>6} idle, {kib_each:>5.2} KiB each at {}, \
         {:>6.0} connects/s; relay p50 {} ms, p99 {} ms ({received} offers, {} lost)",
        figures.held,
        most.unwrap_or(0),
        figures.connects_per_second,
        per_relay(&figures.relays, |r| r.p50_ms),
        per_relay(&figures.relays, |r| r.p99_ms),
        sent.saturating_sub(received),
    );
}

/// The median of `figure` over every relay round of every server round: at least
/// `relay_rounds` of them.
fn relay_median(rounds: &[RoundFigures], figure: fn(&RelayFigures) -> f64) -> f64 {
    median(rounds.iter().flat_map(|r| &r.relays).map(figure).collect())
}

/// `figure` of each relay round, in order.
fn per_relay(relays: &[RelayFigures], figure: fn(&RelayFigures) -> f64) -> String {
    let each: Vec<String> = relays.iter().map(|r| format!("{:.2}", figure(r))).collect();
    each.join(" ")
}
