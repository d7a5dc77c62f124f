//! The kiosk's command line: `kiosk enrol` once, then `kiosk run`.

use crate::config::Config;
use crate::media::{Media, Source};
use crate::peer::{PeerSettings, TurnBridges};
use crate::scanner::Scanner;
use crate::ui::UiOptions;
use crate::{api, controller, identity};
use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
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
        /// The local control API: a loopback address (127.0.0.1:PORT) or unix:PATH.
        #[arg(long)]
        api: Option<api::ApiListen>,
        /// Media only through TURN relays.
        #[arg(long)]
        relay_only: bool,
        /// Offer loopback candidates and bind media there (tests on one machine).
        #[arg(long)]
        loopback: bool,
        /// The screen in a window instead of full screen (development).
        #[arg(long)]
        windowed: bool,
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
    let to_run: Option<(Config, Option<UiOptions>)> = runtime.block_on(async move {
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
                Ok::<_, anyhow::Error>(None)
            }
            Commands::Run {
                config,
                data_dir,
                headless,
                test_sources,
                api,
                relay_only,
                loopback,
                windowed,
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
                let screen = (!settings.headless && display_available()).then(|| UiOptions {
                    fullscreen: !windowed,
                    screenshots: std::env::var_os("NARA_UI_SCREENSHOTS").map(PathBuf::from),
                });
                if screen.is_none() && !settings.headless {
                    tracing::info!("no display (DISPLAY or WAYLAND_DISPLAY): running headless");
                    settings.headless = true;
                }
                Ok(Some((settings, screen)))
            }
            Commands::ScannerHelper { .. } => unreachable!("answered before the runtime"),
        }
    })?;
    let Some((settings, screen)) = to_run else {
        return Ok(());
    };
    let kiosk = runtime.block_on(start(settings))?;
    match screen {
        // The screen runs on this thread; a signal closes it, then the kiosk stops.
        Some(options) => {
            let signals = runtime.spawn(async {
                wait_for_signal().await;
                crate::ui::app::quit();
            });
            let shown = crate::ui::run(kiosk.handle.clone(), runtime.handle().clone(), options);
            signals.abort();
            runtime.block_on(kiosk.stop());
            shown
        }
        None => runtime.block_on(async {
            wait_for_signal().await;
            kiosk.stop().await;
            Ok(())
        }),
    }
}

/// Whether a screen can be opened: an X11 or Wayland display is named.
fn display_available() -> bool {
    ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty()))
}

/// A started kiosk: its handle, and what stops it.
struct Running {
    handle: controller::Handle,
    stop: tokio::sync::watch::Sender<bool>,
    kiosk: tokio::task::JoinHandle<()>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    async fn stop(self) {
        tracing::info!("stopping");
        let _ = self.stop.send(true);
        let _ = self.kiosk.await;
        let _ = self.server.await;
    }
}

async fn start(mut config: Config) -> Result<Running> {
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
    let (address, server) = api::serve(
        &config.api_listen,
        api::app(handle.clone()),
        shutdown.clone(),
    )
    .await
    .with_context(|| format!("cannot listen for the local API on {}", config.api_listen))?;
    // Tests and the demo wait for this line.
    println!("READY kiosk={kiosk_id} api={address}");
    Ok(Running {
        handle,
        stop,
        kiosk,
        server,
    })
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
