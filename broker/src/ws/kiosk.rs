//! `/ws/kiosk`: a kiosk authenticated by its client certificate. Past the handshake this is
//! a pump: what the kiosk says goes to the core, which answers through the connections.

use super::session::{finish, receive_hello, serve_messages, Side};
use super::{error_reply, limited, open, Opened};
use crate::api::{ApiError, ConnInfo};
use crate::core::directory::KioskInfo;
use crate::core::{Input, KioskHello};
use crate::driver::Registration;
use crate::state::AppState;
use crate::storage::KioskRow;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Extension;
use nara_protocol::kiosk::{BrokerToKiosk, KioskToBroker};
use nara_protocol::*;

pub async fn upgrade(
    State(state): State<AppState>,
    Extension(conn): Extension<ConnInfo>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    if let Some(origin) = headers.get("origin") {
        // Kiosks send no Origin; a browser page trying to use a kiosk's certificate does.
        let origin = origin.to_str().unwrap_or_default();
        state.metrics.refused("kiosk-origin");
        return Err(ApiError::Forbidden(format!(
            "kiosk connections take no Origin; got {origin:?}"
        )));
    }
    let Some(hash) = conn.client_cert_hash.as_deref() else {
        state.metrics.refused("kiosk-no-certificate");
        return Err(ApiError::Unauthorized(
            "a kiosk must present its client certificate; enrol it first (kiosk enrol)".into(),
        ));
    };
    let kiosk = state.store.kiosk_by_cert(hash).await?;
    let kiosk = match kiosk {
        Some(k) if k.revoked_at.is_none() => k,
        Some(_) => {
            state.metrics.refused("kiosk-revoked");
            return Err(ApiError::Forbidden(
                "this kiosk's certificate was revoked by an administrator; enrol it again".into(),
            ));
        }
        None => {
            state.metrics.refused("kiosk-unknown-certificate");
            return Err(ApiError::Forbidden(
                "this certificate belongs to no enrolled kiosk".into(),
            ));
        }
    };
    // The renewed certificate in use: the one it replaced is done with.
    state.store.settle_kiosk_cert(&kiosk.id, hash).await?;
    // As for desks (see desk::upgrade): the reader's future holds only what it needs.
    let row = Box::new(kiosk);
    let slot = conn.slot;
    Ok(limited(ws).on_upgrade(move |socket| {
        let opened = open(&state, socket, slot);
        serve(state, row, opened)
    }))
}

async fn serve(state: AppState, row: Box<KioskRow>, opened: Opened) {
    // The slot stays in `opened`, held until the connection ends.
    let Opened {
        mut stream,
        outbox,
        writer,
        ..
    } = opened;
    let kiosk = match KioskId::new(row.id.clone()) {
        Ok(k) => k,
        Err(e) => {
            tracing::error!("stored kiosk id {:?} is invalid: {e}", row.id);
            return;
        }
    };

    let (resume, software_version) =
        match Box::pin(receive_hello::<KioskSide>(&state, &mut stream, &outbox)).await {
            Some(KioskToBroker::Hello {
                resume_visit,
                software_version,
                ..
            }) => (resume_visit, software_version),
            _ => {
                let _ = writer.await;
                return;
            }
        };

    let sites = state.store.sites().await.unwrap_or_default();
    let site = sites.iter().find(|s| s.id == row.site_id);
    let info = KioskInfo {
        site: SiteId::new(row.site_id.clone())
            .unwrap_or_else(|_| SiteId::new("unknown").expect("valid")),
        site_name: ShortText::new(
            site.map(|s| s.name.clone())
                .unwrap_or_else(|| row.site_id.clone()),
        )
        .unwrap_or_else(|_| ShortText::new("?").expect("short")),
    };
    let connection = outbox.connection;
    let ice_servers = state
        .turn
        .ice_servers(kiosk.as_str(), state.clock.now_ms() / 1000);
    // The stored row is done with: the connection's task keeps nothing it no longer reads.
    drop(row);
    // Boxed and handed over as they are (see CoreHandle::connect).
    let registration = Box::new(Registration::Kiosk {
        kiosk: kiosk.clone(),
        outbox: outbox.clone(),
        replaced: BrokerToKiosk::Error(error_reply(
            ErrorCode::Conflict,
            "the same kiosk connected again; this connection is closed",
            true,
        )),
    });
    let connected = Box::new(Input::KioskConnected(KioskHello {
        kiosk: kiosk.clone(),
        connection,
        info,
        software_version,
        resume,
        ice_servers,
    }));
    Box::pin(state.core.connect(registration, connected)).await;
    state
        .metrics
        .kiosks_connected
        .set(state.connections.counts().0 as i64);
    tracing::info!(kiosk = %kiosk, "kiosk connected");

    let fleet = &state.config.fleet;
    let silence_limit = std::time::Duration::from_secs(
        fleet.heartbeat_seconds as u64 * fleet.offline_after_missed.max(1) as u64,
    );
    let farewell = serve_messages::<KioskSide, _, _>(
        &state,
        stream,
        &outbox,
        Some(silence_limit),
        |request| async {
            let input = Input::FromKiosk {
                kiosk: kiosk.clone(),
                message: request.message,
                request: request.request_id,
            };
            state.core.send(input).await;
        },
    )
    .await;

    if state.connections.remove_kiosk(&kiosk, connection) {
        state
            .metrics
            .kiosks_connected
            .set(state.connections.counts().0 as i64);
    }
    let gone = Input::KioskDisconnected {
        kiosk: kiosk.clone(),
        connection,
    };
    state.core.send(gone).await;
    Box::pin(finish::<KioskSide>(outbox, writer, farewell)).await;
    tracing::info!(kiosk = %kiosk, "kiosk disconnected");
}

struct KioskSide;

impl Side for KioskSide {
    type In = KioskToBroker;
    type Out = BrokerToKiosk;
    const UPDATE_HINT: &'static str = "update the kiosk software";

    fn error(reply: ErrorReply) -> BrokerToKiosk {
        BrokerToKiosk::Error(reply)
    }

    fn hello_version(message: &KioskToBroker) -> Option<u32> {
        match message {
            KioskToBroker::Hello {
                protocol_version, ..
            } => Some(*protocol_version),
            _ => None,
        }
    }
}
