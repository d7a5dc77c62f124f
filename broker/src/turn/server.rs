//! The embedded TURN server for the single-machine default: the `turn` crate's server on a
//! UDP socket and a TCP listener sharing one port, and optionally a TLS listener, each behind
//! the [`Gate`].
//! Production runs coturn with the same shared secret instead (deploy/coturn.conf).

use super::gate::{Gate, GatedConn};
use super::peer_policy::PeerPolicy;
use super::quota::AllocationQuota;
use super::tcp::{TcpLimits, TcpPacketConn, TcpSlots};
use super::TurnCredentials;
use crate::clock::{Clock, SystemClock};
use crate::config::EmbeddedTurnConfig;
use anyhow::Context;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, UdpSocket};
use turn::allocation::AllocationInfo;
use turn::auth::{generate_auth_key, AuthHandler};
use turn::relay::relay_static::RelayAddressGeneratorStatic;
use turn::server::config::{ConnConfig, ServerConfig};
use turn::server::Server;
use webrtc_util::vnet::net::Net;

pub const REALM: &str = "nara";

pub struct EmbeddedTurn {
    pub udp: SocketAddr,
    pub tcp: SocketAddr,
    /// TURN over TLS, when `turn.embedded.tls_listen` asks for it.
    pub tls: Option<SocketAddr>,
    /// The address put in relayed candidates.
    pub relay_ip: IpAddr,
    server: Server,
    tcp_conns: Vec<Arc<TcpPacketConn>>,
}

impl std::fmt::Debug for EmbeddedTurn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedTurn")
            .field("udp", &self.udp)
            .field("tcp", &self.tcp)
            .field("tls", &self.tls)
            .field("relay_ip", &self.relay_ip)
            .finish_non_exhaustive()
    }
}

impl EmbeddedTurn {
    /// Serves TURN on `config.listen` for credentials made with `secret`, which the broker
    /// hands out valid for `credential_ttl_seconds`: the gate refuses any claiming longer.
    /// With `config.tls_listen`, TURN over TLS there too, under `tls` (the broker's
    /// certificate).
    pub async fn start(
        config: &EmbeddedTurnConfig,
        secret: &str,
        credential_ttl_seconds: u64,
        tls: rustls::ServerConfig,
    ) -> anyhow::Result<Self> {
        let relay_ip = match config.relay_ip {
            Some(ip) => ip,
            None if config.listen.ip().is_unspecified() => anyhow::bail!(
                "turn.embedded.relay_ip must be set when turn.embedded.listen is {} \
                 (the address peers reach the relay on)",
                config.listen.ip()
            ),
            None => config.listen.ip(),
        };
        let (udp, tcp) = bind_pair(config.listen).await.with_context(|| {
            format!(
                "embedded TURN cannot listen on {} (UDP and TCP); set turn.embedded.listen, \
                 or turn.embedded.enabled = false when coturn serves TURN",
                config.listen
            )
        })?;
        let udp_addr = udp.local_addr()?;
        let tcp_addr = tcp.local_addr()?;
        let gate = Arc::new(Gate::new(
            PeerPolicy::new(config.allowed_peers.clone()),
            secret.to_string(),
            REALM.to_string(),
            AllocationQuota::new(config.max_allocations_per_user, config.max_allocations),
            credential_ttl_seconds,
        ));
        // The quota learns of every allocation the server closes, expired or deleted.
        let (closed_tx, mut closed_rx) = tokio::sync::mpsc::channel::<AllocationInfo>(1024);
        let quota_gate = Arc::clone(&gate);
        tokio::spawn(async move {
            while let Some(info) = closed_rx.recv().await {
                quota_gate.allocation_closed(info.five_tuple.src_addr);
            }
        });
        let relays = |listen_ip: IpAddr| -> Box<RelayAddressGeneratorStatic> {
            Box::new(RelayAddressGeneratorStatic {
                relay_address: relay_ip,
                address: listen_ip.to_string(),
                net: Arc::new(Net::new(None)),
            })
        };
        let limits = TcpLimits {
            max_clients: config.max_tcp_clients,
            max_per_address: config.max_tcp_clients_per_address,
            first_frame: Duration::from_secs(config.tcp_first_frame_seconds),
            idle: Duration::from_secs(config.tcp_idle_seconds),
        };
        let slots = TcpSlots::new(&limits);
        let plain = TcpPacketConn::new(tcp, limits, slots.clone(), None)?;
        let mut tcp_conns = vec![Arc::new(plain)];
        let mut tls_addr = None;
        if let Some(listen) = config.tls_listen {
            let listener = TcpListener::bind(listen).await.with_context(|| {
                format!(
                    "embedded TURN cannot listen on {listen} for TURN over TLS; set \
                     turn.embedded.tls_listen, or leave it out"
                )
            })?;
            tls_addr = Some(listener.local_addr()?);
            let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
            tcp_conns.push(Arc::new(TcpPacketConn::new(
                listener,
                limits,
                slots.clone(),
                Some(acceptor),
            )?));
        }
        let mut conns = vec![ConnConfig {
            conn: Arc::new(GatedConn::new(Arc::new(udp), Arc::clone(&gate))),
            relay_addr_generator: relays(config.listen.ip()),
        }];
        for tcp_conn in &tcp_conns {
            conns.push(ConnConfig {
                conn: Arc::new(GatedConn::new(Arc::clone(tcp_conn) as _, Arc::clone(&gate))),
                relay_addr_generator: relays(config.listen.ip()),
            });
        }
        let server = Server::new(ServerConfig {
            conn_configs: conns,
            realm: REALM.to_string(),
            auth_handler: Arc::new(RestAuth {
                secret: secret.to_string(),
            }),
            channel_bind_timeout: Duration::from_secs(0),
            alloc_close_notify: Some(closed_tx),
        })
        .await?;
        let tls_addr_shown = tls_addr.map_or_else(|| "none".to_string(), |a| a.to_string());
        tracing::info!(%udp_addr, %tcp_addr, tls_addr = %tls_addr_shown, %relay_ip, "embedded TURN server listening");
        Ok(EmbeddedTurn {
            udp: udp_addr,
            tcp: tcp_addr,
            tls: tls_addr,
            relay_ip,
            server,
            tcp_conns,
        })
    }

