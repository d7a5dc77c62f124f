//! The citizen's touch screen, in GTK4. Where to start:
//! - [`model`]: which screen shows and what a touch does, without GTK; the idle timeout that
//!   clears a visit. Read this first.
//! - [`i18n`]: the six languages, from Fluent files in `kiosk/locales/`.
//! - [`app`]: the GTK application wired to the running kiosk: status and pictures polled,
//!   requests sent, screenshots for the tests.
//! - [`view`]: each screen drawn from the model; [`keyboard`]: the on-screen keyboards;
//!   `stage`: who is on the meeting screen, in what order;
//!   `refused`: why a request was refused, in the citizen's language.
//!
//! The screen keeps nothing of a visit after it: the model's choices, the chat and the
//! pictures are dropped with the visit, and the kiosk forgets the rest (see `controller`).

pub mod app;
pub mod i18n;
mod keyboard;
mod meeting;
pub mod model;
mod refused;
mod screens;
mod stage;
mod view;

pub use app::{run, UiOptions};
