//! The HTTP side: `app()` builds the router; handlers live in [`auth`] (login, sessions),
//! [`admin`] (fleet, enrolment codes, directory, bookings, audit), [`stats`] (statistics and
//! CSV) and [`enrol`] (a kiosk trading its one-time code for a certificate); [`openapi`]
//! holds what the OpenAPI document shares; [`pages`] serves the built agent-desk pages.

pub mod admin;
pub mod auth;
pub mod enrol;
pub mod openapi;
pub mod pages;
pub mod stats;

use crate::state::AppState;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use rand::Rng;
use std::sync::Arc;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// What the TLS layer learnt about the connection, attached to every request.
#[derive(Debug, Clone)]
pub struct ConnInfo {
    pub peer: std::net::SocketAddr,
    /// SHA-256 (hex) of the client certificate, verified against the kiosk CA.
    pub client_cert_hash: Option<String>,
    /// This connection's place under `limits.max_connections`. The HTTP connection holds it;
    /// a WebSocket upgraded from it keeps a clone, so long-lived sockets count too.
    pub slot: Option<std::sync::Arc<tokio::sync::OwnedSemaphorePermit>>,
}

/// Errors as HTTP responses with a JSON body `{ "error": "…" }` a person can act on.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("storage: {0}")]
    Storage(#[from] sqlx::Error),
    #[error("{0}")]
    Internal(String),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Storage(_) | ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %self, "request failed");
        }
        (
            status,
            Json(openapi::ApiErrorBody {
                error: self.to_string(),
            }),
        )
            .into_response()
    }
}

/// A random code from an alphabet without look-alikes, for codes people type.
pub fn random_code(len: usize) -> String {
    let alphabet: Vec<char> = nara_protocol::BOOKING_ALPHABET.chars().collect();
    let mut rng = rand::thread_rng();
    (0..len)
        .map(|_| alphabet[rng.gen_range(0..alphabet.len())])
        .collect()
}

/// A random lower-case token for ids and secrets.
pub fn random_token(len: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::thread_rng();
    (0..len)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

/// The whole HTTP surface. REST routes are registered with their OpenAPI description, so
/// `/api/openapi.json` always lists exactly what is served.
pub fn app(state: AppState) -> Router {
    let (router, api) = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(healthz))
        .routes(routes!(metrics))
        .routes(routes!(auth::login))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::me))
        .routes(routes!(enrol::enrol))
        .routes(routes!(admin::agency_queues))
        .routes(routes!(admin::list_bookings, admin::create_booking))
        .routes(routes!(stats::statistics))
        .routes(routes!(stats::statistics_csv))
        .routes(routes!(admin::list_kiosks, admin::create_kiosk))
        .routes(routes!(admin::kiosk_detail))
        .routes(routes!(admin::revoke_kiosk))
        .routes(routes!(admin::run_self_test))
        .routes(routes!(admin::out_of_service))
        .routes(routes!(admin::list_agencies, admin::upsert_agency))
        .routes(routes!(admin::list_sites, admin::upsert_site))
        .routes(routes!(admin::list_staff, admin::create_staff))
        .routes(routes!(admin::audit_log))
        .split_for_parts();
    let api = Arc::new(api);
    let router = router
        .route("/api/openapi.json", get(move || async move { Json(api) }))
        .route("/ws/kiosk", get(crate::ws::kiosk::upgrade))
        .route("/ws/desk", get(crate::ws::desk::upgrade));
    let assets = state.config.desk_assets.clone();
    pages::serve(router, assets.as_deref()).with_state(state)
}

/// Whether the broker and its database answer; for load balancers and monitoring.
#[utoipa::path(get, path = "/healthz", tag = "operations", security(()), responses(
    (status = 200, description = "Serving", body = serde_json::Value),
    (status = 503, description = "The database does not answer", body = serde_json::Value),
))]
async fn healthz(axum::extract::State(state): axum::extract::State<AppState>) -> Response {
    let db = state.store.audit_log(1).await.is_ok();
    let (kiosks, desks) = state.connections.counts();
    let body = serde_json::json!({ "status": if db { "ok" } else { "degraded" }, "database": db, "kiosks": kiosks, "desks": desks });
    (
        if db {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        },
        Json(body),
    )
        .into_response()
}

/// Prometheus metrics: connections, queue lengths, waits, calls, errors.
#[utoipa::path(get, path = "/metrics", tag = "operations", security(()), responses(
    (status = 200, description = "Prometheus text format", content_type = "text/plain", body = String),
))]
async fn metrics(axum::extract::State(state): axum::extract::State<AppState>) -> Response {
    (
        [("content-type", "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}
