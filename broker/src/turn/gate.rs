//! The gate in front of the embedded TURN server: every packet a client sends passes
//! [`Gate::inspect`] before the `turn` crate sees it.
//!
//! The `turn` crate has no hook for a peer policy and answers an expired credential with a
//! bare "400 Bad Request", so the gate does both jobs itself: it refuses permissions and
//! channels to forbidden peers with "403 Forbidden" (signed, so clients trust it), drops Send
//! indications to them, and refuses expired credentials with "401 Unauthorized" and a reason
//! a person can act on. A credential claiming to last longer than the broker ever hands out
//! is refused the same way: a leaked secret must not mint year-2100 usernames. It does no I/O: [`GatedConn`] wraps a listening `Conn` with it.

use super::peer_policy::PeerPolicy;
use super::quota::AllocationQuota;
use super::TurnCredentials;
use crate::clock::{Clock, SystemClock};
use async_trait::async_trait;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use stun::attributes::{ATTR_MESSAGE_INTEGRITY, ATTR_USERNAME, ATTR_XOR_PEER_ADDRESS};
use stun::error_code::{
    ErrorCodeAttribute, CODE_ALLOC_QUOTA_REACHED, CODE_FORBIDDEN, CODE_INSUFFICIENT_CAPACITY,
    CODE_UNAUTHORIZED,
};
use stun::integrity::MessageIntegrity;
use stun::message::{
    is_message, Getter, Message, MessageType, Setter, CLASS_ERROR_RESPONSE, CLASS_INDICATION,
    CLASS_REQUEST, CLASS_SUCCESS_RESPONSE, METHOD_ALLOCATE, METHOD_CHANNEL_BIND,
    METHOD_CREATE_PERMISSION, METHOD_REFRESH, METHOD_SEND,
};
use stun::textattrs::TextAttribute;
use turn::proto::peeraddr::PeerAddress;
use webrtc_util::Conn;

/// What to do with one packet from a client.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Hand it to the TURN server.
    Pass,
    /// Throw it away (a Send indication to a forbidden peer has no response).
    Drop,
    /// Answer the client with this STUN error response instead.
    Reply(Vec<u8>),
}

#[derive(Debug)]
pub struct Gate {
    policy: PeerPolicy,
    secret: String,
    realm: String,
    quota: Mutex<AllocationQuota>,
    /// The longest a credential may be valid from now: what the broker hands out.
    max_lifetime_seconds: u64,
}

/// Clocks of the broker nodes and the TURN server may differ by this much.
const CLOCK_SLACK_SECONDS: u64 = 60;

impl Gate {
    pub fn new(
        policy: PeerPolicy,
        secret: String,
        realm: String,
        quota: AllocationQuota,
        max_lifetime_seconds: u64,
    ) -> Self {
        Gate {
            policy,
            secret,
            realm,
            quota: Mutex::new(quota),
            max_lifetime_seconds,
        }
    }

    /// A packet the server sends to `client`: the answer to an Allocate settles its quota.
    pub fn outgoing(&self, packet: &[u8]) {
        if !is_message(packet) {
            return;
        }
        let mut message = Message::new();
        if message.unmarshal_binary(packet).is_ok() && message.typ.method == METHOD_ALLOCATE {
            let success = message.typ.class == CLASS_SUCCESS_RESPONSE;
            if success || message.typ.class == CLASS_ERROR_RESPONSE {
                self.quota().answered(message.transaction_id.0, success);
            }
        }
    }

    /// The server closed the allocation of `client`.
    pub fn allocation_closed(&self, client: SocketAddr) {
        self.quota().closed(client);
    }

