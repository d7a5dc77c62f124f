//! `/ws/desk`: officers, interpreters and administrators, by session cookie, from an allowed
//! Origin. Past the handshake this is a pump: what the desk says goes to the core, which
//! answers through the connections.

use super::session::{finish, receive_hello, serve_messages, Side};
use super::{error_reply, limited, open, Opened};
use crate::api::auth::{SessionStaff, StaffSession};
use crate::api::ApiError;
use crate::api::ConnInfo;
use crate::core::{DeskHello, Input};
use crate::driver::Registration;
use crate::state::{AppState, DeskLogin, Outbox};
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Extension;
use nara_protocol::desk::{BrokerToDesk, DeskToBroker, Me};
use nara_protocol::*;

pub async fn upgrade(
    State(state): State<AppState>,
    conn: Option<Extension<ConnInfo>>,
    headers: HeaderMap,
    session: StaffSession,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let origin = headers
        .get("origin")
        .and_then(|o| o.to_str().ok())
        .unwrap_or("");
    if !state
        .config
        .origins()
        .iter()
        .any(|allowed| allowed == origin)
    {
        state.metrics.refused("desk-origin");
        return Err(ApiError::Forbidden(format!("WebSocket from origin {origin:?} is not allowed; open the desk from the broker's own address")));
    }
    // Boxed, and the socket split before the reader's future is made: that future lives as
    // long as the connection, idle desks are many, and what it holds it holds throughout.
    let me = Box::new(session.0);
    let slot = conn.and_then(|c| c.0.slot);
    Ok(limited(ws).on_upgrade(move |socket| {
        let opened = open(&state, socket, slot);
        serve(state, me, opened)
    }))
}

async fn serve(state: AppState, mut me: Box<SessionStaff>, opened: Opened) {
    // The slot stays in `opened`, held until the connection ends.
    let Opened {
        mut stream,
        outbox,
        writer,
        ..
    } = opened;
    let staff = me.card.staff.clone();

    if Box::pin(receive_hello::<DeskSide>(&state, &mut stream, &outbox))
        .await
        .is_none()
    {
        let _ = writer.await;
        return;
    }

    let routed = crate::api::staff::routing_profile(&me.row);
    let connection = outbox.connection;
    // Administrators take no calls, so they are handed no relay credentials either.
    let ice_servers = if routed.is_some() {
        state
            .turn
            .ice_servers(staff.as_str(), state.clock.now_ms() / 1000)
    } else {
        Vec::new()
    };
    let session = std::mem::take(&mut me.session);
    // Boxed, as all that is handed over here, and the boxes themselves handed over: the
    // connection's future neither carries room for them nor keeps them.
    let registration = Box::new(Registration::Desk {
        staff: staff.clone(),
        outbox: outbox.clone(),
        login: DeskLogin {
            session: session.clone(),
            expires_at: me.session_expires_at,
            takes_calls: routed.is_some(),
        },
        replaced: BrokerToDesk::Error(error_reply(
            ErrorCode::Conflict,
            "you opened the desk in another window; this one is closed",
            true,
        )),
    });
    let connected = Box::new(Input::DeskConnected(DeskHello {
        connection,
        me: Me {
            card: me.card.clone(),
            languages: me.languages.clone(),
            region: me.row.region.clone().and_then(|r| RegionId::new(r).ok()),
        },
        profile: routed,
        ice_servers,
    }));
    // From here on nothing of the session is needed but its id.
    drop(me);
    Box::pin(state.core.connect(registration, connected)).await;
    state
        .metrics
        .desks_connected
        .set(state.connections.counts().1 as i64);
    Box::pin(still_logged_in(&state, session, &outbox)).await;
    tracing::info!(staff = %staff, "desk connected");

    let farewell = serve_messages::<DeskSide, _, _>(&state, stream, &outbox, None, |request| {
        let input = Input::FromDesk {
            staff: staff.clone(),
            message: request.message,
            request: request.request_id,
        };
        let core = state.core.clone();
        async move {
            core.send(input).await;
        }
    })
    .await;

    if state.connections.remove_desk(&staff, connection) {
        state
            .metrics
            .desks_connected
            .set(state.connections.counts().1 as i64);
    }
    let gone = Input::DeskDisconnected {
        staff: staff.clone(),
        connection,
    };
    Box::pin(state.core.send(gone)).await;
    Box::pin(finish::<DeskSide>(outbox, writer, farewell)).await;
    tracing::info!(staff = %staff, "desk disconnected");
}

/// Makes sure the session did not end between the upgrade and the registration: such a
/// logout found no connection to close.
async fn still_logged_in(state: &AppState, session: String, outbox: &Outbox) {
    if !matches!(
        state.store.session(&session, state.clock.now_ms()).await,
        Ok(Some(_))
    ) {
        outbox.close_with(&crate::api::auth::session_ended("your session has ended"));
    }
}

struct DeskSide;

impl Side for DeskSide {
    type In = DeskToBroker;
    type Out = BrokerToDesk;
    const UPDATE_HINT: &'static str = "reload the page";

    fn error(reply: ErrorReply) -> BrokerToDesk {
        BrokerToDesk::Error(reply)
    }

    fn hello_version(message: &DeskToBroker) -> Option<u32> {
        match message {
            DeskToBroker::Hello { protocol_version } => Some(*protocol_version),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;

    /// The size of what `serve` returns: the state each open desk keeps for as long as it is
    /// connected, found from the function's type alone.
    fn future_size<F: Future>(_: impl FnOnce(AppState, Box<SessionStaff>, Opened) -> F) -> usize {
        std::mem::size_of::<F>()
    }

    #[test]
    fn an_open_desk_keeps_little_in_its_task() {
        // Tens of thousands of desks sit idle in this future. Before the socket was split
        // outside it and the session boxed, it was several kilobytes.
        let size = future_size(serve);
        println!("desk connection future: {size} bytes");
        assert!(
            size <= 1024,
            "the desk's connection future grew to {size} bytes"
        );
    }
}
