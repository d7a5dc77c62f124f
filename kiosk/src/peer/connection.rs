//! One peer connection with the `webrtc` crate: the kiosk's camera and microphone out, the
//! desk's video and voice in, a data channel for chat and documents. The kiosk always makes
//! the offer (so it is the DTLS server, the fast side), trickles its candidates, and creates
//! the data channel before negotiating (one made later never opens).

use super::feedback::{Feedback, FeedbackToApplication};
use super::{FromPeer, PeerEvent, PeerSettings};
use crate::media::graph::{H264_PAYLOAD, OPUS_PAYLOAD, VP8_PAYLOAD};
use crate::media::receiver::Kind;
use crate::media::{Codec, Media, Receiver, ReceiverStats};
use anyhow::{anyhow, Context, Result};
use bytes::Bytes;
use nara_protocol::{CandidateLine, NetworkQuality, Sdp, ShortText, SignalPayload, StaffId};
use rtc::interceptor::{Registry, Slot};
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::interceptor_registry::{
    configure_nack, configure_rtcp_reports, configure_twcc_receiver_only,
};
use rtc::peer_connection::configuration::media_engine::{
    MediaEngine, MIME_TYPE_H264, MIME_TYPE_OPUS, MIME_TYPE_VP8,
};
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp_transceiver::rtp_sender::{
    RTCPFeedback, RTCRtpCodec, RTCRtpCodecParameters, RTCRtpCodingParameters,
    RTCRtpEncodingParameters, RtpCodecKind,
};
use rtc::shared::marshal::{Marshal, Unmarshal};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinHandle;
use webrtc::data_channel::{DataChannel, DataChannelEvent};
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::{TrackLocal, TrackLocalEvent};
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler, RTCConfigurationBuilder,
    RTCIceCandidateInit, RTCIceServer, RTCIceTransportPolicy, RTCPeerConnectionIceEvent,
    RTCPeerConnectionState, RTCSessionDescription, RTCStatsReportEntry, SettingEngineBuilder,
    StatsSelector,
};

/// The data channel's label; the desk answers on the same one.
pub const CHANNEL_LABEL: &str = "nara";

pub struct PeerLink {
    staff: StaffId,
    connection: Arc<dyn PeerConnection>,
    channel: Arc<dyn DataChannel>,
    receivers: Arc<Mutex<Vec<Receiver>>>,
    channel_open: Arc<AtomicBool>,
    /// Whether the kiosk's media goes out: not while the desk only rings.
    live: Arc<AtomicBool>,
    events: Events,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for PeerLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerLink")
            .field("staff", &self.staff)
            .finish_non_exhaustive()
    }
}

#[derive(Clone)]
struct Events {
    staff: StaffId,
    link: u64,
    to: mpsc::UnboundedSender<FromPeer>,
}

/// Numbers the kiosk's peer connections, for [`FromPeer::link`].
static NEXT_LINK: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

impl Events {
    fn send(&self, event: PeerEvent) {
        let _ = self.to.send(FromPeer {
            staff: self.staff.clone(),
            link: self.link,
            event,
        });
    }
}

