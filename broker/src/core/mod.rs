//! The broker's core: every rule of a visit, as one state machine with no sockets, clocks,
//! randomness or storage calls, in the shape of str0m's `handle_input` / `poll_output`.
//!
//! The shell (see [`crate::driver`]) hands it an [`Input`] with the time, then takes
//! [`Output`]s until there are none: messages for a kiosk or desk, writes for storage, counts
//! for metrics. [`Core::poll_timeout`] says when to hand it [`Input::Timeout`] next. Outputs
//! come in the order they must be carried out; a write comes before the message that
//! acknowledges it.
//!
//! - [`directory`]: agencies, opening hours, kiosks and bookings, and the admission rules.
//! - [`kiosk`] and [`desk`]: what each kind of client may ask, and the answers.
//! - [`render`]: the routing core's commands as the messages people see.
//! - [`queues`]: the queues as officers see them.
//! - [`ended`]: visits that ended in the last hours, for kiosks that come back late.
//! - The routing itself (queues, offers, calls, transfers) is [`crate::routing`].

mod desk;
pub mod directory;
mod ended;
mod kiosk;
mod queues;
mod render;

use crate::routing::{
    CallRecord, Event, Millis, Router, RoutingConfig, StaffProfile, VisitSpec, WaitingRecord,
};
use crate::storage::{AgencyRow, AuditRow, BookingRow, SegmentRow};
use directory::{Directory, KioskInfo};
use jiff::tz::TimeZone;
use nara_protocol::desk::{BrokerToDesk, DeskToBroker, Me, QueueView};
use nara_protocol::kiosk::{BrokerToKiosk, KioskToBroker, VisitEndReason};
use nara_protocol::*;
use std::collections::{BTreeMap, HashMap, VecDeque};

/// A connection's number, unique for the broker's life: a close that comes after a newer
/// connection of the same kiosk or person opened is not taken for theirs.
pub type ConnectionId = u64;

/// What happened, as the core is told.
#[derive(Debug, Clone)]
pub enum Input {
    /// A kiosk authenticated by its certificate said hello.
    KioskConnected(KioskHello),
    KioskDisconnected {
        kiosk: KioskId,
        connection: ConnectionId,
    },
    FromKiosk {
        kiosk: KioskId,
        message: KioskToBroker,
        /// The id the kiosk gave the message; a refusal names it.
        request: Option<RequestId>,
    },
    /// A person with a valid session opened the desk and said hello.
    DeskConnected(DeskHello),
    DeskDisconnected {
        staff: StaffId,
        connection: ConnectionId,
    },
    FromDesk {
        staff: StaffId,
        message: DeskToBroker,
        request: Option<RequestId>,
    },
    /// Administrators changed what the core decides by.
    Directory(DirectoryChange),
    /// The time [`Core::poll_timeout`] named has come (or passed).
    Timeout,
}

/// A kiosk that has just said hello.
#[derive(Debug, Clone)]
pub struct KioskHello {
    pub kiosk: KioskId,
    pub connection: ConnectionId,
    pub info: KioskInfo,
    pub software_version: ShortText,
    /// The visit the kiosk believes it is in.
    pub resume: Option<VisitId>,
    pub ice_servers: Vec<IceServer>,
}

/// A desk that has just said hello.
#[derive(Debug, Clone)]
pub struct DeskHello {
    pub connection: ConnectionId,
    pub me: Me,
    /// Set for officers and interpreters, who take calls; none for administrators.
    pub profile: Option<crate::routing::StaffProfile>,
    pub ice_servers: Vec<IceServer>,
}

/// A change to the directory the core holds.
#[derive(Debug, Clone)]
pub enum DirectoryChange {
    /// An agency was saved, new or changed.
    Agency(AgencyRow),
    /// A kiosk was taken out of service (with the message its screen shows) or put back.
    OutOfService {
        kiosk: KioskId,
        message: Option<LongText>,
    },
    /// A booking was made.
    Booking(BookingRow),
    /// An administrator changed what someone can take: their languages, skills, agencies.
    StaffAbilities(StaffProfile),
}

/// What the shell must do, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    ToKiosk {
        kiosk: KioskId,
        message: BrokerToKiosk,
    },
    ToDesk {
        staff: StaffId,
        message: BrokerToDesk,
    },
    /// The same message to several desks (an agency's queues to its officers): made and
    /// encoded once, however many officers there are.
    ToDesks {
        staff: std::sync::Arc<std::collections::BTreeSet<StaffId>>,
        message: BrokerToDesk,
    },
    Write(Write),
    /// A write someone is told of: `ack` goes out once it is made, `refusal` if it fails.
    Acknowledged {
        write: Write,
        ack: Box<Output>,
        refusal: Box<Output>,
    },
    Count(Count),
}

