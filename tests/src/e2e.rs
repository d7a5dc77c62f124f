//! Real processes for end-to-end tests: the kiosk binary (enrolled with a real one-time code,
//! headless with GStreamer's test sources, driven through its local API) and an officer in
//! headless Chromium (`web/officer.mjs`), whose every observation arrives as a JSON line.

use crate::harness::{enrolment_code, BrokerEndpoint, PATIENCE};
use crate::netns::KioskNetwork;
use anyhow::{anyhow, bail, Context, Result};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;

/// Media takes longer than signalling: ICE, DTLS, the first key frame.
pub const MEDIA_PATIENCE: Duration = Duration::from_secs(30);
/// How long a headless Chromium may take to start, load the page and log in: a cold start
/// beside another test's load took over 10 s.
pub const BROWSER_PATIENCE: Duration = Duration::from_secs(30);
/// How long a page may take to scan and compress: a real scanner takes up to a minute at
/// 300 dpi in colour, and the debug build's JPEG encoder is slow on a busy machine.
pub const SCAN_PATIENCE: Duration = Duration::from_secs(60);

/// Makes a one-time code for a new kiosk at `site` as `admin`, and enrols the kiosk binary
/// with it into `data_dir`.
pub async fn enrol_kiosk_process(
    kiosk_binary: &Path,
    broker: &impl BrokerEndpoint,
    admin: &reqwest::Client,
    site: &str,
    data_dir: &Path,
) -> Result<String> {
    let base = format!("https://localhost:{}", broker.addr().port());
    enrol_kiosk_process_via(kiosk_binary, broker, &base, admin, site, data_dir).await
}

/// A kiosk of the Rinkeby office, as most tests need one: enrolled with `broker` through the
/// administrator's API, started on `data_dir` with `flags` (test sources, loopback media, SANE's
/// `test` scanner), and connected.
pub async fn connected_kiosk(
    kiosk_binary: &Path,
    broker: &impl BrokerEndpoint,
    data_dir: &Path,
    flags: &[&str],
) -> Result<KioskProcess> {
    let admin = crate::harness::admin(broker).await?;
    enrol_kiosk_process(kiosk_binary, broker, &admin, "rinkeby", data_dir).await?;
    let kiosk = KioskProcess::start(kiosk_binary, data_dir, flags).await?;
    kiosk.connected().await?;
    Ok(kiosk)
}