struct Handler {
    events: Events,
    media: Arc<Media>,
    receivers: Arc<Mutex<Vec<Receiver>>>,
    /// Media is sent only once DTLS is up; before that SRTP has no keys to send it with.
    connected: Arc<AtomicBool>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        let Ok(init) = event.candidate.to_json() else {
            return;
        };
        let Ok(candidate) = CandidateLine::new(init.candidate) else {
            tracing::warn!("a local candidate was too long to signal");
            return;
        };
        self.events
            .send(PeerEvent::Signal(SignalPayload::Candidate {
                candidate,
                sdp_mid: init.sdp_mid.and_then(|m| ShortText::new(m).ok()),
                sdp_m_line_index: init.sdp_mline_index,
            }));
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        tracing::info!(staff = %self.events.staff, %state, "peer connection state");
        match state {
            RTCPeerConnectionState::Connected => {
                self.connected.store(true, Ordering::Relaxed);
                self.events.send(PeerEvent::Connected)
            }
            RTCPeerConnectionState::Disconnected => self.events.send(PeerEvent::Disconnected),
            RTCPeerConnectionState::Failed => self.events.send(PeerEvent::Failed),
            _ => {}
        }
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let Some(ssrc) = track.ssrcs().await.first().copied() else {
            return;
        };
        let Some(codec) = track.codec(ssrc).await else {
            return;
        };
        let mime = codec.mime_type.to_ascii_lowercase();
        let (kind, codec_kind, payload) = if mime == MIME_TYPE_OPUS.to_ascii_lowercase() {
            (Kind::Audio, Codec::Vp8, OPUS_PAYLOAD)
        } else if mime == MIME_TYPE_H264.to_ascii_lowercase() {
            (Kind::Video, Codec::H264, H264_PAYLOAD)
        } else if mime == MIME_TYPE_VP8.to_ascii_lowercase() {
            (Kind::Video, Codec::Vp8, VP8_PAYLOAD)
        } else {
            tracing::warn!(%mime, "a track in a codec the kiosk cannot play");
            return;
        };
        let receiver = match self.media.add_receiver(kind, codec_kind, payload) {
            Ok(receiver) => receiver,
            Err(error) => {
                tracing::warn!(%error, "cannot play a remote track");
                return;
            }
        };
        let index = {
            let mut receivers = self.receivers.lock().expect("not poisoned");
            receivers.push(receiver);
            receivers.len() - 1
        };
        let receivers = self.receivers.clone();
        if kind == Kind::Video {
            tokio::spawn(ask_for_pictures(
                track.clone(),
                ssrc,
                self.receivers.clone(),
                index,
            ));
        }
        tokio::spawn(async move {
            while let Some(event) = track.poll().await {
                if let TrackRemoteEvent::OnRtpPacket(mut packet) = event {
                    // The receiver's caps name one payload type per codec.
                    packet.header.payload_type = payload;
                    let Ok(buffer) = packet.marshal() else {
                        continue;
                    };
                    let receivers = receivers.lock().expect("not poisoned");
                    if let Some(receiver) = receivers.get(index) {
                        receiver.push(&buffer);
                    }
                }
            }
        });
    }
}

/// How long packets may arrive without a decoded picture before the kiosk asks for a key
/// frame. A decoder that lost the key frame (lost packets while a relay was being set up,
/// loss on the path) shows nothing until the sender sends a new one, which it does only
/// when asked.
const PICTURE_PATIENCE: Duration = Duration::from_millis(700);

/// The same before the first picture, which the answering officer waits for. The webrtc
/// crate drops the packets that come before it has made the track, and with them, now and
/// then, the key frame they began with (`tests/bench call-setup` saw the officer's first
/// picture at the kiosk a second late in one call of eight behind an agency's proxy).
const FIRST_PICTURE_PATIENCE: Duration = Duration::from_millis(100);

async fn ask_for_pictures(
    track: Arc<dyn TrackRemote>,
    media_ssrc: u32,
    receivers: Arc<Mutex<Vec<Receiver>>>,
    index: usize,
) {
    let mut last = ReceiverStats::default();
    let mut stalled_since: Option<Instant> = None;
    let mut check = tokio::time::interval(Duration::from_millis(50));
    loop {
        check.tick().await;
        let Some(now) = receivers
            .lock()
            .expect("not poisoned")
            .get(index)
            .map(|r| r.stats())
        else {
            return;
        };
        let packets_flow = now.packets > last.packets;
        let pictures_flow = now.decoded > last.decoded;
        let now_decoded = now.decoded;
        last = now;
        if now_decoded > 0 && check.period() < Duration::from_millis(250) {
            check = tokio::time::interval(Duration::from_millis(250));
        }
        if !packets_flow || pictures_flow {
            stalled_since = None;
            continue;
        }
        let since = *stalled_since.get_or_insert_with(Instant::now);
        let patience = if now_decoded == 0 {
            FIRST_PICTURE_PATIENCE
        } else {
            PICTURE_PATIENCE
        };
        if since.elapsed() >= patience {
            stalled_since = Some(Instant::now());
            let pli = PictureLossIndication {
                sender_ssrc: 0,
                media_ssrc,
            };
            if track.write_rtcp(vec![Box::new(pli)]).await.is_err() {
                return;
            }
        }
    }
}

