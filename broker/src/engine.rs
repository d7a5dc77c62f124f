//! The routing engine's task: owns the [`Router`], applies events from the connections,
//! carries out its commands (messages to kiosks and desks, storage), and fires its timeouts.
//!
//! Connections reach it through [`EngineHandle::run`], which executes a closure on the
//! engine's own task, so all routing state has one owner and needs no locks.

use crate::metrics::Metrics;
use crate::routing::{Command, Event, Millis, Router, RoutingError, WaitingRecord};
use crate::state::{now_ms, Connections};
use crate::storage::{AuditRow, SegmentRow, Store};
use nara_protocol::desk::{BrokerToDesk, OfferPurpose};
use nara_protocol::kiosk::{BrokerToKiosk, VisitEndReason};
use nara_protocol::*;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

type Job = Box<dyn FnOnce(&mut Engine) + Send>;

#[derive(Clone, Debug)]
pub struct EngineHandle {
    jobs: mpsc::Sender<Job>,
}

impl EngineHandle {
    /// Runs `f` on the engine's task and returns its result.
    ///
    /// `f` is boxed before the returned future exists, so that future stays small whatever
    /// `f` captures: it is part of every connection task that awaits it.
    pub fn run<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Engine) -> R + Send + 'static,
    ) -> impl std::future::Future<Output = R> + Send + '_ {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |engine| {
            let _ = tx.send(f(engine));
        });
        async move {
            self.jobs
                .send(job)
                .await
                .expect("the engine runs as long as the broker");
            rx.await.expect("the engine answers every job")
        }
    }
}

/// Writes the engine asks for, done in order after each job.
#[derive(Debug)]
enum StoreOp {
    SaveWaiting(WaitingRecord),
    ForgetWaiting(VisitId),
    Segment(SegmentRow),
    Audit(AuditRow),
}

#[derive(Debug, Clone)]
pub struct KioskInfo {
    pub site: SiteId,
    pub site_name: ShortText,
}

#[derive(Debug)]
pub struct Engine {
    pub router: Router,
    connections: Arc<Connections>,
    metrics: Arc<Metrics>,
    cards: HashMap<StaffId, StaffCard>,
    kiosks: HashMap<KioskId, KioskInfo>,
    /// The visit each kiosk has going, waiting or in a call.
    kiosk_visit: HashMap<KioskId, VisitId>,
    /// Visits ended in the last hours, so the kiosk may still send the survey.
    recently_ended: HashMap<VisitId, (KioskId, Millis)>,
    /// The queues each agency's officers were last sent. A change that leaves them as they
    /// were (an officer coming online as away) is not broadcast again: with thousands of
    /// officers connecting each morning, those repeats grew as the square of their number.
    queues_sent: HashMap<AgencyId, Vec<desk::QueueView>>,
    store_ops: Vec<StoreOp>,
}

pub fn spawn(
    router: Router,
    connections: Arc<Connections>,
    metrics: Arc<Metrics>,
    store: Arc<dyn Store>,
) -> EngineHandle {
    let (tx, mut rx) = mpsc::channel::<Job>(1024);
    let mut engine = Engine {
        router,
        connections,
        metrics,
        cards: HashMap::new(),
        kiosks: HashMap::new(),
        kiosk_visit: HashMap::new(),
        recently_ended: HashMap::new(),
        queues_sent: HashMap::new(),
        store_ops: Vec::new(),
    };
    for visit in engine.router.visits() {
        engine
            .kiosk_visit
            .insert(visit.kiosk.clone(), visit.id.clone());
    }
    tokio::spawn(async move {
        loop {
            let wait = engine
                .router
                .next_deadline()
                .map(|d| d.saturating_sub(now_ms()));
            tokio::select! {
                job = rx.recv() => match job {
                    Some(job) => job(&mut engine),
                    None => break,
                },
                _ = sleep_opt(wait) => {
                    let _ = engine.apply(Event::Tick);
                }
            }
            engine.flush(store.as_ref()).await;
        }
    });
    EngineHandle { jobs: tx }
}

async fn sleep_opt(ms: Option<u64>) {
    match ms {
        Some(ms) => tokio::time::sleep(std::time::Duration::from_millis(ms)).await,
        None => std::future::pending().await,
    }
}