    fn quota(&self) -> std::sync::MutexGuard<'_, AllocationQuota> {
        self.quota
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn inspect(&self, packet: &[u8], from: SocketAddr, now_seconds: u64) -> Verdict {
        if !is_message(packet) {
            return Verdict::Pass; // ChannelData: only reaches channels the gate allowed.
        }
        let mut message = Message::new();
        if message.unmarshal_binary(packet).is_err() {
            return Verdict::Pass; // The server answers malformed requests itself.
        }
        let method = message.typ.method;
        let class = message.typ.class;
        let authenticated = class == CLASS_REQUEST
            && [
                METHOD_ALLOCATE,
                METHOD_REFRESH,
                METHOD_CREATE_PERMISSION,
                METHOD_CHANNEL_BIND,
            ]
            .contains(&method)
            && message.contains(ATTR_MESSAGE_INTEGRITY);
        let username = if authenticated {
            let mut username = TextAttribute::new(ATTR_USERNAME, String::new());
            match username.get_from(&message) {
                Ok(()) => Some(username.text),
                Err(_) => None,
            }
        } else {
            None
        };
        if let Some(name) = &username {
            let longest = now_seconds + self.max_lifetime_seconds + CLOCK_SLACK_SECONDS;
            if let Some(reason) = outside_lifetime(name, now_seconds, longest) {
                return self.refuse(&message, CODE_UNAUTHORIZED, &reason, None);
            }
            if method == METHOD_ALLOCATE {
                let asked = self.quota().request(from, name, message.transaction_id.0);
                if let Err(refusal) = asked {
                    let code = match refusal {
                        super::quota::QuotaRefusal::PerUser { .. } => CODE_ALLOC_QUOTA_REACHED,
                        super::quota::QuotaRefusal::Capacity { .. } => CODE_INSUFFICIENT_CAPACITY,
                    };
                    return self.refuse(&message, code, &refusal.reason(), Some(name));
                }
            }
        }

        let checks_peers = (class == CLASS_REQUEST
            && (method == METHOD_CREATE_PERMISSION || method == METHOD_CHANNEL_BIND))
            || (class == CLASS_INDICATION && method == METHOD_SEND);
        if !checks_peers {
            return Verdict::Pass;
        }
        for peer in peer_addresses(&message) {
            if let Some(kind) = self.policy.refusal(peer.ip) {
                if class == CLASS_INDICATION {
                    return Verdict::Drop;
                }
                let reason = format!(
                    "Forbidden: this TURN server does not relay to {} ({kind} address)",
                    peer.ip
                );
                return self.refuse(&message, CODE_FORBIDDEN, &reason, username.as_deref());
            }
        }
        Verdict::Pass
    }

    fn refuse(
        &self,
        request: &Message,
        code: stun::error_code::ErrorCode,
        reason: &str,
        signed_for: Option<&str>,
    ) -> Verdict {
        let mut setters: Vec<Box<dyn Setter>> = vec![
            Box::new(request.transaction_id),
            Box::new(MessageType::new(request.typ.method, CLASS_ERROR_RESPONSE)),
            Box::new(ErrorCodeAttribute {
                code,
                reason: reason.as_bytes().to_vec(),
            }),
        ];
        if let Some(username) = signed_for {
            let password = TurnCredentials::password(&self.secret, username);
            setters.push(Box::new(MessageIntegrity::new_long_term_integrity(
                username.to_string(),
                self.realm.clone(),
                password,
            )));
        }
        let mut response = Message::new();
        match response.build(&setters) {
            Ok(()) => Verdict::Reply(response.raw),
            Err(e) => {
                tracing::warn!(error = %e, "could not build a TURN error response");
                Verdict::Drop
            }
        }
    }
}

/// TURN REST usernames are `expiry[:who]` with expiry in Unix seconds: why this one is not
/// valid now, if it is not.
fn outside_lifetime(username: &str, now_seconds: u64, longest: u64) -> Option<String> {
    let expiry = username.split(':').next().unwrap_or_default();
    match expiry.parse::<u64>() {
        Ok(at) if at > longest => Some(format!(
            "TURN credential claims to be valid for {} s, longer than this server allows; \
             use the credentials the broker hands out",
            at - now_seconds
        )),
        Ok(at) if at >= now_seconds => None,
        Ok(at) => Some(format!(
            "TURN credential expired {} s ago; fetch a fresh one from the broker",
            now_seconds - at
        )),
        Err(_) => Some(
            "TURN username is not \"expiry:name\"; use the credentials the broker hands out".into(),
        ),
    }
}

/// Every XOR-PEER-ADDRESS in the message: CreatePermission may carry several.
fn peer_addresses(message: &Message) -> Vec<PeerAddress> {
    let mut found = Vec::new();
    for attribute in &message.attributes.0 {
        if attribute.typ != ATTR_XOR_PEER_ADDRESS {
            continue;
        }
        let mut single = Message::new();
        single.transaction_id = message.transaction_id;
        single.add(ATTR_XOR_PEER_ADDRESS, &attribute.value);
        let mut peer = PeerAddress::default();
        if peer.get_from(&single).is_ok() {
            found.push(peer);
        }
    }
    found
}

/// A listening `Conn` whose incoming packets pass the gate first.
pub struct GatedConn {
    inner: Arc<dyn Conn + Send + Sync>,
    gate: Arc<Gate>,
}

impl std::fmt::Debug for GatedConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatedConn").finish_non_exhaustive()
    }
}

