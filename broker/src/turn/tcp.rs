//! TURN over TCP and over TLS (RFC 8656 §3.1) for the embedded server.
//!
//! The `turn` crate serves packet connections only. [`TcpPacketConn`] presents a TCP listener
//! as one: each client's stream is cut into STUN messages and ChannelData frames (both carry
//! their length), which come out of `recv_from` tagged with the client's address, and
//! `send_to` writes back down that client's stream. Relays stay UDP, as RFC 8656 has it.
//!
//! The listener belongs to the embedded server, not to any one allocation: the `turn` crate
//! calls `close` on its connection whenever an allocation ends, so `close` here does nothing
//! and only [`TcpPacketConn::shutdown`] stops accepting. A client that holds a connection
//! without using it is cut off ([`TcpLimits`]), and one address holds only so many.
//!
//! Over TLS (`turns:`, what an agency firewall that lets out only TCP 443 still passes), each
//! stream's handshake comes first, within the patience a first frame is given; then the same
//! frames flow inside it.

use async_trait::async_trait;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, Semaphore};
use tokio_rustls::TlsAcceptor;
use webrtc_util::Conn;

/// The largest frame a client may send: a STUN header or ChannelData header plus 64 KiB.
const MAX_FRAME: usize = 20 + 65_535 + 3;
/// Frames queued for a client that does not read; past this, frames to it are dropped.
const OUTBOX: usize = 256;
const STUN_MAGIC_COOKIE: [u8; 4] = [0x21, 0x12, 0xA4, 0x42];

type Writers = Arc<Mutex<HashMap<SocketAddr, Client>>>;

/// What `send_to` needs of a client: its queue, and the flag its reader's patience follows.
#[derive(Debug, Clone)]
struct Client {
    outbox: mpsc::Sender<Vec<u8>>,
    /// Set once the server grants this stream an allocation.
    allocated: Arc<AtomicBool>,
}

/// What a TCP client may hold, and for how long without a word.
#[derive(Debug, Clone, Copy)]
pub struct TcpLimits {
    /// Streams held at once, from everyone.
    pub max_clients: usize,
    /// Streams held at once from one IP address.
    pub max_per_address: usize,
    /// A stream without an allocation must send a frame at least this often: a client that
    /// only connects, or only asks for Binding, holds a slot no longer.
    pub first_frame: Duration,
    /// A stream holding an allocation with no frame for this long is closed. An allocation
    /// lives 10 minutes unless refreshed, so a client that keeps one speaks well within 11.
    pub idle: Duration,
}

/// The streams held, counted across every listener of one server (TCP and TLS), so that the
/// limits hold for the server, not for each listener.
#[derive(Debug, Clone)]
pub struct TcpSlots {
    total: Arc<Semaphore>,
    per_address: Arc<crate::per_address::PerAddress>,
}

impl TcpSlots {
    pub fn new(limits: &TcpLimits) -> Self {
        TcpSlots {
            total: Arc::new(Semaphore::new(limits.max_clients)),
            per_address: Arc::default(),
        }
    }
}

pub struct TcpPacketConn {
    local: SocketAddr,
    incoming: tokio::sync::Mutex<mpsc::Receiver<(Vec<u8>, SocketAddr)>>,
    writers: Writers,
    accept_task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for TcpPacketConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpPacketConn")
            .field("local", &self.local)
            .finish_non_exhaustive()
    }
}

impl TcpPacketConn {
    /// Serves `listener` within `limits`, counting its streams in `slots`, inside TLS when
    /// `tls` is given.
    pub fn new(
        listener: TcpListener,
        limits: TcpLimits,
        slots: TcpSlots,
        tls: Option<TlsAcceptor>,
    ) -> std::io::Result<Self> {
        let local = listener.local_addr()?;
        let (to_server, incoming) = mpsc::channel(1024);
        let writers: Writers = Arc::default();
        let accept_task = tokio::spawn(accept_loop(
            listener,
            limits,
            slots,
            tls,
            to_server,
            Arc::clone(&writers),
        ));
        Ok(TcpPacketConn {
            local,
            incoming: tokio::sync::Mutex::new(incoming),
            writers,
            accept_task,
        })
    }
}

impl TcpPacketConn {
    /// Stops accepting and drops every client's stream: the server is going away.
    pub fn shutdown(&self) {
        self.accept_task.abort();
        self.writers.lock().expect("writers lock").clear();
    }
}

impl Drop for TcpPacketConn {
    fn drop(&mut self) {
        self.accept_task.abort();
    }
}

