//! `tests/bench turn`: coturn's own load client, `turnutils_uclient`, against the broker's
//! embedded TURN server and against coturn (`turnserver`) with the same parameters, in the
//! same run, alternating, several rounds. Each server runs alone on core 0 (`taskset`), the
//! client and its echo peer (`turnutils_peer`) on core 1. Both authenticate with TURN REST
//! credentials from one shared secret and relay to the peer on loopback (allowed for the run).
//!
//! Figures per server: packets delivered back, loss, CPU seconds the server spent (from
//! /proc), and memory per allocation (peak resident size during the run over the idle size).

use super::process::{
    broker_binary, broker_command, cpu_seconds, free_port, pinned, resident_bytes, wait_for_broker,
    Server,
};
use super::{Compared, Figures};
use anyhow::{anyhow, bail, Context, Result};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct TurnBench {
    pub allocations: u32,
    pub packets_per_allocation: u32,
    pub packet_bytes: u32,
    /// Milliseconds between one client's packets (11 ms ≈ 90 packets/s).
    pub interval_ms: u32,
    pub rounds: usize,
}

impl Default for TurnBench {
    fn default() -> Self {
        TurnBench {
            allocations: 200,
            packets_per_allocation: 500,
            packet_bytes: 960,
            interval_ms: 11,
            rounds: 3,
        }
    }
}

const SECRET: &str = "turn-bench-secret";

/// One server's figures from one round.
#[derive(Debug, Clone, Copy)]
struct Round {
    delivered: f64,
    loss_percent: f64,
    cpu_seconds: f64,
    bytes_per_allocation: f64,
}

fn start_ours(broker: &Path) -> Result<Server> {
    let data = tempfile::tempdir()?;
    let port = free_port()?;
    let mut child = broker_command(
        broker,
        0,
        data.path(),
        &[
            ("NARA_TURN__SHARED_SECRET", SECRET.to_string()),
            ("NARA_TURN__EMBEDDED__LISTEN", format!("127.0.0.1:{port}")),
            (
                "NARA_TURN__EMBEDDED__ALLOWED_PEERS",
                "[\"127.0.0.0/8\"]".to_string(),
            ),
            (
                "NARA_TURN__EMBEDDED__MAX_ALLOCATIONS_PER_USER",
                "100000".to_string(),
            ),
        ],
    )
    .spawn()
    .with_context(|| format!("cannot run {}", broker.display()))?;
    let ready = wait_for_broker(&mut child);
    let server = Server {
        child,
        port,
        data: Some(data),
    };
    ready?;
    crate::coturn::wait_until_answering(port)?;
    Ok(server)
}

fn start_coturn() -> Result<Server> {
    let port = free_port()?;
    let child = pinned(0, "turnserver")
        .args(crate::coturn::args(port, SECRET))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("cannot run turnserver (Debian package coturn)")?;
    let server = Server {
        child,
        port,
        data: None,
    };
    crate::coturn::wait_until_answering(port)?;
    Ok(server)
}

fn run_client(bench: &TurnBench, server: &Server, peer_port: u16) -> Result<Round> {
    let pid = server.pid();
    let idle = resident_bytes(pid)?;
    let cpu_before = cpu_seconds(pid)?;
    let mut client = pinned(1, "turnutils_uclient")
        .args([
            "-W",
            SECRET,
            "-u",
            "bench",
            "-m",
            &bench.allocations.to_string(),
            "-n",
            &bench.packets_per_allocation.to_string(),
            "-l",
            &bench.packet_bytes.to_string(),
            "-z",
            &bench.interval_ms.to_string(),
            "-e",
            "127.0.0.1",
            "-r",
            &peer_port.to_string(),
            "-p",
            &server.port.to_string(),
            "127.0.0.1",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot run turnutils_uclient (Debian package coturn)")?;
    let mut peak = idle;
    let output = loop {
        if let Some(status) = client.try_wait()? {
            let output = client.wait_with_output()?;
            if !status.success() {
                bail!(
                    "turnutils_uclient failed: {}",
                    String::from_utf8_lossy(&output.stderr)
                );
            }
            break output;
        }
        peak = peak.max(resident_bytes(pid)?);
        std::thread::sleep(Duration::from_millis(50)); // sampling memory, not waiting for it
    };
    let cpu = cpu_seconds(pid)? - cpu_before;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let delivered = number_after(&text, "tot_recv_msgs=")
        .ok_or_else(|| anyhow!("no tot_recv_msgs in the client's report:\n{text}"))?;
    let loss = text
        .lines()
        .find(|l| l.contains("Total lost packets"))
        .and_then(|l| l.split('(').nth(1))
        .and_then(|l| l.split('%').next())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .ok_or_else(|| anyhow!("no loss line in the client's report:\n{text}"))?;
    Ok(Round {
        delivered,
        loss_percent: loss,
        cpu_seconds: cpu,
        bytes_per_allocation: (peak - idle).max(0.0) / f64::from(bench.allocations),
    })
}

/// The last number after `key` in `text` (the client prints running totals, then the sum).
fn number_after(text: &str, key: &str) -> Option<f64> {
    text.match_indices(key)
        .filter_map(|(at, _)| {
            let rest = &text[at + key.len()..];
            let end = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            rest[..end].parse::<f64>().ok()
        })
        .last()
}

pub fn run(bench: &TurnBench) -> Result<Figures> {
    let broker = broker_binary()?;
    let peer_port = free_port()?;
    let mut peer = pinned(1, "turnutils_peer")
        .args(["-L", "127.0.0.1", "-p", &peer_port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("cannot run turnutils_peer (Debian package coturn)")?;
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    for round in 0..bench.rounds {
        // A fresh server each round, in alternating order, so neither always runs second.
        let order = if round % 2 == 0 {
            [true, false]
        } else {
            [false, true]
        };
        for embedded in order {
            let server = if embedded {
                start_ours(&broker)?
            } else {
                start_coturn()?
            };
            let result = run_client(bench, &server, peer_port)?;
            println!(
                "turn round {}: {:<8} delivered {:>7.0} loss {:.3}% cpu {:.2} s {:.0} B/allocation",
                round + 1,
                if embedded { "embedded" } else { "coturn" },
                result.delivered,
                result.loss_percent,
                result.cpu_seconds,
                result.bytes_per_allocation
            );
            if embedded {
                ours.push(result);
            } else {
                theirs.push(result);
            }
        }
    }
    let _ = peer.kill();
    let _ = peer.wait();

    println!(
        "turn: {} allocations × {} packets of {} bytes every {} ms, {} rounds, medians; \
         server on core 0, client and peer on core 1",
        bench.allocations,
        bench.packets_per_allocation,
        bench.packet_bytes,
        bench.interval_ms,
        bench.rounds
    );
    let mut figures = Figures::default();
    let compared: [Compared<Round>; 4] = [
        ("turn.delivered", |r| r.delivered, ""),
        ("turn.loss", |r| r.loss_percent, "%"),
        ("turn.cpu-seconds", |r| r.cpu_seconds, "s"),
        (
            "turn.memory-per-allocation",
            |r| r.bytes_per_allocation / 1024.0,
            "KiB",
        ),
    ];
    for (name, figure, unit) in compared {
        figures.median_against_peer(name, &ours, &theirs, figure, unit);
    }
    Ok(figures)
}
