//! Shared state of a running broker: configuration, storage, the handle to the core, and
//! the registry of live connections.

use crate::config::Config;
use crate::driver::CoreHandle;
use crate::metrics::Metrics;
use crate::pki::KioskCa;
use crate::storage::Store;
use crate::turn::TurnCredentials;
use nara_protocol::{BrokerToDesk, BrokerToKiosk, KioskId, StaffId};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

mod outbox;

pub use outbox::{Ending, Outbox, OutboxReceiver, Outgoing};

#[derive(Clone, Debug)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Arc<dyn Store>,
    pub ca: Arc<KioskCa>,
    pub core: CoreHandle,
    pub connections: Arc<Connections>,
    pub metrics: Arc<Metrics>,
    pub turn: Arc<TurnCredentials>,
    pub passwords: Arc<crate::api::passwords::Passwords>,
    pub clock: Arc<dyn crate::clock::Clock>,
}

/// Live WebSocket connections by kiosk and by person.
#[derive(Debug, Default)]
pub struct Connections {
    next_id: AtomicU64,
    kiosks: Mutex<HashMap<KioskId, Outbox>>,
    desks: Mutex<HashMap<StaffId, DeskConnection>>,
}

/// A desk's connection and the login session it was opened under.
#[derive(Debug, Clone)]
struct DeskConnection {
    outbox: Outbox,
    login: DeskLogin,
}

/// What a desk's connection knows of the login behind it.
#[derive(Debug, Clone)]
pub struct DeskLogin {
    /// The session's token hash: when the session ends, so does the connection.
    pub session: String,
    pub expires_at: u64,
    /// Officers and interpreters hold calls and need TURN credentials; administrators don't.
    pub takes_calls: bool,
}

impl Connections {
    pub fn outbox(&self, capacity: usize) -> (Outbox, OutboxReceiver) {
        outbox::queue(self.next_id.fetch_add(1, Ordering::Relaxed) + 1, capacity)
    }

    /// Registers a kiosk's connection; an older connection of the same kiosk is replaced.
    pub fn add_kiosk(&self, kiosk: &KioskId, outbox: Outbox) -> Option<Outbox> {
        self.kiosks
            .lock()
            .expect("not poisoned")
            .insert(kiosk.clone(), outbox)
    }

    /// Removes the registration only if it is still this connection's.
    pub fn remove_kiosk(&self, kiosk: &KioskId, connection: u64) -> bool {
        let mut map = self.kiosks.lock().expect("not poisoned");
        if map.get(kiosk).is_some_and(|o| o.connection == connection) {
            map.remove(kiosk);
            true
        } else {
            false
        }
    }

    /// Registers a desk's connection, opened under `login`; an older connection of the same
    /// person is replaced.
    pub fn add_desk(&self, staff: &StaffId, outbox: Outbox, login: DeskLogin) -> Option<Outbox> {
        let desk = DeskConnection { outbox, login };
        self.desks
            .lock()
            .expect("not poisoned")
            .insert(staff.clone(), desk)
            .map(|old| old.outbox)
    }

    /// Closes, with `farewell`, every desk connection whose session has expired by `now`;
    /// returns how many.
    pub fn close_expired(&self, now: u64, farewell: &BrokerToDesk) -> usize {
        self.close_desks(|login| login.expires_at <= now, farewell)
    }

    /// Closes, with `farewell`, every desk connection opened under the session `session`.
    pub fn close_session(&self, session: &str, farewell: &BrokerToDesk) {
        self.close_desks(|login| login.session == session, farewell);
    }

    /// Closes, with `farewell`, the desks whose login `which` picks; returns how many.
    fn close_desks(&self, which: impl Fn(&DeskLogin) -> bool, farewell: &BrokerToDesk) -> usize {
        // Collected first: closing takes each outbox's own lock, not the registry's.
        let closing: Vec<Outbox> = self
            .desks
            .lock()
            .expect("not poisoned")
            .values()
            .filter(|d| which(&d.login))
            .map(|d| d.outbox.clone())
            .collect();
        for outbox in &closing {
            outbox.close_with(farewell);
        }
        closing.len()
    }

    pub fn remove_desk(&self, staff: &StaffId, connection: u64) -> bool {
        let mut map = self.desks.lock().expect("not poisoned");
        if map
            .get(staff)
            .is_some_and(|d| d.outbox.connection == connection)
        {
            map.remove(staff);
            true
        } else {
            false
        }
    }

    pub fn to_kiosk(&self, kiosk: &KioskId, message: &BrokerToKiosk) -> bool {
        let outbox = self
            .kiosks
            .lock()
            .expect("not poisoned")
            .get(kiosk)
            .cloned();
        outbox.is_some_and(|o| o.send(message))
    }

    pub fn to_desk(&self, staff: &StaffId, message: &BrokerToDesk) -> bool {
        let outbox = self
            .desks
            .lock()
            .expect("not poisoned")
            .get(staff)
            .map(|d| d.outbox.clone());
        outbox.is_some_and(|o| o.send(message))
    }

    /// The same message to several desks, encoded once; how many it reached.
    pub fn to_desks<'a>(
        &self,
        staff: impl IntoIterator<Item = &'a StaffId>,
        message: &BrokerToDesk,
    ) -> usize {
        let outboxes: Vec<_> = {
            let desks = self.desks.lock().expect("not poisoned");
            staff
                .into_iter()
                .filter_map(|s| desks.get(s).map(|d| d.outbox.clone()))
                .collect()
        };
        let text = nara_protocol::encode(message);
        outboxes
            .iter()
            .filter(|o| o.send_encoded(text.clone()))
            .count()
    }

    pub fn kiosk_online(&self, kiosk: &str) -> bool {
        self.kiosks
            .lock()
            .expect("not poisoned")
            .keys()
            .any(|k| k.as_str() == kiosk)
    }

    pub fn close_kiosk(&self, kiosk: &KioskId, message: &BrokerToKiosk) {
        if let Some(outbox) = self.kiosks.lock().expect("not poisoned").get(kiosk) {
            outbox.close_with(message);
        }
    }

    /// Who is connected right now and may hold a call, kiosks then people.
    pub fn in_calls_or_ready(&self) -> (Vec<KioskId>, Vec<StaffId>) {
        (
            self.kiosks
                .lock()
                .expect("not poisoned")
                .keys()
                .cloned()
                .collect(),
            self.desks
                .lock()
                .expect("not poisoned")
                .iter()
                .filter(|(_, d)| d.login.takes_calls)
                .map(|(staff, _)| staff.clone())
                .collect(),
        )
    }

    pub fn counts(&self) -> (usize, usize) {
        (
            self.kiosks.lock().expect("not poisoned").len(),
            self.desks.lock().expect("not poisoned").len(),
        )
    }
}
