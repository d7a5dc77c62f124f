//! Administration: the fleet, enrolment, the directory (agencies, sites, people), bookings,
//! queues as officers may see them, and the audit log.

use super::auth::StaffSession;
use super::openapi::ApiErrorBody;
use super::scope::{kiosk_region, site_region, AdminScope};
use super::{random_code, random_token, ApiError, ApiJson, ApiPath};
use crate::core::{DirectoryChange, Input};
use crate::state::AppState;
use crate::storage::*;
use axum::extract::State;
use axum::Json;
use nara_protocol::kiosk::BrokerToKiosk;
use nara_protocol::*;
use serde::{Deserialize, Serialize};

const ENROLMENT_CODE_HOURS: u64 = 72;

/// A kiosk as the fleet view shows it.
#[derive(Debug, Serialize, utoipa::ToSchema, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct KioskView {
    pub id: String,
    pub name: String,
    pub site: String,
    pub site_name: String,
    pub region: String,
    pub online: bool,
    pub enrolled: bool,
    pub revoked: bool,
    pub out_of_service: Option<String>,
    #[ts(type = "number | null")]
    pub last_seen: Option<u64>,
    pub software_version: Option<String>,
    #[ts(type = "Heartbeat | null")]
    pub last_heartbeat: Option<serde_json::Value>,
    #[ts(type = "SelfTestReport | null")]
    pub last_self_test: Option<serde_json::Value>,
    /// Plain-language problems for the alert list, e.g. "offline", "scanner: paper jam".
    pub alerts: Vec<String>,
    /// The latest heartbeats, newest first; only in a single kiosk's view.
    pub recent_heartbeats: Vec<RecentHeartbeat>,
}

#[derive(Debug, Serialize, utoipa::ToSchema, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct RecentHeartbeat {
    #[ts(type = "number")]
    pub at: u64,
    #[ts(type = "Heartbeat")]
    pub heartbeat: serde_json::Value,
}

async fn kiosk_views(state: &AppState, session: &StaffSession) -> Result<Vec<KioskView>, ApiError> {
    let scope = AdminScope::of(&session.0)?;
    let sites = state.store.sites().await?;
    let heartbeat_ms = state.config.fleet.heartbeat_seconds as u64 * 1000;
    let missed = state.config.fleet.offline_after_missed as u64;
    let now = state.clock.now_ms();
    let mut out = Vec::new();
    for k in state.store.kiosks().await? {
        let site = sites.iter().find(|s| s.id == k.site_id);
        let region = site.map(|s| s.region.clone()).unwrap_or_default();
        if !scope.covers(&region) {
            continue;
        }
        let connected = state.connections.kiosk_online(&k.id);
        let fresh = k
            .last_seen
            .is_some_and(|t| now.saturating_sub(t) <= heartbeat_ms * missed);
        let online = connected && (fresh || k.last_seen.is_none());
        let heartbeat: Option<serde_json::Value> = k
            .last_heartbeat
            .as_deref()
            .and_then(|h| serde_json::from_str(h).ok());
        let mut alerts = Vec::new();
        if k.revoked_at.is_some() {
            alerts.push("revoked".to_string());
        } else if k.enrolled_at.is_none() {
            alerts.push("not enrolled yet".to_string());
        } else if !online {
            alerts.push("offline".to_string());
        }
        if let Some(devices) = heartbeat
            .as_ref()
            .and_then(|h| h.get("devices"))
            .and_then(|d| d.as_object())
        {
            for (device, state) in devices {
                match state.get("state").and_then(|s| s.as_str()) {
                    Some("ok") | None => {}
                    Some("missing") => alerts.push(format!("{device}: missing")),
                    Some(_) => alerts.push(format!(
                        "{device}: {}",
                        state
                            .get("detail")
                            .and_then(|d| d.as_str())
                            .unwrap_or("failing")
                    )),
                }
            }
        }
        out.push(KioskView {
            id: k.id.clone(),
            name: k.name.clone(),
            site: k.site_id.clone(),
            site_name: site.map(|s| s.name.clone()).unwrap_or_default(),
            region,
            online,
            enrolled: k.enrolled_at.is_some(),
            revoked: k.revoked_at.is_some(),
            out_of_service: k.out_of_service.clone(),
            last_seen: k.last_seen,
            software_version: k.software_version.clone(),
            last_heartbeat: heartbeat,
            last_self_test: k
                .last_self_test
                .as_deref()
                .and_then(|h| serde_json::from_str(h).ok()),
            alerts,
            recent_heartbeats: Vec::new(),
        });
    }
    Ok(out)
}

