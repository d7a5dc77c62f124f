//! Visits that ended in the last hours: a kiosk that comes back is told how its visit ended,
//! and a survey or a document note is taken for a visit that has just ended.
//!
//! A busy day ends tens of thousands of visits. Kept in a hash map, each doubling of it was a
//! pause of several milliseconds for whoever ended the visit that tipped it over, and
//! forgetting the old ones meant a walk over all of them. Here they are ordered by id, and
//! forgotten oldest first from a queue in the order they ended.

use crate::routing::Millis;
use nara_protocol::kiosk::VisitEndReason;
use nara_protocol::{KioskId, VisitId};
use std::collections::{BTreeMap, VecDeque};

/// How long a visit that ended is remembered: its survey can still be sent that long.
pub const REMEMBERED_MS: Millis = 6 * 3600 * 1000;

#[derive(Debug, Default)]
pub struct EndedVisits {
    by_visit: BTreeMap<VisitId, Ended>,
    /// When each ended, in that order (the core's time never runs backwards).
    order: VecDeque<(Millis, VisitId)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ended {
    pub kiosk: KioskId,
    pub reason: VisitEndReason,
    pub at: Millis,
}

impl EndedVisits {
    pub fn remember(&mut self, visit: VisitId, kiosk: KioskId, reason: VisitEndReason, at: Millis) {
        self.order.push_back((at, visit.clone()));
        self.by_visit.insert(visit, Ended { kiosk, reason, at });
    }

    pub fn get(&self, visit: &VisitId) -> Option<&Ended> {
        self.by_visit.get(visit)
    }

    /// Forgets the visits that ended [`REMEMBERED_MS`] or longer before `now`.
    pub fn forget_old(&mut self, now: Millis) {
        while let Some((at, _)) = self.order.front() {
            if now.saturating_sub(*at) < REMEMBERED_MS {
                break;
            }
            let (at, visit) = self.order.pop_front().expect("looked at");
            // Ended again since (a restored visit): the later end is the one remembered.
            if self.by_visit.get(&visit).is_some_and(|e| e.at == at) {
                self.by_visit.remove(&visit);
            }
        }
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.by_visit.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn visit(n: u32) -> VisitId {
        VisitId::new(format!("v-{n}")).unwrap()
    }

    fn kiosk() -> KioskId {
        KioskId::new("k-1").unwrap()
    }

    #[test]
    fn visits_are_remembered_for_the_hours_then_forgotten_oldest_first() {
        let mut ended = EndedVisits::default();
        ended.remember(visit(1), kiosk(), VisitEndReason::Completed, 1_000);
        ended.remember(visit(2), kiosk(), VisitEndReason::LeftQueue, 2_000);
        ended.forget_old(1_000 + REMEMBERED_MS - 1);
        assert_eq!(ended.len(), 2, "neither is six hours old yet");
        ended.forget_old(1_000 + REMEMBERED_MS);
        assert!(ended.get(&visit(1)).is_none());
        assert_eq!(
            ended.get(&visit(2)).map(|e| e.reason),
            Some(VisitEndReason::LeftQueue)
        );
    }

    #[test]
    fn a_visit_ended_twice_is_remembered_from_its_later_end() {
        let mut ended = EndedVisits::default();
        ended.remember(visit(1), kiosk(), VisitEndReason::ConnectionLost, 1_000);
        ended.remember(visit(1), kiosk(), VisitEndReason::Completed, 5_000);
        ended.forget_old(1_000 + REMEMBERED_MS);
        assert_eq!(
            ended.get(&visit(1)).map(|e| e.reason),
            Some(VisitEndReason::Completed),
            "the first end's expiry does not take the second with it"
        );
        ended.forget_old(5_000 + REMEMBERED_MS);
        assert_eq!(ended.len(), 0);
    }
}
