//! Test clients and a broker to point them at.

use anyhow::{anyhow, bail, Context, Result};
use futures_util::{SinkExt, StreamExt};
use nara_broker::config::Config;
use nara_protocol::desk::{BrokerToDesk, DeskToBroker};
use nara_protocol::kiosk::{BrokerToKiosk, KioskToBroker};
use nara_protocol::{decode, encode, PROTOCOL_VERSION};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde::de::DeserializeOwned;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

/// How long a test waits for something a person would see before it fails.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// A broker in this process, on 127.0.0.1 port 0, with the demo directory.
pub struct TestBroker {
    pub broker: nara_broker::RunningBroker,
    pub data_dir: tempfile::TempDir,
}

impl TestBroker {
    pub async fn start(ring_timeout_ms: u64) -> Result<TestBroker> {
        Self::start_with(ring_timeout_ms, |_| {}).await
    }

    /// As [`TestBroker::start`], with `adjust` applied to the configuration last.
    pub async fn start_with(
        ring_timeout_ms: u64,
        adjust: impl FnOnce(&mut Config),
    ) -> Result<TestBroker> {
        Self::start_on_clock(
            ring_timeout_ms,
            adjust,
            Arc::new(nara_broker::clock::SystemClock),
        )
        .await
    }

    /// As [`TestBroker::start_with`], with the wall clock the broker's rules read.
    pub async fn start_on_clock(
        ring_timeout_ms: u64,
        adjust: impl FnOnce(&mut Config),
        clock: Arc<dyn nara_broker::clock::Clock>,
    ) -> Result<TestBroker> {
        let data_dir = tempfile::tempdir()?;
        let mut config = Config::load(None, Vec::new())?;
        config.listen = "127.0.0.1:0".parse()?;
        config.data_dir = data_dir.path().to_path_buf();
        config.demo = true;
        config.routing.ring_timeout_ms = ring_timeout_ms;
        config.limits.messages_per_second = 50;
        config.limits.message_burst = 100;
        config.turn.embedded.listen = "127.0.0.1:0".parse()?;
        adjust(&mut config);
        let broker = nara_broker::start_with_clock(config, clock).await?;
        Ok(TestBroker { broker, data_dir })
    }
}

/// Where a broker answers and the certificate it presents: in this process or another.
pub trait BrokerEndpoint {
    fn addr(&self) -> SocketAddr;
    fn cert_path(&self) -> PathBuf;
}

impl BrokerEndpoint for TestBroker {
    fn addr(&self) -> SocketAddr {
        self.broker.addr
    }

    fn cert_path(&self) -> PathBuf {
        self.broker.cert_path.clone()
    }
}

/// The broker binary as a separate process, for tests that kill it.
pub struct BrokerProcess {
    child: tokio::process::Child,
    addr: SocketAddr,
    cert_path: PathBuf,
    /// Everything it has written so far (its log and its banner), and a signal per line.
    log: Arc<std::sync::Mutex<String>>,
    logged: Arc<tokio::sync::Notify>,
}

impl BrokerProcess {
    /// Starts `broker serve --demo` on port 0 with `data_dir`, and waits for READY.
    pub async fn start(binary: &Path, data_dir: &Path) -> Result<BrokerProcess> {
        Self::start_with(binary, data_dir, &[], None).await
    }

    /// As [`BrokerProcess::start`], with `env` added and, if given, the open-files limit set
    /// to `open_files` (through util-linux's `prlimit`).
    pub async fn start_with(
        binary: &Path,
        data_dir: &Path,
        env: &[(&str, &str)],
        open_files: Option<u64>,
    ) -> Result<BrokerProcess> {
        Self::start_at(binary, data_dir, env, open_files, "127.0.0.1:0".parse()?).await
    }

