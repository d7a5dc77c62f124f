//! `broker serve`: the command line around [`crate::start`]. `main.rs` only calls [`main`].

use crate::config::Config;
use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "broker",
    version,
    about = "Nära broker: signalling, queues, kiosk fleet and statistics"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the broker.
    Serve {
        /// HTTPS/WSS address [default: 127.0.0.1:8443] (also NARA_LISTEN).
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// Data directory for certificates and the SQLite database (also NARA_DATA_DIR).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// TOML configuration file; see deploy/broker.sample.toml.
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Seed demo agencies, sites and accounts.
        #[arg(long)]
        demo: bool,
    },
}

/// Parses the command line and runs the broker until Ctrl-C or SIGTERM.
pub fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("NARA_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .init();
    let Command::Serve {
        listen,
        data_dir,
        config,
        demo,
    } = Cli::parse().command;
    let mut config = match Config::load(config.as_deref(), std::env::vars()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("broker: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    if let Some(listen) = listen {
        config.listen = listen;
    }
    if let Some(dir) = data_dir {
        config.data_dir = dir;
    }
    config.demo |= demo;
    let runtime = tokio::runtime::Runtime::new().expect("a Tokio runtime");
    runtime.block_on(async move {
        let broker = match crate::start(config).await {
            Ok(b) => b,
            Err(e) => {
                eprintln!("broker: {e:#}");
                return std::process::ExitCode::FAILURE;
            }
        };
        println!("Nära broker listening on https://{}", broker.addr);
        println!(
            "TLS certificate {} — SHA-256 fingerprint {}",
            broker.cert_path.display(),
            broker.fingerprint
        );
        if let Some(turn) = &broker.turn_server {
            println!(
                "TURN (embedded) on {} UDP and {} TCP, relaying from {}",
                turn.udp, turn.tcp, turn.relay_ip
            );
        }
        if !broker.demo_logins.is_empty() {
            println!("Demo logins (password {:?}):", crate::demo::DEMO_PASSWORD);
            for l in &broker.demo_logins {
                println!("  {:<34} {}", l.username, l.role);
            }
        }
        println!("READY");
        stop_requested().await;
        println!("shutting down");
        broker.shutdown().await;
        std::process::ExitCode::SUCCESS
    })
}

/// Ctrl-C, or SIGTERM from systemd: either asks for a graceful shutdown.
async fn stop_requested() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut terminate) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
