//! The two WebSockets: [`kiosk`] (`/ws/kiosk`, client certificate) and [`desk`]
//! (`/ws/desk`, session cookie and Origin); [`session`] holds the hello and read loop both
//! share. Here: the writer task, rate limiting and error replies.

pub mod desk;
pub mod kiosk;
mod session;

use crate::state::{AppState, Outbox, OutboxReceiver, Outgoing};
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use nara_protocol::{ErrorCode, ErrorReply, MAX_MESSAGE_BYTES};
use std::time::Instant;
use tokio::task::JoinHandle;

/// Frames above this are closed by the WebSocket layer (code 1009); between
/// [`MAX_MESSAGE_BYTES`] and this they get a `tooLarge` error reply and the connection stays.
pub const WS_FRAME_LIMIT: usize = MAX_MESSAGE_BYTES * 2;

/// Bytes the WebSocket layer reads at a time. Its buffer is filled to this size on the first
/// read and kept for the connection's life, so on tens of thousands of mostly idle
/// connections it counts (tungstenite's default of 128 KiB was most of their memory). A
/// hello or a heartbeat fits; a larger frame grows the buffer to its size as it comes.
const READ_CHUNK: usize = 512;

/// A WebSocket upgrade with the broker's frame limits and buffer sizes.
pub(crate) fn limited(ws: WebSocketUpgrade) -> WebSocketUpgrade {
    ws.max_message_size(WS_FRAME_LIMIT)
        .max_frame_size(WS_FRAME_LIMIT)
        .read_buffer_size(READ_CHUNK)
}

/// The connection's share of the server's connection limit, held while it is open.
pub(crate) type ConnectionSlot = std::sync::Arc<crate::server::ConnectionSlot>;

/// A connection just upgraded, as its reader takes it over.
pub(crate) struct Opened {
    pub stream: SplitStream<WebSocket>,
    pub outbox: Outbox,
    pub writer: JoinHandle<()>,
    /// Its place under the connection limit, held until the connection ends.
    _slot: Option<ConnectionSlot>,
}

/// Splits a new connection and starts its writer.
pub(crate) fn open(state: &AppState, socket: WebSocket, slot: Option<ConnectionSlot>) -> Opened {
    let (sink, stream) = socket.split();
    let (outbox, receiver) = state.connections.outbox(state.config.limits.outbound_queue);
    Opened {
        stream,
        outbox,
        writer: tokio::spawn(writer(sink, receiver)),
        _slot: slot,
    }
}

/// Writes queued messages to the socket until the queue closes or a `Close` comes.
async fn writer(mut sink: SplitSink<WebSocket, Message>, mut outbox: OutboxReceiver) {
    while let Some(out) = outbox.recv().await {
        match out {
            Outgoing::Text(text) => {
                if sink.send(Message::Text(text.into())).await.is_err() {
                    break;
                }
            }
            Outgoing::Close(text) => {
                let _ = sink.send(Message::Text(text.into())).await;
                let _ = sink
                    .send(Message::Close(Some(CloseFrame {
                        code: 1008,
                        reason: "closed by the broker".into(),
                    })))
                    .await;
                break;
            }
        }
    }
    let _ = sink.close().await;
}

/// A token bucket: `rate` messages a second on average, `burst` at once.
#[derive(Debug)]
pub(crate) struct RateLimit {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
    /// Messages refused in a row; a client that keeps flooding is cut off.
    pub refused: u32,
}

impl RateLimit {
    pub fn new(state: &AppState) -> Self {
        let l = &state.config.limits;
        RateLimit {
            rate: l.messages_per_second as f64,
            burst: l.message_burst as f64,
            tokens: l.message_burst as f64,
            last: Instant::now(),
            refused: 0,
        }
    }

    pub fn allow(&mut self) -> bool {
        let now = Instant::now();
        self.tokens =
            (self.tokens + now.duration_since(self.last).as_secs_f64() * self.rate).min(self.burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            self.refused = 0;
            true
        } else {
            self.refused += 1;
            false
        }
    }

    /// After this many refusals in a row the connection is closed.
    pub fn should_cut_off(&self) -> bool {
        self.refused as f64 > self.burst
    }
}

pub(crate) fn error_reply(code: ErrorCode, message: impl Into<String>, fatal: bool) -> ErrorReply {
    ErrorReply {
        code,
        message: message.into(),
        fatal,
        request: None,
    }
}
