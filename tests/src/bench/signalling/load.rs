//! The load generator, the same for both servers: idle connections up to the ceiling, then
//! offers relayed through pairs, several relay rounds, while those are held.

use super::{SignallingBench, OFFER_TEMPLATE};
use crate::bench::process::Server;
use anyhow::{anyhow, Result};
use futures_util::{SinkExt, StreamExt};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::{TcpSocket, TcpStream};
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Wraps an SDP in the whole message that carries it from a pair's sender to its receiver.
pub type Envelope = Box<dyn Fn(&str) -> String + Send + Sync>;

/// How long one connection attempt may take before it counts as refused.
const CONNECT_PATIENCE: Duration = Duration::from_secs(15);
/// Offers sent in the first second of a relay round are not measured: connections warm up.
const WARM_UP: Duration = Duration::from_secs(1);
/// How long after a relay round's last offer its receivers keep reading; later is lost.
const DRAIN: Duration = Duration::from_secs(2);
/// Idle connections come from this many loopback addresses in turn: one address has only
/// ~28 000 ephemeral ports, and the kernel's search for a free one slows as they fill.
const SOURCE_ADDRESSES: usize = 64;
/// A round reads the server's size this many times on its way to the ceiling, at the same
/// counts for both servers, so memory per connection can be compared at a count both held.
const CHECKPOINTS: usize = 10;
/// Quiet before each size reading, so the server is done with the last greetings (handshake
/// buffers, logging) and the reading is of idle connections only.
const SETTLE: Duration = Duration::from_millis(200);

/// A TCP connection to `server` from the loopback address `source`.
pub async fn tcp_from(source: IpAddr, server: SocketAddr) -> Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(source, 0))?;
    Ok(socket.connect(server).await?)
}

/// The load generator's WebSocket settings: a small read buffer, since it holds tens of
/// thousands of connections that receive little (tungstenite reserves 128 KiB by default).
pub fn client_config() -> WebSocketConfig {
    WebSocketConfig::default().read_buffer_size(4096)
}

/// Two connections through which the server relays offers, sender to receiver.
pub struct RelayPair {
    pub sender: Socket,
    pub receiver: Socket,
    pub envelope: Envelope,
}

/// A server under load: how to open its connections.
pub trait Target {
    fn server(&self) -> &Server;
    /// Opens idle connection `n` from `source`; done when the server has greeted it.
    async fn connect_idle(&self, n: usize, source: IpAddr) -> Result<Socket>;
    /// `count` pairs, ready to relay.
    async fn relay_pairs(&self, count: usize) -> Result<Vec<RelayPair>>;
}

/// The server's resident size when it held exactly `connections` idle ones.
#[derive(Debug, Clone, Copy)]
pub struct Checkpoint {
    pub connections: usize,
    pub resident: f64,
}

/// One relay round through every pair.
#[derive(Debug, Clone, Copy)]
pub struct RelayFigures {
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub sent: usize,
    pub received: usize,
}

#[derive(Debug, Clone)]
pub struct RoundFigures {
    /// Idle connections still open after the relay rounds.
    pub held: usize,
    /// The server's soft open-files limit as it ran.
    pub server_open_files: u64,
    /// The server's resident size with only the relay pairs connected.
    pub resident_before: f64,
    /// The checkpoints the server reached, in order; the round stops at the first it misses.
    pub checkpoints: Vec<Checkpoint>,
    pub connects_per_second: f64,
    pub relays: Vec<RelayFigures>,
}

impl RoundFigures {
    /// The most idle connections the server held at a checkpoint.
    pub fn most_checkpointed(&self) -> Option<usize> {
        self.checkpoints.last().map(|c| c.connections)
    }

    /// How much the server grew per idle connection when it held `connections`, if it did.
    pub fn bytes_per_idle_at(&self, connections: usize) -> Option<f64> {
        let at = self
            .checkpoints
            .iter()
            .find(|c| c.connections == connections && connections > 0)?;
        Some((at.resident - self.resident_before).max(0.0) / connections as f64)
    }
}

