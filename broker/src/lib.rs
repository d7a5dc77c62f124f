//! The Nära broker: signalling, queues and routing, the kiosk fleet, statistics and the admin
//! API, over HTTPS and WSS.
//!
//! Where to start reading:
//! - [`core`]: every rule of a visit, I/O-free: inputs in, outputs out, time as an input.
//! - [`routing`]: the core's routing (queues, offers, calls, transfers, estimates).
//! - [`driver`]: the task that runs the core and carries out what it decides.
//! - [`ws`]: the kiosk and desk WebSockets, pumps into the core; [`api`]: the REST API and
//!   `app()`.
//! - [`server`]: TLS, limits and graceful shutdown; [`pki`]: certificates and the kiosk CA;
//!   [`descriptors`]: how many connections the open-files limit allows.
//! - [`storage`]: the `Store` trait over SQLite and PostgreSQL.
//! - [`config`]: the typed configuration; [`clock`]: the wall clock, fakeable in tests;
//!   [`demo`]: demo data.
//! - [`turn`]: TURN credentials and the embedded TURN server.
//!
//! [`start`] puts it all together; [`cli`] is the command line.

pub mod api;
pub mod cli;
pub mod clock;
pub mod config;
pub mod core;
pub mod demo;
pub mod descriptors;
pub mod driver;
pub mod metrics;
pub mod per_address;
pub mod pki;
pub mod routing;
pub mod server;
pub mod state;
pub mod storage;
pub mod turn;
pub mod ws;

use anyhow::Context;
use config::Config;
use state::{AppState, Connections};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use storage::{sql::SqlStore, Store};
use tokio::sync::watch;

/// A broker that is running; dropping it does not stop it, [`RunningBroker::shutdown`] does.
#[derive(Debug)]
pub struct RunningBroker {
    pub addr: SocketAddr,
    pub fingerprint: String,
    pub cert_path: PathBuf,
    pub demo_logins: Vec<demo::DemoLogin>,
    pub state: AppState,
    /// The embedded TURN server, unless `turn.embedded.enabled` is off.
    pub turn_server: Option<turn::server::EmbeddedTurn>,
    shutdown: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl RunningBroker {
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
        if let Some(turn) = &self.turn_server {
            turn.close().await;
        }
    }
}

/// Opens storage, restores waiting visits, and starts serving on `config.listen`.
pub async fn start(config: Config) -> anyhow::Result<RunningBroker> {
    start_with_clock(config, Arc::new(clock::SystemClock)).await
}

