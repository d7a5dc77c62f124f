//! Statistics without personal data: visits, waits, outcomes, durations, documents and survey
//! answers per site, kiosk, agency, language, day or month; as JSON or CSV.
//! Officers see their own agency's only. Days and months are UTC.

use super::auth::StaffSession;
use super::openapi::ApiErrorBody;
use super::{ApiError, ApiQuery};
use crate::state::AppState;
use crate::storage::SegmentRow;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, utoipa::ToSchema, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub enum GroupBy {
    Site,
    Kiosk,
    Agency,
    Language,
    Day,
    Month,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    /// Milliseconds since the epoch; default: the last 31 days.
    #[param(minimum = 0)]
    pub from: Option<i64>,
    #[param(minimum = 0)]
    pub to: Option<i64>,
    #[param(inline)]
    pub group_by: Option<GroupBy>,
    pub agency: Option<String>,
}

#[derive(Debug, Default, Serialize, PartialEq, utoipa::ToSchema, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct StatsRow {
    pub group: String,
    /// Queue segments: a visit transferred once counts in both agencies.
    #[ts(type = "number")]
    pub visits: u64,
    #[ts(type = "number")]
    pub served: u64,
    /// Meetings the citizen ended before the officer did.
    #[ts(type = "number")]
    pub ended_by_citizen: u64,
    #[ts(type = "number")]
    pub abandoned: u64,
    #[ts(type = "number")]
    pub transferred: u64,
    #[ts(type = "number")]
    pub failed: u64,
    #[ts(type = "number | null")]
    pub wait_median_seconds: Option<u64>,
    #[ts(type = "number | null")]
    pub wait_p90_seconds: Option<u64>,
    #[ts(type = "number | null")]
    pub duration_median_seconds: Option<u64>,
    #[ts(type = "number")]
    pub documents: u64,
    #[ts(type = "number")]
    pub document_bytes: u64,
    #[ts(type = "number")]
    pub survey_answers: u64,
    pub survey_average: Option<f64>,
}

/// Year-month-day of a Unix day number (proleptic Gregorian), after Howard Hinnant's algorithm.
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn group_key(s: &SegmentRow, by: GroupBy) -> String {
    let (y, m, d) = civil((s.queued_at / 86_400_000) as i64);
    match by {
        GroupBy::Site => s.site_id.clone(),
        GroupBy::Kiosk => s.kiosk_id.clone(),
        GroupBy::Agency => s.agency.clone(),
        GroupBy::Language => s.language.clone(),
        GroupBy::Day => format!("{y:04}-{m:02}-{d:02}"),
        GroupBy::Month => format!("{y:04}-{m:02}"),
    }
}

fn percentile(sorted: &[u64], p: usize) -> Option<u64> {
    (!sorted.is_empty()).then(|| sorted[(sorted.len() - 1) * p / 100])
}

