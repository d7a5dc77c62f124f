//! Who is offered what: the dispatch loop, ring timeouts and declines.

use super::*;
use nara_protocol::desk::{InviteTarget, OfferPurpose};
use std::collections::BTreeSet;

/// Sort key of a waiting visit: transferred or interrupted visits first, then booked visits
/// whose time has come (by appointment), then everyone else in order of arrival.
pub(crate) type OrderKey = (u8, Millis, u64);

impl Router {
    pub(crate) fn order_key(&self, visit: &Visit, waiting: &Waiting, now: Millis) -> OrderKey {
        if waiting.front {
            return (0, waiting.sort_time, waiting.seq);
        }
        match visit.booking {
            Some(at) if now + self.config.booking_early_ms >= at => (1, at, waiting.seq),
            _ => (2, waiting.sort_time, waiting.seq),
        }
    }

    /// Offers every waiting visit and open invitation to someone who can take it, if anyone can.
    ///
    /// Runs after every event, so it starts from the few people free right now rather than
    /// from everyone online, and stops as soon as nobody is left to offer to.
    pub(crate) fn dispatch(&mut self, now: Millis, out: &mut Vec<Command>) {
        self.mend_pairs(now, out);
        let has_open_invites = self
            .calls_inviting
            .iter()
            .filter_map(|id| self.calls.get(id))
            .any(|c| c.invites.iter().any(|i| i.offer.is_none()));
        let mut order: Vec<(OrderKey, VisitId)> = self
            .waiting_visits()
            .filter(|(v, w)| w.offer.is_none() && w.interpreter.is_none() && v.kiosk_online)
            .map(|(v, w)| (self.order_key(v, w, now), v.id.clone()))
            .collect();
        if order.is_empty() && !has_open_invites {
            return;
        }
        order.sort_unstable();
        // Queues nobody free can answer: their later visits need not be tried again.
        let mut unanswerable: BTreeSet<QueueKey> = BTreeSet::new();
        for (_, visit_id) in order {
            let VisitState::Waiting(waiting) = &self.visits[&visit_id].state else {
                continue;
            };
            let skip = active_skips(&waiting.tried, now);
            if skip.is_empty() && unanswerable.contains(&waiting.queue) {
                continue;
            }
            let queue = waiting.queue.clone();
            // An officer who speaks the citizen's language first; else one with an interpreter.
            let fits = |s: &Staff| s.profile.can_answer(&queue);
            match self.first_free(Some(&queue.agency), fits, &skip) {
                Some(staff) => {
                    let call = CallId::new(self.fresh_id("c")).expect("generated ids are valid");
                    self.make_offer(staff, visit_id, OfferKind::Answer { call }, now, out);
                }
                None => {
                    let paired = self.offer_with_interpreter(&visit_id, &skip, now, out);
                    if !paired && skip.is_empty() {
                        unanswerable.insert(queue);
                    }
                }
            }
        }
        if !has_open_invites {
            return;
        }

        let open_invites: Vec<(CallId, usize)> = self
            .calls_inviting
            .iter()
            .filter_map(|id| self.calls.get(id))
            .flat_map(|c| {
                c.invites
                    .iter()
                    .enumerate()
                    .filter(|(_, i)| i.offer.is_none())
                    .map(|(n, _)| (c.id.clone(), n))
            })
            .collect();
        for (call_id, index) in open_invites {
            let call = &self.calls[&call_id];
            let invite = &call.invites[index];
            let mut skip = active_skips(&invite.tried, now);
            skip.extend(call.participants.iter().cloned());
            let target = invite.target.clone();
            let transfer_to = invite.transfer_to.clone();
            // Whose people may take it: the agency's, or the interpreters (`None`).
            let agency = match (&target, &transfer_to) {
                (_, Some(queue)) => Some(&queue.agency),
                (InviteTarget::Interpreter { .. }, None) => None,
                (InviteTarget::Officer { agency }, None) => Some(agency),
            };
            let fits = |s: &Staff| match (&target, &transfer_to) {
                (_, Some(queue)) => s.profile.can_answer(queue),
                (InviteTarget::Interpreter { language }, None) => {
                    s.profile.languages.contains(language)
                }
                (InviteTarget::Officer { .. }, None) => true,
            };
            if let Some(staff) = self.first_free(agency, fits, &skip) {
                let kind = OfferKind::Invite {
                    call: call_id.clone(),
                    invited_by: invite.invited_by.clone(),
                    target,
                    transfer_to,
                };
                let visit = call.visit.clone();
                let offer = self.make_offer(staff, visit, kind, now, out);
                self.calls.get_mut(&call_id).expect("listed above").invites[index].offer =
                    Some(offer);
            }
        }
    }

