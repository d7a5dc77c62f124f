//! The GTK application around the screen: it asks the running kiosk for its status five times
//! a second and for new pictures 25 times a second, feeds both to the view, and carries the
//! citizen's requests back. The kiosk itself runs on the tokio runtime beside it.

use super::model::{self, Millis};
use super::view::Ui;
use crate::controller::{Handle, Pictures, Request};
use crate::status::Status;
use anyhow::{Context, Result};
use gtk::prelude::*;
use gtk::{gio, glib};
use gtk4 as gtk;
use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::{Duration, Instant};

const STATUS_EVERY: Duration = Duration::from_millis(200);
const PICTURES_EVERY: Duration = Duration::from_millis(40);

#[derive(Clone, Debug, Default)]
pub struct UiOptions {
    /// Full screen (a kiosk); otherwise a window (development).
    pub fullscreen: bool,
    /// Each screen is saved here as `<language>-<screen>.png` when it is first drawn (tests).
    pub screenshots: Option<PathBuf>,
}

/// The way from the screen to the kiosk.
#[derive(Clone, Debug)]
pub(super) struct KioskLink {
    handle: Handle,
    runtime: tokio::runtime::Handle,
    started: Instant,
}

impl KioskLink {
    pub(super) fn now(&self) -> Millis {
        self.started.elapsed().as_millis() as Millis
    }

    async fn status(&self) -> Option<Status> {
        let handle = self.handle.clone();
        self.runtime
            .spawn(async move { handle.ask(Request::Status).await })
            .await
            .ok()
            .flatten()
    }

    async fn pictures(&self) -> Option<Pictures> {
        let handle = self.handle.clone();
        self.runtime
            .spawn(async move { handle.ask(Request::Pictures).await })
            .await
            .ok()
            .flatten()
    }

    /// Page `index` of the citizen's document, as a JPEG.
    pub(super) async fn page(&self, index: usize) -> Option<Vec<u8>> {
        let handle = self.handle.clone();
        self.runtime
            .spawn(async move {
                handle
                    .ask(|reply| Request::DocumentPage(index, reply))
                    .await
            })
            .await
            .ok()
            .flatten()
            .flatten()
    }

    /// Carries out what the model asked for; a refusal is logged (the status shows the rest).
    pub(super) fn send(&self, request: model::Request) {
        if request == model::Request::Chime {
            chime();
            return;
        }
        let handle = self.handle.clone();
        self.runtime.spawn(async move {
            let refused = match request {
                model::Request::Citizen(action) => handle
                    .ask(|reply| Request::Citizen(action, reply))
                    .await
                    .and_then(Result::err),
                model::Request::Chat(text) => handle
                    .ask(|reply| Request::Chat(text, reply))
                    .await
                    .and_then(Result::err),
                model::Request::Document(request) => handle
                    .ask(|reply| Request::Document(request, reply))
                    .await
                    .and_then(Result::err),
                model::Request::Microphone { muted } => {
                    handle.tell(Request::Microphone { muted }).await;
                    None
                }
                model::Request::Volume(percent) => {
                    handle.tell(Request::Volume(percent)).await;
                    None
                }
                model::Request::Chime => None,
            };
            if let Some(why) = refused {
                tracing::warn!(%why, "the kiosk refused what the citizen asked");
            }
        });
    }
}

/// A two-note chime through the default speaker when an officer answers. A kiosk without a
/// speaker still shows the visual cue.
fn chime() {
    use gstreamer as gst;
    use gstreamer::prelude::*;
    let description =
        "audiotestsrc wave=sine freq=880 num-buffers=12 samplesperbuffer=2400 volume=0.4 ! \
                       audioconvert ! autoaudiosink";
    match gst::parse::launch(description) {
        Ok(pipeline) => {
            if pipeline.set_state(gst::State::Playing).is_ok() {
                let bus = pipeline.bus();
                std::thread::spawn(move || {
                    if let Some(bus) = bus {
                        let _ = bus.timed_pop_filtered(
                            gst::ClockTime::from_seconds(3),
                            &[gst::MessageType::Eos, gst::MessageType::Error],
                        );
                    }
                    let _ = pipeline.set_state(gst::State::Null);
                });
            }
        }
        Err(e) => tracing::debug!("no chime: {e}"),
    }
}

/// Runs the screen on this (the main) thread until the window closes or [`quit`].
pub fn run(kiosk: Handle, runtime: tokio::runtime::Handle, options: UiOptions) -> Result<()> {
    gtk::init().context("cannot open the screen")?;
    let application = gtk::Application::builder()
        .application_id("se.nara.Kiosk")
        .flags(gio::ApplicationFlags::NON_UNIQUE)
        .build();
    let link = KioskLink {
        handle: kiosk,
        runtime,
        started: Instant::now(),
    };
    application.connect_activate(move |application| {
        let ui = Ui::new(application, link.clone(), options.clone());
        poll(ui, link.clone());
    });
    application.run_with_args::<&str>(&[]);
    Ok(())
}

/// Ends the screen from another thread (the kiosk's signal handler); [`run`] then returns.
pub fn quit() {
    glib::MainContext::default().invoke(|| {
        if let Some(application) = gio::Application::default() {
            application.quit();
        }
    });
}

fn poll(ui: Rc<RefCell<Ui>>, link: KioskLink) {
    let status_ui = ui.clone();
    let status_link = link.clone();
    glib::spawn_future_local(async move {
        loop {
            if let Some(status) = status_link.status().await {
                Ui::update(&status_ui, status);
            }
            glib::timeout_future(STATUS_EVERY).await;
        }
    });
    glib::spawn_future_local(async move {
        loop {
            if let Some(pictures) = link.pictures().await {
                ui.borrow_mut().show_pictures(pictures);
            }
            glib::timeout_future(PICTURES_EVERY).await;
        }
    });
}