#[utoipa::path(get, path = "/api/admin/kiosks", tag = "kiosks", responses((status = 200, description = "The fleet, with alerts", body = Vec<KioskView>), (status = 401, description = "Not logged in", body = ApiErrorBody), (status = 403, description = "Not allowed for this role, agency or region", body = ApiErrorBody)))]
pub async fn list_kiosks(
    State(state): State<AppState>,
    session: StaffSession,
) -> Result<Json<Vec<KioskView>>, ApiError> {
    Ok(Json(kiosk_views(&state, &session).await?))
}

#[utoipa::path(get, path = "/api/admin/kiosks/{kiosk}", tag = "kiosks", params(("kiosk" = String, Path)), responses((status = 200, body = KioskView), (status = 404, body = ApiErrorBody), (status = 401, description = "Not logged in", body = ApiErrorBody), (status = 403, description = "Not allowed for this role, agency or region", body = ApiErrorBody)))]
pub async fn kiosk_detail(
    State(state): State<AppState>,
    session: StaffSession,
    ApiPath(kiosk): ApiPath<String>,
) -> Result<Json<KioskView>, ApiError> {
    let mut view = kiosk_views(&state, &session)
        .await?
        .into_iter()
        .find(|k| k.id == kiosk)
        .ok_or_else(|| ApiError::NotFound(format!("no kiosk {kiosk}")))?;
    view.recent_heartbeats = state
        .store
        .recent_heartbeats(&kiosk)
        .await?
        .into_iter()
        .filter_map(|(at, json)| {
            Some(RecentHeartbeat {
                at,
                heartbeat: serde_json::from_str(&json).ok()?,
            })
        })
        .collect();
    Ok(Json(view))
}

#[derive(Debug, Deserialize, utoipa::ToSchema, ts_rs::TS)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewKiosk {
    #[schema(pattern = r"^[A-Za-z0-9_-]{1,64}$")]
    pub site: String,
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct NewKioskResponse {
    pub kiosk: String,
    pub enrolment_code: String,
    #[ts(type = "number")]
    pub expires_at: u64,
}

/// Registers a kiosk and returns its one-time enrolment code.
#[utoipa::path(post, path = "/api/admin/kiosks", tag = "kiosks", request_body = NewKiosk, responses((status = 200, description = "The kiosk and its one-time enrolment code", body = NewKioskResponse), (status = 400, body = ApiErrorBody), (status = 401, description = "Not logged in", body = ApiErrorBody), (status = 403, description = "Not allowed for this role, agency or region", body = ApiErrorBody)))]
pub async fn create_kiosk(
    State(state): State<AppState>,
    session: StaffSession,
    ApiJson(req): ApiJson<NewKiosk>,
) -> Result<Json<NewKioskResponse>, ApiError> {
    let scope = AdminScope::of(&session.0)?;
    let region = site_region(&state, &req.site)
        .await
        .map_err(|_| ApiError::Unprocessable(format!("no site {:?}", req.site)))?;
    scope.require(&region, &format!("site {}", req.site))?;
    let name = name_of(&req.name, "the kiosk")?;
    let id = format!("k-{}-{}", req.site, random_token(6));
    state
        .store
        .create_kiosk(&KioskRow {
            id: id.clone(),
            site_id: req.site,
            name: name.to_string(),
            ..Default::default()
        })
        .await?;
    let code = random_code(10);
    let expires_at = state.clock.now_ms() + ENROLMENT_CODE_HOURS * 3600 * 1000;
    state
        .store
        .create_enrolment_code(&EnrolmentCodeRow {
            code: code.clone(),
            kiosk_id: id.clone(),
            created_by: session.0.row.id.clone(),
            expires_at,
        })
        .await?;
    audit(&state, &session, "kiosk created", &id, "").await;
    Ok(Json(NewKioskResponse {
        kiosk: id,
        enrolment_code: code,
        expires_at,
    }))
}