impl PeerLink {
    /// Makes the connection and signals the offer. Its tracks are negotiated either way; the
    /// kiosk's media goes out once `live` (at once, or from [`PeerLink::go_live`]) and DTLS is
    /// up.
    pub async fn open(
        staff: StaffId,
        settings: &PeerSettings,
        media: Arc<Media>,
        events: mpsc::UnboundedSender<FromPeer>,
        live: bool,
    ) -> Result<PeerLink> {
        let live = Arc::new(AtomicBool::new(live));
        let events = Events {
            staff: staff.clone(),
            link: NEXT_LINK.fetch_add(1, Ordering::Relaxed),
            to: events,
        };
        let outgoing = media.outgoing().clone();
        let mut engine = MediaEngine::default();
        let video_codecs = match outgoing.codec {
            Codec::Vp8 => [(Codec::Vp8, VP8_PAYLOAD), (Codec::H264, H264_PAYLOAD)],
            Codec::H264 => [(Codec::H264, H264_PAYLOAD), (Codec::Vp8, VP8_PAYLOAD)],
        };
        for (codec, payload_type) in video_codecs {
            engine.register_codec(
                RTCRtpCodecParameters {
                    rtp_codec: video_codec(codec),
                    payload_type,
                },
                RtpCodecKind::Video,
            )?;
        }
        engine.register_codec(
            RTCRtpCodecParameters {
                rtp_codec: opus_codec(),
                payload_type: OPUS_PAYLOAD,
            },
            RtpCodecKind::Audio,
        )?;
        // Transport-wide feedback on what the desk sends lets its browser's send-side estimate
        // (delay-based, with probing) ramp back up within seconds after an outage, rather than
        // creeping up from its floor on loss reports alone.
        let registry = configure_twcc_receiver_only(Registry::new(), &mut engine)?;
        let registry = configure_rtcp_reports(configure_nack(registry, &mut engine))
            .with(Slot::from(14_000), FeedbackToApplication::default());

        let mdns = if settings.mdns {
            rtc::ice::mdns::MulticastDnsMode::QueryOnly
        } else {
            rtc::ice::mdns::MulticastDnsMode::Disabled
        };
        // Checks paced every 20 ms rather than webrtc-rs's 200 ms (or RFC 8445's default Ta of
        // 50 ms): as the controlling side the kiosk nominates on a check, so the pacing is what
        // a call waits for between ICE and DTLS. A kiosk has a handful of candidate pairs, so
        // this is tens of small packets a second for a moment. `tests/bench call-setup`: the
        // first frame's median went from 168 ms (50 ms pacing; the browser-to-browser call in
        // the same run 175 ms) to 102 ms (127 ms). Each pair is tried for 5 s: a relay pair
        // only answers once the desk's TURN server has a permission for us, which waits for
        // our candidate to reach the desk through the broker (1.4 s was sometimes too short).
        //
        // A pair through a relay, or one learned from the desk's checks or from a STUN server,
        // is taken after 250, 100 and 100 ms of checking rather than webrtc-rs's 2 s, 1 s and
        // 0.5 s: long enough for a direct pair on the same network to come first (it answers
        // within milliseconds), short enough that an officer behind an agency's proxy who
        // answers a second after it rang finds the connection up. With the 2 s wait, ICE
        // through TURN over TLS took 2.0 s to connect and the officer saw the citizen 1.1-1.5 s
        // after answering (`tests/bench call-setup`, behind the proxy).
        let setting_engine = SettingEngineBuilder::new()
            .with_include_loopback_candidate(settings.loopback)
            .with_multicast_dns_mode(mdns)
            .with_ice_connection_attempts(Some(Duration::from_millis(20)), Some(250))
            .with_relay_acceptance_min_wait(Some(Duration::from_millis(250)))
            .with_prflx_acceptance_min_wait(Some(Duration::from_millis(100)))
            .with_srflx_acceptance_min_wait(Some(Duration::from_millis(100)))
            .build();
        let configuration = RTCConfigurationBuilder::new()
            .with_ice_servers(
                settings
                    .ice_servers
                    .iter()
                    .map(|s| RTCIceServer {
                        urls: s.urls.clone(),
                        username: s.username.clone().unwrap_or_default(),
                        credential: s.credential.clone().unwrap_or_default(),
                    })
                    .collect(),
            )
            .with_ice_transport_policy(if settings.relay_only {
                RTCIceTransportPolicy::Relay
            } else {
                RTCIceTransportPolicy::All
            })
            .build();
        let receivers = Arc::new(Mutex::new(Vec::new()));
        let connected = Arc::new(AtomicBool::new(false));
        let connection: Arc<dyn PeerConnection> = Arc::new(
            PeerConnectionBuilder::new()
                .with_configuration(configuration)
                .with_media_engine(engine)
                .with_setting_engine(setting_engine)
                .with_interceptor_registry(registry)
                .with_handler(Arc::new(Handler {
                    events: events.clone(),
                    media: media.clone(),
                    receivers: receivers.clone(),
                    connected: connected.clone(),
                }))
                .with_udp_addrs(settings.bind.clone())
                .with_data_channel_send_buffer_limit(super::transfer::SEND_BUFFER_BYTES)
                .build()
                .await
                .context("cannot make a peer connection")?,
        );

        let mut tasks = Vec::new();
        let video_ssrc = rand::random::<u32>();
        let video = local_track(
            "video",
            RtpCodecKind::Video,
            video_codec(outgoing.codec),
            video_ssrc,
        );
        connection
            .add_track(video.clone() as Arc<dyn TrackLocal>)
            .await?;
        let audio_ssrc = rand::random::<u32>();
        let audio = local_track("audio", RtpCodecKind::Audio, opus_codec(), audio_ssrc);
        connection
            .add_track(audio.clone() as Arc<dyn TrackLocal>)
            .await?;

        tasks.push(tokio::spawn(send_rtp(
            outgoing.video.subscribe(),
            video.clone(),
            video_ssrc,
            outgoing.video_payload,
            Gate {
                connected: connected.clone(),
                live: live.clone(),
            },
        )));
        tasks.push(tokio::spawn(send_rtp(
            outgoing.audio.subscribe(),
            audio,
            audio_ssrc,
            OPUS_PAYLOAD,
            Gate {
                connected,
                live: live.clone(),
            },
        )));
        tasks.push(tokio::spawn(read_feedback(video, events.clone())));

        let channel = connection
            .create_data_channel(CHANNEL_LABEL, None)
            .await
            .context("cannot make the data channel")?;
        let channel_open = Arc::new(AtomicBool::new(false));
        tasks.push(tokio::spawn(read_channel(
            channel.clone(),
            channel_open.clone(),
            events.clone(),
        )));

        let link = PeerLink {
            staff,
            connection,
            channel,
            receivers,
            channel_open,
            live,
            events,
            tasks,
        };
        link.offer().await?;
        Ok(link)
    }

