//! `tests/bench routing`, second part: how honest the wait estimates are, over a simulated
//! office day with interpreters. The routing engine alone, on simulated time, as fast as it
//! runs: every figure comes from what the engine told the kiosk at arrival and what then
//! happened.
//!
//! The day, published so that the figures can be checked ([`Day::default`]):
//! - open 08:00–17:00; four agencies, eight officers each. Every officer speaks Swedish;
//!   a third also English, one in six Arabic, one in twelve Somali: the multilingual
//!   officers serve several queues at once.
//! - nine interpreters for every agency: Arabic, Somali and Dari ×2, Tigrinya, English
//!   and Swedish sign language (`swl`).
//! - citizens' languages: Swedish 50 %, Arabic 14 %, English 10 %, Tigrinya 8 %, Somali 8 %,
//!   Dari 8 %, sign language 2 %; agencies chosen evenly.
//! - arrivals at 40 an hour, 80 an hour in the lunch peak (11:30–13:00).
//! - a meeting lasts 4–16 min (evenly), with an interpreter 1.4 times as long; officers and
//!   interpreters answer after 2–10 s and decline one offer in twenty; after a meeting
//!   they take 20–60 s before they are available again.
//! - breaks: everyone takes 15 min in the morning (09:30–10:30), 30 min of lunch
//!   (11:00–13:30) and 15 min in the afternoon (14:30–15:30), starting at a random time in
//!   those windows, after the meeting they are in if any.

use super::Figures;
use nara_broker::routing::{
    Command, Event, Millis, QueueKey, Router, RoutingConfig, StaffKind, StaffProfile, VisitSpec,
};
use nara_protocol::desk::AvailabilityChoice;
use nara_protocol::{
    CallId, KioskId, LanguageCode, OfferId, Outcome, ShortText, StaffId, VisitId, WaitRange,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

const MINUTE: Millis = 60_000;
const HOUR: Millis = 60 * MINUTE;
/// 08:00 of the simulated day, in the engine's milliseconds.
const OPENING: Millis = 8 * HOUR;
const CLOSING: Millis = 17 * HOUR;

#[derive(Debug, Clone)]
pub struct Day {
    pub agencies: usize,
    pub officers_per_agency: usize,
    pub arrivals_per_hour: f64,
    pub seed: u64,
}

impl Default for Day {
    fn default() -> Self {
        Day {
            agencies: 4,
            officers_per_agency: 8,
            arrivals_per_hour: 40.0,
            seed: 11,
        }
    }
}

const CITIZEN_LANGUAGES: [(&str, f64); 7] = [
    ("sv", 0.50),
    ("ar", 0.14),
    ("en", 0.10),
    ("ti", 0.08),
    ("so", 0.08),
    ("prs", 0.08),
    ("swl", 0.02),
];
const INTERPRETERS: [&str; 9] = ["ar", "ar", "ti", "so", "so", "prs", "prs", "en", "swl"];
const BREAKS: [(Millis, Millis, Millis); 3] = [
    (9 * HOUR + 30 * MINUTE, 10 * HOUR + 30 * MINUTE, 15 * MINUTE),
    (11 * HOUR, 13 * HOUR + 30 * MINUTE, 30 * MINUTE),
    (
        14 * HOUR + 30 * MINUTE,
        15 * HOUR + 30 * MINUTE,
        15 * MINUTE,
    ),
];

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Happening {
    Arrive,
    Answer(StaffId, OfferId),
    Decline(StaffId, OfferId),
    HangUp(StaffId, CallId),
    Available(StaffId),
    BreakDue(StaffId, Millis),
    Tick,
}

/// What became of one visit.
#[derive(Debug, Default)]
struct Fate {
    arrived: Millis,
    estimate: Option<WaitRange>,
    position: u32,
    answered: Option<Millis>,
    /// Someone of a pair answered and waited for the other since then.
    held_since: Option<Millis>,
    language: String,
}

pub struct DayFigures {
    pub visits: usize,
    pub numbered: usize,
    pub within_range: f64,
    pub median_error_s: f64,
    /// How wide the range shown was, high minus low: an honest range is also a useful one.
    pub median_width_s: f64,
    /// Of the visits that waited more than a minute: the share inside their range.
    pub waited_within_range: f64,
    pub idle_in_call_s: f64,
    pub interpreted: usize,
}

fn code<T: TryFrom<String, Error = String>>(s: &str) -> T {
    T::try_from(s.to_string()).expect("a valid id")
}

fn pick_language(rng: &mut StdRng) -> &'static str {
    let mut roll: f64 = rng.gen();
    for (language, share) in CITIZEN_LANGUAGES {
        if roll < share {
            return language;
        }
        roll -= share;
    }
    "sv"
}

