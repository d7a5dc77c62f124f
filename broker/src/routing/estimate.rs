//! Honest wait estimates: a position and a range from recent handling times and the officers
//! who can take the visit — or no number at all when nobody can.

use super::*;
use nara_protocol::{LanguageCode, WaitEstimate, WaitRange};
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

/// Officers able to take a queue's visits right now (online, not away), and how many of them
/// are free.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct QueueLoad {
    pub(crate) able: u64,
    pub(crate) free: u64,
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
        self.agency_estimates(|agency| *agency == w.queue.agency, now)
            .into_iter()
            .find(|(id, _, _)| id == visit)
            .map(|(_, _, estimate)| estimate)
            .expect("a waiting visit has an estimate")
    }

    /// The estimate of every waiting visit whose kiosk is online, in the agencies `include`
    /// picks.
    ///
    /// A visit's position is its place in the order visits are dispatched, counting every
    /// visit ahead of it that the same people could take: a visitor first in the Arabic
    /// queue still waits behind earlier Swedish visitors when the only Arabic speaker also
    /// speaks Swedish. One pass over the waiting visits, with who can take each queue read
    /// from the pools (`people`), not counted: this runs for every agency touched in a second,
    /// and counting an agency's officers each time was most of what a busy day cost.
    pub(crate) fn estimates_in(
        &self,
        include: impl Fn(&AgencyId) -> bool,
        now: Millis,
    ) -> Vec<(VisitId, WaitEstimate)> {
        self.agency_estimates(include, now)
            .into_iter()
            .filter(|(_, online, _)| *online)
            .map(|(visit, _, estimate)| (visit, estimate))
            .collect()
    }

    /// Every waiting visit's estimate in the agencies `include` picks, with whether its
    /// kiosk is online.
    fn agency_estimates(
        &self,
        include: impl Fn(&AgencyId) -> bool,
        now: Millis,
    ) -> Vec<(VisitId, bool, WaitEstimate)> {
        let mut agencies: BTreeMap<&AgencyId, AgencyQueues> = BTreeMap::new();
        for (visit, w) in self.waiting_visits() {
            if include(&w.queue.agency) {
                agencies.entry(&w.queue.agency).or_default().add(
                    self.order_key(visit, w, now),
                    visit,
                    &w.queue,
                );
            }
        }
        // Who can take which queue is kept up to date as people change (`people`), so this
        // costs the queues that have visits, not the agency's people.
        let interpreters = self.staff.pool(None).expect("the interpreters' pool");
        for (agency, queues) in &mut agencies {
            let Some(pool) = self.staff.pool(Some(agency)) else {
                continue;
            };
            // A queue nobody here speaks is served through interpreters by those who speak
            // the working language, and competes with the queues they serve.
            let mut served_as: Vec<QueueKey> = Vec::with_capacity(queues.keys.len());
            for (a, queue) in queues.keys.iter().enumerate() {
                let load = pool.load(queue);
                if load.able > 0 || queue.language.as_str() == WORKING_LANGUAGE {
                    queues.loads[a] = load;
                    served_as.push((*queue).clone());
                    continue;
                }
                let through = QueueKey {
                    language: LanguageCode::new(WORKING_LANGUAGE).expect("a language code"),
                    ..(*queue).clone()
                };
                let officers = pool.load(&through);
                let interpreting = interpreters.load(&QueueKey {
                    topic: None,
                    ..(*queue).clone()
                });
                queues.loads[a] = QueueLoad {
                    able: officers.able.min(interpreting.able),
                    free: officers.free.min(interpreting.free),
                };
                queues.no_interpreter[a] = officers.able > 0 && interpreting.able == 0;
                served_as.push(through);
            }
            for a in 0..queues.keys.len() {
                for b in 0..queues.keys.len() {
                    queues.shared[a][b] = a == b || pool.shared(&served_as[a], &served_as[b]);
                }
            }
        }
        let mut estimates = Vec::new();
        for (agency, mut queues) in agencies {
            queues.waiting.sort_unstable_by_key(|(key, _, _)| *key);
            // Visits seen so far, by queue: those ahead of the next one.
            let mut ahead_in = vec![0u64; queues.keys.len()];
            for (_, visit, queue) in &queues.waiting {
                let ahead: u64 = (0..queues.keys.len())
                    .filter(|other| queues.shared[*queue][*other])
                    .map(|other| ahead_in[other])
                    .sum();
                ahead_in[*queue] += 1;
                let estimate = match queues.no_interpreter[*queue] {
                    true => WaitEstimate {
                        position: (ahead + 1) as u32,
                        wait: WaitRange::NoInterpreterOnline,
                    },
                    false => self.estimate_from(ahead + 1, queues.loads[*queue], agency),
                };
                estimates.push((visit.id.clone(), visit.kiosk_online, estimate));
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

/// One agency's waiting visits, its queues, who can take each, and which queues compete for
/// the same people.
#[derive(Default)]
struct AgencyQueues<'a> {
    keys: Vec<&'a QueueKey>,
    /// Order key, visit, and the index of its queue in `keys`.
    waiting: Vec<(offers::OrderKey, &'a Visit, usize)>,
    loads: Vec<QueueLoad>,
    /// Officers can take the queue's visits only through an interpreter, and none is here.
    no_interpreter: Vec<bool>,
    /// `shared[a][b]`: someone can take visits of both queues (always so for a queue and
    /// itself).
    shared: Vec<Vec<bool>>,
}

impl<'a> AgencyQueues<'a> {
    fn add(&mut self, key: offers::OrderKey, visit: &'a Visit, queue: &'a QueueKey) {
        let index = match self.keys.iter().position(|k| *k == queue) {
            Some(index) => index,
            None => {
                self.keys.push(queue);
                self.loads.push(QueueLoad::default());
                self.no_interpreter.push(false);
                for row in &mut self.shared {
                    row.push(false);
                }
                let n = self.keys.len();
                let mut row = vec![false; n];
                row[n - 1] = true;
                self.shared.push(row);
                n - 1
            }
        };
        self.waiting.push((key, visit, index));
    }
}
