//! Calls in progress as the shell saves them, and back again after a restart.

use super::*;

impl Router {
    /// The call as it is to be saved; none if it is over.
    pub(crate) fn call_record(&self, id: &CallId) -> Option<CallRecord> {
        let call = self.calls.get(id)?;
        let visit = self.visits.get(&call.visit)?;
        Some(CallRecord {
            call: call.id.clone(),
            visit: visit.id.clone(),
            kiosk: visit.kiosk.clone(),
            site_name: visit.site_name.clone(),
            booking: visit.booking,
            segment: visit.segment.clone(),
            owner: call.owner.clone(),
            participants: call
                .participants
                .iter()
                .map(|p| ParticipantRecord {
                    staff: p.clone(),
                    agency: self.staff.get(p).and_then(|s| s.profile.agency().cloned()),
                    interprets: call.interprets.get(p).cloned(),
                })
                .collect(),
            invites: call
                .invites
                .iter()
                .map(|i| InviteRecord {
                    invited_by: i.invited_by.clone(),
                    target: i.target.clone(),
                    transfer_to: i.transfer_to.clone(),
                    deadline: i.deadline,
                })
                .collect(),
        })
    }

    /// Brings back a call saved before a restart. Its kiosk and people are away until they
    /// reconnect, each with the grace time to do so, as after a dropped connection; the
    /// call goes on as it was, nobody is offered its visit again.
    pub fn restore_call(&mut self, record: CallRecord, now: Millis) -> Result<(), RoutingError> {
        if self.visits.contains_key(&record.visit) || self.calls.contains_key(&record.call) {
            return Err(RoutingError::new(
                ErrorCode::Conflict,
                format!("call {} or its visit is already here", record.call),
            ));
        }
        if let Some(busy) = record.participants.iter().find(|p| {
            self.staff
                .get(&p.staff)
                .is_some_and(|s| s.call.is_some() || s.online)
        }) {
            return Err(RoutingError::new(
                ErrorCode::Conflict,
                format!("{} is in another call", busy.staff),
            ));
        }
        let grace = self.config.reconnect_grace_ms;
        for p in &record.participants {
            let kind = match &p.agency {
                Some(agency) => StaffKind::Officer {
                    agency: agency.clone(),
                },
                None => StaffKind::Interpreter {
                    serves: BTreeSet::new(),
                },
            };
            // Languages and skills come back with the desk; until then nobody is offered
            // anything, being in a call.
            let profile = StaffProfile {
                id: p.staff.clone(),
                kind,
                languages: BTreeSet::new(),
                skills: BTreeSet::new(),
            };
            let mut staff = Staff::new(profile, now);
            staff.status = nara_protocol::desk::StaffStatus::InCall;
            staff.online = false;
            staff.call = Some(record.call.clone());
            staff.offline_deadline = Some(now + grace);
            self.add_staff(staff);
            self.staff_timed.insert(p.staff.clone());
        }
        self.visits_timed.insert(record.visit.clone());
        if !record.invites.is_empty() {
            self.calls_inviting.insert(record.call.clone());
        }
        self.visits.insert(
            record.visit.clone(),
            Visit {
                id: record.visit.clone(),
                kiosk: record.kiosk.clone(),
                site_name: record.site_name,
                booking: record.booking,
                segment: record.segment,
                state: VisitState::InCall {
                    call: record.call.clone(),
                },
                kiosk_online: false,
                gone_deadline: Some(now + grace),
                announced: None,
            },
        );
        self.calls.insert(
            record.call.clone(),
            Call {
                id: record.call,
                visit: record.visit,
                kiosk: record.kiosk,
                owner: record.owner,
                interprets: record
                    .participants
                    .iter()
                    .filter_map(|p| Some((p.staff.clone(), p.interprets.clone()?)))
                    .collect(),
                participants: record.participants.into_iter().map(|p| p.staff).collect(),
                invites: record
                    .invites
                    .into_iter()
                    .map(|i| Invite {
                        invited_by: i.invited_by,
                        target: i.target,
                        transfer_to: i.transfer_to,
                        offer: None,
                        tried: BTreeMap::new(),
                        deadline: i.deadline,
                    })
                    .collect(),
            },
        );
        Ok(())
    }
}