/// A write for storage.
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    SaveWaiting(WaitingRecord),
    ForgetWaiting(VisitId),
    SaveCall(CallRecord),
    ForgetCall(CallId),
    Segment(SegmentRow),
    Audit(AuditRow),
    CheckedIn {
        code: BookingCode,
        at: Millis,
    },
    Document {
        visit: VisitId,
        pages: u16,
        bytes: u64,
        at: Millis,
    },
    Survey {
        visit: VisitId,
        score: u8,
        at: Millis,
    },
    Heartbeat {
        kiosk: KioskId,
        at: Millis,
        json: String,
    },
    SelfTest {
        kiosk: KioskId,
        json: String,
    },
    SoftwareVersion {
        kiosk: KioskId,
        version: ShortText,
    },
}

impl Write {
    /// Whether a client is told of this write, or a restart depends on it: then it is made
    /// before anything that follows it goes out. Kiosk reports are not: they may lag.
    pub fn acknowledged(&self) -> bool {
        !matches!(
            self,
            Write::Heartbeat { .. } | Write::SelfTest { .. } | Write::SoftwareVersion { .. }
        )
    }
}

/// Something that happened, for the broker's metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    CallStarted,
    VisitEnded(VisitEndReason),
    /// A request refused with this code.
    Refused(ErrorCode),
}

/// What storage held when the broker started.
#[derive(Debug, Clone, Default)]
pub struct Restored {
    pub agencies: Vec<AgencyRow>,
    /// Bookings whose check-in window has not closed.
    pub bookings: Vec<BookingRow>,
    /// Kiosks held out of service, with the message their screens show.
    pub out_of_service: Vec<(KioskId, LongText)>,
    /// Visits that were waiting when the broker stopped.
    pub waiting: Vec<WaitingRecord>,
    /// Calls that were going on; they go on.
    pub calls: Vec<CallRecord>,
}

/// What the core is set up with and never changes while it runs.
#[derive(Debug, Clone)]
pub struct CoreConfig {
    pub routing: RoutingConfig,
    /// Where opening hours are read.
    pub zone: TimeZone,
    pub heartbeat_seconds: u32,
    /// Makes the ids the core gives out unique across restarts: random, from the shell.
    pub id_prefix: String,
}

/// How often opening hours are looked at again; they are given to the minute.
const HOURS_CHECK_MS: Millis = 30_000;

/// Someone who has had a desk open since the start.
#[derive(Debug)]
struct Person {
    /// As others are shown them, in calls and transfers, after they have gone too.
    card: StaffCard,
    /// Their desk's current connection, while one is open.
    desk: Option<DeskLink>,
}

/// A desk open now.
#[derive(Debug, Clone, Copy)]
struct DeskLink {
    connection: ConnectionId,
    /// Officers and interpreters take calls; administrators only watch.
    takes_calls: bool,
}

#[derive(Debug)]
pub struct Core {
    config: CoreConfig,
    router: Router,
    directory: Directory,
    /// Connected kiosks, by their current connection.
    kiosks: HashMap<KioskId, ConnectionId>,
    /// Everyone who has had a desk open since the start, with the desk open now, if any. One
    /// map, not one for cards and one for desks: an idle desk costs what it holds here.
    people: HashMap<StaffId, Person>,
    /// The visit each kiosk has going, waiting or in a call.
    kiosk_visit: HashMap<KioskId, VisitId>,
    /// Visits ended in the last hours, with their kiosk, why and when.
    recently_ended: ended::EndedVisits,
    /// The queues each agency's officers were last sent. A change that leaves them as they
    /// were (an officer coming online as away) is not sent again: with thousands of officers
    /// connecting each morning, those repeats grew as the square of their number.
    queues_sent: HashMap<AgencyId, (Millis, Vec<QueueView>)>,
    /// Agencies whose queues changed within [`queues::QUEUES_EVERY_MS`] of the last sending, and
    /// when they are sent next: a busy agency's officers get its queues once a second, not
    /// after every one of hundreds of changes.
    queues_due: BTreeMap<AgencyId, Millis>,
    /// When opening hours are looked at next, and which agencies were open then.
    hours_checked: Option<(Millis, Vec<nara_protocol::kiosk::AgencyChoice>)>,
    /// The request being handled, named in what refuses it.
    answering: Option<RequestId>,
    now: Millis,
    outputs: VecDeque<Output>,
}

