//! The task that runs the [`Core`]: it hands the core what connections and administrators
//! report, with the wall clock's time; carries out what comes back (writes first, in order,
//! then messages through the connection registry); and wakes the core when it asked to be.
//!
//! Connections reach it through a [`CoreHandle`], by typed requests only.

use crate::clock::Clock;
use crate::core::{Core, Count, Input, Output, Write};
use crate::metrics::Metrics;
use crate::state::{Connections, DeskLogin, Outbox};
use crate::storage::Store;
use nara_protocol::desk::{BrokerToDesk, QueueView};
use nara_protocol::kiosk::{BrokerToKiosk, VisitEndReason};
use nara_protocol::{AgencyId, KioskId, StaffId};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// What can be asked of the core's task.
#[derive(Debug)]
enum Request {
    Input(Box<Input>),
    /// A connection to register where the core's messages find it, with the input that
    /// tells the core of it: one step, so that its welcome is the first thing it is sent.
    Connect {
        registration: Box<Registration>,
        input: Box<Input>,
        done: oneshot::Sender<()>,
    },
    QueueViews {
        agency: AgencyId,
        reply: oneshot::Sender<Vec<QueueView>>,
    },
}

/// A connection that has said hello, and what an older connection of the same kiosk or
/// person is told as it is closed.
#[derive(Debug)]
pub enum Registration {
    Kiosk {
        kiosk: KioskId,
        outbox: Outbox,
        replaced: BrokerToKiosk,
    },
    Desk {
        staff: StaffId,
        outbox: Outbox,
        login: DeskLogin,
        replaced: BrokerToDesk,
    },
}

#[derive(Clone, Debug)]
pub struct CoreHandle {
    requests: mpsc::Sender<Request>,
}

impl CoreHandle {
    /// Hands `input` to the core; what it answers goes out through the connections.
    pub async fn send(&self, input: Input) {
        self.requests
            .send(Request::Input(Box::new(input)))
            .await
            .expect("the core runs as long as the broker");
    }

    /// Registers a connection and hands the core `input` about it; returns once done.
    ///
    /// Both come boxed and go to the core's task as they are: a connection's task that moved
    /// them out of boxes of its own would keep those allocations until it ends, half a KiB
    /// for every idle desk.
    pub async fn connect(&self, registration: Box<Registration>, input: Box<Input>) {
        let (done, finished) = oneshot::channel();
        let request = Request::Connect {
            registration,
            input,
            done,
        };
        self.requests
            .send(request)
            .await
            .expect("the core runs as long as the broker");
        finished.await.expect("the core answers every request");
    }

    /// The queues of `agency` as its officers see them now.
    pub async fn queue_views(&self, agency: AgencyId) -> Vec<QueueView> {
        let (reply, answer) = oneshot::channel();
        self.requests
            .send(Request::QueueViews { agency, reply })
            .await
            .expect("the core runs as long as the broker");
        answer.await.expect("the core answers every request")
    }
}

/// What the core's task carries out with.
#[derive(Debug)]
pub struct Shell {
    pub connections: Arc<Connections>,
    pub metrics: Arc<Metrics>,
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
}

/// Reports that nothing acknowledges (heartbeats, self-tests, versions) are written beside
/// the core, so that a slow disk never holds up a call; up to this many wait their turn.
const REPORTS_QUEUED: usize = 4096;

pub fn spawn(mut core: Core, shell: Shell) -> CoreHandle {
    let (tx, mut rx) = mpsc::channel::<Request>(1024);
    let (reports, mut reports_rx) = mpsc::channel::<Write>(REPORTS_QUEUED);
    let store = Arc::clone(&shell.store);
    tokio::spawn(async move {
        while let Some(write) = reports_rx.recv().await {
            write_now(store.as_ref(), write).await;
        }
    });
    let shell = Running { shell, reports };
    tokio::spawn(async move {
        // One timer, moved only when the core's next deadline moves: most inputs (a relayed
        // offer, a status) leave it where it was, and re-arming it for each cost every
        // message a trip through the timer wheel.
        let sleep = tokio::time::sleep(std::time::Duration::ZERO);
        tokio::pin!(sleep);
        let mut armed_for = None;
        loop {
            let due = core.poll_timeout();
            if armed_for != Some(due) {
                let wait = due.saturating_sub(shell.clock.now_ms());
                let at = tokio::time::Instant::now() + std::time::Duration::from_millis(wait);
                sleep.as_mut().reset(at);
                armed_for = Some(due);
            }
            let input = tokio::select! {
                request = rx.recv() => match request {
                    Some(Request::Input(input)) => *input,
                    Some(Request::Connect { registration, input, done }) => {
                        shell.register(*registration);
                        core.handle_input(*input, shell.clock.now_ms());
                        shell.carry_out(&mut core).await;
                        let _ = done.send(());
                        continue;
                    }
                    Some(Request::QueueViews { agency, reply }) => {
                        // Waits are counted to this moment, not the core's last input.
                        core.handle_input(Input::Timeout, shell.clock.now_ms());
                        shell.carry_out(&mut core).await;
                        let _ = reply.send(core.queue_views(&agency));
                        continue;
                    }
                    None => break,
                },
                () = &mut sleep => {
                    armed_for = None;
                    Input::Timeout
                }
            };
            core.handle_input(input, shell.clock.now_ms());
            shell.carry_out(&mut core).await;
        }
    });
    CoreHandle { requests: tx }
}

