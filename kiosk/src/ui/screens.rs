//! Each screen, drawn from the model and the kiosk's status. Big buttons, one task per screen,
//! every control named in the citizen's language (a button's name is its words; a control
//! with only a picture is named explicitly), and state in words as well as colour.

use super::i18n::{Arg, Language, Texts};
use super::keyboard::{self, Key, BOOKING_ROWS};
use super::model::{Estimate, Input, Model, Screen, BOOKING_CODE_LEN};
use crate::status::Status;
use gtk::prelude::*;
use gtk::{gdk, glib};
use gtk4 as gtk;
use nara_protocol::StaffId;
use std::rc::Rc;

pub(super) struct Draw<'a> {
    pub texts: &'a Texts,
    pub language: Language,
    pub model: &'a Model,
    pub status: &'a Status,
    pub on: Rc<dyn Fn(Input)>,
    pub preview: Option<gdk::Texture>,
}

pub(super) struct Drawn {
    pub root: gtk::Widget,
    /// Each remote person's picture on the meeting screen.
    pub desk_pictures: Vec<(StaffId, gtk::Picture)>,
    pub own_picture: Option<gtk::Picture>,
}

/// The screen's name with what it shows inside a meeting, for screenshots and tests.
/// `pictured`: how many remote people's pictures are on the screen.
pub(super) fn variant(
    screen: &Screen,
    status: &Status,
    model: &Model,
    preview: bool,
    pictured: usize,
) -> String {
    let settings = match (model.high_contrast, model.larger_text) {
        (true, true) => "-contrast-larger",
        (true, false) => "-contrast",
        (false, true) => "-larger",
        (false, false) => "",
    };
    let base = match screen {
        Screen::Meeting => meeting_variant(status, model, preview, pictured),
        Screen::Ended {
            survey_answered: true,
        } => "ended-thanks".to_string(),
        Screen::Booking { wrong: true, .. } => "booking-wrong".to_string(),
        Screen::Waiting {
            estimate: Estimate::NoOfficer,
            ..
        } => "waiting-no-officer".to_string(),
        Screen::Waiting {
            estimate: Estimate::NoInterpreter,
            ..
        } => "waiting-no-interpreter".to_string(),
        other => other.name().to_string(),
    };
    format!("{base}{settings}")
}

fn meeting_variant(status: &Status, model: &Model, preview: bool, pictured: usize) -> String {
    let document = &status.document;
    let part = if !status.connected {
        "offline"
    } else if document.scanning {
        "scanning"
    } else if document.sending.is_some() {
        "sending"
    } else if !document.pages.is_empty() && preview {
        "preview"
    } else if model.chat_open {
        "keyboard"
    } else if document.delivered_to.is_some() {
        "sent"
    } else if status.document_requested_by.is_some() {
        "scan"
    } else if !status.chat.is_empty() {
        "chat"
    } else {
        ""
    };
    if part.is_empty() && pictured > 1 {
        format!("meeting-with-{pictured}")
    } else if part.is_empty() {
        "meeting".into()
    } else {
        format!("meeting-{part}")
    }
}

pub(super) fn draw(d: &Draw, screen: &Screen) -> Drawn {
    let mut drawn = Drawn {
        root: gtk::Box::new(gtk::Orientation::Vertical, 0).upcast(),
        desk_pictures: Vec::new(),
        own_picture: None,
    };
    let body: gtk::Widget = match screen {
        Screen::Attract => d.attract(),
        Screen::Language => d.languages(),
        Screen::Agency => d.agencies(),
        Screen::Booking { code, wrong } => d.booking(code, *wrong),
        Screen::Waiting {
            position,
            estimate,
            booked,
        } => d.waiting(*position, estimate, *booked),
        Screen::BookInstead => d.book_instead(),
        Screen::StillThere => d.still_there(),
        Screen::Connecting => d.message(
            "call-start-symbolic",
            &d.t("officer-coming"),
            &d.t("connecting-body"),
            &["alert"],
        ),
        Screen::Meeting => d.meeting(&mut drawn),
        Screen::ConnectionLost => d.connection_lost(),
        Screen::Ended { survey_answered } => d.ended(*survey_answered),
        Screen::Goodbye => d.message(
            "face-smile-symbolic",
            &d.t("goodbye-title"),
            &d.t("goodbye-body"),
            &[],
        ),
        Screen::OutOfService { message } => d.out_of_service(message),
        Screen::Refused { code, agency } => d.refused(*code, agency.as_ref()),
    };
    let root = gtk::Box::new(gtk::Orientation::Vertical, 0);
    root.add_css_class("screen");
    root.add_css_class(screen.name());
    if *screen != Screen::Attract && !matches!(screen, Screen::OutOfService { .. }) {
        root.append(&d.header());
    }
    body.set_vexpand(true);
    root.append(&body);
    drawn.root = root.upcast();
    drawn
}