pub(super) async fn audit(
    state: &AppState,
    session: &StaffSession,
    action: &str,
    target: &str,
    detail: &str,
) {
    super::audit(state, &session.0.row.id, action, target, detail).await;
}

/// A name people will read: not blank, and short enough for a line.
pub(super) fn name_of(text: &str, whose: &str) -> Result<ShortText, ApiError> {
    if text.trim().is_empty() {
        return Err(ApiError::Unprocessable(format!("{whose} needs a name")));
    }
    ShortText::new(text).map_err(ApiError::Unprocessable)
}

/// The kiosk's id, once the session's administrator is found to cover its region.
async fn kiosk_in_scope(
    state: &AppState,
    session: &StaffSession,
    kiosk: &str,
) -> Result<KioskId, ApiError> {
    let scope = AdminScope::of(&session.0)?;
    // An id that cannot be a kiosk's names no kiosk.
    let id = KioskId::new(kiosk).map_err(|_| ApiError::NotFound(format!("no kiosk {kiosk:?}")))?;
    scope.require(
        &kiosk_region(state, kiosk).await?,
        &format!("kiosk {kiosk}"),
    )?;
    Ok(id)
}

/// Revokes a kiosk's certificate; a connected kiosk is cut off at once.
#[utoipa::path(post, path = "/api/admin/kiosks/{kiosk}/revoke", tag = "kiosks", params(("kiosk" = String, Path)), responses((status = 200, description = "Revoked; a connected kiosk is cut off at once", body = serde_json::Value), (status = 404, body = ApiErrorBody), (status = 401, description = "Not logged in", body = ApiErrorBody), (status = 403, description = "Not allowed for this role, agency or region", body = ApiErrorBody)))]
pub async fn revoke_kiosk(
    State(state): State<AppState>,
    session: StaffSession,
    ApiPath(kiosk): ApiPath<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let id = kiosk_in_scope(&state, &session, &kiosk).await?;
    if !state
        .store
        .revoke_kiosk(&kiosk, state.clock.now_ms())
        .await?
    {
        return Err(ApiError::NotFound(format!("no kiosk {kiosk}")));
    }
    state.connections.close_kiosk(
        &id,
        &BrokerToKiosk::Error(ErrorReply {
            code: ErrorCode::Forbidden,
            message: "this kiosk was revoked by an administrator".into(),
            fatal: true,
            request: None,
        }),
    );
    audit(&state, &session, "kiosk revoked", &kiosk, "").await;
    Ok(Json(serde_json::json!({ "revoked": kiosk })))
}

#[utoipa::path(post, path = "/api/admin/kiosks/{kiosk}/self-test", tag = "kiosks", params(("kiosk" = String, Path)), responses((status = 200, description = "Asked; the result arrives in the kiosk's lastSelfTest", body = serde_json::Value), (status = 409, description = "The kiosk is offline", body = ApiErrorBody), (status = 401, description = "Not logged in", body = ApiErrorBody), (status = 403, description = "Not allowed for this role, agency or region", body = ApiErrorBody)))]
pub async fn run_self_test(
    State(state): State<AppState>,
    session: StaffSession,
    ApiPath(kiosk): ApiPath<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let id = kiosk_in_scope(&state, &session, &kiosk).await?;
    let request = RequestId::new(format!("r-{}", random_token(8))).expect("valid");
    if !state.connections.to_kiosk(
        &id,
        &BrokerToKiosk::RunSelfTest {
            request: request.clone(),
        },
    ) {
        return Err(ApiError::Conflict(format!(
            "kiosk {kiosk} is not connected; the self-test runs when it is"
        )));
    }
    audit(
        &state,
        &session,
        "self-test requested",
        &kiosk,
        request.as_str(),
    )
    .await;
    Ok(Json(serde_json::json!({ "request": request })))
}

