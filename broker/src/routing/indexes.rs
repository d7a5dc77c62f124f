//! Indexes over the routing state: which visits wait, and who works for which agency. An
//! event then costs in proportion to the agency it touches rather than to everyone logged in
//! and every call going on; the property tests check each index against a full walk.

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

    /// Everyone of one agency (`None`: the interpreters) who is online or in a grace time.
    pub(crate) fn staff_in<'a>(
        &'a self,
        agency: Option<&AgencyId>,
    ) -> impl Iterator<Item = &'a Staff> + 'a {
        self.staff_by_agency
            .get(&agency.cloned())
            .into_iter()
            .flat_map(|ids| ids.iter())
            .filter_map(|id| self.staff.get(id))
    }

    pub(crate) fn add_staff(&mut self, staff: Staff) {
        let id = staff.profile.id.clone();
        // Whoever was here under this id goes from the index of their agency too.
        self.remove_staff(&id);
        let ids = self
            .staff_by_agency
            .entry(staff.profile.agency().cloned())
            .or_default();
        Arc::make_mut(ids).insert(id.clone());
        self.staff.insert(id, staff);
    }

    pub(crate) fn remove_staff(&mut self, id: &StaffId) {
        if let Some(staff) = self.staff.remove(id) {
            let agency = staff.profile.agency().cloned();
            if let Some(ids) = self.staff_by_agency.get_mut(&agency) {
                Arc::make_mut(ids).remove(id);
                if ids.is_empty() {
                    self.staff_by_agency.remove(&agency);
                }
            }
        }
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
        let mut by_agency: BTreeMap<Option<AgencyId>, Arc<BTreeSet<StaffId>>> = BTreeMap::new();
        for s in self.staff.values() {
            Arc::make_mut(by_agency.entry(s.profile.agency().cloned()).or_default())
                .insert(s.profile.id.clone());
        }
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
            && by_agency == self.staff_by_agency
            && timed_visits_listed
            && inviting_listed
    }
}
