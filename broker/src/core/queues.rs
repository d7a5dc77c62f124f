//! The queues as an agency's officers see them, sent when they change; and the opening hours
//! looked at again as time passes, which open and close queues.

use super::Core;
use crate::routing::{Millis, Router};
use nara_protocol::desk::{self, BrokerToDesk, QueueView};
use nara_protocol::kiosk::BrokerToKiosk;
use nara_protocol::*;
use std::collections::BTreeMap;

/// An agency's officers are sent its queues at most this often.
pub const QUEUES_EVERY_MS: Millis = 1000;

/// The queues of `agency` as its officers see them at `now`.
pub(super) fn views(router: &Router, agency: &AgencyId, now: Millis) -> Vec<QueueView> {
    let mut by_language: BTreeMap<LanguageCode, QueueView> = BTreeMap::new();
    for w in router.waiting_in(agency, now) {
        let view = by_language
            .entry(w.queue.language.clone())
            .or_insert_with(|| QueueView {
                agency: agency.clone(),
                language: w.queue.language.clone(),
                waiting: Vec::new(),
                officers_available: 0,
                officers_busy: 0,
            });
        view.waiting.push(desk::WaitingVisit {
            visit: w.visit,
            language: w.queue.language,
            topic: w.queue.topic,
            waited_seconds: (w.waited_ms / 1000) as u32,
            booked: w.booked,
            site_name: w.site_name,
        });
    }
    let (available, busy) = router.officers_available_and_busy(agency);
    let mut views: Vec<_> = by_language.into_values().collect();
    for v in &mut views {
        v.officers_available = available;
        v.officers_busy = busy;
    }
    views
}

impl Core {
    /// The queues of `agency` changed: its officers are sent them now, or, if they were
    /// sent less than [`QUEUES_EVERY_MS`] ago, then.
    pub(super) fn queues_changed(&mut self, agency: &AgencyId) {
        match self.queues_sent.get(agency) {
            Some((at, _)) if self.now < at + QUEUES_EVERY_MS => {
                // On the second, so that all agencies due share one timeout.
                let due = (at + QUEUES_EVERY_MS).div_ceil(QUEUES_EVERY_MS) * QUEUES_EVERY_MS;
                self.queues_due.entry(agency.clone()).or_insert(due);
            }
            _ => self.send_queues(agency),
        }
    }

    pub(super) fn send_due_queues(&mut self) {
        while let Some((agency, _)) = self
            .queues_due
            .iter()
            .find(|(_, due)| **due <= self.now)
            .map(|(agency, due)| (agency.clone(), *due))
        {
            self.queues_due.remove(&agency);
            self.send_queues(&agency);
        }
    }

    /// Sends `agency`'s officers its queues, unless they are as last sent.
    fn send_queues(&mut self, agency: &AgencyId) {
        let queues = self.queue_views(agency);
        if self.queues_sent.get(agency).map(|(_, sent)| sent) == Some(&queues) {
            return;
        }
        self.queues_sent
            .insert(agency.clone(), (self.now, queues.clone()));
        let officers = self.router.officers_of(agency);
        if !officers.is_empty() {
            self.outputs.push_back(super::Output::ToDesks {
                staff: officers,
                message: BrokerToDesk::Queues { queues },
            });
        }
    }

    /// Looks at the opening hours again: kiosks hear of any agency that opened or closed, and
    /// visits still waiting for one that closed are ended, not left to wait all night.
    pub(super) fn check_hours(&mut self) {
        let now = self.now;
        let choices = self.directory.choices(now);
        let before = self
            .hours_checked
            .replace((now + super::HOURS_CHECK_MS, choices.clone()))
            .map(|(_, before)| before);
        if before.as_ref() == Some(&choices) {
            return;
        }
        // Those that closed since the last look; at the first, all that are closed (visits
        // restored at start may be waiting for one).
        let was_open = |agency: &AgencyId| {
            before
                .as_ref()
                .is_none_or(|before| before.iter().any(|c| c.agency == *agency && c.open_now))
        };
        let closed: Vec<AgencyId> = choices
            .iter()
            .filter(|c| !c.open_now && was_open(&c.agency))
            .map(|c| c.agency.clone())
            .collect();
        if !closed.is_empty() {
            let _ = self.apply(crate::routing::Event::QueuesClosed { agencies: closed });
        }
        let kiosks: Vec<KioskId> = self.kiosks.keys().cloned().collect();
        for kiosk in kiosks {
            let message = BrokerToKiosk::Agencies {
                agencies: choices.clone(),
            };
            self.send_kiosk(&kiosk, message);
        }
    }
}
