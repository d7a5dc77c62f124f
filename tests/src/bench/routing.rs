//! `tests/bench routing`: the routing state machine alone, fed a day of a national service:
//! 5 000 officers over 500 queues (10 agencies × 10 languages × 5 topics), visits arriving
//! through the opening day, officers answering after a few seconds and talking for minutes.
//! Events are replayed on a simulated clock paced at `speed` × real time; every call into
//! the router is timed. No peer exists for this, so figures are printed against targets.

use super::Figures;
use nara_broker::routing::{
    Command, Event, Millis, QueueKey, Router, RoutingConfig, StaffKind, StaffProfile, VisitSpec,
};
use nara_protocol::desk::AvailabilityChoice;
use nara_protocol::{AgencyId, KioskId, LanguageCode, Outcome, ShortText, StaffId, Topic, VisitId};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct RoutingBench {
    pub officers: usize,
    pub visits: usize,
    pub day_hours: u64,
    /// Simulated seconds per real second.
    pub speed: u64,
    pub seed: u64,
}

impl Default for RoutingBench {
    fn default() -> Self {
        RoutingBench {
            officers: 5_000,
            visits: 50_000,
            day_hours: 8,
            speed: 100,
            seed: 7,
        }
    }
}

const AGENCIES: usize = 10;
const LANGUAGES: [&str; 10] = ["sv", "en", "ar", "so", "ti", "prs", "fa", "pl", "uk", "tr"];
const TOPICS: usize = 5;

fn queue(agency: usize, language: usize, topic: usize) -> QueueKey {
    QueueKey {
        agency: AgencyId::new(format!("agency-{agency}")).expect("valid id"),
        language: LanguageCode::new(LANGUAGES[language]).expect("valid language"),
        topic: Some(Topic::new(format!("topic-{topic}")).expect("valid topic")),
    }
}

/// Where the clock's time goes: 1 000 000 ms after the epoch opens the day.
const OPENING: Millis = 1_000_000;

fn officer(rng: &mut StdRng, n: usize) -> StaffProfile {
    let mut languages = vec![LanguageCode::new("sv").expect("valid")];
    for _ in 0..rng.gen_range(1..=2) {
        languages
            .push(LanguageCode::new(LANGUAGES[rng.gen_range(1..LANGUAGES.len())]).expect("valid"));
    }
    StaffProfile {
        id: StaffId::new(format!("o-{n}")).expect("valid id"),
        kind: StaffKind::Officer {
            agency: AgencyId::new(format!("agency-{}", n % AGENCIES)).expect("valid id"),
        },
        languages: languages.into_iter().collect(),
        skills: (0..TOPICS)
            .filter(|_| rng.gen_bool(0.6))
            .map(|t| Topic::new(format!("topic-{t}")).expect("valid topic"))
            .collect(),
    }
}

/// What the simulated world does at a moment: events for the router, in time order.
type Agenda = BinaryHeap<Reverse<(Millis, u64, Pending)>>;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Pending {
    Arrive { n: usize },
    Answer { staff: String, offer: String },
    HangUp { staff: String, call: String },
    Tick,
}

