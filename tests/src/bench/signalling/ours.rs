//! The broker as a signalling target: officers' desks as the idle connections (the many that
//! sit open all day), kiosks and officers in calls as the relay pairs.
//!
//! Officers and their sessions are written straight into the database of a template data
//! directory (logging in 30 000 people through Argon2 would measure the password hash, not
//! signalling); kiosks are enrolled through the API once. Each round runs on a copy.

use super::load::{client_config, tcp_from, RelayPair, Socket, Target};
use super::SignallingBench;
use crate::bench::process::{broker_binary, broker_command, wait_for_broker, Server};
use crate::harness::{self, BrokerEndpoint, KioskIdentity};
use anyhow::{anyhow, bail, Context, Result};
use futures_util::{SinkExt, StreamExt};
use nara_broker::storage::sql::SqlStore;
use nara_broker::storage::{Role, StaffRow, Store};
use nara_protocol::desk::{BrokerToDesk, DeskToBroker};
use nara_protocol::kiosk::{BrokerToKiosk, KioskToBroker};
use nara_protocol::{encode, CallId, SignalPayload, StaffId, PROTOCOL_VERSION};
use sha2::{Digest, Sha256};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::Connector;

/// The agency whose officers answer the relay pairs' visits.
const PAIR_AGENCY: &str = "csn";
const SITES: &[&str] = &["rinkeby", "norsjo", "rosengard", "angered", "alby"];

/// A data directory with officers, sessions and enrolled kiosks, copied for each round.
pub struct Fixture {
    template: tempfile::TempDir,
    broker: PathBuf,
    idle_tokens: Arc<Vec<String>>,
    pair_tokens: Vec<String>,
    kiosks: Vec<KioskIdentity>,
    max_connections: usize,
}

/// A broker this process started, as the harness's clients address it.
struct Endpoint {
    addr: SocketAddr,
    cert_path: PathBuf,
}

impl BrokerEndpoint for Endpoint {
    fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn cert_path(&self) -> PathBuf {
        self.cert_path.clone()
    }
}

fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Fixture {
    pub async fn prepare(bench: &SignallingBench) -> Result<Fixture> {
        let broker = broker_binary()?;
        let template = tempfile::tempdir()?;
        let url = format!(
            "sqlite://{}?mode=rwc",
            template.path().join("nara.db").display()
        );
        let store = SqlStore::connect(&url).await?;
        nara_broker::demo::seed(&store).await?;
        let agencies: Vec<String> = store.agencies().await?.into_iter().map(|a| a.id).collect();
        let expires =
            nara_broker::clock::Clock::now_ms(&nara_broker::clock::SystemClock) + 24 * 3600 * 1000;
        let officer = |id: String, agency: String| {
            let token = format!("{id}-{}", nara_broker::api::random_token(24));
            let row = StaffRow {
                id: id.clone(),
                username: id.clone(),
                display_name: format!("Handläggare {id}"),
                // Not a password hash: these officers never log in, they have sessions.
                password_hash: "-".into(),
                role: Role::Officer,
                agency: Some(agency),
                region: None,
                languages: vec!["sv".into(), "en".into()],
                skills: Vec::new(),
                serves: Vec::new(),
                disabled: false,
            };
            (row, token)
        };
        let idle = bench.idle_identities();
        let mut idle_tokens = Vec::with_capacity(idle);
        let mut pair_tokens = Vec::with_capacity(bench.relay_pairs);
        let started = std::time::Instant::now();
        for n in 0..idle + bench.relay_pairs {
            let (row, token) = if n < idle {
                officer(
                    format!("bench-idle-{n}"),
                    agencies[n % agencies.len()].clone(),
                )
            } else {
                officer(format!("bench-pair-{}", n - idle), PAIR_AGENCY.to_string())
            };
            store.insert_staff(&row).await?;
            store
                .create_session(&token_hash(&token), &row.id, expires)
                .await?;
            if n < idle {
                idle_tokens.push(token);
            } else {
                pair_tokens.push(token);
            }
        }
        drop(store);
        println!(
            "signalling: {} officers with sessions written in {:.1} s",
            idle + bench.relay_pairs,
            started.elapsed().as_secs_f64()
        );
        let mut fixture = Fixture {
            template,
            broker,
            idle_tokens: Arc::new(idle_tokens),
            pair_tokens,
            kiosks: Vec::new(),
            max_connections: bench.ceiling + bench.relay_pairs * 2 + 1000,
        };
        let (server, endpoint) = fixture.spawn(fixture.template.path())?;
        let admin = harness::admin(&endpoint).await?;
        for n in 0..bench.relay_pairs {
            let site = SITES[n % SITES.len()];
            fixture
                .kiosks
                .push(harness::enrol_kiosk(&endpoint, &admin, site).await?);
        }
        drop(server);
        Ok(fixture)
    }

    fn spawn(&self, data_dir: &Path) -> Result<(Server, Endpoint)> {
        let mut child = broker_command(
            &self.broker,
            0,
            data_dir,
            &[
                (
                    "NARA_LIMITS__MAX_CONNECTIONS",
                    self.max_connections.to_string(),
                ),
                // The pairs' kiosks send offers, not heartbeats.
                ("NARA_FLEET__HEARTBEAT_SECONDS", "3600".to_string()),
                ("NARA_TURN__EMBEDDED__LISTEN", "127.0.0.1:0".to_string()),
                // No relays in this benchmark: their descriptors go to connections instead.
                ("NARA_TURN__EMBEDDED__MAX_ALLOCATIONS", "100".to_string()),
            ],
        )
        .spawn()
        .with_context(|| format!("cannot run {}", self.broker.display()))?;
        let ready = wait_for_broker(&mut child);
        let mut server = Server {
            child,
            port: 0,
            data: None,
        };
        let ready = ready?;
        server.port = ready.addr.port();
        Ok((
            server,
            Endpoint {
                addr: ready.addr,
                cert_path: ready.cert_path,
            },
        ))
    }

    /// A broker on a fresh copy of the template.
    pub async fn start(&self) -> Result<Broker<'_>> {
        let data = tempfile::tempdir()?;
        copy_dir(self.template.path(), data.path())?;
        let (mut server, endpoint) = self.spawn(data.path())?;
        server.data = Some(data);
        let tls = Arc::new(harness::tls_client(&endpoint.cert_path, None)?);
        Ok(Broker {
            server,
            endpoint,
            tls,
            idle_tokens: self.idle_tokens.clone(),
            pair_tokens: self.pair_tokens.clone(),
            kiosks: &self.kiosks,
        })
    }
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            std::fs::create_dir_all(&target)?;
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// A running broker for one round.
pub struct Broker<'a> {
    server: Server,
    endpoint: Endpoint,
    tls: Arc<rustls::ClientConfig>,
    idle_tokens: Arc<Vec<String>>,
    pair_tokens: Vec<String>,
    kiosks: &'a [KioskIdentity],
}

