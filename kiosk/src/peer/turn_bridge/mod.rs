//! TURN over TCP and TLS. Many offices let nothing out but TCP to ports 80 and 443, so the
//! broker hands out `turn:…?transport=tcp` and `turns:…` URLs beside the UDP one. The
//! `webrtc` crate speaks TURN over UDP only (it skips the others with a warning), so each
//! such server gets a bridge here: a UDP socket on loopback that the crate is told is a TURN
//! server, and for each of the crate's sockets that talks to it, one TCP or TLS connection to
//! the real server carrying the same messages ([`super::turn_framing`]). To the server this is
//! an ordinary TURN-over-TCP client, exactly as a browser behind such a firewall would be.
//!
//! [`TurnBridges::route`] rewrites the broker's list; bridges live until a list no longer
//! names their server.

use super::turn_framing::{to_stream, StreamSplitter};
use anyhow::{Context, Result};
use bytes::Bytes;
use nara_protocol::IceServer;
use rtc::ice::url::{ProtoType, SchemeType, Url};
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// A connection with no datagram either way for this long belongs to a client that is gone:
/// a live allocation refreshes well within it (permissions every 5 min, allocations 10 min).
const IDLE: Duration = Duration::from_secs(11 * 60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Datagrams waiting for a slow stream; beyond this they are dropped, as UDP would drop them.
const QUEUE: usize = 256;
/// Connections one bridge holds at once: a few per peer connection in a meeting, and the
/// self-test's. A bound, so nothing on this machine can make the kiosk open thousands.
const MAX_FLOWS: usize = 64;

/// A TURN server reached over a stream.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct StreamServer {
    host: String,
    port: u16,
    tls: bool,
}

impl fmt::Display for StreamServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.tls { "turns" } else { "turn" };
        write!(f, "{scheme}:{}:{}?transport=tcp", self.host, self.port)
    }
}

/// The bridges of one kiosk, one per TURN server reached over TCP or TLS.
pub struct TurnBridges {
    tls: Arc<rustls::ClientConfig>,
    bridges: HashMap<StreamServer, Bridge>,
}

impl fmt::Debug for TurnBridges {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(
                self.bridges
                    .iter()
                    .map(|(server, bridge)| (server.to_string(), bridge.local)),
            )
            .finish()
    }
}

