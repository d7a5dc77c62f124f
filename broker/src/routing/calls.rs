//! Calls: answering, inviting, transferring, leaving and ending.

use super::*;
use nara_protocol::desk::{InviteTarget, TransferMode};
use nara_protocol::LanguageCode;

/// How someone joins a call in progress.
pub(crate) enum Joining {
    /// A colleague of another agency, invited.
    Colleague,
    /// An interpreter of this language, invited or rung with the officer.
    Interpreting(LanguageCode),
    /// A warm transfer: they take the visit over into this queue.
    TakingOver(QueueKey),
}

impl Router {
    pub(crate) fn accept(
        &mut self,
        staff: &StaffId,
        offer_id: &OfferId,
        now: Millis,
        out: &mut Vec<Command>,
    ) -> Result<(), RoutingError> {
        let offer = self.owned_offer(staff, offer_id)?.clone();
        let OfferKind::Invite {
            call,
            transfer_to,
            target,
            ..
        } = offer.kind
        else {
            return self.accept_waiting(staff, offer_id, now, out);
        };
        self.offers.remove(offer_id);
        self.staff
            .get_mut(staff)
            .expect("offers are made to known staff")
            .offer = None;
        let joining = match (transfer_to, target) {
            (Some(queue), _) => Joining::TakingOver(queue),
            (None, InviteTarget::Interpreter { language }) => Joining::Interpreting(language),
            (None, InviteTarget::Officer { .. }) => Joining::Colleague,
        };
        self.join_call(staff, &call, offer_id, joining, now, out);
        Ok(())
    }

    pub(crate) fn start_call(
        &mut self,
        staff: &StaffId,
        visit_id: &VisitId,
        call: CallId,
        now: Millis,
        out: &mut Vec<Command>,
    ) {
        let visit = self
            .visits
            .get_mut(visit_id)
            .expect("open offers point at waiting visits");
        visit.segment.answered_at = Some(now);
        visit.segment.answered_by = Some(staff.clone());
        visit.state = VisitState::InCall { call: call.clone() };
        visit.announced = None;
        self.waiting.remove(visit_id);
        let kiosk = visit.kiosk.clone();
        let agency = visit.segment.queue.agency.clone();
        // Should the broker stop during the call, the visit comes back at the front of its queue.
        let mut record = visit_record_for_restart(visit);
        record.front = true;
        self.calls.insert(
            call.clone(),
            Call {
                id: call.clone(),
                visit: visit_id.clone(),
                kiosk: kiosk.clone(),
                owner: staff.clone(),
                participants: vec![staff.clone()],
                interprets: BTreeMap::new(),
                invites: Vec::new(),
            },
        );
        self.changed_calls.insert(call.clone());
        self.staff.get_mut(staff).expect("known").call = Some(call.clone());
        self.set_staff_status(staff, StaffStatus::InCall, now, out);
        out.push(Command::SaveWaiting { record });
        out.push(Command::CallStarted {
            call,
            visit: visit_id.clone(),
            kiosk,
            staff: staff.clone(),
        });
        push_queues_changed(out, &agency);
    }

    pub(crate) fn join_call(
        &mut self,
        staff: &StaffId,
        call_id: &CallId,
        offer_id: &OfferId,
        joining: Joining,
        now: Millis,
        out: &mut Vec<Command>,
    ) {
        let Some(call) = self.calls.get_mut(call_id) else {
            // The call ended while the offer rang; the offer went with it.
            self.set_staff_status(staff, StaffStatus::Available, now, out);
            return;
        };
        call.invites.retain(|i| i.offer.as_ref() != Some(offer_id));
        call.participants.push(staff.clone());
        self.changed_calls.insert(call_id.clone());
        let visit_id = call.visit.clone();
        if let Joining::Interpreting(language) = joining {
            call.interprets.insert(staff.clone(), language);
        } else if let Joining::TakingOver(queue) = joining {
            call.owner = staff.clone();
            let visit = self
                .visits
                .get_mut(&visit_id)
                .expect("calls belong to visits");
            let closed = visit.segment.closed(Outcome::Transferred, now);
            let mut segment = Segment::new(queue, now);
            segment.first_offered_at = Some(now);
            segment.answered_at = Some(now);
            segment.answered_by = Some(staff.clone());
            let old = std::mem::replace(&mut visit.segment, segment);
            push_queues_changed(out, &old.queue.agency);
            out.push(Command::SegmentClosed {
                visit: visit_id.clone(),
                kiosk: visit.kiosk.clone(),
                segment: closed,
            });
        }
        self.staff.get_mut(staff).expect("known").call = Some(call_id.clone());
        self.set_staff_status(staff, StaffStatus::InCall, now, out);
        out.push(Command::Joined {
            call: call_id.clone(),
            staff: staff.clone(),
        });
    }