/// As [`enrol_kiosk_process`], reaching the broker at `base` (an `https://` address its
/// certificate names), which the kiosk keeps for its connection.
pub async fn enrol_kiosk_process_via(
    kiosk_binary: &Path,
    broker: &impl BrokerEndpoint,
    base: &str,
    admin: &reqwest::Client,
    site: &str,
    data_dir: &Path,
) -> Result<String> {
    let code = &enrolment_code(broker, admin, site).await?;
    let output = Command::new(kiosk_binary)
        .args(["enrol", "--broker", base, "--code", code, "--broker-ca"])
        .arg(broker.cert_path())
        .arg("--data-dir")
        .arg(data_dir)
        .output()
        .await?;
    if !output.status.success() {
        bail!(
            "kiosk enrol failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).to_string())
}

/// A running `kiosk run --headless`.
pub struct KioskProcess {
    child: Child,
    pub api: String,
    http: reqwest::Client,
    log: Arc<Mutex<String>>,
}

impl KioskProcess {
    /// Starts the kiosk on `data_dir` with test sources and loopback media, plus `extra` flags;
    /// waits for its READY line.
    pub async fn start(binary: &Path, data_dir: &Path, extra: &[&str]) -> Result<KioskProcess> {
        Self::start_in(binary, data_dir, extra, None).await
    }

    /// As [`KioskProcess::start`]; with a `network`, the kiosk runs inside its namespace and
    /// its local API listens on a Unix socket in `data_dir`: loopback there is the
    /// namespace's own, and the API serves nothing else.
    pub async fn start_in(
        binary: &Path,
        data_dir: &Path,
        extra: &[&str],
        network: Option<&KioskNetwork>,
    ) -> Result<KioskProcess> {
        let mut command = match network {
            Some(network) => {
                let exec = network.exec();
                let mut command = Command::new(&exec[0]);
                command.args(&exec[1..]).arg(binary);
                command
            }
            None => Command::new(binary),
        };
        command.args(["run", "--headless", "--test-sources"]);
        // A test's own SANE configuration (set in its process) wins over the harness's.
        if std::env::var_os("SANE_CONFIG_DIR").is_none() {
            command.env("SANE_CONFIG_DIR", sane_test_backend(SANE_A4_COLOUR)?);
        }
        match network {
            Some(_) => command.args([
                "--api",
                &format!("unix:{}", data_dir.join("api.sock").display()),
            ]),
            None => command.args(["--loopback", "--api", "127.0.0.1:0"]),
        };
        let mut child = command
            .arg("--data-dir")
            .arg(data_dir)
            .args(extra)
            // The kiosk's own default logging, unless KIOSK_LOG asks for more.
            .env_remove("RUST_LOG")
            .envs(std::env::var("KIOSK_LOG").map(|log| ("RUST_LOG", log)))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot run {}", binary.display()))?;
        let log = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().ok_or_else(|| anyhow!("no stderr"))?;
        {
            let log = log.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(stderr).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    let mut log = log.lock().expect("not poisoned");
                    log.push_str(&line);
                    log.push('\n');
                }
            });
        }
        let stdout = child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
        let mut lines = BufReader::new(stdout).lines();
        let ready = tokio::time::timeout(PATIENCE, async {
            while let Some(line) = lines.next_line().await? {
                if let Some(api) = line.split(" api=").nth(1) {
                    return Ok(api.trim().to_string());
                }
            }
            bail!("the kiosk exited before READY")
        })
        .await;
        let api = match ready {
            Ok(Ok(api)) => api,
            Ok(Err(e)) => bail!("{e}: {}", log.lock().expect("not poisoned")),
            Err(_) => bail!(
                "the kiosk did not print READY in time: {}",
                log.lock().expect("not poisoned")
            ),
        };
        // A Unix socket's requests go to it whatever the URL's host says.
        let (api, http) = match api.strip_prefix("unix:") {
            Some(path) => (
                "http://localhost".to_string(),
                reqwest::Client::builder().unix_socket(path).build()?,
            ),
            None => (api, reqwest::Client::new()),
        };
        Ok(KioskProcess {
            child,
            api,
            http,
            log,
        })
    }

    pub fn log(&self) -> String {
        self.log.lock().expect("not poisoned").clone()
    }

    /// GETs a path of the kiosk's local API; the status and the body's bytes.
    pub async fn get_bytes(&self, path: &str) -> Result<(u16, Vec<u8>)> {
        let response = self.http.get(format!("{}{path}", self.api)).send().await?;
        let status = response.status().as_u16();
        Ok((status, response.bytes().await?.to_vec()))
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    pub async fn status(&self) -> Result<Value> {
        Ok(self
            .http
            .get(format!("{}/status", self.api))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?)
    }

    /// POSTs `body` to the local API; the status code and the JSON answer (if any).
    pub async fn post(&self, path: &str, body: Value) -> Result<(u16, Value)> {
        let response = self
            .http
            .post(format!("{}{path}", self.api))
            .json(&body)
            .send()
            .await?;
        let status = response.status().as_u16();
        let text = response.text().await?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
    }

    /// Polls the kiosk's status until `ready` holds; fails after `patience`, showing the last
    /// status and the kiosk's log. A status that cannot be fetched (the kiosk's link is down)
    /// is asked for again.
    pub async fn wait_for(
        &self,
        what: &str,
        patience: Duration,
        ready: impl Fn(&Value) -> bool,
    ) -> Result<Value> {
        let deadline = tokio::time::Instant::now() + patience;
        let mut last = Value::Null;
        while tokio::time::Instant::now() < deadline {
            match tokio::time::timeout(PATIENCE, self.status()).await {
                Ok(Ok(status)) if ready(&status) => return Ok(status),
                Ok(Ok(status)) => last = status,
                Ok(Err(error)) => last = Value::String(format!("{error:#}")),
                Err(_) => last = Value::String("no answer to GET /status".into()),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!(
            "the kiosk never showed {what}; last status: {last:#}\nkiosk log:\n{}",
            self.log()
        )
    }

    /// Waits until the kiosk is connected to the broker.
    pub async fn connected(&self) -> Result<Value> {
        self.wait_for("a connection to the broker", PATIENCE, |s| {
            s["connected"] == true
        })
        .await
    }

    /// SIGTERM, and wait for the kiosk to stop.
    pub async fn stop(mut self) -> Result<std::process::ExitStatus> {
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
        }
        Ok(tokio::time::timeout(PATIENCE, self.child.wait())
            .await
            .with_context(|| format!("the kiosk did not stop; its log:\n{}", self.log()))??)
    }
}

/// The desk pages as `npm run build` in agent-desk/ writes them (scripts/test does), for the
/// broker to serve (`NARA_DESK_ASSETS`).
pub fn desk_assets() -> Result<PathBuf> {
    let dist = Path::new(env!("CARGO_MANIFEST_DIR")).join("../agent-desk/dist");
    if !dist.join("index.html").is_file() {
        bail!(
            "the desk pages are not built: run `npm ci && npm run build` in agent-desk/ (scripts/test does)"
        );
    }
    Ok(dist.canonicalize()?)
}

/// Where a test keeps what people look at afterwards (screenshots): `target/artefacts/NAME`,
/// beside the test's `target_tmp` (its `CARGO_TARGET_TMPDIR`).
pub fn artefacts_dir(target_tmp: &str, name: &str) -> PathBuf {
    Path::new(target_tmp)
        .parent()
        .expect("target/tmp has a parent")
        .join("artefacts")
        .join(name)
}

/// An officer in headless Chromium.
pub struct OfficerBrowser {
    child: Child,
    stdin: ChildStdin,
    events: mpsc::UnboundedReceiver<Value>,
    pub seen: Vec<Value>,
}

/// Where the browser tests' npm packages are; `scripts/test` runs `npm ci` there.
pub fn web_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("web")
}

