//! People's logins: local accounts with argon2id passwords behind [`Authenticator`] (so OIDC
//! can be added), sessions as random tokens in an HttpOnly cookie, stored only as hashes.

use super::openapi::ApiErrorBody;
use super::ApiError;
use crate::state::{now_ms, AppState};
use crate::storage::{Role, StaffRow, Store};
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use async_trait::async_trait;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Json;
use nara_protocol::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub const SESSION_COOKIE: &str = "nara_session";
const SESSION_HOURS: u64 = 10;

pub fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 hashes any password")
        .to_string()
}

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
pub struct LocalAccounts<'a>(pub &'a dyn Store);

#[async_trait]
impl Authenticator for LocalAccounts<'_> {
    async fn authenticate(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Option<StaffRow>, ApiError> {
        let Some(row) = self.0.staff_by_username(username).await? else {
            // Spend the same time as a real check so usernames cannot be probed by timing.
            let _ = Argon2::default().verify_password(
                password.as_bytes(),
                &PasswordHash::new(DUMMY_HASH).expect("valid"),
            );
            return Ok(None);
        };
        if row.disabled {
            return Ok(None);
        }
        let Ok(hash) = PasswordHash::new(&row.password_hash) else {
            return Ok(None);
        };
        Ok(Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok()
            .then_some(row))
    }
}

const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2QmS8W7nVnA6ZpZ8JbcK0jO8c9Xv0m2a7FhN0E4z1uA";

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

#[utoipa::path(post, path = "/api/login", tag = "session", request_body = LoginRequest, responses((status = 200, description = "Logged in; sets the session cookie", body = MeResponse), (status = 401, description = "Wrong username or password", body = ApiErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    Json(req): Json<LoginRequest>,
) -> Result<Response, ApiError> {
    let Some(row) = LocalAccounts(state.store.as_ref())
        .authenticate(&req.username, &req.password)
        .await?
    else {
        return Err(ApiError::Unauthorized("wrong username or password".into()));
    };
    let token = super::random_token(40);
    state
        .store
        .create_session(
            &token_hash(&token),
            &row.id,
            now_ms() + SESSION_HOURS * 3600 * 1000,
        )
        .await?;
    let cookie = format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age={}",
        SESSION_HOURS * 3600
    );
    state
        .engine
        .run({
            let who = row.id.clone();
            move |e| e.audit(&who, "login", &who, "")
        })
        .await;
    Ok(([(header::SET_COOKIE, cookie)], Json(MeResponse::from(&row))).into_response())
}

#[utoipa::path(post, path = "/api/logout", tag = "session", responses((status = 200, description = "Logged out; the session cookie is cleared")))]
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if let Some(token) = session_token(&headers) {
        state.store.delete_session(&token_hash(&token)).await?;
    }
    let cookie = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0");
    Ok(([(header::SET_COOKIE, cookie)], Json(serde_json::json!({}))).into_response())
}

#[utoipa::path(get, path = "/api/me", tag = "session", responses((status = 200, body = MeResponse), (status = 401, description = "Not logged in", body = ApiErrorBody)))]
pub async fn me(session: StaffSession) -> Json<MeResponse> {
    Json(MeResponse::from(&session.0.row))
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
        let staff_id = state
            .store
            .session_staff(&token_hash(&token), now_ms())
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
        }))
    }
}
