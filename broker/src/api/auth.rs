//! People's logins: local accounts with argon2id passwords behind [`Authenticator`] (so OIDC
//! can be added), sessions as random tokens in an HttpOnly cookie, stored only as hashes.

use super::openapi::ApiErrorBody;
use super::passwords::Passwords;
use super::{ApiError, ConnInfo};
use crate::state::AppState;
use crate::storage::{Role, StaffRow, Store};
use async_trait::async_trait;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use nara_protocol::desk::BrokerToDesk;
use nara_protocol::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::net::{IpAddr, Ipv4Addr};

pub const SESSION_COOKIE: &str = "nara_session";
/// Usernames are ids of at most 64 characters (see `NewStaff`); a little slack for spaces.
const MAX_USERNAME_CHARS: usize = 100;

/// Who may log in, and how. Local accounts now; an OIDC provider later.
#[async_trait]
pub trait Authenticator: Send + Sync {
    async fn authenticate(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Option<StaffRow>, ApiError>;
}

#[derive(Debug)]
pub struct LocalAccounts<'a> {
    pub store: &'a dyn Store,
    pub passwords: &'a Passwords,
}

#[async_trait]
impl Authenticator for LocalAccounts<'_> {
    async fn authenticate(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Option<StaffRow>, ApiError> {
        let row = self
            .store
            .staff_by_username(username)
            .await?
            .filter(|r| !r.disabled);
        let stored = row.as_ref().map(|r| r.password_hash.clone());
        let matches = self.passwords.verify(password.to_string(), stored).await?;
        Ok(row.filter(|_| matches))
    }
}

fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[derive(Debug, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

/// The logged-in person as the desk sees them.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct MeResponse {
    pub staff: String,
    pub display_name: String,
    pub role: Role,
    pub agency: Option<String>,
    pub region: Option<String>,
    pub languages: Vec<String>,
}

impl From<&StaffRow> for MeResponse {
    fn from(r: &StaffRow) -> Self {
        MeResponse {
            staff: r.id.clone(),
            display_name: r.display_name.clone(),
            role: r.role,
            agency: r.agency.clone(),
            region: r.region.clone(),
            languages: r.languages.clone(),
        }
    }
}

#[utoipa::path(post, path = "/api/login", tag = "session", security(()), request_body = LoginRequest, responses(
    (status = 200, description = "Logged in; sets the session cookie", body = MeResponse),
    (status = 400, description = "The body is not a login request", body = ApiErrorBody),
    (status = 401, description = "Wrong username or password", body = ApiErrorBody),
    (status = 429, description = "Too many failed logins; `Retry-After` says when to try again", body = ApiErrorBody),
))]
pub async fn login(
    State(state): State<AppState>,
    conn: Option<Extension<ConnInfo>>,
    super::ApiJson(req): super::ApiJson<LoginRequest>,
) -> Result<Response, ApiError> {
    let address = conn.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.peer.ip());
    // No account has a name this long: nothing to look up, count or write in the audit log.
    if req.username.chars().count() > MAX_USERNAME_CHARS {
        return Err(ApiError::Unauthorized("wrong username or password".into()));
    }
    let account = req.username.trim().to_lowercase();
    if let Err(throttled) =
        state
            .passwords
            .throttle()
            .attempt(&account, address, state.clock.now_ms())
    {
        state.metrics.refused("login-throttled");
        let retry_after = [(
            header::RETRY_AFTER,
            throttled.retry_after_seconds.to_string(),
        )];
        let refusal = ApiError::TooManyRequests(throttled.message());
        return Ok((retry_after, refusal).into_response());
    }
    let authenticated = LocalAccounts {
        store: state.store.as_ref(),
        passwords: &state.passwords,
    }
    .authenticate(&req.username, &req.password)
    .await?;
    let Some(row) = authenticated else {
        tracing::warn!(%address, "login failed: wrong username or password");
        let detail = format!("from {address}");
        super::audit(&state, "anonymous", "login failed", &account, &detail).await;
        return Err(ApiError::Unauthorized("wrong username or password".into()));
    };
    state
        .passwords
        .throttle()
        .succeeded(&account, address, state.clock.now_ms());
    let token = super::random_token(40);
    state
        .store
        .create_session(
            &token_hash(&token),
            &row.id,
            state.clock.now_ms() + state.config.limits.session_seconds * 1000,
        )
        .await?;
    let cookie = format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age={}",
        state.config.limits.session_seconds
    );
    super::audit(&state, &row.id, "login", &row.id, "").await;
    Ok(([(header::SET_COOKIE, cookie)], Json(MeResponse::from(&row))).into_response())
}

