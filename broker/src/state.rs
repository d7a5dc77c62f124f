//! Shared state of a running broker: configuration, storage, the routing engine's inbox and
//! the registry of live connections.

use crate::config::Config;
use crate::engine::EngineHandle;
use crate::metrics::Metrics;
use crate::pki::KioskCa;
use crate::storage::Store;
use crate::turn::TurnCredentials;
use nara_protocol::{BrokerToDesk, BrokerToKiosk, KioskId, StaffId};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

mod outbox;

pub use outbox::{Outbox, OutboxReceiver, Outgoing};

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[derive(Clone, Debug)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Arc<dyn Store>,
    pub ca: Arc<KioskCa>,
    pub engine: EngineHandle,
    pub connections: Arc<Connections>,
    pub metrics: Arc<Metrics>,
    pub turn: Arc<TurnCredentials>,
}

/// Live WebSocket connections by kiosk and by person.
#[derive(Debug, Default)]
pub struct Connections {
    next_id: AtomicU64,
    kiosks: Mutex<HashMap<KioskId, Outbox>>,
    desks: Mutex<HashMap<StaffId, Outbox>>,
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

    pub fn add_desk(&self, staff: &StaffId, outbox: Outbox) -> Option<Outbox> {
        self.desks
            .lock()
            .expect("not poisoned")
            .insert(staff.clone(), outbox)
    }

    pub fn remove_desk(&self, staff: &StaffId, connection: u64) -> bool {
        let mut map = self.desks.lock().expect("not poisoned");
        if map.get(staff).is_some_and(|o| o.connection == connection) {
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

    /// Sends `message` to every connected kiosk.
    pub fn to_every_kiosk(&self, message: &BrokerToKiosk) {
        let outboxes: Vec<Outbox> = self
            .kiosks
            .lock()
            .expect("not poisoned")
            .values()
            .cloned()
            .collect();
        for outbox in outboxes {
            outbox.send(message);
        }
    }

    pub fn to_desk(&self, staff: &StaffId, message: &BrokerToDesk) -> bool {
        let outbox = self.desks.lock().expect("not poisoned").get(staff).cloned();
        outbox.is_some_and(|o| o.send(message))
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

    /// Who is connected right now, kiosks then people.
    pub fn connected(&self) -> (Vec<KioskId>, Vec<StaffId>) {
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
                .keys()
                .cloned()
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
