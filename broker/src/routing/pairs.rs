//! Visits that need an interpreter: no free officer of the agency speaks the citizen's
//! language, so an officer who speaks the working language and an interpreter for the
//! citizen's are rung together on one call, and the call starts when both have answered.
//! Whoever answers first is held ([`Command::OfferHeld`]) rather than put in a call with
//! nobody to talk to.
//!
//! A pair can lose a half: a decline, a ring that times out, a desk that goes. The next
//! dispatch mends it before anything else ([`Router::mend_pairs`]): another officer for a
//! waiting interpreter, or another interpreter for a waiting officer. With nobody to take
//! the place, an interpreter is let go (the visit waits on, first in line for the next
//! pair), while an officer who already answered starts the call and the interpreter is
//! invited into it, as an officer inviting one by hand would.

use super::calls::Joining;
use super::offers::{active_skips, OrderKey};
use super::*;
use nara_protocol::desk::InviteTarget;

/// What a waiting visit's offers are: which halves of a pair ring or are held.
struct Halves {
    officer: Option<OfferId>,
    interpreter: Option<OfferId>,
}

impl Router {
    fn halves(&self, visit: &VisitId) -> Option<Halves> {
        match &self.visits.get(visit)?.state {
            VisitState::Waiting(w) => Some(Halves {
                officer: w.offer.clone(),
                interpreter: w.interpreter.clone(),
            }),
            VisitState::InCall { .. } => None,
        }
    }

    /// Rings a free officer who speaks the working language and a free interpreter for the
    /// visit's language together, if both are free. Whether it did.
    pub(crate) fn offer_with_interpreter(
        &mut self,
        visit: &VisitId,
        skip: &BTreeSet<StaffId>,
        now: Millis,
        out: &mut Vec<Command>,
    ) -> bool {
        let Some(VisitState::Waiting(w)) = self.visits.get(visit).map(|v| &v.state) else {
            return false;
        };
        let queue = w.queue.clone();
        if queue.language.as_str() == WORKING_LANGUAGE {
            return false;
        }
        let officer = self.first_free(
            Some(&queue.agency),
            |s| s.profile.can_answer_through_interpreter(&queue),
            skip,
        );
        let Some(officer) = officer else {
            return false;
        };
        let interpreter = self.first_free(
            None,
            |s| s.profile.can_interpret(&queue.language, &queue.agency),
            skip,
        );
        let Some(interpreter) = interpreter else {
            return false;
        };
        let call = CallId::new(self.fresh_id("c")).expect("generated ids are valid");
        // The interpreter first: reserved before the officer's desk rings.
        let language = queue.language.clone();
        let kind = OfferKind::Interpret {
            call: call.clone(),
            language,
        };
        self.make_offer(interpreter, visit.clone(), kind, now, out);
        self.make_offer(officer, visit.clone(), OfferKind::Answer { call }, now, out);
        true
    }

    /// Finds a new other half for every pair that lost one since the last dispatch; see the
    /// module's comment.
    pub(crate) fn mend_pairs(&mut self, now: Millis, out: &mut Vec<Command>) {
        let broken: Vec<(OrderKey, VisitId)> = self
            .waiting_visits()
            .filter(|(_, w)| match (&w.offer, &w.interpreter) {
                (None, Some(_)) => true,
                // Held: the officer's languages changed while the interpreter rang.
                (Some(offer), None) => self.offers.get(offer).is_some_and(|o| {
                    o.held || needs_interpreter(&w.queue.language, &self.staff[&o.staff].profile)
                }),
                _ => false,
            })
            .map(|(v, w)| (self.order_key(v, w, now), v.id.clone()))
            .collect();
        let mut broken = broken;
        broken.sort_unstable();
        for (_, visit) in broken {
            let Some(VisitState::Waiting(w)) = self.visits.get(&visit).map(|v| &v.state) else {
                continue;
            };
            let queue = w.queue.clone();
            let skip = active_skips(&w.tried, now);
            match (w.offer.clone(), w.interpreter.clone()) {
                (None, Some(interpreting)) => {
                    let officer = self.first_free(
                        Some(&queue.agency),
                        |s| s.profile.can_answer_through_interpreter(&queue),
                        &skip,
                    );
                    match officer {
                        Some(officer) => {
                            let call = self.offers[&interpreting].call().clone();
                            let kind = OfferKind::Answer { call };
                            self.make_offer(officer, visit.clone(), kind, now, out);
                        }
                        None => self.withdraw_offer(
                            &interpreting,
                            OfferWithdrawnReason::PartnerGone,
                            now,
                            out,
                        ),
                    }
                }
                (Some(answering), None) => {
                    let offer = &self.offers[&answering];
                    let officer = &self.staff[&offer.staff].profile;
                    if !needs_interpreter(&queue.language, officer) {
                        self.start_alone(&answering, now, out);
                        continue;
                    }
                    let interpreter = self.first_free(
                        None,
                        |s| s.profile.can_interpret(&queue.language, &queue.agency),
                        &skip,
                    );
                    let offer = &self.offers[&answering];
                    match interpreter {
                        Some(interpreter) => {
                            let kind = OfferKind::Interpret {
                                call: offer.call().clone(),
                                language: queue.language.clone(),
                            };
                            self.make_offer(interpreter, visit.clone(), kind, now, out);
                        }
                        None if offer.held => self.start_alone(&answering, now, out),
                        None => {}
                    }
                }
                _ => {}
            }
        }
    }