/// `node tests/web/<script>` with its stdin and stdout piped to the test (it speaks JSON
/// lines) and its stderr shown; killed when dropped. Fails when the npm packages are missing.
pub fn node_script(script: &str) -> Result<Command> {
    node_script_in(script, None)
}

/// The same, run inside `network`'s namespace when one is given.
pub fn node_script_in(script: &str, network: Option<&KioskNetwork>) -> Result<Command> {
    let web = web_dir();
    if !web.join("node_modules/playwright-core").exists() {
        bail!(
            "playwright-core is not installed: run `npm ci` in {} (scripts/test does)",
            web.display()
        );
    }
    let mut command = match network {
        Some(network) => {
            let mut command = Command::new("ip");
            command.args(&network.exec()[1..]).arg("node");
            command
        }
        None => Command::new("node"),
    };
    command
        .arg(web.join(script))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    Ok(command)
}

impl OfficerBrowser {
    pub async fn start(
        broker: &impl BrokerEndpoint,
        username: &str,
        extra: &[&str],
    ) -> Result<OfficerBrowser> {
        let origin = format!("https://localhost:{}", broker.addr().port());
        Self::start_from(&origin, None, username, extra).await
    }

    /// An officer whose browser opens the broker at `origin`, run inside `network`'s
    /// namespace when one is given (an agency desktop behind its firewall).
    pub async fn start_from(
        origin: &str,
        network: Option<&KioskNetwork>,
        username: &str,
        extra: &[&str],
    ) -> Result<OfficerBrowser> {
        let mut child = node_script_in("officer.mjs", network)?
            .args(["--broker", origin])
            .args([
                "--user",
                username,
                "--password",
                nara_broker::demo::DEMO_PASSWORD,
            ])
            .args(extra)
            .spawn()
            .context("cannot run node (Debian package nodejs)")?;
        let stdin = child.stdin.take().ok_or_else(|| anyhow!("no stdin"))?;
        let stdout = child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
        let (tx, events) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if let Ok(event) = serde_json::from_str::<Value>(&line) {
                    let _ = tx.send(event);
                }
            }
        });
        Ok(OfficerBrowser {
            child,
            stdin,
            events,
            seen: Vec::new(),
        })
    }

    /// The first event, seen before or arriving within `patience`, for which `matches` holds.
    /// Errors reported by the page fail at once.
    pub async fn expect(
        &mut self,
        what: &str,
        patience: Duration,
        matches: impl Fn(&Value) -> bool,
    ) -> Result<Value> {
        if let Some(seen) = self.seen.iter().find(|e| matches(e)) {
            return Ok(seen.clone());
        }
        let deadline = tokio::time::Instant::now() + patience;
        loop {
            let event = tokio::time::timeout_at(deadline, self.events.recv())
                .await
                .map_err(|_| {
                    anyhow!(
                        "the officer's browser never saw {what}; it saw: {}",
                        summary(&self.seen)
                    )
                })?
                .ok_or_else(|| anyhow!("the officer's browser exited while waiting for {what}"))?;
            self.seen.push(event.clone());
            if event["event"] == "error" || event["event"] == "brokerError" {
                bail!("the officer's page reported an error: {event}");
            }
            if matches(&event) {
                return Ok(event);
            }
        }
    }

    /// At least `count` events for which `matches` holds, counting those seen before.
    pub async fn expect_many(
        &mut self,
        what: &str,
        patience: Duration,
        count: usize,
        matches: impl Fn(&Value) -> bool,
    ) -> Result<Vec<Value>> {
        let deadline = tokio::time::Instant::now() + patience;
        loop {
            let found: Vec<Value> = self.seen.iter().filter(|e| matches(e)).cloned().collect();
            if found.len() >= count {
                return Ok(found);
            }
            let event = tokio::time::timeout_at(deadline, self.events.recv())
                .await
                .map_err(|_| anyhow!("the browser saw {} of {count} {what}", found.len()))?
                .ok_or_else(|| anyhow!("the browser exited while waiting for {what}"))?;
            if event["event"] == "error" || event["event"] == "brokerError" {
                bail!("the page reported an error: {event}");
            }
            self.seen.push(event);
        }
    }

    /// The newest statistics the page reports from now on (older ones are forgotten).
    pub async fn fresh_stats(&mut self) -> Result<Value> {
        while let Ok(event) = self.events.try_recv() {
            self.seen.push(event);
        }
        self.seen.retain(|e| e["event"] != "stats");
        self.expect("fresh statistics", PATIENCE, |e| e["event"] == "stats")
            .await
    }

    /// An officer logged in and gone available, ready to be offered a visit.
    pub async fn start_available(
        broker: &impl BrokerEndpoint,
        username: &str,
        extra: &[&str],
    ) -> Result<OfficerBrowser> {
        let mut officer = OfficerBrowser::start(broker, username, extra).await?;
        officer
            .expect("going available", BROWSER_PATIENCE, |e| {
                e["event"] == "available"
            })
            .await?;
        Ok(officer)
    }

    /// The driver's pid: Chromium's processes are its descendants.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    pub async fn command(&mut self, line: &str) -> Result<()> {
        self.stdin.write_all(format!("{line}\n").as_bytes()).await?;
        self.stdin.flush().await?;
        Ok(())
    }

    pub async fn close(mut self) -> Result<()> {
        self.command("quit").await?;
        tokio::time::timeout(PATIENCE, self.child.wait())
            .await
            .context("the officer's browser did not close")??;
        Ok(())
    }
}