impl Engine {
    async fn flush(&mut self, store: &dyn Store) {
        for op in self.store_ops.drain(..) {
            let result = match &op {
                StoreOp::SaveWaiting(r) => store.save_waiting(r).await,
                StoreOp::ForgetWaiting(v) => store.forget_waiting(v.as_str()).await,
                StoreOp::Segment(s) => store.record_segment(s).await,
                StoreOp::Audit(a) => store.audit(a).await,
            };
            if let Err(e) = result {
                tracing::error!(error = %e, ?op, "storage write failed");
            }
        }
        let waiting = self
            .router
            .visits()
            .filter(|v| matches!(v.state, crate::routing::VisitState::Waiting(_)))
            .count();
        self.metrics.visits_waiting.set(waiting as i64);
        self.metrics
            .calls_active
            .set(self.router.calls().count() as i64);
    }

    pub fn audit(&mut self, actor: &str, action: &str, target: &str, detail: &str) {
        self.store_ops.push(StoreOp::Audit(AuditRow {
            at: now_ms(),
            actor: actor.into(),
            action: action.into(),
            target: target.into(),
            detail: detail.into(),
        }));
    }

    pub fn register_kiosk(&mut self, kiosk: KioskId, info: KioskInfo) {
        self.kiosks.insert(kiosk, info);
    }

    pub fn kiosk_info(&self, kiosk: &KioskId) -> Option<&KioskInfo> {
        self.kiosks.get(kiosk)
    }

    pub fn register_card(&mut self, card: StaffCard) {
        self.cards.insert(card.staff.clone(), card);
    }

    pub fn card(&self, staff: &StaffId) -> Option<&StaffCard> {
        self.cards.get(staff)
    }

    pub fn kiosk_visit(&self, kiosk: &KioskId) -> Option<&VisitId> {
        self.kiosk_visit.get(kiosk)
    }

    pub fn set_kiosk_visit(&mut self, kiosk: KioskId, visit: VisitId) {
        self.kiosk_visit.insert(kiosk, visit);
    }

    /// Whether `visit` is (or was, recently) this kiosk's, for surveys and document notes.
    pub fn visit_belongs_to(&self, visit: &VisitId, kiosk: &KioskId) -> bool {
        self.kiosk_visit.get(kiosk) == Some(visit)
            || self
                .recently_ended
                .get(visit)
                .is_some_and(|(k, _)| k == kiosk)
    }

    /// Applies an event at the current time and carries out what it decided.
    pub fn apply(&mut self, event: Event) -> Result<(), RoutingError> {
        let now = now_ms();
        let commands = self.router.handle(event, now)?;
        for command in commands {
            self.execute(command, now);
        }
        Ok(())
    }

    fn staff_card(&self, staff: &StaffId) -> StaffCard {
        self.cards.get(staff).cloned().unwrap_or_else(|| StaffCard {
            staff: staff.clone(),
            display_name: ShortText::new(staff.as_str()).expect("ids are short text"),
            role: StaffRoleKind::Officer,
            agency: None,
            agency_name: None,
        })
    }

