//! The routing engine: queues, offers, ring timeouts, calls, invites, transfers, bookings and
//! wait estimates — as a state machine without I/O.
//!
//! Feed it [`Event`]s with an explicit `now`; it returns [`Command`]s for the shell to carry
//! out (send a message, persist a visit, record statistics). Timeouts fire from
//! [`Event::Tick`]; [`Router::next_deadline`] says when the next one is due. Nothing here
//! reads a clock or a socket, so the property tests drive it with fake time.
//!
//! - [`offers`]: who is offered which visit, ring timeouts, declines.
//! - `pairs`: visits that need an interpreter, rung to an officer and an interpreter
//!   together.
//! - [`calls`]: accepting, inviting, transferring, leaving, ending.
//! - [`estimate`]: honest wait estimates from recent handling times.
//! - `restore`: calls in progress as saved, and back after a restart.
//! - `timeouts`: what is due when, and firing it.
//! - `indexes`: the waiting visits, and the checks of every index for the property tests.
//! - `views`: what the shell reads of the state: queues, people, calls, who may signal.
//! - `people`: everyone by id and by agency, with who is free and who can take what kept up
//!   to date as they change, so that an event costs in proportion to what it touches.

mod calls;
pub mod estimate;
mod indexes;
mod offers;
mod pairs;
mod people;
mod restore;
mod timeouts;
mod types;
mod views;

pub use types::*;

use nara_protocol::desk::{AvailabilityChoice, OfferWithdrawnReason, StaffStatus};
use nara_protocol::kiosk::VisitEndReason;
use nara_protocol::{AgencyId, CallId, ErrorCode, OfferId, Outcome, StaffId, VisitId};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// Waiting citizens are told changes of their positions at most this often.
pub const ANNOUNCE_EVERY_MS: Millis = 1000;

/// The whole routing state. Cheap to clone for tests.
#[derive(Debug, Clone)]
pub struct Router {
    pub(crate) config: RoutingConfig,
    /// Everyone online or in a grace time, by id and by agency (`None`: interpreters).
    pub(crate) staff: people::People,
    /// Everyone given an offline or wrap-up deadline since the last timeouts fired (a
    /// superset of those who have one now). Deadlines are looked for after every event;
    /// walking all staff for them cost each event time in proportion to everyone logged in.
    pub(crate) staff_timed: BTreeSet<StaffId>,
    pub(crate) visits: BTreeMap<VisitId, Visit>,
    /// The visits now waiting; the rest of `visits` are in calls. Most events look at the
    /// waiting ones only, and a busy day has thousands of calls.
    pub(crate) waiting: BTreeSet<VisitId>,
    /// Visits given a reconnect deadline, and calls given invitations, since the last
    /// timeouts fired: supersets, as `staff_timed` is, for the same reason.
    pub(crate) visits_timed: BTreeSet<VisitId>,
    pub(crate) calls_inviting: BTreeSet<CallId>,
    pub(crate) offers: BTreeMap<OfferId, Offer>,
    /// The calls that answering a ringing offer would start, and the waiting visit they are
    /// for: signalling on them is relayed before the call exists.
    pub(crate) ringing_calls: BTreeMap<CallId, VisitId>,
    pub(crate) calls: BTreeMap<CallId, Call>,
    pub(crate) handling: estimate::HandlingTimes,
    id_prefix: String,
    next_id: u64,
    /// Enqueue order breaks ties between visits with the same sort time.
    next_seq: u64,
    /// When positions were last announced; booked visits that came due since then move up.
    pub(crate) announced_at: Millis,
    /// Agencies whose waiting citizens are told their positions again at `announce_at`.
    pub(crate) announce_due: BTreeSet<AgencyId>,
    pub(crate) announce_at: Option<Millis>,
    /// Calls begun, changed or ended by the event being handled, to be saved or forgotten.
    pub(crate) changed_calls: BTreeSet<CallId>,
}

