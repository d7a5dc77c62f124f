//! `/ws/desk`: officers, interpreters and administrators, by session cookie, from an allowed Origin.

use super::session::{finish, receive_hello, serve_messages, Reply, Side};
use super::{error_reply, limited, open, Opened};
use crate::api::auth::{SessionStaff, StaffSession};
use crate::api::ApiError;
use crate::api::ConnInfo;
use crate::routing::{Event, QueueKey, RoutingError, StaffKind, StaffProfile};
use crate::state::{AppState, DeskLogin, Outbox};
use crate::storage::Role;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Extension;
use nara_protocol::desk::{BrokerToDesk, DeskToBroker, Me, StaffStatus};
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

fn profile(me: &SessionStaff) -> Option<StaffProfile> {
    let kind = match me.row.role {
        Role::Officer => StaffKind::Officer {
            agency: me.card.agency.clone()?,
        },
        Role::Interpreter => StaffKind::Interpreter,
        Role::Admin => return None,
    };
    Some(StaffProfile {
        id: me.card.staff.clone(),
        kind,
        languages: me.languages.iter().cloned().collect(),
        skills: me
            .row
            .skills
            .iter()
            .filter_map(|s| Topic::new(s.clone()).ok())
            .collect(),
    })
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

    let routed = profile(&me);
    // Boxed: the session's id and the database call live only while it runs, not in every
    // idle desk's future.
    Box::pin(register(&state, &mut me, &outbox, routed.is_some())).await;
    state
        .metrics
        .desks_connected
        .set(state.connections.counts().1 as i64);
    let is_routed = routed.is_some();
    let welcome_me = Me {
        card: me.card.clone(),
        languages: me.languages.clone(),
        region: me.row.region.clone().and_then(|r| RegionId::new(r).ok()),
    };
    // Administrators take no calls, so they are handed no relay credentials either.
    let ice_servers = if is_routed {
        state
            .turn
            .ice_servers(staff.as_str(), state.clock.now_ms() / 1000)
    } else {
        Vec::new()
    };
    {
        let card = me.card.clone();
        let outbox = outbox.clone();
        state
            .engine
            .run(move |engine| {
                engine.register_card(card.clone());
                let status = engine
                    .router
                    .staff_status(&card.staff)
                    .unwrap_or(StaffStatus::Away);
                outbox.send(&BrokerToDesk::Welcome {
                    protocol_version: PROTOCOL_VERSION,
                    me: welcome_me,
                    status,
                    ice_servers,
                });
                if let Some(profile) = routed {
                    let agency = profile.agency().cloned();
                    let _ = engine.apply(Event::StaffOnline { profile });
                    if let Some(agency) = agency {
                        outbox.send(&BrokerToDesk::Queues {
                            queues: engine.queue_views(&agency),
                        });
                    }
                    // Back within the grace time, in a call: tell the desk so it can reconnect media.
                    let call = engine
                        .router
                        .calls()
                        .find(|c| c.participants.contains(&card.staff))
                        .map(|c| c.id.clone());
                    if let Some(call) = call {
                        engine.resend_call(&call, &card.staff);
                    }
                }
            })
            .await;
    }
    tracing::info!(staff = %staff, "desk connected");

    // From here on only the card is needed; the rest of the session goes.
    let card = me.card.clone();
    drop(me);
    let farewell = serve_messages::<DeskSide, _, _>(&state, stream, &outbox, None, |message| {
        handle(&state, &card, is_routed, message)
    })
    .await;

    if state.connections.remove_desk(&staff, outbox.connection) {
        state
            .metrics
            .desks_connected
            .set(state.connections.counts().1 as i64);
        if is_routed {
            let s = staff.clone();
            state
                .engine
                .run(move |engine| engine.apply(Event::StaffOffline { staff: s }))
                .await
                .ok();
        }
    }
    Box::pin(finish::<DeskSide>(outbox, writer, farewell)).await;
    tracing::info!(staff = %staff, "desk disconnected");
}

