//! The wall clock the broker's rules read, behind a trait so tests can hold time still.
//!
//! Timers that only pace work (handshake deadlines, ticks) use tokio's clock, which tests
//! pause; what is compared with stored times (sessions, codes, throttling, opening hours)
//! reads this one.

use std::fmt::Debug;
use std::sync::atomic::{AtomicU64, Ordering};

pub trait Clock: Send + Sync + Debug {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> u64;
}

/// The system's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }
}

/// A clock that moves only when told: a fake for tests, named as such.
#[derive(Debug, Default)]
pub struct ManualClock(AtomicU64);

impl ManualClock {
    /// Stopped at the system's time now.
    pub fn stopped_now() -> ManualClock {
        ManualClock(AtomicU64::new(SystemClock.now_ms()))
    }

    pub fn advance(&self, by_ms: u64) {
        self.0.fetch_add(by_ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}
