//! Honest wait estimates: a position and a range from recent handling times and the officers
//! who can take the visit — or no number at all when nobody can.

use super::*;
use nara_protocol::{WaitEstimate, WaitRange};
use std::collections::{HashMap, VecDeque};

/// Recent handling times kept per agency.
const SAMPLES_KEPT: usize = 50;
/// Below this many samples the range is widened and based on a default.
const SAMPLES_TRUSTED: usize = 5;
/// A typical meeting when there is no history yet.
const DEFAULT_HANDLING_MS: u64 = 8 * 60_000;

#[derive(Debug, Clone, Default)]
pub struct HandlingTimes {
    per_agency: HashMap<AgencyId, VecDeque<u64>>,
}

impl HandlingTimes {
    pub fn record(&mut self, agency: &AgencyId, duration_ms: u64) {
        let samples = self.per_agency.entry(agency.clone()).or_default();
        if samples.len() == SAMPLES_KEPT {
            samples.pop_front();
        }
        samples.push_back(duration_ms);
    }

    /// Lower and upper quartile of recent handling times, widened when history is thin.
    pub fn quartiles(&self, agency: &AgencyId) -> (u64, u64) {
        let samples = self.per_agency.get(agency);
        match samples {
            Some(s) if s.len() >= SAMPLES_TRUSTED => {
                let mut sorted: Vec<u64> = s.iter().copied().collect();
                sorted.sort_unstable();
                (sorted[sorted.len() / 4], sorted[(sorted.len() * 3) / 4])
            }
            _ => (DEFAULT_HANDLING_MS / 2, DEFAULT_HANDLING_MS * 2),
        }
    }
}

impl Router {
    /// Where `visit` stands and how long it will likely wait.
    pub fn estimate(&self, visit: &VisitId, now: Millis) -> WaitEstimate {
        let Some(v) = self.visits.get(visit) else {
            return WaitEstimate {
                position: 0,
                wait: WaitRange::NoOfficerOnline,
            };
        };
        let VisitState::Waiting(w) = &v.state else {
            return WaitEstimate {
                position: 0,
                wait: WaitRange::Seconds {
                    low_seconds: 0,
                    high_seconds: 0,
                },
            };
        };
        let mine = self.order_key(v, w, now);
        let ahead = self
            .visits
            .values()
            .filter(|other| match &other.state {
                VisitState::Waiting(ow) => {
                    ow.queue == w.queue && self.order_key(other, ow, now) < mine
                }
                VisitState::InCall { .. } => false,
            })
            .count() as u64;
        let position = ahead + 1;
        let able: Vec<&Staff> = self
            .staff
            .values()
            .filter(|s| s.online && s.status != StaffStatus::Away && s.profile.can_answer(&w.queue))
            .collect();
        if able.is_empty() {
            return WaitEstimate {
                position: position as u32,
                wait: WaitRange::NoOfficerOnline,
            };
        }
        let free_now = able.iter().filter(|s| s.can_be_offered()).count() as u64;
        let officers = able.len() as u64;
        let (q1, q3) = self.handling.quartiles(&w.queue.agency);
        let low = if free_now >= position {
            0
        } else {
            (position - free_now.min(position)) * q1 / officers
        };
        let high = position * q3 / officers + self.config.ring_timeout_ms;
        WaitEstimate {
            position: position as u32,
            wait: WaitRange::Seconds {
                low_seconds: round_to_minute(low),
                high_seconds: round_to_minute(high).max(60),
            },
        }
    }
}

/// Citizens are shown minutes; rounding keeps the estimate from flickering on every change.
fn round_to_minute(ms: u64) -> u32 {
    (ms.div_ceil(60_000) * 60) as u32
}
