//! The test harness for the core: a core, the time, and what it said, with helpers to act
//! as kiosks and desks and to read the outputs.

use super::*;
use crate::routing::{StaffKind, StaffProfile};
use nara_protocol::desk::AvailabilityChoice;
use std::collections::{BTreeMap, BTreeSet};

pub(super) const MINUTE: Millis = 60_000;

pub(super) fn id<T: TryFrom<String, Error = String>>(s: &str) -> T {
    T::try_from(s.to_string()).unwrap()
}

/// Milliseconds of a local time in Stockholm.
pub(super) fn at(local: &str) -> Millis {
    let zoned: jiff::Zoned = format!("{local}[Europe/Stockholm]").parse().unwrap();
    zoned.timestamp().as_millisecond() as Millis
}

pub(super) fn agency(id: &str, hours: &str, languages: &[&str]) -> AgencyRow {
    AgencyRow {
        id: id.into(),
        name: id.to_uppercase(),
        hours: hours.into(),
        languages: languages.iter().map(|l| l.to_string()).collect(),
    }
}

pub(super) fn config() -> CoreConfig {
    CoreConfig {
        routing: RoutingConfig::default(),
        zone: TimeZone::get("Europe/Stockholm").unwrap(),
        heartbeat_seconds: 15,
        id_prefix: "t".into(),
    }
}

pub(super) fn agencies() -> Vec<AgencyRow> {
    vec![
        agency("skatteverket", "daily 00:00-24:00", &["sv", "ar"]),
        agency("kronofogden", "mon-fri 09:00-15:00", &["sv"]),
    ]
}

/// What storage holds after `writes`, as the broker reads it back at start.
pub(super) fn stored(writes: &[Write]) -> Restored {
    let mut calls: BTreeMap<CallId, CallRecord> = BTreeMap::new();
    for w in writes {
        match w {
            Write::SaveCall(r) => {
                calls.insert(r.call.clone(), r.clone());
            }
            Write::ForgetCall(c) => {
                calls.remove(c);
            }
            _ => {}
        }
    }
    Restored {
        agencies: agencies(),
        waiting: stored_waiting(writes),
        calls: calls.into_values().collect(),
        ..Restored::default()
    }
}

/// The waiting visits storage holds after `writes`, in the order it reads them back: those
/// at the front first, then by time queued, then as written.
fn stored_waiting(writes: &[Write]) -> Vec<WaitingRecord> {
    let mut stored: BTreeMap<VisitId, (usize, WaitingRecord)> = BTreeMap::new();
    for (n, w) in writes.iter().enumerate() {
        match w {
            Write::SaveWaiting(r) => {
                let first = stored.get(&r.visit).map_or(n, |(first, _)| *first);
                stored.insert(r.visit.clone(), (first, r.clone()));
            }
            Write::ForgetWaiting(v) => {
                stored.remove(v);
            }
            _ => {}
        }
    }
    let mut rows: Vec<(usize, WaitingRecord)> = stored.into_values().collect();
    rows.sort_by_key(|(n, r)| (!r.front, r.queued_at, *n));
    rows.into_iter().map(|(_, r)| r).collect()
}

/// A core and what it said, with time in the test's hands.
pub(super) struct Scene {
    pub core: Core,
    pub now: Millis,
    pub next_connection: ConnectionId,
    /// Every write so far, as storage would have them.
    pub writes: Vec<Write>,
}

impl Scene {
    /// Monday 7 December 2026, 10:00 in Stockholm: both agencies open.
    pub(super) fn new() -> Scene {
        Scene::with(Vec::new(), Vec::new(), at("2026-12-07T10:00"))
    }

    pub(super) fn with(
        bookings: Vec<BookingRow>,
        waiting: Vec<WaitingRecord>,
        now: Millis,
    ) -> Scene {
        let restored = Restored {
            agencies: agencies(),
            bookings,
            waiting,
            ..Restored::default()
        };
        Scene::starting(restored, now)
    }

