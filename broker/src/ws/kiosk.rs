//! `/ws/kiosk`: a kiosk authenticated by its client certificate.

use super::session::{finish, receive_hello, serve_messages, Reply, Side};
use super::{error_reply, limited, open, Opened};
use crate::api::{ApiError, ConnInfo};
use crate::engine::KioskInfo;
use crate::routing::{Event, QueueKey, RoutingError, VisitSpec};
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

    let resume = match Box::pin(receive_hello::<KioskSide>(&state, &mut stream, &outbox)).await {
        Some(KioskToBroker::Hello {
            resume_visit,
            software_version,
            ..
        }) => {
            if let Err(e) = state
                .store
                .set_software_version(&row.id, software_version.as_str())
                .await
            {
                tracing::warn!(kiosk = %row.id, "cannot store the software version: {e}");
            }
            resume_visit
        }
        _ => {
            let _ = writer.await;
            return;
        }
    };

    let sites = state.store.sites().await.unwrap_or_default();
    let site = sites.iter().find(|s| s.id == row.site_id);
    let site_name = ShortText::new(
        site.map(|s| s.name.clone())
            .unwrap_or_else(|| row.site_id.clone()),
    )
    .unwrap_or_else(|_| ShortText::new("?").expect("short"));
    let site_id =
        SiteId::new(row.site_id.clone()).unwrap_or_else(|_| SiteId::new("unknown").expect("valid"));
    let agencies = crate::agencies::current(&state).await;
    let welcome = BrokerToKiosk::Welcome {
        protocol_version: PROTOCOL_VERSION,
        kiosk: kiosk.clone(),
        site: site_id.clone(),
        site_name: site_name.clone(),
        agencies,
        ice_servers: state
            .turn
            .ice_servers(kiosk.as_str(), state.clock.now_ms() / 1000),
        heartbeat_seconds: state.config.fleet.heartbeat_seconds,
        out_of_service: row
            .out_of_service
            .as_ref()
            .and_then(|m| LongText::new(m.clone()).ok()),
    };
    if let Some(old) = state.connections.add_kiosk(&kiosk, outbox.clone()) {
        old.close_with(&BrokerToKiosk::Error(error_reply(
            ErrorCode::Conflict,
            "the same kiosk connected again; this connection is closed",
            true,
        )));
    }
    state
        .metrics
        .kiosks_connected
        .set(state.connections.counts().0 as i64);
    outbox.send(&welcome);
    tracing::info!(kiosk = %kiosk, "kiosk connected");

    {
        let kiosk = kiosk.clone();
        let info = KioskInfo {
            site: site_id,
            site_name,
        };
        state
            .engine
            .run(move |engine| {
                engine.register_kiosk(kiosk.clone(), info);
                // Resume the visit in progress, whether the kiosk named it or the broker kept it.
                let current = engine.kiosk_visit(&kiosk).cloned();
                let visit = resume.filter(|v| current.as_ref() == Some(v)).or(current);
                if let Some(visit) = visit {
                    let _ = engine.apply(Event::KioskReconnected { visit });
                }
            })
            .await;
    }

    let fleet = &state.config.fleet;
    let silence_limit = std::time::Duration::from_secs(
        fleet.heartbeat_seconds as u64 * fleet.offline_after_missed.max(1) as u64,
    );
    let farewell = serve_messages::<KioskSide, _, _>(
        &state,
        stream,
        &outbox,
        Some(silence_limit),
        |message| handle(&state, &kiosk, message),
    )
    .await;

    if state.connections.remove_kiosk(&kiosk, outbox.connection) {
        state
            .metrics
            .kiosks_connected
            .set(state.connections.counts().0 as i64);
        let k = kiosk.clone();
        state
            .engine
            .run(move |engine| {
                if let Some(visit) = engine.kiosk_visit(&k).cloned() {
                    let _ = engine.apply(Event::KioskDisconnected { visit });
                }
            })
            .await;
    }
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

