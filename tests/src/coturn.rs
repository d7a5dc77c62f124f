//! coturn (Debian's `turnserver`) on loopback, as production deploys it beside the broker:
//! TURN REST credentials from a shared secret. Used by the TURN benchmark and by the calls
//! that must go through coturn. Version 4.6.1 lacks the fix for CVE-2026-27624, so it only
//! ever listens on 127.0.0.1 here, or on the near end of a test's own network namespace link.

use anyhow::{bail, Context, Result};
use std::net::{IpAddr, Ipv4Addr, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// TURN over TLS: the port, and the certificate and key files (PEM) coturn presents.
#[derive(Debug, Clone)]
pub struct CoturnTls {
    pub port: u16,
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// `turnserver` flags for loopback with REST credentials from `secret`.
pub fn args(port: u16, secret: &str) -> Vec<String> {
    args_on(Ipv4Addr::LOCALHOST.into(), port, secret, None)
}

/// `turnserver` flags for listening and relaying on `ip`, over TLS too when `tls` is given.
pub fn args_on(ip: IpAddr, port: u16, secret: &str, tls: Option<&CoturnTls>) -> Vec<String> {
    let tls_args = match tls {
        Some(tls) => vec![
            format!("--tls-listening-port={}", tls.port),
            format!("--cert={}", tls.cert.display()),
            format!("--pkey={}", tls.key.display()),
        ],
        None => vec!["--no-tls".to_string()],
    };
    [
        "-n",
        &format!("--listening-ip={ip}"),
        &format!("--listening-port={port}"),
        &format!("--relay-ip={ip}"),
        "--use-auth-secret",
        &format!("--static-auth-secret={secret}"),
        "--realm=nara",
        "--no-dtls",
        "--no-cli",
        // Both ends of a test call are on this machine.
        "--allow-loopback-peers",
        "--relay-threads=1",
        "--min-port=49152",
        "--max-port=65535",
        "--log-file=stdout",
        "--simple-log",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain(tls_args)
    .collect()
}

/// A coturn process, killed when dropped.
#[derive(Debug)]
pub struct Coturn {
    child: Child,
    pub ip: IpAddr,
    pub port: u16,
}

impl Coturn {
    /// coturn on loopback.
    pub fn start(port: u16, secret: &str) -> Result<Coturn> {
        Coturn::start_on(Ipv4Addr::LOCALHOST.into(), port, secret, None)
    }

    /// coturn on `ip`, over TLS too when `tls` is given.
    pub fn start_on(
        ip: IpAddr,
        port: u16,
        secret: &str,
        tls: Option<&CoturnTls>,
    ) -> Result<Coturn> {
        let child = Command::new("turnserver")
            .args(args_on(ip, port, secret, tls))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot run turnserver (Debian package coturn)")?;
        let coturn = Coturn { child, ip, port };
        wait_until_answering_on(ip, port)?;
        Ok(coturn)
    }

    /// The URLs the broker hands out for it.
    pub fn urls(&self) -> Vec<String> {
        vec![
            format!("turn:{}:{}?transport=udp", self.ip, self.port),
            format!("turn:{}:{}?transport=tcp", self.ip, self.port),
        ]
    }
}

impl Drop for Coturn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// coturn prints nothing reliable when ready (and opens TCP before UDP): it is ready when a
/// STUN Binding request over UDP is answered.
pub fn wait_until_answering(port: u16) -> Result<()> {
    wait_until_answering_on(Ipv4Addr::LOCALHOST.into(), port)
}

fn wait_until_answering_on(ip: IpAddr, port: u16) -> Result<()> {
    let socket = UdpSocket::bind((ip, 0))?;
    socket.set_read_timeout(Some(Duration::from_millis(100)))?;
    let mut request = vec![0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42];
    request.extend_from_slice(b"nara-test-01");
    let started = Instant::now();
    let mut answer = [0u8; 512];
    while started.elapsed() < Duration::from_secs(10) {
        socket.send_to(&request, (ip, port))?;
        if let Ok((n, _)) = socket.recv_from(&mut answer) {
            if n >= 20 && answer[..2] == [0x01, 0x01] {
                return Ok(());
            }
        }
    }
    bail!("the TURN server on {ip}:{port} did not answer a STUN Binding request within 10 s")
}
