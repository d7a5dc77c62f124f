//! The HTTP side: `app()` builds the router; handlers live in [`auth`] (login, sessions),
//! [`admin`] (fleet, enrolment codes, directory, bookings, audit), [`stats`] (statistics and
//! CSV) and [`enrol`] (a kiosk trading its one-time code for a certificate); [`openapi`]
//! holds what the OpenAPI document shares; [`pages`] serves the built agent-desk pages.

pub mod admin;
pub mod auth;
pub mod csrf;
pub mod enrol;
pub mod json;
pub mod openapi;
pub mod pages;
pub mod passwords;
pub mod scope;
pub mod staff;
pub mod stats;
pub mod throttle;

use crate::state::AppState;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use rand::Rng;
use std::sync::Arc;
use tower_http::set_header::SetResponseHeaderLayer;
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
    pub slot: Option<std::sync::Arc<crate::server::ConnectionSlot>>,
}

/// Errors as HTTP responses with a JSON body `{ "code": …, "message": … }`: a code for the
/// program, a sentence a person can act on.
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
    /// Well-formed and as the schema describes, but against a rule it cannot express: an
    /// unknown site, an officer without an agency, a short password.
    #[error("{0}")]
    Unprocessable(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    TooManyRequests(String),
    #[error("storage: {0}")]
    Storage(#[from] sqlx::Error),
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Storage(_) | ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> openapi::ApiErrorCode {
        use openapi::ApiErrorCode as C;
        match self {
            ApiError::BadRequest(_) => C::BadRequest,
            ApiError::Unauthorized(_) => C::Unauthorized,
            ApiError::Forbidden(_) => C::Forbidden,
            ApiError::NotFound(_) => C::NotFound,
            ApiError::Conflict(_) => C::Conflict,
            ApiError::Unprocessable(_) => C::Unprocessable,
            ApiError::MethodNotAllowed(_) => C::MethodNotAllowed,
            ApiError::UnsupportedMediaType(_) => C::UnsupportedMediaType,
            ApiError::TooManyRequests(_) => C::TooManyRequests,
            ApiError::Storage(_) | ApiError::Internal(_) => C::Internal,
        }
    }

    pub fn body(&self) -> openapi::ApiErrorBody {
        openapi::ApiErrorBody {
            code: self.code(),
            message: match self {
                // The database's own words stay in the log.
                ApiError::Storage(_) => "the database did not answer; try again".into(),
                other => other.to_string(),
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %self, "request failed");
        }
        (status, Json(self.body())).into_response()
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMediaType(
                "send the body as JSON with Content-Type: application/json".into(),
            ),
            other => ApiError::BadRequest(format!(
                "the JSON body is not accepted: {}",
                other.body_text()
            )),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::BadRequest(format!(
            "the query is not accepted: {}",
            rejection.body_text()
        ))
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        ApiError::BadRequest(format!(
            "the path is not accepted: {}",
            rejection.body_text()
        ))
    }
}

/// A JSON body whose faults are answered as [`ApiError`]s, in JSON like every other error.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// A query string whose faults are answered as [`ApiError`]s.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// Path parameters whose faults are answered as [`ApiError`]s.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// A random code from an alphabet without look-alikes, for codes people type.
pub fn random_code(len: usize) -> String {
    let alphabet: Vec<char> = nara_protocol::BOOKING_ALPHABET.chars().collect();
    let mut rng = rand::thread_rng();
    (0..len)
        .map(|_| alphabet[rng.gen_range(0..alphabet.len())])
        .collect()
}

/// Writes one line of the audit log; a failure is logged, never the request's.
pub async fn audit(state: &AppState, actor: &str, action: &str, target: &str, detail: &str) {
    let row = crate::storage::AuditRow {
        at: state.clock.now_ms(),
        actor: actor.into(),
        action: action.into(),
        target: target.into(),
        detail: detail.into(),
    };
    if let Err(e) = state.store.audit(&row).await {
        tracing::error!(error = %e, ?row, "the audit log could not be written");
    }
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
    let (router, mut api) = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(healthz))
        .routes(routes!(metrics))
        .routes(routes!(auth::login))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::me))
        .routes(routes!(enrol::enrol))
        .routes(routes!(enrol::renew))
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
        .routes(routes!(staff::list_staff, staff::create_staff))
        .routes(routes!(staff::set_abilities))
        .routes(routes!(admin::audit_log))
        .split_for_parts();
    utoipa::Modify::modify(&openapi::CommonResponses, &mut api);
    let api = Arc::new(api);
    let router = router
        .route("/api/openapi.json", get(move || async move { Json(api) }))
        .route("/ws/kiosk", get(crate::ws::kiosk::upgrade))
        .route("/ws/desk", get(crate::ws::desk::upgrade))
        .method_not_allowed_fallback(method_not_allowed);
    let assets = state.config.desk_assets.clone();
    pages::serve(router, assets.as_deref())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            csrf::guard,
        ))
        // HTTPS only, and browsers are to remember it: no first request in the clear.
        .layer(SetResponseHeaderLayer::overriding(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        ))
        .with_state(state)
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed(
        "this path does not take that method; /api/openapi.json lists what it takes".into(),
    )
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