#[derive(Debug, Deserialize, utoipa::ToSchema, ts_rs::TS)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OutOfService {
    /// The message shown on the kiosk; `null` puts it back in service.
    pub message: Option<String>,
}

#[utoipa::path(post, path = "/api/admin/kiosks/{kiosk}/out-of-service", tag = "kiosks", params(("kiosk" = String, Path)), request_body = OutOfService, responses((status = 200, body = serde_json::Value), (status = 404, body = ApiErrorBody), (status = 401, description = "Not logged in", body = ApiErrorBody), (status = 403, description = "Not allowed for this role, agency or region", body = ApiErrorBody)))]
pub async fn out_of_service(
    State(state): State<AppState>,
    session: StaffSession,
    ApiPath(kiosk): ApiPath<String>,
    ApiJson(req): ApiJson<OutOfService>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let id = kiosk_in_scope(&state, &session, &kiosk).await?;
    let message = req
        .message
        .map(LongText::new)
        .transpose()
        .map_err(ApiError::Unprocessable)?;
    if !state
        .store
        .set_out_of_service(&kiosk, message.as_ref().map(|m| m.as_str()))
        .await?
    {
        return Err(ApiError::NotFound(format!("no kiosk {kiosk}")));
    }
    let change = DirectoryChange::OutOfService {
        kiosk: id,
        message: message.clone(),
    };
    state.core.send(Input::Directory(change)).await;
    audit(
        &state,
        &session,
        if message.is_some() {
            "out of service"
        } else {
            "back in service"
        },
        &kiosk,
        message.as_ref().map(|m| m.as_str()).unwrap_or(""),
    )
    .await;
    Ok(Json(
        serde_json::json!({ "kiosk": kiosk, "outOfService": message }),
    ))
}

#[utoipa::path(get, path = "/api/admin/agencies", tag = "directory", responses((status = 200, body = Vec<AgencyRow>), (status = 401, description = "Not logged in", body = ApiErrorBody), (status = 403, description = "Not allowed for this role, agency or region", body = ApiErrorBody)))]
pub async fn list_agencies(
    State(state): State<AppState>,
    session: StaffSession,
) -> Result<Json<Vec<AgencyRow>>, ApiError> {
    // Officers choose among them to transfer or invite; interpreters do neither.
    if session.0.row.role == Role::Interpreter {
        return Err(ApiError::Forbidden(
            "the list of agencies is for officers and administrators".into(),
        ));
    }
    Ok(Json(state.store.agencies().await?))
}

#[utoipa::path(post, path = "/api/admin/agencies", tag = "directory", request_body = AgencyRow, responses((status = 200, body = AgencyRow), (status = 400, body = ApiErrorBody), (status = 401, description = "Not logged in", body = ApiErrorBody), (status = 403, description = "Not allowed for this role, agency or region", body = ApiErrorBody)))]
pub async fn upsert_agency(
    State(state): State<AppState>,
    session: StaffSession,
    ApiJson(a): ApiJson<AgencyRow>,
) -> Result<Json<AgencyRow>, ApiError> {
    AdminScope::of(&session.0)?.require_national("change an agency")?;
    AgencyId::new(a.id.clone()).map_err(ApiError::Unprocessable)?;
    name_of(&a.name, "the agency")?;
    OpeningHours::new(a.hours.clone()).map_err(ApiError::Unprocessable)?;
    for l in &a.languages {
        LanguageCode::new(l.clone()).map_err(ApiError::Unprocessable)?;
    }
    state.store.upsert_agency(&a).await?;
    audit(&state, &session, "agency saved", &a.id, "").await;
    let change = DirectoryChange::Agency(a.clone());
    state.core.send(Input::Directory(change)).await;
    Ok(Json(a))
}