struct Running {
    shell: Shell,
    reports: mpsc::Sender<Write>,
}

impl std::ops::Deref for Running {
    type Target = Shell;
    fn deref(&self) -> &Shell {
        &self.shell
    }
}

impl Running {
    fn register(&self, registration: Registration) {
        match registration {
            Registration::Kiosk {
                kiosk,
                outbox,
                replaced,
            } => {
                if let Some(old) = self.connections.add_kiosk(&kiosk, outbox) {
                    old.close_with(&replaced);
                }
            }
            Registration::Desk {
                staff,
                outbox,
                login,
                replaced,
            } => {
                if let Some(old) = self.connections.add_desk(&staff, outbox, login) {
                    old.close_with(&replaced);
                }
            }
        }
    }

    async fn carry_out(&self, core: &mut Core) {
        while let Some(output) = core.poll_output() {
            match output {
                Output::ToKiosk { .. } | Output::ToDesk { .. } | Output::ToDesks { .. } => {
                    self.deliver(output)
                }
                Output::Write(write) => {
                    self.write(write).await;
                }
                Output::Acknowledged {
                    write,
                    ack,
                    refusal,
                } => {
                    let told = if self.write(write).await {
                        ack
                    } else {
                        refusal
                    };
                    self.deliver(*told);
                }
                Output::Count(count) => self.count(count),
            }
        }
        let (waiting, calls) = core.counts();
        self.metrics.visits_waiting.set(waiting as i64);
        self.metrics.calls_active.set(calls as i64);
    }

    /// Whether the write was made (reports that may lag count as made once queued).
    async fn write(&self, write: Write) -> bool {
        if write.acknowledged() {
            write_now(self.store.as_ref(), write).await
        } else if let Err(e) = self.reports.try_send(write) {
            tracing::warn!("storage is behind; a kiosk report was not written: {e}");
            false
        } else {
            true
        }
    }

    fn deliver(&self, output: Output) {
        match output {
            Output::ToKiosk { kiosk, message } => {
                self.connections.to_kiosk(&kiosk, &message);
            }
            Output::ToDesk { staff, message } => {
                self.connections.to_desk(&staff, &message);
            }
            Output::ToDesks { staff, message } => {
                self.connections.to_desks(staff.iter(), &message);
            }
            other => tracing::error!(?other, "only messages follow a write"),
        }
    }

    fn count(&self, count: Count) {
        match count {
            Count::CallStarted => {
                self.metrics.calls_started.inc();
            }
            Count::VisitEnded(reason) => {
                let reason = match reason {
                    VisitEndReason::Completed => "completed",
                    VisitEndReason::LeftQueue => "leftQueue",
                    VisitEndReason::ConnectionLost => "connectionLost",
                    VisitEndReason::NotServed => "notServed",
                };
                self.metrics
                    .visits_ended
                    .get_or_create(&vec![("reason".into(), reason.into())])
                    .inc();
            }
            Count::Refused(code) => self.metrics.protocol_error(code),
        }
    }
}

async fn write_now(store: &dyn Store, write: Write) -> bool {
    let result = match &write {
        Write::SaveWaiting(r) => store.save_waiting(r).await,
        Write::ForgetWaiting(v) => store.forget_waiting(v.as_str()).await,
        Write::SaveCall(record) => store.save_call(record).await,
        Write::ForgetCall(call) => store.forget_call(call.as_str()).await,
        Write::Segment(s) => store.record_segment(s).await,
        Write::Audit(a) => store.audit(a).await,
        Write::CheckedIn { code, at } => {
            store.mark_checked_in(code.as_str(), *at).await.map(|_| ())
        }
        Write::Document {
            visit,
            pages,
            bytes,
            at,
        } => {
            store
                .record_document(visit.as_str(), *pages as i64, *bytes as i64, *at)
                .await
        }
        Write::Survey { visit, score, at } => {
            store
                .record_survey(visit.as_str(), *score as i64, *at)
                .await
        }
        Write::Heartbeat { kiosk, at, json } => {
            store
                .record_heartbeat(kiosk.as_str(), *at, json, None)
                .await
        }
        Write::SelfTest { kiosk, json } => store.record_self_test(kiosk.as_str(), json).await,
        Write::SoftwareVersion { kiosk, version } => {
            store
                .set_software_version(kiosk.as_str(), version.as_str())
                .await
        }
    };
    if let Err(e) = &result {
        tracing::error!(error = %e, ?write, "storage write failed");
    }
    result.is_ok()
}