impl Core {
    /// A core with the directory as stored, and the visits that were waiting when the broker
    /// last stopped (their kiosks have the grace time to come back).
    pub fn new(config: CoreConfig, restored: Restored, now: Millis) -> Core {
        let Restored {
            agencies,
            bookings,
            out_of_service,
            waiting,
            calls,
        } = restored;
        let mut directory = Directory::new(agencies, bookings, out_of_service, config.zone.clone());
        directory.forget_past_bookings(now);
        let mut router = Router::new(config.routing.clone(), &config.id_prefix);
        let mut kiosk_visit = HashMap::new();
        for call in calls {
            let (kiosk, visit) = (call.kiosk.clone(), call.visit.clone());
            match router.restore_call(call, now) {
                Ok(()) => {
                    kiosk_visit.insert(kiosk, visit);
                }
                Err(e) => tracing::warn!(error = %e, "a stored call could not be restored"),
            }
        }
        // A visit in a call is also saved as waiting at the front of its queue, in case its
        // call was not saved; with the call back, it is not queued again.
        let waiting: Vec<WaitingRecord> = waiting
            .into_iter()
            .filter(|w| router.visit(&w.visit).is_none())
            .collect();
        for w in waiting {
            let spec = VisitSpec {
                visit: w.visit.clone(),
                kiosk: w.kiosk.clone(),
                site_name: w.site_name,
                queue: w.queue,
                booking: w.booking,
                queued_at: w.queued_at,
                front_of_queue: w.front,
                kiosk_online: false,
            };
            match router.handle(crate::routing::Event::Enqueue { spec }, now) {
                Ok(_) => {
                    kiosk_visit.insert(w.kiosk, w.visit);
                }
                Err(e) => tracing::warn!(error = %e, "a stored visit could not be restored"),
            }
        }
        Core {
            directory,
            config,
            router,
            kiosks: HashMap::new(),
            people: HashMap::new(),
            kiosk_visit,
            recently_ended: ended::EndedVisits::default(),
            queues_sent: HashMap::new(),
            queues_due: BTreeMap::new(),
            hours_checked: None,
            answering: None,
            now,
            outputs: VecDeque::new(),
        }
    }

    /// Takes in what happened at `now`. Whatever it leads to waits in [`Core::poll_output`].
    pub fn handle_input(&mut self, input: Input, now: Millis) {
        // Time never runs backwards in here, whatever the wall clock does.
        self.now = self.now.max(now);
        // What refuses a client's request names it.
        self.answering = match &input {
            Input::FromKiosk { request, .. } | Input::FromDesk { request, .. } => request.clone(),
            _ => None,
        };
        match input {
            Input::KioskConnected(hello) => self.kiosk_connected(hello),
            Input::KioskDisconnected { kiosk, connection } => {
                self.kiosk_disconnected(&kiosk, connection)
            }
            Input::FromKiosk { kiosk, message, .. } => self.kiosk_said(&kiosk, message),
            Input::DeskConnected(hello) => self.desk_connected(hello),
            Input::DeskDisconnected { staff, connection } => {
                self.desk_disconnected(&staff, connection)
            }
            Input::FromDesk { staff, message, .. } => self.desk_said(&staff, message),
            Input::Directory(change) => self.directory_changed(change),
            Input::Timeout => self.timeout(),
        }
        self.answering = None;
        self.send_due_queues();
    }

    /// The next thing to do, in order; `None` when all is done.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// When [`Input::Timeout`] is due next.
    pub fn poll_timeout(&self) -> Millis {
        let hours = self.hours_checked.as_ref().map_or(self.now, |(at, _)| *at);
        let booked = self.directory.next_booking_expiry();
        let queues = self.queues_due.values().min().copied();
        [self.router.next_deadline(), booked, queues]
            .into_iter()
            .flatten()
            .fold(hours, Millis::min)
    }

    fn timeout(&mut self) {
        let _ = self.apply(crate::routing::Event::Tick);
        if self
            .hours_checked
            .as_ref()
            .is_none_or(|(at, _)| *at <= self.now)
        {
            self.check_hours();
            // With the hours, not at every timeout: a day's ended visits are many.
            self.recently_ended.forget_old(self.now);
        }
        self.directory.forget_past_bookings(self.now);
    }

    fn directory_changed(&mut self, change: DirectoryChange) {
        match change {
            DirectoryChange::Agency(row) => {
                self.directory.set_agency(row);
                self.check_hours();
            }
            DirectoryChange::OutOfService { kiosk, message } => {
                self.directory.set_out_of_service(&kiosk, message.clone());
                let note = match message {
                    Some(message) => BrokerToKiosk::OutOfService { message },
                    None => BrokerToKiosk::BackInService,
                };
                self.send_kiosk(&kiosk, note);
            }
            DirectoryChange::Booking(row) => self.directory.add_booking(row),
            DirectoryChange::StaffAbilities(profile) => {
                let _ = self.apply(Event::ProfileChanged { profile });
            }
        }
    }