fn routing_err(e: RoutingError) -> (ErrorCode, String) {
    (e.code(), e.to_string())
}

/// A kiosk an administrator took out of service starts no visits, whatever its screen shows.
async fn in_service(state: &AppState, kiosk: &KioskId) -> Reply {
    let row = state
        .store
        .kiosk(kiosk.as_str())
        .await
        .map_err(|e| (ErrorCode::Internal, e.to_string()))?;
    match row.and_then(|r| r.out_of_service) {
        Some(message) => Err((
            ErrorCode::Conflict,
            format!("this kiosk is out of service: {message}"),
        )),
        None => Ok(()),
    }
}

async fn handle(state: &AppState, kiosk: &KioskId, message: KioskToBroker) -> Reply {
    if matches!(
        message,
        KioskToBroker::StartVisit { .. } | KioskToBroker::CheckIn { .. }
    ) {
        in_service(state, kiosk).await?;
    }
    match message {
        KioskToBroker::Hello { .. } => Ok(()), // Answered by the session loop.
        KioskToBroker::StartVisit {
            language,
            agency,
            topic,
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
                    format!("{} does not serve language {language} here", a.name),
                ));
            }
            if !crate::agencies::open_now(&a.hours, &state.config.zone(), state.clock.now_ms()) {
                return Err((ErrorCode::Conflict, crate::agencies::closed_message(a)));
            }
            enqueue(
                state,
                kiosk,
                QueueKey {
                    agency,
                    language,
                    topic,
                },
                None,
            )
            .await
        }
        KioskToBroker::CheckIn { booking_code } => {
            let booking = state
                .store
                .booking(booking_code.as_str())
                .await
                .map_err(|e| (ErrorCode::Internal, e.to_string()))?;
            let Some(booking) = booking else {
                return Err((
                    ErrorCode::NotFound,
                    "no booking with that code: check the code in your letter".into(),
                ));
            };
            let now = state.clock.now_ms();
            const EARLIEST: u64 = 2 * 3600 * 1000;
            const LATEST: u64 = 3600 * 1000;
            if now + EARLIEST < booking.appointment_at || now > booking.appointment_at + LATEST {
                return Err((
                    ErrorCode::Conflict,
                    "this booking is for another time".into(),
                ));
            }
            if !state
                .store
                .mark_checked_in(booking_code.as_str(), now)
                .await
                .map_err(|e| (ErrorCode::Internal, e.to_string()))?
            {
                return Err((
                    ErrorCode::Conflict,
                    "this booking has already been used to check in".into(),
                ));
            }
            let queue = QueueKey {
                agency: AgencyId::new(booking.agency).map_err(|e| (ErrorCode::Internal, e))?,
                language: LanguageCode::new(booking.language)
                    .map_err(|e| (ErrorCode::Internal, e))?,
                topic: None,
            };
            enqueue(state, kiosk, queue, Some(booking.appointment_at)).await
        }
        KioskToBroker::EndVisit { visit } => {
            let kiosk = kiosk.clone();
            state
                .engine
                .run(move |engine| {
                    if engine.kiosk_visit(&kiosk) != Some(&visit) {
                        return Err(RoutingError::NotFound(format!(
                            "visit {visit} is not this kiosk's current visit"
                        )));
                    }
                    engine.apply(Event::CitizenLeft { visit })
                })
                .await
                .map_err(routing_err)
        }
        KioskToBroker::Signal { call, to, payload } => {
            let from = Peer::Kiosk {
                kiosk: kiosk.clone(),
            };
            state
                .engine
                .run(move |engine| engine.relay(&call, from, Peer::Staff { staff: to }, payload))
                .await
                .map_err(routing_err)
        }
        KioskToBroker::DocumentSent {
            visit,
            to,
            pages,
            bytes,
        } => {
            let k = kiosk.clone();
            let call = state
                .engine
                .run(move |engine| {
                    if !engine.visit_belongs_to(&visit, &k) {
                        return Err(RoutingError::NotFound(format!(
                            "visit {visit} is not this kiosk's"
                        )));
                    }
                    // Only a document to someone in this visit's call is recorded (L5 of the
                    // security review: any staff id was taken).
                    let call = engine
                        .router
                        .calls()
                        .find(|c| c.visit == visit && c.participants.contains(&to))
                        .map(|c| c.id.clone())
                        .ok_or_else(|| {
                            RoutingError::Forbidden(format!(
                                "{to} is not in the call of visit {visit}; the document was not recorded"
                            ))
                        })?;
                    let officer = engine
                        .card(&to)
                        .is_some_and(|card| card.role == StaffRoleKind::Officer);
                    if !officer {
                        return Err(RoutingError::Forbidden(format!(
                            "{to} is not an officer, and documents go to officers only; not recorded"
                        )));
                    }
                    Ok((visit, to, call))
                })
                .await
                .map_err(routing_err)?;
            let (visit, to, call) = call;
            state
                .store
                .record_document(
                    visit.as_str(),
                    pages as i64,
                    bytes as i64,
                    state.clock.now_ms(),
                )
                .await
                .map_err(|e| (ErrorCode::Internal, e.to_string()))?;
            state.connections.to_desk(
                &to,
                &nara_protocol::desk::BrokerToDesk::DocumentNoted { call, pages, bytes },
            );
            Ok(())
        }
        KioskToBroker::Survey { visit, score } => {
            if !(1..=5).contains(&score) {
                return Err((
                    ErrorCode::Invalid,
                    format!("survey score must be 1 to 5, got {score}"),
                ));
            }
            let k = kiosk.clone();
            let v = visit.clone();
            if !state
                .engine
                .run(move |engine| engine.visit_belongs_to(&v, &k))
                .await
            {
                return Err((
                    ErrorCode::NotFound,
                    format!("visit {visit} is not this kiosk's"),
                ));
            }
            state
                .store
                .record_survey(visit.as_str(), score as i64, state.clock.now_ms())
                .await
                .map_err(|e| (ErrorCode::Internal, e.to_string()))?;
            state
                .connections
                .to_kiosk(kiosk, &BrokerToKiosk::SurveyReceived { visit });
            Ok(())
        }
        KioskToBroker::Heartbeat { .. } => {
            let json = serde_json::to_string(&message).unwrap_or_default();
            state
                .store
                .record_heartbeat(kiosk.as_str(), state.clock.now_ms(), &json, None)
                .await
                .map_err(|e| (ErrorCode::Internal, e.to_string()))
        }
        KioskToBroker::SelfTestResult { report, .. } => {
            let json = serde_json::to_string(&report).unwrap_or_default();
            state
                .store
                .record_self_test(kiosk.as_str(), &json)
                .await
                .map_err(|e| (ErrorCode::Internal, e.to_string()))
        }
    }
}

async fn enqueue(
    state: &AppState,
    kiosk: &KioskId,
    queue: QueueKey,
    booking: Option<u64>,
) -> Reply {
    let visit = VisitId::new(format!("v-{}", crate::api::random_token(12))).expect("valid id");
    let kiosk = kiosk.clone();
    let now = state.clock.now_ms();
    state
        .engine
        .run(move |engine| {
            if let Some(current) = engine.kiosk_visit(&kiosk) {
                return Err(RoutingError::Conflict(format!(
                    "this kiosk already has visit {current} going; end it first"
                )));
            }
            let site_name = engine
                .kiosk_info(&kiosk)
                .map(|k| k.site_name.clone())
                .unwrap_or_else(|| ShortText::new("?").expect("short"));
            let spec = VisitSpec {
                visit: visit.clone(),
                kiosk: kiosk.clone(),
                site_name,
                queue,
                booking,
                queued_at: now,
                front_of_queue: false,
                kiosk_online: true,
            };
            engine.apply(Event::Enqueue { spec })?;
            engine.set_kiosk_visit(kiosk, visit);
            Ok(())
        })
        .await
        .map_err(routing_err)
}
