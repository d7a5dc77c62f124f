//! The peer connections of a visit: one per desk ringing for it (made while it rings, sending
//! nothing), and one per person in the meeting. A ring that is answered turns its connection
//! into the meeting's; one that ends unanswered closes it.

use super::Kiosk;
use crate::peer::{FromPeer, PeerEvent, PeerLink, PeerSettings};
use crate::status::ChatLine;
use nara_protocol::kiosk::KioskToBroker;
use nara_protocol::peer::PeerMessage;
use nara_protocol::{decode, encode, CallId, NetworkQuality, StaffCard, StaffId};
use std::time::{Duration, Instant};

/// Someone in the meeting: the kiosk sends to them.
pub(super) struct Peer {
    pub(super) card: StaffCard,
    /// The call the connection was made on.
    pub(super) call: CallId,
    pub(super) link: PeerLink,
    pub(super) connected: bool,
    pub(super) channel_open: bool,
    pub(super) estimate_kbps: Option<u32>,
    /// The share of our packets the desk reports lost, in thousandths.
    pub(super) loss_permille: u16,
    pub(super) last_restart: Option<Instant>,
    /// Since when the path has carried nothing: from the offer until ICE connects, and from a
    /// break until it mends. A connection that never comes up (a TURN allocation that timed
    /// out, an offer lost on the way) is restarted like a broken one.
    pub(super) broken_since: Option<Instant>,
    /// The path's quality when last measured.
    pub(super) network: Option<NetworkQuality>,
}

/// A desk that rings for the visit or the call: connected to, sent nothing.
pub(super) struct RingingPeer {
    pub(super) call: CallId,
    pub(super) link: PeerLink,
    pub(super) connected: bool,
    pub(super) channel_open: bool,
    /// ICE gave the path up while it rang: the answer makes a fresh connection.
    pub(super) failed: bool,
}

impl Kiosk {
    /// Connects to a desk that rings, so that the answer finds the connection up.
    pub(super) async fn prepare_peer(&mut self, call: CallId, staff: StaffId) {
        if let Some(old) = self.ringing.remove(&staff) {
            old.link.close().await;
        }
        let Some(link) = self.connect(&call, &staff, false).await else {
            return;
        };
        tracing::info!(%call, %staff, "connecting to a desk while it rings");
        self.ringing.insert(
            staff,
            RingingPeer {
                call,
                link,
                connected: false,
                channel_open: false,
                failed: false,
            },
        );
    }

    /// Starts sending to someone in the call: over the connection made while their desk
    /// rang if it is still good, else over a new one.
    pub(super) async fn open_peer(&mut self, call: CallId, card: StaffCard) {
        // After a broker restart the call is announced again; a connection that still carries
        // media is kept rather than renegotiated.
        if let Some(peer) = self.peers.get(&card.staff) {
            if peer.connected {
                return;
            }
        }
        if let Some(old) = self.peers.remove(&card.staff) {
            old.link.close().await;
        }
        let (link, connected, channel_open) = match self.ringing.remove(&card.staff) {
            Some(rung) if rung.call == call && !rung.failed => {
                rung.link.go_live();
                if rung.connected {
                    // The desk sees the citizen from the next picture on.
                    self.media.start_picture();
                }
                tracing::info!(%call, staff = %card.staff, connected = rung.connected, "answered over the connection made while it rang");
                (rung.link, rung.connected, rung.channel_open)
            }
            rung => {
                if let Some(rung) = rung {
                    rung.link.close().await;
                }
                let Some(link) = self.connect(&call, &card.staff, true).await else {
                    return;
                };
                (link, false, false)
            }
        };
        let promoted_with_channel = channel_open;
        self.peers.insert(
            card.staff.clone(),
            Peer {
                card,
                call,
                link,
                connected,
                channel_open,
                estimate_kbps: None,
                loss_permille: 0,
                last_restart: None,
                broken_since: (!connected).then(Instant::now),
                network: None,
            },
        );
        if promoted_with_channel {
            self.tell_joined_desk_about_scanner().await;
        }
    }

    /// A desk that joins while the citizen scans learns of it at once.
    async fn tell_joined_desk_about_scanner(&mut self) {
        let document = self.documents.status();
        if document.scanning || !document.pages.is_empty() || document.problem.is_some() {
            self.tell_desks_about_scanner().await;
        }
    }

    /// Closes the connection with `staff`, in the meeting or ringing.
    pub(super) async fn close_peer(&mut self, staff: &StaffId) {
        self.documents.peer_gone(staff);
        if let Some(peer) = self.peers.remove(staff) {
            peer.link.close().await;
        }
        if let Some(rung) = self.ringing.remove(staff) {
            rung.link.close().await;
        }
    }