    /// The URLs kiosks and desks are handed for this server: UDP and TCP at `host`, and TLS at
    /// the address `tls_listen` names (at `host` when that is every interface). A `turns:`
    /// URL is checked against the broker's certificate, which must carry that address; with
    /// a name instead (and SNI, for haproxy to split 443 by), set `turn.urls`.
    pub fn urls(&self, host: &str) -> Vec<String> {
        let mut urls = vec![
            format!("turn:{host}:{}?transport=udp", self.udp.port()),
            format!("turn:{host}:{}?transport=tcp", self.tcp.port()),
        ];
        if let Some(tls) = self.tls {
            let tls_host = if tls.ip().is_unspecified() {
                host.to_string()
            } else {
                crate::url_host(tls.ip())
            };
            urls.push(format!("turns:{tls_host}:{}?transport=tcp", tls.port()));
        }
        urls
    }

    pub async fn close(&self) {
        if let Err(e) = self.server.close().await {
            tracing::warn!(error = %e, "embedded TURN server did not close cleanly");
        }
        for tcp_conn in &self.tcp_conns {
            tcp_conn.shutdown();
        }
    }
}

const LISTENER_BUFFER_BYTES: usize = 4 * 1024 * 1024;

/// UDP and TCP on the same port; with port 0, the first port free for both.
async fn bind_pair(listen: SocketAddr) -> std::io::Result<(UdpSocket, TcpListener)> {
    let mut last_error = None;
    for _ in 0..16 {
        let udp = UdpSocket::bind(listen).await?;
        let mut tcp_addr = listen;
        tcp_addr.set_port(udp.local_addr()?.port());
        match TcpListener::bind(tcp_addr).await {
            Ok(tcp) => {
                // Every client's packets arrive on this one socket: the default 208 KiB
                // buffer overflows in bursts from a few hundred relays (coturn enlarges its
                // own too). The kernel caps the size at net.core.rmem_max.
                let socket = socket2::SockRef::from(&udp);
                let _ = socket.set_recv_buffer_size(LISTENER_BUFFER_BYTES);
                let _ = socket.set_send_buffer_size(LISTENER_BUFFER_BYTES);
                return Ok((udp, tcp));
            }
            Err(e) if listen.port() == 0 => last_error = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last_error.unwrap_or_else(|| std::io::Error::other("no free port pair")))
}

/// Long-term credentials in the TURN REST style, as [`TurnCredentials`] hands them out.
struct RestAuth {
    secret: String,
}

impl AuthHandler for RestAuth {
    fn auth_handle(
        &self,
        username: &str,
        realm: &str,
        _src_addr: SocketAddr,
    ) -> Result<Vec<u8>, turn::Error> {
        let expiry: u64 = username
            .split(':')
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or(turn::Error::ErrNoSuchUser)?;
        let now = SystemClock.now_ms() / 1000;
        if expiry < now {
            return Err(turn::Error::ErrNoSuchUser);
        }
        let password = TurnCredentials::password(&self.secret, username);
        Ok(generate_auth_key(username, realm, &password))
    }
}
