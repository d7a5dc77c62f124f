//! The HTTP side: `app()` builds the router; handlers live in [`auth`] (login, sessions),
//! [`admin`] (fleet, enrolment codes, directory, bookings, audit), [`stats`] (statistics and
//! CSV) and [`enrol`] (a kiosk trading its one-time code for a certificate).

pub mod admin;
pub mod auth;
pub mod enrol;
pub mod stats;

use crate::state::AppState;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use rand::Rng;
use serde::Serialize;

/// What the TLS layer learnt about the connection, attached to every request.
#[derive(Debug, Clone)]
pub struct ConnInfo {
    pub peer: std::net::SocketAddr,
    /// SHA-256 (hex) of the client certificate, verified against the kiosk CA.
    pub client_cert_hash: Option<String>,
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
        #[derive(Serialize)]
        struct Body {
            error: String,
        }
        (
            status,
            Json(Body {
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

pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/api/login", post(auth::login))
        .route("/api/logout", post(auth::logout))
        .route("/api/me", get(auth::me))
        .route("/api/kiosk/enrol", post(enrol::enrol))
        .route("/api/agencies/{agency}/queues", get(admin::agency_queues))
        .route(
            "/api/bookings",
            get(admin::list_bookings).post(admin::create_booking),
        )
        .route("/api/statistics", get(stats::statistics))
        .route("/api/statistics.csv", get(stats::statistics_csv))
        .route(
            "/api/admin/kiosks",
            get(admin::list_kiosks).post(admin::create_kiosk),
        )
        .route("/api/admin/kiosks/{kiosk}", get(admin::kiosk_detail))
        .route(
            "/api/admin/kiosks/{kiosk}/revoke",
            post(admin::revoke_kiosk),
        )
        .route(
            "/api/admin/kiosks/{kiosk}/self-test",
            post(admin::run_self_test),
        )
        .route(
            "/api/admin/kiosks/{kiosk}/out-of-service",
            post(admin::out_of_service),
        )
        .route(
            "/api/admin/agencies",
            get(admin::list_agencies).post(admin::upsert_agency),
        )
        .route(
            "/api/admin/sites",
            get(admin::list_sites).post(admin::upsert_site),
        )
        .route(
            "/api/admin/staff",
            get(admin::list_staff).post(admin::create_staff),
        )
        .route("/api/admin/audit", get(admin::audit_log))
        .route("/ws/kiosk", get(crate::ws::kiosk::upgrade))
        .route("/ws/desk", get(crate::ws::desk::upgrade))
        .with_state(state)
}

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

async fn metrics(axum::extract::State(state): axum::extract::State<AppState>) -> Response {
    (
        [("content-type", "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}
