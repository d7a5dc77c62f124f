//! The window and what is in it: [`Ui`] keeps the model, the last status and the pictures, and
//! redraws the screen (`screens`) when what it shows has changed. Pictures are set on the
//! screen's picture widgets as they come, without a redraw.

use super::app::{KioskLink, UiOptions};
use super::i18n::Texts;
use super::model::{Input, Model, Screen};
use super::screens::{self, Draw};
use super::stage;
use crate::controller::Pictures;
use crate::media::pictures::Picture;
use crate::status::Status;
use gtk::prelude::*;
use gtk::{gdk, glib, graphene};
use gtk4 as gtk;
use nara_protocol::StaffId;
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::rc::{Rc, Weak};

pub(super) struct Ui {
    window: gtk::ApplicationWindow,
    texts: Rc<Texts>,
    pub(super) model: Model,
    link: KioskLink,
    options: UiOptions,
    status: Option<Status>,
    /// What is drawn now, as a key: redrawn when it changes.
    drawn: String,
    shots: HashSet<String>,
    this: Weak<RefCell<Ui>>,
    /// The newest pictures, and the widgets showing them on the current screen: one for
    /// each remote person in the meeting.
    desk_textures: HashMap<StaffId, gdk::Texture>,
    own_texture: Option<gdk::Texture>,
    desk_pictures: Vec<(StaffId, gtk::Picture)>,
    own_picture: Option<gtk::Picture>,
    /// The last scanned page for the preview: which page and its picture.
    preview: Option<(usize, gdk::Texture)>,
    preview_asked: Option<usize>,
    applied: (bool, u8),
}

impl Ui {
    pub(super) fn new(
        application: &gtk::Application,
        link: KioskLink,
        options: UiOptions,
    ) -> Rc<RefCell<Ui>> {
        load_style();
        let window = gtk::ApplicationWindow::builder()
            .application(application)
            .title("Nära")
            .default_width(1280)
            .default_height(800)
            .build();
        window.add_css_class("kiosk");
        if options.fullscreen {
            window.fullscreen();
        }
        let now = link.now();
        let ui = Rc::new(RefCell::new(Ui {
            window: window.clone(),
            texts: Rc::new(Texts::load()),
            model: Model::new(now),
            link,
            options,
            status: None,
            drawn: String::new(),
            shots: HashSet::new(),
            this: Weak::new(),
            desk_textures: HashMap::new(),
            own_texture: None,
            desk_pictures: Vec::new(),
            own_picture: None,
            preview: None,
            preview_asked: None,
            applied: (false, 80),
        }));
        ui.borrow_mut().this = Rc::downgrade(&ui);
        window.present();
        ui
    }

    /// A new status from the kiosk: time passes for the model, then the screen follows.
    pub(super) fn update(this: &Rc<RefCell<Ui>>, status: Status) {
        let mut ui = this.borrow_mut();
        let now = ui.link.now();
        for request in ui.model.tick(&status, now) {
            if matches!(request, super::model::Request::Citizen(_)) {
                tracing::debug!(phase = ?std::mem::discriminant(&status.visit), "the screen reset the visit");
            }
            ui.link.send(request);
        }
        ui.status = Some(status);
        ui.sync_media();
        ui.fetch_preview();
        ui.render();
    }

    /// The citizen touched something.
    pub(super) fn input(this: &Rc<RefCell<Ui>>, input: Input) {
        let mut ui = this.borrow_mut();
        if ui.status.is_none() {
            return;
        }
        let now = ui.link.now();
        for request in ui.model.input(input, now) {
            ui.link.send(request);
        }
        ui.sync_media();
        // Redrawn after this click's handler returns: its button may be replaced.
        let this = this.clone();
        glib::idle_add_local_once(move || this.borrow_mut().render());
    }

    /// Mute and volume follow the model, also when it resets them for the next citizen.
    fn sync_media(&mut self) {
        let wanted = (self.model.muted, self.model.volume);
        if wanted != self.applied {
            if wanted.0 != self.applied.0 {
                self.link
                    .send(super::model::Request::Microphone { muted: wanted.0 });
            }
            if wanted.1 != self.applied.1 {
                self.link.send(super::model::Request::Volume(wanted.1));
            }
            self.applied = wanted;
        }
    }

