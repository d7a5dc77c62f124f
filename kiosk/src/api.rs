//! The local control API, on loopback only: how the touch UI's tests, the end-to-end tests and
//! the demo's simulated kiosks drive a headless kiosk. It speaks for the citizen: start a
//! visit, chat, leave, answer the survey.
//!
//! It carries the chat, the staff's names and the scanned pages, so no web page may reach it
//! (L3 of the security review): it binds only a loopback address, answers only requests
//! whose `Host` is a loopback name (a DNS-rebound name is refused), and refuses any request
//! that carries an `Origin`, which browsers add to every cross-origin call and programs don't.

use crate::controller::{DocumentRequest, Handle, Request};
use crate::status::Status;
use crate::visit::CitizenAction;
use axum::extract::{rejection::JsonRejection, Path, Request as HttpRequest, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use nara_protocol::{AgencyId, BookingCode, LanguageCode, SelfTestReport, StaffId};
use serde::Deserialize;
use std::future::IntoFuture;
use std::net::SocketAddr;

pub fn app(kiosk: Handle) -> Router {
    Router::new()
        .route("/status", get(status))
        .route("/visit", post(start_visit))
        .route("/visit/leave", post(leave))
        .route("/visit/survey", post(survey))
        .route("/visit/reset", post(reset))
        .route("/chat", post(chat))
        .route("/self-test", post(self_test))
        .route("/document/scan", post(scan))
        .route("/document/rescan", post(rescan))
        .route("/document/send", post(send_document))
        .route("/document/cancel", post(cancel_document))
        .route("/document/pages/{index}", get(document_page))
        .layer(axum::middleware::from_fn(local_callers_only))
        .with_state(kiosk)
}

/// Where the local API listens: a loopback address, or a Unix socket that only the kiosk's
/// user may open (how tests reach a kiosk inside a network namespace, whose loopback is its
/// own). Any other address is refused when it is read, from the command line or the file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum ApiListen {
    Loopback(SocketAddr),
    Unix(std::path::PathBuf),
}

impl std::str::FromStr for ApiListen {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        if let Some(path) = text.strip_prefix("unix:") {
            return Ok(ApiListen::Unix(path.into()));
        }
        let address: SocketAddr = text.parse().map_err(|_| {
            format!("the local API listens on 127.0.0.1:PORT or unix:PATH, not {text:?}")
        })?;
        if !address.ip().is_loopback() {
            return Err(format!(
                "the kiosk's local API serves loopback only, not {address}: use 127.0.0.1:PORT or unix:PATH"
            ));
        }
        Ok(ApiListen::Loopback(address))
    }
}

impl TryFrom<String> for ApiListen {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        text.parse()
    }
}

impl std::fmt::Display for ApiListen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiListen::Loopback(address) => write!(f, "{address}"),
            ApiListen::Unix(path) => write!(f, "unix:{}", path.display()),
        }
    }
}

/// Serves `app` where `listen` says until `shutdown` turns true; returns where it listens, as
/// the READY line names it (`http://127.0.0.1:PORT` or `unix:PATH`), and the server's task.
pub async fn serve(
    listen: &ApiListen,
    app: Router,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<(String, tokio::task::JoinHandle<std::io::Result<()>>)> {
    let stopped = async move {
        let _ = shutdown.changed().await;
    };
    match listen {
        ApiListen::Loopback(address) => {
            let listener = tokio::net::TcpListener::bind(address).await?;
            let named = format!("http://{}", listener.local_addr()?);
            let server = axum::serve(listener, app).with_graceful_shutdown(stopped);
            Ok((named, tokio::spawn(server.into_future())))
        }
        ApiListen::Unix(path) => {
            use std::os::unix::fs::PermissionsExt;
            // A socket left by a kiosk that was killed would keep the name taken.
            if path.exists() {
                std::fs::remove_file(path)?;
            }
            let listener = tokio::net::UnixListener::bind(path)?;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
            let named = format!("unix:{}", path.display());
            let server = axum::serve(listener, app).with_graceful_shutdown(stopped);
            Ok((named, tokio::spawn(server.into_future())))
        }
    }
}

/// Whether `host` (a Host header: name or address, with or without a port) names this machine.
fn is_loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

async fn local_callers_only(request: HttpRequest, next: Next) -> Response {
    let headers = request.headers();
    if headers.contains_key(header::ORIGIN) {
        return ApiError::Forbidden("the kiosk's API does not answer web pages".into())
            .into_response();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    if !is_loopback_host(host) {
        return ApiError::Forbidden(format!(
            "the kiosk's API answers to localhost only, not {host:?}"
        ))
        .into_response();
    }
    next.run(request).await
}

/// Errors as the API's callers see them: a status and a sentence.
#[derive(Debug)]
pub enum ApiError {
    BadRequest(String),
    Forbidden(String),
    NotFound(String),
    Refused(String),
    Stopping,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            ApiError::BadRequest(m) => (StatusCode::BAD_REQUEST, m),
            ApiError::Forbidden(m) => (StatusCode::FORBIDDEN, m),
            ApiError::NotFound(m) => (StatusCode::NOT_FOUND, m),
            ApiError::Refused(m) => (StatusCode::CONFLICT, m),
            ApiError::Stopping => (
                StatusCode::SERVICE_UNAVAILABLE,
                "the kiosk is stopping".to_string(),
            ),
        };
        (status, Json(serde_json::json!({ "error": message }))).into_response()
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        ApiError::BadRequest(rejection.body_text())
    }
}