impl Router {
    /// `id_prefix` makes offer and call ids unique across broker restarts.
    pub fn new(config: RoutingConfig, id_prefix: &str) -> Self {
        Router {
            config,
            staff: people::People::default(),
            staff_timed: BTreeSet::new(),
            visits: BTreeMap::new(),
            waiting: BTreeSet::new(),
            visits_timed: BTreeSet::new(),
            calls_inviting: BTreeSet::new(),
            offers: BTreeMap::new(),
            ringing_calls: BTreeMap::new(),
            calls: BTreeMap::new(),
            handling: estimate::HandlingTimes::default(),
            id_prefix: id_prefix.to_string(),
            next_id: 0,
            next_seq: 0,
            announced_at: 0,
            announce_due: BTreeSet::new(),
            announce_at: None,
            changed_calls: BTreeSet::new(),
        }
    }

    pub fn config(&self) -> &RoutingConfig {
        &self.config
    }

    pub(crate) fn fresh_id(&mut self, kind: &str) -> String {
        self.next_id += 1;
        format!("{kind}-{}-{}", self.id_prefix, self.next_id)
    }

    /// Applies one event. On `Err` nothing changed.
    pub fn handle(&mut self, event: Event, now: Millis) -> Result<Vec<Command>, RoutingError> {
        let mut out = Vec::new();
        match event {
            Event::StaffOnline { profile } => self.staff_online(profile, now, &mut out),
            Event::StaffOffline { staff } => self.staff_offline(&staff, now, &mut out)?,
            Event::ProfileChanged { profile } => self.profile_changed(profile, &mut out),
            Event::SetStatus { staff, status } => self.set_status(&staff, status, now, &mut out)?,
            Event::Enqueue { spec } => self.enqueue(spec, now, &mut out)?,
            Event::KioskDisconnected { visit } => self.kiosk_disconnected(&visit, now, &mut out)?,
            Event::KioskReconnected { visit } => self.kiosk_reconnected(&visit, now, &mut out)?,
            Event::CitizenLeft { visit } => self.citizen_left(&visit, now, &mut out)?,
            Event::Accept { staff, offer } => self.accept(&staff, &offer, now, &mut out)?,
            Event::Decline { staff, offer } => self.decline(&staff, &offer, now, &mut out)?,
            Event::Invite {
                staff,
                call,
                target,
            } => self.invite(&staff, &call, target, now, &mut out)?,
            Event::Transfer {
                staff,
                call,
                to,
                mode,
            } => self.transfer(&staff, &call, to, mode, now, &mut out)?,
            Event::Leave { staff, call } => self.leave(&staff, &call, now, &mut out)?,
            Event::EndCall {
                staff,
                call,
                outcome,
            } => self.end_call(&staff, &call, outcome, now, &mut out)?,
            Event::QueuesClosed { agencies } => self.queues_closed(&agencies, now, &mut out),
            Event::Tick => self.fire_timeouts(now, &mut out),
        }
        self.dispatch(now, &mut out);
        self.announce_positions(now, &mut out);
        // Saved before anything is said of them: what a client is told survives a restart.
        let saves: Vec<Command> = std::mem::take(&mut self.changed_calls)
            .into_iter()
            .map(|call| match self.call_record(&call) {
                Some(record) => Command::SaveCall { record },
                None => Command::ForgetCall { call },
            })
            .collect();
        if !saves.is_empty() {
            out.splice(0..0, saves);
        }
        Ok(out)
    }

    // ---- staff ----