    /// As [`BrokerProcess::start_with`], listening on `listen` (a restarted broker keeps the
    /// address its kiosks were enrolled with).
    pub async fn start_at(
        binary: &Path,
        data_dir: &Path,
        env: &[(&str, &str)],
        open_files: Option<u64>,
        listen: SocketAddr,
    ) -> Result<BrokerProcess> {
        use tokio::io::{AsyncBufReadExt, BufReader};
        let mut command = match open_files {
            Some(n) => {
                let mut c = tokio::process::Command::new("prlimit");
                c.arg(format!("--nofile={n}:{n}")).arg("--").arg(binary);
                c
            }
            None => tokio::process::Command::new(binary),
        };
        // The broker refuses NARA_ variables it does not know, such as the test suite's own.
        for (name, _) in std::env::vars() {
            if name.starts_with("NARA_") {
                command.env_remove(name);
            }
        }
        let mut child = command
            .args([
                "serve",
                "--demo",
                "--listen",
                &listen.to_string(),
                "--data-dir",
            ])
            .arg(data_dir)
            .env("NARA_TURN__EMBEDDED__LISTEN", "127.0.0.1:0")
            .env("NARA_LOG", "warn")
            .envs(env.iter().copied())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot run {}", binary.display()))?;
        let stderr = child.stderr.take().ok_or_else(|| anyhow!("no stderr"))?;
        let log = Arc::new(std::sync::Mutex::new(String::new()));
        let logged = Arc::new(tokio::sync::Notify::new());
        let append = {
            let log = log.clone();
            let logged = logged.clone();
            move |line: &str| {
                let mut log = log.lock().expect("not poisoned");
                log.push_str(line);
                log.push('\n');
                logged.notify_waiters();
            }
        };
        let logging = {
            let append = append.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(stderr).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    append(&line);
                }
            })
        };
        let stdout = child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
        let mut lines = BufReader::new(stdout).lines();
        let mut addr = None;
        let mut cert_path = None;
        let ready = tokio::time::timeout(PATIENCE, async {
            while let Some(line) = lines.next_line().await? {
                append(&line);
                if let Some(rest) = line.strip_prefix("Nära broker listening on https://") {
                    addr = Some(rest.trim().parse::<SocketAddr>()?);
                }
                if let Some(rest) = line.strip_prefix("TLS certificate ") {
                    cert_path = rest.split(" — ").next().map(PathBuf::from);
                }
                if line == "READY" {
                    return Ok(());
                }
            }
            bail!("the broker exited before READY")
        })
        .await
        .context("the broker did not print READY in time")?;
        if let Err(e) = ready {
            let _ = child.kill().await;
            let _ = tokio::time::timeout(PATIENCE, logging).await;
            let stderr = log.lock().expect("not poisoned").clone();
            bail!("{e}: {stderr}");
        }
        // Keep reading (its log goes to stdout) so the broker never blocks on a full pipe.
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                append(&line);
            }
        });
        Ok(BrokerProcess {
            child,
            addr: addr.ok_or_else(|| anyhow!("the broker printed no address"))?,
            cert_path: cert_path.ok_or_else(|| anyhow!("the broker printed no certificate"))?,
            log,
            logged,
        })
    }

    /// What the broker has logged so far.
    pub fn log(&self) -> String {
        self.log.lock().expect("not poisoned").clone()
    }

    /// Waits until the broker has logged a line containing `needle`; the log so far.
    pub async fn logged(&self, needle: &str) -> Result<String> {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let next_line = self.logged.notified();
            let log = self.log();
            if log.contains(needle) {
                return Ok(log);
            }
            if tokio::time::timeout_at(deadline, next_line).await.is_err() {
                bail!("the broker never logged {needle:?}; its log:\n{log}");
            }
        }
    }

    /// SIGKILL: no shutdown, no flushing, as a power cut or the OOM killer.
    pub async fn kill(mut self) -> Result<()> {
        self.child.kill().await?;
        Ok(())
    }
}

impl BrokerEndpoint for BrokerProcess {
    fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn cert_path(&self) -> PathBuf {
        self.cert_path.clone()
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn roots(cert: &Path) -> Result<rustls::RootCertStore> {
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls_pemfile::certs(&mut std::fs::read(cert)?.as_slice()) {
        roots.add(c?)?;
    }
    Ok(roots)
}

/// A TLS client trusting the broker's certificate, optionally presenting a kiosk's.
pub fn tls_client(
    broker_cert: &Path,
    identity: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
) -> Result<rustls::ClientConfig> {
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots(broker_cert)?);
    Ok(match identity {
        Some((chain, key)) => builder.with_client_auth_cert(chain, key)?,
        None => builder.with_no_client_auth(),
    })
}

/// An HTTPS client with a cookie jar, as a browser tab.
pub fn http(broker_cert: &Path) -> Result<reqwest::Client> {
    let pem = std::fs::read(broker_cert)?;
    Ok(reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&pem)?)
        .cookie_store(true)
        .build()?)
}

