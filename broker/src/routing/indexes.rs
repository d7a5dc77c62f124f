//! Indexes over the routing state: which visits wait, and who works for which agency (kept
//! in `people`). An event then costs in proportion to the agency it touches rather than to
//! everyone logged in and every call going on; the property tests check each index against
//! a full walk.

use super::*;

impl Router {
    /// The waiting visits, each with its place in the queue.
    pub(crate) fn waiting_visits(&self) -> impl Iterator<Item = (&Visit, &Waiting)> {
        self.waiting
            .iter()
            .filter_map(|id| self.visits.get(id))
            .filter_map(|v| match &v.state {
                VisitState::Waiting(w) => Some((v, w)),
                VisitState::InCall { .. } => None,
            })
    }

    pub(crate) fn add_staff(&mut self, staff: Staff) {
        self.staff.insert(staff);
    }

    pub(crate) fn remove_staff(&mut self, id: &StaffId) {
        self.staff.remove(id);
    }

    /// Whether the indexes say what a walk over everything would: for the property tests.
    #[cfg(test)]
    pub(crate) fn indexes_hold(&self) -> bool {
        let waiting: BTreeSet<VisitId> = self
            .visits
            .values()
            .filter(|v| matches!(v.state, VisitState::Waiting(_)))
            .map(|v| v.id.clone())
            .collect();
        let timed_visits_listed = self
            .visits
            .values()
            .filter(|v| v.gone_deadline.is_some())
            .all(|v| self.visits_timed.contains(&v.id));
        let inviting_listed = self
            .calls
            .values()
            .filter(|c| !c.invites.is_empty())
            .all(|c| self.calls_inviting.contains(&c.id));
        waiting == self.waiting
            && self.staff.pools_hold()
            && self.loads_hold()
            && timed_visits_listed
            && inviting_listed
    }

    /// Whether what the pools say of each waiting visit's queue is what counting everyone
    /// says: who can take it, who of them is free, who is here at all, and who can take two
    /// queues' visits both.
    #[cfg(test)]
    fn loads_hold(&self) -> bool {
        let counts = |s: &&Staff| s.online && s.status != StaffStatus::Away;
        let queues: BTreeSet<&QueueKey> = self.waiting_visits().map(|(_, w)| &w.queue).collect();
        queues.iter().all(|queue| {
            let able = self.staff.values().filter(counts);
            let able: Vec<&Staff> = able.filter(|s| s.profile.can_answer(queue)).collect();
            let free = able.iter().filter(|s| s.can_be_offered()).count() as u64;
            let pool = self.staff.pool(Some(&queue.agency));
            let load = pool.map(|p| p.load(queue)).unwrap_or_default();
            // A pool knows its own agency's queues only.
            let same_agency = queues.iter().filter(|other| other.agency == queue.agency);
            let shares_hold = same_agency.into_iter().all(|other| {
                let both = able.iter().any(|s| s.profile.can_answer(other));
                queue == other || pool.is_some_and(|p| p.shared(queue, other)) == both
            });
            let present = self.staff.values().filter(|s| s.online);
            let present = present.filter(|s| s.profile.can_answer(queue)).count() as u64;
            load.able == able.len() as u64
                && load.free == free
                && load.present == present
                && shares_hold
        })
    }
}