pub async fn compute(
    state: &AppState,
    session: &StaffSession,
    q: &StatsQuery,
) -> Result<Vec<StatsRow>, ApiError> {
    let agency_filter = if session.0.is_admin() {
        q.agency.clone()
    } else {
        let own = session.0.row.agency.clone().ok_or_else(|| {
            ApiError::Forbidden("statistics are for officers and administrators".into())
        })?;
        if q.agency.as_ref().is_some_and(|a| a != &own) {
            return Err(ApiError::Forbidden(format!(
                "you may see only your own agency's statistics ({own})"
            )));
        }
        Some(own)
    };
    // A regional administrator's figures are their region's sites'.
    let site_filter: Option<std::collections::HashSet<String>> = if session.0.is_admin() {
        let scope = super::scope::AdminScope::of(&session.0)?;
        match scope {
            super::scope::AdminScope::National => None,
            super::scope::AdminScope::Region(_) => {
                let sites = state.store.sites().await?;
                Some(
                    scope
                        .sites(&sites)
                        .into_iter()
                        .map(|s| s.id.clone())
                        .collect(),
                )
            }
        }
    } else {
        None
    };
    let time = |value: Option<i64>, name: &str| -> Result<Option<u64>, ApiError> {
        value
            .map(|v| {
                u64::try_from(v).map_err(|_| {
                    ApiError::BadRequest(format!("{name} is milliseconds since 1970, not {v}"))
                })
            })
            .transpose()
    };
    let to = time(q.to, "to")?.unwrap_or(u64::MAX);
    let from = time(q.from, "from")?
        .unwrap_or_else(|| state.clock.now_ms().saturating_sub(31 * 86_400_000));
    let by = q.group_by.unwrap_or(GroupBy::Agency);
    let segments: Vec<SegmentRow> = state
        .store
        .segments_between(from, to)
        .await?
        .into_iter()
        .filter(|s| agency_filter.as_ref().is_none_or(|a| &s.agency == a))
        .filter(|s| site_filter.as_ref().is_none_or(|f| f.contains(&s.site_id)))
        .collect();
    let visit_ids: Vec<String> = {
        let mut v: Vec<String> = segments.iter().map(|s| s.visit_id.clone()).collect();
        v.sort();
        v.dedup();
        v
    };
    let mut documents: HashMap<String, (u64, u64)> = HashMap::new();
    for (visit, pages, bytes) in state.store.documents_for(&visit_ids).await? {
        let e = documents.entry(visit).or_default();
        e.0 += pages as u64;
        e.1 += bytes as u64;
    }
    let surveys: HashMap<String, i64> = state
        .store
        .surveys_for(&visit_ids)
        .await?
        .into_iter()
        .collect();

    let mut groups: BTreeMap<String, Vec<&SegmentRow>> = BTreeMap::new();
    for s in &segments {
        groups.entry(group_key(s, by)).or_default().push(s);
    }
    let mut rows = Vec::new();
    for (group, segs) in groups {
        let mut row = StatsRow {
            group,
            ..Default::default()
        };
        let mut waits = Vec::new();
        let mut durations = Vec::new();
        let mut counted_visits = std::collections::BTreeSet::new();
        let mut survey_sum = 0;
        for s in segs {
            row.visits += 1;
            match s.outcome.as_str() {
                "served" => row.served += 1,
                "endedByCitizen" => row.ended_by_citizen += 1,
                "abandoned" => row.abandoned += 1,
                "transferred" => row.transferred += 1,
                _ => row.failed += 1,
            }
            if let Some(answered) = s.answered_at {
                waits.push(answered.saturating_sub(s.queued_at) / 1000);
                durations.push(s.ended_at.saturating_sub(answered) / 1000);
            }
            // Documents and surveys belong to the visit; count them once per group.
            if counted_visits.insert(s.visit_id.clone()) {
                if let Some((pages, bytes)) = documents.get(&s.visit_id) {
                    row.documents += pages;
                    row.document_bytes += bytes;
                }
                if let Some(score) = surveys.get(&s.visit_id) {
                    row.survey_answers += 1;
                    survey_sum += score;
                }
            }
        }
        waits.sort_unstable();
        durations.sort_unstable();
        row.wait_median_seconds = percentile(&waits, 50);
        row.wait_p90_seconds = percentile(&waits, 90);
        row.duration_median_seconds = percentile(&durations, 50);
        row.survey_average =
            (row.survey_answers > 0).then(|| survey_sum as f64 / row.survey_answers as f64);
        rows.push(row);
    }
    Ok(rows)
}

#[utoipa::path(get, path = "/api/statistics", tag = "statistics", params(StatsQuery), responses((status = 200, body = Vec<StatsRow>), (status = 401, description = "Not logged in", body = ApiErrorBody), (status = 403, description = "Not allowed for this role, agency or region", body = ApiErrorBody)))]
pub async fn statistics(
    State(state): State<AppState>,
    session: StaffSession,
    ApiQuery(q): ApiQuery<StatsQuery>,
) -> Result<Json<Vec<StatsRow>>, ApiError> {
    Ok(Json(compute(&state, &session, &q).await?))
}

#[utoipa::path(get, path = "/api/statistics.csv", tag = "statistics", params(StatsQuery), responses((status = 200, description = "The same rows as CSV", content_type = "text/csv", body = String), (status = 401, description = "Not logged in", body = ApiErrorBody), (status = 403, description = "Not allowed for this role, agency or region", body = ApiErrorBody)))]
pub async fn statistics_csv(
    State(state): State<AppState>,
    session: StaffSession,
    ApiQuery(q): ApiQuery<StatsQuery>,
) -> Result<Response, ApiError> {
    let rows = compute(&state, &session, &q).await?;
    let mut csv = String::from("group,visits,served,ended_by_citizen,abandoned,transferred,failed,wait_median_s,wait_p90_s,duration_median_s,documents,document_bytes,survey_answers,survey_average\n");
    let opt = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_default();
    for r in rows {
        let group = if r.group.contains([',', '"', '\n']) {
            format!("\"{}\"", r.group.replace('"', "\"\""))
        } else {
            r.group.clone()
        };
        csv.push_str(&format!(
            "{group},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
            r.visits,
            r.served,
            r.ended_by_citizen,
            r.abandoned,
            r.transferred,
            r.failed,
            opt(r.wait_median_seconds),
            opt(r.wait_p90_seconds),
            opt(r.duration_median_seconds),
            r.documents,
            r.document_bytes,
            r.survey_answers,
            r.survey_average
                .map(|a| format!("{a:.2}"))
                .unwrap_or_default()
        ));
    }
    Ok((
        [
            ("content-type", "text/csv; charset=utf-8"),
            (
                "content-disposition",
                "attachment; filename=\"nara-statistik.csv\"",
            ),
        ],
        csv,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    #[test]
    fn civil_dates() {
        assert_eq!(super::civil(0), (1970, 1, 1));
        assert_eq!(super::civil(20_779), (2026, 11, 22));
        assert_eq!(super::civil(11_016), (2000, 2, 29));
    }
}
