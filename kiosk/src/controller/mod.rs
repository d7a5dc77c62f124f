//! The kiosk's async shell: it feeds the [`crate::visit`] state machine with the broker's
//! messages and the citizen's actions, and carries out its commands on the peer connections,
//! the media and the broker link. Everything of a visit (peers, chat) lives here in memory
//! and is dropped when the visit ends.

mod documents;
mod peers;

pub use documents::DocumentRequest;

use crate::documents::{DocumentEvent, Documents};
use crate::health;
use crate::link::{self, LinkEvent};
use crate::media::rate::RateController;
use crate::media::{CaptureHealth, Media};
use crate::peer::{FromPeer, PeerSettings, TurnBridges};
use crate::scanner::Scanner;
use crate::status::{ChatLine, PeerStatus, RingingStatus, Status};
use crate::visit::{CitizenAction, Command, Visit};
use crate::Identity;
use nara_protocol::kiosk::{AgencyChoice, BrokerToKiosk, KioskToBroker};
use nara_protocol::peer::PeerMessage;
use nara_protocol::{encode, ErrorCode, KioskActivity, LongText, SelfTestReport, StaffId, VisitId};
use peers::{Peer, RingingPeer};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, watch};

/// What the local API (or the touch UI) asks of the kiosk.
#[derive(Debug)]
pub enum Request {
    Status(oneshot::Sender<Status>),
    Citizen(CitizenAction, oneshot::Sender<Result<(), String>>),
    Chat(String, oneshot::Sender<Result<(), String>>),
    SelfTest(oneshot::Sender<SelfTestReport>),
    Document(DocumentRequest, oneshot::Sender<Result<(), String>>),
    /// Page n (from 0) of the citizen's document, as a JPEG.
    DocumentPage(usize, oneshot::Sender<Option<Vec<u8>>>),
    /// The newest pictures for the screen: the citizen's own, and each desk's.
    Pictures(oneshot::Sender<Pictures>),
    /// The citizen muting their microphone, or turning the speaker up or down (0–100 %).
    Microphone {
        muted: bool,
    },
    Volume(u8),
}

/// Pictures that came since the screen last asked.
#[derive(Debug, Default)]
pub struct Pictures {
    pub own: Option<crate::media::pictures::Picture>,
    pub desks: Vec<(StaffId, crate::media::pictures::Picture)>,
}

/// The way into a running kiosk.
#[derive(Clone, Debug)]
pub struct Handle {
    requests: mpsc::Sender<Request>,
}

impl Handle {
    pub async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Request) -> Option<T> {
        let (reply, answer) = oneshot::channel();
        self.requests.send(make(reply)).await.ok()?;
        answer.await.ok()
    }

    /// A request that needs no answer; false when the kiosk is stopping.
    pub async fn tell(&self, request: Request) -> bool {
        self.requests.send(request).await.is_ok()
    }
}

/// How often the paths to the desks are measured and the media fitted to them.
const MEASURE_PATHS_EVERY: Duration = Duration::from_secs(2);
/// A broken path often comes back by itself (a cable reseated, a Wi-Fi roam, a router
/// restarting): the connection then simply carries on. An ICE restart renegotiates through
/// the broker, which after an outage is itself still reconnecting, so it waits this long.
const RESTART_ICE_AFTER: Duration = Duration::from_secs(6);
/// Restarts are at least this far apart: each one abandons the one before.
const RESTARTS_APART: Duration = Duration::from_secs(10);

