//! What the citizen's screen shows and what a touch does, decided without GTK: the model is
//! fed the kiosk's status, the citizen's touches and the time, and answers with the screen to
//! draw and the requests to make of the kiosk. The view (`view/`) only draws and forwards.
//!
//! The citizen's own choices (language, the agency screen, a booking code being typed, a chat
//! line being written, larger text) live here until the visit ends or nobody has touched the
//! screen for [`IDLE_TIMEOUT`] outside a meeting: then all of it is dropped, the kiosk is asked
//! to forget the visit, and the attract screen returns. A citizen waiting in the queue is
//! asked "are you still there?" after [`STILL_THERE_AFTER`] without a touch, and leaves the
//! queue if nobody answers within [`STILL_THERE_FOR`]: a place is not held for nobody.

use crate::controller::DocumentRequest;
use crate::status::Status;
use crate::ui::i18n::Language;
use crate::ui::stage::Comings;
use crate::visit::{CitizenAction, Phase};
use nara_protocol::{AgencyId, BookingCode, ErrorCode, StaffId, WaitRange};
use std::time::Duration;

/// Without a touch for this long outside a meeting, the visit is cleared.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Waiting in the queue this long without a touch, the citizen is asked if they are there.
pub const STILL_THERE_AFTER: Duration = Duration::from_secs(10 * 60);
/// Unanswered this long, the question gives the place up.
pub const STILL_THERE_FOR: Duration = Duration::from_secs(60);
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
    /// Long in the queue without a touch: is anyone still there?
    StillThere,
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
    /// What the citizen asked for was refused (an agency closed, a booking code not for
    /// now): why, in their language, and the way back.
    Refused {
        code: ErrorCode,
        agency: Option<AgencyId>,
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
            Screen::StillThere => "still-there",
            Screen::Connecting => "connecting",
            Screen::Meeting => "meeting",
            Screen::ConnectionLost => "connection-lost",
            Screen::Ended { .. } => "ended",
            Screen::Goodbye => "goodbye",
            Screen::OutOfService { .. } => "out-of-service",
            Screen::Refused { .. } => "refused",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Estimate {
    Minutes {
        low: u32,
        high: u32,
    },
    Soon,
    NoOfficer,
    /// Officers are here, but nobody to interpret the citizen's language.
    NoInterpreter,
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
    /// "Yes, I am still here."
    StillHere,
    /// Back from a refusal to the screen where the citizen asked.
    DismissRefusal,
    ToggleChat,
    ChatKey(char),
    ChatErase,
    ChatSend,
    Scan,
    Rescan,
    /// Send the pages to this officer: the one named on the button touched.
    SendDocument(StaffId),
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
    was_waiting: bool,
    /// The last touch itself (`last_touch` also moves while a meeting or a wait goes on).
    last_input: Millis,
    /// When this wait in the queue began, and when the citizen was asked if still there.
    waiting_since: Option<Millis>,
    asked_since: Option<Millis>,
    /// Who joins and leaves the meeting, announced on the screen.
    pub comings: Comings,
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
            was_waiting: false,
            last_input: now,
            waiting_since: None,
            asked_since: None,
            comings: Comings::default(),
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
        // A meeting whose picture still comes goes on peer to peer without the broker.
        let in_meeting = matches!(status.visit, Phase::InCall { .. }) && picture_arrives(status);
        if mid_visit && !status.connected && !in_meeting {
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
                if self.asked_since.is_some() {
                    return Screen::StillThere;
                }
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
                        WaitRange::NoInterpreterOnline => Estimate::NoInterpreter,
                    },
                    booked: *booked,
                }
            }
            Phase::InCall { .. } => {
                if in_meeting {
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
            Phase::Refused { code, agency } => Screen::Refused {
                code: *code,
                agency: agency.clone(),
            },
            Phase::OutOfService { .. } => unreachable!("handled above"),
        }
    }

    /// A touch: what it changes here, and what the kiosk must do.
    pub fn input(&mut self, input: Input, now: Millis) -> Vec<Request> {
        self.last_touch = now;
        // Any touch answers "are you still there?".
        self.last_input = now;
        self.asked_since = None;
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
            Input::StillHere => {}
            Input::DismissRefusal => out.push(Request::Citizen(CitizenAction::Reset)),
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
            Input::SendDocument(to) => {
                out.push(Request::Document(DocumentRequest::Send { to: Some(to) }))
            }
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
        self.comings.update(status, now);
        // A wait that ended with nobody met, not by a touch here (given up while the kiosk
        // was away): the next person starts from the beginning.
        let waiting = matches!(status.visit, Phase::Waiting { .. });
        if self.was_waiting && matches!(status.visit, Phase::Idle) {
            self.clear();
        }
        self.was_waiting = waiting;
        if let Local::Goodbye { since } = self.local {
            if now.saturating_sub(since) >= GOODBYE_FOR.as_millis() as u64 {
                self.clear();
            }
            return out;
        }
        if self.still_there_unanswered(status, now) {
            out.push(Request::Citizen(CitizenAction::Reset));
            self.clear();
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

    /// Asks "are you still there?" once a connected wait has gone untouched long enough;
    /// true when the question went unanswered and the place is to be given up.
    fn still_there_unanswered(&mut self, status: &Status, now: Millis) -> bool {
        if !(matches!(status.visit, Phase::Waiting { .. }) && status.connected) {
            self.waiting_since = None;
            self.asked_since = None;
            return false;
        }
        let since = *self.waiting_since.get_or_insert(now);
        let quiet = now.saturating_sub(self.last_input.max(since));
        match self.asked_since {
            None if quiet >= STILL_THERE_AFTER.as_millis() as u64 => {
                self.asked_since = Some(now);
                false
            }
            Some(asked) if now.saturating_sub(asked) >= STILL_THERE_FOR.as_millis() as u64 => {
                self.waiting_since = None;
                self.asked_since = None;
                true
            }
            _ => false,
        }
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

fn picture_arrives(status: &Status) -> bool {
    status
        .peers
        .iter()
        .any(|p| p.received.iter().any(|r| r.width > 0 && r.decoded > 0))
}

#[cfg(test)]
mod tests;