/// The last few events, without the repetitive statistics.
fn summary(seen: &[Value]) -> String {
    let interesting: Vec<String> = seen
        .iter()
        .filter(|e| e["event"] != "stats")
        .map(|e| e.to_string())
        .collect();
    let last_stats = seen.iter().rev().find(|e| e["event"] == "stats");
    format!("{interesting:?}; last stats: {last_stats:?}")
}

/// Starts a visit at `kiosk` (Swedish, CSN) that `officer` answers; returns once the call has
/// started. The officer's earlier events are forgotten.
pub async fn begin_call(kiosk: &KioskProcess, officer: &mut OfficerBrowser) -> Result<()> {
    officer.seen.clear();
    let (status, body) = kiosk
        .post(
            "/visit",
            serde_json::json!({ "language": "sv", "agency": "csn" }),
        )
        .await?;
    if status != 204 {
        bail!("the kiosk did not start a visit ({status}): {body}");
    }
    officer
        .expect("the call", PATIENCE, |e| e["event"] == "callStarted")
        .await?;
    Ok(())
}

/// Whether the kiosk decodes `peer`'s picture, as its status lists the people in the call:
/// a video track of a known size with more than a few frames decoded.
pub fn decodes_video(peer: &serde_json::Value) -> bool {
    peer["received"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|t| t["width"].as_u64().unwrap_or(0) > 0 && t["decoded"].as_u64().unwrap_or(0) > 10)
}