struct Kiosk {
    identity: Identity,
    media: Arc<Media>,
    settings: PeerSettings,
    /// TURN over TCP and TLS for the peer connections (rewrites `settings.ice_servers`).
    turn_bridges: TurnBridges,
    visit: Visit,
    visit_watch: watch::Sender<Option<VisitId>>,
    outbox: mpsc::UnboundedSender<nara_protocol::Request<KioskToBroker>>,
    peer_events: mpsc::UnboundedSender<FromPeer>,
    peers: BTreeMap<StaffId, Peer>,
    /// Desks ringing for the visit or the call, connected to while they ring.
    ringing: BTreeMap<StaffId, RingingPeer>,
    chat: Vec<ChatLine>,
    chat_sent: u32,
    document_requested_by: Option<StaffId>,
    documents: Documents,
    connected: bool,
    site_name: String,
    agencies: Vec<AgencyChoice>,
    last_error: Option<String>,
    rate: RateController,
    /// Video the encoder produced over the last measurement, and the byte count then.
    sending_kbps: u32,
    video_bytes: (u64, Instant),
    heartbeat_every: Duration,
    last_capture: CaptureHealth,
    self_tests: mpsc::UnboundedSender<(Option<nara_protocol::RequestId>, SelfTestReport)>,
    self_test_waiting: Vec<oneshot::Sender<SelfTestReport>>,
    self_test_running: bool,
}

/// Starts the kiosk: the broker link and the loop that serves the visit. Returns the handle
/// the API talks to; the kiosk stops when `shutdown` turns true.
pub fn start(
    identity: Identity,
    media: Arc<Media>,
    settings: PeerSettings,
    turn_bridges: TurnBridges,
    scanner: Arc<Scanner>,
    shutdown: watch::Receiver<bool>,
) -> (Handle, tokio::task::JoinHandle<()>) {
    let (requests_tx, requests) = mpsc::channel(64);
    let (outbox, outbox_rx) = mpsc::unbounded_channel();
    let (link_tx, link_events) = mpsc::unbounded_channel();
    let (visit_watch, visit_rx) = watch::channel(None);
    let (peer_events, peer_rx) = mpsc::unbounded_channel();
    let (self_tests, self_test_rx) = mpsc::unbounded_channel();
    let (document_events, document_rx) = mpsc::unbounded_channel();
    tokio::spawn(link::run(
        identity.clone(),
        env!("CARGO_PKG_VERSION").to_string(),
        visit_rx,
        outbox_rx,
        link_tx,
        shutdown.clone(),
    ));
    let last_capture = media.capture_health();
    // The health report names the scanner from the start.
    let probing = scanner.clone();
    tokio::spawn(async move {
        if let Err(error) = probing.probe().await {
            tracing::info!(%error, "no scanner");
        }
    });
    let rate = media.starting_rate();
    let kiosk = Kiosk {
        identity,
        media,
        settings,
        turn_bridges,
        visit: Visit::new(),
        visit_watch,
        outbox,
        peer_events,
        peers: BTreeMap::new(),
        ringing: BTreeMap::new(),
        chat: Vec::new(),
        chat_sent: 0,
        document_requested_by: None,
        documents: Documents::new(scanner, document_events),
        connected: false,
        site_name: String::new(),
        agencies: Vec::new(),
        last_error: None,
        rate,
        sending_kbps: 0,
        video_bytes: (0, Instant::now()),
        heartbeat_every: Duration::from_secs(30),
        last_capture,
        self_tests,
        self_test_waiting: Vec::new(),
        self_test_running: false,
    };
    let task = tokio::spawn(kiosk.serve(
        requests,
        link_events,
        peer_rx,
        self_test_rx,
        document_rx,
        shutdown,
    ));
    (
        Handle {
            requests: requests_tx,
        },
        task,
    )
}