    /// The broker killed and started again on what it had written: the connections are
    /// gone, the writes are kept.
    pub(super) fn restarted(&self) -> Scene {
        let mut scene = Scene::starting(stored(&self.writes), self.now);
        scene.writes = self.writes.clone();
        scene.next_connection = self.next_connection;
        scene
    }

    pub(super) fn starting(restored: Restored, now: Millis) -> Scene {
        let mut scene = Scene {
            core: Core::new(config(), restored, now),
            now,
            next_connection: 0,
            writes: Vec::new(),
        };
        scene.input(Input::Timeout);
        scene
    }

    pub(super) fn input(&mut self, input: Input) -> Vec<Output> {
        self.core.handle_input(input, self.now);
        let mut out = Vec::new();
        while let Some(o) = self.core.poll_output() {
            match &o {
                Output::Write(w) | Output::Acknowledged { write: w, .. } => {
                    self.writes.push(w.clone())
                }
                _ => {}
            }
            out.push(o);
        }
        out
    }

    /// Moves time on by `ms`, firing every timeout due on the way, in order.
    pub(super) fn advance(&mut self, ms: Millis) -> Vec<Output> {
        let until = self.now + ms;
        let mut out = Vec::new();
        loop {
            let due = self.core.poll_timeout();
            if due > until {
                break;
            }
            self.now = due.max(self.now);
            out.extend(self.input(Input::Timeout));
        }
        self.now = until;
        out
    }

    pub(super) fn connect_kiosk(
        &mut self,
        kiosk: &str,
        resume: Option<&str>,
    ) -> (ConnectionId, Vec<Output>) {
        self.next_connection += 1;
        let connection = self.next_connection;
        let out = self.input(Input::KioskConnected(KioskHello {
            kiosk: id(kiosk),
            connection,
            info: directory::KioskInfo {
                site: id("norsjo"),
                site_name: id("Norsjö"),
            },
            software_version: id("1.0"),
            resume: resume.map(id),
            ice_servers: Vec::new(),
        }));
        (connection, out)
    }

    pub(super) fn connect_desk(
        &mut self,
        staff: &str,
        kind: StaffKind,
        languages: &[&str],
    ) -> Vec<Output> {
        self.next_connection += 1;
        let (role, agency) = match &kind {
            StaffKind::Officer { agency } => (StaffRoleKind::Officer, Some(agency.clone())),
            StaffKind::Interpreter { .. } => (StaffRoleKind::Interpreter, None),
        };
        let card = StaffCard {
            staff: id(staff),
            display_name: id(staff),
            role,
            agency: agency.clone(),
            agency_name: None,
            interprets: None,
        };
        let profile = StaffProfile {
            id: id(staff),
            kind,
            languages: languages.iter().map(|l| id::<LanguageCode>(l)).collect(),
            skills: BTreeSet::new(),
        };
        self.input(Input::DeskConnected(DeskHello {
            connection: self.next_connection,
            me: Me {
                card,
                languages: languages.iter().map(|l| id(l)).collect(),
                region: None,
            },
            profile: Some(profile),
            ice_servers: Vec::new(),
        }))
    }

    /// An officer of `agency` at their desk, available.
    pub(super) fn officer(&mut self, staff: &str, agency: &str, languages: &[&str]) -> Vec<Output> {
        let kind = StaffKind::Officer { agency: id(agency) };
        self.connect_desk(staff, kind, languages);
        self.desk(
            staff,
            DeskToBroker::SetStatus {
                status: AvailabilityChoice::Available,
            },
        )
    }

    /// An interpreter of `languages` for every agency at their desk, available.
    pub(super) fn interpreter(&mut self, staff: &str, languages: &[&str]) -> Vec<Output> {
        let kind = StaffKind::Interpreter {
            serves: BTreeSet::new(),
        };
        self.connect_desk(staff, kind, languages);
        self.desk(
            staff,
            DeskToBroker::SetStatus {
                status: AvailabilityChoice::Available,
            },
        )
    }

    pub(super) fn kiosk(&mut self, kiosk: &str, message: KioskToBroker) -> Vec<Output> {
        self.input(Input::FromKiosk {
            kiosk: id(kiosk),
            message,
            request: Some(id(REQUEST)),
        })
    }