    async fn offer(&self) -> Result<()> {
        let offer = self.connection.create_offer(None).await?;
        self.connection.set_local_description(offer.clone()).await?;
        let sdp = Sdp::new(take_dtls_client_role(&offer.sdp))
            .map_err(|e| anyhow!("our own offer is not valid: {e}"))?;
        self.events
            .send(PeerEvent::Signal(SignalPayload::Offer { sdp }));
        Ok(())
    }

    /// This connection among all the kiosk has made: its events carry it.
    pub fn id(&self) -> u64 {
        self.events.link
    }

    /// The desk answered: the kiosk's media goes out from the next packet (the caller asks the
    /// encoder for a key frame, which the desk needs before it can show anything).
    pub fn go_live(&self) {
        self.live.store(true, Ordering::Relaxed);
    }

    /// Signalling from the desk: its answer or one of its candidates.
    pub async fn apply(&self, payload: SignalPayload) -> Result<()> {
        match payload {
            SignalPayload::Answer { sdp } => {
                let answer = RTCSessionDescription::answer(sdp.as_str().to_string())?;
                self.connection.set_remote_description(answer).await?;
            }
            SignalPayload::Candidate {
                candidate,
                sdp_mid,
                sdp_m_line_index,
            } => {
                self.connection
                    .add_ice_candidate(RTCIceCandidateInit {
                        candidate: candidate.as_str().to_string(),
                        sdp_mid: sdp_mid.map(|m| m.as_str().to_string()),
                        sdp_mline_index: sdp_m_line_index,
                        ..Default::default()
                    })
                    .await?;
            }
            SignalPayload::Offer { .. } => {
                anyhow::bail!("the kiosk makes the offers; a desk's offer is not taken")
            }
        }
        Ok(())
    }