impl Kiosk {
    async fn serve(
        mut self,
        mut requests: mpsc::Receiver<Request>,
        mut link_events: mpsc::UnboundedReceiver<LinkEvent>,
        mut peer_events: mpsc::UnboundedReceiver<FromPeer>,
        mut self_tests: mpsc::UnboundedReceiver<(Option<nara_protocol::RequestId>, SelfTestReport)>,
        mut document_events: mpsc::UnboundedReceiver<DocumentEvent>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let mut heartbeat = tokio::time::interval(self.heartbeat_every);
        let mut measure = tokio::time::interval(MEASURE_PATHS_EVERY);
        loop {
            tokio::select! {
                Some(event) = link_events.recv() => match event {
                    LinkEvent::Up => {
                        self.connected = true;
                        // An offer made while the link was down may have been lost with it.
                        self.restart_broken_paths(Duration::ZERO).await;
                    }
                    LinkEvent::Down(reason) => {
                        self.connected = false;
                        self.last_error = Some(reason);
                    }
                    LinkEvent::Message(message) => {
                        if let BrokerToKiosk::Welcome { heartbeat_seconds, .. } = &message {
                            let every = Duration::from_secs((*heartbeat_seconds).max(1) as u64);
                            if every != self.heartbeat_every {
                                self.heartbeat_every = every;
                                heartbeat = tokio::time::interval(every);
                            }
                        }
                        self.on_broker(message).await;
                    }
                },
                Some(from) = peer_events.recv() => self.on_peer(from).await,
                Some(event) = document_events.recv() => self.on_document_event(event).await,
                Some(request) = requests.recv() => self.on_request(request).await,
                Some((request, report)) = self_tests.recv() => {
                    self.self_test_running = false;
                    if let Some(request) = request {
                        self.send(KioskToBroker::SelfTestResult { request, report: report.clone() });
                    }
                    for waiting in self.self_test_waiting.drain(..) {
                        let _ = waiting.send(report.clone());
                    }
                }
                _ = heartbeat.tick() => self.heartbeat().await,
                _ = measure.tick() => self.fit_media_to_paths().await,
                _ = shutdown.changed() => {
                    self.drop_visit().await;
                    return;
                }
            }
        }
    }

    fn send(&self, message: KioskToBroker) {
        let _ = self.outbox.send(nara_protocol::Request::unnamed(message));
    }

    async fn on_broker(&mut self, message: BrokerToKiosk) {
        match &message {
            BrokerToKiosk::Welcome {
                site_name,
                agencies,
                ice_servers,
                ..
            } => {
                self.site_name = site_name.to_string();
                self.agencies = agencies.clone();
                self.settings.ice_servers = self.turn_bridges.route(ice_servers);
                self.last_error = None;
            }
            BrokerToKiosk::Agencies { agencies } => self.agencies = agencies.clone(),
            BrokerToKiosk::IceServers { ice_servers } => {
                self.settings.ice_servers = self.turn_bridges.route(ice_servers)
            }
            BrokerToKiosk::RunSelfTest { request } => self.start_self_test(Some(request.clone())),
            // Signalling still in flight as a ring or a call ends meets a call that is gone.
            BrokerToKiosk::Error(error) if error.code == ErrorCode::CallGone => {
                tracing::debug!(request = ?error.request, "the broker refused: {}", error.message);
            }
            BrokerToKiosk::Error(error) => {
                tracing::warn!(code = ?error.code, request = ?error.request, "the broker refused: {}", error.message);
                self.last_error = Some(error.message.clone());
            }
            _ => {}
        }
        let commands = self.visit.broker(message);
        self.carry_out(commands).await;
    }

    async fn carry_out(&mut self, commands: Vec<Command>) {
        for command in commands {
            match command {
                Command::Send(message) => self.send(message),
                Command::Ask { id, message } => {
                    let _ = self.outbox.send(nara_protocol::Request {
                        request_id: Some(id),
                        message,
                    });
                }
                Command::PreparePeer { call, staff } => self.prepare_peer(call, staff).await,
                Command::OpenPeer { call, staff } => self.open_peer(call, staff).await,
                Command::ClosePeer { staff } => self.close_peer(&staff).await,
                Command::DropVisit => self.drop_visit().await,
                Command::DeliverSignal { from, payload } => {
                    let link = match self.peers.get(&from) {
                        Some(peer) => Some(&peer.link),
                        None => self.ringing.get(&from).map(|rung| &rung.link),
                    };
                    if let Some(link) = link {
                        if let Err(error) = link.apply(payload).await {
                            tracing::warn!(staff = %from, %error, "signalling from a desk was not taken");
                        }
                    }
                }
                Command::PromptDocument { by } => self.document_requested_by = Some(by),
            }
        }
        self.visit_watch.send_replace(self.visit.resumable());
    }