    pub(crate) fn participant_call(
        &self,
        staff: &StaffId,
        call_id: &CallId,
    ) -> Result<&Call, RoutingError> {
        let call = self
            .calls
            .get(call_id)
            .ok_or_else(|| RoutingError::call_gone(call_id))?;
        if !call.participants.contains(staff) {
            return Err(RoutingError::new(
                ErrorCode::CallGone,
                format!("you are not in call {call_id}"),
            ));
        }
        Ok(call)
    }

    fn owned_call(
        &self,
        staff: &StaffId,
        call_id: &CallId,
        action: &str,
    ) -> Result<&Call, RoutingError> {
        let call = self.participant_call(staff, call_id)?;
        if &call.owner != staff {
            return Err(RoutingError::new(
                ErrorCode::NotOwner,
                format!("only the officer responsible for the call can {action}"),
            ));
        }
        Ok(call)
    }

    pub(crate) fn invite(
        &mut self,
        staff: &StaffId,
        call_id: &CallId,
        target: InviteTarget,
        now: Millis,
        _out: &mut Vec<Command>,
    ) -> Result<(), RoutingError> {
        // Only the officer responsible brings people in (M3 of the security review: an
        // interpreter could invite an officer of any agency).
        let call = self.owned_call(staff, call_id, "invite someone")?;
        if call.invites.iter().any(|i| i.target == target) {
            return Err(RoutingError::new(
                ErrorCode::AlreadyInvited,
                "that invitation is already looking for someone",
            ));
        }
        self.open_invite(call_id, staff, target, now);
        Ok(())
    }

    /// `staff` invites `target` into `call`: someone is looked for at every dispatch until
    /// the invitation times out.
    pub(crate) fn open_invite(
        &mut self,
        call_id: &CallId,
        staff: &StaffId,
        target: InviteTarget,
        now: Millis,
    ) {
        let deadline = now + self.config.invite_timeout_ms;
        self.changed_calls.insert(call_id.clone());
        let call = self.calls.get_mut(call_id).expect("the caller checked");
        self.calls_inviting.insert(call_id.clone());
        call.invites.push(Invite {
            invited_by: staff.clone(),
            target,
            transfer_to: None,
            offer: None,
            tried: BTreeMap::new(),
            deadline,
        });
    }

    pub(crate) fn transfer(
        &mut self,
        staff: &StaffId,
        call_id: &CallId,
        to: QueueKey,
        mode: TransferMode,
        now: Millis,
        out: &mut Vec<Command>,
    ) -> Result<(), RoutingError> {
        let call = self.owned_call(staff, call_id, "transfer it")?;
        let visit_id = call.visit.clone();
        if self.visits[&visit_id].segment.queue == to {
            return Err(RoutingError::new(
                ErrorCode::SameQueue,
                "the visit is already in that queue",
            ));
        }
        match mode {
            TransferMode::Warm => {
                let deadline = now + self.config.invite_timeout_ms;
                self.changed_calls.insert(call_id.clone());
                let call = self.calls.get_mut(call_id).expect("checked above");
                if call.invites.iter().any(|i| i.transfer_to.is_some()) {
                    return Err(RoutingError::new(
                        ErrorCode::TransferUnderway,
                        "a transfer is already under way",
                    ));
                }
                self.calls_inviting.insert(call_id.clone());
                call.invites.push(Invite {
                    invited_by: staff.clone(),
                    target: InviteTarget::Officer {
                        agency: to.agency.clone(),
                    },
                    transfer_to: Some(to),
                    offer: None,
                    tried: BTreeMap::new(),
                    deadline,
                });
            }
            TransferMode::Cold => {
                self.close_call(call_id, Outcome::Transferred, now, out);
                self.requeue(&visit_id, to, Outcome::Transferred, now, out);
            }
        }
        Ok(())
    }

