//! The kiosk's WebSocket to the broker: mutual TLS with the kiosk's certificate, `hello` naming
//! the visit in progress so that the broker resumes it, and reconnection with backoff and
//! jitter whenever the network or the broker goes away. It also keeps the kiosk's
//! certificate fresh: before connecting, and twice a day while connected, it renews one that
//! is due (a renewal that fails is tried again at the next of those).

use crate::backoff::Backoff;
use crate::identity::Identity;
use anyhow::{anyhow, bail, Context, Result};
use futures_util::{SinkExt, StreamExt};
use nara_protocol::kiosk::{BrokerToKiosk, KioskToBroker};
use nara_protocol::Request;
use nara_protocol::{decode, encode, ShortText, VisitId, PROTOCOL_VERSION};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::Connector;

/// What the link tells the kiosk.
#[derive(Debug)]
pub enum LinkEvent {
    /// Connected and welcomed (the welcome is the first message that follows).
    Up,
    Message(BrokerToKiosk),
    /// The connection ended; the link is already trying again.
    Down(String),
}

/// How long the broker has to answer `hello` before the attempt counts as failed.
const WELCOME_PATIENCE: Duration = Duration::from_secs(10);
/// Pings keep NAT and proxies from forgetting an idle connection and reveal a dead one.
const PING_EVERY: Duration = Duration::from_secs(15);
/// How often a connected kiosk checks whether its certificate is due for renewal.
const RENEWAL_CHECK_EVERY: Duration = Duration::from_secs(12 * 3600);

/// Renews the kiosk's certificate if it is due; the connection in use is not touched, the
/// next one presents the new certificate.
async fn renew_if_due(identity: &mut Identity) {
    match identity.renewal_due(std::time::SystemTime::now()) {
        Ok(false) => {}
        Ok(true) => match identity.renew().await {
            Ok(renewed) => {
                *identity = renewed;
                let until_unix_seconds = identity
                    .expires_at()
                    .ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map(|d| d.as_secs());
                tracing::info!(?until_unix_seconds, "the kiosk's certificate was renewed");
            }
            Err(error) => {
                tracing::warn!(error = %format!("{error:#}"), "the kiosk's certificate is due for renewal, which failed; trying again later")
            }
        },
        Err(error) => tracing::warn!(%error, "the kiosk's certificate cannot be read"),
    }
}

/// Keeps the kiosk connected until `shutdown` turns true. Messages from `outbox` are sent
/// while connected and wait while not; `visit` names the visit to resume on reconnect.
pub async fn run(
    mut identity: Identity,
    software_version: String,
    visit: watch::Receiver<Option<VisitId>>,
    mut outbox: mpsc::UnboundedReceiver<Request<KioskToBroker>>,
    events: mpsc::UnboundedSender<LinkEvent>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
    let url = identity.websocket_url();
    loop {
        renew_if_due(&mut identity).await;
        let attempt = connect_and_serve(
            &mut identity,
            &url,
            &software_version,
            &visit,
            &mut outbox,
            &events,
            &mut shutdown,
            &mut backoff,
        )
        .await;
        if *shutdown.borrow() {
            return;
        }
        let reason = match attempt {
            Ok(reason) => reason,
            Err(error) => format!("{error:#}"),
        };
        tracing::warn!(%reason, "not connected to the broker");
        if events.send(LinkEvent::Down(reason)).is_err() {
            return;
        }
        let delay = backoff.next_delay(&mut rand::thread_rng());
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = shutdown.changed() => return,
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn connect_and_serve(
    identity: &mut Identity,
    url: &str,
    software_version: &str,
    visit: &watch::Receiver<Option<VisitId>>,
    outbox: &mut mpsc::UnboundedReceiver<Request<KioskToBroker>>,
    events: &mpsc::UnboundedSender<LinkEvent>,
    shutdown: &mut watch::Receiver<bool>,
    backoff: &mut Backoff,
) -> Result<String> {
    let tls = identity.tls_config()?;
    let config = WebSocketConfig::default()
        .max_message_size(Some(nara_protocol::MAX_MESSAGE_BYTES))
        .max_frame_size(Some(nara_protocol::MAX_MESSAGE_BYTES));
    let (mut socket, _) = tokio_tungstenite::connect_async_tls_with_config(
        url,
        Some(config),
        false,
        Some(Connector::Rustls(Arc::new(tls))),
    )
    .await
    .map_err(|e| match e {
        tokio_tungstenite::tungstenite::Error::Http(response) => {
            let body = response
                .body()
                .as_ref()
                .map(|b| String::from_utf8_lossy(b).to_string())
                .unwrap_or_default();
            anyhow!(
                "the broker refused the kiosk ({}): {body}",
                response.status()
            )
        }
        other => anyhow!("cannot reach the broker at {url}: {other}"),
    })?;

    let hello = KioskToBroker::Hello {
        protocol_version: PROTOCOL_VERSION,
        software_version: ShortText::new(software_version)
            .unwrap_or_else(|_| ShortText::new("unknown").expect("a valid text")),
        resume_visit: visit.borrow().clone(),
    };
    socket.send(Message::text(encode(&hello))).await?;
    let welcome = tokio::time::timeout(WELCOME_PATIENCE, async {
        while let Some(frame) = socket.next().await {
            if let Message::Text(text) = frame? {
                return decode::<BrokerToKiosk>(&text).context("the broker's first message");
            }
        }
        bail!("the broker closed the connection before its welcome")
    })
    .await
    .map_err(|_| anyhow!("the broker did not answer hello within {WELCOME_PATIENCE:?}"))??;
    if let BrokerToKiosk::Error(error) = &welcome {
        bail!("the broker refused hello: {}", error.message);
    }
    backoff.reset();
    tracing::info!("connected to the broker");
    let _ = events.send(LinkEvent::Up);
    let _ = events.send(LinkEvent::Message(welcome));

    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    let mut renewal_check = tokio::time::interval(RENEWAL_CHECK_EVERY);
    renewal_check.tick().await;
    let mut awaiting_pong = false;
    loop {
        tokio::select! {
            frame = socket.next() => match frame {
                Some(Ok(Message::Text(text))) => match decode::<BrokerToKiosk>(&text) {
                    Ok(message) => {
                        if let BrokerToKiosk::Error(error) = &message {
                            tracing::warn!(code = ?error.code, message = %error.message, "the broker answered with an error");
                        }
                        let _ = events.send(LinkEvent::Message(message));
                    }
                    Err(error) => tracing::warn!(%error, "a message from the broker was not understood"),
                },
                Some(Ok(Message::Pong(_))) => awaiting_pong = false,
                Some(Ok(Message::Close(frame))) => {
                    return Ok(format!("the broker closed the connection: {}", frame.map(|f| f.reason.to_string()).unwrap_or_default()));
                }
                Some(Ok(_)) => {}
                Some(Err(error)) => return Ok(format!("the connection broke: {error}")),
                None => return Ok("the connection ended".into()),
            },
            message = outbox.recv() => match message {
                Some(message) => socket.send(Message::text(encode(&message))).await?,
                None => return Ok("the kiosk is stopping".into()),
            },
            _ = ping.tick() => {
                if awaiting_pong {
                    return Ok(format!("no answer from the broker for {PING_EVERY:?}"));
                }
                awaiting_pong = true;
                socket.send(Message::Ping(Vec::new().into())).await?;
            }
            _ = renewal_check.tick() => renew_if_due(identity).await,
            _ = shutdown.changed() => {
                let _ = socket.close(None).await;
                return Ok("the kiosk is stopping".into());
            }
        }
    }
}
