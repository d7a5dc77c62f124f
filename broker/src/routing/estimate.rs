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
    per_agency: HashMap<AgencyId, Samples>,
    /// Calls with an interpreter, by language: what an interpreter's next free moment
    /// depends on. They run longer than others.
    interpreted: HashMap<LanguageCode, Samples>,
}

#[derive(Debug, Clone, Default)]
struct Samples(VecDeque<u64>);

impl Samples {
    fn record(&mut self, duration_ms: u64) {
        if self.0.len() == SAMPLES_KEPT {
            self.0.pop_front();
        }
        self.0.push_back(duration_ms);
    }

    fn quartiles(&self) -> Option<(u64, u64)> {
        if self.0.len() < SAMPLES_TRUSTED {
            return None;
        }
        let mut sorted: Vec<u64> = self.0.iter().copied().collect();
        sorted.sort_unstable();
        Some((sorted[sorted.len() / 4], sorted[(sorted.len() * 3) / 4]))
    }
}

impl HandlingTimes {
    pub fn record(&mut self, agency: &AgencyId, duration_ms: u64) {
        self.per_agency
            .entry(agency.clone())
            .or_default()
            .record(duration_ms);
    }

    pub fn record_interpreted(&mut self, language: &LanguageCode, duration_ms: u64) {
        self.interpreted
            .entry(language.clone())
            .or_default()
            .record(duration_ms);
    }

    /// Lower and upper quartile of recent handling times, widened when history is thin.
    pub fn quartiles(&self, agency: &AgencyId) -> (u64, u64) {
        self.per_agency
            .get(agency)
            .and_then(Samples::quartiles)
            .unwrap_or((DEFAULT_HANDLING_MS / 2, DEFAULT_HANDLING_MS * 2))
    }

    /// As [`HandlingTimes::quartiles`], of recent calls interpreted into `language`; the
    /// agency's until there are enough of them.
    pub fn interpreted_quartiles(&self, language: &LanguageCode, agency: &AgencyId) -> (u64, u64) {
        self.interpreted
            .get(language)
            .and_then(Samples::quartiles)
            .unwrap_or_else(|| self.quartiles(agency))
    }
}