/// `officer` ends the call; the kiosk shows the end and goes back to idle, and the officer and
/// `others` in the call go available again, ready for the next.
pub async fn end_call<'a>(
    kiosk: &KioskProcess,
    officer: &mut OfficerBrowser,
    others: impl Iterator<Item = &'a mut OfficerBrowser>,
) -> Result<()> {
    officer.command("end").await?;
    officer
        .expect("the end of the call", PATIENCE, |e| {
            e["event"] == "callEnded"
        })
        .await?;
    kiosk
        .wait_for("the end of the visit", PATIENCE, |s| {
            s["visit"]["phase"] == "ended"
        })
        .await?;
    let (status, body) = kiosk.post("/visit/reset", serde_json::json!({})).await?;
    if status != 204 {
        bail!("the kiosk did not reset ({status}): {body}");
    }
    // Out of wrap-up, as an officer would after noting the outcome.
    officer.command("available").await?;
    for other in others {
        other
            .expect("the end of the call", PATIENCE, |e| {
                e["event"] == "callEnded"
            })
            .await?;
        other.command("available").await?;
    }
    kiosk
        .wait_for("the kiosk back at rest", PATIENCE, |s| {
            s["visit"]["phase"] == "idle"
        })
        .await?;
    Ok(())
}

/// SANE's `test` backend with an A4 bed (210 × 297 mm) and its colour test picture loaded:
/// the scanner every test kiosk has.
pub const SANE_A4_COLOUR: &str =
    "geometry_max 300.0\nbr_x 210.0\nbr_y 297.0\ntest-picture \"Color pattern\"\n";

/// A SANE configuration directory with only the `test` backend, configured by `test_conf`
/// (lines of SANE's `test.conf`); made once per process and setting.
pub fn sane_test_backend(test_conf: &str) -> Result<std::path::PathBuf> {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    test_conf.hash(&mut hasher);
    let dir = std::env::temp_dir().join(format!(
        "nara-sane-{}-{:x}",
        std::process::id(),
        hasher.finish()
    ));
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("dll.conf"), "test\n")?;
    std::fs::write(
        dir.join("test.conf"),
        format!("number_of_devices 1\n{test_conf}"),
    )?;
    Ok(dir)
}
