//! Builders shared by the routing tests.

use super::*;
use nara_protocol::{KioskId, LanguageCode, ShortText, Topic};

pub fn id<T: TryFrom<String, Error = String>>(s: &str) -> T {
    T::try_from(s.to_string()).unwrap()
}

pub fn officer(name: &str, agency: &str, languages: &[&str]) -> StaffProfile {
    StaffProfile {
        id: id(name),
        kind: StaffKind::Officer { agency: id(agency) },
        languages: languages.iter().map(|l| id::<LanguageCode>(l)).collect(),
        skills: BTreeSet::<Topic>::new(),
    }
}

pub fn interpreter(name: &str, languages: &[&str]) -> StaffProfile {
    StaffProfile {
        id: id(name),
        kind: StaffKind::Interpreter {
            serves: BTreeSet::new(),
        },
        languages: languages.iter().map(|l| id(l)).collect(),
        skills: BTreeSet::new(),
    }
}

pub fn queue(agency: &str, language: &str) -> QueueKey {
    QueueKey {
        agency: id(agency),
        language: id(language),
        topic: None,
    }
}

pub fn spec(visit: &str, queue: QueueKey, at: Millis) -> VisitSpec {
    VisitSpec {
        visit: id(visit),
        kiosk: id::<KioskId>(&format!("k-{visit}")),
        site_name: id::<ShortText>("Norsjö"),
        queue,
        booking: None,
        queued_at: at,
        front_of_queue: false,
        kiosk_online: true,
    }
}

pub fn offers_to(commands: &[Command], staff: &str) -> Vec<(OfferId, VisitId)> {
    commands
        .iter()
        .filter_map(|c| match c {
            Command::Offer {
                offer,
                staff: s,
                visit,
                ..
            } if s.as_str() == staff => Some((offer.clone(), visit.clone())),
            _ => None,
        })
        .collect()
}

/// Queues `visit` (it must be offered to `staff` at once) and has `staff` answer at `at`.
pub fn answered(r: &mut Router, visit: VisitSpec, staff: &str, at: Millis) -> CallId {
    let queued_at = visit.queued_at;
    let out = r.handle(Event::Enqueue { spec: visit }, queued_at).unwrap();
    let (offer, _) = offers_to(&out, staff).remove(0);
    let out = r
        .handle(
            Event::Accept {
                staff: id(staff),
                offer,
            },
            at,
        )
        .unwrap();
    out.iter()
        .find_map(|c| match c {
            Command::CallStarted { call, .. } => Some(call.clone()),
            _ => None,
        })
        .expect("the answer starts a call")
}

use nara_protocol::CallId;
use std::collections::BTreeSet;
