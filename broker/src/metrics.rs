//! Prometheus metrics at `/metrics`: connections, queue lengths, calls, errors.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::Mutex;

#[derive(Debug)]
pub struct Metrics {
    registry: Mutex<Registry>,
    pub kiosks_connected: Gauge,
    pub desks_connected: Gauge,
    pub visits_waiting: Gauge,
    pub calls_active: Gauge,
    pub calls_started: Counter,
    pub visits_ended: Family<Vec<(String, String)>, Counter>,
    pub protocol_errors: Family<Vec<(String, String)>, Counter>,
    pub connections_refused: Family<Vec<(String, String)>, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("nara");
        let m = Metrics {
            registry: Mutex::new(Registry::default()),
            kiosks_connected: Gauge::default(),
            desks_connected: Gauge::default(),
            visits_waiting: Gauge::default(),
            calls_active: Gauge::default(),
            calls_started: Counter::default(),
            visits_ended: Family::default(),
            protocol_errors: Family::default(),
            connections_refused: Family::default(),
        };
        registry.register(
            "kiosks_connected",
            "Kiosks connected now",
            m.kiosks_connected.clone(),
        );
        registry.register(
            "desks_connected",
            "Desks connected now",
            m.desks_connected.clone(),
        );
        registry.register(
            "visits_waiting",
            "Visits waiting in all queues",
            m.visits_waiting.clone(),
        );
        registry.register("calls_active", "Calls in progress", m.calls_active.clone());
        registry.register("calls_started", "Calls answered", m.calls_started.clone());
        registry.register(
            "visits_ended",
            "Visits ended, by outcome",
            m.visits_ended.clone(),
        );
        registry.register(
            "protocol_errors",
            "Messages refused, by error code",
            m.protocol_errors.clone(),
        );
        registry.register(
            "connections_refused",
            "Connections refused, by reason",
            m.connections_refused.clone(),
        );
        *m.registry.lock().expect("not poisoned") = registry;
        m
    }
}

impl Metrics {
    pub fn render(&self) -> String {
        let mut out = String::new();
        encode(&mut out, &self.registry.lock().expect("not poisoned"))
            .expect("writing to a String");
        out
    }

    pub fn refused(&self, reason: &str) {
        self.connections_refused
            .get_or_create(&vec![("reason".into(), reason.into())])
            .inc();
    }

    pub fn protocol_error(&self, code: nara_protocol::ErrorCode) {
        self.protocol_errors
            .get_or_create(&vec![("code".into(), format!("{code:?}"))])
            .inc();
    }
}