    /// Everything held for the visit goes: connections, chat, the document prompt.
    async fn drop_visit(&mut self) {
        for (_, peer) in std::mem::take(&mut self.peers) {
            peer.link.close().await;
        }
        for (_, rung) in std::mem::take(&mut self.ringing) {
            rung.link.close().await;
        }
        self.chat = Vec::new();
        self.chat_sent = 0;
        self.document_requested_by = None;
        self.documents.clear();
        self.rate = self.media.starting_rate();
        self.media.apply_rate(self.rate.current());
    }

    async fn on_request(&mut self, request: Request) {
        match request {
            Request::Status(reply) => {
                let _ = reply.send(self.status());
            }
            Request::Citizen(action, reply) => {
                let result = self.visit.citizen(action).map_err(|r| r.to_string());
                if let Ok(commands) = &result {
                    self.carry_out(commands.clone()).await;
                }
                let _ = reply.send(result.map(|_| ()));
            }
            Request::Chat(text, reply) => {
                let _ = reply.send(self.chat_to_all(text).await);
            }
            Request::SelfTest(reply) => {
                self.self_test_waiting.push(reply);
                self.start_self_test(None);
            }
            Request::Document(request, reply) => {
                let _ = reply.send(self.on_document(request).await);
            }
            Request::DocumentPage(index, reply) => {
                let _ = reply.send(self.documents.page(index));
            }
            Request::Pictures(reply) => {
                let _ = reply.send(Pictures {
                    own: self.media.self_view(),
                    desks: self
                        .peers
                        .values()
                        .filter_map(|p| Some((p.card.staff.clone(), p.link.picture()?)))
                        .collect(),
                });
            }
            Request::Microphone { muted } => self.media.set_microphone_muted(muted),
            Request::Volume(percent) => self.media.set_speaker_volume(percent),
        }
    }

    async fn chat_to_all(&mut self, text: String) -> Result<(), String> {
        let text =
            LongText::new(text.trim()).map_err(|e| format!("the message is not valid: {e}"))?;
        let open: Vec<&Peer> = self.peers.values().filter(|p| p.channel_open).collect();
        if open.is_empty() {
            return Err("nobody to chat with: no officer is connected".into());
        }
        self.chat_sent += 1;
        let message = encode(&PeerMessage::Chat {
            id: self.chat_sent,
            text: text.clone(),
        });
        for peer in open {
            if let Err(error) = peer.link.send_text(&message).await {
                return Err(format!(
                    "the message did not reach {}: {error}",
                    peer.card.display_name
                ));
            }
        }
        self.chat.push(ChatLine {
            from: None,
            text: text.to_string(),
        });
        Ok(())
    }

    fn start_self_test(&mut self, request: Option<nara_protocol::RequestId>) {
        if self.self_test_running && request.is_none() {
            return;
        }
        self.self_test_running = true;
        let media = self.media.clone();
        let settings = self.settings.clone();
        let scanner = self.documents.scanner();
        let done = self.self_tests.clone();
        tokio::spawn(async move {
            let report = health::self_test(&media, &settings, &scanner).await;
            let _ = done.send((request, report));
        });
    }

    /// Restarts ICE towards every desk whose path has been broken for `broken_for`, unless a
    /// restart was tried too recently or the broker (who carries the offer) is out of reach.
    async fn restart_broken_paths(&mut self, broken_for: Duration) {
        if !self.connected {
            return;
        }
        for (staff, peer) in &mut self.peers {
            let Some(since) = peer.broken_since else {
                continue;
            };
            let recently = peer
                .last_restart
                .is_some_and(|t| t.elapsed() < RESTARTS_APART);
            if since.elapsed() < broken_for || recently {
                continue;
            }
            peer.last_restart = Some(Instant::now());
            tracing::info!(%staff, broken_ms = since.elapsed().as_millis() as u64, "restarting ICE towards a desk");
            if let Err(error) = peer.link.restart_ice().await {
                tracing::warn!(%error, "ICE restart failed");
            }
        }
    }