#[utoipa::path(get, path = "/api/admin/sites", tag = "directory", responses((status = 200, body = Vec<SiteRow>), (status = 401, description = "Not logged in", body = ApiErrorBody), (status = 403, description = "Not allowed for this role, agency or region", body = ApiErrorBody)))]
pub async fn list_sites(
    State(state): State<AppState>,
    session: StaffSession,
) -> Result<Json<Vec<SiteRow>>, ApiError> {
    let scope = AdminScope::of(&session.0)?;
    let sites = state.store.sites().await?;
    Ok(Json(scope.sites(&sites).into_iter().cloned().collect()))
}

#[utoipa::path(post, path = "/api/admin/sites", tag = "directory", request_body = SiteRow, responses((status = 200, body = SiteRow), (status = 400, body = ApiErrorBody), (status = 401, description = "Not logged in", body = ApiErrorBody), (status = 403, description = "Not allowed for this role, agency or region", body = ApiErrorBody)))]
pub async fn upsert_site(
    State(state): State<AppState>,
    session: StaffSession,
    ApiJson(s): ApiJson<SiteRow>,
) -> Result<Json<SiteRow>, ApiError> {
    let scope = AdminScope::of(&session.0)?;
    SiteId::new(s.id.clone()).map_err(ApiError::Unprocessable)?;
    name_of(&s.name, "the site")?;
    RegionId::new(s.region.clone()).map_err(ApiError::Unprocessable)?;
    // A regional administrator keeps a site in their region: they may neither move one of
    // theirs out nor pull another region's in.
    scope.require(&s.region, &format!("site {} as saved", s.id))?;
    match site_region(&state, &s.id).await {
        Ok(current) => scope.require(&current, &format!("site {}", s.id))?,
        Err(ApiError::NotFound(_)) => {} // A new site.
        Err(other) => return Err(other),
    }
    state.store.upsert_site(&s).await?;
    audit(&state, &session, "site saved", &s.id, "").await;
    Ok(Json(s))
}

#[utoipa::path(get, path = "/api/admin/audit", tag = "audit", responses((status = 200, description = "The latest 500 entries, newest first", body = Vec<AuditRow>), (status = 401, description = "Not logged in", body = ApiErrorBody), (status = 403, description = "Not allowed for this role, agency or region", body = ApiErrorBody)))]
pub async fn audit_log(
    State(state): State<AppState>,
    session: StaffSession,
) -> Result<Json<Vec<AuditRow>>, ApiError> {
    let scope = AdminScope::of(&session.0)?;
    let entries = state.store.audit_log(500).await?;
    let AdminScope::Region(region) = &scope else {
        return Ok(Json(entries));
    };
    // A regional administrator sees what was done to their region's kiosks and sites, and
    // what their region's administrators did.
    let sites = state.store.sites().await?;
    let mut theirs: std::collections::HashSet<String> = scope
        .sites(&sites)
        .into_iter()
        .map(|s| s.id.clone())
        .collect();
    for kiosk in state.store.kiosks().await? {
        if theirs.contains(&kiosk.site_id) {
            theirs.insert(kiosk.id);
        }
    }
    for person in state.store.staff().await? {
        if person.role == Role::Admin && person.region.as_ref() == Some(region) {
            theirs.insert(person.id);
        }
    }
    Ok(Json(
        entries
            .into_iter()
            .filter(|e| theirs.contains(&e.target) || theirs.contains(&e.actor))
            .collect(),
    ))
}

