//! The kiosk's command line: `kiosk enrol` once, then `kiosk run`.

use crate::config::Config;
use crate::media::{Media, Source};
use crate::peer::{PeerSettings, TurnBridges};
use crate::scanner::Scanner;
use crate::{api, controller, identity};
use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Parser, Debug)]
#[command(name = "kiosk", version, about = "Nära kiosk: a kundarbetsplats")]
struct Cli {
    #[command(subcommand)]
    command: Commands,
}

#[derive(Subcommand, Debug)]
enum Commands {
    /// Enrol this kiosk with the one-time code an administrator made for it.
    Enrol {
        /// The broker's address, e.g. https://broker.example:8443
        #[arg(long)]
        broker: String,
        #[arg(long)]
        code: String,
        /// The broker's certificate, when it is not signed by a known authority.
        #[arg(long)]
        broker_ca: Option<PathBuf>,
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Run the kiosk.
    Run {
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// No window, no speaker; controlled through the local API.
        #[arg(long)]
        headless: bool,
        /// GStreamer's test pattern and tone instead of the camera and microphone.
        #[arg(long)]
        test_sources: bool,
        /// The local control API's address (loopback).
        #[arg(long)]
        api: Option<SocketAddr>,
        /// Media only through TURN relays.
        #[arg(long)]
        relay_only: bool,
        /// Offer loopback candidates and bind media there (tests on one machine).
        #[arg(long)]
        loopback: bool,
    },
    /// Runs SANE for one request of a running kiosk (see `scanner::helper`).
    #[command(hide = true)]
    ScannerHelper { task: String, config: String },
}

/// Runs the command line and returns the process's exit status.
pub fn main() -> std::process::ExitCode {
    match run_cli() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("kiosk: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The WebRTC stack logs per packet when a path breaks (a failed send, a check it cannot
/// answer yet): hundreds of lines a second in the journal during an outage. The kiosk reports
/// breaks and recoveries itself, once each.
const DEFAULT_LOG: &str = "info,webrtc=warn,rtc=warn,rtc_dtls=error,rtc_ice=error,\
     rtc::peer_connection::handler=error,webrtc::peer_connection::driver=off";

fn run_cli() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| DEFAULT_LOG.into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    if let Commands::ScannerHelper { task, config } = &cli.command {
        return match crate::scanner::helper::serve(task, config) {
            code if code == std::process::ExitCode::SUCCESS => Ok(()),
            _ => anyhow::bail!("the scanner helper could not answer"),
        };
    }
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        match cli.command {
            Commands::Enrol {
                broker,
                code,
                broker_ca,
                config,
                data_dir,
            } => {
                let mut settings = Config::load(config.as_deref())?;
                if let Some(dir) = data_dir {
                    settings.data_dir = dir;
                }
                let identity =
                    identity::enrol(&settings.data_dir, &broker, &code, broker_ca.as_deref())
                        .await?;
                println!(
                    "Enrolled as kiosk {} at {}. Start it with `kiosk run`.",
                    identity.enrolment.kiosk, identity.enrolment.broker
                );
                Ok(())
            }
            Commands::Run {
                config,
                data_dir,
                headless,
                test_sources,
                api,
                relay_only,
                loopback,
            } => {
                let mut settings = Config::load(config.as_deref())?;
                if let Some(dir) = data_dir {
                    settings.data_dir = dir;
                }
                settings.headless |= headless;
                settings.network.relay_only |= relay_only;
                // Test sources instead of devices; a configured marker source is one already.
                if test_sources && matches!(settings.media.source, Source::Devices { .. }) {
                    settings.media.source = Source::Test;
                }
                if let Some(api) = api {
                    settings.api_listen = api;
                }
                if loopback {
                    settings.network.loopback = true;
                    settings.network.mdns = false;
                    settings.network.bind = vec!["127.0.0.1:0".parse()?];
                }
                run(settings).await
            }
            Commands::ScannerHelper { .. } => unreachable!("answered before the runtime"),
        }
    })
}

async fn run(mut config: Config) -> Result<()> {
    let identity = identity::load(&config.data_dir)?;
    config.media.headless = config.headless;
    let media = Arc::new(Media::start(&config.media)?);
    let settings = PeerSettings {
        ice_servers: Vec::new(),
        relay_only: config.network.relay_only,
        bind: config.network.bind.clone(),
        loopback: config.network.loopback,
        mdns: config.network.mdns,
    };
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let kiosk_id = identity.enrolment.kiosk.clone();
    let turn_bridges = TurnBridges::new(Arc::new(identity.turn_tls_config()?));
    let helper = std::env::current_exe().context("cannot find the kiosk's own program")?;
    let scanner = Arc::new(Scanner::start(config.scanner.clone(), helper));
    let (handle, kiosk) = controller::start(
        identity,
        media,
        settings,
        turn_bridges,
        scanner,
        shutdown.clone(),
    );
    let listener = tokio::net::TcpListener::bind(config.api_listen)
        .await
        .with_context(|| format!("cannot listen for the local API on {}", config.api_listen))?;
    let address = listener.local_addr()?;
    // Tests and the demo wait for this line.
    println!("READY kiosk={kiosk_id} api=http://{address}");
    let mut api_shutdown = shutdown.clone();
    let server = axum::serve(listener, api::app(handle)).with_graceful_shutdown(async move {
        let _ = api_shutdown.changed().await;
    });
    let server = tokio::spawn(async move { server.await });
    wait_for_signal().await;
    tracing::info!("stopping");
    let _ = stop.send(true);
    let _ = kiosk.await;
    let _ = server.await;
    Ok(())
}

async fn wait_for_signal() {
    let mut terminate =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async {
            match terminate.as_mut() {
                Some(t) => { t.recv().await; }
                None => std::future::pending::<()>().await,
            }
        } => {}
    }
}