impl GatedConn {
    pub fn new(inner: Arc<dyn Conn + Send + Sync>, gate: Arc<Gate>) -> Self {
        GatedConn { inner, gate }
    }
}

#[async_trait]
impl Conn for GatedConn {
    async fn connect(&self, addr: SocketAddr) -> webrtc_util::Result<()> {
        self.inner.connect(addr).await
    }

    async fn recv(&self, buf: &mut [u8]) -> webrtc_util::Result<usize> {
        Ok(self.recv_from(buf).await?.0)
    }

    async fn recv_from(&self, buf: &mut [u8]) -> webrtc_util::Result<(usize, SocketAddr)> {
        loop {
            let (n, from) = self.inner.recv_from(buf).await?;
            match self
                .gate
                .inspect(&buf[..n], from, SystemClock.now_ms() / 1000)
            {
                Verdict::Pass => return Ok((n, from)),
                Verdict::Drop => {}
                Verdict::Reply(response) => {
                    if let Err(e) = self.inner.send_to(&response, from).await {
                        tracing::debug!(error = %e, %from, "TURN refusal not delivered");
                    }
                }
            }
        }
    }

    async fn send(&self, buf: &[u8]) -> webrtc_util::Result<usize> {
        self.inner.send(buf).await
    }

    async fn send_to(&self, buf: &[u8], target: SocketAddr) -> webrtc_util::Result<usize> {
        self.gate.outgoing(buf);
        self.inner.send_to(buf, target).await
    }

    fn local_addr(&self) -> webrtc_util::Result<SocketAddr> {
        self.inner.local_addr()
    }

    fn remote_addr(&self) -> Option<SocketAddr> {
        self.inner.remote_addr()
    }

    async fn close(&self) -> webrtc_util::Result<()> {
        self.inner.close().await
    }