impl Draw<'_> {
    pub(super) fn t(&self, id: &str) -> String {
        self.texts.get(self.language, id, &[])
    }

    pub(super) fn ta(&self, id: &str, args: &[(&str, Arg)]) -> String {
        self.texts.get(self.language, id, args)
    }

    /// A big button with words and, before them, a picture; named by its words. (GTK 4.8
    /// names a button only by its own label, so the picture is drawn by CSS, not a child.)
    pub(super) fn button(
        &self,
        label: &str,
        icon: Option<&str>,
        input: Input,
        classes: &[&str],
    ) -> gtk::Button {
        let button = gtk::Button::with_label(label);
        if let Some(text) = button.child().and_downcast::<gtk::Label>() {
            text.set_wrap(true);
            text.set_justify(gtk::Justification::Center);
        }
        if let Some(icon) = icon {
            button.add_css_class("with-icon");
            button.add_css_class(&format!("icon-{icon}"));
        }
        button.add_css_class("big");
        for class in classes {
            button.add_css_class(class);
        }
        let on = self.on.clone();
        button.connect_clicked(move |_| on(input.clone()));
        button
    }

    /// A button whose words are the message `id`, with a picture and one style class.
    pub(super) fn action(&self, id: &str, icon: &str, input: Input, class: &str) -> gtk::Button {
        self.button(&self.t(id), Some(icon), input, &[class])
    }

    /// Buttons side by side, centred.
    pub(super) fn row(&self, buttons: &[gtk::Button]) -> gtk::Box {
        let row = gtk::Box::new(gtk::Orientation::Horizontal, 20);
        row.set_halign(gtk::Align::Center);
        for button in buttons {
            row.append(button);
        }
        row
    }

    pub(super) fn label(&self, text: &str, class: &str) -> gtk::Label {
        let label = gtk::Label::new(Some(text));
        label.set_wrap(true);
        label.set_justify(gtk::Justification::Center);
        label.add_css_class(class);
        label
    }

    pub(super) fn column(&self) -> gtk::Box {
        let column = gtk::Box::new(gtk::Orientation::Vertical, 24);
        column.set_halign(gtk::Align::Center);
        column.set_valign(gtk::Align::Center);
        column.add_css_class("column");
        column
    }

    /// The top row: where this is, and larger text and clearer colours for anyone.
    fn header(&self) -> gtk::Widget {
        let header = gtk::Box::new(gtk::Orientation::Horizontal, 12);
        header.add_css_class("header");
        let place = gtk::Label::new(Some(&format!("Nära · {}", self.status.site_name)));
        place.add_css_class("place");
        place.set_hexpand(true);
        place.set_xalign(0.0);
        header.append(&place);
        for (id, icon, on, input) in [
            (
                "settings-larger-text",
                "preferences-desktop-font-symbolic",
                self.model.larger_text,
                Input::ToggleLargerText,
            ),
            (
                "settings-high-contrast",
                "display-brightness-symbolic",
                self.model.high_contrast,
                Input::ToggleHighContrast,
            ),
        ] {
            let label = self.t(id);
            let toggle = gtk::ToggleButton::with_label(&label);
            toggle.add_css_class("with-icon");
            toggle.add_css_class(&format!("icon-{icon}"));
            toggle.set_active(on);
            toggle.add_css_class("setting");
            let handler = self.on.clone();
            toggle.connect_toggled(move |_| handler(input.clone()));
            header.append(&toggle);
        }
        header.upcast()
    }

    fn attract(&self) -> gtk::Widget {
        let column = self.column();
        let pictures = gtk::Box::new(gtk::Orientation::Horizontal, 32);
        pictures.set_halign(gtk::Align::Center);
        for icon in [
            "user-available-symbolic",
            "camera-video-symbolic",
            "system-users-symbolic",
        ] {
            pictures.append(&decoration(icon, 96));
        }
        column.append(&pictures);
        self.in_every_language(&column, "attract-title");
        let body = self.label(&self.t("attract-body"), "body");
        column.append(&body);
        let start: Vec<String> = Language::ALL
            .iter()
            .map(|l| self.texts.get(*l, "attract-touch", &[]))
            .collect();
        // One line per language, so that each runs in its own direction.
        let button = self.button(&start.join("\n"), None, Input::Start, &["primary", "start"]);
        column.append(&button);
        column.upcast()
    }

    /// The message `id` once in each language, each line in its own direction: for screens
    /// shown before the citizen has chosen a language.
    fn in_every_language(&self, column: &gtk::Box, id: &str) {
        for language in Language::ALL {
            let line = gtk::Box::new(gtk::Orientation::Vertical, 2);
            line.set_direction(if language.right_to_left() {
                gtk::TextDirection::Rtl
            } else {
                gtk::TextDirection::Ltr
            });
            line.append(&self.label(&self.texts.get(language, id, &[]), "attract-title"));
            column.append(&line);
        }
    }

    /// The administrator's words as they wrote them, under the title in every language: the
    /// screen shows before anyone has chosen a language.
    fn out_of_service(&self, message: &str) -> gtk::Widget {
        let column = self.column();
        column.append(&decoration("action-unavailable-symbolic", 128));
        self.in_every_language(&column, "out-of-service-title");
        column.append(&self.label(message, "body"));
        column.upcast()
    }

    /// The broker is out of reach in the middle of a visit: the place in the queue is kept
    /// (the broker holds it), and the citizen may still go.
    fn connection_lost(&self) -> gtk::Widget {
        let column = self.column();
        column.add_css_class("warning");
        column.append(&decoration("network-offline-symbolic", 128));
        column.append(&self.label(&self.t("lost-title"), "title"));
        column.append(&self.label(&self.t("lost-body"), "body"));
        column.append(&self.row(&[self.action(
            "waiting-leave",
            "go-previous-symbolic",
            Input::Leave,
            "secondary",
        )]));
        column.upcast()
    }

    fn languages(&self) -> gtk::Widget {
        let column = self.column();
        let titles: Vec<String> = Language::ALL
            .iter()
            .map(|l| self.texts.get(*l, "language-title", &[]))
            .collect();
        column.append(&self.label(&titles[..2].join(" · "), "title"));
        let grid = gtk::Grid::new();
        grid.set_row_spacing(20);
        grid.set_column_spacing(20);
        grid.set_halign(gtk::Align::Center);
        for (i, language) in Language::ALL.iter().enumerate() {
            let name = self.texts.get(*language, "language-name", &[]);
            let button = self.button(&name, None, Input::ChooseLanguage(*language), &["language"]);
            button.set_direction(if language.right_to_left() {
                gtk::TextDirection::Rtl
            } else {
                gtk::TextDirection::Ltr
            });
            grid.attach(&button, (i % 2) as i32, (i / 2) as i32, 1, 1);
        }
        column.append(&grid);
        column.append(&self.action("back", "go-previous-symbolic", Input::Back, "secondary"));
        column.upcast()
    }

    fn agencies(&self) -> gtk::Widget {
        let column = self.column();
        column.append(&self.label(&self.t("agency-title"), "title"));
        let grid = gtk::Grid::new();
        grid.set_row_spacing(16);
        grid.set_column_spacing(16);
        grid.set_halign(gtk::Align::Center);
        // Every agency, in every language: where none of its officers speaks the citizen's,
        // an interpreter joins the meeting, and the citizen is told so here.
        let mut agencies: Vec<_> = self.status.agencies.iter().collect();
        agencies.sort_by_key(|a| !a.open_now);
        // Every agency is listed in every language: more than six take three columns, so
        // that all fit the screen with the way back.
        let columns = if agencies.len() > 6 { 3 } else { 2 };
        for (i, agency) in agencies.iter().enumerate() {
            let state = if agency.open_now {
                self.t("agency-open")
            } else {
                let hours = super::refused::hours_text(self.texts, self.language, &agency.hours);
                self.ta("agency-closed", &[("hours", Arg::from(hours))])
            };
            let spoken = agency
                .languages
                .iter()
                .any(|l| l.as_str() == self.language.code());
            let label = match spoken {
                true => format!("{}\n{state}", agency.name),
                false => {
                    let interpreted = self.t("agency-with-interpreter");
                    format!("{}\n{state}\n{interpreted}", agency.name)
                }
            };
            let button = self.button(
                &label,
                Some(pictogram(agency.agency.as_str())),
                Input::ChooseAgency(agency.agency.clone()),
                &["agency"],
            );
            button.set_sensitive(agency.open_now);
            if columns == 3 {
                button.add_css_class("compact");
            }
            grid.attach(&button, (i % columns) as i32, (i / columns) as i32, 1, 1);
        }
        column.append(&grid);
        column.append(&self.row(&[
            self.action("back", "go-previous-symbolic", Input::Back, "secondary"),
            self.action(
                "booking-button",
                "x-office-calendar-symbolic",
                Input::OpenBooking,
                "secondary",
            ),
        ]));
        column.upcast()
    }

    fn booking(&self, code: &str, wrong: bool) -> gtk::Widget {
        let column = self.column();
        column.append(&self.label(&self.t("booking-title"), "title"));
        let shown: String = code
            .chars()
            .chain(std::iter::repeat('·'))
            .take(BOOKING_CODE_LEN)
            .collect();
        let entered = self.label(&shown, "code");
        entered.set_direction(gtk::TextDirection::Ltr);
        column.append(&entered);
        if wrong {
            column.append(&self.label(&self.t("booking-wrong"), "problem"));
        }
        let on = self.on.clone();
        column.append(&keyboard::keyboard(
            &BOOKING_ROWS,
            None,
            &self.t("keyboard-erase"),
            move |key| {
                on(match key {
                    Key::Char(c) => Input::BookingKey(c),
                    Key::Erase => Input::BookingErase,
                })
            },
        ));
        column.append(&self.row(&[
            self.action("back", "go-previous-symbolic", Input::Back, "secondary"),
            self.action(
                "booking-continue",
                "go-next-symbolic",
                Input::SubmitBooking,
                "primary",
            ),
        ]));
        column.upcast()
    }

    fn waiting(&self, position: u32, estimate: &Estimate, booked: bool) -> gtk::Widget {
        let column = self.column();
        column.append(&self.label(&self.t("waiting-title"), "title"));
        let spinner = gtk::Spinner::new();
        spinner.set_spinning(true);
        spinner.set_size_request(64, 64);
        column.append(&spinner);
        if position > 0 {
            column.append(&self.label(
                &self.ta("waiting-position", &[("position", Arg::from(position))]),
                "body",
            ));
        }
        let (text, long) = match estimate {
            Estimate::Minutes { low, high } => (
                self.ta(
                    "waiting-estimate",
                    &[("low", Arg::from(*low)), ("high", Arg::from(*high))],
                ),
                *high > 20,
            ),
            Estimate::Soon => (self.t("waiting-soon"), false),
            Estimate::NoOfficer => (self.t("waiting-no-officer"), true),
            Estimate::NoInterpreter => (self.t("waiting-no-interpreter"), true),
        };
        column.append(&self.label(&text, "body"));
        if booked {
            column.append(&self.label(&self.t("waiting-booked"), "body"));
        }
        let row = gtk::Box::new(gtk::Orientation::Horizontal, 20);
        row.set_halign(gtk::Align::Center);
        row.append(&self.action(
            "waiting-leave",
            "go-previous-symbolic",
            Input::Leave,
            "secondary",
        ));
        if long && !booked {
            row.append(&self.action(
                "waiting-book-instead",
                "x-office-calendar-symbolic",
                Input::BookInstead,
                "secondary",
            ));
        }
        column.append(&row);
        column.upcast()
    }

    fn book_instead(&self) -> gtk::Widget {
        let column = self.column();
        column.append(&self.label(&self.t("book-instead-title"), "title"));
        column.append(&self.label(&self.t("book-instead-body"), "body"));
        column.append(&self.row(&[
            self.action("back", "go-previous-symbolic", Input::Back, "secondary"),
            self.action(
                "waiting-leave",
                "application-exit-symbolic",
                Input::Leave,
                "secondary",
            ),
        ]));
        column.upcast()
    }

    fn still_there(&self) -> gtk::Widget {
        let column = self.column();
        column.add_css_class("alert");
        column.append(&self.label(&self.t("still-there-title"), "title"));
        column.append(&self.label(&self.t("still-there-body"), "body"));
        column.append(&self.row(&[
            self.action(
                "still-there-yes",
                "emblem-ok-symbolic",
                Input::StillHere,
                "primary",
            ),
            self.action(
                "waiting-leave",
                "application-exit-symbolic",
                Input::Leave,
                "secondary",
            ),
        ]));
        column.upcast()
    }

    fn message(&self, icon: &str, title: &str, body: &str, classes: &[&str]) -> gtk::Widget {
        let column = self.column();
        for class in classes {
            column.add_css_class(class);
        }
        column.append(&decoration(icon, 128));
        column.append(&self.label(title, "title"));
        column.append(&self.label(body, "body"));
        column.upcast()
    }

    fn ended(&self, survey_answered: bool) -> gtk::Widget {
        let column = self.column();
        column.append(&self.label(&self.t("ended-title"), "title"));
        if survey_answered {
            column.append(&self.label(&self.t("survey-thanks"), "body"));
        } else {
            column.append(&self.label(&self.t("survey-question"), "body"));
            let row = gtk::Box::new(gtk::Orientation::Horizontal, 12);
            row.set_halign(gtk::Align::Center);
            let faces = [
                "face-sad-symbolic",
                "face-worried-symbolic",
                "face-plain-symbolic",
                "face-smile-symbolic",
                "face-smile-big-symbolic",
            ];
            for (score, face) in (1u8..=5).zip(faces) {
                row.append(&self.button(
                    &self.t(&format!("survey-{score}")),
                    Some(face),
                    Input::Survey(score),
                    &["survey"],
                ));
            }
            column.append(&row);
        }
        column.append(&self.row(&[
            self.action(
                "ended-another",
                "system-users-symbolic",
                Input::AnotherAgency,
                "secondary",
            ),
            self.action("ended-done", "emblem-ok-symbolic", Input::Done, "primary"),
        ]));
        column.upcast()
    }
}

