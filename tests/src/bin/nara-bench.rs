//! `tests/bench`: the benchmarks (DESIGN.md, "How we test"). `--list` names them; `NAME` runs
//! one and ends with one line per figure.

use nara_tests::bench::{routing, turn, Figures};
use std::process::ExitCode;

const BENCHMARKS: &[(&str, &str)] = &[
    (
        "routing",
        "the routing state machine: 5 000 officers, 500 queues, a day's visits at 100x",
    ),
    (
        "turn",
        "turnutils_uclient against the embedded TURN server and coturn: delivery, loss, CPU, memory",
    ),
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        None | Some("--list") => {
            for (name, what) in BENCHMARKS {
                println!("{name:<12} {what}");
            }
            ExitCode::SUCCESS
        }
        Some("routing") => {
            let mut bench = routing::RoutingBench::default();
            // `--quick` replays the day at 10 000x; `--officers N` and `--visits N` scale it.
            if args.iter().any(|a| a == "--quick") {
                bench.speed = 10_000;
            }
            let value = |flag: &str| {
                args.iter()
                    .position(|a| a == flag)
                    .and_then(|i| args.get(i + 1))
                    .and_then(|v| v.parse::<usize>().ok())
            };
            if let Some(n) = value("--officers") {
                bench.officers = n;
            }
            if let Some(n) = value("--visits") {
                bench.visits = n;
            }
            let figures: Figures = routing::run(&bench);
            figures.print();
            ExitCode::SUCCESS
        }
        Some("turn") => {
            let mut bench = turn::TurnBench::default();
            // `--quick`: one round of 50 allocations; `--allocations N` scales it.
            if args.iter().any(|a| a == "--quick") {
                bench.allocations = 50;
                bench.packets_per_allocation = 200;
                bench.rounds = 1;
            }
            if let Some(n) = args
                .iter()
                .position(|a| a == "--allocations")
                .and_then(|i| args.get(i + 1))
                .and_then(|v| v.parse().ok())
            {
                bench.allocations = n;
            }
            match turn::run(&bench) {
                Ok(figures) => {
                    figures.print();
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("turn benchmark: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
        Some(other) => {
            eprintln!("no benchmark {other:?}; `tests/bench --list` names them");
            ExitCode::from(2)
        }
    }
}