    /// The path broke: gather anew and offer again with fresh ICE credentials.
    pub async fn restart_ice(&self) -> Result<()> {
        self.connection.restart_ice().await?;
        self.offer().await
    }

    pub async fn send_text(&self, text: &str) -> Result<()> {
        if !self.channel_open.load(Ordering::Relaxed) {
            anyhow::bail!("the data channel to {} is not open yet", self.staff);
        }
        self.channel.send_text(text).await?;
        Ok(())
    }

    /// The data channel, once open: documents go over it ([`super::transfer`]).
    pub fn open_channel(&self) -> Option<Arc<dyn DataChannel>> {
        self.channel_open
            .load(Ordering::Relaxed)
            .then(|| self.channel.clone())
    }

    /// Fits the receivers' buffers to the path's round trip.
    pub fn fit_to_round_trip(&self, rtt_ms: u32) {
        for receiver in self.receivers.lock().expect("not poisoned").iter() {
            receiver.fit_to_round_trip(rtt_ms);
        }
    }

    /// The desk's newest picture for the screen (its first video track).
    pub fn picture(&self) -> Option<crate::media::pictures::Picture> {
        self.receivers
            .lock()
            .expect("not poisoned")
            .iter()
            .find_map(|r| r.picture())
    }

    pub fn received(&self) -> Vec<ReceiverStats> {
        self.receivers
            .lock()
            .expect("not poisoned")
            .iter()
            .map(|r| r.stats())
            .collect()
    }

    /// Round-trip time, loss and sending bitrate of the selected path.
    pub async fn quality(&self) -> Option<NetworkQuality> {
        let report = self
            .connection
            .get_stats(Instant::now(), StatsSelector::None)
            .await;
        let mut rtt = None;
        let mut bitrate = 0.0;
        let mut lost = 0.0;
        let mut samples = 0.0;
        for entry in report.iter() {
            match entry {
                RTCStatsReportEntry::IceCandidatePair(pair) if pair.nominated => {
                    rtt = Some(pair.current_round_trip_time * 1000.0);
                    bitrate = pair.available_outgoing_bitrate;
                }
                RTCStatsReportEntry::RemoteInboundRtp(remote) => {
                    lost += remote.fraction_lost;
                    samples += 1.0;
                }
                _ => {}
            }
        }
        let loss = if samples > 0.0 { lost / samples } else { 0.0 };
        let last_break = self.received().iter().filter_map(|r| r.last_break_ms).max();
        rtt.map(|rtt| NetworkQuality {
            last_interruption_ms: last_break,
            ..super::quality(rtt, loss, bitrate)
        })
    }

    pub async fn close(self) {
        for task in &self.tasks {
            task.abort();
        }
        let _ = self.channel.close().await;
        let _ = self.connection.close().await;
        // Dropping the receivers takes their bins out of the pipeline.
        self.receivers.lock().expect("not poisoned").clear();
    }
}

/// The offer the desk sees asks it to be the DTLS server (`a=setup:active` for us instead of
/// `actpass`), so the kiosk sends the first handshake flight once its own ICE is connected.
/// As the server, webrtc-rs misses Chromium's first ClientHello (sent the moment Chromium's
/// side of ICE connects, before ours has) and then its final flight goes unanswered until
/// Chromium retransmits: about 350 ms more before the first picture, measured by
/// `tests/bench call-setup`. Our own description keeps `actpass`; the role follows the
/// desk's answer (`passive`).
fn take_dtls_client_role(sdp: &str) -> String {
    sdp.replace("a=setup:actpass", "a=setup:active")
}

