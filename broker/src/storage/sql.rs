//! [`Store`] over sqlx's `Any` driver: one set of queries (`$N` placeholders, BIGINT and TEXT
//! columns) for SQLite and PostgreSQL, each with its own migrations.

use super::*;
use crate::routing::QueueKey;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};

#[derive(Debug, Clone)]
pub struct SqlStore {
    pool: AnyPool,
}

fn join(list: &[String]) -> String {
    list.join(",")
}

fn split(text: &str) -> Vec<String> {
    text.split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn ms(v: Option<i64>) -> Option<Millis> {
    v.map(|v| v.max(0) as Millis)
}

impl SqlStore {
    /// Connects and brings the schema up to date. `url` is `sqlite://…` or `postgres://…`.
    pub async fn connect(url: &str) -> Result<SqlStore, sqlx::Error> {
        sqlx::any::install_default_drivers();
        let sqlite = url.starts_with("sqlite:");
        let pool = AnyPoolOptions::new()
            // SQLite serialises writers anyway; one connection also keeps `:memory:` one database.
            .max_connections(if sqlite { 1 } else { 10 })
            .connect(url)
            .await?;
        if sqlite {
            sqlx::query("PRAGMA journal_mode = WAL")
                .execute(&pool)
                .await?;
            sqlx::query("PRAGMA synchronous = NORMAL")
                .execute(&pool)
                .await?;
            sqlx::migrate!("migrations/sqlite").run(&pool).await?;
        } else {
            sqlx::migrate!("migrations/postgres").run(&pool).await?;
        }
        Ok(SqlStore { pool })
    }

    /// Connects without migrating, for administrative statements (tests create databases).
    pub async fn connect_raw(url: &str) -> Result<SqlStore, sqlx::Error> {
        sqlx::any::install_default_drivers();
        Ok(SqlStore {
            pool: AnyPoolOptions::new()
                .max_connections(1)
                .connect(url)
                .await?,
        })
    }

    pub async fn execute(&self, sql: &str) -> Result<(), sqlx::Error> {
        sqlx::query(sql).execute(&self.pool).await.map(|_| ())
    }

    /// `select` with `WHERE visit_id IN (…)` over `visits`, in chunks that stay under every
    /// driver's limit on bound parameters.
    async fn rows_for_visits(
        &self,
        select: &str,
        visits: &[String],
    ) -> Result<Vec<AnyRow>, sqlx::Error> {
        let mut out = Vec::new();
        for chunk in visits.chunks(200) {
            let placeholders: Vec<String> = (1..=chunk.len()).map(|n| format!("${n}")).collect();
            let sql = format!("{select} WHERE visit_id IN ({})", placeholders.join(","));
            let mut query = sqlx::query(&sql);
            for visit in chunk {
                query = query.bind(visit);
            }
            out.extend(query.fetch_all(&self.pool).await?);
        }
        Ok(out)
    }

    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }
}

/// A person as stored. A role this broker does not know is an error, never a guess: read as
/// "officer", an unknown role granted an agency's queues and documents.
fn staff_row(r: &AnyRow) -> Result<StaffRow, sqlx::Error> {
    let id: String = r.get("id");
    let stored_role: String = r.get("role");
    let role = Role::parse(&stored_role).ok_or_else(|| {
        sqlx::Error::Decode(
            format!("staff {id} has the role {stored_role:?}, which this broker does not know")
                .into(),
        )
    })?;
    Ok(StaffRow {
        id,
        username: r.get("username"),
        display_name: r.get("display_name"),
        password_hash: r.get("password_hash"),
        role,
        agency: r.get("agency"),
        region: r.get("region"),
        languages: split(&r.get::<String, _>("languages")),
        skills: split(&r.get::<String, _>("skills")),
        serves: split(&r.get::<String, _>("serves")),
        disabled: r.get::<i64, _>("disabled") != 0,
    })
}

