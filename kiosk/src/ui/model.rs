//! What the citizen's screen shows and what a touch does, decided without GTK: the model is
//! fed the kiosk's status, the citizen's touches and the time, and answers with the screen to
//! draw and the requests to make of the kiosk. The view (`view/`) only draws and forwards.
//!
//! The citizen's own choices (language, the agency screen, a booking code being typed, a chat
//! line being written, larger text) live here until the visit ends or nobody has touched the
//! screen for [`IDLE_TIMEOUT`] outside a meeting: then all of it is dropped, the kiosk is asked
//! to forget the visit, and the attract screen returns.

use crate::controller::DocumentRequest;
use crate::status::Status;
use crate::ui::i18n::Language;
use crate::visit::{CitizenAction, Phase};
use nara_protocol::{AgencyId, BookingCode, StaffId, WaitRange};
use std::time::Duration;

/// Without a touch for this long outside a meeting, the visit is cleared.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// How long "thank you, goodbye" stays before the attract screen.
pub const GOODBYE_FOR: Duration = Duration::from_secs(8);
/// Booking codes in letters are this long (the broker's alphabet, upper case).
pub const BOOKING_CODE_LEN: usize = 8;

/// Milliseconds on a monotonic clock; tests pass their own.
pub type Millis = u64;

/// The screens, in the order a visit meets them.
#[derive(Clone, Debug, PartialEq)]
pub enum Screen {
    Attract,
    Language,
    Agency,
    Booking {
        code: String,
        wrong: bool,
    },
    /// In the queue: place and an honest estimate, or why there is none.
    Waiting {
        position: u32,
        estimate: Estimate,
        booked: bool,
    },
    BookInstead,
    /// The call has started; the officer's picture is not here yet.
    Connecting,
    Meeting,
    /// The broker link is down while waiting or meeting; the place is kept.
    ConnectionLost,
    Ended {
        survey_answered: bool,
    },
    Goodbye,
    OutOfService {
        message: String,
    },
}