    /// Asks for the newest scanned page when a new one is there.
    fn fetch_preview(&mut self) {
        let pages = self.status.as_ref().map_or(0, |s| s.document.pages.len());
        if pages == 0 {
            self.preview = None;
            self.preview_asked = None;
            return;
        }
        let last = pages - 1;
        if self.preview_asked == Some(last) {
            return;
        }
        self.preview_asked = Some(last);
        let link = self.link.clone();
        let this = self.this.clone();
        glib::spawn_future_local(async move {
            let Some(jpeg) = link.page(last).await else {
                return;
            };
            let Ok(texture) = gdk::Texture::from_bytes(&glib::Bytes::from_owned(jpeg)) else {
                tracing::warn!("the scanned page could not be shown");
                return;
            };
            if let Some(this) = this.upgrade() {
                let mut ui = this.borrow_mut();
                ui.preview = Some((last, texture));
                ui.render();
            }
        });
    }

    pub(super) fn show_pictures(&mut self, pictures: Pictures) {
        if let Some(own) = pictures.own.as_ref().and_then(texture) {
            if let Some(widget) = &self.own_picture {
                widget.set_paintable(Some(&own));
            }
            self.own_texture = Some(own);
        }
        // Each desk's picture on its own widget; a desk without a new frame keeps its last.
        let mut first_picture = false;
        for (staff, picture) in &pictures.desks {
            let Some(desk) = texture(picture) else {
                continue;
            };
            if let Some((_, widget)) = self.desk_pictures.iter().find(|(s, _)| s == staff) {
                widget.set_paintable(Some(&desk));
            }
            first_picture |= self.desk_textures.insert(staff.clone(), desk).is_none();
        }
        // Those who left take their pictures with them.
        if let Some(status) = &self.status {
            let here = |staff: &StaffId| status.peers.iter().any(|p| &p.staff == staff);
            self.desk_textures.retain(|staff, _| here(staff));
        }
        if first_picture {
            self.render();
        }
    }

    fn render(&mut self) {
        let Some(status) = self.status.clone() else {
            return;
        };
        let screen = self.model.screen(&status);
        let language = self.model.language;
        let pictured = self.desk_textures.len();
        let variant = screens::variant(
            &screen,
            &status,
            &self.model,
            self.preview.is_some(),
            pictured,
        );
        let key = self.key(&screen, &status, &variant);
        if key == self.drawn {
            return;
        }
        self.drawn = key;
        gtk::Widget::set_default_direction(if language.right_to_left() {
            gtk::TextDirection::Rtl
        } else {
            gtk::TextDirection::Ltr
        });
        for (class, on) in [
            ("larger", self.model.larger_text),
            ("contrast", self.model.high_contrast),
        ] {
            if on {
                self.window.add_css_class(class);
            } else {
                self.window.remove_css_class(class);
            }
        }
        let this = self.this.clone();
        let on: Rc<dyn Fn(Input)> = Rc::new(move |input| {
            if let Some(this) = this.upgrade() {
                Ui::input(&this, input);
            }
        });
        let draw = Draw {
            texts: &self.texts,
            language,
            model: &self.model,
            status: &status,
            on,
            preview: self.preview.as_ref().map(|(_, t)| t.clone()),
        };
        let drawn = screens::draw(&draw, &screen);
        self.desk_pictures = drawn.desk_pictures;
        self.own_picture = drawn.own_picture;
        for (staff, widget) in &self.desk_pictures {
            if let Some(texture) = self.desk_textures.get(staff) {
                widget.set_paintable(Some(texture));
            }
        }
        if let (Some(widget), Some(texture)) = (&self.own_picture, &self.own_texture) {
            widget.set_paintable(Some(texture));
        }
        self.window.set_child(Some(&drawn.root));
        if !matches!(screen, Screen::Meeting | Screen::Connecting) {
            // Nothing of the meeting's pictures stays on screen or in memory after it.
            self.desk_textures.clear();
        }
        let name = format!("{}-{variant}", language.code());
        tracing::debug!(screen = %name, "drawn");
        self.screenshot_when_drawn(name);
    }