pub async fn login(client: &reqwest::Client, addr: SocketAddr, username: &str) -> Result<String> {
    let response = client
        .post(format!("https://localhost:{}/api/login", addr.port()))
        .json(&serde_json::json!({ "username": username, "password": nara_broker::demo::DEMO_PASSWORD }))
        .send()
        .await?;
    if !response.status().is_success() {
        bail!(
            "login as {username} failed: {} {}",
            response.status(),
            response.text().await?
        );
    }
    let cookie = response
        .headers()
        .get("set-cookie")
        .and_then(|c| c.to_str().ok())
        .ok_or_else(|| anyhow!("no session cookie"))?;
    Ok(cookie.split(';').next().unwrap_or_default().to_string())
}

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Opens a WebSocket; on refusal returns the HTTP status and body.
pub async fn websocket(
    addr: SocketAddr,
    path: &str,
    tls: rustls::ClientConfig,
    headers: &[(&'static str, String)],
) -> Result<Socket, (u16, String)> {
    let mut request = format!("wss://localhost:{}{path}", addr.port())
        .into_client_request()
        .map_err(|e| (0, e.to_string()))?;
    for (name, value) in headers {
        request.headers_mut().insert(
            *name,
            value.parse().map_err(|_| (0, "bad header".to_string()))?,
        );
    }
    match tokio_tungstenite::connect_async_tls_with_config(
        request,
        None,
        true,
        Some(Connector::Rustls(Arc::new(tls))),
    )
    .await
    {
        Ok((socket, _)) => Ok(socket),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            let status = response.status().as_u16();
            let body = response
                .body()
                .as_ref()
                .map(|b| String::from_utf8_lossy(b).to_string())
                .unwrap_or_default();
            Err((status, body))
        }
        Err(e) => Err((0, e.to_string())),
    }
}

/// One side of the protocol: send `Out`, receive `In`.
pub struct Client<Out, In> {
    socket: Socket,
    pub seen: Vec<In>,
    _out: std::marker::PhantomData<Out>,
}

impl<Out: serde::Serialize, In: DeserializeOwned + std::fmt::Debug + Clone> Client<Out, In> {
    pub fn new(socket: Socket) -> Self {
        Client {
            socket,
            seen: Vec::new(),
            _out: std::marker::PhantomData,
        }
    }

    /// The WebSocket itself, for a benchmark that takes over after the protocol's steps.
    pub fn into_socket(self) -> Socket {
        self.socket
    }

    pub async fn send(&mut self, message: &Out) -> Result<()> {
        self.send_text(&encode(message)).await
    }

    pub async fn send_text(&mut self, text: &str) -> Result<()> {
        self.socket.send(Message::Text(text.into())).await?;
        Ok(())
    }

    /// The next message at all, or an error if the socket closed or nothing came in time.
    pub async fn next(&mut self) -> Result<In> {
        loop {
            let frame = tokio::time::timeout(PATIENCE, self.socket.next())
                .await
                .context("nothing arrived in time")?;
            match frame {
                Some(Ok(Message::Text(text))) => {
                    let message: In = decode(&text).map_err(|e| {
                        anyhow!("broker sent what the protocol does not allow: {e}: {text}")
                    })?;
                    self.seen.push(message.clone());
                    return Ok(message);
                }
                Some(Ok(Message::Close(frame))) => bail!("closed by the broker: {frame:?}"),
                Some(Ok(_)) => continue,
                Some(Err(e)) => bail!("socket error: {e}"),
                None => bail!("socket closed"),
            }
        }
    }

    /// Waits for the first message `pick` accepts, skipping others.
    pub async fn expect<T>(
        &mut self,
        what: &str,
        mut pick: impl FnMut(&In) -> Option<T>,
    ) -> Result<T> {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
            let message = tokio::time::timeout(remaining, self.next())
                .await
                .with_context(|| format!("waiting for {what}"))?
                .with_context(|| format!("waiting for {what}"))?;
            if let Some(found) = pick(&message) {
                return Ok(found);
            }
        }
    }

    /// True when the broker closes the socket (after any messages) within the patience.
    pub async fn closed(&mut self) -> bool {
        loop {
            match tokio::time::timeout(PATIENCE, self.socket.next()).await {
                Ok(Some(Ok(Message::Close(_)))) | Ok(None) | Ok(Some(Err(_))) => return true,
                Ok(Some(Ok(_))) => continue,
                Err(_) => return false,
            }
        }
    }
}

pub type Desk = Client<DeskToBroker, BrokerToDesk>;
pub type Kiosk = Client<KioskToBroker, BrokerToKiosk>;

