//! The citizen's visit as the kiosk sees it: a state machine fed the broker's messages, the
//! citizen's actions and the link going up or down, returning what to do. No I/O here, so
//! every path (a drop mid-call, a resume, an officer leaving) is tested without sockets.

use nara_protocol::kiosk::{BrokerToKiosk, KioskToBroker, VisitEndReason};
use nara_protocol::{
    AgencyId, BookingCode, CallId, ErrorCode, ErrorReply, LanguageCode, LongText, RequestId,
    SignalPayload, StaffCard, StaffId, VisitId, WaitEstimate,
};
use serde::Serialize;
use std::collections::BTreeMap;

/// Where the visit stands, as the screen (or the headless API) shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "phase", rename_all = "camelCase")]
pub enum Phase {
    /// Nobody is using the kiosk.
    Idle,
    /// The citizen asked for a meeting; the broker has not placed it yet.
    #[serde(rename_all = "camelCase")]
    Asking { language: LanguageCode },
    /// The broker refused what the citizen asked for, or ended the wait, for the reason
    /// `code` gives (an agency closed, a booking code unknown or not for now); `agency` is the
    /// one asked for, when there was one.
    #[serde(rename_all = "camelCase")]
    Refused {
        code: ErrorCode,
        agency: Option<AgencyId>,
    },
    #[serde(rename_all = "camelCase")]
    Waiting {
        visit: VisitId,
        agency: AgencyId,
        language: LanguageCode,
        estimate: WaitEstimate,
        booked: bool,
    },
    #[serde(rename_all = "camelCase")]
    InCall {
        visit: VisitId,
        call: CallId,
        participants: Vec<StaffCard>,
    },
    /// The meeting is over; the kiosk asks for the survey.
    #[serde(rename_all = "camelCase")]
    Ended {
        visit: VisitId,
        reason: VisitEndReason,
        survey_answered: bool,
    },
    #[serde(rename_all = "camelCase")]
    OutOfService { message: LongText },
}

/// What the citizen did at the screen (or a test through the local API).
#[derive(Clone, Debug, PartialEq)]
pub enum CitizenAction {
    StartVisit {
        language: LanguageCode,
        agency: AgencyId,
    },
    CheckIn {
        code: BookingCode,
    },
    /// Leave the queue or end the meeting.
    Leave,
    Survey {
        score: u8,
    },
    /// Back to the attract screen (after goodbye or the idle timeout).
    Reset,
}

/// What the shell must do.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    Send(KioskToBroker),
    /// Send a request whose refusal, naming `id`, the visit waits for.
    Ask {
        id: RequestId,
        message: KioskToBroker,
    },
    /// This person's desk rings for the visit or the call: make a peer connection to them and
    /// offer to them now, sending nothing until they answer ([`Command::OpenPeer`]).
    PreparePeer {
        call: CallId,
        staff: StaffId,
    },
    /// This person is in the call: send to them, over the connection made while they were
    /// rung if there is one, else over a new one offered to them now.
    OpenPeer {
        call: CallId,
        staff: StaffCard,
    },
    ClosePeer {
        staff: StaffId,
    },
    /// The visit is over: close every peer and drop everything held for it.
    DropVisit,
    /// Hand signalling from the broker to the peer connection with `from` (in the call, or
    /// connecting while their desk rings).
    DeliverSignal {
        from: StaffId,
        payload: SignalPayload,
    },
    /// The officer asked for a document; the screen prompts the citizen.
    PromptDocument {
        by: StaffId,
    },
}

/// Why the citizen's action was not taken, said so that the screen can explain it.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum Refusal {
    #[error("the kiosk is out of service: {0}")]
    OutOfService(String),
    #[error("a visit is already in progress")]
    Busy,
    #[error("there is no visit to {0}")]
    NoVisit(&'static str),
    #[error("the survey score must be between 1 and 5, got {0}")]
    BadScore(u8),
}

#[derive(Debug)]
pub struct Visit {
    phase: Phase,
    /// The request the citizen is waiting on in [`Phase::Asking`], and for which agency.
    asking: Option<(RequestId, Option<AgencyId>)>,
    requests_made: u64,
    /// An administrator's out-of-service notice that arrived mid-visit: it waits for the
    /// visit to end rather than cutting the citizen off.
    pending_out_of_service: Option<LongText>,
    /// Desks ringing for this visit or its call, and the call each would answer or join:
    /// the kiosk is connecting to them.
    rings: BTreeMap<StaffId, CallId>,
}

impl Default for Visit {
    fn default() -> Self {
        Self::new()
    }
}

