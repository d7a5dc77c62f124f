//! The people at desks, as administrators manage them: officers, interpreters (a pool of
//! their own, with the languages they interpret and the agencies they serve) and
//! administrators. What a person can take reaches the routing at once.

use super::admin::{audit, name_of};
use super::auth::StaffSession;
use super::openapi::ApiErrorBody;
use super::scope::AdminScope;
use super::{ApiError, ApiJson, ApiPath};
use crate::core::{DirectoryChange, Input};
use crate::routing::{StaffKind, StaffProfile};
use crate::state::AppState;
use crate::storage::*;
use axum::extract::State;
use axum::Json;
use nara_protocol::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, utoipa::ToSchema, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct StaffView {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub agency: Option<String>,
    pub region: Option<String>,
    pub languages: Vec<String>,
    pub skills: Vec<String>,
    /// An interpreter's agencies; none meaning all.
    pub serves: Vec<String>,
    pub disabled: bool,
}

impl From<StaffRow> for StaffView {
    fn from(r: StaffRow) -> Self {
        StaffView {
            id: r.id,
            username: r.username,
            display_name: r.display_name,
            role: r.role,
            agency: r.agency,
            region: r.region,
            languages: r.languages,
            skills: r.skills,
            serves: r.serves,
            disabled: r.disabled,
        }
    }
}