fn people(day: &Day, rng: &mut StdRng) -> Vec<StaffProfile> {
    let mut everyone = Vec::new();
    for a in 0..day.agencies {
        for n in 0..day.officers_per_agency {
            let mut languages: BTreeSet<LanguageCode> = [code("sv")].into();
            if rng.gen_bool(1.0 / 3.0) {
                languages.insert(code("en"));
            }
            if rng.gen_bool(1.0 / 6.0) {
                languages.insert(code("ar"));
            }
            if rng.gen_bool(1.0 / 12.0) {
                languages.insert(code("so"));
            }
            everyone.push(StaffProfile {
                id: code(&format!("o-{a}-{n}")),
                kind: StaffKind::Officer {
                    agency: code(&format!("agency-{a}")),
                },
                languages,
                skills: BTreeSet::new(),
            });
        }
    }
    for (n, language) in INTERPRETERS.iter().enumerate() {
        everyone.push(StaffProfile {
            id: code(&format!("tolk-{n}")),
            kind: StaffKind::Interpreter {
                serves: BTreeSet::new(),
            },
            languages: [code(language), code("sv")].into(),
            skills: BTreeSet::new(),
        });
    }
    everyone
}

/// Replays the day and says how its estimates held up.
pub fn replay(day: &Day) -> DayFigures {
    let mut rng = StdRng::seed_from_u64(day.seed);
    let mut router = Router::new(RoutingConfig::default(), "day");
    let mut agenda: BinaryHeap<Reverse<(Millis, u64, Happening)>> = BinaryHeap::new();
    let mut seq = 0u64;
    let mut plan = |agenda: &mut BinaryHeap<_>, at: Millis, what: Happening| {
        seq += 1;
        agenda.push(Reverse((at, seq, what)));
    };

    let staff = people(day, &mut rng);
    for profile in &staff {
        let id = profile.id.clone();
        router
            .handle(
                Event::StaffOnline {
                    profile: profile.clone(),
                },
                OPENING,
            )
            .expect("logs in");
        plan(&mut agenda, OPENING, Happening::Available(id.clone()));
        for (from, to, length) in BREAKS {
            let at = rng.gen_range(from..to - length);
            plan(&mut agenda, at, Happening::BreakDue(id.clone(), length));
        }
    }
    // Arrivals: exponential gaps at the hour's rate.
    let mut at = OPENING;
    loop {
        let peak = (11 * HOUR + 30 * MINUTE..13 * HOUR).contains(&at);
        let rate = day.arrivals_per_hour * if peak { 2.0 } else { 1.0 };
        let gap = -(1.0 - rng.gen::<f64>()).ln() / rate * HOUR as f64;
        at += gap as Millis;
        if at >= CLOSING - HOUR {
            break;
        }
        plan(&mut agenda, at, Happening::Arrive);
    }

    let mut fates: BTreeMap<VisitId, Fate> = BTreeMap::new();
    let mut offers: BTreeMap<OfferId, VisitId> = BTreeMap::new();
    let mut calls: BTreeMap<CallId, (VisitId, bool)> = BTreeMap::new();
    // Breaks owed by someone busy when theirs came due: taken after their meeting.
    let mut owed: BTreeMap<StaffId, Millis> = BTreeMap::new();
    let mut idle: Vec<Millis> = Vec::new();
    let mut next_visit = 0u64;
    let mut next_tick: Option<Millis> = None;

    while let Some(Reverse((now, _, what))) = agenda.pop() {
        let event = match what {
            Happening::Arrive => {
                next_visit += 1;
                let visit: VisitId = code(&format!("v{next_visit}"));
                let queue = QueueKey {
                    agency: code(&format!("agency-{}", rng.gen_range(0..day.agencies))),
                    language: code(pick_language(&mut rng)),
                    topic: None,
                };
                fates.insert(
                    visit.clone(),
                    Fate {
                        arrived: now,
                        language: queue.language.to_string(),
                        ..Fate::default()
                    },
                );
                Event::Enqueue {
                    spec: VisitSpec {
                        visit: visit.clone(),
                        kiosk: code::<KioskId>(&format!("k-{visit}")),
                        site_name: code::<ShortText>("Rinkeby"),
                        queue,
                        booking: None,
                        queued_at: now,
                        front_of_queue: false,
                        kiosk_online: true,
                    },
                }
            }
            Happening::Answer(staff, offer) => Event::Accept { staff, offer },
            Happening::Decline(staff, offer) => Event::Decline { staff, offer },
            Happening::HangUp(staff, call) => Event::EndCall {
                staff,
                call,
                outcome: Outcome::Served,
            },
            Happening::Available(staff) => {
                if let Some(length) = owed.remove(&staff) {
                    plan(&mut agenda, now, Happening::BreakDue(staff, length));
                    continue;
                }
                Event::SetStatus {
                    staff,
                    status: AvailabilityChoice::Available,
                }
            }
            Happening::BreakDue(staff, length) => {
                if router.call_of(&staff).is_some() {
                    owed.insert(staff, length);
                    continue;
                }
                plan(
                    &mut agenda,
                    now + length,
                    Happening::Available(staff.clone()),
                );
                Event::SetStatus {
                    staff,
                    status: AvailabilityChoice::Away,
                }
            }
            Happening::Tick => {
                if next_tick != Some(now) {
                    continue;
                }
                next_tick = None;
                Event::Tick
            }
        };
        // A stale answer (the offer moved on meanwhile) is refused, as at a real desk.
        let Ok(out) = router.handle(event, now) else {
            continue;
        };
        for command in out {
            match command {
                Command::Queued {
                    visit, estimate, ..
                } => {
                    if let Some(fate) = fates.get_mut(&visit) {
                        if fate.estimate.is_none() && fate.arrived == now {
                            fate.estimate = Some(estimate.wait);
                            fate.position = estimate.position;
                        }
                    }
                }
                Command::Offer {
                    offer,
                    staff,
                    visit,
                    ..
                } => {
                    offers.insert(offer.clone(), visit);
                    let at = now + rng.gen_range(2_000..10_000);
                    let what = match rng.gen_bool(0.05) {
                        true => Happening::Decline(staff, offer),
                        false => Happening::Answer(staff, offer),
                    };
                    plan(&mut agenda, at, what);
                }
                Command::OfferHeld { offer, .. } => {
                    if let Some(fate) = offers.get(&offer).and_then(|v| fates.get_mut(v)) {
                        fate.held_since.get_or_insert(now);
                    }
                }
                Command::CallStarted {
                    call, visit, staff, ..
                } => {
                    let fate = fates.get_mut(&visit).expect("a visit of the day");
                    fate.answered = Some(now);
                    if let Some(since) = fate.held_since.take() {
                        idle.push(now - since);
                    }
                    let language = &router
                        .visit(&visit)
                        .expect("in a call")
                        .segment
                        .queue
                        .language;
                    let interpreted = nara_broker::routing::needs_interpreter(
                        language,
                        &router.profile(&staff).expect("answered").clone(),
                    );
                    calls.insert(call.clone(), (visit, interpreted));
                    let length = rng.gen_range(4 * MINUTE..16 * MINUTE);
                    let length = if interpreted {
                        length * 14 / 10
                    } else {
                        length
                    };
                    plan(&mut agenda, now + length, Happening::HangUp(staff, call));
                }
                Command::Joined { call, .. } => {
                    // An interpreter invited into a call started without one: the officer
                    // waited in it for them.
                    if let Some((visit, true)) = calls.get(&call) {
                        if let Some(answered) = fates.get(visit).and_then(|f| f.answered) {
                            if answered < now {
                                idle.push(now - answered);
                            }
                        }
                    }
                }
                Command::CallEnded { participants, .. } => {
                    for staff in participants {
                        let at = now + rng.gen_range(20_000..60_000);
                        plan(&mut agenda, at, Happening::Available(staff));
                    }
                }
                _ => {}
            }
        }
        if let Some(deadline) = router.next_deadline() {
            if next_tick.is_none_or(|t| deadline < t) {
                next_tick = Some(deadline);
                plan(&mut agenda, deadline, Happening::Tick);
            }
        }
        if agenda
            .iter()
            .all(|Reverse((_, _, w))| *w == Happening::Tick)
        {
            break;
        }
    }

    let answered: Vec<(&Fate, Millis, u64, u64)> = fates
        .values()
        .filter_map(|f| {
            let wait = f.answered? - f.arrived;
            match f.estimate.as_ref()? {
                WaitRange::Seconds {
                    low_seconds,
                    high_seconds,
                } => Some((
                    f,
                    wait,
                    *low_seconds as u64 * 1000,
                    *high_seconds as u64 * 1000,
                )),
                _ => None,
            }
        })
        .collect();
    // NARA_DAY_DEBUG=1 lists every visit with its wait and the range shown, on stderr.
    if std::env::var_os("NARA_DAY_DEBUG").is_some() {
        for (f, wait, low, high) in &answered {
            eprintln!(
                "{:>3} arrived {:>5} s wait {:>5} s range {:>5}-{:>5} s at {:>3} {}",
                f.language,
                (f.arrived - OPENING) / 1000,
                wait / 1000,
                low / 1000,
                high / 1000,
                f.position,
                if wait < low {
                    "EARLY"
                } else if wait > high {
                    "LATE"
                } else {
                    ""
                }
            );
        }
    }
    let within = answered
        .iter()
        .filter(|(_, wait, low, high)| low <= wait && wait <= high)
        .count();
    let mut errors: Vec<f64> = answered
        .iter()
        .map(|(_, wait, low, high)| (*wait as f64 - (low + high) as f64 / 2.0).abs() / 1000.0)
        .collect();
    errors.sort_by(f64::total_cmp);
    let mut widths: Vec<u64> = answered
        .iter()
        .map(|(_, _, low, high)| high - low)
        .collect();
    widths.sort_unstable();
    let waited: Vec<_> = answered
        .iter()
        .filter(|(_, wait, ..)| *wait > MINUTE)
        .collect();
    let waited_within = waited
        .iter()
        .filter(|(_, wait, low, high)| low <= wait && wait <= high)
        .count();
    idle.sort_unstable();
    DayFigures {
        visits: fates.len(),
        numbered: answered.len(),
        within_range: within as f64 / answered.len().max(1) as f64,
        median_error_s: errors.get(errors.len() / 2).copied().unwrap_or(0.0),
        median_width_s: widths.get(widths.len() / 2).copied().unwrap_or(0) as f64 / 1000.0,
        waited_within_range: waited_within as f64 / waited.len().max(1) as f64,
        idle_in_call_s: idle.get(idle.len() / 2).copied().unwrap_or(0) as f64 / 1000.0,
        interpreted: calls.values().filter(|(_, i)| *i).count(),
    }
}

/// The closing lines of the estimates' part of `tests/bench routing`.
pub fn report(day: &Day, figures: &mut Figures) {
    let result = replay(day);
    println!(
        "routing day: {} visits, {} answered with a number shown at arrival, {} through an \
         interpreter",
        result.visits, result.numbered, result.interpreted
    );
    figures.against_target(
        "routing.estimate-within-range",
        result.within_range,
        0.90,
        "",
    );
    figures.measured(
        "routing.estimate-median-error-s",
        result.median_error_s,
        "s",
    );
    figures.measured(
        "routing.estimate-median-width-s",
        result.median_width_s,
        "s",
    );
    figures.measured(
        "routing.estimate-within-range-of-those-who-waited",
        result.waited_within_range,
        "",
    );
    figures.against_target(
        "routing.interpreter-idle-in-call-s",
        result.idle_in_call_s,
        5.0,
        "s",
    );
}
