//! The kiosk: the program on a *kundarbetsplats*. It owns the camera, microphone and speaker,
//! keeps a connection to the broker, and carries the citizen's side of every meeting.
//!
//! Where to start:
//! - [`visit`]: the visit as a state machine (no I/O): what the broker and the citizen say in,
//!   what to do out. Read this first.
//! - [`controller`]: the async shell around it: peers, media, broker link, heartbeats.
//! - [`link`]: the mutually authenticated WebSocket to the broker, reconnecting with
//!   [`backoff`] and resuming the visit in progress.
//! - [`media`]: GStreamer capture, encoding, decoding and the speaker's mix; [`media::rate`]
//!   follows the bandwidth estimate.
//! - [`peer`]: one `webrtc` peer connection per person at a desk, behind a small interface at
//!   the RTP boundary.
//! - [`documents`]: the citizen's pages, sent to one officer only when they press send.
//! - [`scanner`]: the scanner through SANE on a thread of its own; pages cut to the paper and
//!   compressed, in memory only.
//! - [`health`]: device states, load and disk for heartbeats; the self-test.
//! - [`identity`]: enrolment with a one-time code; the key and certificates on disk.
//! - [`ui`]: the citizen's touch screen (GTK4) in six languages; [`ui::model`] first.
//! - [`api`] and [`status`]: the local control API (headless mode, tests, demo kiosks).
//! - [`config`]: defaults, TOML file, flags; [`cli`]: `kiosk enrol`, `kiosk run`.
//!
//! Nothing of a visit (media, chat, documents) is written to disk: it lives in the
//! controller's memory and is dropped when the visit ends.

pub mod api;
pub mod backoff;
pub mod cli;
pub mod config;
pub mod controller;
pub mod documents;
pub mod health;
pub mod identity;
pub mod link;
pub mod media;
pub mod peer;
pub mod scanner;
pub mod status;
pub mod ui;
pub mod visit;

pub use identity::Identity;