    fn staff_online(&mut self, profile: StaffProfile, now: Millis, out: &mut Vec<Command>) {
        let id = profile.id.clone();
        match self.staff.get(&id) {
            Some(existing) => {
                // A reconnect within the grace time keeps the call and status; an
                // administrator may have moved them to another agency meanwhile.
                if existing.profile != profile {
                    // The agency they leave, if any, counts them no more.
                    if let Some(before) = existing.profile.agency() {
                        push_queues_changed(out, before);
                    }
                    self.staff.set_profile(&id, profile);
                }
                let mut existing = self.staff.get_mut(&id).expect("just put back");
                existing.online = true;
                existing.offline_deadline = None;
            }
            None => self.add_staff(Staff::new(profile, now)),
        }
        let status = self.staff[&id].status;
        out.push(Command::StaffStatus {
            staff: id.clone(),
            status,
        });
        self.queues_changed_for_staff(&id, out);
    }

    fn profile_changed(&mut self, profile: StaffProfile, out: &mut Vec<Command>) {
        let id = profile.id.clone();
        if self.staff.get(&id).is_none() {
            return;
        }
        // The queues they counted towards, and those they count towards now.
        self.queues_changed_for_staff(&id, out);
        self.staff.set_profile(&id, profile);
        self.queues_changed_for_staff(&id, out);
    }

    fn staff_offline(
        &mut self,
        id: &StaffId,
        now: Millis,
        out: &mut Vec<Command>,
    ) -> Result<(), RoutingError> {
        let grace = self.config.reconnect_grace_ms;
        let mut staff = self
            .staff
            .get_mut(id)
            .ok_or_else(|| RoutingError::not_found("staff", id))?;
        staff.online = false;
        let offer = staff.offer.clone();
        drop(staff);
        // Whoever goes offline no longer counts towards the estimates of their queues.
        self.queues_changed_for_staff(id, out);
        if let Some(offer) = offer {
            self.withdraw_offer(&offer, OfferWithdrawnReason::VisitGone, now, out);
        }
        let mut staff = self.staff.get_mut(id).expect("checked above");
        if staff.call.is_some() {
            staff.offline_deadline = Some(now + grace);
            drop(staff);
            self.staff_timed.insert(id.clone());
        } else {
            drop(staff);
            self.remove_staff(id);
        }
        Ok(())
    }

    fn set_status(
        &mut self,
        id: &StaffId,
        choice: AvailabilityChoice,
        now: Millis,
        out: &mut Vec<Command>,
    ) -> Result<(), RoutingError> {
        let mut staff = self
            .staff
            .get_mut(id)
            .ok_or_else(|| RoutingError::not_found("staff", id))?;
        if staff.call.is_some() {
            return Err(RoutingError::new(
                ErrorCode::InCall,
                "you are in a call; end or leave it before changing status",
            ));
        }
        let offer = staff.offer.clone();
        if offer.is_some() && choice == AvailabilityChoice::Available {
            // Already ringing: being "available" again changes nothing.
            out.push(Command::StaffStatus {
                staff: id.clone(),
                status: staff.status,
            });
            return Ok(());
        }
        staff.wrap_up_deadline = None;
        if choice == AvailabilityChoice::Available && staff.status != StaffStatus::Available {
            staff.idle_since = now;
        }
        staff.status = match choice {
            AvailabilityChoice::Available => StaffStatus::Available,
            AvailabilityChoice::Away => StaffStatus::Away,
            AvailabilityChoice::WrapUp => StaffStatus::WrapUp,
        };
        let status = staff.status;
        drop(staff);
        if let (Some(offer), false) = (offer, choice == AvailabilityChoice::Available) {
            self.withdraw_offer(&offer, OfferWithdrawnReason::Declined, now, out);
        }
        out.push(Command::StaffStatus {
            staff: id.clone(),
            status,
        });
        self.queues_changed_for_staff(id, out);
        Ok(())
    }

    pub(crate) fn set_staff_status(
        &mut self,
        id: &StaffId,
        status: StaffStatus,
        now: Millis,
        out: &mut Vec<Command>,
    ) {
        if let Some(mut staff) = self.staff.get_mut(id) {
            if staff.status != status {
                staff.status = status;
                if status == StaffStatus::Available {
                    staff.idle_since = now;
                }
                staff.wrap_up_deadline = match status {
                    StaffStatus::WrapUp => Some(now + self.config.wrap_up_ms),
                    _ => None,
                };
                if staff.wrap_up_deadline.is_some() {
                    self.staff_timed.insert(id.clone());
                }
                out.push(Command::StaffStatus {
                    staff: id.clone(),
                    status,
                });
            }
        }
    }