    pub(crate) fn make_offer(
        &mut self,
        staff: StaffId,
        visit: VisitId,
        kind: OfferKind,
        now: Millis,
        out: &mut Vec<Command>,
    ) -> OfferId {
        let offer = OfferId::new(self.fresh_id("o")).expect("generated ids are valid");
        let ring_ms = self.config.ring_timeout_ms;
        let purpose = match &kind {
            OfferKind::Answer { .. } => {
                let language = &self.visits[&visit].segment.queue.language;
                match needs_interpreter(language, &self.staff[&staff].profile) {
                    true => OfferPurpose::AnswerWithInterpreter {
                        language: language.clone(),
                    },
                    false => OfferPurpose::Answer,
                }
            }
            OfferKind::Interpret { language, .. } => OfferPurpose::Interpret {
                language: language.clone(),
            },
            OfferKind::Invite {
                transfer_to: Some(_),
                invited_by,
                ..
            } => OfferPurpose::TransferIn {
                from_agency: self
                    .staff
                    .get(invited_by)
                    .and_then(|s| s.profile.agency().cloned())
                    .unwrap_or_else(|| self.visits[&visit].segment.queue.agency.clone()),
                warm: true,
            },
            OfferKind::Invite {
                target: InviteTarget::Interpreter { language },
                ..
            } => OfferPurpose::Interpret {
                language: language.clone(),
            },
            OfferKind::Invite { invited_by, .. } => OfferPurpose::Join {
                invited_by: invited_by.clone(),
            },
        };
        if let OfferKind::Answer { call } | OfferKind::Interpret { call, .. } = &kind {
            self.ringing_calls.insert(call.clone(), visit.clone());
            let v = self
                .visits
                .get_mut(&visit)
                .expect("dispatch offers existing visits");
            v.segment.first_offered_at.get_or_insert(now);
            if let VisitState::Waiting(w) = &mut v.state {
                match &kind {
                    OfferKind::Interpret { .. } => w.interpreter = Some(offer.clone()),
                    _ => w.offer = Some(offer.clone()),
                }
            }
        }
        let offered = Offer {
            staff: staff.clone(),
            visit: visit.clone(),
            kind,
            deadline: now + ring_ms,
            held: false,
        };
        let call = offered.call().clone();
        self.offers.insert(offer.clone(), offered);
        self.staff.get_mut(&staff).expect("picked from staff").offer = Some(offer.clone());
        self.set_staff_status(&staff, StaffStatus::Offered, now, out);
        out.push(Command::Offer {
            offer: offer.clone(),
            staff,
            visit,
            call,
            purpose,
            ring_ms,
        });
        offer
    }

    /// Stops an offer ringing. The person becomes available again unless the caller decides otherwise.
    pub(crate) fn withdraw_offer(
        &mut self,
        offer_id: &OfferId,
        reason: OfferWithdrawnReason,
        now: Millis,
        out: &mut Vec<Command>,
    ) {
        let Some(offer) = self.offers.remove(offer_id) else {
            return;
        };
        match &offer.kind {
            OfferKind::Answer { call } | OfferKind::Interpret { call, .. } => {
                let mut rings_on = false;
                if let Some(Visit {
                    state: VisitState::Waiting(w),
                    ..
                }) = self.visits.get_mut(&offer.visit)
                {
                    for half in [&mut w.offer, &mut w.interpreter] {
                        if half.as_ref() == Some(offer_id) {
                            *half = None;
                        }
                    }
                    rings_on = w.offer.is_some() || w.interpreter.is_some();
                }
                // The other half of a pair keeps the call ringing.
                if !rings_on {
                    self.ringing_calls.remove(call);
                }
            }
            OfferKind::Invite { call, .. } => {
                if let Some(call) = self.calls.get_mut(call) {
                    for invite in call
                        .invites
                        .iter_mut()
                        .filter(|i| i.offer.as_ref() == Some(offer_id))
                    {
                        invite.offer = None;
                    }
                }
            }
        }
        if let Some(mut staff) = self.staff.get_mut(&offer.staff) {
            staff.offer = None;
        }
        self.set_staff_status(&offer.staff, StaffStatus::Available, now, out);
        out.push(Command::OfferWithdrawn {
            offer: offer_id.clone(),
            call: offer.call().clone(),
            kiosk: self.visits.get(&offer.visit).map(|v| v.kiosk.clone()),
            staff: offer.staff,
            visit: offer.visit,
            reason,
        });
    }

    /// Remembers that `staff` passed on this offer so the next person is tried first.
    fn skip_for_a_while(&mut self, offer: &Offer, now: Millis) {
        let until = now + self.config.ring_timeout_ms;
        match &offer.kind {
            OfferKind::Answer { .. } | OfferKind::Interpret { .. } => {
                if let Some(Visit {
                    state: VisitState::Waiting(w),
                    ..
                }) = self.visits.get_mut(&offer.visit)
                {
                    w.tried.insert(offer.staff.clone(), until);
                }
            }
            OfferKind::Invite { call, .. } => {
                if let Some(call) = self.calls.get_mut(call) {
                    for invite in call.invites.iter_mut().filter(|i| i.offer.is_none()) {
                        invite.tried.insert(offer.staff.clone(), until);
                    }
                }
            }
        }
    }