impl Visit {
    pub fn new() -> Self {
        Visit {
            phase: Phase::Idle,
            asking: None,
            requests_made: 0,
            pending_out_of_service: None,
            rings: BTreeMap::new(),
        }
    }

    pub fn phase(&self) -> &Phase {
        &self.phase
    }

    /// The visit to name in `hello` after a reconnect, so the broker resumes it.
    pub fn resumable(&self) -> Option<VisitId> {
        match &self.phase {
            Phase::Waiting { visit, .. } | Phase::InCall { visit, .. } => Some(visit.clone()),
            _ => None,
        }
    }

    pub fn call(&self) -> Option<&CallId> {
        match &self.phase {
            Phase::InCall { call, .. } => Some(call),
            _ => None,
        }
    }

    pub fn citizen(&mut self, action: CitizenAction) -> Result<Vec<Command>, Refusal> {
        let out = self.citizen_did(action)?;
        if out.contains(&Command::DropVisit) {
            self.rings.clear();
        }
        Ok(out)
    }

    fn citizen_did(&mut self, action: CitizenAction) -> Result<Vec<Command>, Refusal> {
        if let Phase::OutOfService { message } = &self.phase {
            return Err(Refusal::OutOfService(message.to_string()));
        }
        match action {
            CitizenAction::StartVisit { language, agency } => {
                self.must_be_free()?;
                self.phase = Phase::Asking {
                    language: language.clone(),
                };
                let message = KioskToBroker::StartVisit {
                    language,
                    agency: agency.clone(),
                    topic: None,
                };
                Ok(vec![self.ask(message, Some(agency))])
            }
            CitizenAction::CheckIn { code } => {
                self.must_be_free()?;
                // The booking names the language; until the broker answers, show Swedish.
                self.phase = Phase::Asking {
                    language: LanguageCode::new("sv").expect("a valid code"),
                };
                let message = KioskToBroker::CheckIn { booking_code: code };
                Ok(vec![self.ask(message, None)])
            }
            CitizenAction::Leave => match &self.phase {
                Phase::Waiting { visit, .. } | Phase::InCall { visit, .. } => {
                    let visit = visit.clone();
                    self.phase = Phase::Ended {
                        visit: visit.clone(),
                        reason: VisitEndReason::Completed,
                        survey_answered: false,
                    };
                    Ok(vec![
                        Command::DropVisit,
                        Command::Send(KioskToBroker::EndVisit { visit }),
                    ])
                }
                Phase::Asking { .. } => {
                    self.phase = Phase::Idle;
                    // A desk may already ring for the visit the broker is placing.
                    Ok(self.end_rings(|_| true))
                }
                _ => Err(Refusal::NoVisit("leave")),
            },
            CitizenAction::Survey { score } => {
                if !(1..=5).contains(&score) {
                    return Err(Refusal::BadScore(score));
                }
                match &mut self.phase {
                    Phase::Ended {
                        visit,
                        survey_answered,
                        ..
                    } if !*survey_answered => {
                        *survey_answered = true;
                        Ok(vec![Command::Send(KioskToBroker::Survey {
                            visit: visit.clone(),
                            score,
                        })])
                    }
                    _ => Err(Refusal::NoVisit("rate")),
                }
            }
            CitizenAction::Reset => {
                let was_active = self.resumable();
                self.phase = match self.pending_out_of_service.take() {
                    Some(message) => Phase::OutOfService { message },
                    None => Phase::Idle,
                };
                Ok(match was_active {
                    Some(visit) => vec![
                        Command::DropVisit,
                        Command::Send(KioskToBroker::EndVisit { visit }),
                    ],
                    None => vec![Command::DropVisit],
                })
            }
        }
    }

    /// Whether a citizen is at the screen waiting for the broker to place or answer a visit.
    /// A citizen may leave while asking (even with the broker out of reach, so the request
    /// goes out later): the visit the broker then makes has nobody at the kiosk.
    fn expects_a_visit(&self) -> bool {
        matches!(
            self.phase,
            Phase::Asking { .. } | Phase::Waiting { .. } | Phase::InCall { .. }
        )
    }

    /// `message` as a request with a fresh id, which a refusal will name.
    fn ask(&mut self, message: KioskToBroker, agency: Option<AgencyId>) -> Command {
        self.requests_made += 1;
        let id = RequestId::new(format!("k{}", self.requests_made)).expect("a valid id");
        self.asking = Some((id.clone(), agency));
        Command::Ask { id, message }
    }