#[utoipa::path(get, path = "/api/admin/staff", tag = "directory", responses((status = 200, description = "Officers, interpreters and administrators", body = Vec<StaffView>), (status = 401, description = "Not logged in", body = ApiErrorBody), (status = 403, description = "Not allowed for this role, agency or region", body = ApiErrorBody)))]
pub async fn list_staff(
    State(state): State<AppState>,
    session: StaffSession,
) -> Result<Json<Vec<StaffView>>, ApiError> {
    let scope = AdminScope::of(&session.0)?;
    Ok(Json(
        state
            .store
            .staff()
            .await?
            .into_iter()
            .filter(|r| scope.sees_staff(r.role, r.region.as_deref()))
            .map(StaffView::from)
            .collect(),
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema, ts_rs::TS)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewStaff {
    /// Letters, digits, `.`, `-` and `_`; the account's id is this with `.` as `-`.
    #[schema(pattern = r"^[A-Za-z0-9_.-]{1,64}$")]
    pub username: String,
    #[schema(min_length = 1, max_length = 200)]
    pub display_name: String,
    #[schema(min_length = 12)]
    pub password: String,
    pub role: Role,
    pub agency: Option<String>,
    pub region: Option<String>,
    pub languages: Vec<String>,
    #[serde(default)]
    pub skills: Vec<String>,
}

#[utoipa::path(post, path = "/api/admin/staff", tag = "directory", request_body = NewStaff, responses((status = 200, body = serde_json::Value), (status = 400, body = ApiErrorBody), (status = 409, description = "The username is taken", body = ApiErrorBody), (status = 401, description = "Not logged in", body = ApiErrorBody), (status = 403, description = "Not allowed for this role, agency or region", body = ApiErrorBody)))]
pub async fn create_staff(
    State(state): State<AppState>,
    session: StaffSession,
    ApiJson(n): ApiJson<NewStaff>,
) -> Result<Json<serde_json::Value>, ApiError> {
    // Officers act for an agency nationwide, so only a national administrator makes anyone.
    AdminScope::of(&session.0)?.require_national("create accounts")?;
    if n.role != Role::Admin && n.region.is_some() {
        return Err(ApiError::Unprocessable(
            "only administrators belong to a region; leave it empty".into(),
        ));
    }
    if let Some(region) = &n.region {
        RegionId::new(region.clone()).map_err(ApiError::Unprocessable)?;
    }
    name_of(&n.display_name, "the person")?;
    if n.password.chars().count() < 12 {
        return Err(ApiError::Unprocessable(
            "a password must be at least 12 characters".into(),
        ));
    }
    if (n.role == Role::Officer) != n.agency.is_some() {
        return Err(ApiError::Unprocessable(
            "an officer belongs to exactly one agency; others to none".into(),
        ));
    }
    if let Some(agency) = &n.agency {
        if !state
            .store
            .agencies()
            .await?
            .iter()
            .any(|a| &a.id == agency)
        {
            return Err(ApiError::Unprocessable(format!("no agency {agency:?}")));
        }
    }
    for l in &n.languages {
        LanguageCode::new(l.clone()).map_err(ApiError::Unprocessable)?;
    }
    let id = StaffId::new(n.username.replace('.', "-")).map_err(ApiError::Unprocessable)?;
    let password_hash = state.passwords.hash(n.password).await?;
    let username = n.username.clone();
    let inserted = state
        .store
        .insert_staff(&StaffRow {
            id: id.to_string(),
            username: n.username,
            display_name: n.display_name,
            password_hash,
            role: n.role,
            agency: n.agency,
            region: n.region,
            languages: n.languages,
            skills: n.skills,
            serves: Vec::new(),
            disabled: false,
        })
        .await?;
    if !inserted {
        return Err(ApiError::Conflict(format!(
            "username {username:?} or its id {id} is taken; choose another username"
        )));
    }
    audit(&state, &session, "staff created", id.as_str(), "").await;
    Ok(Json(serde_json::json!({ "id": id })))
}

/// What a person can take: the languages they speak (or interpret), an officer's skills
/// (topics), an interpreter's agencies (none: every agency).
#[derive(Debug, Deserialize, utoipa::ToSchema, ts_rs::TS)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StaffAbilities {
    pub languages: Vec<String>,
    #[serde(default)]
    pub skills: Vec<String>,
    #[serde(default)]
    pub serves: Vec<String>,
}

#[utoipa::path(put, path = "/api/admin/staff/{id}/abilities", tag = "directory", params(("id" = String, Path)), request_body = StaffAbilities, responses((status = 200, body = StaffView), (status = 400, body = ApiErrorBody), (status = 404, body = ApiErrorBody), (status = 401, description = "Not logged in", body = ApiErrorBody), (status = 403, description = "Not allowed for this role, agency or region", body = ApiErrorBody)))]
pub async fn set_abilities(
    State(state): State<AppState>,
    session: StaffSession,
    ApiPath(id): ApiPath<String>,
    ApiJson(change): ApiJson<StaffAbilities>,
) -> Result<Json<StaffView>, ApiError> {
    // Officers and interpreters work nationwide: only a national administrator changes them.
    AdminScope::of(&session.0)?.require_national("change what someone can take")?;
    let Some(row) = state.store.staff_by_id(&id).await? else {
        return Err(ApiError::NotFound(format!("no person {id}")));
    };
    if change.languages.is_empty() && row.role != Role::Admin {
        return Err(ApiError::Unprocessable(
            "someone at a desk speaks at least one language".into(),
        ));
    }
    for l in &change.languages {
        LanguageCode::new(l.clone()).map_err(ApiError::Unprocessable)?;
    }
    if row.role != Role::Officer && !change.skills.is_empty() {
        return Err(ApiError::Unprocessable(
            "only officers have skills (the topics they take)".into(),
        ));
    }
    for skill in &change.skills {
        Topic::new(skill.clone()).map_err(ApiError::Unprocessable)?;
    }
    if row.role != Role::Interpreter && !change.serves.is_empty() {
        return Err(ApiError::Unprocessable(
            "only interpreters serve several agencies; an officer belongs to one".into(),
        ));
    }
    let agencies = state.store.agencies().await?;
    if let Some(unknown) = change
        .serves
        .iter()
        .find(|a| !agencies.iter().any(|known| &known.id == *a))
    {
        return Err(ApiError::Unprocessable(format!("no agency {unknown:?}")));
    }
    let changed = state
        .store
        .set_staff_abilities(&id, &change.languages, &change.skills, &change.serves)
        .await?;
    if !changed {
        return Err(ApiError::NotFound(format!("no person {id}")));
    }
    let row = StaffRow {
        languages: change.languages,
        skills: change.skills,
        serves: change.serves,
        ..row
    };
    let detail = format!(
        "languages {}; skills {}; serves {}",
        row.languages.join(","),
        row.skills.join(","),
        row.serves.join(",")
    );
    audit(&state, &session, "abilities changed", &id, &detail).await;
    if let Some(profile) = routing_profile(&row) {
        let change = DirectoryChange::StaffAbilities(profile);
        state.core.send(Input::Directory(change)).await;
    }
    Ok(Json(StaffView::from(row)))
}

/// What the routing knows of `row`: none for an administrator, or for a row that does not
/// make sense (an officer without an agency).
pub fn routing_profile(row: &StaffRow) -> Option<StaffProfile> {
    let kind = match row.role {
        Role::Officer => StaffKind::Officer {
            agency: AgencyId::new(row.agency.clone()?).ok()?,
        },
        Role::Interpreter => StaffKind::Interpreter {
            serves: row
                .serves
                .iter()
                .filter_map(|a| AgencyId::new(a.clone()).ok())
                .collect(),
        },
        Role::Admin => return None,
    };
    Some(StaffProfile {
        id: StaffId::new(row.id.clone()).ok()?,
        kind,
        languages: row
            .languages
            .iter()
            .filter_map(|l| LanguageCode::new(l.clone()).ok())
            .collect(),
        skills: row
            .skills
            .iter()
            .filter_map(|s| Topic::new(s.clone()).ok())
            .collect(),
    })
}
