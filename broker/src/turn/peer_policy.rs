//! Which peer addresses the embedded TURN server may relay to.
//!
//! A TURN server that relays anywhere is a way into the network it stands in: a client
//! could reach the broker's own loopback services or the municipality's internal hosts.
//! So, as coturn's `denied-peer-ip`, relaying to loopback, private, shared (CGNAT),
//! link-local, multicast, unspecified, broadcast, documentation and IPv4-mapped or -translated
//! addresses is refused unless an administrator lists the range in `turn.embedded.allowed_peers`.

use ipnet::IpNet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

#[derive(Debug, Clone, Default)]
pub struct PeerPolicy {
    allowed: Vec<IpNet>,
}

impl PeerPolicy {
    pub fn new(allowed: Vec<IpNet>) -> Self {
        PeerPolicy { allowed }
    }

    /// Why relaying to `ip` is refused, or `None` when it is allowed.
    pub fn refusal(&self, ip: IpAddr) -> Option<&'static str> {
        if self.allowed.iter().any(|net| net.contains(&ip)) {
            return None;
        }
        match ip {
            IpAddr::V4(v4) => refusal_v4(v4),
            IpAddr::V6(v6) => refusal_v6(v6),
        }
    }
}

fn refusal_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_private() {
        Some("private")
    } else if a == 100 && (64..128).contains(&b) {
        Some("shared address space (carrier-grade NAT)")
    } else if ip.is_link_local() {
        Some("link-local")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if ip.is_broadcast() {
        Some("broadcast")
    } else if a == 0 {
        Some("unspecified (\"this network\")")
    } else if ip.is_documentation() || a >= 240 {
        Some("reserved")
    } else {
        None
    }
}

fn refusal_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let segments = ip.segments();
    if ip.to_ipv4_mapped().is_some() {
        // A mapped address reaches the IPv4 host behind it; checking the inner address
        // alone would let "::ffff:10.0.0.1" through where "10.0.0.1" is refused.
        Some("IPv4-mapped")
    } else if segments[..6] == [0, 0, 0, 0, 0, 0] && !ip.is_unspecified() && !ip.is_loopback() {
        Some("IPv4-compatible")
    } else if segments[0] == 0x64 && segments[1] == 0xff9b {
        Some("IPv4-translated (NAT64)")
    } else if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_unspecified() {
        Some("unspecified")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if segments[0] & 0xffc0 == 0xfe80 {
        Some("link-local")
    } else if segments[0] & 0xfe00 == 0xfc00 {
        Some("private (unique local)")
    } else if segments[0] == 0x2001 && segments[1] == 0x0db8 {
        Some("reserved")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(policy: &PeerPolicy, ip: &str) -> bool {
        policy.refusal(ip.parse().unwrap()).is_some()
    }

    #[test]
    fn internal_addresses_are_refused_by_default() {
        let policy = PeerPolicy::default();
        for ip in [
            "127.0.0.1",
            "127.8.8.8",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "100.64.0.1",
            "169.254.169.254",
            "224.0.0.1",
            "255.255.255.255",
            "0.0.0.0",
            "::1",
            "::",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:8.8.8.8",
            "::127.0.0.1",
            "64:ff9b::a00:1",
            "fe80::1",
            "fd00::1",
            "ff02::1",
        ] {
            assert!(refused(&policy, ip), "{ip} should be refused");
        }
    }

    #[test]
    fn public_addresses_are_relayed() {
        let policy = PeerPolicy::default();
        for ip in ["8.8.8.8", "193.10.1.1", "100.128.0.1", "2a00:1450::1"] {
            assert!(!refused(&policy, ip), "{ip} should be allowed");
        }
    }

    #[test]
    fn an_allowed_range_opens_only_that_range() {
        let policy = PeerPolicy::new(vec!["10.20.0.0/16".parse().unwrap()]);
        assert!(!refused(&policy, "10.20.3.4"));
        assert!(refused(&policy, "10.21.3.4"));
        assert!(refused(&policy, "::ffff:10.20.3.4"));
        assert!(refused(&policy, "127.0.0.1"));
    }
}