async fn status(State(kiosk): State<Handle>) -> Result<Json<Status>, ApiError> {
    kiosk
        .ask(Request::Status)
        .await
        .map(Json)
        .ok_or(ApiError::Stopping)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct StartVisit {
    language: Option<LanguageCode>,
    agency: Option<AgencyId>,
    booking_code: Option<String>,
}

async fn citizen(kiosk: &Handle, action: CitizenAction) -> Result<StatusCode, ApiError> {
    match kiosk.ask(|reply| Request::Citizen(action, reply)).await {
        Some(Ok(())) => Ok(StatusCode::NO_CONTENT),
        Some(Err(why)) => Err(ApiError::Refused(why)),
        None => Err(ApiError::Stopping),
    }
}

async fn start_visit(
    State(kiosk): State<Handle>,
    body: Result<Json<StartVisit>, JsonRejection>,
) -> Result<StatusCode, ApiError> {
    let Json(body) = body?;
    let action = match body {
        StartVisit {
            booking_code: Some(code),
            ..
        } => {
            let code = code.trim().to_ascii_uppercase().replace(['-', ' '], "");
            CitizenAction::CheckIn {
                code: BookingCode::new(code).map_err(ApiError::BadRequest)?,
            }
        }
        StartVisit {
            language: Some(language),
            agency: Some(agency),
            ..
        } => CitizenAction::StartVisit { language, agency },
        _ => {
            return Err(ApiError::BadRequest(
                "give either a bookingCode, or a language and an agency".into(),
            ))
        }
    };
    citizen(&kiosk, action).await
}

async fn leave(State(kiosk): State<Handle>) -> Result<StatusCode, ApiError> {
    citizen(&kiosk, CitizenAction::Leave).await
}

async fn reset(State(kiosk): State<Handle>) -> Result<StatusCode, ApiError> {
    citizen(&kiosk, CitizenAction::Reset).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Survey {
    score: u8,
}

async fn survey(
    State(kiosk): State<Handle>,
    body: Result<Json<Survey>, JsonRejection>,
) -> Result<StatusCode, ApiError> {
    let Json(Survey { score }) = body?;
    citizen(&kiosk, CitizenAction::Survey { score }).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Chat {
    text: String,
}

async fn chat(
    State(kiosk): State<Handle>,
    body: Result<Json<Chat>, JsonRejection>,
) -> Result<StatusCode, ApiError> {
    let Json(Chat { text }) = body?;
    match kiosk.ask(|reply| Request::Chat(text, reply)).await {
        Some(Ok(())) => Ok(StatusCode::NO_CONTENT),
        Some(Err(why)) => Err(ApiError::Refused(why)),
        None => Err(ApiError::Stopping),
    }
}

async fn self_test(State(kiosk): State<Handle>) -> Result<Json<SelfTestReport>, ApiError> {
    kiosk
        .ask(Request::SelfTest)
        .await
        .map(Json)
        .ok_or(ApiError::Stopping)
}

async fn document(kiosk: &Handle, request: DocumentRequest) -> Result<StatusCode, ApiError> {
    match kiosk.ask(|reply| Request::Document(request, reply)).await {
        Some(Ok(())) => Ok(StatusCode::NO_CONTENT),
        Some(Err(why)) => Err(ApiError::Refused(why)),
        None => Err(ApiError::Stopping),
    }
}

/// Scans a page and adds it to the citizen's document; `/status` shows it when done.
async fn scan(State(kiosk): State<Handle>) -> Result<StatusCode, ApiError> {
    document(&kiosk, DocumentRequest::Scan).await
}

/// Scans the last page again.
async fn rescan(State(kiosk): State<Handle>) -> Result<StatusCode, ApiError> {
    document(&kiosk, DocumentRequest::Rescan).await
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SendDocument {
    /// Who receives it; may be left out when one person is at a desk in the meeting.
    to: Option<StaffId>,
}

/// The citizen pressed send.
async fn send_document(
    State(kiosk): State<Handle>,
    body: Result<Json<SendDocument>, JsonRejection>,
) -> Result<StatusCode, ApiError> {
    let Json(SendDocument { to }) = body?;
    document(&kiosk, DocumentRequest::Send { to }).await
}

/// Stops a scan or the sending and forgets the pages.
async fn cancel_document(State(kiosk): State<Handle>) -> Result<StatusCode, ApiError> {
    document(&kiosk, DocumentRequest::Cancel).await
}

/// A scanned page as the citizen is shown it, before they decide to send.
async fn document_page(
    State(kiosk): State<Handle>,
    Path(index): Path<usize>,
) -> Result<Response, ApiError> {
    match kiosk.ask(|reply| Request::DocumentPage(index, reply)).await {
        Some(Some(jpeg)) => {
            Ok(([(axum::http::header::CONTENT_TYPE, "image/jpeg")], jpeg).into_response())
        }
        Some(None) => Err(ApiError::NotFound(format!("there is no page {index}"))),
        None => Err(ApiError::Stopping),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn l3_only_loopback_names_are_answered() {
        for host in [
            "localhost",
            "localhost:7700",
            "127.0.0.1:7700",
            "[::1]:7700",
            "LOCALHOST",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "rebind.evil.example",
            "rebind.evil.example:7700",
            "192.0.2.1:7700",
            "",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }

    /// L3 of the security review: a page on another site, or a DNS-rebound name, read the
    /// chat and the scanned pages.
    #[tokio::test]
    async fn l3_web_pages_and_foreign_names_are_refused() {
        use tower::ServiceExt;
        let app = Router::new()
            .route(
                "/status",
                get(|| async { "the chat and the staff's names" }),
            )
            .layer(axum::middleware::from_fn(local_callers_only));
        let ask = |host: &str, origin: Option<&str>| {
            let mut request = axum::http::Request::get("/status").header(header::HOST, host);
            if let Some(origin) = origin {
                request = request.header(header::ORIGIN, origin);
            }
            app.clone()
                .oneshot(request.body(axum::body::Body::empty()).unwrap())
        };
        let status = |host, origin| async move { ask(host, origin).await.unwrap().status() };
        assert_eq!(status("127.0.0.1:7700", None).await, StatusCode::OK);
        assert_eq!(status("localhost", None).await, StatusCode::OK);
        assert_eq!(
            status("rebind.evil.example:7700", None).await,
            StatusCode::FORBIDDEN
        );
        let from_a_page = Some("https://evil.example");
        assert_eq!(
            status("127.0.0.1:7700", from_a_page).await,
            StatusCode::FORBIDDEN
        );
    }

    #[test]
    fn l3_the_api_refuses_to_listen_beyond_loopback() {
        assert!("127.0.0.1:7700".parse::<ApiListen>().is_ok());
        assert!("[::1]:7700".parse::<ApiListen>().is_ok());
        assert_eq!(
            "unix:/run/nara/api.sock".parse::<ApiListen>(),
            Ok(ApiListen::Unix("/run/nara/api.sock".into()))
        );
        for elsewhere in ["0.0.0.0:7700", "192.0.2.1:7700"] {
            let refused = elsewhere.parse::<ApiListen>().unwrap_err();
            assert!(refused.contains("loopback only"), "{refused}");
        }
    }
}
