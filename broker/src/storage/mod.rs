//! Storage behind one trait, [`Store`]. [`sql::SqlStore`] implements it for SQLite (the
//! default, a file in the data directory) and PostgreSQL (several brokers), with the same
//! queries on both. Nothing of a visit's content is ever stored: only metadata.

pub mod models;
pub mod sql;

pub use models::*;

use crate::routing::{CallRecord, Millis, WaitingRecord};
use async_trait::async_trait;

pub type StoreResult<T> = Result<T, sqlx::Error>;

/// Heartbeats kept per kiosk for its page: at the default 30 s, the last quarter of an hour.
pub const HEARTBEAT_HISTORY: usize = 30;

#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    // Directory: agencies, sites, people.
    async fn upsert_agency(&self, agency: &AgencyRow) -> StoreResult<()>;
    async fn agencies(&self) -> StoreResult<Vec<AgencyRow>>;
    async fn upsert_site(&self, site: &SiteRow) -> StoreResult<()>;
    async fn sites(&self) -> StoreResult<Vec<SiteRow>>;
    /// Adds a person; `false` when the id or the username is taken (nothing is changed then).
    async fn insert_staff(&self, staff: &StaffRow) -> StoreResult<bool>;
    async fn staff_by_username(&self, username: &str) -> StoreResult<Option<StaffRow>>;
    async fn staff_by_id(&self, id: &str) -> StoreResult<Option<StaffRow>>;
    async fn staff(&self) -> StoreResult<Vec<StaffRow>>;
    /// What a person can take: languages, an officer's skills, an interpreter's agencies.
    /// `false` for no such person.
    async fn set_staff_abilities(
        &self,
        id: &str,
        languages: &[String],
        skills: &[String],
        serves: &[String],
    ) -> StoreResult<bool>;

    // Sessions (token hashes only).
    async fn create_session(
        &self,
        token_hash: &str,
        staff_id: &str,
        expires_at: Millis,
    ) -> StoreResult<()>;
    /// The person a live session belongs to, and when it expires.
    async fn session(&self, token_hash: &str, now: Millis)
        -> StoreResult<Option<(String, Millis)>>;
    async fn delete_session(&self, token_hash: &str) -> StoreResult<()>;

    // Kiosks and enrolment.
    async fn create_kiosk(&self, kiosk: &KioskRow) -> StoreResult<()>;
    async fn kiosks(&self) -> StoreResult<Vec<KioskRow>>;
    async fn kiosk(&self, id: &str) -> StoreResult<Option<KioskRow>>;
    async fn kiosk_by_cert(&self, cert_hash: &str) -> StoreResult<Option<KioskRow>>;
    async fn create_enrolment_code(&self, code: &EnrolmentCodeRow) -> StoreResult<()>;
    /// The kiosk an unused, unexpired code is for.
    async fn kiosk_for_code(&self, code: &str, now: Millis) -> StoreResult<Option<String>>;
    /// Marks the code used and binds the certificate, atomically; `None` when the code is
    /// unknown, used or expired, or its kiosk revoked.
    async fn redeem_enrolment_code(
        &self,
        code: &str,
        cert_hash: &str,
        now: Millis,
    ) -> StoreResult<Option<String>>;
    /// Revokes the kiosk and spends its unused enrolment codes; `false` for no such kiosk.
    async fn revoke_kiosk(&self, id: &str, now: Millis) -> StoreResult<bool>;
    /// Binds a renewed certificate in place of `old_hash`, which stays valid until the new
    /// one is first presented; `false` when the kiosk holds neither (or is revoked).
    async fn replace_kiosk_cert(
        &self,
        id: &str,
        old_hash: &str,
        new_hash: &str,
    ) -> StoreResult<bool>;
    /// The kiosk presented `presented`: if it is the current certificate, the one it replaced
    /// is no longer accepted.
    async fn settle_kiosk_cert(&self, id: &str, presented: &str) -> StoreResult<()>;
    async fn set_out_of_service(&self, id: &str, message: Option<&str>) -> StoreResult<bool>;
    async fn record_heartbeat(
        &self,
        id: &str,
        now: Millis,
        heartbeat_json: &str,
        version: Option<&str>,
    ) -> StoreResult<()>;
    /// The version the kiosk's software said it is, at its hello.
    async fn set_software_version(&self, id: &str, version: &str) -> StoreResult<()>;
    /// The kiosk's latest heartbeats, newest first, as (time, JSON); the store keeps
    /// `HEARTBEAT_HISTORY` of them.
    async fn recent_heartbeats(&self, id: &str) -> StoreResult<Vec<(Millis, String)>>;
    async fn record_self_test(&self, id: &str, report_json: &str) -> StoreResult<()>;

    // Bookings.
    async fn create_booking(&self, booking: &BookingRow) -> StoreResult<()>;
    async fn mark_checked_in(&self, code: &str, now: Millis) -> StoreResult<bool>;
    async fn bookings(&self) -> StoreResult<Vec<BookingRow>>;

    // Waiting visits, so that they survive a restart.
    async fn save_waiting(&self, record: &WaitingRecord) -> StoreResult<()>;
    async fn forget_waiting(&self, visit: &str) -> StoreResult<()>;
    async fn waiting(&self) -> StoreResult<Vec<WaitingRecord>>;
    /// Calls in progress: saved as they begin and change, forgotten when they end.
    async fn save_call(&self, record: &CallRecord) -> StoreResult<()>;
    async fn forget_call(&self, call: &str) -> StoreResult<()>;
    async fn calls(&self) -> StoreResult<Vec<CallRecord>>;

    // Statistics: metadata only.
    async fn record_segment(&self, segment: &SegmentRow) -> StoreResult<()>;
    async fn record_document(
        &self,
        visit: &str,
        pages: i64,
        bytes: i64,
        now: Millis,
    ) -> StoreResult<()>;
    async fn record_survey(&self, visit: &str, score: i64, now: Millis) -> StoreResult<()>;
    async fn segments_between(&self, from: Millis, to: Millis) -> StoreResult<Vec<SegmentRow>>;
    async fn documents_for(&self, visits: &[String]) -> StoreResult<Vec<(String, i64, i64)>>;
    async fn surveys_for(&self, visits: &[String]) -> StoreResult<Vec<(String, i64)>>;
    /// Deletes statistics older than `before`; returns how many segments went.
    async fn purge_before(&self, before: Millis) -> StoreResult<u64>;

    async fn audit(&self, entry: &AuditRow) -> StoreResult<()>;
    async fn audit_log(&self, limit: i64) -> StoreResult<Vec<AuditRow>>;
}
