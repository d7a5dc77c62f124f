//! The meeting: the officer large with their name and that they are an officer of their
//! agency, the citizen's own picture small, sound controls, the chat with its keyboard, and
//! the scanner when the officer asks for a paper: scan, look, send or scan again.

use super::i18n::Arg;
use super::keyboard::{self, Key, CHAT_ROWS};
use super::model::Input;
use super::screens::{Draw, Drawn};
use gtk::prelude::*;
use gtk4 as gtk;

impl Draw<'_> {
    pub(super) fn meeting(&self, drawn: &mut Drawn) -> gtk::Widget {
        let row = gtk::Box::new(gtk::Orientation::Horizontal, 24);
        row.add_css_class("meeting");

        // The officer, large; the citizen, small in the corner.
        let left = gtk::Box::new(gtk::Orientation::Vertical, 12);
        left.set_hexpand(true);
        if !self.status.connected {
            // The meeting goes on peer to peer; say so rather than leave the citizen guessing.
            left.append(&self.label(&self.t("meeting-offline"), "offline"));
        }
        let stage = gtk::Overlay::new();
        stage.add_css_class("stage");
        let desk = gtk::Picture::new();
        desk.set_content_fit(gtk::ContentFit::Contain);
        desk.set_hexpand(true);
        desk.set_vexpand(true);
        desk.set_alternative_text(Some(&self.t("meeting-officer-picture")));
        stage.set_child(Some(&desk));
        let own = gtk::Picture::new();
        own.add_css_class("own");
        own.set_size_request(240, 135);
        own.set_halign(gtk::Align::End);
        own.set_valign(gtk::Align::End);
        own.set_alternative_text(Some(&self.t("meeting-your-picture")));
        stage.add_overlay(&own);
        left.append(&stage);
        drawn.desk_picture = Some(desk);
        drawn.own_picture = Some(own);
        for (n, peer) in self.status.peers.iter().enumerate() {
            let role = match &peer.agency_name {
                Some(agency) => self.ta(
                    "meeting-officer-role",
                    &[("agency", Arg::from(agency.as_str()))],
                ),
                None => self.t("meeting-interpreter-role"),
            };
            let who = gtk::Box::new(gtk::Orientation::Vertical, 0);
            let name = self.label(
                &peer.display_name,
                if n == 0 { "officer-name" } else { "other-name" },
            );
            name.set_xalign(0.0);
            let role = self.label(&role, "officer-role");
            role.set_xalign(0.0);
            who.append(&name);
            who.append(&role);
            left.append(&who);
        }
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
        side.set_size_request(460, -1);
        if let Some(scanner) = self.scanner() {
            side.append(&scanner);
        }
        side.append(&self.chat());
        row.append(&side);
        row.upcast()
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
                page.set_size_request(300, 360);
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
