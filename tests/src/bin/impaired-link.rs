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
//! TCP through, as in many offices). Ends (taking both devices with it) when stdin closes.

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
}

/// IANA's protocol number for UDP, in the IPv4 header's protocol field and IPv6's next header.
const UDP: u8 = 17;

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
    for (from, to) in [(near.clone(), far.clone()), (far, near)] {
        let (queue, due) = mpsc::channel();
        let settings = impairment.clone();
        std::thread::spawn(move || carry(&from, &settings, &queue));
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
            _ => bail!("unknown command {line:?} (delay MS, loss PERCENT, udp blocked|open)"),
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
fn carry(
    from: &tun::Device,
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
        } = *impairment.lock().expect("not poisoned");
        if udp_blocked && is_udp(&buffer[..length]) {
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