/// As [`start`], with the wall clock the broker's rules read.
pub async fn start_with_clock(
    config: Config,
    clock: Arc<dyn clock::Clock>,
) -> anyhow::Result<RunningBroker> {
    // The database, the keys and the TURN secret live here: the broker's alone (L4 of the
    // security review: it was 0755, the secret and the database 0644).
    pki::private_dir(&config.data_dir)?;
    let url = config.database_url()?;
    let store: Arc<dyn Store> = Arc::new(
        SqlStore::connect(&url)
            .await
            .with_context(|| format!("cannot open database {}", redact_url(&url)))?,
    );
    owner_only_database_files(&url)?;
    let identity = pki::server_identity(
        config.tls.cert_file.as_deref(),
        config.tls.key_file.as_deref(),
        &config.data_dir,
        &config.tls.self_signed_names,
    )?;
    let ca = pki::KioskCa::load_or_create(&config.data_dir)?;
    let secret = match config.turn_secret()? {
        Some(s) => s,
        None => {
            let path = config.data_dir.join("turn.secret");
            if !path.exists() {
                pki::write_private(&path, &api::random_token(40))?;
            }
            std::fs::read_to_string(&path)?.trim().to_string()
        }
    };
    let demo_logins = if config.demo {
        demo::seed(store.as_ref()).await?
    } else {
        Vec::new()
    };
    let retention = config.statistics.retention_days as u64 * 86_400_000;
    let purged = store
        .purge_before(clock.now_ms().saturating_sub(retention))
        .await?;
    if purged > 0 {
        tracing::info!(purged, "statistics past retention deleted");
    }

    // Waiting visits come back in order; their kiosks have the grace time to reconnect.
    let now = clock.now_ms();
    let out_of_service = store
        .kiosks()
        .await?
        .into_iter()
        .filter_map(|k| {
            let kiosk = nara_protocol::KioskId::new(k.id).ok()?;
            Some((kiosk, nara_protocol::LongText::new(k.out_of_service?).ok()?))
        })
        .collect();
    let restored = crate::core::Restored {
        agencies: store.agencies().await?,
        bookings: store.bookings().await?,
        out_of_service,
        waiting: store.waiting().await?,
        calls: store.calls().await?,
    };
    let core_config = crate::core::CoreConfig {
        routing: config.routing.clone(),
        zone: config.zone(),
        heartbeat_seconds: config.fleet.heartbeat_seconds,
        id_prefix: api::random_token(4),
    };
    let core = crate::core::Core::new(core_config, restored, now);
    let connections = Arc::new(Connections::default());
    let metrics = Arc::new(metrics::Metrics::default());
    let core = driver::spawn(
        core,
        driver::Shell {
            connections: Arc::clone(&connections),
            metrics: Arc::clone(&metrics),
            store: Arc::clone(&store),
            clock: Arc::clone(&clock),
        },
    );
    let tls = server::tls_config(&identity, &ca)?;
    let turn_server = if config.turn.embedded.enabled {
        Some(
            turn::server::EmbeddedTurn::start(
                &config.turn.embedded,
                &secret,
                config.turn.credential_ttl_seconds,
                server::turn_tls_config(&identity)?,
            )
            .await?,
        )
    } else {
        None
    };
    let turn_urls = match &turn_server {
        Some(server) if config.turn.urls.is_empty() => server.urls(&url_host(server.relay_ip)),
        _ => config.turn.urls.clone(),
    };
    let turn = turn::TurnCredentials::new(secret, config.turn.credential_ttl_seconds, turn_urls);
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {} (in use? set --listen)", config.listen))?;
    let addr = listener.local_addr()?;
    // Port 0 becomes the real port, so default Origins name the address people really use.
    let mut config = config;
    config.listen = addr;
    let state = AppState {
        config: Arc::new(config),
        store,
        ca: Arc::new(ca),
        core,
        connections,
        metrics,
        turn: Arc::new(turn),
        passwords: Arc::default(),
        clock,
    };
    let app = api::app(state.clone());
    let (shutdown, shutdown_rx) = watch::channel(false);
    tokio::spawn(refresh_turn_credentials(state.clone(), shutdown_rx.clone()));
    tokio::spawn(close_expired_sessions(state.clone(), shutdown_rx.clone()));
    // Before anything is accepted, and logged before READY, so an operator sees it at start.
    let budget = descriptors::raise_and_budget(&state.config);
    if let Some(why) = &budget.shortfall {
        tracing::warn!("{why}");
    }
    let task = tokio::spawn(server::serve(
        listener,
        tls,
        app,
        state.clone(),
        budget.connections,
        shutdown_rx,
    ));
    Ok(RunningBroker {
        addr,
        fingerprint: identity.fingerprint,
        cert_path: identity.cert_path,
        demo_logins,
        state,
        turn_server,
        shutdown,
        task,
    })
}

async fn refresh_turn_credentials(state: AppState, mut shutdown: watch::Receiver<bool>) {
    let period = turn::refresh_interval(state.config.turn.credential_ttl_seconds);
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    loop {
        tokio::select! {
            _ = ticks.tick() => {
                turn::refresh_everyone(&state.connections, &state.turn, state.clock.now_ms() / 1000);
            }
            _ = shutdown.changed() => return,
        }
    }
}

/// Closes the desks whose login session has expired, within a second of its end (L1 of the
/// security review: a desk's WebSocket outlived its session).
async fn close_expired_sessions(state: AppState, mut shutdown: watch::Receiver<bool>) {
    let mut ticks = tokio::time::interval(std::time::Duration::from_millis(500));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let farewell = api::auth::session_ended("your session has expired");
    loop {
        tokio::select! {
            _ = ticks.tick() => {
                state.connections.close_expired(state.clock.now_ms(), &farewell);
            }
            _ = shutdown.changed() => return,
        }
    }
}

/// SQLite creates its files with the process's umask; the database and its journals are
/// made readable by the broker alone.
fn owner_only_database_files(url: &str) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let Some(rest) = url.strip_prefix("sqlite://") else {
        return Ok(());
    };
    let file = rest.split('?').next().unwrap_or(rest);
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let path = std::path::PathBuf::from(format!("{file}{suffix}"));
        if path.exists() {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                .with_context(|| format!("cannot make {} private (chmod 600)", path.display()))?;
        }
    }
    Ok(())
}

pub(crate) fn url_host(ip: std::net::IpAddr) -> String {
    match ip {
        std::net::IpAddr::V4(v4) => v4.to_string(),
        std::net::IpAddr::V6(v6) => format!("[{v6}]"),
    }
}

fn redact_url(url: &str) -> String {
    match url.split_once('@') {
        Some((before, after)) => format!(
            "{}:***@{after}",
            before.rsplit_once(':').map(|(u, _)| u).unwrap_or(before)
        ),
        None => url.to_string(),
    }
}