    /// Measures each path; video waits long enough for retransmissions on the slowest, and
    /// voice carries error correction for the lossiest. Paths broken for long are restarted.
    async fn fit_media_to_paths(&mut self) {
        self.restart_broken_paths(RESTART_ICE_AFTER).await;
        let (bytes, then) = self.video_bytes;
        let now = (self.media.video_bytes_sent(), Instant::now());
        let millis = now.1.duration_since(then).as_millis().max(1) as u64;
        self.sending_kbps = (now.0.saturating_sub(bytes) * 8 / millis) as u32;
        self.video_bytes = now;
        let mut worst_loss = 0;
        for peer in self.peers.values_mut() {
            let Some(mut quality) = peer.link.quality().await else {
                continue;
            };
            quality.loss_permille = quality.loss_permille.max(peer.loss_permille);
            quality.bitrate_kbps = quality.bitrate_kbps.max(self.sending_kbps);
            peer.link.fit_to_round_trip(quality.rtt_ms);
            worst_loss = worst_loss.max(quality.loss_permille);
            peer.network = Some(quality);
        }
        if let Some(decision) = self.rate.tick(Instant::now()) {
            self.media.apply_rate(decision);
        }
        if !self.peers.is_empty() {
            self.media
                .expect_loss(worst_loss.div_ceil(10).min(100) as u8);
        }
    }

    async fn heartbeat(&mut self) {
        if !self.connected {
            return;
        }
        let now = self.media.capture_health();
        let mut devices =
            health::device_states(&self.last_capture, &now, self.heartbeat_every.as_secs());
        devices.scanner = self.documents.scanner().state();
        // Between visits the scanner is looked for again, for the next report; during one it
        // is left to the citizen.
        if self.visit.resumable().is_none() {
            let _looking = self.documents.scanner().refresh();
        }
        self.last_capture = now;
        let activity = match self.visit.phase() {
            crate::visit::Phase::Waiting { .. } | crate::visit::Phase::Asking { .. } => {
                KioskActivity::Waiting
            }
            crate::visit::Phase::InCall { .. } => KioskActivity::InCall,
            crate::visit::Phase::OutOfService { .. } => KioskActivity::OutOfService,
            _ if self.self_test_running => KioskActivity::SelfTest,
            _ => KioskActivity::Idle,
        };
        // The call in progress, by its worst path; between calls there is none to report.
        let network = self
            .peers
            .values()
            .filter_map(|p| p.network.clone())
            .max_by_key(|q| (q.loss_permille, q.rtt_ms));
        self.send(KioskToBroker::Heartbeat {
            devices,
            network,
            load_x100: health::load_x100(),
            disk_free_megabytes: health::disk_free_megabytes(&std::env::temp_dir()),
            activity,
        });
    }

    fn status(&self) -> Status {
        Status {
            kiosk: self.identity.enrolment.kiosk.clone(),
            connected: self.connected,
            site_name: self.site_name.clone(),
            agencies: self.agencies.clone(),
            visit: self.visit.phase().clone(),
            peers: self
                .peers
                .values()
                .map(|p| PeerStatus {
                    staff: p.card.staff.clone(),
                    display_name: p.card.display_name.to_string(),
                    agency_name: p.card.agency_name.as_ref().map(|a| a.to_string()),
                    role: p.card.role,
                    connected: p.connected,
                    channel_open: p.channel_open,
                    network: p.network.clone(),
                    received: p.link.received(),
                })
                .collect(),
            ringing: self
                .ringing
                .iter()
                .map(|(staff, rung)| RingingStatus {
                    staff: staff.clone(),
                    call: rung.call.clone(),
                    connected: rung.connected,
                })
                .collect(),
            chat: self.chat.clone(),
            document_requested_by: self.document_requested_by.clone(),
            document: self.documents.status(),
            capture: self.media.capture_health(),
            last_error: self.last_error.clone(),
        }
    }
}