    /// Puts a visit from a call back in a queue, ahead of new arrivals.
    fn requeue(
        &mut self,
        visit_id: &VisitId,
        to: QueueKey,
        outcome: Outcome,
        now: Millis,
        out: &mut Vec<Command>,
    ) {
        self.next_seq += 1;
        let seq = self.next_seq;
        let visit = self
            .visits
            .get_mut(visit_id)
            .expect("calls belong to visits");
        let closed = visit.segment.closed(outcome, now);
        visit.segment = Segment::new(to.clone(), now);
        visit.state = VisitState::Waiting(Waiting {
            queue: to.clone(),
            sort_time: now,
            seq,
            front: true,
            offer: None,
            interpreter: None,
            tried: BTreeMap::new(),
        });
        visit.announced = None;
        self.waiting.insert(visit_id.clone());
        let kiosk = visit.kiosk.clone();
        let record = visit.waiting_record().expect("just made waiting");
        out.push(Command::SegmentClosed {
            visit: visit_id.clone(),
            kiosk: kiosk.clone(),
            segment: closed,
        });
        if outcome == Outcome::Transferred {
            out.push(Command::Transferred {
                visit: visit_id.clone(),
                kiosk,
                to: to.clone(),
            });
        }
        out.push(Command::SaveWaiting { record });
        push_queues_changed(out, &to.agency);
    }

    pub(crate) fn leave(
        &mut self,
        staff: &StaffId,
        call_id: &CallId,
        now: Millis,
        out: &mut Vec<Command>,
    ) -> Result<(), RoutingError> {
        let call = self.participant_call(staff, call_id)?;
        if &call.owner == staff {
            return Err(RoutingError::new(
                ErrorCode::OwnerCannotLeave,
                "you are responsible for this call: end it or transfer it instead",
            ));
        }
        self.remove_participant(staff, call_id, now, out);
        Ok(())
    }

    fn remove_participant(
        &mut self,
        staff: &StaffId,
        call_id: &CallId,
        now: Millis,
        out: &mut Vec<Command>,
    ) {
        self.changed_calls.insert(call_id.clone());
        let call = self.calls.get_mut(call_id).expect("caller checked");
        call.participants.retain(|p| p != staff);
        call.interprets.remove(staff);
        let invites: Vec<OfferId> = call
            .invites
            .iter()
            .filter(|i| &i.invited_by == staff)
            .filter_map(|i| i.offer.clone())
            .collect();
        call.invites.retain(|i| &i.invited_by != staff);
        for offer in invites {
            self.withdraw_offer(&offer, OfferWithdrawnReason::VisitGone, now, out);
        }
        self.release_staff(staff, now, out);
        out.push(Command::Left {
            call: call_id.clone(),
            staff: staff.clone(),
        });
    }

    /// After a call: wrap-up for those still here, forgotten for those who left for good.
    fn release_staff(&mut self, staff: &StaffId, now: Millis, out: &mut Vec<Command>) {
        let Some(mut s) = self.staff.get_mut(staff) else {
            return;
        };
        s.call = None;
        let online = s.online;
        drop(s);
        if online {
            self.set_staff_status(staff, StaffStatus::WrapUp, now, out);
            self.queues_changed_for_staff(staff, out);
        } else {
            self.remove_staff(staff);
        }
    }

    pub(crate) fn end_call(
        &mut self,
        staff: &StaffId,
        call_id: &CallId,
        outcome: Outcome,
        now: Millis,
        out: &mut Vec<Command>,
    ) -> Result<(), RoutingError> {
        let visit = self
            .owned_call(staff, call_id, "end it for everyone")?
            .visit
            .clone();
        if matches!(
            outcome,
            Outcome::Transferred | Outcome::Abandoned | Outcome::EndedByCitizen
        ) {
            return Err(RoutingError::new(
                ErrorCode::Invalid,
                format!(
                    "{outcome:?} is not an outcome an officer can end a call with; use transfer"
                ),
            ));
        }
        self.close_call(call_id, outcome, now, out);
        self.finish_visit(&visit, outcome, VisitEndReason::Completed, now, out);
        Ok(())
    }