/// Officers able to take a queue's visits right now (online, not away), how many of them
/// are free, and how many are logged in at all (away too).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct QueueLoad {
    pub(crate) able: u64,
    pub(crate) free: u64,
    pub(crate) present: u64,
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
        let working = LanguageCode::new(WORKING_LANGUAGE).expect("a language code");
        for (agency, queues) in &mut agencies {
            let Some(pool) = self.staff.pool(Some(agency)) else {
                continue;
            };
            // A queue in another language than the working one is served by those who speak
            // it, and through interpreters by those who speak the working language: it then
            // competes with the queues those serve.
            let mut served_as: Vec<QueueKey> = Vec::with_capacity(queues.keys.len());
            for (a, queue) in queues.keys.iter().enumerate() {
                let direct = pool.load(queue);
                if queue.language == working {
                    queues.loads[a] = direct;
                    served_as.push((*queue).clone());
                    continue;
                }
                let through = QueueKey {
                    language: working.clone(),
                    ..(*queue).clone()
                };
                let officers = pool.load(&through);
                let interpreting = self.interpreters_for(&queue.language, &queue.agency);
                let via = |of: fn(&QueueLoad) -> u64| {
                    of(&officers)
                        .saturating_sub(of(&direct))
                        .min(of(&interpreting))
                };
                queues.loads[a] = QueueLoad {
                    able: direct.able + via(|l| l.able),
                    free: direct.free + via(|l| l.free),
                    present: direct.present + via(|l| l.present),
                };
                queues.no_interpreter[a] =
                    direct.able == 0 && officers.able > 0 && interpreting.able == 0;
                queues.interpreted_only[a] = direct.able == 0 && interpreting.able > 0;
                queues.interpreters[a] = interpreting.able;
                served_as.push(match via(|l| l.able) > 0 || direct.able == 0 {
                    true => through,
                    false => (*queue).clone(),
                });
            }
            for a in 0..queues.keys.len() {
                for b in 0..queues.keys.len() {
                    queues.shared[a][b] = a == b || pool.shared(&served_as[a], &served_as[b]);
                }
            }
        }
        // Interpreters serve every agency: a visit only they can serve also waits behind
        // those of its language at other agencies.
        let any_interpreted = agencies
            .values()
            .any(|q| q.interpreted_only.iter().any(|i| *i));
        let interpreted = if any_interpreted {
            self.interpreter_positions(now)
        } else {
            HashMap::new()
        };
        let mut estimates = Vec::new();
        for (agency, mut queues) in agencies {
            queues.waiting.sort_unstable_by_key(|(key, _, _)| *key);
            // Visits seen so far, by queue: those ahead of the next one.
            let mut ahead_in = vec![0u64; queues.keys.len()];
            for (_, visit, queue) in &queues.waiting {
                // Visits ahead that wait for an interpreter take officers only as fast as
                // interpreters come free: dispatch passes them over meanwhile.
                let ahead: u64 = (0..queues.keys.len())
                    .filter(|other| queues.shared[*queue][*other])
                    .map(
                        |other| match queues.interpreted_only[other] && other != *queue {
                            true => ahead_in[other].min(queues.interpreters[other]),
                            false => ahead_in[other],
                        },
                    )
                    .sum();
                ahead_in[*queue] += 1;
                let VisitState::Waiting(w) = &visit.state else {
                    continue;
                };
                let position = ahead + 1;
                let ringing = w.offer.is_some() || w.interpreter.is_some();
                let wait = if ringing {
                    // Being rung for now: answered within seconds, or rung at the next desk.
                    WaitRange::Seconds {
                        low_seconds: 0,
                        high_seconds: round_to_minute(self.config.ring_timeout_ms),
                    }
                } else if queues.no_interpreter[*queue] {
                    WaitRange::NoInterpreterOnline
                } else {
                    let handling = self.handling.quartiles(agency);
                    let by_officers = self.wait_range(position, queues.loads[*queue], handling);
                    let by_interpreters = match interpreted.get(&visit.id) {
                        Some((position, load)) if queues.interpreted_only[*queue] => {
                            let language = &w.queue.language;
                            let handling = self.handling.interpreted_quartiles(language, agency);
                            self.wait_range(*position, *load, handling)
                        }
                        _ => None,
                    };
                    match (by_officers, by_interpreters) {
                        // Both must come free, one after the other at worst.
                        (Some((low, high)), Some((i_low, i_high))) => {
                            seconds(low.max(i_low), high + i_high)
                        }
                        (Some((low, high)), None) => seconds(low, high),
                        (None, _) => WaitRange::NoOfficerOnline,
                    }
                };
                let position = position as u32;
                estimates.push((
                    visit.id.clone(),
                    visit.kiosk_online,
                    WaitEstimate { position, wait },
                ));
            }
        }
        estimates
    }

    /// Every waiting visit that only interpreters can bring an officer to (none of its
    /// agency's officers here speaks its language): its place among those of its language,
    /// at every agency, and the interpreters of that language.
    fn interpreter_positions(&self, now: Millis) -> HashMap<VisitId, (u64, QueueLoad)> {
        // By language: its visits in dispatch order, each with its agency.
        type Interpreted<'a> = Vec<(offers::OrderKey, &'a VisitId, &'a AgencyId)>;
        let mut by_language: BTreeMap<&LanguageCode, Interpreted> = BTreeMap::new();
        for (visit, w) in self.waiting_visits() {
            let language = &w.queue.language;
            let direct = self.staff.pool(Some(&w.queue.agency));
            let spoken = direct.is_some_and(|pool| pool.load(&w.queue).able > 0);
            if language.as_str() != WORKING_LANGUAGE && !spoken {
                let key = self.order_key(visit, w, now);
                let entry = by_language.entry(language).or_default();
                entry.push((key, &visit.id, &w.queue.agency));
            }
        }
        let mut positions = HashMap::new();
        for (language, mut visits) in by_language {
            visits.sort_unstable();
            for (n, (_, visit, agency)) in visits.into_iter().enumerate() {
                let load = self.interpreters_for(language, agency);
                positions.insert(visit.clone(), (n as u64 + 1, load));
            }
        }
        positions
    }

    /// The interpreters who can interpret `language` for `agency`, counted as a pool counts
    /// its people. Interpreters are few, and which agencies each serves is theirs alone, so
    /// they are counted when asked rather than indexed.
    pub(crate) fn interpreters_for(&self, language: &LanguageCode, agency: &AgencyId) -> QueueLoad {
        let pool = self.staff.pool(None).expect("the interpreters' pool");
        let mut load = QueueLoad::default();
        for staff in pool.members().iter().filter_map(|id| self.staff.get(id)) {
            if !staff.profile.can_interpret(language, agency) {
                continue;
            }
            load.present += u64::from(staff.online);
            load.able += u64::from(staff.online && staff.status != StaffStatus::Away);
            load.free += u64::from(staff.can_be_offered());
        }
        load
    }

    /// The agencies with a visit waiting that only an interpreter can bring an officer to.
    pub(crate) fn agencies_waiting_for_interpreters(&self) -> BTreeSet<AgencyId> {
        let mut agencies = BTreeSet::new();
        for (_, w) in self.waiting_visits() {
            if w.queue.language.as_str() == WORKING_LANGUAGE || agencies.contains(&w.queue.agency) {
                continue;
            }
            let pool = self.staff.pool(Some(&w.queue.agency));
            if pool.is_none_or(|pool| pool.load(&w.queue).able == 0) {
                agencies.insert(w.queue.agency.clone());
            }
        }
        agencies
    }

    /// Likely lowest and highest wait in ms at `position` with `load`, or none with nobody
    /// able.
    ///
    /// The first of the busy may be done any moment, so a visit next in line after those
    /// free may be answered at once; each further one waits a short meeting more. At best
    /// those on a break come back at once, at worst none do.
    fn wait_range(
        &self,
        position: u64,
        load: QueueLoad,
        (q1, q3): (u64, u64),
    ) -> Option<(u64, u64)> {
        if load.able == 0 {
            return None;
        }
        // Those busy now are halfway through their meetings on average; after them, each
        // comes free once a short meeting is over.
        let present = load.present.max(load.able);
        let waiting_for = position.saturating_sub(load.free + 1);
        let first_round = waiting_for.min(present);
        let low = first_round * q1 / (2 * present) + (waiting_for - first_round) * q1 / present;
        let high = position * q3 / load.able + self.config.ring_timeout_ms;
        Some((low, high))
    }
}

/// The range in whole minutes, widened to them: the low end down, the high end up.
fn seconds(low: u64, high: u64) -> WaitRange {
    WaitRange::Seconds {
        low_seconds: (low / 60_000 * 60) as u32,
        high_seconds: round_to_minute(high).max(60),
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
    /// Only through an interpreter, and some are here ...
    interpreted_only: Vec<bool>,
    /// ... this many.
    interpreters: Vec<u64>,
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
                self.interpreted_only.push(false);
                self.interpreters.push(0);
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