    pub(super) fn desk(&mut self, staff: &str, message: DeskToBroker) -> Vec<Output> {
        self.input(Input::FromDesk {
            staff: id(staff),
            message,
            request: Some(id(REQUEST)),
        })
    }

    pub(super) fn start_visit(&mut self, kiosk: &str, agency: &str, language: &str) -> Vec<Output> {
        self.kiosk(
            kiosk,
            KioskToBroker::StartVisit {
                language: id(language),
                agency: id(agency),
                topic: None,
            },
        )
    }
}

pub(super) fn to_kiosk<'a>(out: &'a [Output], kiosk: &str) -> Vec<&'a BrokerToKiosk> {
    out.iter()
        .filter_map(|o| match o {
            Output::ToKiosk { kiosk: k, message } if k.as_str() == kiosk => Some(message),
            _ => None,
        })
        .collect()
}

pub(super) fn to_desk<'a>(out: &'a [Output], staff: &str) -> Vec<&'a BrokerToDesk> {
    out.iter()
        .filter_map(|o| match o {
            Output::ToDesk { staff: s, message } if s.as_str() == staff => Some(message),
            Output::ToDesks {
                staff: all,
                message,
            } if all.iter().any(|s| s.as_str() == staff) => Some(message),
            _ => None,
        })
        .collect()
}

pub(super) fn queued_visit(out: &[Output], kiosk: &str) -> VisitId {
    to_kiosk(out, kiosk)
        .into_iter()
        .find_map(|m| match m {
            BrokerToKiosk::Queued { visit, .. } => Some(visit.clone()),
            _ => None,
        })
        .expect("the kiosk is told it is queued")
}

pub(super) fn offer_to(out: &[Output], staff: &str) -> OfferId {
    to_desk(out, staff)
        .into_iter()
        .find_map(|m| match m {
            BrokerToDesk::Offer { offer, .. } => Some(offer.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{staff} is offered the visit: {out:#?}"))
}

/// The id every message a scene sends carries.
const REQUEST: &str = "req-1";

pub(super) fn refusal_to_kiosk(out: &[Output], kiosk: &str) -> ErrorReply {
    to_kiosk(out, kiosk)
        .into_iter()
        .find_map(|m| match m {
            BrokerToKiosk::Error(e) => Some(e.clone()),
            _ => None,
        })
        .inspect(|e| {
            assert_eq!(
                e.request,
                Some(id(REQUEST)),
                "the refusal names the request"
            )
        })
        .unwrap_or_else(|| panic!("{kiosk} is refused: {out:#?}"))
}

pub(super) fn refusal_to_desk(out: &[Output], staff: &str) -> ErrorReply {
    to_desk(out, staff)
        .into_iter()
        .find_map(|m| match m {
            BrokerToDesk::Error(e) => Some(e.clone()),
            _ => None,
        })
        .inspect(|e| {
            assert_eq!(
                e.request,
                Some(id(REQUEST)),
                "the refusal names the request"
            )
        })
        .unwrap_or_else(|| panic!("{staff} is refused: {out:#?}"))
}

pub(super) fn call_started_at_kiosk(out: &[Output], kiosk: &str) -> (CallId, StaffCard) {
    to_kiosk(out, kiosk)
        .into_iter()
        .find_map(|m| match m {
            BrokerToKiosk::CallStarted { call, officer, .. } => {
                Some((call.clone(), officer.clone()))
            }
            _ => None,
        })
        .unwrap_or_else(|| panic!("{kiosk} hears the call started: {out:#?}"))
}

pub(super) fn visit_ended(out: &[Output], kiosk: &str) -> Option<VisitEndReason> {
    to_kiosk(out, kiosk).into_iter().find_map(|m| match m {
        BrokerToKiosk::VisitEnded { reason, .. } => Some(*reason),
        _ => None,
    })
}

pub(super) fn candidate() -> SignalPayload {
    SignalPayload::Candidate {
        candidate: id("candidate:1 1 udp 1 192.0.2.1 5000 typ host"),
        sdp_mid: None,
        sdp_m_line_index: Some(0),
    }
}
