//! A kiosk's side of the core: it connects, starts or checks in a visit, signals, notes
//! documents, answers the survey, reports its health, and goes.

use super::{ConnectionId, Core, KioskHello, Output, Refusal, Write};
use crate::routing::{Event, QueueKey, VisitSpec};
use nara_protocol::kiosk::{BrokerToKiosk, KioskToBroker, VisitEndReason};
use nara_protocol::*;

impl Core {
    pub(super) fn kiosk_connected(&mut self, hello: KioskHello) {
        // The first look at the opening hours comes before the first welcome, which carries
        // its result: had it come after, it would repeat to every kiosk what each was just told.
        if self.hours_checked.is_none() {
            self.check_hours();
        }
        let KioskHello {
            kiosk,
            connection,
            info,
            software_version,
            resume,
            ice_servers,
        } = hello;
        self.kiosks.insert(kiosk.clone(), connection);
        self.write(Write::SoftwareVersion {
            kiosk: kiosk.clone(),
            version: software_version,
        });
        let welcome = BrokerToKiosk::Welcome {
            protocol_version: PROTOCOL_VERSION,
            kiosk: kiosk.clone(),
            site: info.site.clone(),
            site_name: info.site_name.clone(),
            agencies: self.directory.choices(self.now),
            ice_servers,
            heartbeat_seconds: self.config.heartbeat_seconds,
            out_of_service: self.directory.out_of_service(&kiosk).cloned(),
        };
        self.directory.set_kiosk(kiosk.clone(), info);
        self.send_kiosk(&kiosk, welcome);
        // The visit in progress goes on, whether the kiosk named it or the core kept it.
        let current = self.kiosk_visit.get(&kiosk).cloned();
        match (resume, current) {
            (_, Some(visit)) => {
                let _ = self.apply(Event::KioskReconnected { visit });
            }
            // It ended while the kiosk was away, however long ago: the kiosk hears so and
            // starts over. How it ended is told to its own kiosk only.
            (Some(visit), None) => {
                let reason = match self.recently_ended.get(&visit) {
                    Some(ended) if ended.kiosk == kiosk => ended.reason,
                    _ => VisitEndReason::ConnectionLost,
                };
                self.send_kiosk(&kiosk, BrokerToKiosk::VisitEnded { visit, reason });
            }
            (None, None) => {}
        }
    }

    pub(super) fn kiosk_disconnected(&mut self, kiosk: &KioskId, connection: ConnectionId) {
        if self.kiosks.get(kiosk) != Some(&connection) {
            return; // A newer connection of the same kiosk took over.
        }
        self.kiosks.remove(kiosk);
        if let Some(visit) = self.kiosk_visit.get(kiosk).cloned() {
            let _ = self.apply(Event::KioskDisconnected { visit });
        }
    }

    pub(super) fn kiosk_said(&mut self, kiosk: &KioskId, message: KioskToBroker) {
        if let Err(refusal) = self.kiosk_request(kiosk, message) {
            self.refuse_kiosk(kiosk, refusal);
        }
    }