async fn accept_loop(
    listener: TcpListener,
    limits: TcpLimits,
    slots: TcpSlots,
    tls: Option<TlsAcceptor>,
    to_server: mpsc::Sender<(Vec<u8>, SocketAddr)>,
    writers: Writers,
) {
    let TcpSlots { total, per_address } = slots;
    loop {
        let Ok(permit) = Arc::clone(&total).acquire_owned().await else {
            return;
        };
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!(error = %e, "TURN over TCP: accept failed");
                continue;
            }
        };
        let Some(address_slot) = per_address.try_acquire(peer.ip(), limits.max_per_address) else {
            tracing::info!(%peer, "TURN over TCP: too many streams from one address; refused");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let to_server = to_server.clone();
        let writers = Arc::clone(&writers);
        let tls = tls.clone();
        tokio::spawn(async move {
            let (tx, rx) = mpsc::channel(OUTBOX);
            let allocated = Arc::new(AtomicBool::new(false));
            let client = Client {
                outbox: tx,
                allocated: Arc::clone(&allocated),
            };
            match tls {
                None => {
                    writers.lock().expect("writers lock").insert(peer, client);
                    let (reader, writer) = stream.into_split();
                    serve_client(reader, writer, peer, rx, to_server, limits, allocated).await;
                }
                Some(tls) => {
                    let handshake = tokio::time::timeout(limits.first_frame, tls.accept(stream));
                    let stream = match handshake.await {
                        Ok(Ok(stream)) => stream,
                        Ok(Err(e)) => {
                            tracing::info!(%peer, error = %e, "TURN over TLS: handshake failed; cut off");
                            return;
                        }
                        Err(_) => {
                            tracing::info!(%peer, "TURN over TLS: no handshake in time; cut off");
                            return;
                        }
                    };
                    writers.lock().expect("writers lock").insert(peer, client);
                    let (reader, writer) = tokio::io::split(stream);
                    serve_client(reader, writer, peer, rx, to_server, limits, allocated).await;
                }
            }
            writers.lock().expect("writers lock").remove(&peer);
            drop((permit, address_slot));
        });
    }
}

/// One client's stream, plain or inside TLS, as its two halves.
async fn serve_client(
    mut reader: impl AsyncRead + Unpin,
    mut writer: impl AsyncWrite + Unpin,
    peer: SocketAddr,
    mut outbox: mpsc::Receiver<Vec<u8>>,
    to_server: mpsc::Sender<(Vec<u8>, SocketAddr)>,
    limits: TcpLimits,
    allocated: Arc<AtomicBool>,
) {
    let write = async move {
        while let Some(frame) = outbox.recv().await {
            // Flushed frame by frame: inside TLS, a frame left in the record buffer would
            // wait for the next one.
            if writer.write_all(&frame).await.is_err() || writer.flush().await.is_err() {
                break;
            }
        }
    };
    let read = async move {
        loop {
            let read = read_frame(&mut reader);
            tokio::pin!(read);
            // The read is never dropped half-way (that would lose part of a frame): when the
            // patience runs out just as the client got its allocation, it waits on, longer.
            let next = loop {
                let allocated_now = allocated.load(Ordering::Relaxed);
                let patience = if allocated_now {
                    limits.idle
                } else {
                    limits.first_frame
                };
                tokio::select! {
                    next = &mut read => break next,
                    () = tokio::time::sleep(patience) => {
                        if !allocated_now && allocated.load(Ordering::Relaxed) {
                            continue;
                        }
                        tracing::info!(%peer, silent_s = patience.as_secs(), "TURN over TCP: silent client cut off");
                        return;
                    }
                }
            };
            match next {
                Ok(Some(frame)) => {
                    if to_server.send((frame, peer)).await.is_err() {
                        return;
                    }
                }
                Ok(None) => return,
                Err(reason) => {
                    tracing::info!(%peer, reason, "TURN over TCP: client cut off");
                    return;
                }
            }
        }
    };
    tokio::select! {
        () = write => {}
        () = read => {}
    }
}

/// Whether `frame` is the server granting an Allocate (a STUN success response, 0x0103).
fn is_allocate_success(frame: &[u8]) -> bool {
    frame.len() >= 20 && frame[..2] == [0x01, 0x03] && frame[4..8] == STUN_MAGIC_COOKIE
}

