//! TURN: short-lived credentials in the TURN REST style (`expiry:who`, HMAC-SHA1 of it with a
//! shared secret, as coturn's `use-auth-secret`), the ICE server lists handed out, and the
//! embedded TURN server for the single-machine default.
//!
//! - [`server`]: the embedded server (UDP and TCP) on the `turn` crate.
//! - [`gate`]: what every client packet passes first: peer policy and credential expiry.
//! - [`peer_policy`]: which peer addresses may be relayed to.
//! - [`tcp`]: TURN over TCP presented to the `turn` crate as a packet connection.

pub mod gate;
pub mod peer_policy;
pub mod quota;
pub mod server;
pub mod tcp;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use nara_protocol::IceServer;
use sha1::Sha1;

#[derive(Debug)]
pub struct TurnCredentials {
    secret: String,
    ttl_seconds: u64,
    urls: Vec<String>,
}

impl TurnCredentials {
    pub fn new(secret: String, ttl_seconds: u64, urls: Vec<String>) -> Self {
        TurnCredentials {
            secret,
            ttl_seconds,
            urls,
        }
    }

    /// The password for `username` under `secret`.
    pub fn password(secret: &str, username: &str) -> String {
        let mut mac =
            Hmac::<Sha1>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
        mac.update(username.as_bytes());
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    }

    /// ICE servers for `who`, valid until `now_seconds + ttl`.
    pub fn ice_servers(&self, who: &str, now_seconds: u64) -> Vec<IceServer> {
        if self.urls.is_empty() {
            return Vec::new();
        }
        let username = format!("{}:{who}", now_seconds + self.ttl_seconds);
        vec![IceServer {
            urls: self.urls.clone(),
            credential: Some(Self::password(&self.secret, &username)),
            username: Some(username),
        }]
    }

    pub fn secret(&self) -> &str {
        &self.secret
    }
}

/// Hands every connected kiosk and desk fresh credentials, so a kiosk that stays connected
/// for days can still reach TURN for its next call.
pub fn refresh_everyone(
    connections: &crate::state::Connections,
    turn: &TurnCredentials,
    now_seconds: u64,
) {
    let (kiosks, staff) = connections.in_calls_or_ready();
    for kiosk in kiosks {
        connections.to_kiosk(
            &kiosk,
            &nara_protocol::kiosk::BrokerToKiosk::IceServers {
                ice_servers: turn.ice_servers(kiosk.as_str(), now_seconds),
            },
        );
    }
    for person in staff {
        connections.to_desk(
            &person,
            &nara_protocol::desk::BrokerToDesk::IceServers {
                ice_servers: turn.ice_servers(person.as_str(), now_seconds),
            },
        );
    }
}

/// How often [`refresh_everyone`] runs: well before credentials expire.
pub fn refresh_interval(ttl_seconds: u64) -> std::time::Duration {
    std::time::Duration::from_secs((ttl_seconds / 3).max(10))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connected_clients_get_credentials_valid_from_now() {
        let connections = crate::state::Connections::default();
        let (outbox, mut received) = connections.outbox(8);
        let kiosk = nara_protocol::KioskId::new("k-1").unwrap();
        connections.add_kiosk(&kiosk, outbox);
        let creds = TurnCredentials::new("s".into(), 600, vec!["turn:192.0.2.1:3478".into()]);
        refresh_everyone(&connections, &creds, 50_000);
        let Ok(crate::state::Outgoing::Text(text)) = received.try_recv() else {
            panic!("nothing sent");
        };
        assert!(
            text.contains("\"iceServers\"") && text.contains("50600:k-1"),
            "{text}"
        );
        assert!(refresh_interval(600) < std::time::Duration::from_secs(600));
    }

    #[test]
    fn credentials_follow_turn_rest() {
        let creds = TurnCredentials::new("s3cret".into(), 600, vec!["turn:127.0.0.1:3478".into()]);
        let servers = creds.ice_servers("k-1", 1_000);
        let username = servers[0].username.clone().unwrap();
        assert_eq!(username, "1600:k-1");
        // The RFC 7635 / coturn reference: base64(HMAC-SHA1(secret, username)).
        assert_eq!(
            servers[0].credential.as_deref(),
            Some("RG8mphcdemkKQXGyWcb5FL3mq5Q=")
        );
    }
}
