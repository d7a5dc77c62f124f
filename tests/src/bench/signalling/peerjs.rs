//! The PeerJS server (npm `peer`, installed by `tests/bench` under `target/bench-peerjs`) as a
//! signalling target, started with its own command line on loopback and with its own TLS
//! (`--sslkey`, `--sslcert`), as it is deployed without a proxy in front.
//!
//! Two limits are raised so they do not decide the result: `concurrent_limit` (5 000 by
//! default) and `alive_timeout` (PeerJS closes a client that sent no HEARTBEAT for 60 s; the
//! broker's desks send nothing while idle, so neither side's idle clients do).

use super::load::{client_config, tcp_from, RelayPair, Socket, Target};
use super::SignallingBench;
use crate::bench::process::{free_port, pinned, Server};
use crate::harness;
use anyhow::{anyhow, bail, Context, Result};
use futures_util::StreamExt;
use std::io::{BufRead, BufReader};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::Connector;

/// The server's script, where `tests/bench` installs the package.
pub fn installed() -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let target = exe
        .parent()
        .and_then(|release| release.parent())
        .ok_or_else(|| anyhow!("cannot find the target directory from {}", exe.display()))?;
    let script = target.join("bench-peerjs/node_modules/peer/dist/bin/peerjs.js");
    if !script.exists() {
        bail!(
            "{} is missing; tests/bench installs npm `peer` there",
            script.display()
        );
    }
    Ok(script)
}

/// PeerJS's certificate, self-signed for the run, and a client that trusts it.
pub struct PeerTls {
    // Keeps the key and certificate files until the last round is done.
    _dir: tempfile::TempDir,
    key: PathBuf,
    cert: PathBuf,
    client: Arc<rustls::ClientConfig>,
}

impl PeerTls {
    pub fn self_signed() -> Result<PeerTls> {
        // rcgen's default key, ECDSA P-256, is the broker's too: both handshakes sign alike.
        let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()])?;
        let dir = tempfile::tempdir()?;
        let key = dir.path().join("peerjs.key");
        let cert = dir.path().join("peerjs.crt");
        std::fs::write(&key, certified.signing_key.serialize_pem())?;
        std::fs::write(&cert, certified.cert.pem())?;
        // The broker's clients are made by the same function, so both columns pay the
        // same client-side TLS.
        let client = Arc::new(harness::tls_client(&cert, None)?);
        Ok(PeerTls {
            _dir: dir,
            key,
            cert,
            client,
        })
    }
}

pub struct PeerJs {
    server: Server,
    addr: SocketAddr,
    tls: Arc<rustls::ClientConfig>,
}

impl PeerJs {
    pub async fn start(script: &Path, bench: &SignallingBench, tls: &PeerTls) -> Result<PeerJs> {
        let port = free_port()?;
        let mut child = pinned(0, "node")
            .arg(script)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .arg("--sslkey")
            .arg(&tls.key)
            .arg("--sslcert")
            .arg(&tls.cert)
            .args([
                "--concurrent_limit",
                &(bench.ceiling + bench.relay_pairs * 2 + 1000).to_string(),
                "--alive_timeout",
                "86400000",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("cannot run node (Debian package nodejs)")?;
        let stdout = child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
        let server = Server {
            child,
            port,
            data: None,
        };
        let mut lines = BufReader::new(stdout).lines();
        loop {
            match lines.next() {
                Some(Ok(line)) if line.starts_with("Started PeerServer") => break,
                Some(Ok(_)) => {}
                _ => bail!("the PeerJS server exited before it started"),
            }
        }
        // It logs every client that connects; keep the pipe drained.
        std::thread::spawn(move || for _ in lines {});
        Ok(PeerJs {
            server,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            tls: tls.client.clone(),
        })
    }

    /// A PeerJS client with `id`, from `source`, once the server has said OPEN.
    async fn peer(&self, id: &str, source: IpAddr) -> Result<Socket> {
        // `localhost`, the name in the certificate, as the broker's clients use.
        let url = format!(
            "wss://localhost:{}/peerjs?key=peerjs&id={id}&token=token-{id}",
            self.addr.port()
        );
        let tcp = tcp_from(source, self.addr).await?;
        let (mut socket, _) = tokio_tungstenite::client_async_tls_with_config(
            url,
            tcp,
            Some(client_config()),
            Some(Connector::Rustls(self.tls.clone())),
        )
        .await?;
        while let Some(message) = socket.next().await {
            if let Message::Text(text) = message? {
                let message: serde_json::Value = serde_json::from_str(&text)?;
                match message["type"].as_str() {
                    Some("OPEN") => return Ok(socket),
                    Some("ERROR") | Some("ID-TAKEN") => bail!("refused: {text}"),
                    _ => {}
                }
            }
        }
        bail!("closed before OPEN")
    }
}

impl Target for PeerJs {
    fn server(&self) -> &Server {
        &self.server
    }

    async fn connect_idle(&self, n: usize, source: IpAddr) -> Result<Socket> {
        self.peer(&format!("idle-{n}"), source).await
    }

    async fn relay_pairs(&self, count: usize) -> Result<Vec<RelayPair>> {
        let loopback = IpAddr::from([127, 0, 0, 1]);
        let mut pairs = Vec::with_capacity(count);
        for n in 0..count {
            let receiver_id = format!("officer-{n}");
            let sender = self.peer(&format!("kiosk-{n}"), loopback).await?;
            let receiver = self.peer(&receiver_id, loopback).await?;
            // What the PeerJS client library sends for a media call's offer.
            pairs.push(RelayPair {
                sender,
                receiver,
                envelope: Box::new(move |sdp| {
                    serde_json::json!({
                        "type": "OFFER",
                        "dst": receiver_id,
                        "payload": {
                            "sdp": { "type": "offer", "sdp": sdp },
                            "type": "media",
                            "connectionId": format!("mc_{n}"),
                            "metadata": null,
                        },
                    })
                    .to_string()
                }),
            });
        }
        Ok(pairs)
    }
}