    /// Ends a call for everyone in it. The visit's fate is the caller's business.
    pub(crate) fn close_call(
        &mut self,
        call_id: &CallId,
        outcome: Outcome,
        now: Millis,
        out: &mut Vec<Command>,
    ) {
        let Some(call) = self.calls.get(call_id).cloned() else {
            return;
        };
        for offer in call.invites.iter().filter_map(|i| i.offer.clone()) {
            self.withdraw_offer(&offer, OfferWithdrawnReason::VisitGone, now, out);
        }
        self.calls.remove(call_id);
        self.changed_calls.insert(call_id.clone());
        if let Some(visit) = self.visits.get(&call.visit) {
            if let (Some(answered), Some(agency)) =
                (visit.segment.answered_at, Some(&visit.segment.queue.agency))
            {
                let took = now.saturating_sub(answered);
                self.handling.record(agency, took);
                let interpreted = call
                    .participants
                    .iter()
                    .any(|p| (self.staff.get(p)).is_some_and(|s| s.profile.agency().is_none()));
                if interpreted {
                    let language = &visit.segment.queue.language;
                    self.handling.record_interpreted(language, took);
                }
                push_queues_changed(out, agency);
            }
        }
        for staff in &call.participants {
            self.release_staff(staff, now, out);
        }
        out.push(Command::CallEnded {
            call: call.id,
            visit: call.visit,
            kiosk: call.kiosk,
            outcome,
            participants: call.participants,
        });
    }

    /// A desk gone longer than the grace time. Its call goes on without it if it can; if the
    /// officer responsible is gone and no colleague is in the call, the visit goes back to the
    /// front of its queue rather than being lost.
    pub(crate) fn staff_lost(&mut self, staff: &StaffId, now: Millis, out: &mut Vec<Command>) {
        let Some(call_id) = self.staff.get(staff).and_then(|s| s.call.clone()) else {
            self.queues_changed_for_staff(staff, out);
            self.remove_staff(staff);
            return;
        };
        let call = self.calls[&call_id].clone();
        if &call.owner != staff {
            self.remove_participant(staff, &call_id, now, out);
            return;
        }
        let colleague = call.participants.iter().find(|p| {
            *p != staff
                && self
                    .staff
                    .get(p)
                    .is_some_and(|s| s.profile.agency().is_some())
        });
        match colleague {
            Some(next) => {
                let next = next.clone();
                self.calls.get_mut(&call_id).expect("exists").owner = next;
                self.changed_calls.insert(call_id.clone());
                self.remove_participant(staff, &call_id, now, out);
            }
            None => {
                let queue = self.visits[&call.visit].segment.queue.clone();
                self.close_call(&call_id, Outcome::Failed, now, out);
                self.requeue(&call.visit, queue, Outcome::Failed, now, out);
            }
        }
    }

    pub(crate) fn expire_invites(&mut self, now: Millis, out: &mut Vec<Command>) {
        let due: Vec<(CallId, usize)> = self
            .calls
            .values()
            .flat_map(|c| {
                c.invites
                    .iter()
                    .enumerate()
                    .filter(|(_, i)| i.deadline <= now)
                    .map(|(n, _)| (c.id.clone(), n))
            })
            .collect();
        for (call_id, index) in due.into_iter().rev() {
            self.changed_calls.insert(call_id.clone());
            let invite = self
                .calls
                .get_mut(&call_id)
                .expect("listed")
                .invites
                .remove(index);
            if let Some(offer) = &invite.offer {
                self.withdraw_offer(offer, OfferWithdrawnReason::TimedOut, now, out);
            }
            out.push(Command::InviteUnanswered {
                call: call_id,
                staff: invite.invited_by,
                target: invite.target,
            });
        }
    }
}

fn visit_record_for_restart(visit: &Visit) -> WaitingRecord {
    WaitingRecord {
        visit: visit.id.clone(),
        kiosk: visit.kiosk.clone(),
        site_name: visit.site_name.clone(),
        queue: visit.segment.queue.clone(),
        booking: visit.booking,
        queued_at: visit.segment.queued_at,
        front: false,
    }
}