/// A picture that only decorates: screen readers skip it.
fn decoration(icon: &str, size: i32) -> gtk::Image {
    let image = glib::Object::builder::<gtk::Image>()
        .property("icon-name", icon)
        .property("pixel-size", size)
        .property("accessible-role", gtk::AccessibleRole::Presentation)
        .build();
    image
}

/// Every picture a button may carry, for the style sheet's rules.
pub(super) const BUTTON_ICONS: &[&str] = &[
    "accessories-calculator-symbolic",
    "accessories-dictionary-symbolic",
    "application-exit-symbolic",
    "audio-input-microphone-symbolic",
    "audio-volume-high-symbolic",
    "audio-volume-low-symbolic",
    "call-stop-symbolic",
    "display-brightness-symbolic",
    "edit-delete-symbolic",
    "emblem-favorite-symbolic",
    "emblem-ok-symbolic",
    "face-plain-symbolic",
    "face-sad-symbolic",
    "face-smile-big-symbolic",
    "face-smile-symbolic",
    "face-worried-symbolic",
    "go-down-symbolic",
    "go-home-symbolic",
    "go-next-symbolic",
    "go-previous-symbolic",
    "help-about-symbolic",
    "input-keyboard-symbolic",
    "input-touchpad-symbolic",
    "list-add-symbolic",
    "mail-send-symbolic",
    "microphone-disabled-symbolic",
    "preferences-desktop-font-symbolic",
    "preferences-desktop-locale-symbolic",
    "process-stop-symbolic",
    "scanner-symbolic",
    "starred-symbolic",
    "system-users-symbolic",
    "view-refresh-symbolic",
    "x-office-address-book-symbolic",
    "x-office-calendar-symbolic",
];

/// A simple picture for each agency, the same in every language.
fn pictogram(agency: &str) -> &'static str {
    match agency {
        "arbetsformedlingen" => "system-users-symbolic",
        "forsakringskassan" => "emblem-favorite-symbolic",
        "skatteverket" => "accessories-calculator-symbolic",
        "csn" => "accessories-dictionary-symbolic",
        "kronofogden" => "x-office-address-book-symbolic",
        "migrationsverket" => "preferences-desktop-locale-symbolic",
        "pensionsmyndigheten" => "starred-symbolic",
        "kommunen" => "go-home-symbolic",
        _ => "help-about-symbolic",
    }
}
