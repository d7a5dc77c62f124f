//! The meeting: everyone in it, each named on their picture (the officer responsible large,
//! interpreters and colleagues beside; who joins or leaves said on the screen), the
//! citizen's own picture small, sound controls, the chat with its keyboard, and the scanner
//! when the officer asks for a paper: scan, look, send or scan again.

use super::i18n::Arg;
use super::keyboard::{self, Key, CHAT_ROWS};
use super::model::Input;
use super::screens::{Draw, Drawn};
use super::stage::{self, Tile};
use gtk::prelude::*;
use gtk4 as gtk;

impl Draw<'_> {
    pub(super) fn meeting(&self, drawn: &mut Drawn) -> gtk::Widget {
        let row = gtk::Box::new(gtk::Orientation::Horizontal, 24);
        row.add_css_class("meeting");

        // Everyone in the meeting: the officer responsible large, the citizen small in
        // their corner; interpreters and colleagues beside, each named on their picture.
        let left = gtk::Box::new(gtk::Orientation::Vertical, 12);
        left.set_hexpand(true);
        if !self.status.connected {
            // The meeting goes on peer to peer; say so rather than leave the citizen guessing.
            left.append(&self.label(&self.t("meeting-offline"), "offline"));
        }
        if let Some(news) = &self.model.comings.announcement {
            let key = if news.joined {
                "meeting-joined"
            } else {
                "meeting-left"
            };
            let text = self.ta(key, &[("name", Arg::from(news.name.as_str()))]);
            let banner = gtk::Label::builder()
                .label(text)
                .wrap(true)
                .accessible_role(gtk::AccessibleRole::Alert)
                .build();
            banner.add_css_class("announcement");
            left.append(&banner);
        }
        let tiles = stage::tiles(self.status);
        // The officer responsible leads, largest; the others in a column beside them, so
        // that three people and the controls fit the screen.
        let people = gtk::Box::new(gtk::Orientation::Horizontal, 12);
        people.set_vexpand(true);
        let stage = gtk::Overlay::new();
        stage.add_css_class("stage");
        let lead = tiles.first();
        let desk = self.tile_picture(lead);
        desk.set_hexpand(true);
        desk.set_vexpand(true);
        stage.set_child(Some(&desk));
        let own = gtk::Picture::new();
        own.add_css_class("own");
        own.set_size_request(240, 135);
        own.set_halign(gtk::Align::End);
        own.set_valign(gtk::Align::End);
        own.set_alternative_text(Some(&self.t("meeting-your-picture")));
        stage.add_overlay(&own);
        if let Some(lead) = lead {
            stage.add_overlay(&self.caption(lead));
            drawn.desk_pictures.push((lead.staff.clone(), desk));
        }
        stage.set_hexpand(true);
        people.append(&stage);
        drawn.own_picture = Some(own);
        if tiles.len() > 1 {
            let others = gtk::Box::new(gtk::Orientation::Vertical, 12);
            others.set_valign(gtk::Align::Center);
            for tile in &tiles[1..] {
                let frame = gtk::Overlay::new();
                frame.add_css_class("other");
                let picture = self.tile_picture(Some(tile));
                // An interpreter may sign: never smaller than QVGA.
                if tile.interpreter {
                    picture.set_size_request(320, 240);
                } else {
                    picture.set_size_request(240, 135);
                }
                frame.set_child(Some(&picture));
                frame.add_overlay(&self.caption(tile));
                others.append(&frame);
                drawn.desk_pictures.push((tile.staff.clone(), picture));
            }
            // As wide as a QVGA picture and no wider: the rest is the lead's. A picture asks
            // for its video's whole width, so the column is held to its minimum.
            let column = gtk::ScrolledWindow::builder()
                .hscrollbar_policy(gtk::PolicyType::Never)
                .vscrollbar_policy(gtk::PolicyType::Never)
                .min_content_width(320)
                .propagate_natural_width(false)
                .propagate_natural_height(true)
                .child(&others)
                .build();
            people.append(&column);
        }
        left.append(&people);
        let controls = gtk::Box::new(gtk::Orientation::Horizontal, 12);
        let mute = if self.model.muted {
            "meeting-unmute"
        } else {
            "meeting-mute"
        };
        let mute_icon = if self.model.muted {
            "microphone-disabled-symbolic"
        } else {
            "audio-input-microphone-symbolic"
        };
        let mute = self.button(
            &self.t(mute),
            Some(mute_icon),
            Input::ToggleMute,
            &["control"],
        );
        if self.model.muted {
            mute.add_css_class("on");
        }
        // Its words are the longest of the row: room for them on two lines, not five.
        mute.set_hexpand(true);
        controls.append(&mute);
        controls.append(&self.action(
            "meeting-volume-down",
            "audio-volume-low-symbolic",
            Input::VolumeDown,
            "control",
        ));
        controls.append(&self.label(&format!("{} %", self.model.volume), "volume"));
        controls.append(&self.action(
            "meeting-volume-up",
            "audio-volume-high-symbolic",
            Input::VolumeUp,
            "control",
        ));
        let end = self.button(
            &self.t("meeting-end"),
            Some("call-stop-symbolic"),
            Input::Leave,
            &["control", "danger"],
        );
        end.set_hexpand(true);
        end.set_halign(gtk::Align::End);
        controls.append(&end);
        left.append(&controls);
        row.append(&left);

        // The side: the scanner when it is wanted, and the chat.
        let side = gtk::Box::new(gtk::Orientation::Vertical, 16);
        side.add_css_class("side");
        // Narrower when several people share the screen with it.
        side.set_size_request(if tiles.len() > 1 { 380 } else { 460 }, -1);
        if let Some(scanner) = self.scanner() {
            side.append(&scanner);
        }
        side.append(&self.chat());
        row.append(&side);
        row.upcast()
    }

    /// A remote person's picture, named for those who cannot see it.
    fn tile_picture(&self, tile: Option<&Tile>) -> gtk::Picture {
        let picture = gtk::Picture::new();
        picture.set_content_fit(gtk::ContentFit::Contain);
        let alt = match tile {
            Some(tile) => self.ta(
                "meeting-picture-of",
                &[("name", Arg::from(tile.name.as_str()))],
            ),
            None => self.t("meeting-officer-picture"),
        };
        picture.set_alternative_text(Some(&alt));
        picture
    }

    /// Who is in a picture, on it: "Anna Lind, Skatteverket"; an interpreter's name over
    /// "Tolk, tigrinja", the language they interpret here.
    fn caption(&self, tile: &Tile) -> gtk::Widget {
        let text = match (&tile.agency, tile.interpreter) {
            (_, true) => {
                let role = match &tile.interprets {
                    Some(code) => {
                        let language = self.language_named(code);
                        self.ta(
                            "meeting-interpreter-caption",
                            &[("language", Arg::from(language.as_str()))],
                        )
                    }
                    None => self.t("meeting-interpreter-role"),
                };
                format!("{}\n{role}", tile.name)
            }
            (Some(agency), false) => format!("{}, {agency}", tile.name),
            (None, false) => tile.name.clone(),
        };
        let caption = self.label(
            &text,
            if tile.leads {
                "officer-name"
            } else {
                "other-name"
            },
        );
        caption.add_css_class("caption");
        caption.set_halign(gtk::Align::Start);
        caption.set_valign(gtk::Align::End);
        caption.upcast()
    }

    /// A language by its code, named in the citizen's language; the code itself for one
    /// the kiosk has no name for.
    fn language_named(&self, code: &str) -> String {
        let key = format!("language-of-{code}");
        let name = self.t(&key);
        if name == key {
            code.to_string()
        } else {
            name
        }
    }

    fn scanner(&self) -> Option<gtk::Widget> {
        let document = &self.status.document;
        let asked = self.status.document_requested_by.is_some();
        if !asked
            && document.pages.is_empty()
            && !document.scanning
            && document.delivered_to.is_none()
        {
            return None;
        }
        let panel = gtk::Box::new(gtk::Orientation::Vertical, 12);
        panel.add_css_class("scanner");
        if let Some(problem) = &document.problem {
            panel.append(&self.label(
                &self.ta(
                    "scanner-problem",
                    &[("problem", Arg::from(problem.as_str()))],
                ),
                "problem",
            ));
        }
        if document.scanning {
            panel.append(&self.label(&self.t("scanner-scanning"), "body"));
            let spinner = gtk::Spinner::new();
            spinner.set_spinning(true);
            panel.append(&spinner);
            panel.append(&self.action(
                "scanner-cancel",
                "process-stop-symbolic",
                Input::CancelDocument,
                "secondary",
            ));
        } else if let Some(sending) = &document.sending {
            let done = (sending.sent_bytes * 100)
                .checked_div(sending.total_bytes)
                .unwrap_or(0);
            panel.append(&self.label(&format!("{} {done} %", self.t("scanner-sending")), "body"));
        } else if !document.pages.is_empty() {
            panel.append(&self.label(&self.t("scanner-preview"), "body"));
            if let Some(texture) = &self.preview {
                let page = gtk::Picture::for_paintable(texture);
                page.set_content_fit(gtk::ContentFit::Contain);
                // Smaller when there are several officers to send it to, so that every
                // button fits.
                let officers = self.status.peers.iter();
                let officers = officers.filter(|p| p.receives_documents()).count();
                page.set_size_request(300, if officers > 1 { 200 } else { 360 });
                page.set_alternative_text(Some(&self.t("scanner-preview")));
                panel.append(&page);
            }
            // One button per officer, named with their agency: the citizen sends to the one
            // they touch, and the send carries exactly that officer (never an interpreter).
            for officer in self.status.peers.iter().filter(|p| p.receives_documents()) {
                let name = officer.name_with_agency();
                panel.append(&self.button(
                    &self.ta("scanner-send", &[("name", Arg::from(name.as_str()))]),
                    Some("mail-send-symbolic"),
                    Input::SendDocument(officer.staff.clone()),
                    &["primary"],
                ));
            }
            let row = gtk::Box::new(gtk::Orientation::Horizontal, 12);
            row.append(&self.action(
                "scanner-rescan",
                "view-refresh-symbolic",
                Input::Rescan,
                "secondary",
            ));
            row.append(&self.action(
                "scanner-another-page",
                "list-add-symbolic",
                Input::Scan,
                "secondary",
            ));
            panel.append(&row);
            panel.append(&self.action(
                "scanner-cancel",
                "edit-delete-symbolic",
                Input::CancelDocument,
                "secondary",
            ));
        } else if let Some(to) = &document.delivered_to {
            let name = self
                .status
                .peers
                .iter()
                .find(|p| &p.staff == to)
                .map(|p| p.display_name.clone())
                .unwrap_or_default();
            panel.append(&self.label(
                &self.ta("scanner-sent", &[("name", Arg::from(name))]),
                "body",
            ));
        } else {
            panel.append(&self.label(&self.t("scanner-asked"), "alert-text"));
            panel.append(&self.label(&self.t("scanner-prompt"), "body"));
            panel.append(&self.action("scanner-scan", "scanner-symbolic", Input::Scan, "primary"));
        }
        Some(panel.upcast())
    }

    fn chat(&self) -> gtk::Widget {
        let panel = gtk::Box::new(gtk::Orientation::Vertical, 8);
        panel.add_css_class("chat");
        let log = gtk::Box::new(gtk::Orientation::Vertical, 4);
        for line in self.status.chat.iter().rev().take(6).rev() {
            let who = if line.from.is_some() {
                self.t("chat-from-officer")
            } else {
                self.t("chat-from-me")
            };
            let text = self.label(&format!("{who} {}", line.text), "chat-line");
            text.set_xalign(0.0);
            log.append(&text);
        }
        panel.append(&log);
        let draft = self.label(&format!("{}▏", self.model.chat_draft), "draft");
        draft.set_xalign(0.0);
        panel.append(&draft);
        if self.model.chat_open {
            let on = self.on.clone();
            panel.append(&keyboard::keyboard(
                &CHAT_ROWS,
                Some(&self.t("keyboard-space")),
                &self.t("keyboard-erase"),
                move |key| {
                    on(match key {
                        Key::Char(c) => Input::ChatKey(c),
                        Key::Erase => Input::ChatErase,
                    })
                },
            ));
            let row = gtk::Box::new(gtk::Orientation::Horizontal, 12);
            row.append(&self.action("back", "go-down-symbolic", Input::ToggleChat, "secondary"));
            row.append(&self.action(
                "chat-send",
                "mail-send-symbolic",
                Input::ChatSend,
                "primary",
            ));
            panel.append(&row);
        } else {
            panel.append(&self.action(
                "chat-title",
                "input-keyboard-symbolic",
                Input::ToggleChat,
                "secondary",
            ));
        }
        panel.upcast()
    }
}