/// The length of the frame that starts with `header`, or why the stream is not TURN.
pub fn frame_length(header: [u8; 4]) -> Result<usize, &'static str> {
    let length = u16::from_be_bytes([header[2], header[3]]) as usize;
    match header[0] >> 6 {
        // STUN: 20-byte header, attributes already padded to 4 bytes.
        0b00 if length.is_multiple_of(4) => Ok(20 + length),
        0b00 => Err("STUN message length is not a multiple of 4"),
        // ChannelData (0x4000..=0x4FFF); over TCP it is padded to 4 bytes.
        0b01 if header[0] < 0x50 => Ok(4 + length.div_ceil(4) * 4),
        _ => Err("neither a STUN message nor ChannelData"),
    }
}

async fn read_frame(
    reader: &mut (impl AsyncRead + Unpin),
) -> Result<Option<Vec<u8>>, &'static str> {
    let mut header = [0u8; 4];
    match reader.read_exact(&mut header).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(_) => return Err("read failed"),
    }
    let length = frame_length(header)?;
    if length > MAX_FRAME {
        return Err("frame too large");
    }
    let mut frame = vec![0u8; length];
    frame[..4].copy_from_slice(&header);
    reader
        .read_exact(&mut frame[4..])
        .await
        .map_err(|_| "stream ended inside a frame")?;
    if header[0] >> 6 == 0 && frame.get(4..8) != Some(&STUN_MAGIC_COOKIE[..]) {
        return Err("STUN message without the magic cookie");
    }
    Ok(Some(frame))
}

#[async_trait]
impl Conn for TcpPacketConn {
    async fn connect(&self, _addr: SocketAddr) -> webrtc_util::Result<()> {
        Err(webrtc_util::Error::Other(
            "a listening TURN conn does not connect".into(),
        ))
    }

    async fn recv(&self, buf: &mut [u8]) -> webrtc_util::Result<usize> {
        Ok(self.recv_from(buf).await?.0)
    }

    async fn recv_from(&self, buf: &mut [u8]) -> webrtc_util::Result<(usize, SocketAddr)> {
        let mut incoming = self.incoming.lock().await;
        loop {
            let Some((frame, from)) = incoming.recv().await else {
                return Err(webrtc_util::Error::ErrUseClosedNetworkConn);
            };
            if frame.len() <= buf.len() {
                buf[..frame.len()].copy_from_slice(&frame);
                return Ok((frame.len(), from));
            }
        }
    }

    async fn send(&self, _buf: &[u8]) -> webrtc_util::Result<usize> {
        Err(webrtc_util::Error::Other("send needs an address".into()))
    }

    async fn send_to(&self, buf: &[u8], target: SocketAddr) -> webrtc_util::Result<usize> {
        let client = self
            .writers
            .lock()
            .expect("writers lock")
            .get(&target)
            .cloned();
        let Some(client) = client else {
            return Err(webrtc_util::Error::Other(format!(
                "no TCP client at {target}"
            )));
        };
        if is_allocate_success(buf) {
            client.allocated.store(true, Ordering::Relaxed);
        }
        // A client that stops reading loses frames rather than stalling everyone's relay.
        let _ = client.outbox.try_send(buf.to_vec());
        Ok(buf.len())
    }

    fn local_addr(&self) -> webrtc_util::Result<SocketAddr> {
        Ok(self.local)
    }

    fn remote_addr(&self) -> Option<SocketAddr> {
        None
    }

    /// Called by the `turn` crate whenever one allocation ends (H1 of the security review:
    /// closing here stopped TURN over TCP for everyone). [`TcpPacketConn::shutdown`] stops it.
    async fn close(&self) -> webrtc_util::Result<()> {
        Ok(())
    }

    fn as_any(&self) -> &(dyn std::any::Any + Send + Sync) {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_measured_from_their_header() {
        // A STUN Binding request with 8 bytes of attributes.
        assert_eq!(frame_length([0x00, 0x01, 0x00, 0x08]), Ok(28));
        // ChannelData with 5 bytes of data, padded to 8 over TCP.
        assert_eq!(frame_length([0x40, 0x00, 0x00, 0x05]), Ok(12));
        assert_eq!(frame_length([0x40, 0x00, 0x00, 0x08]), Ok(12));
    }

    #[test]
    fn other_protocols_are_refused() {
        assert!(frame_length(*b"\x80GET").is_err());
        assert!(frame_length(*b"{\"ty").is_err());
        assert!(frame_length([0x16, 0x03, 0x01, 0x02]).is_err()); // A TLS ClientHello.
        assert!(frame_length([0x00, 0x01, 0x00, 0x07]).is_err());
        assert!(frame_length([0x50, 0x00, 0x00, 0x04]).is_err());
    }
}
