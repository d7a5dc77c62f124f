//! What the shell reads of the routing state: the queues as officers see them, people,
//! calls, and who may signal to whom.

use super::*;

impl Router {
    /// Visits waiting in the queues of `agency`, in the order they will be offered.
    pub fn waiting_in(&self, agency: &AgencyId, now: Millis) -> Vec<WaitingView> {
        let mut rows: Vec<_> = self
            .waiting_visits()
            .filter(|(_, w)| &w.queue.agency == agency)
            .map(|(v, w)| (self.order_key(v, w, now), v, w))
            .collect();
        rows.sort_by_key(|row| row.0);
        rows.into_iter()
            .map(|(_, v, w)| WaitingView {
                visit: v.id.clone(),
                queue: w.queue.clone(),
                waited_ms: now.saturating_sub(v.segment.queued_at),
                booked: v.booking.is_some(),
                site_name: v.site_name.clone(),
            })
            .collect()
    }

    pub fn profile(&self, id: &StaffId) -> Option<&StaffProfile> {
        self.staff.get(id).map(|s| &s.profile)
    }

    /// The call `id` is in, if any.
    pub fn call_of(&self, id: &StaffId) -> Option<&CallId> {
        self.staff.get(id).and_then(|s| s.call.as_ref())
    }

    pub fn staff_status(&self, id: &StaffId) -> Option<StaffStatus> {
        self.staff.get(id).map(|s| s.status)
    }

    /// Everyone of `agency` online or in a grace time, as a set shared with whoever holds it.
    pub fn officers_of(&self, agency: &AgencyId) -> Arc<BTreeSet<StaffId>> {
        self.staff
            .pool(Some(agency))
            .map(|pool| pool.members().clone())
            .unwrap_or_default()
    }

    /// How many of `agency`'s officers are available, and how many busy (neither available
    /// nor away).
    pub fn officers_available_and_busy(&self, agency: &AgencyId) -> (u32, u32) {
        self.staff
            .pool(Some(agency))
            .map_or((0, 0), |pool| pool.available_and_busy())
    }

    pub fn call(&self, id: &CallId) -> Option<&Call> {
        self.calls.get(id)
    }

    /// Who may signal to whom on `call`: its kiosk, everyone in it, and everyone an offer
    /// about it rings for (so that they connect while it rings). `None`: no such call rings
    /// or goes on.
    pub fn call_peers(&self, call: &CallId) -> Option<CallPeers> {
        if let Some(info) = self.calls.get(call) {
            let ringing = info
                .invites
                .iter()
                .filter_map(|i| i.offer.as_ref())
                .filter_map(|o| self.offers.get(o))
                .map(|o| o.staff.clone());
            return Some(CallPeers {
                kiosk: info.kiosk.clone(),
                staff: info.participants.iter().cloned().chain(ringing).collect(),
            });
        }
        let visit = self.visits.get(self.ringing_calls.get(call)?)?;
        let VisitState::Waiting(w) = &visit.state else {
            return None;
        };
        let halves = [&w.offer, &w.interpreter].into_iter().flatten();
        Some(CallPeers {
            kiosk: visit.kiosk.clone(),
            staff: halves
                .filter_map(|o| self.offers.get(o))
                .map(|o| o.staff.clone())
                .collect(),
        })
    }

    pub fn visit(&self, id: &VisitId) -> Option<&Visit> {
        self.visits.get(id)
    }

    pub fn visits(&self) -> impl Iterator<Item = &Visit> {
        self.visits.values()
    }

    pub fn offers(&self) -> impl Iterator<Item = (&OfferId, &Offer)> {
        self.offers.iter()
    }

    pub fn calls(&self) -> impl ExactSizeIterator<Item = &Call> {
        self.calls.values()
    }
}