    /// `staff` answers an offer to answer or interpret a waiting visit: the call starts, or
    /// (the other half of its pair still ringing) they are held until it does.
    pub(crate) fn accept_waiting(
        &mut self,
        staff: &StaffId,
        offer_id: &OfferId,
        now: Millis,
        out: &mut Vec<Command>,
    ) -> Result<(), RoutingError> {
        let offer = self.owned_offer(staff, offer_id)?;
        let kind = offer.kind.clone();
        let Some(halves) = self.halves(&offer.visit) else {
            return Err(RoutingError::offer_gone(offer_id));
        };
        let partner = match kind {
            OfferKind::Interpret { .. } => halves.officer.clone(),
            _ => halves.interpreter.clone(),
        };
        match partner {
            Some(partner) if self.offers[&partner].held => {
                let officer = halves.officer.expect("a pair has an officer's half");
                let interpreter = halves
                    .interpreter
                    .expect("a pair has an interpreter's half");
                self.start_pair(&officer, &interpreter, now, out);
            }
            Some(_) => {
                self.offers.get_mut(offer_id).expect("owned").held = true;
                out.push(Command::OfferHeld {
                    offer: offer_id.clone(),
                    staff: staff.clone(),
                });
            }
            None => match kind {
                OfferKind::Answer { .. } => self.start_alone(offer_id, now, out),
                // Mending lets an interpreter go once no officer can be found.
                _ => return Err(RoutingError::offer_gone(offer_id)),
            },
        }
        Ok(())
    }

    /// Takes an answered offer out of the open ones; its person is no longer offered it.
    fn take_offer(&mut self, offer_id: &OfferId) -> Offer {
        let offer = self.offers.remove(offer_id).expect("taken once");
        if let Some(mut staff) = self.staff.get_mut(&offer.staff) {
            staff.offer = None;
        }
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
        }
        offer
    }

    /// The officer's answer starts the call without an interpreter's: either none is needed,
    /// or none could be found, and one is invited into the call.
    fn start_alone(&mut self, offer_id: &OfferId, now: Millis, out: &mut Vec<Command>) {
        let offer = self.take_offer(offer_id);
        let call = offer.call().clone();
        self.ringing_calls.remove(&call);
        let language = self.visits[&offer.visit].segment.queue.language.clone();
        self.start_call(&offer.staff, &offer.visit, call.clone(), now, out);
        if needs_interpreter(&language, &self.staff[&offer.staff].profile) {
            self.open_invite(
                &call,
                &offer.staff,
                InviteTarget::Interpreter { language },
                now,
            );
        }
    }

    /// Both halves answered: the officer starts the call and the interpreter joins it at once.
    fn start_pair(
        &mut self,
        officer: &OfferId,
        interpreter: &OfferId,
        now: Millis,
        out: &mut Vec<Command>,
    ) {
        let answering = self.take_offer(officer);
        let interpreting = self.take_offer(interpreter);
        let call = answering.call().clone();
        self.ringing_calls.remove(&call);
        self.start_call(&answering.staff, &answering.visit, call.clone(), now, out);
        let joining = match interpreting.kind {
            OfferKind::Interpret { language, .. } => Joining::Interpreting(language),
            _ => Joining::Colleague,
        };
        self.join_call(&interpreting.staff, &call, interpreter, joining, now, out);
    }
}
