//! Deadlines: when the next one is due, and what happens when they pass (rings unanswered,
//! kiosks and desks not back within the grace time, wrap-up over, skips and invitations
//! running out).

use super::*;

impl Router {
    /// The earliest moment at which a [`Event::Tick`] would change something.
    pub fn next_deadline(&self) -> Option<Millis> {
        // A held offer waits for its pair's other half, which has a deadline of its own.
        let offers = self.offers.values().filter(|o| !o.held).map(|o| o.deadline);
        let visits = self
            .visits_timed
            .iter()
            .filter_map(|id| self.visits.get(id)?.gone_deadline);
        let staff = self
            .staff_timed
            .iter()
            .filter_map(|id| self.staff.get(id))
            .flat_map(|s| {
                [s.offline_deadline, s.wrap_up_deadline]
                    .into_iter()
                    .flatten()
            });
        let invites = self
            .calls_inviting
            .iter()
            .filter_map(|id| self.calls.get(id))
            .flat_map(|c| c.invites.iter().map(|i| i.deadline));
        let skips = self
            .waiting_visits()
            .flat_map(|(_, w)| w.tried.values().copied());
        offers
            .chain(self.announce_at)
            .chain(visits)
            .chain(staff)
            .chain(invites)
            .chain(skips)
            .min()
    }

    pub(crate) fn fire_timeouts(&mut self, now: Millis, out: &mut Vec<Command>) {
        let due_offers: Vec<OfferId> = self
            .offers
            .iter()
            .filter(|(_, o)| !o.held && o.deadline <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for offer in due_offers {
            self.offer_timed_out(&offer, now, out);
        }
        let gone: Vec<VisitId> = self
            .visits_timed
            .iter()
            .filter_map(|id| self.visits.get(id))
            .filter(|v| v.gone_deadline.is_some_and(|d| d <= now))
            .map(|v| v.id.clone())
            .collect();
        for visit in gone {
            let outcome = match self.visits[&visit].state {
                VisitState::Waiting(_) => Outcome::Abandoned,
                VisitState::InCall { .. } => Outcome::Failed,
            };
            if let VisitState::InCall { call } = &self.visits[&visit].state {
                let call = call.clone();
                self.close_call(&call, Outcome::Failed, now, out);
            }
            self.finish_visit(&visit, outcome, VisitEndReason::ConnectionLost, now, out);
        }
        let timed: Vec<&Staff> = self
            .staff_timed
            .iter()
            .filter_map(|id| self.staff.get(id))
            .collect();
        let staff_gone: Vec<StaffId> = timed
            .iter()
            .filter(|s| s.offline_deadline.is_some_and(|d| d <= now))
            .map(|s| s.profile.id.clone())
            .collect();
        let wrapped: Vec<StaffId> = timed
            .iter()
            .filter(|s| s.wrap_up_deadline.is_some_and(|d| d <= now))
            .map(|s| s.profile.id.clone())
            .collect();
        for staff in staff_gone {
            self.staff_lost(&staff, now, out);
        }
        for staff in wrapped {
            if self
                .staff
                .get(&staff)
                .is_some_and(|s| s.wrap_up_deadline.is_some_and(|d| d <= now))
            {
                self.set_staff_status(&staff, StaffStatus::Available, now, out);
                self.queues_changed_for_staff(&staff, out);
            }
        }
        let staff = &self.staff;
        self.staff_timed.retain(|id| {
            staff
                .get(id)
                .is_some_and(|s| s.offline_deadline.is_some() || s.wrap_up_deadline.is_some())
        });
        self.expire_invites(now, out);
        let visits = &self.visits;
        self.visits_timed
            .retain(|id| visits.get(id).is_some_and(|v| v.gone_deadline.is_some()));
        // Skips that ran out make those people eligible again at the next dispatch.
        for id in &self.waiting {
            if let Some(Visit {
                state: VisitState::Waiting(w),
                ..
            }) = self.visits.get_mut(id)
            {
                w.tried.retain(|_, until| *until > now);
            }
        }
        let calls = &mut self.calls;
        self.calls_inviting.retain(|id| {
            let Some(call) = calls.get_mut(id) else {
                return false;
            };
            for invite in &mut call.invites {
                invite.tried.retain(|_, until| *until > now);
            }
            !call.invites.is_empty()
        });
    }
}
