//! What a kiosk and a desk connection have in common: the hello with its version check, and
//! the read loop that rate-limits, decodes and answers every fault with an error the client
//! can show. Each side plugs in its message types through [`Side`] and its handler.

use super::{error_reply, RateLimit};
use crate::state::{AppState, Ending, Outbox};
use axum::extract::ws::{Message, WebSocket};
use futures_util::stream::SplitStream;
use futures_util::StreamExt;
use nara_protocol::{
    decode_request, request_id_of, ErrorCode, ErrorReply, Request, PROTOCOL_VERSION,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::future::Future;
use std::time::Duration;

/// One kind of client: what it sends, what it is sent, and how it is told of a fault.
pub(crate) trait Side {
    type In: DeserializeOwned;
    type Out: Serialize;
    /// What to do about a version mismatch, in words the person at that client can act on.
    const UPDATE_HINT: &'static str;
    fn error(reply: ErrorReply) -> Self::Out;
    /// The protocol version, if `message` is the hello.
    fn hello_version(message: &Self::In) -> Option<u32>;
}

/// Reads the first message, which must be a hello in this broker's protocol version.
/// On any fault the client gets a fatal error and the connection is closed (`None`).
pub(crate) async fn receive_hello<S: Side>(
    state: &AppState,
    stream: &mut SplitStream<WebSocket>,
    outbox: &Outbox,
) -> Option<S::In> {
    // A client that upgrades and says nothing holds a connection for nothing.
    let patience = Duration::from_secs(state.config.limits.handshake_timeout_seconds);
    let deadline = tokio::time::Instant::now() + patience;
    let text = loop {
        let Ok(next) = tokio::time::timeout_at(deadline, stream.next()).await else {
            let message = format!("no hello within {} s", patience.as_secs());
            refuse::<S>(state, outbox, ErrorCode::Invalid, message);
            return None;
        };
        match next {
            Some(Ok(Message::Text(text))) => break text,
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(Message::Binary(_))) => {
                refuse::<S>(
                    state,
                    outbox,
                    ErrorCode::Malformed,
                    "binary frames are not part of the protocol; send JSON text".into(),
                );
                return None;
            }
            _ => return None,
        }
    };
    let hello = match decode_request::<S::In>(&text) {
        Ok(request) => request.message,
        Err(e) => {
            refuse::<S>(state, outbox, e.code(), e.to_string());
            return None;
        }
    };
    match S::hello_version(&hello) {
        Some(PROTOCOL_VERSION) => Some(hello),
        Some(theirs) => {
            let message = format!(
                "this broker speaks protocol version {PROTOCOL_VERSION}, yours is {theirs}: {}",
                S::UPDATE_HINT
            );
            refuse::<S>(state, outbox, ErrorCode::VersionMismatch, message);
            None
        }
        None => {
            refuse::<S>(
                state,
                outbox,
                ErrorCode::Invalid,
                "the first message must be hello".into(),
            );
            None
        }
    }
}

fn refuse<S: Side>(state: &AppState, outbox: &Outbox, code: ErrorCode, message: String) {
    state.metrics.protocol_error(code);
    outbox.close_with(&S::error(error_reply(code, message, true)));
}

/// Serves messages after the hello until the client leaves, floods, stops reading, or (with
/// `silence_limit`) says nothing for that long: a hung kiosk must not keep its visit "online".
/// Every fault gets an error reply; only those end the connection. Returns the fatal error to
/// close with, which the caller sends after it has unregistered the connection, so whoever
/// sees the close also sees the client gone.
pub(crate) async fn serve_messages<S, H, F>(
    state: &AppState,
    mut stream: SplitStream<WebSocket>,
    outbox: &Outbox,
    silence_limit: Option<Duration>,
    mut handle: H,
) -> Option<ErrorReply>
where
    S: Side,
    H: FnMut(Request<S::In>) -> F,
    F: Future<Output = ()>,
{
    let mut limit = RateLimit::new(state);
    loop {
        let silence = async {
            match silence_limit {
                Some(limit) => tokio::time::sleep(limit).await,
                None => std::future::pending().await,
            }
        };
        let next = tokio::select! {
            next = stream.next() => next,
            () = silence => {
                state.metrics.protocol_error(ErrorCode::HeartbeatMissed);
                let message = format!(
                    "nothing heard for {} s; closing so the kiosk reconnects",
                    silence_limit.unwrap_or_default().as_secs()
                );
                return Some(error_reply(ErrorCode::HeartbeatMissed, message, true));
            }
            ending = outbox.ending() => match ending {
                Ending::Overflowed => {
                    state.metrics.protocol_error(ErrorCode::TooSlow);
                    return Some(error_reply(
                        ErrorCode::TooSlow,
                        "you stopped reading what the broker sends; disconnected",
                        true,
                    ));
                }
                // Closed by someone else, farewell queued: read nothing more from it.
                Ending::Closed => return None,
            },
        };
        let Some(Ok(frame)) = next else {
            break;
        };
        let text = match frame {
            Message::Text(text) => text,
            Message::Binary(_) => {
                let reply = error_reply(
                    ErrorCode::Malformed,
                    "binary frames are not part of the protocol; send JSON text",
                    false,
                );
                state.metrics.protocol_error(ErrorCode::Malformed);
                if !outbox.send(&S::error(reply)) {
                    break;
                }
                continue;
            }
            Message::Close(_) => break,
            Message::Ping(_) | Message::Pong(_) => continue,
        };
        if !limit.allow() {
            state.metrics.protocol_error(ErrorCode::RateLimited);
            if limit.should_cut_off() {
                return Some(error_reply(
                    ErrorCode::RateLimited,
                    "too many messages; disconnected",
                    true,
                ));
            }
            let reply = ErrorReply {
                request: request_id_of(&text),
                ..error_reply(
                    ErrorCode::RateLimited,
                    "too many messages; slow down",
                    false,
                )
            };
            if !outbox.send(&S::error(reply)) {
                break;
            }
            continue;
        }
        match decode_request::<S::In>(&text) {
            // Boxed: a handler's future is large and lives only while it runs, so it is not
            // carried in every idle connection's task. What it refuses, the core answers.
            Ok(request) => Box::pin(handle(request)).await,
            Err(e) => {
                let code = e.code();
                state.metrics.protocol_error(code);
                let reply = ErrorReply {
                    request: request_id_of(&text),
                    ..error_reply(code, e.to_string(), false)
                };
                if !outbox.send(&S::error(reply)) {
                    break;
                }
            }
        }
    }
    None
}

/// Ends a connection: a farewell is delivered (the writer stops after the close frame);
/// without one, or with a queue too full to take it, the writer is stopped at once.
pub(crate) async fn finish<S: Side>(
    outbox: Outbox,
    writer: tokio::task::JoinHandle<()>,
    farewell: Option<ErrorReply>,
) {
    // A farewell queued here, or by whoever closed the connection, is let out.
    let delivering = match farewell {
        Some(reply) => outbox.close_with(&S::error(reply)),
        None => outbox.is_closing(),
    };
    drop(outbox);
    if delivering {
        // A client that takes the farewell but never lets the close frame through is not
        // waited for any longer than this: the writer goes, and the socket with it.
        let abort = writer.abort_handle();
        if tokio::time::timeout(Duration::from_secs(5), writer)
            .await
            .is_err()
        {
            abort.abort();
        }
    } else {
        writer.abort();
    }
}
