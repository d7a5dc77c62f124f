#![allow(missing_debug_implementations)] // test clients
//! End-to-end tests across processes, and the benchmark harnesses.
//!
//! [`harness`] starts a real broker on port 0 (in this process, or as the `broker` binary)
//! and drives it through real TLS WebSockets as a kiosk (enrolled, mutual TLS) and as desks
//! (session cookie, Origin) would. Test clients are the only stand-ins: they speak the wire
//! protocol exactly as the kiosk and the desk page do. [`bench`] holds what `tests/bench` runs.

pub mod bench;
pub mod harness;