/// A desk WebSocket logged in as `username`, before its hello.
pub async fn desk_socket(broker: &impl BrokerEndpoint, username: &str) -> Result<Desk> {
    let client = http(&broker.cert_path())?;
    let cookie = login(&client, broker.addr(), username).await?;
    let origin = format!("https://localhost:{}", broker.addr().port());
    let socket = websocket(
        broker.addr(),
        "/ws/desk",
        tls_client(&broker.cert_path(), None)?,
        &[("cookie", cookie), ("origin", origin)],
    )
    .await
    .map_err(|(s, b)| anyhow!("desk refused: {s} {b}"))?;
    Ok(Desk::new(socket))
}

/// A desk logged in as `username`, hello sent and welcome received.
pub async fn desk(broker: &impl BrokerEndpoint, username: &str) -> Result<Desk> {
    let mut desk = desk_socket(broker, username).await?;
    desk.send(&DeskToBroker::Hello {
        protocol_version: PROTOCOL_VERSION,
    })
    .await?;
    desk.expect("welcome", |m| {
        matches!(m, BrokerToDesk::Welcome { .. }).then_some(())
    })
    .await?;
    Ok(desk)
}

/// A kiosk's key and certificate after enrolment.
pub struct KioskIdentity {
    pub kiosk: String,
    pub chain: Vec<CertificateDer<'static>>,
    pub key_pem: String,
}

impl KioskIdentity {
    pub fn tls(&self, broker_cert: &Path) -> Result<rustls::ClientConfig> {
        let key = rustls_pemfile::private_key(&mut self.key_pem.as_bytes())?
            .ok_or_else(|| anyhow!("no key"))?;
        tls_client(broker_cert, Some((self.chain.clone(), key)))
    }
}