    fn must_be_free(&self) -> Result<(), Refusal> {
        match self.phase {
            Phase::Idle | Phase::Ended { .. } | Phase::Refused { .. } => Ok(()),
            _ => Err(Refusal::Busy),
        }
    }

    pub fn broker(&mut self, message: BrokerToKiosk) -> Vec<Command> {
        let out = self.broker_said(message);
        if out.contains(&Command::DropVisit) {
            self.rings.clear();
        }
        out
    }

    fn broker_said(&mut self, message: BrokerToKiosk) -> Vec<Command> {
        match message {
            BrokerToKiosk::Welcome { out_of_service, .. } => {
                // Back on the link: rings from before may have ended unheard (a broker that
                // restarted forgot them). One still ringing is answered over a new connection.
                let mut out = self.end_rings(|_| true);
                out.extend(match out_of_service {
                    Some(message) => self.out_of_service(message),
                    None => self.back_in_service(),
                });
                out
            }
            BrokerToKiosk::Ringing { visit, call, staff } => {
                let rings_here = match &self.phase {
                    // The broker offers a new visit at once, before it tells the kiosk its
                    // place: the ring can come before the visit's id.
                    Phase::Asking { .. } => true,
                    Phase::Waiting { visit: current, .. } => *current == visit,
                    Phase::InCall {
                        visit: current,
                        call: current_call,
                        participants,
                    } => {
                        *current == visit
                            && *current_call == call
                            && !participants.iter().any(|p| p.staff == staff)
                    }
                    _ => false,
                };
                if !rings_here || self.rings.get(&staff) == Some(&call) {
                    return vec![];
                }
                self.rings.insert(staff.clone(), call.clone());
                vec![Command::PreparePeer { call, staff }]
            }
            BrokerToKiosk::RingEnded { call, staff } => {
                if self.rings.get(&staff) != Some(&call) {
                    return vec![];
                }
                self.rings.remove(&staff);
                vec![Command::ClosePeer { staff }]
            }
            BrokerToKiosk::Queued {
                visit,
                agency,
                language,
                estimate,
                booked,
            } => {
                if !self.expects_a_visit() {
                    return abandoned(visit);
                }
                // A transferred call comes back to the queue: its peers are gone.
                let out = match &self.phase {
                    Phase::InCall { .. } => vec![Command::DropVisit],
                    _ => vec![],
                };
                self.phase = Phase::Waiting {
                    visit,
                    agency,
                    language,
                    estimate,
                    booked,
                };
                out
            }
            BrokerToKiosk::CallStarted {
                visit,
                call,
                officer,
            } => {
                if !self.expects_a_visit() {
                    return abandoned(visit);
                }
                // The connection made while this officer's desk rang carries the call. Rings
                // for other calls are over; one for this call (an interpreter rung with the
                // officer) goes on, and its connection carries them when they join.
                let mut out = self.end_rings(|(_, rung)| *rung != call);
                self.rings.remove(&officer.staff);
                match &mut self.phase {
                    // A resume after a reconnect: the peers that still run stay.
                    Phase::InCall {
                        call: current,
                        participants,
                        ..
                    } if *current == call => {
                        // The officer named is the one responsible now: they lead.
                        participants.retain(|p| p.staff != officer.staff);
                        participants.insert(0, officer.clone());
                        out.push(Command::OpenPeer {
                            call,
                            staff: officer,
                        });
                        return out;
                    }
                    Phase::InCall { .. } => out.push(Command::DropVisit),
                    _ => {}
                }
                self.phase = Phase::InCall {
                    visit,
                    call: call.clone(),
                    participants: vec![officer.clone()],
                };
                out.push(Command::OpenPeer {
                    call,
                    staff: officer,
                });
                out
            }
            BrokerToKiosk::ParticipantJoined { call, participant } => match &mut self.phase {
                Phase::InCall {
                    call: current,
                    participants,
                    ..
                } if *current == call => {
                    if !participants.iter().any(|p| p.staff == participant.staff) {
                        participants.push(participant.clone());
                    }
                    self.rings.remove(&participant.staff);
                    vec![Command::OpenPeer {
                        call,
                        staff: participant,
                    }]
                }
                _ => vec![],
            },
            BrokerToKiosk::ParticipantLeft { call, staff } => match &mut self.phase {
                Phase::InCall {
                    call: current,
                    participants,
                    ..
                } if *current == call => {
                    participants.retain(|p| p.staff != staff);
                    vec![Command::ClosePeer { staff }]
                }
                _ => vec![],
            },
            BrokerToKiosk::Signal {
                call,
                from,
                payload,
            } => match &self.phase {
                Phase::InCall { call: current, .. } if *current == call => {
                    vec![Command::DeliverSignal { from, payload }]
                }
                _ if self.rings.get(&from) == Some(&call) => {
                    vec![Command::DeliverSignal { from, payload }]
                }
                _ => vec![],
            },
            BrokerToKiosk::DocumentRequested { call, by } => match &self.phase {
                Phase::InCall { call: current, .. } if *current == call => {
                    vec![Command::PromptDocument { by }]
                }
                _ => vec![],
            },
            // A `queued` follows with the new agency's place.
            BrokerToKiosk::Transferred { .. } => vec![],
            BrokerToKiosk::VisitEnded { visit, reason } => {
                if self.resumable().as_ref() != Some(&visit) {
                    return vec![];
                }
                let waiting_for = match &self.phase {
                    Phase::Waiting { agency, .. } => Some(agency.clone()),
                    _ => None,
                };
                self.phase = match (reason, waiting_for) {
                    // Nobody met: no meeting to rate. A wait given up while the kiosk was
                    // away starts over; a queue that closed says so.
                    (VisitEndReason::ConnectionLost, Some(_)) => {
                        match self.pending_out_of_service.take() {
                            Some(message) => Phase::OutOfService { message },
                            None => Phase::Idle,
                        }
                    }
                    (VisitEndReason::NotServed, Some(agency)) => Phase::Refused {
                        code: ErrorCode::AgencyClosed,
                        agency: Some(agency),
                    },
                    _ => Phase::Ended {
                        visit,
                        reason,
                        survey_answered: false,
                    },
                };
                vec![Command::DropVisit]
            }
            BrokerToKiosk::OutOfService { message } => self.out_of_service(message),
            BrokerToKiosk::BackInService => self.back_in_service(),
            BrokerToKiosk::SurveyReceived { .. }
            | BrokerToKiosk::RunSelfTest { .. }
            | BrokerToKiosk::Agencies { .. }
            | BrokerToKiosk::IceServers { .. } => vec![],
            BrokerToKiosk::Error(reply) => {
                self.refused(&reply);
                vec![]
            }
        }
    }