#[utoipa::path(post, path = "/api/logout", tag = "session", responses(
    (status = 200, description = "Logged out; the session cookie is cleared and the session's desk connections closed", body = serde_json::Value),
    (status = 403, description = "From another site", body = ApiErrorBody),
))]
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if let Some(token) = session_token(&headers) {
        let hash = token_hash(&token);
        state.store.delete_session(&hash).await?;
        state
            .connections
            .close_session(&hash, &session_ended("you logged out"));
    }
    let cookie = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0");
    Ok(([(header::SET_COOKIE, cookie)], Json(serde_json::json!({}))).into_response())
}

#[utoipa::path(get, path = "/api/me", tag = "session", responses((status = 200, body = MeResponse), (status = 401, description = "Not logged in", body = ApiErrorBody)))]
pub async fn me(session: StaffSession) -> Json<MeResponse> {
    Json(MeResponse::from(&session.0.row))
}

/// What a desk is told as its session ends, before its connection closes.
pub fn session_ended(why: &str) -> BrokerToDesk {
    BrokerToDesk::Error(ErrorReply {
        code: ErrorCode::SessionEnded,
        message: format!("{why}; log in again"),
        fatal: true,
        request: None,
    })
}

fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == SESSION_COOKIE).then(|| value.to_string())
        })
}

/// A logged-in person, with what the protocol shows of them.
#[derive(Debug, Clone)]
pub struct SessionStaff {
    pub row: StaffRow,
    pub card: StaffCard,
    pub languages: Vec<LanguageCode>,
    /// The session's token hash, so its connections can be closed when it ends.
    pub session: String,
    pub session_expires_at: u64,
}

impl SessionStaff {
    pub fn is_admin(&self) -> bool {
        self.row.role == Role::Admin
    }

    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(ApiError::Forbidden("this needs an administrator".into()))
        }
    }
}

/// Extractor: the session's person, or 401.
#[derive(Debug, Clone)]
pub struct StaffSession(pub SessionStaff);

impl FromRequestParts<AppState> for StaffSession {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = session_token(&parts.headers)
            .ok_or_else(|| ApiError::Unauthorized("log in first".into()))?;
        let session = token_hash(&token);
        let (staff_id, session_expires_at) = state
            .store
            .session(&session, state.clock.now_ms())
            .await?
            .ok_or_else(|| ApiError::Unauthorized("your session has ended; log in again".into()))?;
        let row = state
            .store
            .staff_by_id(&staff_id)
            .await?
            .filter(|r| !r.disabled)
            .ok_or_else(|| ApiError::Unauthorized("this account is disabled".into()))?;
        let agencies = state.store.agencies().await?;
        let agency_name = row
            .agency
            .as_ref()
            .and_then(|a| agencies.iter().find(|x| &x.id == a))
            .map(|a| a.name.clone());
        let card = StaffCard {
            staff: StaffId::new(row.id.clone()).map_err(ApiError::Internal)?,
            display_name: ShortText::new(row.display_name.clone()).map_err(ApiError::Internal)?,
            role: match row.role {
                Role::Officer => StaffRoleKind::Officer,
                Role::Interpreter => StaffRoleKind::Interpreter,
                Role::Admin => StaffRoleKind::Admin,
            },
            agency: row.agency.clone().and_then(|a| AgencyId::new(a).ok()),
            agency_name: agency_name.and_then(|n| ShortText::new(n).ok()),
            interprets: None,
        };
        let languages = row
            .languages
            .iter()
            .filter_map(|l| LanguageCode::new(l.clone()).ok())
            .collect();
        Ok(StaffSession(SessionStaff {
            row,
            card,
            languages,
            session,
            session_expires_at,
        }))
    }
}