/// One round against a freshly started server: its relay pairs, idle connections up to the
/// ceiling with the server's size read at each checkpoint, then `relay_rounds` relay rounds.
pub async fn run_round(
    target: &impl Target,
    bench: &SignallingBench,
    relay_rounds: usize,
) -> Result<RoundFigures> {
    let server_open_files = open_files_limit(target.server().pid())?;
    let mut pairs = target.relay_pairs(bench.relay_pairs).await?;
    let resident_before = target.server().resident_bytes()?;

    let mut idle = Idle::new(bench.idle_identities());
    let mut checkpoints = Vec::new();
    for goal in checkpoints_to(bench.ceiling) {
        if !idle.open_to(target, goal, bench.in_flight).await {
            break;
        }
        tokio::time::sleep(SETTLE).await;
        checkpoints.push(Checkpoint {
            connections: goal,
            resident: target.server().resident_bytes()?,
        });
    }
    if let Some(reason) = &idle.first_refusal {
        println!(
            "  {} of {} connection attempts failed; the first: {reason}",
            idle.refused, idle.next
        );
    }

    // One origin for every relay round's stamps, so an offer of one round that arrives in
    // the next is recognised and left out.
    let epoch = Instant::now();
    let mut relays = Vec::with_capacity(relay_rounds);
    for _ in 0..relay_rounds {
        let (kept, figures) = relay(pairs, bench, epoch).await;
        pairs = kept;
        relays.push(figures);
    }
    let held = idle.alive.load(Ordering::Relaxed);
    // Closed before the next round's server starts, so its connections have every descriptor.
    idle.holders.shutdown().await;
    Ok(RoundFigures {
        held,
        server_open_files,
        resident_before,
        checkpoints,
        connects_per_second: idle.opened as f64 / idle.opening.as_secs_f64(),
        relays,
    })
}

/// The counts at which a round reads the server's size: every tenth of the way to the
/// ceiling, and the ceiling.
fn checkpoints_to(ceiling: usize) -> Vec<usize> {
    let step = ceiling.div_ceil(CHECKPOINTS).max(1);
    (step..ceiling).step_by(step).chain([ceiling]).collect()
}

/// A round's idle connections, each held open by a task of its own.
#[derive(Debug)]
struct Idle {
    holders: JoinSet<()>,
    alive: Arc<AtomicUsize>,
    /// The identity the next attempt connects as, below `identities`.
    next: usize,
    identities: usize,
    opened: usize,
    /// Time spent opening, without the pauses at checkpoints.
    opening: Duration,
    refused: usize,
    first_refusal: Option<String>,
}

impl Idle {
    fn new(identities: usize) -> Idle {
        Idle {
            holders: JoinSet::new(),
            alive: Arc::new(AtomicUsize::new(0)),
            next: 0,
            identities,
            opened: 0,
            opening: Duration::ZERO,
            refused: 0,
            first_refusal: None,
        }
    }

    /// Opens connections until `goal` are held, a failed one replaced by another identity;
    /// false if the server took none of a batch or the identities ran out first.
    async fn open_to(&mut self, target: &impl Target, goal: usize, in_flight: usize) -> bool {
        let started = Instant::now();
        let reached = loop {
            let alive = self.alive.load(Ordering::Relaxed);
            if alive >= goal {
                break true;
            }
            // No more attempts than connections missing, so the descriptors this process
            // uses for them never exceed the goal.
            let batch = (goal - alive).min(self.identities - self.next);
            if batch == 0 {
                break false;
            }
            let first = self.next;
            self.next += batch;
            let mut attempts = futures_util::stream::iter(first..first + batch)
                .map(|n| async move {
                    let source =
                        IpAddr::V4(Ipv4Addr::new(127, 0, 1, 10 + (n % SOURCE_ADDRESSES) as u8));
                    tokio::time::timeout(CONNECT_PATIENCE, target.connect_idle(n, source))
                        .await
                        .map_err(|_| anyhow!("no greeting within {CONNECT_PATIENCE:?}"))?
                })
                .buffer_unordered(in_flight);
            let mut taken = 0;
            while let Some(attempt) = attempts.next().await {
                match attempt {
                    Ok(socket) => {
                        taken += 1;
                        self.alive.fetch_add(1, Ordering::Relaxed);
                        self.holders.spawn(hold(socket, self.alive.clone()));
                    }
                    Err(e) => {
                        self.refused += 1;
                        self.first_refusal.get_or_insert_with(|| format!("{e:#}"));
                    }
                }
            }
            self.opened += taken;
            if taken == 0 {
                break false;
            }
        };
        self.opening += started.elapsed();
        reached
    }
}

/// Keeps an idle connection open, reading what the server sends (and answering its pings),
/// until the server closes it or the round ends.
async fn hold(mut socket: Socket, alive: Arc<AtomicUsize>) {
    while let Some(Ok(_)) = socket.next().await {}
    alive.fetch_sub(1, Ordering::Relaxed);
}