    fn as_any(&self) -> &(dyn std::any::Any + Send + Sync) {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stun::agent::TransactionId;
    use stun::message::{BINDING_REQUEST, METHOD_BINDING};
    use turn::proto::chandata::ChannelData;
    use turn::proto::channum::ChannelNumber;

    const NOW: u64 = 1_800_000_000;

    const CLIENT: ([u8; 4], u16) = ([198, 51, 100, 7], 40000);

    fn client() -> SocketAddr {
        SocketAddr::from(CLIENT)
    }

    fn gate() -> Gate {
        let quota = AllocationQuota::new(2, 100);
        Gate::new(
            PeerPolicy::default(),
            "s3cret".into(),
            "nara".into(),
            quota,
            4 * 3600,
        )
    }

    fn request(method: stun::message::Method, username: &str, peers: &[&str]) -> Vec<u8> {
        let mut setters: Vec<Box<dyn Setter>> = vec![
            Box::new(TransactionId::new()),
            Box::new(MessageType::new(method, CLASS_REQUEST)),
            Box::new(TextAttribute::new(ATTR_USERNAME, username.to_string())),
        ];
        for peer in peers {
            let addr: SocketAddr = peer.parse().unwrap();
            setters.push(Box::new(PeerAddress {
                ip: addr.ip(),
                port: addr.port(),
            }));
        }
        let password = TurnCredentials::password("s3cret", username);
        setters.push(Box::new(MessageIntegrity::new_long_term_integrity(
            username.into(),
            "nara".into(),
            password,
        )));
        let mut m = Message::new();
        m.build(&setters).unwrap();
        m.raw
    }

    fn error_of(verdict: Verdict) -> (u16, String) {
        let Verdict::Reply(raw) = verdict else {
            panic!("expected a reply, got {verdict:?}");
        };
        let mut m = Message::new();
        m.unmarshal_binary(&raw).unwrap();
        assert_eq!(m.typ.class, CLASS_ERROR_RESPONSE);
        let mut code = ErrorCodeAttribute::default();
        code.get_from(&m).unwrap();
        (code.code.0, String::from_utf8(code.reason).unwrap())
    }

    #[test]
    fn permissions_to_internal_peers_are_forbidden_with_a_reason() {
        let user = format!("{}:k-1", NOW + 60);
        for peer in ["127.0.0.1:9", "10.0.0.1:9", "[::ffff:127.0.0.1]:9"] {
            let verdict = gate().inspect(
                &request(METHOD_CREATE_PERMISSION, &user, &[peer]),
                client(),
                NOW,
            );
            let (code, reason) = error_of(verdict);
            assert_eq!(code, 403, "{peer}");
            assert!(reason.contains("does not relay to"), "{reason}");
        }
    }

    #[test]
    fn one_forbidden_peer_among_several_refuses_the_request() {
        let user = format!("{}:k-1", NOW + 60);
        let packet = request(
            METHOD_CREATE_PERMISSION,
            &user,
            &["8.8.8.8:9", "192.168.0.10:9"],
        );
        assert_eq!(error_of(gate().inspect(&packet, client(), NOW)).0, 403);
    }

    #[test]
    fn channels_and_sends_to_internal_peers_are_refused_too() {
        let user = format!("{}:k-1", NOW + 60);
        let bind = request(METHOD_CHANNEL_BIND, &user, &["169.254.169.254:80"]);
        assert_eq!(error_of(gate().inspect(&bind, client(), NOW)).0, 403);

        let mut send = Message::new();
        send.build(&[
            Box::new(TransactionId::new()),
            Box::new(MessageType::new(METHOD_SEND, CLASS_INDICATION)),
            Box::new(PeerAddress {
                ip: "127.0.0.1".parse().unwrap(),
                port: 22,
            }),
        ])
        .unwrap();
        assert_eq!(gate().inspect(&send.raw, client(), NOW), Verdict::Drop);
    }

    #[test]
    fn public_peers_and_other_traffic_pass() {
        let user = format!("{}:k-1", NOW + 60);
        let packet = request(METHOD_CREATE_PERMISSION, &user, &["8.8.8.8:3478"]);
        assert_eq!(gate().inspect(&packet, client(), NOW), Verdict::Pass);

        let mut binding = Message::new();
        binding
            .build(&[Box::new(TransactionId::new()), Box::new(BINDING_REQUEST)])
            .unwrap();
        assert_eq!(binding.typ.method, METHOD_BINDING);
        assert_eq!(gate().inspect(&binding.raw, client(), NOW), Verdict::Pass);

        let mut data = ChannelData {
            number: ChannelNumber(0x4000),
            data: vec![1, 2, 3],
            raw: Vec::new(),
        };
        data.encode();
        assert_eq!(gate().inspect(&data.raw, client(), NOW), Verdict::Pass);
        assert_eq!(gate().inspect(b"garbage", client(), NOW), Verdict::Pass);
    }

    #[test]
    fn an_expired_credential_is_refused_with_a_reason() {
        let user = format!("{}:k-1", NOW - 30);
        let (code, reason) =
            error_of(gate().inspect(&request(METHOD_ALLOCATE, &user, &[]), client(), NOW));
        assert_eq!(code, 401);
        assert!(reason.contains("expired 30 s ago"), "{reason}");

        let (code, _) =
            error_of(gate().inspect(&request(METHOD_ALLOCATE, "alice", &[]), client(), NOW));
        assert_eq!(code, 401);
    }

    /// L5 of the security review: a username for the year 2100 was allocated.
    #[test]
    fn l5_a_credential_valid_longer_than_the_broker_hands_out_is_refused() {
        let year_2100 = "4102444800:k-1";
        let (code, reason) =
            error_of(gate().inspect(&request(METHOD_ALLOCATE, year_2100, &[]), client(), NOW));
        assert_eq!(code, 401);
        assert!(
            reason.contains("longer than this server allows"),
            "{reason}"
        );

        let as_handed_out = format!("{}:k-1", NOW + 4 * 3600);
        let packet = request(METHOD_ALLOCATE, &as_handed_out, &[]);
        assert_eq!(gate().inspect(&packet, client(), NOW), Verdict::Pass);
    }

    #[test]
    fn a_credential_past_its_relay_quota_gets_486_until_one_closes() {
        let gate = gate();
        let user = format!("{}:k-1", NOW + 600);
        let from = |port: u16| SocketAddr::from(([198, 51, 100, 7], port));
        for port in [1, 2] {
            let allocate = request(METHOD_ALLOCATE, &user, &[]);
            assert_eq!(gate.inspect(&allocate, from(port), NOW), Verdict::Pass);
            let mut granted = Message::new();
            granted.unmarshal_binary(&allocate).unwrap();
            granted.typ = MessageType::new(METHOD_ALLOCATE, CLASS_SUCCESS_RESPONSE);
            granted.write_header();
            gate.outgoing(&granted.raw);
        }
        let third = gate.inspect(&request(METHOD_ALLOCATE, &user, &[]), from(3), NOW);
        let (code, reason) = error_of(third);
        assert_eq!(code, 486);
        assert!(reason.contains("already holds 2 relays"), "{reason}");

        gate.allocation_closed(from(1));
        let again = gate.inspect(&request(METHOD_ALLOCATE, &user, &[]), from(3), NOW);
        assert_eq!(again, Verdict::Pass);
    }
}
