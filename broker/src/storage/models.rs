//! Rows as stored. Lists (languages, skills) are comma-separated.

use crate::routing::Millis;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct AgencyRow {
    #[schema(pattern = r"^[A-Za-z0-9_-]{1,64}$")]
    pub id: String,
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// Opening hours, e.g. `mon-fri 09:00-16:00`.
    #[schema(min_length = 1, max_length = 200)]
    pub hours: String,
    /// ISO 639 codes, e.g. `sv`, `ar`, `prs`.
    pub languages: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct SiteRow {
    #[schema(pattern = r"^[A-Za-z0-9_-]{1,64}$")]
    pub id: String,
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    #[schema(pattern = r"^[A-Za-z0-9_-]{1,64}$")]
    pub region: String,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS,
)]
#[serde(rename_all = "camelCase")]
pub enum Role {
    Officer,
    Interpreter,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Officer => "officer",
            Role::Interpreter => "interpreter",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "officer" => Some(Role::Officer),
            "interpreter" => Some(Role::Interpreter),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffRow {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub password_hash: String,
    pub role: Role,
    /// Officers belong to one agency.
    pub agency: Option<String>,
    /// Regional administrators see one region; national ones none.
    pub region: Option<String>,
    pub languages: Vec<String>,
    pub skills: Vec<String>,
    /// An interpreter's agencies, none meaning all.
    pub serves: Vec<String>,
    pub disabled: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KioskRow {
    pub id: String,
    pub site_id: String,
    pub name: String,
    pub cert_hash: Option<String>,
    pub enrolled_at: Option<Millis>,
    pub revoked_at: Option<Millis>,
    pub out_of_service: Option<String>,
    pub last_seen: Option<Millis>,
    pub last_heartbeat: Option<String>,
    pub last_self_test: Option<String>,
    pub software_version: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrolmentCodeRow {
    pub code: String,
    pub kiosk_id: String,
    pub created_by: String,
    pub expires_at: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct BookingRow {
    pub code: String,
    pub agency: String,
    pub language: String,
    #[ts(type = "number")]
    pub appointment_at: Millis,
    pub interpreter_needed: bool,
    pub created_by: String,
    #[ts(type = "number | null")]
    pub checked_in_at: Option<Millis>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentRow {
    pub visit_id: String,
    pub kiosk_id: String,
    pub site_id: String,
    pub agency: String,
    pub language: String,
    pub queued_at: Millis,
    pub first_offered_at: Option<Millis>,
    pub answered_at: Option<Millis>,
    pub ended_at: Millis,
    pub outcome: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct AuditRow {
    #[ts(type = "number")]
    pub at: Millis,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: String,
}