fn kiosk_row(r: &AnyRow) -> KioskRow {
    KioskRow {
        id: r.get("id"),
        site_id: r.get("site_id"),
        name: r.get("name"),
        cert_hash: r.get("cert_hash"),
        enrolled_at: ms(r.get("enrolled_at")),
        revoked_at: ms(r.get("revoked_at")),
        out_of_service: r.get("out_of_service"),
        last_seen: ms(r.get("last_seen")),
        last_heartbeat: r.get("last_heartbeat"),
        last_self_test: r.get("last_self_test"),
        software_version: r.get("software_version"),
    }
}

fn booking_row(r: &AnyRow) -> BookingRow {
    BookingRow {
        code: r.get("code"),
        agency: r.get("agency"),
        language: r.get("language"),
        appointment_at: r.get::<i64, _>("appointment_at") as Millis,
        interpreter_needed: r.get::<i64, _>("interpreter_needed") != 0,
        created_by: r.get("created_by"),
        checked_in_at: ms(r.get("checked_in_at")),
    }
}

const STAFF_COLUMNS: &str =
    "id, username, display_name, password_hash, role, agency, region, languages, skills, serves, disabled";
const KIOSK_COLUMNS: &str =
    "id, site_id, name, cert_hash, enrolled_at, revoked_at, out_of_service, last_seen, last_heartbeat, last_self_test, software_version";