    fn kiosk_request(&mut self, kiosk: &KioskId, message: KioskToBroker) -> Result<(), Refusal> {
        let now = self.now;
        match message {
            // Answered when the connection opened.
            KioskToBroker::Hello { .. } => Err(Refusal::new(
                ErrorCode::Invalid,
                "hello was already received",
            )),
            KioskToBroker::StartVisit {
                language,
                agency,
                topic,
            } => {
                self.directory.in_service(kiosk)?;
                self.no_visit_going(kiosk)?;
                self.directory.admit(&agency, now)?;
                let queue = QueueKey {
                    agency,
                    language,
                    topic,
                };
                self.enqueue(kiosk, queue, None)
            }
            KioskToBroker::CheckIn { booking_code } => {
                self.directory.in_service(kiosk)?;
                self.no_visit_going(kiosk)?;
                let booking = self.directory.check_in(&booking_code, now)?;
                let internal = |e: String| Refusal::new(ErrorCode::Internal, e);
                let queue = QueueKey {
                    agency: AgencyId::new(booking.agency).map_err(internal)?,
                    language: LanguageCode::new(booking.language).map_err(internal)?,
                    topic: None,
                };
                self.write(Write::CheckedIn {
                    code: booking_code,
                    at: now,
                });
                self.enqueue(kiosk, queue, Some(booking.appointment_at))
            }
            KioskToBroker::EndVisit { visit } => {
                if self.kiosk_visit.get(kiosk) != Some(&visit) {
                    return Err(Refusal::new(
                        ErrorCode::NotFound,
                        format!("visit {visit} is not this kiosk's current visit"),
                    ));
                }
                self.apply(Event::CitizenLeft { visit })
            }
            KioskToBroker::Signal { call, to, payload } => {
                let from = Peer::Kiosk {
                    kiosk: kiosk.clone(),
                };
                self.relay(&call, from, Peer::Staff { staff: to }, payload)
            }
            KioskToBroker::DocumentSent {
                visit,
                to,
                pages,
                bytes,
            } => {
                if !self.visit_belongs_to(&visit, kiosk) {
                    return Err(Refusal::new(
                        ErrorCode::NotFound,
                        format!("visit {visit} is not this kiosk's"),
                    ));
                }
                // Only a document to someone in this visit's call is recorded (L5 of the
                // security review: any staff id was taken).
                let call = self
                    .router
                    .visit(&visit)
                    .and_then(|v| match &v.state {
                        crate::routing::VisitState::InCall { call } => self.router.call(call),
                        crate::routing::VisitState::Waiting(_) => None,
                    })
                    .filter(|c| c.participants.contains(&to))
                    .map(|c| c.id.clone())
                    .ok_or_else(|| {
                        Refusal::new(
                            ErrorCode::Forbidden,
                            format!("{to} is not in the call of visit {visit}; the document was not recorded"),
                        )
                    })?;
                if !self.is_officer(&to) {
                    return Err(Refusal::new(
                        ErrorCode::Forbidden,
                        format!("{to} is not an officer, and documents go to officers only; not recorded"),
                    ));
                }
                let noted = nara_protocol::desk::BrokerToDesk::DocumentNoted { call, pages, bytes };
                self.acknowledged(
                    Write::Document {
                        visit,
                        pages,
                        bytes,
                        at: now,
                    },
                    Output::ToDesk {
                        staff: to,
                        message: noted,
                    },
                    kiosk,
                );
                Ok(())
            }
            KioskToBroker::Survey { visit, score } => {
                if !(1..=5).contains(&score) {
                    return Err(Refusal::new(
                        ErrorCode::Invalid,
                        format!("survey score must be 1 to 5, got {score}"),
                    ));
                }
                if !self.visit_belongs_to(&visit, kiosk) {
                    return Err(Refusal::new(
                        ErrorCode::NotFound,
                        format!("visit {visit} is not this kiosk's"),
                    ));
                }
                let thanks = Output::ToKiosk {
                    kiosk: kiosk.clone(),
                    message: BrokerToKiosk::SurveyReceived {
                        visit: visit.clone(),
                    },
                };
                let survey = Write::Survey {
                    visit,
                    score,
                    at: now,
                };
                self.acknowledged(survey, thanks, kiosk);
                Ok(())
            }
            KioskToBroker::Heartbeat { .. } => {
                let json = serde_json::to_string(&message).unwrap_or_default();
                self.write(Write::Heartbeat {
                    kiosk: kiosk.clone(),
                    at: now,
                    json,
                });
                Ok(())
            }
            KioskToBroker::SelfTestResult { report, .. } => {
                let json = serde_json::to_string(&report).unwrap_or_default();
                self.write(Write::SelfTest {
                    kiosk: kiosk.clone(),
                    json,
                });
                Ok(())
            }
        }
    }

    /// `write`, then `ack`; if the write fails, the kiosk is told so instead.
    fn acknowledged(&mut self, write: Write, ack: Output, kiosk: &KioskId) {
        let refusal = Output::ToKiosk {
            kiosk: kiosk.clone(),
            message: BrokerToKiosk::Error(
                Refusal::new(
                    ErrorCode::Internal,
                    "the broker could not store this just now; try again",
                )
                .reply(self.answering.clone()),
            ),
        };
        self.outputs.push_back(Output::Acknowledged {
            write,
            ack: Box::new(ack),
            refusal: Box::new(refusal),
        });
    }

    fn no_visit_going(&self, kiosk: &KioskId) -> Result<(), Refusal> {
        match self.kiosk_visit.get(kiosk) {
            Some(current) => Err(Refusal::new(
                ErrorCode::VisitInProgress,
                format!("this kiosk already has visit {current} going; end it first"),
            )),
            None => Ok(()),
        }
    }

    fn enqueue(
        &mut self,
        kiosk: &KioskId,
        queue: QueueKey,
        booking: Option<u64>,
    ) -> Result<(), Refusal> {
        let visit = VisitId::new(self.router.fresh_id("visit")).expect("a valid id");
        let site_name = self
            .directory
            .kiosk(kiosk)
            .map(|k| k.site_name.clone())
            .unwrap_or_else(|| ShortText::new("?").expect("short"));
        let spec = VisitSpec {
            visit: visit.clone(),
            kiosk: kiosk.clone(),
            site_name,
            queue,
            booking,
            queued_at: self.now,
            front_of_queue: false,
            kiosk_online: true,
        };
        self.kiosk_visit.insert(kiosk.clone(), visit);
        let result = self.apply(Event::Enqueue { spec });
        if result.is_err() {
            self.kiosk_visit.remove(kiosk);
        }
        result
    }
}