impl Screen {
    /// A stable name for tests, screenshots and logs.
    pub fn name(&self) -> &'static str {
        match self {
            Screen::Attract => "attract",
            Screen::Language => "language",
            Screen::Agency => "agency",
            Screen::Booking { .. } => "booking",
            Screen::Waiting { .. } => "waiting",
            Screen::BookInstead => "book-instead",
            Screen::Connecting => "connecting",
            Screen::Meeting => "meeting",
            Screen::ConnectionLost => "connection-lost",
            Screen::Ended { .. } => "ended",
            Screen::Goodbye => "goodbye",
            Screen::OutOfService { .. } => "out-of-service",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Estimate {
    Minutes { low: u32, high: u32 },
    Soon,
    NoOfficer,
}

/// What the citizen did.
#[derive(Clone, Debug, PartialEq)]
pub enum Input {
    Start,
    ChooseLanguage(Language),
    ChooseAgency(AgencyId),
    OpenBooking,
    BookingKey(char),
    BookingErase,
    SubmitBooking,
    Back,
    Leave,
    BookInstead,
    ToggleChat,
    ChatKey(char),
    ChatErase,
    ChatSend,
    Scan,
    Rescan,
    SendDocument,
    CancelDocument,
    ToggleMute,
    VolumeUp,
    VolumeDown,
    ToggleLargerText,
    ToggleHighContrast,
    Survey(u8),
    AnotherAgency,
    Done,
}

/// What the kiosk is asked to do.
#[derive(Clone, Debug, PartialEq)]
pub enum Request {
    Citizen(CitizenAction),
    Chat(String),
    Document(DocumentRequest),
    Microphone {
        muted: bool,
    },
    /// The speaker's volume, 0–100 %.
    Volume(u8),
    /// The chime for an officer who has just answered.
    Chime,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Local {
    Attract,
    Language,
    Agency,
    Booking,
    BookInstead,
    Goodbye { since: Millis },
}

/// The citizen's side of the screen.
#[derive(Debug)]
pub struct Model {
    pub language: Language,
    pub larger_text: bool,
    pub high_contrast: bool,
    pub muted: bool,
    pub volume: u8,
    pub booking_code: String,
    pub booking_wrong: bool,
    pub chat_draft: String,
    /// The chat's keyboard is out.
    pub chat_open: bool,
    local: Local,
    last_touch: Millis,
    was_in_call: bool,
}

impl Model {
    pub fn new(now: Millis) -> Model {
        Model {
            language: Language::Swedish,
            larger_text: false,
            high_contrast: false,
            muted: false,
            volume: 80,
            booking_code: String::new(),
            booking_wrong: false,
            chat_draft: String::new(),
            chat_open: false,
            local: Local::Attract,
            last_touch: now,
            was_in_call: false,
        }
    }

    /// The screen for this status.
    pub fn screen(&self, status: &Status) -> Screen {
        if let Phase::OutOfService { message } = &status.visit {
            return Screen::OutOfService {
                message: message.as_str().to_string(),
            };
        }
        let mid_visit = matches!(
            status.visit,
            Phase::Asking { .. } | Phase::Waiting { .. } | Phase::InCall { .. }
        );
        if mid_visit && !status.connected {
            return Screen::ConnectionLost;
        }
        match &status.visit {
            Phase::Idle => match self.local {
                Local::Attract => Screen::Attract,
                Local::Language => Screen::Language,
                Local::Agency | Local::BookInstead => Screen::Agency,
                Local::Booking => Screen::Booking {
                    code: self.booking_code.clone(),
                    wrong: self.booking_wrong,
                },
                Local::Goodbye { .. } => Screen::Goodbye,
            },
            Phase::Asking { .. } => Screen::Waiting {
                position: 0,
                estimate: Estimate::Soon,
                booked: false,
            },
            Phase::Waiting {
                estimate, booked, ..
            } => {
                if self.local == Local::BookInstead {
                    return Screen::BookInstead;
                }
                Screen::Waiting {
                    position: estimate.position,
                    estimate: match estimate.wait {
                        WaitRange::Seconds {
                            low_seconds,
                            high_seconds,
                        } if high_seconds >= 60 => Estimate::Minutes {
                            low: low_seconds.div_ceil(60).max(1),
                            high: high_seconds.div_ceil(60).max(1),
                        },
                        WaitRange::Seconds { .. } => Estimate::Soon,
                        WaitRange::NoOfficerOnline => Estimate::NoOfficer,
                    },
                    booked: *booked,
                }
            }
            Phase::InCall { .. } => {
                let picture = status
                    .peers
                    .iter()
                    .any(|p| p.received.iter().any(|r| r.width > 0 && r.decoded > 0));
                if picture {
                    Screen::Meeting
                } else {
                    Screen::Connecting
                }
            }
            Phase::Ended {
                survey_answered, ..
            } => match self.local {
                Local::Goodbye { .. } => Screen::Goodbye,
                _ => Screen::Ended {
                    survey_answered: *survey_answered,
                },
            },
            Phase::OutOfService { .. } => unreachable!("handled above"),
        }
    }

    /// A touch: what it changes here, and what the kiosk must do.
    pub fn input(&mut self, input: Input, status: &Status, now: Millis) -> Vec<Request> {
        self.last_touch = now;
        let mut out = Vec::new();
        match input {
            Input::Start => self.local = Local::Language,
            Input::ChooseLanguage(language) => {
                self.language = language;
                self.local = Local::Agency;
            }
            Input::ChooseAgency(agency) => out.push(Request::Citizen(CitizenAction::StartVisit {
                language: nara_protocol::LanguageCode::new(self.language.code())
                    .expect("the kiosk's languages are valid codes"),
                agency,
            })),
            Input::OpenBooking => {
                self.booking_code.clear();
                self.booking_wrong = false;
                self.local = Local::Booking;
            }
            Input::BookingKey(c) => {
                if self.booking_code.chars().count() < BOOKING_CODE_LEN {
                    self.booking_code.push(c.to_ascii_uppercase());
                }
                self.booking_wrong = false;
            }
            Input::BookingErase => {
                self.booking_code.pop();
                self.booking_wrong = false;
            }
            Input::SubmitBooking => match BookingCode::new(self.booking_code.clone()) {
                Ok(code) if self.booking_code.chars().count() == BOOKING_CODE_LEN => {
                    out.push(Request::Citizen(CitizenAction::CheckIn { code }));
                }
                _ => self.booking_wrong = true,
            },
            Input::Back => {
                self.local = match self.local {
                    Local::Agency => Local::Language,
                    Local::Language => Local::Attract,
                    Local::Booking | Local::BookInstead => Local::Agency,
                    other => other,
                }
            }
            Input::BookInstead => self.local = Local::BookInstead,
            Input::Leave => {
                self.local = Local::Agency;
                out.push(Request::Citizen(CitizenAction::Leave));
            }
            Input::ToggleChat => self.chat_open = !self.chat_open,
            Input::ChatKey(c) => {
                if self.chat_draft.chars().count() < 500 {
                    self.chat_draft.push(c);
                }
            }
            Input::ChatErase => {
                self.chat_draft.pop();
            }
            Input::ChatSend => {
                let text = self.chat_draft.trim().to_string();
                if !text.is_empty() {
                    self.chat_draft.clear();
                    out.push(Request::Chat(text));
                }
            }
            Input::Scan => out.push(Request::Document(DocumentRequest::Scan)),
            Input::Rescan => out.push(Request::Document(DocumentRequest::Rescan)),
            Input::SendDocument => out.push(Request::Document(DocumentRequest::Send {
                to: recipient(status),
            })),
            Input::CancelDocument => out.push(Request::Document(DocumentRequest::Cancel)),
            // The screen applies these (and their reset for the next citizen) to the media.
            Input::ToggleMute => self.muted = !self.muted,
            Input::VolumeUp => self.volume = (self.volume + 10).min(100),
            Input::VolumeDown => self.volume = self.volume.saturating_sub(10),
            Input::ToggleLargerText => self.larger_text = !self.larger_text,
            Input::ToggleHighContrast => self.high_contrast = !self.high_contrast,
            Input::Survey(score) => out.push(Request::Citizen(CitizenAction::Survey {
                score: score.clamp(1, 5),
            })),
            Input::AnotherAgency => {
                // A new visit in the same language: only this citizen's choices are kept.
                self.forget_visit();
                self.local = Local::Agency;
                out.push(Request::Citizen(CitizenAction::Reset));
            }
            Input::Done => {
                self.local = Local::Goodbye { since: now };
                out.push(Request::Citizen(CitizenAction::Reset));
            }
        }
        out
    }

    /// Time passing: the idle timeout and the goodbye's end. Also notices an officer
    /// answering, for the chime.
    pub fn tick(&mut self, status: &Status, now: Millis) -> Vec<Request> {
        let mut out = Vec::new();
        let in_call = matches!(status.visit, Phase::InCall { .. });
        if in_call && !self.was_in_call {
            out.push(Request::Chime);
        }
        self.was_in_call = in_call;
        if let Local::Goodbye { since } = self.local {
            if now.saturating_sub(since) >= GOODBYE_FOR.as_millis() as u64 {
                self.clear();
            }
            return out;
        }
        // Waiting in the queue and meeting are not idleness: the citizen is watching.
        let protected = matches!(
            status.visit,
            Phase::Asking { .. }
                | Phase::Waiting { .. }
                | Phase::InCall { .. }
                | Phase::OutOfService { .. }
        );
        if protected {
            // The minute starts when the meeting or the wait ends, not at the last touch.
            self.last_touch = now;
            return out;
        }
        let untouched = now.saturating_sub(self.last_touch) >= IDLE_TIMEOUT.as_millis() as u64;
        let somewhere = self.local != Local::Attract || !matches!(status.visit, Phase::Idle);
        if untouched && somewhere {
            if !matches!(status.visit, Phase::Idle) {
                out.push(Request::Citizen(CitizenAction::Reset));
            }
            self.clear();
        }
        out
    }

    /// Everything of the citizen gone: the next person starts from the attract screen in
    /// Swedish with default settings.
    fn clear(&mut self) {
        self.forget_visit();
        self.language = Language::Swedish;
        self.larger_text = false;
        self.high_contrast = false;
        self.local = Local::Attract;
    }

    fn forget_visit(&mut self) {
        self.booking_code.clear();
        self.booking_wrong = false;
        self.chat_draft.clear();
        self.chat_open = false;
        self.muted = false;
        self.volume = 80;
    }
}

/// Who a document goes to: the desk that asked for it, else the only desk in the meeting.
fn recipient(status: &Status) -> Option<StaffId> {
    status
        .document_requested_by
        .clone()
        .or_else(|| (status.peers.len() == 1).then(|| status.peers[0].staff.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::documents::DocumentStatus;
    use crate::media::receiver::ReceiverStats;
    use crate::media::CaptureHealth;
    use crate::status::PeerStatus;
    use nara_protocol::kiosk::VisitEndReason;
    use nara_protocol::{CallId, VisitId, WaitEstimate};

    fn status(visit: Phase) -> Status {
        Status {
            kiosk: "k-1".into(),
            connected: true,
            site_name: "Rinkeby".into(),
            agencies: Vec::new(),
            visit,
            peers: Vec::new(),
            chat: Vec::new(),
            document_requested_by: None,
            document: DocumentStatus::default(),
            capture: CaptureHealth {
                camera_frames: 0,
                microphone_buffers: 0,
                microphone_peak_decibels_x10: None,
                camera_error: None,
                microphone_error: None,
            },
            last_error: None,
        }
    }

    fn waiting(position: u32, wait: WaitRange) -> Phase {
        Phase::Waiting {
            visit: VisitId::new("v-1").unwrap(),
            agency: AgencyId::new("csn").unwrap(),
            language: nara_protocol::LanguageCode::new("ar").unwrap(),
            estimate: WaitEstimate { position, wait },
            booked: false,
        }
    }

    fn in_call(picture: bool) -> Status {
        let mut s = status(Phase::InCall {
            visit: VisitId::new("v-1").unwrap(),
            call: CallId::new("c-1").unwrap(),
            participants: Vec::new(),
        });
        s.peers.push(PeerStatus {
            staff: StaffId::new("anna-csn").unwrap(),
            display_name: "Anna Lind".into(),
            agency_name: Some("CSN".into()),
            connected: true,
            channel_open: true,
            network: None,
            received: vec![ReceiverStats {
                decoded: u64::from(picture),
                width: if picture { 640 } else { 0 },
                ..Default::default()
            }],
        });
        s
    }

    fn ended() -> Status {
        status(Phase::Ended {
            visit: VisitId::new("v-1").unwrap(),
            reason: VisitEndReason::Completed,
            survey_answered: false,
        })
    }

    const SECOND: Millis = 1000;

    #[test]
    fn a_visit_goes_from_the_attract_screen_to_the_queue_in_the_chosen_language() {
        let idle = status(Phase::Idle);
        let mut model = Model::new(0);
        assert_eq!(model.screen(&idle), Screen::Attract);
        model.input(Input::Start, &idle, SECOND);
        assert_eq!(model.screen(&idle), Screen::Language);
        model.input(Input::ChooseLanguage(Language::Arabic), &idle, 2 * SECOND);
        assert_eq!(model.screen(&idle), Screen::Agency);
        let asked = model.input(
            Input::ChooseAgency(AgencyId::new("csn").unwrap()),
            &idle,
            3 * SECOND,
        );
        assert_eq!(
            asked,
            [Request::Citizen(CitizenAction::StartVisit {
                language: nara_protocol::LanguageCode::new("ar").unwrap(),
                agency: AgencyId::new("csn").unwrap(),
            })]
        );
        let queued = status(waiting(
            3,
            WaitRange::Seconds {
                low_seconds: 240,
                high_seconds: 600,
            },
        ));
        assert_eq!(
            model.screen(&queued),
            Screen::Waiting {
                position: 3,
                estimate: Estimate::Minutes { low: 4, high: 10 },
                booked: false
            }
        );
        let nobody = status(waiting(1, WaitRange::NoOfficerOnline));
        assert!(matches!(
            model.screen(&nobody),
            Screen::Waiting {
                estimate: Estimate::NoOfficer,
                ..
            }
        ));
    }

    #[test]
    fn the_meeting_shows_once_the_officer_is_seen_and_chimes_once() {
        let mut model = Model::new(0);
        assert_eq!(model.screen(&in_call(false)), Screen::Connecting);
        assert_eq!(model.tick(&in_call(false), SECOND), [Request::Chime]);
        assert_eq!(model.tick(&in_call(true), 2 * SECOND), []);
        assert_eq!(model.screen(&in_call(true)), Screen::Meeting);
    }

    #[test]
    fn a_lost_connection_keeps_the_place_and_says_so() {
        let model = Model::new(0);
        let mut lost = status(waiting(2, WaitRange::NoOfficerOnline));
        lost.connected = false;
        assert_eq!(model.screen(&lost), Screen::ConnectionLost);
        let mut idle = status(Phase::Idle);
        idle.connected = false;
        assert_eq!(
            model.screen(&idle),
            Screen::Attract,
            "nobody to tell at rest"
        );
    }

    #[test]
    fn a_minute_without_touch_outside_a_meeting_drops_everything() {
        let idle = status(Phase::Idle);
        let mut model = Model::new(0);
        model.input(Input::Start, &idle, 0);
        model.input(Input::ChooseLanguage(Language::Tigrinya), &idle, SECOND);
        model.input(Input::ToggleLargerText, &idle, 2 * SECOND);
        model.input(Input::OpenBooking, &idle, 3 * SECOND);
        model.input(Input::BookingKey('k'), &idle, 4 * SECOND);
        assert_eq!(
            model.tick(&idle, 63 * SECOND),
            [],
            "59 s is not yet a minute"
        );
        assert_eq!(
            model.screen(&idle),
            Screen::Booking {
                code: "K".into(),
                wrong: false
            }
        );
        assert_eq!(model.tick(&idle, 64 * SECOND), []);
        assert_eq!(model.screen(&idle), Screen::Attract);
        assert_eq!(model.language, Language::Swedish);
        assert!(!model.larger_text);
        assert!(model.booking_code.is_empty());
    }

    #[test]
    fn after_a_meeting_the_idle_minute_also_asks_the_kiosk_to_forget_the_visit() {
        let mut model = Model::new(0);
        model.tick(&in_call(true), 0);
        model.input(Input::ToggleChat, &in_call(true), SECOND);
        model.input(Input::ChatKey('h'), &in_call(true), 2 * SECOND);
        // Watching the officer for minutes without touching is not idleness.
        assert_eq!(model.tick(&in_call(true), 600 * SECOND), []);
        assert_eq!(model.chat_draft, "h");
        let over = ended();
        assert_eq!(model.tick(&over, 601 * SECOND), []);
        model.input(Input::Survey(4), &over, 602 * SECOND);
        assert_eq!(
            model.tick(&over, 662 * SECOND),
            [Request::Citizen(CitizenAction::Reset)]
        );
        assert_eq!(model.chat_draft, "");
        assert!(!model.chat_open);
    }

    #[test]
    fn waiting_in_the_queue_is_not_idleness() {
        let mut model = Model::new(0);
        let queued = status(waiting(5, WaitRange::NoOfficerOnline));
        assert_eq!(model.tick(&queued, 3600 * SECOND), []);
        assert!(matches!(model.screen(&queued), Screen::Waiting { .. }));
    }

    #[test]
    fn goodbye_returns_to_the_attract_screen_with_nothing_kept() {
        let mut model = Model::new(0);
        model.input(Input::ChooseLanguage(Language::Dari), &ended(), 0);
        model.input(Input::ToggleHighContrast, &ended(), 0);
        assert_eq!(
            model.input(Input::Done, &ended(), SECOND),
            [Request::Citizen(CitizenAction::Reset)]
        );
        let idle = status(Phase::Idle);
        assert_eq!(model.screen(&idle), Screen::Goodbye);
        model.tick(&idle, SECOND + GOODBYE_FOR.as_millis() as u64);
        assert_eq!(model.screen(&idle), Screen::Attract);
        assert_eq!(model.language, Language::Swedish);
        assert!(!model.high_contrast);
    }

    #[test]
    fn another_agency_keeps_the_language_and_starts_over_at_the_agencies() {
        let mut model = Model::new(0);
        model.input(Input::ChooseLanguage(Language::Somali), &ended(), 0);
        assert_eq!(
            model.input(Input::AnotherAgency, &ended(), SECOND),
            [Request::Citizen(CitizenAction::Reset)]
        );
        assert_eq!(model.screen(&status(Phase::Idle)), Screen::Agency);
        assert_eq!(model.language, Language::Somali);
    }

    #[test]
    fn a_booking_code_must_be_whole_before_it_is_sent() {
        let idle = status(Phase::Idle);
        let mut model = Model::new(0);
        model.input(Input::OpenBooking, &idle, 0);
        for c in "abc".chars() {
            model.input(Input::BookingKey(c), &idle, 0);
        }
        assert_eq!(model.input(Input::SubmitBooking, &idle, 0), []);
        assert_eq!(
            model.screen(&idle),
            Screen::Booking {
                code: "ABC".into(),
                wrong: true
            }
        );
        for c in "DEFGHJK".chars() {
            model.input(Input::BookingKey(c), &idle, 0);
        }
        assert_eq!(model.booking_code, "ABCDEFGH", "no more than eight");
        assert_eq!(
            model.input(Input::SubmitBooking, &idle, 0),
            [Request::Citizen(CitizenAction::CheckIn {
                code: BookingCode::new("ABCDEFGH").unwrap()
            })]
        );
    }

    #[test]
    fn a_document_goes_to_the_officer_who_asked_for_it() {
        let mut model = Model::new(0);
        let mut meeting = in_call(true);
        meeting.peers.push(PeerStatus {
            staff: StaffId::new("maria-skatteverket").unwrap(),
            ..meeting.peers[0].clone()
        });
        meeting.document_requested_by = Some(StaffId::new("maria-skatteverket").unwrap());
        assert_eq!(
            model.input(Input::SendDocument, &meeting, 0),
            [Request::Document(DocumentRequest::Send {
                to: Some(StaffId::new("maria-skatteverket").unwrap())
            })]
        );
        meeting.document_requested_by = None;
        assert_eq!(
            model.input(Input::SendDocument, &meeting, 0),
            [Request::Document(DocumentRequest::Send { to: None })],
            "with two desks and no request, the kiosk asks the citizen to choose"
        );
    }
}