#[async_trait]
impl Store for SqlStore {
    async fn upsert_agency(&self, a: &AgencyRow) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO agencies (id, name, hours, languages) VALUES ($1, $2, $3, $4)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, hours = excluded.hours, languages = excluded.languages",
        )
        .bind(&a.id)
        .bind(&a.name)
        .bind(&a.hours)
        .bind(join(&a.languages))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn agencies(&self) -> StoreResult<Vec<AgencyRow>> {
        let rows = sqlx::query("SELECT id, name, hours, languages FROM agencies ORDER BY name")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(|r| AgencyRow {
                id: r.get("id"),
                name: r.get("name"),
                hours: r.get("hours"),
                languages: split(&r.get::<String, _>("languages")),
            })
            .collect())
    }

    async fn upsert_site(&self, s: &SiteRow) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO sites (id, name, region) VALUES ($1, $2, $3)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, region = excluded.region",
        )
        .bind(&s.id)
        .bind(&s.name)
        .bind(&s.region)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn sites(&self) -> StoreResult<Vec<SiteRow>> {
        let rows = sqlx::query("SELECT id, name, region FROM sites ORDER BY region, name")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(|r| SiteRow {
                id: r.get("id"),
                name: r.get("name"),
                region: r.get("region"),
            })
            .collect())
    }

    async fn insert_staff(&self, s: &StaffRow) -> StoreResult<bool> {
        // No update on conflict: a new account never takes over another's id or username.
        let inserted = sqlx::query(
            "INSERT INTO staff (id, username, display_name, password_hash, role, agency, region, languages, skills, serves, disabled)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             ON CONFLICT DO NOTHING",
        )
        .bind(&s.id)
        .bind(&s.username)
        .bind(&s.display_name)
        .bind(&s.password_hash)
        .bind(s.role.as_str())
        .bind(&s.agency)
        .bind(&s.region)
        .bind(join(&s.languages))
        .bind(join(&s.skills))
        .bind(join(&s.serves))
        .bind(s.disabled as i64)
        .execute(&self.pool)
        .await?;
        Ok(inserted.rows_affected() == 1)
    }

    async fn staff_by_username(&self, username: &str) -> StoreResult<Option<StaffRow>> {
        let row = sqlx::query(&format!(
            "SELECT {STAFF_COLUMNS} FROM staff WHERE username = $1"
        ))
        .bind(username)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(staff_row).transpose()
    }

    async fn staff_by_id(&self, id: &str) -> StoreResult<Option<StaffRow>> {
        let row = sqlx::query(&format!("SELECT {STAFF_COLUMNS} FROM staff WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(staff_row).transpose()
    }

    async fn set_staff_abilities(
        &self,
        id: &str,
        languages: &[String],
        skills: &[String],
        serves: &[String],
    ) -> StoreResult<bool> {
        let changed =
            sqlx::query("UPDATE staff SET languages = $1, skills = $2, serves = $3 WHERE id = $4")
                .bind(join(languages))
                .bind(join(skills))
                .bind(join(serves))
                .bind(id)
                .execute(&self.pool)
                .await?;
        Ok(changed.rows_affected() == 1)
    }

    async fn staff(&self) -> StoreResult<Vec<StaffRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {STAFF_COLUMNS} FROM staff ORDER BY display_name"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(staff_row).collect()
    }

    async fn create_session(
        &self,
        token_hash: &str,
        staff_id: &str,
        expires_at: Millis,
    ) -> StoreResult<()> {
        sqlx::query("INSERT INTO sessions (token_hash, staff_id, expires_at) VALUES ($1, $2, $3)")
            .bind(token_hash)
            .bind(staff_id)
            .bind(expires_at as i64)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn session(
        &self,
        token_hash: &str,
        now: Millis,
    ) -> StoreResult<Option<(String, Millis)>> {
        let row = sqlx::query(
            "SELECT staff_id, expires_at FROM sessions WHERE token_hash = $1 AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(now as i64)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| (r.get("staff_id"), r.get::<i64, _>("expires_at") as Millis)))
    }

    async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn create_kiosk(&self, k: &KioskRow) -> StoreResult<()> {
        sqlx::query("INSERT INTO kiosks (id, site_id, name) VALUES ($1, $2, $3)")
            .bind(&k.id)
            .bind(&k.site_id)
            .bind(&k.name)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn kiosks(&self) -> StoreResult<Vec<KioskRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {KIOSK_COLUMNS} FROM kiosks ORDER BY site_id, name"
        ))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(kiosk_row).collect())
    }

    async fn kiosk(&self, id: &str) -> StoreResult<Option<KioskRow>> {
        let row = sqlx::query(&format!("SELECT {KIOSK_COLUMNS} FROM kiosks WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(kiosk_row))
    }

    async fn kiosk_by_cert(&self, cert_hash: &str) -> StoreResult<Option<KioskRow>> {
        let row = sqlx::query(&format!(
            "SELECT {KIOSK_COLUMNS} FROM kiosks WHERE cert_hash = $1 OR previous_cert_hash = $1"
        ))
        .bind(cert_hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(kiosk_row))
    }

    async fn create_enrolment_code(&self, c: &EnrolmentCodeRow) -> StoreResult<()> {
        sqlx::query("INSERT INTO enrolment_codes (code, kiosk_id, created_by, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(&c.code)
            .bind(&c.kiosk_id)
            .bind(&c.created_by)
            .bind(c.expires_at as i64)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn kiosk_for_code(&self, code: &str, now: Millis) -> StoreResult<Option<String>> {
        let row = sqlx::query(
            "SELECT kiosk_id FROM enrolment_codes WHERE code = $1 AND used_at IS NULL AND expires_at > $2
               AND kiosk_id IN (SELECT id FROM kiosks WHERE revoked_at IS NULL)",
        )
            .bind(code)
            .bind(now as i64)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.get("kiosk_id")))
    }

    async fn redeem_enrolment_code(
        &self,
        code: &str,
        cert_hash: &str,
        now: Millis,
    ) -> StoreResult<Option<String>> {
        let mut tx = self.pool.begin().await?;
        // A revoked kiosk stays revoked: its code is spent, and enrolling never clears it.
        let used = sqlx::query(
            "UPDATE enrolment_codes SET used_at = $1 WHERE code = $2 AND used_at IS NULL AND expires_at > $1
               AND kiosk_id IN (SELECT id FROM kiosks WHERE revoked_at IS NULL)",
        )
            .bind(now as i64)
            .bind(code)
            .execute(&mut *tx)
            .await?;
        if used.rows_affected() != 1 {
            return Ok(None);
        }
        let kiosk: String = sqlx::query("SELECT kiosk_id FROM enrolment_codes WHERE code = $1")
            .bind(code)
            .fetch_one(&mut *tx)
            .await?
            .get("kiosk_id");
        sqlx::query(
            "UPDATE kiosks SET cert_hash = $1, enrolled_at = $2 WHERE id = $3 AND revoked_at IS NULL",
        )
        .bind(cert_hash)
        .bind(now as i64)
        .bind(&kiosk)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(kiosk))
    }

    async fn revoke_kiosk(&self, id: &str, now: Millis) -> StoreResult<bool> {
        // Codes first, then the kiosk: the order redeeming locks them in, so the two cannot
        // wait on each other.
        let mut tx = self.pool.begin().await?;
        // Codes not yet used die with it, so the kiosk cannot be enrolled after all.
        sqlx::query(
            "UPDATE enrolment_codes SET used_at = $1 WHERE kiosk_id = $2 AND used_at IS NULL",
        )
        .bind(now as i64)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let r = sqlx::query("UPDATE kiosks SET revoked_at = $1 WHERE id = $2")
            .bind(now as i64)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(r.rows_affected() == 1)
    }

    async fn replace_kiosk_cert(
        &self,
        id: &str,
        old_hash: &str,
        new_hash: &str,
    ) -> StoreResult<bool> {
        // Presented with the certificate before the current one, the kiosk never got the
        // last renewal: that one is replaced, and the old stays valid until the new is used.
        let r = sqlx::query(
            "UPDATE kiosks SET previous_cert_hash = CASE WHEN cert_hash = $3 THEN cert_hash ELSE previous_cert_hash END,
               cert_hash = $1
             WHERE id = $2 AND (cert_hash = $3 OR previous_cert_hash = $3) AND revoked_at IS NULL",
        )
        .bind(new_hash)
        .bind(id)
        .bind(old_hash)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn settle_kiosk_cert(&self, id: &str, presented: &str) -> StoreResult<()> {
        sqlx::query(
            "UPDATE kiosks SET previous_cert_hash = NULL
             WHERE id = $1 AND cert_hash = $2 AND previous_cert_hash IS NOT NULL",
        )
        .bind(id)
        .bind(presented)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn set_out_of_service(&self, id: &str, message: Option<&str>) -> StoreResult<bool> {
        let r = sqlx::query("UPDATE kiosks SET out_of_service = $1 WHERE id = $2")
            .bind(message)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn record_heartbeat(
        &self,
        id: &str,
        now: Millis,
        heartbeat: &str,
        version: Option<&str>,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE kiosks SET last_seen = $1, last_heartbeat = $2, software_version = COALESCE($3, software_version) WHERE id = $4")
            .bind(now as i64)
            .bind(heartbeat)
            .bind(version)
            .bind(id)
            .execute(&self.pool)
            .await?;
        sqlx::query("INSERT INTO kiosk_heartbeats (kiosk_id, at, heartbeat) VALUES ($1, $2, $3)")
            .bind(id)
            .bind(now as i64)
            .bind(heartbeat)
            .execute(&self.pool)
            .await?;
        sqlx::query(
            "DELETE FROM kiosk_heartbeats WHERE kiosk_id = $1 AND at < (SELECT MIN(at) FROM \
             (SELECT at FROM kiosk_heartbeats WHERE kiosk_id = $1 ORDER BY at DESC LIMIT $2) AS kept)",
        )
        .bind(id)
        .bind(HEARTBEAT_HISTORY as i64)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn set_software_version(&self, id: &str, version: &str) -> StoreResult<()> {
        sqlx::query("UPDATE kiosks SET software_version = $1 WHERE id = $2")
            .bind(version)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn recent_heartbeats(&self, id: &str) -> StoreResult<Vec<(Millis, String)>> {
        let rows = sqlx::query(
            "SELECT at, heartbeat FROM kiosk_heartbeats WHERE kiosk_id = $1 ORDER BY at DESC LIMIT $2",
        )
        .bind(id)
        .bind(HEARTBEAT_HISTORY as i64)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| {
                (
                    r.get::<i64, _>("at") as Millis,
                    r.get::<String, _>("heartbeat"),
                )
            })
            .collect())
    }

    async fn record_self_test(&self, id: &str, report: &str) -> StoreResult<()> {
        sqlx::query("UPDATE kiosks SET last_self_test = $1 WHERE id = $2")
            .bind(report)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn create_booking(&self, b: &BookingRow) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO bookings (code, agency, language, appointment_at, interpreter_needed, created_by) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&b.code)
        .bind(&b.agency)
        .bind(&b.language)
        .bind(b.appointment_at as i64)
        .bind(b.interpreter_needed as i64)
        .bind(&b.created_by)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn mark_checked_in(&self, code: &str, now: Millis) -> StoreResult<bool> {
        let r = sqlx::query(
            "UPDATE bookings SET checked_in_at = $1 WHERE code = $2 AND checked_in_at IS NULL",
        )
        .bind(now as i64)
        .bind(code)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn bookings(&self) -> StoreResult<Vec<BookingRow>> {
        let rows = sqlx::query("SELECT * FROM bookings ORDER BY appointment_at")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(booking_row).collect())
    }

    async fn save_waiting(&self, w: &WaitingRecord) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO waiting_visits (visit_id, kiosk_id, site_name, agency, language, topic, booking_at, queued_at, front)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (visit_id) DO UPDATE SET agency = excluded.agency, language = excluded.language, topic = excluded.topic,
               queued_at = excluded.queued_at, front = excluded.front",
        )
        .bind(w.visit.as_str())
        .bind(w.kiosk.as_str())
        .bind(w.site_name.as_str())
        .bind(w.queue.agency.as_str())
        .bind(w.queue.language.as_str())
        .bind(w.queue.topic.as_ref().map(|t| t.as_str().to_string()))
        .bind(w.booking.map(|b| b as i64))
        .bind(w.queued_at as i64)
        .bind(w.front as i64)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn forget_waiting(&self, visit: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM waiting_visits WHERE visit_id = $1")
            .bind(visit)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn waiting(&self) -> StoreResult<Vec<WaitingRecord>> {
        let rows = sqlx::query("SELECT * FROM waiting_visits ORDER BY front DESC, queued_at")
            .fetch_all(&self.pool)
            .await?;
        let mut out = Vec::new();
        for r in rows {
            let parsed = (|| -> Result<WaitingRecord, String> {
                Ok(WaitingRecord {
                    visit: r.get::<String, _>("visit_id").try_into()?,
                    kiosk: r.get::<String, _>("kiosk_id").try_into()?,
                    site_name: r.get::<String, _>("site_name").try_into()?,
                    queue: QueueKey {
                        agency: r.get::<String, _>("agency").try_into()?,
                        language: r.get::<String, _>("language").try_into()?,
                        topic: r
                            .get::<Option<String>, _>("topic")
                            .map(TryInto::try_into)
                            .transpose()?,
                    },
                    booking: ms(r.get("booking_at")),
                    queued_at: r.get::<i64, _>("queued_at") as Millis,
                    front: r.get::<i64, _>("front") != 0,
                })
            })();
            match parsed {
                Ok(record) => out.push(record),
                Err(e) => {
                    tracing::error!("skipping a stored waiting visit that no longer parses: {e}")
                }
            }
        }
        Ok(out)
    }

    async fn save_call(&self, record: &CallRecord) -> StoreResult<()> {
        let json = serde_json::to_string(record).expect("a call record serialises");
        sqlx::query(
            "INSERT INTO calls_in_progress (call_id, record) VALUES ($1, $2)
             ON CONFLICT (call_id) DO UPDATE SET record = excluded.record",
        )
        .bind(record.call.as_str())
        .bind(json)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn forget_call(&self, call: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM calls_in_progress WHERE call_id = $1")
            .bind(call)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn calls(&self) -> StoreResult<Vec<CallRecord>> {
        let rows = sqlx::query("SELECT call_id, record FROM calls_in_progress ORDER BY call_id")
            .fetch_all(&self.pool)
            .await?;
        let mut out = Vec::new();
        for r in rows {
            let call: String = r.get("call_id");
            match serde_json::from_str(&r.get::<String, _>("record")) {
                Ok(record) => out.push(record),
                Err(e) => {
                    tracing::error!(call, "skipping a stored call that no longer parses: {e}")
                }
            }
        }
        Ok(out)
    }

    async fn record_segment(&self, s: &SegmentRow) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO visit_segments (visit_id, kiosk_id, site_id, agency, language, queued_at, first_offered_at, answered_at, ended_at, outcome)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&s.visit_id)
        .bind(&s.kiosk_id)
        .bind(&s.site_id)
        .bind(&s.agency)
        .bind(&s.language)
        .bind(s.queued_at as i64)
        .bind(s.first_offered_at.map(|v| v as i64))
        .bind(s.answered_at.map(|v| v as i64))
        .bind(s.ended_at as i64)
        .bind(&s.outcome)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn record_document(
        &self,
        visit: &str,
        pages: i64,
        bytes: i64,
        now: Millis,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO visit_documents (visit_id, pages, bytes, at) VALUES ($1, $2, $3, $4)",
        )
        .bind(visit)
        .bind(pages)
        .bind(bytes)
        .bind(now as i64)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn record_survey(&self, visit: &str, score: i64, now: Millis) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO visit_surveys (visit_id, score, at) VALUES ($1, $2, $3)
             ON CONFLICT (visit_id) DO UPDATE SET score = excluded.score, at = excluded.at",
        )
        .bind(visit)
        .bind(score)
        .bind(now as i64)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn segments_between(&self, from: Millis, to: Millis) -> StoreResult<Vec<SegmentRow>> {
        let rows = sqlx::query("SELECT * FROM visit_segments WHERE queued_at >= $1 AND queued_at < $2 ORDER BY queued_at")
            .bind(from as i64)
            .bind(to.min(i64::MAX as u64) as i64)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(|r| SegmentRow {
                visit_id: r.get("visit_id"),
                kiosk_id: r.get("kiosk_id"),
                site_id: r.get("site_id"),
                agency: r.get("agency"),
                language: r.get("language"),
                queued_at: r.get::<i64, _>("queued_at") as Millis,
                first_offered_at: ms(r.get("first_offered_at")),
                answered_at: ms(r.get("answered_at")),
                ended_at: r.get::<i64, _>("ended_at") as Millis,
                outcome: r.get("outcome"),
            })
            .collect())
    }

    async fn documents_for(&self, visits: &[String]) -> StoreResult<Vec<(String, i64, i64)>> {
        let rows = self
            .rows_for_visits("SELECT visit_id, pages, bytes FROM visit_documents", visits)
            .await?;
        Ok(rows
            .iter()
            .map(|r| (r.get("visit_id"), r.get("pages"), r.get("bytes")))
            .collect())
    }

    async fn surveys_for(&self, visits: &[String]) -> StoreResult<Vec<(String, i64)>> {
        let rows = self
            .rows_for_visits("SELECT visit_id, score FROM visit_surveys", visits)
            .await?;
        Ok(rows
            .iter()
            .map(|r| (r.get("visit_id"), r.get("score")))
            .collect())
    }

    async fn purge_before(&self, before: Millis) -> StoreResult<u64> {
        let b = before as i64;
        let gone = sqlx::query("DELETE FROM visit_segments WHERE ended_at < $1")
            .bind(b)
            .execute(&self.pool)
            .await?
            .rows_affected();
        sqlx::query("DELETE FROM visit_documents WHERE at < $1")
            .bind(b)
            .execute(&self.pool)
            .await?;
        sqlx::query("DELETE FROM visit_surveys WHERE at < $1")
            .bind(b)
            .execute(&self.pool)
            .await?;
        sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
            .bind(b)
            .execute(&self.pool)
            .await?;
        Ok(gone)
    }

    async fn audit(&self, e: &AuditRow) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO audit_log (at, actor, action, target, detail) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(e.at as i64)
        .bind(&e.actor)
        .bind(&e.action)
        .bind(&e.target)
        .bind(&e.detail)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn audit_log(&self, limit: i64) -> StoreResult<Vec<AuditRow>> {
        let rows = sqlx::query(
            "SELECT at, actor, action, target, detail FROM audit_log ORDER BY at DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| AuditRow {
                at: r.get::<i64, _>("at") as Millis,
                actor: r.get("actor"),
                action: r.get("action"),
                target: r.get("target"),
                detail: r.get("detail"),
            })
            .collect())
    }
}