/// Registers the connection where a logout finds it, then makes sure the session did not end
/// between the upgrade and now (such a logout found no connection to close).
async fn register(state: &AppState, me: &mut SessionStaff, outbox: &Outbox, takes_calls: bool) {
    let session = std::mem::take(&mut me.session);
    let login = DeskLogin {
        session: session.clone(),
        expires_at: me.session_expires_at,
        takes_calls,
    };
    let staff = &me.card.staff;
    if let Some(old) = state.connections.add_desk(staff, outbox.clone(), login) {
        old.close_with(&BrokerToDesk::Error(error_reply(
            ErrorCode::Conflict,
            "you opened the desk in another window; this one is closed",
            true,
        )));
    }
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

async fn handle(state: &AppState, me: &StaffCard, routed: bool, message: DeskToBroker) -> Reply {
    let staff = me.staff.clone();
    let not_routed = || {
        (
            ErrorCode::Forbidden,
            "administrators take no calls; log in as an officer or interpreter".to_string(),
        )
    };
    let run = |event: Event| {
        let engine = state.engine.clone();
        async move {
            engine
                .run(move |e| e.apply(event))
                .await
                .map_err(|e: RoutingError| (e.code(), e.to_string()))
        }
    };
    match message {
        DeskToBroker::Hello { .. } => Ok(()), // Answered by the session loop.
        _ if !routed => Err(not_routed()),
        DeskToBroker::SetStatus { status } => run(Event::SetStatus { staff, status }).await,
        DeskToBroker::AcceptOffer { offer } => run(Event::Accept { staff, offer }).await,
        DeskToBroker::DeclineOffer { offer } => run(Event::Decline { staff, offer }).await,
        DeskToBroker::Signal { call, to, payload } => {
            let from = Peer::Staff { staff };
            state
                .engine
                .run(move |e| e.relay(&call, from, to, payload))
                .await
                .map_err(|e| (e.code(), e.to_string()))
        }
        // Documents go to officers only; an interpreter asking would have the citizen's scanner
        // point at them (M3 of the security review).
        DeskToBroker::RequestDocument { .. } if me.role != StaffRoleKind::Officer => Err((
            ErrorCode::Forbidden,
            "only an officer in the call can ask for a document".to_string(),
        )),
        DeskToBroker::RequestDocument { call } => state
            .engine
            .run(move |e| {
                let info = e
                    .router
                    .call(&call)
                    .ok_or_else(|| RoutingError::NotFound(format!("no call {call}")))?;
                if !info.participants.contains(&staff) {
                    return Err(RoutingError::Forbidden(format!(
                        "you are not in call {call}"
                    )));
                }
                e.request_document(&call, &staff);
                Ok(())
            })
            .await
            .map_err(|e| (e.code(), e.to_string())),
        DeskToBroker::Invite { call, target } => {
            run(Event::Invite {
                staff,
                call,
                target,
            })
            .await
        }
        DeskToBroker::Transfer {
            call,
            agency,
            language,
            mode,
        } => {
            let agencies = state
                .store
                .agencies()
                .await
                .map_err(|e| (ErrorCode::Internal, e.to_string()))?;
            let Some(a) = agencies.iter().find(|a| a.id == agency.as_str()) else {
                return Err((ErrorCode::NotFound, format!("no agency {agency}")));
            };
            if !a.languages.iter().any(|l| l == language.as_str()) {
                return Err((
                    ErrorCode::Invalid,
                    format!("{} has no queue for language {language}", a.name),
                ));
            }
            run(Event::Transfer {
                staff,
                call,
                to: QueueKey {
                    agency,
                    language,
                    topic: None,
                },
                mode,
            })
            .await
        }
        DeskToBroker::LeaveCall { call } => run(Event::Leave { staff, call }).await,
        DeskToBroker::EndCall { call, outcome } => {
            run(Event::EndCall {
                staff,
                call,
                outcome,
            })
            .await
        }
        DeskToBroker::RefreshQueues => {
            if let Some(agency) = me.agency.clone() {
                let staff = me.staff.clone();
                state
                    .engine
                    .run(move |e| e.send_queues_to(&staff, &agency))
                    .await;
            }
            Ok(())
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
