//! `tests/bench routing`: the broker's whole core (admission, routing, the messages people
//! see) with no sockets, fed a day of a national service: 5 000 officers over 500 queues
//! (10 agencies × 10 languages × 5 topics), a fleet of 3 000 kiosks, citizens arriving at
//! free kiosks through the opening day, officers answering after a few seconds and talking for minutes. Inputs are replayed
//! on a simulated clock paced at `speed` × real time; every input, with the draining of what
//! it leads to, is timed. No peer exists for this, so figures are printed against targets.

use super::Figures;
use nara_broker::core::directory::KioskInfo;
use nara_broker::core::{Core, CoreConfig, DeskHello, Input, KioskHello, Output, Restored};
use nara_broker::routing::{Millis, RoutingConfig, StaffKind, StaffProfile};
use nara_broker::storage::AgencyRow;
use nara_protocol::desk::{AvailabilityChoice, BrokerToDesk, DeskToBroker, Me};
use nara_protocol::kiosk::{BrokerToKiosk, KioskToBroker};
use nara_protocol::{
    AgencyId, KioskId, LanguageCode, Outcome, ShortText, SiteId, StaffCard, StaffId, StaffRoleKind,
    Topic,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
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
/// The fleet: connected all day, each free again once its visit has ended.
const KIOSKS: usize = 3_000;

fn kiosk_hello(n: usize, connection: u64) -> KioskHello {
    KioskHello {
        kiosk: kiosk_id(n),
        connection,
        info: KioskInfo {
            site: SiteId::new("rinkeby").expect("valid id"),
            site_name: ShortText::new("Rinkeby").expect("short"),
        },
        software_version: ShortText::new("bench").expect("short"),
        resume: None,
        ice_servers: Vec::new(),
    }
}

fn kiosk_id(n: usize) -> KioskId {
    KioskId::new(format!("k-{n}")).expect("valid id")
}

/// Every agency open all day in every language.
fn agencies() -> Vec<AgencyRow> {
    (0..AGENCIES)
        .map(|a| AgencyRow {
            id: format!("agency-{a}"),
            name: format!("Agency {a}"),
            hours: "daily 00:00-24:00".into(),
            languages: LANGUAGES.iter().map(|l| l.to_string()).collect(),
        })
        .collect()
}

fn desk_hello(profile: StaffProfile, connection: u64) -> DeskHello {
    let agency = match &profile.kind {
        StaffKind::Officer { agency } => Some(agency.clone()),
        StaffKind::Interpreter { .. } => None,
    };
    DeskHello {
        connection,
        me: Me {
            card: StaffCard {
                staff: profile.id.clone(),
                display_name: ShortText::new(profile.id.as_str()).expect("short"),
                role: StaffRoleKind::Officer,
                agency,
                agency_name: None,
                interprets: None,
            },
            languages: profile.languages.iter().cloned().collect(),
            region: None,
        },
        profile: Some(profile),
        ice_servers: Vec::new(),
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

/// What an input is, for the report of the slowest.
fn input_kind(input: &Input) -> &'static str {
    match input {
        Input::KioskConnected(_) => "a kiosk connecting",
        Input::KioskDisconnected { .. } => "a kiosk disconnecting",
        Input::FromKiosk {
            message: KioskToBroker::StartVisit { .. },
            ..
        } => "a visit starting",
        Input::FromKiosk { .. } => "a kiosk's message",
        Input::DeskConnected(_) => "a desk connecting",
        Input::DeskDisconnected { .. } => "a desk disconnecting",
        Input::FromDesk {
            message: DeskToBroker::AcceptOffer { .. },
            ..
        } => "an answer",
        Input::FromDesk {
            message: DeskToBroker::EndCall { .. },
            ..
        } => "a hang-up",
        Input::FromDesk { .. } => "a desk's message",
        Input::Directory(_) => "a directory change",
        Input::Timeout => "a timeout",
    }
}

/// What the simulated world does at a moment: events for the router, in time order.
type Agenda = BinaryHeap<Reverse<(Millis, u64, Pending)>>;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Pending {
    Arrive,
    Answer { staff: String, offer: String },
    HangUp { staff: String, call: String },
    Timeout,
}

pub fn run(bench: &RoutingBench) -> Figures {
    let mut rng = StdRng::seed_from_u64(bench.seed);
    let config = CoreConfig {
        routing: RoutingConfig::default(),
        zone: nara_broker::config::Config::load(None, Vec::new())
            .expect("the defaults load")
            .zone(),
        heartbeat_seconds: 15,
        id_prefix: "b".into(),
    };
    let restored = Restored {
        agencies: agencies(),
        ..Restored::default()
    };
    let mut core = Core::new(config, restored, OPENING);
    let mut timings: Vec<Duration> = Vec::with_capacity(bench.visits * 8);
    // The slowest decision and what it was, so that a figure over target says where to look.
    let mut slowest: (Duration, &'static str, Millis) = (Duration::ZERO, "none", 0);
    let mut refused = 0u64;
    let mut served = 0u64;
    let day_ms = bench.day_hours * 3_600_000;

    // One input and everything it leads to, timed as one decision.
    let mut timed = |core: &mut Core, input: Input, now: Millis| {
        let kind = input_kind(&input);
        let started = Instant::now();
        core.handle_input(input, now);
        let mut outputs = Vec::new();
        while let Some(output) = core.poll_output() {
            outputs.push(output);
        }
        let took = started.elapsed();
        timings.push(took);
        if took > slowest.0 {
            slowest = (took, kind, now);
        }
        outputs
    };
    for n in 0..bench.officers {
        let profile = officer(&mut rng, n);
        let staff = profile.id.clone();
        let hello = desk_hello(profile, n as u64);
        timed(&mut core, Input::DeskConnected(hello), OPENING);
        let available = DeskToBroker::SetStatus {
            status: AvailabilityChoice::Available,
        };
        let message = Input::FromDesk {
            staff,
            message: available,
            request: None,
        };
        timed(&mut core, message, OPENING);
    }

    let mut free_kiosks: VecDeque<usize> = (0..KIOSKS).collect();
    for n in 0..KIOSKS {
        let hello = kiosk_hello(n, (bench.officers + n) as u64);
        timed(&mut core, Input::KioskConnected(hello), OPENING);
    }
    let mut no_kiosk_free = 0u64;

    let mut agenda: Agenda = BinaryHeap::new();
    let mut seq = 0u64;
    let mut push = |agenda: &mut Agenda, at: Millis, what: Pending| {
        seq += 1;
        agenda.push(Reverse((at, seq, what)));
    };
    // Arrivals, answers and hang-ups still to come.
    let mut work = 0usize;
    for _ in 0..bench.visits {
        let at = OPENING + rng.gen_range(0..day_ms);
        push(&mut agenda, at, Pending::Arrive);
        work += 1;
    }
    // One timer, as the broker's driver has: set to the core's next deadline after every
    // input. A timeout it has since moved away from is not an input.
    let mut next_timeout: Option<Millis> = None;
    let real_start = Instant::now();
    while let Some(Reverse((now, _, what))) = agenda.pop() {
        // The core always has a next deadline (it looks at opening hours every half minute):
        // the day is over once only timeouts are left.
        let timeout = matches!(what, Pending::Timeout);
        if timeout && next_timeout != Some(now) {
            continue;
        }
        if !timeout {
            work -= 1;
        } else if work == 0 {
            break;
        }
        // Pace the replay: simulated time runs `speed` times faster than the wall clock.
        let due = Duration::from_millis((now - OPENING) / bench.speed.max(1));
        if let Some(wait) = due.checked_sub(real_start.elapsed()) {
            std::thread::sleep(wait);
        }
        let inputs = match what {
            Pending::Arrive => {
                // A citizen at a free kiosk asks for a queue.
                let Some(n) = free_kiosks.pop_front() else {
                    no_kiosk_free += 1;
                    continue;
                };
                let language = if rng.gen_bool(0.5) {
                    0
                } else {
                    rng.gen_range(1..LANGUAGES.len())
                };
                let start = KioskToBroker::StartVisit {
                    language: LanguageCode::new(LANGUAGES[language]).expect("valid language"),
                    agency: AgencyId::new(format!("agency-{}", rng.gen_range(0..AGENCIES)))
                        .expect("valid id"),
                    topic: Some(
                        Topic::new(format!("topic-{}", rng.gen_range(0..TOPICS)))
                            .expect("valid topic"),
                    ),
                };
                vec![Input::FromKiosk {
                    kiosk: kiosk_id(n),
                    message: start,
                    request: None,
                }]
            }
            Pending::Answer { staff, offer } => vec![Input::FromDesk {
                staff: StaffId::new(staff).expect("valid id"),
                message: DeskToBroker::AcceptOffer {
                    offer: nara_protocol::OfferId::new(offer).expect("valid id"),
                },
                request: None,
            }],
            Pending::HangUp { staff, call } => vec![Input::FromDesk {
                staff: StaffId::new(staff).expect("valid id"),
                message: DeskToBroker::EndCall {
                    call: nara_protocol::CallId::new(call).expect("valid id"),
                    outcome: Outcome::Served,
                },
                request: None,
            }],
            Pending::Timeout => {
                next_timeout = None;
                vec![Input::Timeout]
            }
        };
        for input in inputs {
            for output in timed(&mut core, input, now) {
                let (staff, message) = match output {
                    Output::ToDesk { staff, message } => (staff, message),
                    Output::ToKiosk {
                        kiosk,
                        message: BrokerToKiosk::VisitEnded { .. },
                    } => {
                        let n = kiosk.as_str()["k-".len()..].parse().expect("k-N");
                        free_kiosks.push_back(n);
                        continue;
                    }
                    _ => continue,
                };
                match message {
                    BrokerToDesk::Offer { offer, .. } => {
                        let at = now + rng.gen_range(2_000..15_000);
                        work += 1;
                        push(
                            &mut agenda,
                            at,
                            Pending::Answer {
                                staff: staff.to_string(),
                                offer: offer.to_string(),
                            },
                        );
                    }
                    BrokerToDesk::CallStarted { call, owner, .. } if owner == staff => {
                        served += 1;
                        let at = now + rng.gen_range(4 * 60_000..20 * 60_000);
                        work += 1;
                        push(
                            &mut agenda,
                            at,
                            Pending::HangUp {
                                staff: staff.to_string(),
                                call: call.to_string(),
                            },
                        );
                    }
                    // An offer withdrawn before the answer, as in life; not a fault of the core.
                    BrokerToDesk::Error(_) => refused += 1,
                    _ => {}
                }
            }
        }
        let deadline = core.poll_timeout().max(now);
        if next_timeout != Some(deadline) {
            next_timeout = Some(deadline);
            push(&mut agenda, deadline, Pending::Timeout);
        }
    }

    let decisions = timings.len();
    let busy: Duration = timings.iter().sum();
    timings.sort();
    let worst = timings.last().copied().unwrap_or_default();
    let p99 = timings[decisions * 99 / 100];
    println!(
        "routing: {} officers, {} visits over {} h at {}x: {decisions} decisions, \
         {served} calls answered, {refused} stale answers, {no_kiosk_free} \
         citizens found no kiosk free, {:.1} s in the core, p99 {:.3} ms; the slowest: {} \
         at {} s into the day, {:.3} ms",
        bench.officers,
        bench.visits,
        bench.day_hours,
        bench.speed,
        busy.as_secs_f64(),
        p99.as_secs_f64() * 1e3,
        slowest.1,
        slowest.2.saturating_sub(OPENING) / 1000,
        slowest.0.as_secs_f64() * 1e3,
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
        1.0,
        "ms",
    );
    figures.against_target(
        "routing.worst-decision-latency",
        worst.as_secs_f64() * 1e3,
        10.0,
        "ms",
    );
    figures
}
