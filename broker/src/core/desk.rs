//! A desk's side of the core: officers and interpreters connect, set their status, answer,
//! invite, transfer, leave and end; administrators only watch. Signalling between the peers
//! of a call is relayed here too, for kiosks as for desks.

use super::{ConnectionId, Core, DeskHello, DeskLink, Person, Refusal};
use crate::routing::{Event, QueueKey, RoutingError};
use nara_protocol::desk::{BrokerToDesk, DeskToBroker, InviteTarget, StaffStatus};
use nara_protocol::kiosk::BrokerToKiosk;
use nara_protocol::*;

impl Core {
    pub(super) fn desk_connected(&mut self, hello: DeskHello) {
        let DeskHello {
            connection,
            me,
            profile,
            ice_servers,
        } = hello;
        let staff = me.card.staff.clone();
        let desk = Some(DeskLink {
            connection,
            takes_calls: profile.is_some(),
        });
        self.people.insert(
            staff.clone(),
            Person {
                card: me.card.clone(),
                desk,
            },
        );
        let status = self
            .router
            .staff_status(&staff)
            .unwrap_or(StaffStatus::Away);
        self.send_desk(
            &staff,
            BrokerToDesk::Welcome {
                protocol_version: PROTOCOL_VERSION,
                me,
                status,
                ice_servers,
            },
        );
        let Some(profile) = profile else {
            return;
        };
        let agency = profile.agency().cloned();
        let _ = self.apply(Event::StaffOnline { profile });
        if let Some(agency) = agency {
            let queues = self.queue_views(&agency);
            self.send_desk(&staff, BrokerToDesk::Queues { queues });
        }
        // Back within the grace time, in a call: the desk hears of it to reconnect media.
        let call = self
            .router
            .calls()
            .find(|c| c.participants.contains(&staff))
            .map(|c| c.id.clone());
        if let Some(call) = call {
            self.send_call_started(&call, &staff);
        }
    }

    pub(super) fn desk_disconnected(&mut self, staff: &StaffId, connection: ConnectionId) {
        let Some(person) = self.people.get_mut(staff) else {
            return;
        };
        let Some(desk) = person.desk.filter(|d| d.connection == connection) else {
            return; // The same person opened the desk again elsewhere.
        };
        person.desk = None;
        if desk.takes_calls {
            let _ = self.apply(Event::StaffOffline {
                staff: staff.clone(),
            });
        }
    }

    pub(super) fn desk_said(&mut self, staff: &StaffId, message: DeskToBroker) {
        if let Err(refusal) = self.desk_request(staff, message) {
            self.refuse_desk(staff, refusal);
        }
    }

    fn desk_request(&mut self, staff: &StaffId, message: DeskToBroker) -> Result<(), Refusal> {
        let takes_calls = self.desk(staff).is_some_and(|d| d.takes_calls);
        let staff = staff.clone();
        match message {
            DeskToBroker::Hello { .. } => Err(Refusal::new(
                ErrorCode::Invalid,
                "hello was already received",
            )),
            _ if !takes_calls => Err(Refusal::new(
                ErrorCode::Forbidden,
                "administrators take no calls; log in as an officer or interpreter",
            )),
            DeskToBroker::SetStatus { status } => self.apply(Event::SetStatus { staff, status }),
            DeskToBroker::AcceptOffer { offer } => self.apply(Event::Accept { staff, offer }),
            DeskToBroker::DeclineOffer { offer } => self.apply(Event::Decline { staff, offer }),
            DeskToBroker::Signal { call, to, payload } => {
                self.relay(&call, Peer::Staff { staff }, to, payload)
            }
            // Documents go to officers only; an interpreter asking would have the citizen's
            // scanner point at them (M3 of the security review).
            DeskToBroker::RequestDocument { .. } if !self.is_officer(&staff) => Err(Refusal::new(
                ErrorCode::Forbidden,
                "only an officer in the call can ask for a document",
            )),
            DeskToBroker::RequestDocument { call } => {
                let kiosk = self.router.participant_call(&staff, &call)?.kiosk.clone();
                self.send_kiosk(&kiosk, BrokerToKiosk::DocumentRequested { call, by: staff });
                Ok(())
            }
            DeskToBroker::Invite { call, target } => {
                // A colleague is brought in only while their agency is open.
                if let InviteTarget::Officer { agency } = &target {
                    self.directory.admit(agency, self.now)?;
                }
                self.apply(Event::Invite {
                    staff,
                    call,
                    target,
                })
            }
            DeskToBroker::Transfer {
                call,
                agency,
                language,
                mode,
            } => {
                self.directory.admit(&agency, self.now)?;
                let to = QueueKey {
                    agency,
                    language,
                    topic: None,
                };
                self.apply(Event::Transfer {
                    staff,
                    call,
                    to,
                    mode,
                })
            }
            DeskToBroker::LeaveCall { call } => self.apply(Event::Leave { staff, call }),
            DeskToBroker::EndCall { call, outcome } => self.apply(Event::EndCall {
                staff,
                call,
                outcome,
            }),
            DeskToBroker::RefreshQueues => {
                // To the one who asked only: one desk asking often must not flood colleagues.
                if let Some(agency) = self.card(&staff).agency {
                    let queues = self.queue_views(&agency);
                    self.send_desk(&staff, BrokerToDesk::Queues { queues });
                }
                Ok(())
            }
        }
    }

    /// Relays signalling between two peers of the same call, or says why not. Someone whose
    /// desk rings for the call counts as a peer: the kiosk connects to them while it rings.
    pub(super) fn relay(
        &mut self,
        call: &CallId,
        from: Peer,
        to: Peer,
        payload: SignalPayload,
    ) -> Result<(), Refusal> {
        let peers = self
            .router
            .call_peers(call)
            .ok_or_else(|| RoutingError::call_gone(call))?;
        let member = |p: &Peer| match p {
            Peer::Kiosk { kiosk } => *kiosk == peers.kiosk,
            Peer::Staff { staff } => peers.staff.contains(staff),
        };
        if !member(&from) {
            return Err(Refusal::new(
                ErrorCode::CallGone,
                format!("you are not in call {call}"),
            ));
        }
        if !member(&to) || from == to {
            return Err(Refusal::new(
                ErrorCode::Forbidden,
                format!("the recipient is not another peer of call {call}"),
            ));
        }
        let online = match &to {
            Peer::Kiosk { kiosk } => self.kiosk_online(kiosk),
            Peer::Staff { staff } => self.desk_online(staff),
        };
        if !online {
            return Err(Refusal::new(
                ErrorCode::Conflict,
                "the recipient is not connected right now; retry after it reconnects",
            ));
        }
        match (from, to) {
            (Peer::Staff { staff }, Peer::Kiosk { kiosk }) => self.send_kiosk(
                &kiosk,
                BrokerToKiosk::Signal {
                    call: call.clone(),
                    from: staff,
                    payload,
                },
            ),
            (from, Peer::Staff { staff }) => self.send_desk(
                &staff,
                BrokerToDesk::Signal {
                    call: call.clone(),
                    from,
                    payload,
                },
            ),
            (Peer::Kiosk { .. }, Peer::Kiosk { .. }) => unreachable!("one kiosk per call"),
        }
        Ok(())
    }
}