/// The soft open-files limit of process `pid`, from /proc/PID/limits.
fn open_files_limit(pid: u32) -> Result<u64> {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits"))?;
    limits
        .lines()
        .find_map(|l| l.strip_prefix("Max open files"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|soft| soft.parse().ok())
        .ok_or_else(|| anyhow!("no open-files limit in /proc/{pid}/limits"))
}

/// When a relay round's pairs send and read, and what their stamps count from.
#[derive(Debug, Clone, Copy)]
struct Schedule {
    epoch: Instant,
    start: Instant,
    period: Duration,
    stop_sending: Instant,
    stop_reading: Instant,
}

#[derive(Debug, Default)]
struct PairOutcome {
    sent: usize,
    received: usize,
    latencies_ms: Vec<f64>,
}

/// One relay round: offers through every pair at a steady rate. The pairs are handed back
/// for the next round.
async fn relay(
    pairs: Vec<RelayPair>,
    bench: &SignallingBench,
    epoch: Instant,
) -> (Vec<RelayPair>, RelayFigures) {
    let start = Instant::now();
    let stop_sending = start + bench.relay_duration;
    let schedule = Schedule {
        epoch,
        start,
        period: Duration::from_secs(1) / bench.offers_per_second.max(1),
        stop_sending,
        stop_reading: stop_sending + DRAIN,
    };
    let count = pairs.len().max(1) as u32;
    let mut tasks = JoinSet::new();
    for (i, pair) in pairs.into_iter().enumerate() {
        // Pairs start spread over one period so the load is steady, not in bursts.
        let first = start + schedule.period * i as u32 / count;
        tasks.spawn(drive(pair, first, schedule));
    }
    let mut kept = Vec::with_capacity(count as usize);
    let mut total = PairOutcome::default();
    while let Some(joined) = tasks.join_next().await {
        let Ok((pair, outcome)) = joined else {
            continue;
        };
        kept.push(pair);
        total.sent += outcome.sent;
        total.received += outcome.received;
        total.latencies_ms.extend(outcome.latencies_ms);
    }
    let figures = RelayFigures {
        p50_ms: percentile(&total.latencies_ms, 0.50),
        p99_ms: percentile(&total.latencies_ms, 0.99),
        sent: total.sent,
        received: total.received,
    };
    (kept, figures)
}

/// Sends through a pair and reads at its other end at once, then hands the pair back.
async fn drive(
    mut pair: RelayPair,
    first: Instant,
    schedule: Schedule,
) -> (RelayPair, PairOutcome) {
    let (sent, (received, latencies_ms)) = tokio::join!(
        send(&mut pair.sender, &*pair.envelope, first, schedule),
        receive(&mut pair.receiver, schedule),
    );
    let outcome = PairOutcome {
        sent,
        received,
        latencies_ms,
    };
    (pair, outcome)
}

/// Sends an offer every period from `first` until the round stops sending: how many went.
async fn send(
    socket: &mut Socket,
    envelope: &(dyn Fn(&str) -> String + Send + Sync),
    first: Instant,
    schedule: Schedule,
) -> usize {
    let mut ticks = tokio::time::interval_at(first.into(), schedule.period);
    let mut sent = 0;
    while Instant::now() < schedule.stop_sending {
        ticks.tick().await;
        let stamp = schedule.epoch.elapsed().as_micros();
        let sdp = OFFER_TEMPLATE
            .replace("{stamp}", &stamp.to_string())
            .replace('\n', "\r\n");
        if socket
            .send(Message::Text(envelope(&sdp).into()))
            .await
            .is_err()
        {
            break;
        }
        sent += 1;
    }
    sent
}

/// Reads offers until the round stops reading: how many of this round's arrived, and the
/// latency of those sent after the warm-up.
async fn receive(socket: &mut Socket, schedule: Schedule) -> (usize, Vec<f64>) {
    let round_from = schedule.start.duration_since(schedule.epoch);
    let mut received = 0;
    let mut latencies = Vec::new();
    while let Ok(Some(Ok(message))) =
        tokio::time::timeout_at(schedule.stop_reading.into(), socket.next()).await
    {
        let Message::Text(text) = message else {
            continue;
        };
        let Some(stamp) = stamp_in(&text) else {
            continue;
        };
        let sent_at = Duration::from_micros(stamp);
        if sent_at < round_from {
            continue;
        }
        received += 1;
        if sent_at >= round_from + WARM_UP {
            let latency = schedule.epoch.elapsed().saturating_sub(sent_at);
            latencies.push(latency.as_secs_f64() * 1000.0);
        }
    }
    (received, latencies)
}

/// The send time written into the SDP's origin line.
fn stamp_in(text: &str) -> Option<u64> {
    let at = text.find("o=- ")? + 4;
    let digits = &text[at..];
    let end = digits.find(|c: char| !c.is_ascii_digit())?;
    digits[..end].parse().ok()
}

/// Nearest-rank percentile of `values` (milliseconds), NaN when there are none.
fn percentile(values: &[f64], fraction: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((fraction * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}