    // ---- views for the shell ----

    /// The queues of `agency` as its officers see them.
    pub fn queue_views(&self, agency: &AgencyId) -> Vec<QueueView> {
        queues::views(&self.router, agency, self.now)
    }

    /// Visits waiting and calls going, for the broker's gauges.
    pub fn counts(&self) -> (usize, usize) {
        // From the index, not a walk: the driver asks after every input.
        (self.router.waiting.len(), self.router.calls().len())
    }

    /// The routing state, for tests.
    #[cfg(test)]
    pub fn router(&self) -> &Router {
        &self.router
    }

    // ---- shared helpers ----

    fn send_kiosk(&mut self, kiosk: &KioskId, message: BrokerToKiosk) {
        self.outputs.push_back(Output::ToKiosk {
            kiosk: kiosk.clone(),
            message,
        });
    }

    fn send_desk(&mut self, staff: &StaffId, message: BrokerToDesk) {
        self.outputs.push_back(Output::ToDesk {
            staff: staff.clone(),
            message,
        });
    }

    fn write(&mut self, write: Write) {
        self.outputs.push_back(Output::Write(write));
    }

    fn audit(&mut self, actor: &str, action: &str, target: &str, detail: &str) {
        self.write(Write::Audit(AuditRow {
            at: self.now,
            actor: actor.into(),
            action: action.into(),
            target: target.into(),
            detail: detail.into(),
        }));
    }

    fn refuse_kiosk(&mut self, kiosk: &KioskId, refusal: Refusal) {
        self.outputs
            .push_back(Output::Count(Count::Refused(refusal.code)));
        let reply = refusal.reply(self.answering.clone());
        self.send_kiosk(kiosk, BrokerToKiosk::Error(reply));
    }

    fn refuse_desk(&mut self, staff: &StaffId, refusal: Refusal) {
        self.outputs
            .push_back(Output::Count(Count::Refused(refusal.code)));
        let reply = refusal.reply(self.answering.clone());
        self.send_desk(staff, BrokerToDesk::Error(reply));
    }

    /// Applies a routing event at the core's time and renders what it decided.
    fn apply(&mut self, event: crate::routing::Event) -> Result<(), Refusal> {
        let commands = self.router.handle(event, self.now).map_err(Refusal::from)?;
        for command in commands {
            self.render(command);
        }
        Ok(())
    }

    fn card(&self, staff: &StaffId) -> StaffCard {
        self.people
            .get(staff)
            .map(|p| p.card.clone())
            .unwrap_or_else(|| StaffCard {
                staff: staff.clone(),
                display_name: ShortText::new(staff.as_str()).expect("ids are short text"),
                role: StaffRoleKind::Officer,
                agency: None,
                agency_name: None,
                interprets: None,
            })
    }

    /// Whether `staff` is an officer who has had a desk open: never assumed of someone unknown.
    fn is_officer(&self, staff: &StaffId) -> bool {
        self.people
            .get(staff)
            .is_some_and(|person| person.card.role == StaffRoleKind::Officer)
    }

    fn kiosk_online(&self, kiosk: &KioskId) -> bool {
        self.kiosks.contains_key(kiosk)
    }

    fn desk_online(&self, staff: &StaffId) -> bool {
        self.desk(staff).is_some()
    }

    /// The desk `staff` has open now.
    fn desk(&self, staff: &StaffId) -> Option<DeskLink> {
        self.people.get(staff).and_then(|person| person.desk)
    }

    /// Whether `visit` is (or was, recently) this kiosk's, for surveys and document notes.
    fn visit_belongs_to(&self, visit: &VisitId, kiosk: &KioskId) -> bool {
        self.kiosk_visit.get(kiosk) == Some(visit)
            || self
                .recently_ended
                .get(visit)
                .is_some_and(|ended| ended.kiosk == *kiosk)
    }
}

/// A request refused, and why: the code for programs, the words for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: ErrorCode,
    pub message: String,
}

impl Refusal {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Refusal {
        Refusal {
            code,
            message: message.into(),
        }
    }

    /// The reply refusing `request`.
    pub(super) fn reply(self, request: Option<RequestId>) -> ErrorReply {
        ErrorReply {
            code: self.code,
            message: self.message,
            fatal: false,
            request,
        }
    }
}

impl From<crate::routing::RoutingError> for Refusal {
    fn from(e: crate::routing::RoutingError) -> Refusal {
        Refusal::new(e.code(), e.to_string())
    }
}

#[cfg(test)]
mod interpreter_scenarios;
#[cfg(test)]
mod properties;
#[cfg(test)]
mod ringing_scenarios;
#[cfg(test)]
mod scenarios;
#[cfg(test)]
mod scene;
