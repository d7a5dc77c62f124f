//! The load generator, the same for both servers: idle connections, then offers relayed
//! through pairs while those are held.

use super::{SignallingBench, OFFER_TEMPLATE};
use crate::bench::process::Server;
use anyhow::{anyhow, Result};
use futures_util::{SinkExt, StreamExt};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long one connection attempt may take before it counts as refused.
const CONNECT_PATIENCE: Duration = Duration::from_secs(15);
/// Offers sent in the first second of the relay phase are not measured: connections warm up.
const WARM_UP: Duration = Duration::from_secs(1);
/// Idle connections come from this many loopback addresses in turn: one address has only
/// ~28 000 ephemeral ports, and the kernel's search for a free one slows as they fill.
const SOURCE_ADDRESSES: usize = 64;

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
    /// The whole message that carries `sdp` from the sender to the receiver.
    pub envelope: Box<dyn Fn(&str) -> String + Send + Sync>,
}

/// A server under load: how to open its connections.
pub trait Target {
    fn server(&self) -> &Server;
    /// Opens idle connection `n` from `source`; done when the server has greeted it.
    async fn connect_idle(&self, n: usize, source: IpAddr) -> Result<Socket>;
    /// `count` pairs, ready to relay.
    async fn relay_pairs(&self, count: usize) -> Result<Vec<RelayPair>>;
}

#[derive(Debug, Clone, Copy)]
pub struct RoundFigures {
    pub held: usize,
    pub bytes_per_idle: f64,
    pub connects_per_second: f64,
    pub relay_p50_ms: f64,
    pub relay_p99_ms: f64,
    pub offers_received: usize,
    pub offers_lost: usize,
}

pub async fn run_round(target: &impl Target, bench: &SignallingBench) -> Result<RoundFigures> {
    let pairs = target.relay_pairs(bench.relay_pairs).await?;
    let before = target.server().resident_bytes()?;

    let alive = Arc::new(AtomicUsize::new(0));
    let mut holders = tokio::task::JoinSet::new();
    let started = Instant::now();
    let mut attempts = futures_util::stream::iter(0..bench.ceiling)
        .map(|n| async move {
            let source = IpAddr::V4(Ipv4Addr::new(127, 0, 1, 10 + (n % SOURCE_ADDRESSES) as u8));
            tokio::time::timeout(CONNECT_PATIENCE, target.connect_idle(n, source))
                .await
                .map_err(|_| anyhow!("no greeting within {CONNECT_PATIENCE:?}"))?
        })
        .buffer_unordered(bench.in_flight);
    let mut opened = 0usize;
    let mut refused = 0usize;
    let mut first_refusal = None;
    while let Some(attempt) = attempts.next().await {
        match attempt {
            Ok(socket) => {
                opened += 1;
                alive.fetch_add(1, Ordering::Relaxed);
                holders.spawn(hold(socket, alive.clone()));
            }
            Err(e) => {
                refused += 1;
                first_refusal.get_or_insert_with(|| format!("{e:#}"));
            }
        }
    }
    let opening = started.elapsed();
    drop(attempts);
    if let Some(reason) = first_refusal {
        println!(
            "  {refused} of {} connections failed; the first: {reason}",
            bench.ceiling
        );
    }
    let after = target.server().resident_bytes()?;

    let relay = relay(pairs, bench).await;
    let held = alive.load(Ordering::Relaxed);
    holders.abort_all();
    Ok(RoundFigures {
        held,
        bytes_per_idle: (after - before).max(0.0) / opened.max(1) as f64,
        connects_per_second: opened as f64 / opening.as_secs_f64(),
        relay_p50_ms: percentile(&relay.latencies_ms, 0.50),
        relay_p99_ms: percentile(&relay.latencies_ms, 0.99),
        offers_received: relay.received,
        offers_lost: relay.sent.saturating_sub(relay.received),
    })
}

/// Keeps an idle connection open, reading what the server sends (and answering its pings),
/// until the server closes it or the round ends.
async fn hold(mut socket: Socket, alive: Arc<AtomicUsize>) {
    while let Some(Ok(_)) = socket.next().await {}
    alive.fetch_sub(1, Ordering::Relaxed);
}

struct RelayOutcome {
    sent: usize,
    received: usize,
    latencies_ms: Vec<f64>,
}

async fn relay(pairs: Vec<RelayPair>, bench: &SignallingBench) -> RelayOutcome {
    let origin = Instant::now();
    let period = Duration::from_secs(1) / bench.offers_per_second.max(1);
    let stop_sending = origin + bench.relay_duration;
    let stop_reading = stop_sending + Duration::from_secs(2);
    let count = pairs.len().max(1) as u32;
    let mut senders = tokio::task::JoinSet::new();
    let mut receivers = tokio::task::JoinSet::new();
    for (i, pair) in pairs.into_iter().enumerate() {
        let RelayPair {
            mut sender,
            receiver,
            envelope,
        } = pair;
        // Pairs start spread over one period so the load is steady, not in bursts.
        let first = origin + period * i as u32 / count;
        senders.spawn(async move {
            let mut ticks = tokio::time::interval_at(first.into(), period);
            let mut sent = 0usize;
            while Instant::now() < stop_sending {
                ticks.tick().await;
                let stamp = origin.elapsed().as_micros();
                let sdp = OFFER_TEMPLATE
                    .replace("{stamp}", &stamp.to_string())
                    .replace('\n', "\r\n");
                if sender
                    .send(Message::Text(envelope(&sdp).into()))
                    .await
                    .is_err()
                {
                    break;
                }
                sent += 1;
            }
            (sent, sender)
        });
        receivers.spawn(receive(receiver, origin, stop_reading));
    }
    let mut outcome = RelayOutcome {
        sent: 0,
        received: 0,
        latencies_ms: Vec::new(),
    };
    let mut kept_open = Vec::new();
    while let Some(Ok((sent, socket))) = senders.join_next().await {
        outcome.sent += sent;
        kept_open.push(socket);
    }
    while let Some(Ok((received, latencies))) = receivers.join_next().await {
        outcome.received += received;
        outcome.latencies_ms.extend(latencies);
    }
    outcome
}

/// Reads offers until `until`: how many arrived, and the latency of those sent after the
/// warm-up.
async fn receive(mut socket: Socket, origin: Instant, until: Instant) -> (usize, Vec<f64>) {
    let mut received = 0;
    let mut latencies = Vec::new();
    while let Ok(Some(Ok(message))) = tokio::time::timeout_at(until.into(), socket.next()).await {
        let Message::Text(text) = message else {
            continue;
        };
        let Some(stamp) = stamp_in(&text) else {
            continue;
        };
        received += 1;
        let sent_at = Duration::from_micros(stamp);
        if sent_at >= WARM_UP {
            let latency = origin.elapsed().saturating_sub(sent_at);
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
