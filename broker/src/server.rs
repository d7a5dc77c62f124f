//! The listener: TLS (1.2+) with an optional client certificate verified against the kiosk
//! CA, a handshake and request-head timeout, caps on concurrent connections in all and per
//! address, and graceful shutdown. Each request carries a [`ConnInfo`] saying who is on the
//! other end.
//!
//! The request-head timeout runs from the end of the handshake and again whenever a
//! connection waits for its next request, so a client that connects and says nothing holds
//! its slot no longer than that (M5 of the security review: such connections stayed for over
//! 300 s, because hyper-util's protocol sniffing waited for a first byte with no time limit;
//! HTTP/1.1 is all the broker speaks, so it is served directly).

use crate::api::ConnInfo;
use crate::per_address::PerAddress;
use crate::pki::{cert_hash, KioskCa, ServerIdentity};
use crate::state::AppState;
use anyhow::Result;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use rustls::server::WebPkiClientVerifier;
use rustls::RootCertStore;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

pub fn tls_config(identity: &ServerIdentity, ca: &KioskCa) -> Result<rustls::ServerConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    roots.add(ca.cert_der.clone())?;
    // Browsers have no certificate and are let through here; the kiosk endpoint insists.
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .allow_unauthenticated()
        .build()?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_client_cert_verifier(verifier)
        .with_single_cert(identity.chain.clone(), identity.key.clone_key())?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// TLS for the embedded TURN server's `turns:` listener: the broker's certificate, and no
/// client certificates (TURN has its own credentials). No ALPN is required: browsers send
/// none for TURN, and haproxy splitting a shared 443 reads the client's offer, not ours.
pub fn turn_tls_config(identity: &ServerIdentity) -> Result<rustls::ServerConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_no_client_auth()
        .with_single_cert(identity.chain.clone(), identity.key.clone_key())?)
}

/// A TLS connection opens with a handshake record (content type 22); anything else is most
/// likely someone typing `http://`, who deserves an answer rather than a reset.
async fn starts_with_tls(tcp: &tokio::net::TcpStream, deadline: tokio::time::Instant) -> bool {
    let mut first = [0u8; 1];
    match tokio::time::timeout_at(deadline, tcp.peek(&mut first)).await {
        Ok(Ok(1)) => first[0] == 0x16,
        // Closed, failed or silent: let the TLS handshake report it as usual.
        _ => true,
    }
}

async fn refuse_plain_http(mut tcp: tokio::net::TcpStream) {
    use tokio::io::AsyncWriteExt;
    let body = "Nära speaks HTTPS only: open https:// instead of http:// \
                (Nära svarar bara på HTTPS: skriv https:// i stället för http://)\n";
    let response = format!(
        "HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain; charset=utf-8\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = tcp.write_all(response.as_bytes()).await;
    let _ = tcp.shutdown().await;
}

/// A connection's places under the total and the per-address caps, held while it is open.
#[derive(Debug)]
pub struct ConnectionSlot {
    _total: tokio::sync::OwnedSemaphorePermit,
    _address: crate::per_address::AddressSlot,
}

/// How long to wait after a failed `accept` before the next.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Serves `app` on `listener`, at most `max_connections` at once, until `shutdown` turns
/// true, then lets connections finish.
pub async fn serve(
    listener: TcpListener,
    tls: rustls::ServerConfig,
    app: Router,
    state: AppState,
    max_connections: usize,
    mut shutdown: watch::Receiver<bool>,
) {
    let acceptor = TlsAcceptor::from(Arc::new(tls));
    let limits = state.config.limits.clone();
    let slots = Arc::new(Semaphore::new(max_connections));
    let per_address = Arc::new(PerAddress::default());
    let handshake_timeout = Duration::from_secs(limits.handshake_timeout_seconds);
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors, most likely: the connection stays in the backlog,
                    // so accepting again at once would spin. Wait for something to close.
                    state.metrics.refused("accept-failed");
                    tracing::warn!(error = %e, "accept failed; pausing before the next");
                    tokio::select! {
                        () = tokio::time::sleep(ACCEPT_BACKOFF) => continue,
                        _ = shutdown.changed() => break,
                    }
                }
            },
            _ = shutdown.changed() => break,
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            state.metrics.refused("too-many-connections");
            drop(tcp);
            continue;
        };
        let Some(address_slot) =
            per_address.try_acquire(peer.ip(), limits.max_connections_per_address)
        else {
            state.metrics.refused("too-many-connections-from-address");
            drop(tcp);
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let app = app.clone();
        let state = state.clone();
        let mut shutdown = shutdown.clone();
        tasks.spawn(async move {
            // One deadline for the first byte and the whole handshake: a client that dribbles
            // bytes holds a slot no longer than one that sends nothing.
            let deadline = tokio::time::Instant::now() + handshake_timeout;
            if !starts_with_tls(&tcp, deadline).await {
                state.metrics.refused("plain-http");
                refuse_plain_http(tcp).await;
                return;
            }
            let accepting = acceptor.accept(tcp);
            tokio::pin!(accepting);
            let tls = match tokio::time::timeout_at(deadline, &mut accepting).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => {
                    state.metrics.refused("tls-handshake");
                    tracing::debug!(%peer, error = %e, "TLS handshake failed (a bad certificate?)");
                    return;
                }
                Err(_) => {
                    state.metrics.refused("tls-handshake-timeout");
                    // Free the slots before the socket closes, so a client that sees the close
                    // can connect again at once.
                    drop((slot, address_slot));
                    return;
                }
            };
            let client_cert_hash = tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|c| c.first())
                .map(|c| cert_hash(c));
            let info = ConnInfo {
                peer,
                client_cert_hash,
                slot: Some(Arc::new(ConnectionSlot {
                    _total: slot,
                    _address: address_slot,
                })),
            };
            let service = hyper::service::service_fn(
                move |mut request: hyper::Request<hyper::body::Incoming>| {
                    request.extensions_mut().insert(info.clone());
                    app.clone().oneshot(request)
                },
            );
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(handshake_timeout)
                .serve_connection(TokioIo::new(tls), service)
                .with_upgrades();
            tokio::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                _ = shutdown.changed() => {
                    connection.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(Duration::from_secs(5), connection).await;
                }
            }
        });
        while tasks.try_join_next().is_some() {}
    }
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
}