struct Bridge {
    local: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Bridge {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TurnBridges {
    /// `tls` verifies `turns:` servers.
    pub fn new(tls: Arc<rustls::ClientConfig>) -> Self {
        TurnBridges {
            tls,
            bridges: HashMap::new(),
        }
    }

    /// The broker's ICE servers as the `webrtc` crate can use them: STUN and TURN over UDP as
    /// they are, TURN over TCP or TLS through a bridge, what the kiosk cannot use left out.
    pub fn route(&mut self, servers: &[IceServer]) -> Vec<IceServer> {
        let mut used = HashSet::new();
        let routed = servers
            .iter()
            .map(|server| IceServer {
                urls: server
                    .urls
                    .iter()
                    .filter_map(|url| self.route_url(url, &mut used))
                    .collect(),
                ..server.clone()
            })
            .filter(|server| !server.urls.is_empty())
            .collect();
        self.bridges.retain(|server, _| used.contains(server));
        routed
    }

    fn route_url(&mut self, raw: &str, used: &mut HashSet<StreamServer>) -> Option<String> {
        let url = match Url::parse_url(raw) {
            Ok(url) => url,
            Err(error) => {
                tracing::warn!(url = raw, %error, "leaving out an ICE server URL that does not parse");
                return None;
            }
        };
        match (url.scheme, url.proto) {
            (SchemeType::Stun, _) | (SchemeType::Turn, ProtoType::Udp) => Some(raw.to_string()),
            (scheme @ (SchemeType::Turn | SchemeType::Turns), ProtoType::Tcp) => {
                let server = StreamServer {
                    host: url.host,
                    port: url.port,
                    tls: scheme == SchemeType::Turns,
                };
                used.insert(server.clone());
                let local = match self.bridges.get(&server) {
                    Some(bridge) => bridge.local,
                    None => match Bridge::start(server.clone(), self.tls.clone()) {
                        Ok(bridge) => {
                            let local = bridge.local;
                            self.bridges.insert(server, bridge);
                            local
                        }
                        Err(error) => {
                            tracing::warn!(url = raw, error = %format!("{error:#}"), "no bridge for TURN over TCP");
                            return None;
                        }
                    },
                };
                Some(format!("turn:{local}?transport=udp"))
            }
            _ => {
                tracing::warn!(url = raw, "leaving out an ICE server URL the kiosk cannot use (STUN over TLS, TURN over DTLS)");
                None
            }
        }
    }
}

impl Bridge {
    fn start(server: StreamServer, tls: Arc<rustls::ClientConfig>) -> Result<Bridge> {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0")
            .context("cannot bind a loopback UDP socket")?;
        socket.set_nonblocking(true)?;
        let socket = Arc::new(UdpSocket::from_std(socket)?);
        let local = socket.local_addr()?;
        tracing::debug!(%server, %local, "bridging TURN over a stream");
        let task = tokio::spawn(serve(socket, server, tls));
        Ok(Bridge { local, task })
    }
}

/// Receives the TURN client's datagrams and hands each to the connection for its socket.
async fn serve(socket: Arc<UdpSocket>, server: StreamServer, tls: Arc<rustls::ClientConfig>) {
    let mut flows: HashMap<SocketAddr, mpsc::Sender<Bytes>> = HashMap::new();
    let mut buffer = vec![0u8; 65_536];
    loop {
        let (length, client) = match socket.recv_from(&mut buffer).await {
            Ok(received) => received,
            Err(error) => {
                tracing::debug!(%error, "the TURN bridge's socket could not receive");
                continue;
            }
        };
        if flows.get(&client).is_none_or(|flow| flow.is_closed()) {
            flows.retain(|_, flow| !flow.is_closed());
            if flows.len() >= MAX_FLOWS {
                tracing::warn!(%server, %client, "too many TURN connections open; dropping");
                continue;
            }
            let (sender, datagrams) = mpsc::channel(QUEUE);
            tokio::spawn(flow(
                socket.clone(),
                client,
                server.clone(),
                tls.clone(),
                datagrams,
            ));
            flows.insert(client, sender);
        }
        let datagram = Bytes::copy_from_slice(&buffer[..length]);
        if let Some(flow) = flows.get(&client) {
            // A full queue means the stream is stalled: drop, as a congested UDP path would.
            let _ = flow.try_send(datagram);
        }
    }
}

async fn flow(
    socket: Arc<UdpSocket>,
    client: SocketAddr,
    server: StreamServer,
    tls: Arc<rustls::ClientConfig>,
    datagrams: mpsc::Receiver<Bytes>,
) {
    match carry(&socket, client, &server, tls, datagrams).await {
        Ok(why) => tracing::debug!(%server, %client, why, "TURN connection closed"),
        Err(error) => {
            tracing::warn!(%server, %client, error = %format!("{error:#}"), "TURN connection failed")
        }
    }
}

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

async fn connect(server: &StreamServer, tls: Arc<rustls::ClientConfig>) -> Result<Box<dyn Stream>> {
    let tcp = TcpStream::connect((server.host.as_str(), server.port))
        .await
        .with_context(|| format!("cannot connect to {server}"))?;
    // Media rides on this connection: every datagram goes out at once.
    tcp.set_nodelay(true)?;
    if !server.tls {
        return Ok(Box::new(tcp));
    }
    let name = rustls::pki_types::ServerName::try_from(server.host.clone())
        .with_context(|| format!("{} is not a name TLS can verify", server.host))?;
    let stream = tokio_rustls::TlsConnector::from(tls)
        .connect(name, tcp)
        .await
        .with_context(|| format!("TLS with {server} failed"))?;
    Ok(Box::new(stream))
}

/// Carries one client's datagrams to the server and the server's messages back, until either
/// side ends or nothing moves for [`IDLE`]. Returns why it ended.
async fn carry(
    socket: &UdpSocket,
    client: SocketAddr,
    server: &StreamServer,
    tls: Arc<rustls::ClientConfig>,
    mut datagrams: mpsc::Receiver<Bytes>,
) -> Result<&'static str> {
    let stream = tokio::time::timeout(CONNECT_TIMEOUT, connect(server, tls))
        .await
        .with_context(|| format!("{server} did not answer within {CONNECT_TIMEOUT:?}"))??;
    let (mut reader, mut writer) = tokio::io::split(stream);
    let mut splitter = StreamSplitter::default();
    let mut chunk = vec![0u8; 16 * 1024];
    let mut last_moved = Instant::now();
    loop {
        tokio::select! {
            datagram = datagrams.recv() => {
                let Some(datagram) = datagram else {
                    return Ok("the bridge stopped");
                };
                match to_stream(&datagram) {
                    Ok(framed) => {
                        writer.write_all(&framed).await.context("cannot write to the server")?;
                        writer.flush().await.context("cannot write to the server")?;
                        last_moved = Instant::now();
                    }
                    Err(error) => tracing::debug!(%error, "dropping a datagram from the TURN client"),
                }
            }
            read = reader.read(&mut chunk) => {
                let length = read.context("cannot read from the server")?;
                if length == 0 {
                    return Ok("the server closed the connection");
                }
                splitter.push(&chunk[..length]);
                while let Some(datagram) = splitter.next_datagram()? {
                    socket.send_to(&datagram, client).await?;
                }
                last_moved = Instant::now();
            }
            _ = tokio::time::sleep_until(last_moved + IDLE) => return Ok("idle"),
        }
    }
}

#[cfg(test)]
mod tests;