/// Registers a kiosk at `site` as `admin`; the one-time code it is enrolled with.
pub async fn enrolment_code(
    broker: &impl BrokerEndpoint,
    admin: &reqwest::Client,
    site: &str,
) -> Result<String> {
    let created: serde_json::Value = admin
        .post(format!(
            "https://localhost:{}/api/admin/kiosks",
            broker.addr().port()
        ))
        .json(&serde_json::json!({ "site": site, "name": "Entré" }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    created["enrolmentCode"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| anyhow!("no code in {created}"))
}

/// Registers a kiosk at `site` as `admin` and enrols it with a CSR made here.
pub async fn enrol_kiosk(
    broker: &impl BrokerEndpoint,
    admin: &reqwest::Client,
    site: &str,
) -> Result<KioskIdentity> {
    let base = format!("https://localhost:{}", broker.addr().port());
    let code = &enrolment_code(broker, admin, site).await?;
    let key = rcgen::KeyPair::generate()?;
    let csr = certificate_request(&key)?;
    let anonymous = http(&broker.cert_path())?;
    let response = anonymous
        .post(format!("{base}/api/kiosk/enrol"))
        .json(&serde_json::json!({ "code": code, "csrPem": csr }))
        .send()
        .await?;
    if !response.status().is_success() {
        bail!(
            "enrolment refused: {} {}",
            response.status(),
            response.text().await?
        );
    }
    let enrolled: serde_json::Value = response.json().await?;
    let cert_pem = enrolled["certificatePem"]
        .as_str()
        .ok_or_else(|| anyhow!("no certificate"))?;
    let chain = rustls_pemfile::certs(&mut cert_pem.as_bytes()).collect::<Result<Vec<_>, _>>()?;
    Ok(KioskIdentity {
        kiosk: enrolled["kiosk"].as_str().unwrap_or_default().to_string(),
        chain,
        key_pem: key.serialize_pem(),
    })
}

/// A certificate signing request for `key`, as a kiosk makes one.
pub fn certificate_request(key: &rcgen::KeyPair) -> Result<String> {
    Ok(rcgen::CertificateParams::new(Vec::<String>::new())?
        .serialize_request(key)?
        .pem()?)
}

/// Connects an enrolled kiosk, says hello and waits for the welcome.
pub async fn kiosk(
    broker_addr: SocketAddr,
    broker_cert: &Path,
    identity: &KioskIdentity,
    resume: Option<nara_protocol::VisitId>,
) -> Result<Kiosk> {
    let socket = websocket(broker_addr, "/ws/kiosk", identity.tls(broker_cert)?, &[])
        .await
        .map_err(|(s, b)| anyhow!("kiosk refused: {s} {b}"))?;
    let mut kiosk = Kiosk::new(socket);
    kiosk
        .send(&KioskToBroker::Hello {
            protocol_version: PROTOCOL_VERSION,
            software_version: nara_protocol::ShortText::new("test").unwrap(),
            resume_visit: resume,
        })
        .await?;
    kiosk
        .expect("welcome", |m| {
            matches!(m, BrokerToKiosk::Welcome { .. }).then_some(())
        })
        .await?;
    Ok(kiosk)
}

/// An administrator's HTTPS client, logged in.
pub async fn admin(broker: &impl BrokerEndpoint) -> Result<reqwest::Client> {
    let client = http(&broker.cert_path())?;
    login(&client, broker.addr(), "admin").await?;
    Ok(client)
}

impl Kiosk {
    /// The citizen picks `agency` in `language` without a booking.
    pub async fn start_visit(&mut self, agency: &str, language: &str) -> Result<()> {
        self.send(&KioskToBroker::StartVisit {
            language: nara_protocol::LanguageCode::new(language).map_err(|e| anyhow!(e))?,
            agency: nara_protocol::AgencyId::new(agency).map_err(|e| anyhow!(e))?,
            topic: None,
        })
        .await
    }

    /// Waits until the broker says the visit is queued.
    pub async fn queued(&mut self) -> Result<nara_protocol::VisitId> {
        self.expect("the visit queued", |m| match m {
            BrokerToKiosk::Queued { visit, .. } => Some(visit.clone()),
            _ => None,
        })
        .await
    }

    /// Waits for the broker's next error reply.
    pub async fn error(&mut self) -> Result<nara_protocol::ErrorReply> {
        self.expect("an error", |m| match m {
            BrokerToKiosk::Error(e) => Some(e.clone()),
            _ => None,
        })
        .await
    }
}

impl Desk {
    /// Says "available" and waits until the broker confirms it.
    pub async fn go_available(&mut self) -> Result<()> {
        use nara_protocol::desk::{AvailabilityChoice, StaffStatus};
        self.send(&DeskToBroker::SetStatus {
            status: AvailabilityChoice::Available,
        })
        .await?;
        self.expect("available", |m| {
            matches!(
                m,
                BrokerToDesk::StatusChanged {
                    status: StaffStatus::Available
                }
            )
            .then_some(())
        })
        .await
    }

    /// Waits for the broker's next error reply.
    pub async fn error(&mut self) -> Result<nara_protocol::ErrorReply> {
        self.expect("an error", |m| match m {
            BrokerToDesk::Error(e) => Some(e.clone()),
            _ => None,
        })
        .await
    }
}

async fn get_ok(
    client: &reqwest::Client,
    broker: &impl BrokerEndpoint,
    path: &str,
) -> Result<reqwest::Response> {
    let url = format!("https://localhost:{}{path}", broker.addr().port());
    Ok(client.get(url).send().await?.error_for_status()?)
}

/// GETs `path` as `client` and returns the body as JSON, failing on an error status.
pub async fn get_json(
    client: &reqwest::Client,
    broker: &impl BrokerEndpoint,
    path: &str,
) -> Result<serde_json::Value> {
    Ok(get_ok(client, broker, path).await?.json().await?)
}

/// The statistics row of one agency, as an administrator sees it.
pub async fn agency_statistics(
    admin: &reqwest::Client,
    broker: &impl BrokerEndpoint,
    agency: &str,
) -> Result<serde_json::Value> {
    let stats = get_json(admin, broker, "/api/statistics?groupBy=agency").await?;
    stats
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["group"] == agency)
        .cloned()
        .ok_or_else(|| anyhow!("no statistics for {agency}: {stats}"))
}

/// GETs `path` as `client` and returns the body as text, failing on an error status.
pub async fn get_text(
    client: &reqwest::Client,
    broker: &impl BrokerEndpoint,
    path: &str,
) -> Result<String> {
    Ok(get_ok(client, broker, path).await?.text().await?)
}

/// A TCP connection to `to` from `source`: any 127.x address is this machine, so tests can
/// play several clients at different addresses.
pub async fn connect_from(source: std::net::IpAddr, to: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(source, 0))?;
    socket.connect(to).await
}

/// Reads until the other end closes, passing over whatever it sends; the time that took, or
/// `None` if it did not close within `limit`.
pub async fn closed_within(
    stream: &mut (impl tokio::io::AsyncRead + Unpin),
    limit: Duration,
) -> Option<Duration> {
    use tokio::io::AsyncReadExt;
    let started = std::time::Instant::now();
    let mut buf = [0u8; 4096];
    tokio::time::timeout(limit, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return started.elapsed(),
                Ok(_) => {}
            }
        }
    })
    .await
    .ok()
}