    /// Nobody answered in time: the next person is offered, and the one who missed it is set
    /// away so that citizens are not offered to an empty desk.
    pub(crate) fn offer_timed_out(
        &mut self,
        offer_id: &OfferId,
        now: Millis,
        out: &mut Vec<Command>,
    ) {
        let Some(offer) = self.offers.get(offer_id).cloned() else {
            return;
        };
        self.withdraw_offer(offer_id, OfferWithdrawnReason::TimedOut, now, out);
        self.skip_for_a_while(&offer, now);
        self.set_staff_status(&offer.staff, StaffStatus::Away, now, out);
        self.queues_changed_for_staff(&offer.staff, out);
    }

    pub(crate) fn decline(
        &mut self,
        staff: &StaffId,
        offer_id: &OfferId,
        now: Millis,
        out: &mut Vec<Command>,
    ) -> Result<(), RoutingError> {
        let offer = self.owned_offer(staff, offer_id)?.clone();
        self.withdraw_offer(offer_id, OfferWithdrawnReason::Declined, now, out);
        self.skip_for_a_while(&offer, now);
        Ok(())
    }

    pub(crate) fn owned_offer(
        &self,
        staff: &StaffId,
        offer_id: &OfferId,
    ) -> Result<&Offer, RoutingError> {
        let offer = self
            .offers
            .get(offer_id)
            .ok_or_else(|| RoutingError::offer_gone(offer_id))?;
        if &offer.staff != staff {
            return Err(RoutingError::new(
                ErrorCode::Forbidden,
                format!("offer {offer_id} was made to someone else"),
            ));
        }
        Ok(offer)
    }

    /// Tells each waiting kiosk its position and estimate when they changed.
    ///
    /// A kiosk awaiting its first or renewed announcement is told at once, as is an agency
    /// where a booked visit's time came since the last event and so moved ahead of the
    /// others. Agencies this event otherwise touched (queues changed, staff changed status)
    /// are recomputed on the next whole second, with all others touched until then: on a
    /// busy day an agency changes many times a second, and a position shown to a citizen
    /// need not follow each change.
    pub(crate) fn announce_positions(&mut self, now: Millis, out: &mut Vec<Command>) {
        let mut newly_due = false;
        for command in out.iter() {
            let agencies = match command {
                Command::QueuesChanged { agency } => vec![agency.clone()],
                Command::StaffStatus { staff, .. } => self.agencies_counting(staff),
                _ => Vec::new(),
            };
            for agency in agencies {
                if !self.announce_due.contains(&agency) {
                    self.announce_due.insert(agency);
                    newly_due = true;
                }
            }
        }
        // A visit only interpreters can serve waits behind those of its language at every
        // agency: whatever moved anywhere may move it.
        if newly_due {
            let interpreted = self.agencies_waiting_for_interpreters();
            self.announce_due.extend(interpreted);
        }
        if !self.announce_due.is_empty() && self.announce_at.is_none() {
            self.announce_at = Some((now / ANNOUNCE_EVERY_MS + 1) * ANNOUNCE_EVERY_MS);
        }
        let mut touched: BTreeSet<AgencyId> = BTreeSet::new();
        if self.announce_at.is_some_and(|at| at <= now) {
            touched = std::mem::take(&mut self.announce_due);
            self.announce_at = None;
        }
        let since = self.announced_at;
        for (visit, w) in self.waiting_visits() {
            let unannounced = visit.kiosk_online && visit.announced.is_none();
            let came_due = !w.front
                && visit.booking.is_some_and(|at| {
                    let due = at.saturating_sub(self.config.booking_early_ms);
                    since < due && due <= now
                });
            if unannounced || came_due {
                touched.insert(w.queue.agency.clone());
            }
        }
        self.announced_at = now;
        if touched.is_empty() {
            return;
        }
        touched.extend(self.agencies_waiting_for_interpreters());
        for (id, estimate) in self.estimates_in(|agency| touched.contains(agency), now) {
            let visit = self.visits.get_mut(&id).expect("listed by estimates_in");
            if visit.announced.as_ref() == Some(&estimate) {
                continue;
            }
            visit.announced = Some(estimate.clone());
            let VisitState::Waiting(w) = &visit.state else {
                continue;
            };
            out.push(Command::Queued {
                visit: id,
                queue: w.queue.clone(),
                booked: visit.booking.is_some(),
                estimate,
            });
        }
    }
}

pub(crate) fn active_skips(tried: &BTreeMap<StaffId, Millis>, now: Millis) -> BTreeSet<StaffId> {
    tried
        .iter()
        .filter(|(_, until)| **until > now)
        .map(|(s, _)| s.clone())
        .collect()
}

impl Router {
    /// The longest-idle person of `agency` (`None`: the interpreters) who can be offered
    /// something now, fits and is not skipped. Whoever is offered something stops being free
    /// at once, so the next call finds the next person.
    pub(crate) fn first_free(
        &self,
        agency: Option<&AgencyId>,
        fits: impl Fn(&Staff) -> bool,
        skip: &BTreeSet<StaffId>,
    ) -> Option<StaffId> {
        let pool = self.staff.pool(agency)?;
        pool.free()
            .find(|id| !skip.contains(*id) && fits(&self.staff[id]))
            .cloned()
    }
}