    /// Stops connecting to the rung desks `which` picks, and says to close their connections.
    fn end_rings(&mut self, which: impl Fn((&StaffId, &CallId)) -> bool) -> Vec<Command> {
        let ended: Vec<StaffId> = self
            .rings
            .iter()
            .filter(|(staff, call)| which((staff, call)))
            .map(|(staff, _)| staff.clone())
            .collect();
        ended
            .into_iter()
            .map(|staff| {
                self.rings.remove(&staff);
                Command::ClosePeer { staff }
            })
            .collect()
    }

    /// The desks the kiosk is connecting to while they ring, and the call each is for.
    pub fn rings(&self) -> &BTreeMap<StaffId, CallId> {
        &self.rings
    }

    /// The broker refused a request. The one the citizen waits on (an unknown booking code,
    /// an agency that closed meanwhile) is explained on the screen; others change nothing here.
    fn refused(&mut self, reply: &ErrorReply) {
        let Phase::Asking { .. } = self.phase else {
            return;
        };
        let Some((asked, agency)) = &self.asking else {
            return;
        };
        // Slowed down before its message was read, the ask is refused too: that reply may
        // name no request.
        let slowed = reply.code == ErrorCode::RateLimited && reply.request.is_none();
        if reply.request.as_ref() != Some(asked) && !slowed {
            return;
        }
        self.phase = Phase::Refused {
            code: reply.code,
            agency: agency.clone(),
        };
        self.asking = None;
    }

    fn out_of_service(&mut self, message: LongText) -> Vec<Command> {
        if matches!(
            self.phase,
            Phase::InCall { .. } | Phase::Waiting { .. } | Phase::Asking { .. }
        ) {
            self.pending_out_of_service = Some(message);
            return vec![];
        }
        self.phase = Phase::OutOfService { message };
        vec![Command::DropVisit]
    }

    fn back_in_service(&mut self) -> Vec<Command> {
        self.pending_out_of_service = None;
        if let Phase::OutOfService { .. } = self.phase {
            self.phase = Phase::Idle;
        }
        vec![]
    }
}

/// The broker placed or answered a visit that the citizen already left: end it there, so no
/// officer waits for nobody, and show nothing here.
fn abandoned(visit: VisitId) -> Vec<Command> {
    vec![Command::Send(KioskToBroker::EndVisit { visit })]
}

#[cfg(test)]
mod tests;