pub fn run(bench: &RoutingBench) -> Figures {
    let mut rng = StdRng::seed_from_u64(bench.seed);
    let mut router = Router::new(RoutingConfig::default(), "b");
    let mut timings: Vec<Duration> = Vec::with_capacity(bench.visits * 6);
    let mut errors = 0u64;
    let mut served = 0u64;
    let day_ms = bench.day_hours * 3_600_000;

    let mut timed = |router: &mut Router, event: Event, now: Millis| {
        let started = Instant::now();
        let result = router.handle(event, now);
        timings.push(started.elapsed());
        result
    };
    for n in 0..bench.officers {
        let profile = officer(&mut rng, n);
        let staff = profile.id.clone();
        for event in [
            Event::StaffOnline { profile },
            Event::SetStatus {
                staff,
                status: AvailabilityChoice::Available,
            },
        ] {
            if timed(&mut router, event, OPENING).is_err() {
                errors += 1;
            }
        }
    }

    let mut agenda: Agenda = BinaryHeap::new();
    let mut seq = 0u64;
    let mut push = |agenda: &mut Agenda, at: Millis, what: Pending| {
        seq += 1;
        agenda.push(Reverse((at, seq, what)));
    };
    for n in 0..bench.visits {
        let at = OPENING + rng.gen_range(0..day_ms);
        push(&mut agenda, at, Pending::Arrive { n });
    }
    let mut next_tick: Option<Millis> = None;
    let real_start = Instant::now();
    while let Some(Reverse((now, _, what))) = agenda.pop() {
        // Pace the replay: simulated time runs `speed` times faster than the wall clock.
        let due = Duration::from_millis((now - OPENING) / bench.speed.max(1));
        if let Some(wait) = due.checked_sub(real_start.elapsed()) {
            std::thread::sleep(wait);
        }
        let event = match what {
            Pending::Arrive { n } => {
                let language = if rng.gen_bool(0.5) {
                    0
                } else {
                    rng.gen_range(1..LANGUAGES.len())
                };
                let key = queue(
                    rng.gen_range(0..AGENCIES),
                    language,
                    rng.gen_range(0..TOPICS),
                );
                Event::Enqueue {
                    spec: VisitSpec {
                        visit: VisitId::new(format!("v-{n}")).expect("valid id"),
                        kiosk: KioskId::new(format!("k-{n}")).expect("valid id"),
                        site_name: ShortText::new("Rinkeby").expect("short"),
                        queue: key,
                        booking: None,
                        queued_at: now,
                        front_of_queue: false,
                        kiosk_online: true,
                    },
                }
            }
            Pending::Answer { staff, offer } => Event::Accept {
                staff: StaffId::new(staff).expect("valid id"),
                offer: nara_protocol::OfferId::new(offer).expect("valid id"),
            },
            Pending::HangUp { staff, call } => Event::EndCall {
                staff: StaffId::new(staff).expect("valid id"),
                call: nara_protocol::CallId::new(call).expect("valid id"),
                outcome: Outcome::Served,
            },
            Pending::Tick => {
                next_tick = None;
                Event::Tick
            }
        };
        let commands = match timed(&mut router, event, now) {
            Ok(commands) => commands,
            Err(_) => {
                // An offer withdrawn before the answer, as in life; not a fault of the router.
                errors += 1;
                Vec::new()
            }
        };
        for command in commands {
            match command {
                Command::Offer { offer, staff, .. } => {
                    let at = now + rng.gen_range(2_000..15_000);
                    push(
                        &mut agenda,
                        at,
                        Pending::Answer {
                            staff: staff.to_string(),
                            offer: offer.to_string(),
                        },
                    );
                }
                Command::CallStarted { call, staff, .. } => {
                    served += 1;
                    let at = now + rng.gen_range(4 * 60_000..20 * 60_000);
                    push(
                        &mut agenda,
                        at,
                        Pending::HangUp {
                            staff: staff.to_string(),
                            call: call.to_string(),
                        },
                    );
                }
                _ => {}
            }
        }
        if let Some(deadline) = router.next_deadline() {
            if next_tick.is_none_or(|t| deadline < t) {
                next_tick = Some(deadline);
                push(&mut agenda, deadline.max(now), Pending::Tick);
            }
        }
    }

    let decisions = timings.len();
    let busy: Duration = timings.iter().sum();
    timings.sort();
    let worst = timings.last().copied().unwrap_or_default();
    let p99 = timings[decisions * 99 / 100];
    println!(
        "routing: {} officers, {} visits over {} h at {}x: {decisions} decisions, \
         {served} calls answered, {errors} stale answers, {:.1} s in the router, p99 {:.3} ms",
        bench.officers,
        bench.visits,
        bench.day_hours,
        bench.speed,
        busy.as_secs_f64(),
        p99.as_secs_f64() * 1e3,
    );
    let mut figures = Figures::default();
    figures.against_target(
        "routing.decisions-per-second",
        decisions as f64 / busy.as_secs_f64().max(1e-9),
        10_000.0,
        "/s",
    );
    figures.against_target(
        "routing.decision-latency-p99",
        p99.as_secs_f64() * 1e3,
        5.0,
        "ms",
    );
    figures.against_target(
        "routing.worst-decision-latency",
        worst.as_secs_f64() * 1e3,
        50.0,
        "ms",
    );
    figures
}