    /// A new connection to `staff`, offered to them; `live`: sending at once.
    async fn connect(&mut self, call: &CallId, staff: &StaffId, live: bool) -> Option<PeerLink> {
        let events = self.peer_events.clone();
        let opened = match PeerLink::open(
            staff.clone(),
            &self.settings,
            self.media.clone(),
            events.clone(),
            live,
        )
        .await
        {
            // mDNS needs a multicast route; a kiosk on a network without one (no default
            // route, say) still calls, only without resolving browsers' `.local` names.
            Err(error) if self.settings.mdns => {
                tracing::warn!(%error, "no peer connection with mDNS; trying without it");
                let settings = PeerSettings {
                    mdns: false,
                    ..self.settings.clone()
                };
                PeerLink::open(staff.clone(), &settings, self.media.clone(), events, live).await
            }
            other => other,
        };
        match opened {
            Ok(link) => {
                tracing::info!(%call, %staff, "offering to a desk");
                Some(link)
            }
            Err(error) => {
                tracing::error!(%error, "cannot make a peer connection");
                self.last_error = Some(format!("cannot connect to the officer: {error:#}"));
                None
            }
        }
    }

    /// What a connection to a ringing desk reports: its signalling goes out; its media and
    /// feedback wait for the answer.
    fn on_ringing_peer(&mut self, staff: StaffId, event: PeerEvent) {
        let Some(rung) = self.ringing.get_mut(&staff) else {
            return;
        };
        match event {
            PeerEvent::Signal(payload) => {
                let call = rung.call.clone();
                self.send(KioskToBroker::Signal {
                    call,
                    to: staff,
                    payload,
                })
            }
            PeerEvent::Connected => rung.connected = true,
            PeerEvent::ChannelOpen => rung.channel_open = true,
            PeerEvent::Disconnected => rung.connected = false,
            PeerEvent::Failed => {
                rung.connected = false;
                rung.failed = true;
            }
            _ => {}
        }
    }

    pub(super) async fn on_peer(&mut self, from: FromPeer) {
        let FromPeer { staff, link, event } = from;
        if self
            .ringing
            .get(&staff)
            .is_some_and(|r| r.link.id() == link)
        {
            self.on_ringing_peer(staff, event);
            return;
        }
        let Some(peer) = self.peers.get_mut(&staff).filter(|p| p.link.id() == link) else {
            return;
        };
        match event {
            PeerEvent::Signal(payload) => {
                let call = peer.call.clone();
                self.send(KioskToBroker::Signal {
                    call,
                    to: staff,
                    payload,
                })
            }
            PeerEvent::Connected => {
                peer.connected = true;
                peer.broken_since = None;
                self.media.start_picture();
            }
            PeerEvent::Disconnected => {
                tracing::info!(%staff, "the path to a desk broke; waiting for it to come back");
                peer.connected = false;
                peer.broken_since.get_or_insert_with(Instant::now);
            }
            PeerEvent::Failed => {
                peer.connected = false;
                peer.broken_since.get_or_insert_with(Instant::now);
                self.restart_broken_paths(Duration::ZERO).await;
            }
            PeerEvent::ChannelOpen => {
                peer.channel_open = true;
                self.tell_joined_desk_about_scanner().await;
            }
            PeerEvent::Text(text) => match decode::<PeerMessage>(&text) {
                Ok(
                    message @ (PeerMessage::PageReceived { .. }
                    | PeerMessage::DocumentFailed { .. }),
                ) => self.on_desk_document(&staff, &message),
                Ok(PeerMessage::Chat { id, text }) => {
                    self.chat.push(ChatLine {
                        from: Some(staff.clone()),
                        text: text.to_string(),
                    });
                    let seen = encode(&PeerMessage::ChatSeen { id });
                    let _ = peer.link.send_text(&seen).await;
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(%staff, %error, "a desk sent a message the kiosk does not understand")
                }
            },
            PeerEvent::KeyframeWanted => self.media.request_keyframe(),
            PeerEvent::Loss(permille) => peer.loss_permille = permille,
            PeerEvent::Estimate(kbps) => {
                peer.estimate_kbps = Some(kbps);
                let lowest = self.peers.values().filter_map(|p| p.estimate_kbps).min();
                let loss = self
                    .peers
                    .values()
                    .map(|p| p.loss_permille)
                    .max()
                    .unwrap_or(0);
                tracing::debug!(
                    kbps,
                    sending = self.sending_kbps,
                    loss,
                    "bandwidth estimate"
                );
                let now = Instant::now();
                if let Some(decision) =
                    lowest.and_then(|kbps| self.rate.update(kbps, self.sending_kbps, loss, now))
                {
                    self.media.apply_rate(decision);
                }
            }
        }
    }
}
