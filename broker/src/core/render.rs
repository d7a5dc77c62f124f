//! The routing core's commands as the messages people see, the writes storage keeps, and
//! the counts metrics show.

use super::{Core, Count, Output, Write};
use crate::routing::{Call, Command};
use crate::storage::SegmentRow;
use nara_protocol::desk::{BrokerToDesk, OfferPurpose};
use nara_protocol::kiosk::BrokerToKiosk;
use nara_protocol::*;

impl Core {
    pub(super) fn render(&mut self, command: Command) {
        let now = self.now;
        match command {
            Command::StaffStatus { staff, status } => {
                self.send_desk(&staff, BrokerToDesk::StatusChanged { status });
            }
            Command::Offer {
                offer,
                staff,
                visit,
                call,
                purpose,
                ring_ms,
            } => {
                let Some(v) = self.router.visit(&visit) else {
                    return;
                };
                let language = match &purpose {
                    OfferPurpose::Interpret { language } => language.clone(),
                    _ => v.segment.queue.language.clone(),
                };
                let kiosk = v.kiosk.clone();
                let in_call = self
                    .router
                    .call(&call)
                    .map(|c| c.participants.clone())
                    .unwrap_or_default();
                let message = BrokerToDesk::Offer {
                    offer,
                    visit: visit.clone(),
                    call: call.clone(),
                    in_call,
                    purpose,
                    language,
                    site_name: v.site_name.clone(),
                    booked: v.booking.is_some(),
                    ring_seconds: (ring_ms / 1000) as u32,
                };
                // The desk first: the kiosk's offer, which this sets off, finds it ringing.
                self.send_desk(&staff, message);
                self.send_kiosk(&kiosk, BrokerToKiosk::Ringing { visit, call, staff });
            }
            Command::OfferHeld { offer, staff } => {
                self.send_desk(&staff, BrokerToDesk::OfferHeld { offer });
            }
            Command::OfferWithdrawn {
                offer,
                staff,
                visit: _,
                kiosk,
                call,
                reason,
            } => {
                self.send_desk(&staff, BrokerToDesk::OfferWithdrawn { offer, reason });
                // Those in the call (an invitation) close the connection its desk made to theirs.
                let in_call = self
                    .router
                    .call(&call)
                    .map(|c| c.participants.clone())
                    .unwrap_or_default();
                for other in in_call.iter().filter(|p| **p != staff) {
                    let ended = BrokerToDesk::RingEnded {
                        call: call.clone(),
                        staff: staff.clone(),
                    };
                    self.send_desk(other, ended);
                }
                if let Some(kiosk) = kiosk {
                    self.send_kiosk(&kiosk, BrokerToKiosk::RingEnded { call, staff });
                }
            }
            Command::Queued {
                visit,
                queue,
                booked,
                estimate,
            } => {
                if let Some(kiosk) = self.router.visit(&visit).map(|v| v.kiosk.clone()) {
                    self.send_kiosk(
                        &kiosk,
                        BrokerToKiosk::Queued {
                            visit,
                            agency: queue.agency,
                            language: queue.language,
                            estimate,
                            booked,
                        },
                    );
                }
            }
            Command::CallStarted {
                call,
                visit,
                kiosk,
                staff,
            } => {
                self.outputs.push_back(Output::Count(Count::CallStarted));
                let card = self.card(&staff);
                self.send_kiosk(
                    &kiosk,
                    BrokerToKiosk::CallStarted {
                        visit: visit.clone(),
                        call: call.clone(),
                        officer: card.clone(),
                    },
                );
                // Alone in it as far as this command goes: whoever joins in the same event
                // (an interpreter rung with the officer) is told as joining, and offers to us.
                self.send_call_started_with(&call, &staff, std::slice::from_ref(&staff));
                self.audit(staff.as_str(), "answered", visit.as_str(), call.as_str());
            }
            Command::Joined { call, staff } => {
                let Some(info) = self.router.call(&call).cloned() else {
                    return;
                };
                let card = self.card_in(&staff, &info);
                self.send_kiosk(
                    &info.kiosk,
                    BrokerToKiosk::ParticipantJoined {
                        call: call.clone(),
                        participant: card.clone(),
                    },
                );
                for other in info.participants.iter().filter(|p| **p != staff) {
                    self.send_desk(
                        other,
                        BrokerToDesk::ParticipantJoined {
                            call: call.clone(),
                            participant: card.clone(),
                            owner: info.owner.clone(),
                        },
                    );
                }
                self.send_call_started(&call, &staff);
                self.audit(staff.as_str(), "joined", info.visit.as_str(), call.as_str());
            }
            Command::Left { call, staff } => {
                if let Some(info) = self.router.call(&call).cloned() {
                    self.send_kiosk(
                        &info.kiosk,
                        BrokerToKiosk::ParticipantLeft {
                            call: call.clone(),
                            staff: staff.clone(),
                        },
                    );
                    for other in &info.participants {
                        self.send_desk(
                            other,
                            BrokerToDesk::ParticipantLeft {
                                call: call.clone(),
                                staff: staff.clone(),
                            },
                        );
                    }
                }
                self.send_desk(
                    &staff,
                    BrokerToDesk::CallEnded {
                        call,
                        outcome: Outcome::Served,
                    },
                );
            }
            Command::CallEnded {
                call,
                kiosk,
                outcome,
                participants,
                ..
            } => {
                for staff in &participants {
                    self.send_desk(
                        staff,
                        BrokerToDesk::CallEnded {
                            call: call.clone(),
                            outcome,
                        },
                    );
                    self.send_kiosk(
                        &kiosk,
                        BrokerToKiosk::ParticipantLeft {
                            call: call.clone(),
                            staff: staff.clone(),
                        },
                    );
                }
            }
            Command::ResumeCall { visit, call } => {
                let Some(info) = self.router.call(&call).cloned() else {
                    return;
                };
                let owner = self.card(&info.owner);
                self.send_kiosk(
                    &info.kiosk,
                    BrokerToKiosk::CallStarted {
                        visit,
                        call: call.clone(),
                        officer: owner,
                    },
                );
                for other in info.participants.iter().filter(|p| **p != info.owner) {
                    self.send_kiosk(
                        &info.kiosk,
                        BrokerToKiosk::ParticipantJoined {
                            call: call.clone(),
                            participant: self.card_in(other, &info),
                        },
                    );
                }
            }
            Command::Transferred { visit, kiosk, to } => {
                self.send_kiosk(
                    &kiosk,
                    BrokerToKiosk::Transferred {
                        visit,
                        to_agency: to.agency,
                    },
                );
            }
            Command::InviteUnanswered {
                call,
                staff,
                target,
            } => {
                self.send_desk(&staff, BrokerToDesk::InviteUnanswered { call, target });
            }
            Command::VisitEnded {
                visit,
                kiosk,
                reason,
            } => {
                self.outputs
                    .push_back(Output::Count(Count::VisitEnded(reason)));
                if self.kiosk_visit.get(&kiosk) == Some(&visit) {
                    self.kiosk_visit.remove(&kiosk);
                }
                self.recently_ended
                    .remember(visit.clone(), kiosk.clone(), reason, now);
                self.send_kiosk(&kiosk, BrokerToKiosk::VisitEnded { visit, reason });
            }
            Command::QueuesChanged { agency } => self.queues_changed(&agency),
            Command::SaveWaiting { record } => self.write(Write::SaveWaiting(record)),
            Command::SaveCall { record } => self.write(Write::SaveCall(record)),
            Command::ForgetCall { call } => self.write(Write::ForgetCall(call)),
            Command::ForgetVisit { visit } => self.write(Write::ForgetWaiting(visit)),
            Command::SegmentClosed {
                visit,
                kiosk,
                segment,
            } => {
                let site = self
                    .directory
                    .kiosk(&kiosk)
                    .map(|k| k.site.to_string())
                    .unwrap_or_default();
                let outcome = serde_json::to_value(segment.outcome)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                self.write(Write::Segment(SegmentRow {
                    visit_id: visit.to_string(),
                    kiosk_id: kiosk.to_string(),
                    site_id: site,
                    agency: segment.segment.queue.agency.to_string(),
                    language: segment.segment.queue.language.to_string(),
                    queued_at: segment.segment.queued_at,
                    first_offered_at: segment.segment.first_offered_at,
                    answered_at: segment.segment.answered_at,
                    ended_at: segment.ended_at,
                    outcome,
                }));
            }
        }
    }