    fn execute(&mut self, command: Command, now: Millis) {
        let c = Arc::clone(&self.connections);
        match command {
            Command::StaffStatus { staff, status } => {
                c.to_desk(&staff, &BrokerToDesk::StatusChanged { status });
            }
            Command::Offer {
                offer,
                staff,
                visit,
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
                c.to_desk(
                    &staff,
                    &BrokerToDesk::Offer {
                        offer,
                        visit,
                        purpose,
                        language,
                        site_name: v.site_name.clone(),
                        booked: v.booking.is_some(),
                        ring_seconds: (ring_ms / 1000) as u32,
                    },
                );
            }
            Command::OfferWithdrawn {
                offer,
                staff,
                reason,
            } => {
                c.to_desk(&staff, &BrokerToDesk::OfferWithdrawn { offer, reason });
            }
            Command::Queued {
                visit,
                queue,
                booked,
                estimate,
            } => {
                if let Some(v) = self.router.visit(&visit) {
                    c.to_kiosk(
                        &v.kiosk,
                        &BrokerToKiosk::Queued {
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
                self.metrics.calls_started.inc();
                let card = self.staff_card(&staff);
                c.to_kiosk(
                    &kiosk,
                    &BrokerToKiosk::CallStarted {
                        visit: visit.clone(),
                        call: call.clone(),
                        officer: card.clone(),
                    },
                );
                self.send_call_started(&call, &staff);
                self.audit(staff.as_str(), "answered", visit.as_str(), call.as_str());
            }
            Command::Joined { call, staff } => {
                let Some(info) = self.router.call(&call).cloned() else {
                    return;
                };
                let card = self.staff_card(&staff);
                c.to_kiosk(
                    &info.kiosk,
                    &BrokerToKiosk::ParticipantJoined {
                        call: call.clone(),
                        participant: card.clone(),
                    },
                );
                for other in info.participants.iter().filter(|p| **p != staff) {
                    c.to_desk(
                        other,
                        &BrokerToDesk::ParticipantJoined {
                            call: call.clone(),
                            participant: card.clone(),
                        },
                    );
                }
                self.send_call_started(&call, &staff);
                self.audit(staff.as_str(), "joined", info.visit.as_str(), call.as_str());
            }
            Command::Left { call, staff } => {
                if let Some(info) = self.router.call(&call).cloned() {
                    c.to_kiosk(
                        &info.kiosk,
                        &BrokerToKiosk::ParticipantLeft {
                            call: call.clone(),
                            staff: staff.clone(),
                        },
                    );
                    for other in &info.participants {
                        c.to_desk(
                            other,
                            &BrokerToDesk::ParticipantLeft {
                                call: call.clone(),
                                staff: staff.clone(),
                            },
                        );
                    }
                }
                c.to_desk(
                    &staff,
                    &BrokerToDesk::CallEnded {
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
                    c.to_desk(
                        staff,
                        &BrokerToDesk::CallEnded {
                            call: call.clone(),
                            outcome,
                        },
                    );
                    c.to_kiosk(
                        &kiosk,
                        &BrokerToKiosk::ParticipantLeft {
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
                let owner = self.staff_card(&info.owner);
                c.to_kiosk(
                    &info.kiosk,
                    &BrokerToKiosk::CallStarted {
                        visit,
                        call: call.clone(),
                        officer: owner,
                    },
                );
                for other in info.participants.iter().filter(|p| **p != info.owner) {
                    c.to_kiosk(
                        &info.kiosk,
                        &BrokerToKiosk::ParticipantJoined {
                            call: call.clone(),
                            participant: self.staff_card(other),
                        },
                    );
                }
            }
            Command::Transferred { visit, kiosk, to } => {
                c.to_kiosk(
                    &kiosk,
                    &BrokerToKiosk::Transferred {
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
                c.to_desk(&staff, &BrokerToDesk::InviteUnanswered { call, target });
            }
            Command::VisitEnded {
                visit,
                kiosk,
                reason,
            } => {
                let outcome = match reason {
                    VisitEndReason::Completed => "completed",
                    VisitEndReason::LeftQueue => "leftQueue",
                    VisitEndReason::ConnectionLost => "connectionLost",
                    VisitEndReason::NotServed => "notServed",
                };
                self.metrics
                    .visits_ended
                    .get_or_create(&vec![("reason".into(), outcome.into())])
                    .inc();
                if self.kiosk_visit.get(&kiosk) == Some(&visit) {
                    self.kiosk_visit.remove(&kiosk);
                }
                self.recently_ended
                    .retain(|_, (_, at)| now.saturating_sub(*at) < 6 * 3600 * 1000);
                self.recently_ended
                    .insert(visit.clone(), (kiosk.clone(), now));
                c.to_kiosk(&kiosk, &BrokerToKiosk::VisitEnded { visit, reason });
            }
            Command::QueuesChanged { agency } => self.send_queues(&agency),
            Command::SaveWaiting { record } => self.store_ops.push(StoreOp::SaveWaiting(record)),
            Command::ForgetVisit { visit } => self.store_ops.push(StoreOp::ForgetWaiting(visit)),
            Command::SegmentClosed {
                visit,
                kiosk,
                segment,
            } => {
                let site = self
                    .kiosks
                    .get(&kiosk)
                    .map(|k| k.site.to_string())
                    .unwrap_or_default();
                let outcome = serde_json::to_value(segment.outcome)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                self.store_ops.push(StoreOp::Segment(SegmentRow {
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
    fn send_call_started(&self, call: &CallId, staff: &StaffId) {
        let Some(info) = self.router.call(call) else {
            return;
        };
        let Some(visit) = self.router.visit(&info.visit) else {
            return;
        };
        let participants = info
            .participants
            .iter()
            .map(|p| self.staff_card(p))
            .collect();
        self.connections.to_desk(
            staff,
            &BrokerToDesk::CallStarted {
                call: call.clone(),
                visit: info.visit.clone(),
                kiosk: info.kiosk.clone(),
                site_name: visit.site_name.clone(),
                language: visit.segment.queue.language.clone(),
                participants,
            },
        );
    }

    /// A desk that came back to a call in progress hears about it again.
    pub fn resend_call(&self, call: &CallId, staff: &StaffId) {
        self.send_call_started(call, staff);
    }

    pub fn request_document(&self, call: &CallId, staff: &StaffId) {
        if let Some(info) = self.router.call(call) {
            self.connections.to_kiosk(
                &info.kiosk,
                &BrokerToKiosk::DocumentRequested {
                    call: call.clone(),
                    by: staff.clone(),
                },
            );
        }
    }

    /// The queues of `agency` as its officers see them.
    pub fn queue_views(&self, agency: &AgencyId) -> Vec<desk::QueueView> {
        let now = now_ms();
        let mut by_language: std::collections::BTreeMap<LanguageCode, desk::QueueView> =
            Default::default();
        for w in self.router.waiting_in(agency, now) {
            let view = by_language
                .entry(w.queue.language.clone())
                .or_insert_with(|| desk::QueueView {
                    agency: agency.clone(),
                    language: w.queue.language.clone(),
                    waiting: Vec::new(),
                    officers_available: 0,
                    officers_busy: 0,
                });
            view.waiting.push(desk::WaitingVisit {
                visit: w.visit,
                language: w.queue.language,
                topic: w.queue.topic,
                waited_seconds: (w.waited_ms / 1000) as u32,
                booked: w.booked,
                site_name: w.site_name,
            });
        }
        let mut available = 0;
        let mut busy = 0;
        for (_, status) in self.router.staff_of_agency(agency) {
            match status {
                desk::StaffStatus::Available => available += 1,
                desk::StaffStatus::Away => {}
                _ => busy += 1,
            }
        }
        let mut views: Vec<_> = by_language.into_values().collect();
        for v in &mut views {
            v.officers_available = available;
            v.officers_busy = busy;
        }
        views
    }

    pub fn send_queues(&mut self, agency: &AgencyId) {
        let queues = self.queue_views(agency);
        if self.queues_sent.get(agency) == Some(&queues) {
            return;
        }
        self.queues_sent.insert(agency.clone(), queues.clone());
        let message = BrokerToDesk::Queues { queues };
        let officers: Vec<StaffId> = self
            .router
            .staff_of_agency(agency)
            .map(|(s, _)| s.clone())
            .collect();
        for staff in officers {
            self.connections.to_desk(&staff, &message);
        }
    }

    /// The queues of `agency` to one person who asked for them (not to the whole agency: one
    /// desk asking often must not flood its colleagues).
    pub fn send_queues_to(&self, staff: &StaffId, agency: &AgencyId) {
        let message = BrokerToDesk::Queues {
            queues: self.queue_views(agency),
        };
        self.connections.to_desk(staff, &message);
    }

    /// Relays signalling between two peers of the same call, or says why not.
    pub fn relay(
        &self,
        call: &CallId,
        from: Peer,
        to: Peer,
        payload: SignalPayload,
    ) -> Result<(), RoutingError> {
        let info = self
            .router
            .call(call)
            .ok_or_else(|| RoutingError::NotFound(format!("no call {call} (it may have ended)")))?;
        let member = |p: &Peer| match p {
            Peer::Kiosk { kiosk } => *kiosk == info.kiosk,
            Peer::Staff { staff } => info.participants.contains(staff),
        };
        if !member(&from) {
            return Err(RoutingError::Forbidden(format!(
                "you are not in call {call}"
            )));
        }
        if !member(&to) || from == to {
            return Err(RoutingError::Forbidden(format!(
                "the recipient is not another peer of call {call}"
            )));
        }
        let delivered = match (&from, &to) {
            (Peer::Staff { staff }, Peer::Kiosk { kiosk }) => self.connections.to_kiosk(
                kiosk,
                &BrokerToKiosk::Signal {
                    call: call.clone(),
                    from: staff.clone(),
                    payload,
                },
            ),
            (_, Peer::Staff { staff }) => self.connections.to_desk(
                staff,
                &BrokerToDesk::Signal {
                    call: call.clone(),
                    from,
                    payload,
                },
            ),
            (Peer::Kiosk { .. }, Peer::Kiosk { .. }) => false,
        };
        if delivered {
            Ok(())
        } else {
            Err(RoutingError::Conflict(
                "the recipient is not connected right now; retry after it reconnects".into(),
            ))
        }
    }
}