impl Broker<'_> {
    /// An officer's desk with session `token`, from `source`, greeted.
    async fn desk(&self, token: &str, source: IpAddr) -> Result<Socket> {
        let port = self.endpoint.addr.port();
        let mut request = format!("wss://localhost:{port}/ws/desk").into_client_request()?;
        let headers = request.headers_mut();
        headers.insert(
            "cookie",
            format!("{}={token}", nara_broker::api::auth::SESSION_COOKIE).parse()?,
        );
        headers.insert("origin", format!("https://localhost:{port}").parse()?);
        let tcp = tcp_from(source, self.endpoint.addr).await?;
        let (mut socket, _) = tokio_tungstenite::client_async_tls_with_config(
            request,
            tcp,
            Some(client_config()),
            Some(Connector::Rustls(self.tls.clone())),
        )
        .await?;
        socket
            .send(Message::Text(
                encode(&DeskToBroker::Hello {
                    protocol_version: PROTOCOL_VERSION,
                })
                .into(),
            ))
            .await?;
        while let Some(message) = socket.next().await {
            if let Message::Text(text) = message? {
                match nara_protocol::decode::<BrokerToDesk>(&text)? {
                    BrokerToDesk::Welcome { .. } => return Ok(socket),
                    BrokerToDesk::Error(e) => bail!("refused: {}", e.message),
                    _ => {}
                }
            }
        }
        bail!("closed before the welcome")
    }

    /// Kiosk `n` and pair officer `n` in a call: the officer goes available, the citizen
    /// queues, the officer answers.
    async fn pair(&self, n: usize) -> Result<RelayPair> {
        let identity = &self.kiosks[n];
        let mut kiosk =
            harness::kiosk(self.endpoint.addr, &self.endpoint.cert_path, identity, None).await?;
        let socket = self
            .desk(&self.pair_tokens[n], IpAddr::from([127, 0, 0, 1]))
            .await?;
        let mut officer = harness::Desk::new(socket);
        officer.go_available().await?;
        kiosk.start_visit(PAIR_AGENCY, "sv").await?;
        kiosk.queued().await?;
        let offer = officer
            .expect("an offer", |m| match m {
                BrokerToDesk::Offer { offer, .. } => Some(offer.clone()),
                _ => None,
            })
            .await?;
        officer.send(&DeskToBroker::AcceptOffer { offer }).await?;
        let (call, staff): (CallId, StaffId) = kiosk
            .expect("the call", |m| match m {
                BrokerToKiosk::CallStarted { call, officer, .. } => {
                    Some((call.clone(), officer.staff.clone()))
                }
                _ => None,
            })
            .await?;
        Ok(RelayPair {
            sender: kiosk.into_socket(),
            receiver: officer.into_socket(),
            envelope: Box::new(move |sdp| {
                encode(&KioskToBroker::Signal {
                    call: call.clone(),
                    to: staff.clone(),
                    payload: SignalPayload::Offer {
                        sdp: nara_protocol::Sdp::new(sdp).expect("the offer fits an SDP"),
                    },
                })
            }),
        })
    }
}

impl Target for Broker<'_> {
    fn server(&self) -> &Server {
        &self.server
    }

    async fn connect_idle(&self, n: usize, source: IpAddr) -> Result<Socket> {
        let token = self
            .idle_tokens
            .get(n)
            .ok_or_else(|| anyhow!("the fixture has no officer {n}"))?;
        self.desk(token, source).await
    }

    async fn relay_pairs(&self, count: usize) -> Result<Vec<RelayPair>> {
        let mut pairs = Vec::with_capacity(count);
        for n in 0..count {
            pairs.push(
                self.pair(n)
                    .await
                    .with_context(|| format!("relay pair {n}"))?,
            );
        }
        Ok(pairs)
    }
}
