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

/// Officers able to take a queue's visits right now, and how many of them are free.
#[derive(Debug, Clone, Copy, Default)]
struct QueueLoad {
    able: u64,
    free: u64,
}

impl QueueLoad {
    fn count(&mut self, staff: &Staff) {
        self.able += 1;
        self.free += u64::from(staff.can_be_offered());
    }
}

/// Whether someone counts towards a queue's estimate: online and not away.
fn counts_towards_estimates(staff: &Staff) -> bool {
    staff.online && staff.status != StaffStatus::Away
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
        let mut load = QueueLoad::default();
        for staff in self.staff.values() {
            if counts_towards_estimates(staff) && staff.profile.can_answer(&w.queue) {
                load.count(staff);
            }
        }
        self.estimate_from(ahead + 1, load, &w.queue.agency)
    }

    /// The estimate of every waiting visit whose kiosk is online, in the agencies `include`
    /// picks. One pass over visits and staff: this runs after every routing event, and the
    /// per-visit [`Router::estimate`] would cost visits × (visits + staff).
    pub(crate) fn estimates_in(
        &self,
        include: impl Fn(&AgencyId) -> bool,
        now: Millis,
    ) -> Vec<(VisitId, WaitEstimate)> {
        let mut queues: BTreeMap<&QueueKey, Vec<(offers::OrderKey, &Visit)>> = BTreeMap::new();
        for visit in self.visits.values() {
            if let VisitState::Waiting(w) = &visit.state {
                if include(&w.queue.agency) {
                    queues
                        .entry(&w.queue)
                        .or_default()
                        .push((self.order_key(visit, w, now), visit));
                }
            }
        }
        if queues.is_empty() {
            return Vec::new();
        }
        let mut queues_of_agency: BTreeMap<&AgencyId, Vec<&QueueKey>> = BTreeMap::new();
        for queue in queues.keys() {
            queues_of_agency
                .entry(&queue.agency)
                .or_default()
                .push(queue);
        }
        let mut loads: BTreeMap<&QueueKey, QueueLoad> = BTreeMap::new();
        for staff in self.staff.values().filter(|s| counts_towards_estimates(s)) {
            let Some(agency_queues) = staff.profile.agency().and_then(|a| queues_of_agency.get(a))
            else {
                continue;
            };
            for queue in agency_queues {
                if staff.profile.can_answer(queue) {
                    loads.entry(*queue).or_default().count(staff);
                }
            }
        }
        let mut estimates = Vec::new();
        for (queue, mut waiting) in queues {
            // Order keys are unique (they end in the enqueue sequence), so rank is position.
            waiting.sort_unstable_by_key(|(key, _)| *key);
            let load = loads.get(queue).copied().unwrap_or_default();
            for (rank, (_, visit)) in waiting.into_iter().enumerate() {
                if visit.kiosk_online {
                    let estimate = self.estimate_from(rank as u64 + 1, load, &queue.agency);
                    estimates.push((visit.id.clone(), estimate));
                }
            }
        }
        estimates
    }

    fn estimate_from(&self, position: u64, load: QueueLoad, agency: &AgencyId) -> WaitEstimate {
        if load.able == 0 {
            return WaitEstimate {
                position: position as u32,
                wait: WaitRange::NoOfficerOnline,
            };
        }
        let (q1, q3) = self.handling.quartiles(agency);
        let low = if load.free >= position {
            0
        } else {
            (position - load.free) * q1 / load.able
        };
        let high = position * q3 / load.able + self.config.ring_timeout_ms;
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
