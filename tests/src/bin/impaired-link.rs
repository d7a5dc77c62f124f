//! A point-to-point link with delay and loss, for the network fault tests.
//!
//! The kernels these tests run on are built without `sch_netem`, so `tc netem` cannot shape a
//! veth pair. This program is the link instead: it opens two TUN devices (the harness moves
//! one into the kiosk's network namespace and gives both their addresses) and copies every
//! IP packet from one to the other, each after the configured delay unless the configured
//! share of them is dropped. Delay is constant, so packets keep their order, as with netem.
//!
//! impaired-link NEAR-DEVICE FAR-DEVICE
//!
//! Prints `READY` once both devices exist. Reads commands on stdin, answering `OK` to each once
//! it holds: `delay MS`, `loss PERCENT`, `udp blocked` or `udp open` (a firewall that lets only
//! TCP through, as in many offices), `tcp-only PORT` or `tcp-only any` (a firewall that lets
//! out nothing but TCP to one port on this side, as an agency's to its proxy; `any` lifts it).
//! Ends (taking both devices with it) when stdin closes.

use anyhow::{bail, Context, Result};
use rand::Rng;
use std::io::BufRead;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, Default)]
struct Impairment {
    delay: Duration,
    /// The share of packets dropped, 0.0–1.0.
    loss: f64,
    /// Drop every UDP packet, both ways.
    udp_blocked: bool,
    /// Pass only TCP to this port on the near side, and its answers.
    tcp_only: Option<u16>,
}

/// IANA's protocol number for UDP, in the IPv4 header's protocol field and IPv6's next header.
const UDP: u8 = 17;

/// IANA's protocol number for TCP.
const TCP: u8 = 6;

/// The source and destination ports of an IPv4 TCP packet.
fn tcp_ports(packet: &[u8]) -> Option<(u16, u16)> {
    if packet.first()? >> 4 != 4 || *packet.get(9)? != TCP {
        return None;
    }
    let header = usize::from(packet[0] & 0x0f) * 4;
    let port = |at: usize| Some(u16::from_be_bytes([*packet.get(at)?, *packet.get(at + 1)?]));
    Some((port(header)?, port(header + 2)?))
}

/// Whether a packet crosses a firewall that lets only TCP to `port` on the near side out
/// (`outbound`: from the far side) and its answers back in.
fn passes_tcp_only(packet: &[u8], port: u16, outbound: bool) -> bool {
    match tcp_ports(packet) {
        Some((source, destination)) => port == if outbound { destination } else { source },
        None => false,
    }
}

fn is_udp(packet: &[u8]) -> bool {
    match packet.first().map(|b| b >> 4) {
        Some(4) => packet.get(9) == Some(&UDP),
        Some(6) => packet.get(6) == Some(&UDP),
        _ => false,
    }
}

fn main() -> Result<()> {
    let names: Vec<String> = std::env::args().skip(1).collect();
    let [near, far] = names.as_slice() else {
        bail!("usage: impaired-link NEAR-DEVICE FAR-DEVICE");
    };
    let near = Arc::new(open(near)?);
    let far = Arc::new(open(far)?);
    let impairment = Arc::new(Mutex::new(Impairment::default()));
    for (from, to, outbound) in [(near.clone(), far.clone(), false), (far, near, true)] {
        let (queue, due) = mpsc::channel();
        let settings = impairment.clone();
        std::thread::spawn(move || carry(&from, outbound, &settings, &queue));
        std::thread::spawn(move || deliver(&to, &due));
    }
    println!("READY");
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        let mut words = line.split_whitespace();
        let (Some(what), Some(value)) = (words.next(), words.next()) else {
            continue;
        };
        let mut settings = impairment.lock().expect("not poisoned");
        match (what, value) {
            ("udp", "blocked") => settings.udp_blocked = true,
            ("udp", "open") => settings.udp_blocked = false,
            ("tcp-only", "any") => settings.tcp_only = None,
            ("tcp-only", port) => {
                let port = port
                    .parse()
                    .with_context(|| format!("not a port: {line}"))?;
                settings.tcp_only = Some(port);
            }
            ("delay" | "loss", value) => {
                let value: f64 = value
                    .parse()
                    .with_context(|| format!("not a number: {line}"))?;
                if what == "delay" {
                    settings.delay = Duration::from_secs_f64(value.max(0.0) / 1000.0);
                } else {
                    settings.loss = (value / 100.0).clamp(0.0, 1.0);
                }
            }
            _ => bail!(
                "unknown command {line:?} (delay MS, loss PERCENT, udp blocked|open, \
                 tcp-only PORT|any)"
            ),
        }
        println!("OK");
        eprintln!("impaired-link: {settings:?}");
    }
    Ok(())
}

fn open(name: &str) -> Result<tun::Device> {
    let mut config = tun::Configuration::default();
    config.tun_name(name).mtu(1500);
    tun::create(&config).with_context(|| format!("cannot make the TUN device {name} (root?)"))
}

/// Reads packets from one device and queues those that survive, stamped with when they are due.
/// `outbound`: from the far side (the namespace) to the near one.
fn carry(
    from: &tun::Device,
    outbound: bool,
    impairment: &Mutex<Impairment>,
    queue: &mpsc::Sender<(Instant, Vec<u8>)>,
) {
    let mut rng = rand::thread_rng();
    let mut buffer = vec![0u8; 65_536];
    while let Ok(length) = from.recv(&mut buffer) {
        let Impairment {
            delay,
            loss,
            udp_blocked,
            tcp_only,
        } = *impairment.lock().expect("not poisoned");
        if udp_blocked && is_udp(&buffer[..length]) {
            continue;
        }
        if tcp_only.is_some_and(|port| !passes_tcp_only(&buffer[..length], port, outbound)) {
            continue;
        }
        if loss > 0.0 && rng.gen::<f64>() < loss {
            continue;
        }
        if queue
            .send((Instant::now() + delay, buffer[..length].to_vec()))
            .is_err()
        {
            return;
        }
    }
}

/// Writes queued packets to the other device when they fall due.
fn deliver(to: &tun::Device, due: &mpsc::Receiver<(Instant, Vec<u8>)>) {
    for (when, packet) in due {
        std::thread::sleep(when.saturating_duration_since(Instant::now()));
        // A device that is down refuses packets; they are lost, as on a real link.
        let _ = to.send(&packet);
    }
}