    /// The queues `id` counts towards changed: their agency's, or (an interpreter) those
    /// of every agency with a visit waiting in a language they interpret.
    pub(crate) fn queues_changed_for_staff(&self, id: &StaffId, out: &mut Vec<Command>) {
        for agency in self.agencies_counting(id) {
            push_queues_changed(out, &agency);
        }
    }

    /// The agencies whose estimates count `id`: see [`Router::queues_changed_for_staff`].
    pub(crate) fn agencies_counting(&self, id: &StaffId) -> Vec<AgencyId> {
        let Some(staff) = self.staff.get(id) else {
            return Vec::new();
        };
        match &staff.profile.kind {
            StaffKind::Officer { agency } => vec![agency.clone()],
            StaffKind::Interpreter { .. } => {
                let interpreted = self.waiting_visits().map(|(_, w)| &w.queue).filter(|q| {
                    q.language.as_str() != WORKING_LANGUAGE
                        && staff.profile.can_interpret(&q.language, &q.agency)
                });
                let agencies: BTreeSet<&AgencyId> = interpreted.map(|q| &q.agency).collect();
                agencies.into_iter().cloned().collect()
            }
        }
    }

    /// Stops whatever rings for a waiting visit: its officer's offer and its interpreter's.
    fn withdraw_visit_offers(&mut self, id: &VisitId, now: Millis, out: &mut Vec<Command>) {
        let Some(VisitState::Waiting(w)) = self.visits.get(id).map(|v| &v.state) else {
            return;
        };
        let halves = [w.offer.clone(), w.interpreter.clone()];
        for offer in halves.into_iter().flatten() {
            self.withdraw_offer(&offer, OfferWithdrawnReason::VisitGone, now, out);
        }
    }

    // ---- visits ----

    fn enqueue(
        &mut self,
        spec: VisitSpec,
        now: Millis,
        out: &mut Vec<Command>,
    ) -> Result<(), RoutingError> {
        if self.visits.contains_key(&spec.visit) {
            return Err(RoutingError::new(
                ErrorCode::Conflict,
                format!("visit {} is already queued", spec.visit),
            ));
        }
        self.next_seq += 1;
        let agency = spec.queue.agency.clone();
        let visit = Visit {
            id: spec.visit.clone(),
            kiosk: spec.kiosk,
            site_name: spec.site_name,
            booking: spec.booking,
            segment: Segment::new(spec.queue.clone(), spec.queued_at.min(now)),
            state: VisitState::Waiting(Waiting {
                queue: spec.queue,
                sort_time: spec.queued_at.min(now),
                seq: self.next_seq,
                front: spec.front_of_queue,
                offer: None,
                interpreter: None,
                tried: BTreeMap::new(),
            }),
            kiosk_online: spec.kiosk_online,
            gone_deadline: if spec.kiosk_online {
                None
            } else {
                Some(now + self.config.reconnect_grace_ms)
            },
            announced: None,
        };
        out.push(Command::SaveWaiting {
            record: visit.waiting_record().expect("just made waiting"),
        });
        if visit.gone_deadline.is_some() {
            self.visits_timed.insert(spec.visit.clone());
        }
        self.waiting.insert(spec.visit.clone());
        self.visits.insert(spec.visit, visit);
        push_queues_changed(out, &agency);
        Ok(())
    }