    /// Tells `staff` about the call they are now in, with everyone already there.
    pub(super) fn send_call_started(&mut self, call: &CallId, staff: &StaffId) {
        let Some(participants) = self.router.call(call).map(|c| c.participants.clone()) else {
            return;
        };
        self.send_call_started_with(call, staff, &participants);
    }

    /// Tells `staff` about the call they are now in, with `participants` in it.
    fn send_call_started_with(&mut self, call: &CallId, staff: &StaffId, participants: &[StaffId]) {
        let Some(info) = self.router.call(call) else {
            return;
        };
        let Some(visit) = self.router.visit(&info.visit) else {
            return;
        };
        let participants = participants.iter().map(|p| self.card_in(p, info)).collect();
        let message = BrokerToDesk::CallStarted {
            call: call.clone(),
            visit: info.visit.clone(),
            kiosk: info.kiosk.clone(),
            site_name: visit.site_name.clone(),
            language: visit.segment.queue.language.clone(),
            participants,
            owner: info.owner.clone(),
        };
        self.send_desk(staff, message);
    }

    /// `staff` as the people in `call` see them: an interpreter with the language they
    /// interpret there.
    fn card_in(&self, staff: &StaffId, call: &Call) -> StaffCard {
        StaffCard {
            interprets: call.interprets.get(staff).cloned(),
            ..self.card(staff)
        }
    }
}