fn video_codec(codec: Codec) -> RTCRtpCodec {
    let feedback = ["goog-remb", "ccm", "nack", "nack"]
        .iter()
        .zip(["", "fir", "", "pli"])
        .map(|(typ, parameter)| RTCPFeedback {
            typ: typ.to_string(),
            parameter: parameter.to_string(),
        })
        .collect();
    match codec {
        Codec::Vp8 => RTCRtpCodec {
            mime_type: MIME_TYPE_VP8.to_owned(),
            clock_rate: 90_000,
            channels: 0,
            sdp_fmtp_line: String::new(),
            rtcp_feedback: feedback,
        },
        Codec::H264 => RTCRtpCodec {
            mime_type: MIME_TYPE_H264.to_owned(),
            clock_rate: 90_000,
            channels: 0,
            sdp_fmtp_line: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"
                .to_owned(),
            rtcp_feedback: feedback,
        },
    }
}

fn opus_codec() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: MIME_TYPE_OPUS.to_owned(),
        clock_rate: 48_000,
        channels: 2,
        sdp_fmtp_line: "minptime=10;useinbandfec=1".to_owned(),
        rtcp_feedback: vec![],
    }
}

fn local_track(
    name: &str,
    kind: RtpCodecKind,
    codec: RTCRtpCodec,
    ssrc: u32,
) -> Arc<TrackLocalStaticRTP> {
    Arc::new(TrackLocalStaticRTP::new(MediaStreamTrack::new(
        "kiosk".to_string(),
        format!("kiosk-{name}"),
        format!("kiosk {name}"),
        kind,
        vec![RTCRtpEncodingParameters {
            rtp_coding_parameters: RTCRtpCodingParameters {
                ssrc: Some(ssrc),
                ..Default::default()
            },
            codec,
            ..Default::default()
        }],
    )))
}

/// When a connection's media may go out: once DTLS is up (before, SRTP has no keys to send
/// it with) and the desk has answered (before, nothing of the citizen leaves the kiosk).
struct Gate {
    connected: Arc<AtomicBool>,
    live: Arc<AtomicBool>,
}

impl Gate {
    fn open(&self) -> bool {
        self.live.load(Ordering::Relaxed) && self.connected.load(Ordering::Relaxed)
    }
}

/// Sends the shared encoder's packets on this connection under its own SSRC. A peer that
/// falls behind skips packets (the receiver asks for a key frame) rather than holding the
/// encoder back for everyone.
async fn send_rtp(
    mut packets: broadcast::Receiver<Bytes>,
    track: Arc<TrackLocalStaticRTP>,
    ssrc: u32,
    payload_type: u8,
    gate: Gate,
) {
    loop {
        let bytes = match packets.recv().await {
            Ok(bytes) => bytes,
            Err(broadcast::error::RecvError::Lagged(skipped)) => {
                tracing::debug!(skipped, "a peer fell behind the encoder");
                continue;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        if !gate.open() {
            continue;
        }
        let Ok(mut packet) = rtc::rtp::Packet::unmarshal(&mut bytes.clone()) else {
            continue;
        };
        packet.header.ssrc = ssrc;
        packet.header.payload_type = payload_type;
        let _ = track.write_rtp(packet).await;
    }
}

async fn read_feedback(track: Arc<TrackLocalStaticRTP>, events: Events) {
    while let Some(event) = track.poll().await {
        if let TrackLocalEvent::OnRtcpPacket(packets) = event {
            let feedback = Feedback::from_packets(&packets);
            if feedback.keyframe_wanted {
                events.send(PeerEvent::KeyframeWanted);
            }
            if let Some(bps) = feedback.estimate_bps {
                events.send(PeerEvent::Estimate((bps / 1000.0) as u32));
            }
            if let Some(lost) = feedback.loss_fraction {
                events.send(PeerEvent::Loss((lost * 1000.0).round() as u16));
            }
        }
    }
}

async fn read_channel(channel: Arc<dyn DataChannel>, open: Arc<AtomicBool>, events: Events) {
    while let Some(event) = channel.poll().await {
        match event {
            DataChannelEvent::OnOpen => {
                open.store(true, Ordering::Relaxed);
                events.send(PeerEvent::ChannelOpen);
            }
            DataChannelEvent::OnMessage(message) if message.is_string => {
                match String::from_utf8(message.data.to_vec()) {
                    Ok(text) => events.send(PeerEvent::Text(text)),
                    Err(_) => tracing::warn!("the desk sent text that is not UTF-8"),
                }
            }
            DataChannelEvent::OnClose => {
                open.store(false, Ordering::Relaxed);
                return;
            }
            _ => {}
        }
    }
}
