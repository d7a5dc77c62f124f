//! Peer connections: one per person at a desk in the meeting (a mesh), so that a document can
//! go to exactly one of them.
//!
//! The rest of the kiosk sees only this module's small interface at the RTP boundary: RTP
//! packets go in from [`crate::media::Outgoing`], remote RTP comes out into
//! [`crate::media::Receiver`]s, signalling and data-channel text come out as [`PeerEvent`]s.
//! [`connection`] implements it with the `webrtc` crate; [`feedback`] lifts keyframe requests
//! and bandwidth estimates out of its RTCP; [`transfer`] sends a document over a data channel.
//! [`turn_bridge`] carries TURN over TCP and TLS,
//! which the `webrtc` crate lacks, framed by [`turn_framing`].

pub mod connection;
pub mod feedback;
pub mod transfer;
pub mod turn_bridge;
pub mod turn_framing;

use nara_protocol::{IceServer, NetworkQuality, SignalPayload, StaffId};
use std::net::SocketAddr;

pub use connection::PeerLink;
pub use turn_bridge::TurnBridges;

/// Something the kiosk must act on, from the peer connection with `staff`.
#[derive(Debug, Clone, PartialEq)]
pub enum PeerEvent {
    /// An offer or a candidate to send through the broker.
    Signal(SignalPayload),
    Connected,
    /// Nothing came over the path for a while; it may come back by itself.
    Disconnected,
    /// ICE gave the path up; only an ICE restart brings the connection back.
    Failed,
    /// The data channel is open: chat and documents can flow.
    ChannelOpen,
    /// Text from the desk over the data channel.
    Text(String),
    /// The desk's browser lost the picture (PLI/FIR).
    KeyframeWanted,
    /// The desk's receive-side bandwidth estimate (REMB), in kbit/s.
    Estimate(u32),
    /// The share of the kiosk's packets the desk reports lost, in thousandths.
    Loss(u16),
}

/// A peer event and whose connection it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct FromPeer {
    pub staff: StaffId,
    /// Which of the connections ever made to `staff` (see [`PeerLink::id`]): one closed a
    /// moment ago may still have events on the way, and they are not the new one's.
    pub link: u64,
    pub event: PeerEvent,
}

/// How peer connections are made on this kiosk.
#[derive(Debug, Clone)]
pub struct PeerSettings {
    pub ice_servers: Vec<IceServer>,
    /// Only TURN relays, never a direct path (agencies whose firewalls insist; tests).
    pub relay_only: bool,
    /// Local addresses to gather from; `0.0.0.0:0` for every interface.
    pub bind: Vec<SocketAddr>,
    /// Offer loopback candidates (tests on one machine).
    pub loopback: bool,
    /// Resolve `.local` names of browsers that hide their addresses (keep on in the field).
    pub mdns: bool,
}

/// The network quality of a call as the health report carries it.
pub fn quality(rtt_ms: f64, loss_fraction: f64, bitrate_bps: f64) -> NetworkQuality {
    NetworkQuality {
        rtt_ms: rtt_ms.max(0.0).round() as u32,
        loss_permille: (loss_fraction.clamp(0.0, 1.0) * 1000.0).round() as u16,
        bitrate_kbps: (bitrate_bps.max(0.0) / 1000.0).round() as u32,
        last_interruption_ms: None,
    }
}
