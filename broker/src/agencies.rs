//! Agencies as kiosks see them: which are open now, in the broker's time zone, and a task that
//! tells every kiosk when that changes, so a citizen is never offered a closed agency.

use crate::state::AppState;
use crate::storage::AgencyRow;
use jiff::tz::TimeZone;
use nara_protocol::hours::{open_at, parse_hours, swedish};
use nara_protocol::kiosk::{AgencyChoice, BrokerToKiosk};
use nara_protocol::{AgencyId, LanguageCode, OpeningHours, ShortText};
use std::time::Duration;
use tokio::sync::watch;

/// How often open/closed is re-evaluated; opening hours are given to the minute.
const CHECK_EVERY: Duration = Duration::from_secs(30);

/// Weekday (0 = Monday) and minute after midnight of `now_ms` in `zone`.
fn local_week_minute(zone: &TimeZone, now_ms: u64) -> (usize, u16) {
    let Ok(instant) = jiff::Timestamp::from_millisecond(now_ms as i64) else {
        return (0, 0);
    };
    let local = instant.to_zoned(zone.clone());
    let weekday = local.weekday().to_monday_zero_offset() as usize;
    let minute = local.hour() as u16 * 60 + local.minute() as u16;
    (weekday, minute)
}

/// Whether an agency with `hours` is open at `now_ms`. Unreadable hours count as open:
/// a typo by an administrator must not close an agency to the public.
pub fn open_now(hours: &str, zone: &TimeZone, now_ms: u64) -> bool {
    match parse_hours(hours) {
        Ok(spans) => {
            let (weekday, minute) = local_week_minute(zone, now_ms);
            open_at(&spans, weekday, minute)
        }
        Err(_) => true,
    }
}

/// Why a visit to a closed agency is refused, in Swedish and English.
pub fn closed_message(agency: &AgencyRow) -> String {
    let hours = parse_hours(&agency.hours)
        .map(|spans| swedish(&spans))
        .unwrap_or_else(|_| agency.hours.clone());
    format!(
        "{name} har stängt nu. Öppettider: {hours}. / {name} is closed now. Opening hours: {}.",
        agency.hours,
        name = agency.name
    )
}

pub fn choices(rows: Vec<AgencyRow>, zone: &TimeZone, now_ms: u64) -> Vec<AgencyChoice> {
    rows.into_iter()
        .filter_map(|a| {
            Some(AgencyChoice {
                open_now: open_now(&a.hours, zone, now_ms),
                hours: OpeningHours::new(a.hours)
                    .or_else(|_| OpeningHours::new("daily 00:00-24:00"))
                    .ok()?,
                agency: AgencyId::new(a.id).ok()?,
                name: ShortText::new(a.name).ok()?,
                languages: a
                    .languages
                    .into_iter()
                    .filter_map(|l| LanguageCode::new(l).ok())
                    .collect(),
            })
        })
        .collect()
}

/// The agencies for a kiosk's welcome, as of now.
pub async fn current(state: &AppState) -> Vec<AgencyChoice> {
    let rows = state.store.agencies().await.unwrap_or_default();
    choices(rows, &state.config.zone(), state.clock.now_ms())
}

/// Tells every connected kiosk the agencies as they are now, e.g. after an edit.
pub async fn announce_now(state: &AppState) {
    let agencies = current(state).await;
    state
        .connections
        .to_every_kiosk(&BrokerToKiosk::Agencies { agencies });
}

/// Tells every connected kiosk whenever an agency opens, closes or is edited.
pub async fn announce_changes(state: AppState, mut shutdown: watch::Receiver<bool>) {
    let mut last = current(&state).await;
    let mut ticks = tokio::time::interval(CHECK_EVERY);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = shutdown.changed() => return,
        }
        let now = current(&state).await;
        if now != last {
            state.connections.to_every_kiosk(&BrokerToKiosk::Agencies {
                agencies: now.clone(),
            });
            last = now;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stockholm() -> TimeZone {
        TimeZone::get("Europe/Stockholm").unwrap()
    }

    fn at(local: &str) -> u64 {
        let zoned: jiff::Zoned = format!("{local}[Europe/Stockholm]").parse().unwrap();
        zoned.timestamp().as_millisecond() as u64
    }

    #[test]
    fn open_and_closed_follow_swedish_local_time_across_daylight_saving() {
        let hours = "mon-fri 09:00-16:00";
        // Summer (UTC+2) and winter (UTC+1): 09:00 local either way.
        assert!(open_now(hours, &stockholm(), at("2026-06-15T09:00")));
        assert!(!open_now(hours, &stockholm(), at("2026-06-15T08:59")));
        assert!(open_now(hours, &stockholm(), at("2026-11-23T09:00")));
        assert!(!open_now(hours, &stockholm(), at("2026-11-23T16:00")));
        // Sunday 22 November 2026.
        assert!(!open_now(hours, &stockholm(), at("2026-11-22T12:00")));
        assert!(open_now("not hours", &stockholm(), at("2026-11-22T12:00")));
    }

    #[test]
    fn a_closed_agency_says_when_it_opens_in_both_languages() {
        let row = AgencyRow {
            id: "kronofogden".into(),
            name: "Kronofogden".into(),
            hours: "mon-fri 09:00-15:00".into(),
            languages: vec!["sv".into()],
        };
        let message = closed_message(&row);
        assert!(
            message.contains("har stängt nu. Öppettider: mån–fre 09.00–15.00"),
            "{message}"
        );
        assert!(
            message.contains("is closed now. Opening hours: mon-fri 09:00-15:00"),
            "{message}"
        );
        let choice = &choices(vec![row], &stockholm(), at("2026-11-22T12:00"))[0];
        assert!(!choice.open_now);
    }
}
