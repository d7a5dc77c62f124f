#![allow(missing_debug_implementations)] // test clients
//! End-to-end tests across processes, and the benchmark harnesses.
//!
//! [`harness`] starts a real broker on port 0 (in this process, or as the `broker` binary)
//! and drives it through real TLS WebSockets as a kiosk (enrolled, mutual TLS) and as desks
//! (session cookie, Origin) would. Test clients are the only stand-ins: they speak the wire
//! protocol exactly as the kiosk and the desk page do. [`e2e`] runs the kiosk binary and an
//! officer in headless Chromium; [`netns`] puts the kiosk behind a link that
//! loses, delays and drops packets; [`agency`] puts an officer behind an agency's proxy.
//! [`bench`] holds what `tests/bench` runs.

pub mod agency;
pub mod bench;
pub mod coturn;
pub mod e2e;
pub mod harness;
pub mod netns;