    fn kiosk_disconnected(
        &mut self,
        id: &VisitId,
        now: Millis,
        out: &mut Vec<Command>,
    ) -> Result<(), RoutingError> {
        let grace = self.config.reconnect_grace_ms;
        let visit = self
            .visits
            .get_mut(id)
            .ok_or_else(|| RoutingError::not_found("visit", id))?;
        visit.kiosk_online = false;
        visit.gone_deadline = Some(now + grace);
        self.visits_timed.insert(id.clone());
        self.withdraw_visit_offers(id, now, out);
        Ok(())
    }

    fn kiosk_reconnected(
        &mut self,
        id: &VisitId,
        now: Millis,
        out: &mut Vec<Command>,
    ) -> Result<(), RoutingError> {
        let visit = self
            .visits
            .get_mut(id)
            .ok_or_else(|| RoutingError::not_found("visit", id))?;
        visit.kiosk_online = true;
        visit.gone_deadline = None;
        match &visit.state {
            // The next announcement tells the kiosk where it stands again.
            VisitState::Waiting(_) => visit.announced = None,
            VisitState::InCall { call } => out.push(Command::ResumeCall {
                visit: id.clone(),
                call: call.clone(),
            }),
        }
        let _ = now;
        Ok(())
    }

    fn citizen_left(
        &mut self,
        id: &VisitId,
        now: Millis,
        out: &mut Vec<Command>,
    ) -> Result<(), RoutingError> {
        let visit = self
            .visits
            .get(id)
            .ok_or_else(|| RoutingError::not_found("visit", id))?;
        match &visit.state {
            VisitState::Waiting(_) => {
                self.finish_visit(id, Outcome::Abandoned, VisitEndReason::LeftQueue, now, out)
            }
            VisitState::InCall { call } => {
                let call = call.clone();
                self.close_call(&call, Outcome::EndedByCitizen, now, out);
                let outcome = Outcome::EndedByCitizen;
                self.finish_visit(id, outcome, VisitEndReason::Completed, now, out);
            }
        }
        Ok(())
    }

    fn queues_closed(&mut self, agencies: &[AgencyId], now: Millis, out: &mut Vec<Command>) {
        let stranded: Vec<VisitId> = self
            .visits
            .values()
            .filter(|v| match &v.state {
                VisitState::Waiting(w) => agencies.contains(&w.queue.agency),
                VisitState::InCall { .. } => false,
            })
            .map(|v| v.id.clone())
            .collect();
        for visit in stranded {
            self.finish_visit(&visit, Outcome::Failed, VisitEndReason::NotServed, now, out);
        }
    }

    /// Ends a visit for good: closes its open segment, withdraws its offers, forgets it.
    pub(crate) fn finish_visit(
        &mut self,
        id: &VisitId,
        outcome: Outcome,
        reason: VisitEndReason,
        now: Millis,
        out: &mut Vec<Command>,
    ) {
        let Some(visit) = self.visits.get(id) else {
            return;
        };
        let agency = visit.segment.queue.agency.clone();
        self.withdraw_visit_offers(id, now, out);
        let visit = self.visits.remove(id).expect("checked above");
        self.waiting.remove(id);
        out.push(Command::SegmentClosed {
            visit: id.clone(),
            kiosk: visit.kiosk.clone(),
            segment: visit.segment.closed(outcome, now),
        });
        out.push(Command::VisitEnded {
            visit: id.clone(),
            kiosk: visit.kiosk,
            reason,
        });
        out.push(Command::ForgetVisit { visit: id.clone() });
        push_queues_changed(out, &agency);
    }
}

pub(crate) fn push_queues_changed(out: &mut Vec<Command>, agency: &AgencyId) {
    let already = out
        .iter()
        .any(|c| matches!(c, Command::QueuesChanged { agency: a } if a == agency));
    if !already {
        out.push(Command::QueuesChanged {
            agency: agency.clone(),
        });
    }
}

#[cfg(test)]
mod pair_scenarios;
#[cfg(test)]
mod properties;
#[cfg(test)]
mod scenarios;
#[cfg(test)]
pub(crate) mod test_support;