    /// Everything the screen shows, and only that: when any of it changes, the screen is drawn
    /// afresh (and a control being pressed may be replaced), so nothing else may change it.
    fn key(&self, screen: &Screen, status: &Status, variant: &str) -> String {
        let mut key = format!(
            "{screen:?}|{variant}|{}|{:?}",
            self.model.language,
            (self.model.larger_text, self.model.high_contrast)
        );
        match screen {
            Screen::Agency => key.push_str(&format!("|{:?}", status.agencies)),
            Screen::Meeting | Screen::Connecting => key.push_str(&format!(
                "|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}",
                (
                    self.model.muted,
                    self.model.volume,
                    self.model.chat_open,
                    status.connected,
                ),
                self.model.chat_draft,
                status.chat.iter().map(|c| &c.text).collect::<Vec<_>>(),
                (&status.document, &status.document_requested_by),
                status
                    .peers
                    .iter()
                    .map(|p| (&p.staff, &p.display_name, &p.agency_name))
                    .collect::<Vec<_>>(),
                self.preview.as_ref().map(|(n, _)| n),
                stage::tiles(status),
                self.model.comings.announcement,
                {
                    let mut pictured: Vec<&StaffId> = self.desk_textures.keys().collect();
                    pictured.sort();
                    pictured
                },
            )),
            _ => {}
        }
        key
    }

    /// Saves the screen as a PNG once it has been painted, the first time each is shown.
    fn screenshot_when_drawn(&mut self, name: String) {
        let Some(dir) = self.options.screenshots.clone() else {
            return;
        };
        if !self.shots.insert(name.clone()) {
            return;
        }
        let Some(clock) = self.window.frame_clock() else {
            return;
        };
        let window = self.window.clone();
        let handler = Rc::new(RefCell::new(None));
        let handler_inside = handler.clone();
        let id = clock.connect_after_paint(move |clock| {
            if let Some(id) = handler_inside.borrow_mut().take() {
                clock.disconnect(id);
            }
            let path = dir.join(format!("{name}.png"));
            if let Err(e) = save_png(&window, &path) {
                tracing::warn!(path = %path.display(), "no screenshot: {e}");
            }
        });
        *handler.borrow_mut() = Some(id);
        self.window.queue_draw();
    }
}

fn save_png(window: &gtk::ApplicationWindow, path: &std::path::Path) -> anyhow::Result<()> {
    let child = window
        .child()
        .ok_or_else(|| anyhow::anyhow!("nothing drawn"))?;
    let (width, height) = (child.width() as f64, child.height() as f64);
    let paintable = gtk::WidgetPaintable::new(Some(&child));
    let snapshot = gtk::Snapshot::new();
    paintable.snapshot(&snapshot, width, height);
    let node = snapshot
        .to_node()
        .ok_or_else(|| anyhow::anyhow!("an empty screen"))?;
    let renderer = window
        .renderer()
        .ok_or_else(|| anyhow::anyhow!("no renderer"))?;
    let texture = renderer.render_texture(
        &node,
        Some(&graphene::Rect::new(0.0, 0.0, width as f32, height as f32)),
    );
    // Written whole under another name first, so a reader never sees half a file.
    let partial = path.with_extension("png.part");
    texture.save_to_png(&partial)?;
    std::fs::rename(&partial, path)?;
    Ok(())
}

/// A GStreamer RGBA picture as a GDK texture (one copy).
fn texture(picture: &Picture) -> Option<gdk::Texture> {
    let buffer = picture.sample.buffer()?;
    let map = buffer.map_readable().ok()?;
    let bytes = glib::Bytes::from(map.as_slice());
    Some(
        gdk::MemoryTexture::new(
            picture.width as i32,
            picture.height as i32,
            gdk::MemoryFormat::R8g8b8a8,
            &bytes,
            picture.stride,
        )
        .upcast(),
    )
}

fn load_style() {
    let mut css = String::from(include_str!("style.css"));
    for icon in screens::BUTTON_ICONS {
        css.push_str(&format!(
            ".icon-{icon} {{ background-image: -gtk-icontheme(\"{icon}\"); }}\n"
        ));
    }
    let provider = gtk::CssProvider::new();
    provider.load_from_data(&css);
    if let Some(display) = gdk::Display::default() {
        gtk::style_context_add_provider_for_display(
            &display,
            &provider,
            gtk::STYLE_PROVIDER_PRIORITY_APPLICATION,
        );
    }
}
