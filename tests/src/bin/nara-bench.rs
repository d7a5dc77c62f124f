//! `tests/bench`: the benchmarks (DESIGN.md, "How we test"). `--list` names them; `NAME` runs
//! one and ends with one line per figure.

use nara_tests::bench::calls::{self, CallFigure};
use nara_tests::bench::documents;
use nara_tests::bench::{routing, routing_day, signalling, turn, Figures};
use std::process::ExitCode;

const BENCHMARKS: &[(&str, &str)] = &[
    (
        "call-setup",
        "answer to picture (connected while it rang; on loopback and behind an agency proxy) and offer to first frame, next to browser-to-browser calls",
    ),
    (
        "capture-to-display",
        "wall-clock marks from capture to display, kiosk ↔ officer next to browser ↔ browser",
    ),
    (
        "document-transfer",
        "an A4 page from the kiosk's send to the officer's browser over 20 Mbit/s, 40 ms; video fps meanwhile",
    ),
    (
        "kiosk-cpu",
        "the kiosk's CPU in a 720p30 call, next to the officer's Chromium in the same call",
    ),
    (
        "routing",
        "the routing state machine: 5 000 officers, 500 queues, a day's visits at 100x; then \
         how honest the wait estimates are over an office day with interpreters",
    ),
    (
        "signalling",
        "the broker's TLS WebSockets against the PeerJS server: idle memory, connections, relay latency",
    ),
    (
        "turn",
        "turnutils_uclient against the embedded TURN server and coturn: delivery, loss, CPU, memory",
    ),
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    match args.first().map(String::as_str) {
        None | Some("--list") => {
            for (name, what) in BENCHMARKS {
                println!("{name:<18} {what}");
            }
            ExitCode::SUCCESS
        }
        Some(name @ ("call-setup" | "kiosk-cpu" | "capture-to-display")) => {
            let mut bench = calls::CallBench::default();
            // `--quick`: three calls; `--calls N` sets how many.
            if quick {
                bench.calls = 3;
                bench.cpu_window = std::time::Duration::from_secs(5);
            }
            if let Some(n) = flag_value(&args, "--calls") {
                bench.calls = n;
            }
            let figure = match name {
                "call-setup" => CallFigure::Setup,
                "kiosk-cpu" => CallFigure::Cpu,
                _ => CallFigure::Latency,
            };
            report(calls::run(&bench, figure), name)
        }
        Some("document-transfer") => {
            let mut bench = documents::DocumentBench::default();
            // `--quick`: three pages; `--rounds N` sets how many.
            if quick {
                bench.rounds = 3;
            }
            if let Some(n) = flag_value(&args, "--rounds") {
                bench.rounds = n;
            }
            report(documents::run(&bench), "document-transfer")
        }
        Some("routing") => {
            let mut bench = routing::RoutingBench::default();
            // `--quick` replays the day at 10 000x; `--officers N`, `--visits N` and
            // `--hours N` (the length of the day) scale it.
            if quick {
                bench.speed = 10_000;
            }
            if let Some(n) = flag_value(&args, "--officers") {
                bench.officers = n;
            }
            if let Some(n) = flag_value(&args, "--visits") {
                bench.visits = n;
            }
            if let Some(n) = flag_value::<u64>(&args, "--hours") {
                bench.day_hours = n;
            }
            // `--estimates`: only the office day that measures the wait estimates.
            let mut figures = match args.iter().any(|a| a == "--estimates") {
                true => Figures::default(),
                false => routing::run(&bench),
            };
            // `--seed N`: another office day of the same shape.
            let mut day = routing_day::Day::default();
            if let Some(seed) = flag_value(&args, "--seed") {
                day.seed = seed;
            }
            if let Some(rate) = flag_value(&args, "--arrivals-per-hour") {
                day.arrivals_per_hour = rate;
            }
            routing_day::report(&day, &mut figures);
            report(Ok(figures), "routing")
        }
        Some("signalling") => {
            let mut bench = signalling::SignallingBench::default();
            // `--quick`: one short round of 2 000 connections; `--ceiling N` sets how many
            // idle connections to hold, `--rounds N` how many rounds.
            if quick {
                bench.ceiling = 2_000;
                bench.rounds = 1;
                bench.relay_duration = std::time::Duration::from_secs(4);
            }
            if let Some(n) = flag_value(&args, "--ceiling") {
                bench.ceiling = n;
            }
            if let Some(n) = flag_value(&args, "--rounds") {
                bench.rounds = n;
            }
            report(signalling::run(&bench), "signalling")
        }
        Some("turn") => {
            let mut bench = turn::TurnBench::default();
            // `--quick`: one round of 50 allocations; `--allocations N` scales it.
            if quick {
                bench.allocations = 50;
                bench.packets_per_allocation = 200;
                bench.rounds = 1;
            }
            if let Some(n) = flag_value(&args, "--allocations") {
                bench.allocations = n;
            }
            report(turn::run(&bench), "turn")
        }
        Some(other) => {
            eprintln!("no benchmark {other:?}; `tests/bench --list` names them");
            ExitCode::from(2)
        }
    }
}

/// The number after `flag`, if given.
fn flag_value<T: std::str::FromStr>(args: &[String], flag: &str) -> Option<T> {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
}

fn report(result: anyhow::Result<Figures>, name: &str) -> ExitCode {
    match result {
        Ok(figures) => {
            figures.print();
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{name} benchmark: {e:#}");
            ExitCode::FAILURE
        }
    }
}