/// An agency's queues: its own officers and administrators only.
#[utoipa::path(get, path = "/api/agencies/{agency}/queues", tag = "queues", params(("agency" = String, Path, description = "Agency id, e.g. csn")), responses((status = 200, description = "The agency's queues: `QueueView` in protocol.ts", body = Vec<serde_json::Value>), (status = 401, description = "Not logged in", body = ApiErrorBody), (status = 403, description = "Not allowed for this role, agency or region", body = ApiErrorBody)))]
pub async fn agency_queues(
    State(state): State<AppState>,
    session: StaffSession,
    ApiPath(agency): ApiPath<String>,
) -> Result<Json<Vec<desk::QueueView>>, ApiError> {
    if session.0.is_admin() {
        AdminScope::of(&session.0)?.require_national("see an agency's queues")?;
    } else if session.0.row.agency.as_deref() != Some(agency.as_str()) {
        return Err(ApiError::Forbidden(format!(
            "you may see only your own agency's queues, not {agency}'s"
        )));
    }
    let agency = AgencyId::new(agency.clone())
        .map_err(|_| ApiError::NotFound(format!("no agency {agency:?}")))?;
    Ok(Json(state.core.queue_views(agency).await))
}

#[derive(Debug, Deserialize, utoipa::ToSchema, ts_rs::TS)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewBooking {
    #[schema(pattern = r"^[A-Za-z0-9_-]{1,64}$")]
    pub agency: String,
    #[schema(pattern = "^[a-z]{2,3}$")]
    pub language: String,
    #[ts(type = "number")]
    #[serde(deserialize_with = "super::json::millis")]
    #[schema(minimum = 0)]
    pub appointment_at: u64,
    #[serde(default)]
    pub interpreter_needed: bool,
}

/// Creates a booking and returns the code to print on the citizen's letter.
#[utoipa::path(post, path = "/api/bookings", tag = "bookings", request_body = NewBooking, responses((status = 200, description = "The booking and its code", body = BookingRow), (status = 400, body = ApiErrorBody), (status = 401, description = "Not logged in", body = ApiErrorBody), (status = 403, description = "Not allowed for this role, agency or region", body = ApiErrorBody)))]
pub async fn create_booking(
    State(state): State<AppState>,
    session: StaffSession,
    ApiJson(b): ApiJson<NewBooking>,
) -> Result<Json<BookingRow>, ApiError> {
    if session.0.is_admin() {
        AdminScope::of(&session.0)?.require_national("book meetings")?;
    } else if session.0.row.agency.as_deref() != Some(b.agency.as_str()) {
        return Err(ApiError::Forbidden(
            "officers book meetings for their own agency only".into(),
        ));
    }
    LanguageCode::new(b.language.clone()).map_err(ApiError::Unprocessable)?;
    if !state
        .store
        .agencies()
        .await?
        .iter()
        .any(|a| a.id == b.agency)
    {
        return Err(ApiError::Unprocessable(format!("no agency {:?}", b.agency)));
    }
    let row = BookingRow {
        code: random_code(8),
        agency: b.agency,
        language: b.language,
        appointment_at: b.appointment_at,
        interpreter_needed: b.interpreter_needed,
        created_by: session.0.row.id.clone(),
        checked_in_at: None,
    };
    state.store.create_booking(&row).await?;
    audit(&state, &session, "booking created", &row.code, &row.agency).await;
    let change = DirectoryChange::Booking(row.clone());
    state.core.send(Input::Directory(change)).await;
    Ok(Json(row))
}

#[utoipa::path(get, path = "/api/bookings", tag = "bookings", responses((status = 200, body = Vec<BookingRow>), (status = 401, description = "Not logged in", body = ApiErrorBody), (status = 403, description = "Not allowed for this role, agency or region", body = ApiErrorBody)))]
pub async fn list_bookings(
    State(state): State<AppState>,
    session: StaffSession,
) -> Result<Json<Vec<BookingRow>>, ApiError> {
    // Booking codes are what citizens check in with: a regional administrator, whose region
    // bookings do not belong to, sees none.
    if session.0.is_admin() {
        AdminScope::of(&session.0)?.require_national("see bookings")?;
    }
    let all = state.store.bookings().await?;
    Ok(Json(
        all.into_iter()
            .filter(|b| {
                session.0.is_admin() || session.0.row.agency.as_deref() == Some(b.agency.as_str())
            })
            .collect(),
    ))
}
