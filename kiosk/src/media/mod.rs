//! Camera, microphone and speaker through GStreamer.
//!
//! One pipeline runs for the kiosk's life: capture encodes into RTP that is fanned out to every
//! peer (one encoder, however many officers), and the speaker plays the mix of everyone's voice
//! through the echo canceller's probe. Each remote person adds a receiver bin for their video
//! and one for their voice, removed again when they leave.
//!
//! - [`graph`]: the launch descriptions.
//! - [`rate`]: bitrate and picture size from the bandwidth estimate.
//! - [`receiver`]: a remote track's bin and its counters.
//! - [`marker`]: wall-clock marks in pictures, for measuring capture-to-display latency.

pub mod graph;
pub mod marker;
pub mod pictures;
pub mod rate;
pub mod receiver;

use anyhow::{anyhow, Context, Result};
use bytes::Bytes;
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::broadcast;

pub use receiver::{Receiver, ReceiverStats};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Codec {
    Vp8,
    H264,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Source {
    /// GStreamer's test pattern and tone: CI, demos, simulated kiosks.
    Test,
    /// The test tone, and a picture that is white from each whole second of the wall clock
    /// to the half and black otherwise: a browser that notes when it shows the white frame measures
    /// capture-to-display latency (`tests/bench capture-to-display`). Incoming pictures are
    /// watched for the same marks.
    Marker,
    /// The machine's camera and microphone; none picks the system's default.
    Devices {
        #[serde(default)]
        camera: Option<String>,
        #[serde(default)]
        microphone: Option<String>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct MediaConfig {
    pub source: Source,
    pub codec: Codec,
    pub echo_cancellation: bool,
    pub start_bitrate_kbps: u32,
    /// No speaker, no window: decoded media is counted and dropped.
    #[serde(skip)]
    pub headless: bool,
}

impl Default for MediaConfig {
    fn default() -> Self {
        MediaConfig {
            source: Source::Devices {
                camera: None,
                microphone: None,
            },
            codec: Codec::Vp8,
            echo_cancellation: true,
            start_bitrate_kbps: 800,
            headless: false,
        }
    }
}

/// What the capture side has seen, for health reports and the self-test.
#[derive(Debug, Default)]
struct CaptureCounters {
    camera_frames: AtomicU64,
    microphone_buffers: AtomicU64,
    /// Peak level of the last microphone buffer in dBFS ×10.
    microphone_peak_x10: AtomicI32,
    /// Bytes of video RTP the encoder has produced.
    video_bytes: AtomicU64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CaptureHealth {
    pub camera_frames: u64,
    pub microphone_buffers: u64,
    pub microphone_peak_decibels_x10: Option<i16>,
    /// The last error GStreamer reported for a device, in its words.
    pub camera_error: Option<String>,
    pub microphone_error: Option<String>,
}

/// Encoded RTP packets from the capture side, for every peer to send.
#[derive(Clone, Debug)]
pub struct Outgoing {
    pub video: broadcast::Sender<Bytes>,
    pub audio: broadcast::Sender<Bytes>,
    pub video_payload: u8,
    pub codec: Codec,
}

pub struct Media {
    pipeline: gst::Pipeline,
    encoder: gst::Element,
    encoder_factory: String,
    audio_encoder: gst::Element,
    start_bitrate_kbps: u32,
    /// Incoming pictures are watched for wall-clock marks (the marker source).
    watch_marks: bool,
    camera_caps: gst::Element,
    video_valve: gst::Element,
    /// With a screen: the citizen's own picture, and desks' pictures are made too.
    self_view: Option<gst_app::AppSink>,
    microphone_volume: gst::Element,
    speaker_volume: gst::Element,
    video_sink: gst::Element,
    mixer: gst::Element,
    counters: Arc<CaptureCounters>,
    errors: Arc<Mutex<DeviceErrors>>,
    outgoing: Outgoing,
    last_keyframe_request: Mutex<Option<Instant>>,
    stopped: Arc<AtomicBool>,
}

impl std::fmt::Debug for Media {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Media")
            .field("encoder", &self.encoder_factory)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Default)]
struct DeviceErrors {
    camera: Option<String>,
    microphone: Option<String>,
}

impl Media {
    pub fn start(config: &MediaConfig) -> Result<Media> {
        gst::init().context("GStreamer did not start")?;
        let h264 = match config.codec {
            Codec::H264 => graph::H264_ENCODERS
                .iter()
                .copied()
                .find(|name| gst::ElementFactory::find(name).is_some()),
            Codec::Vp8 => None,
        };
        let description = graph::main_pipeline(config, h264);
        let pipeline = gst::parse::launch(&description)
            .with_context(|| {
                format!("the media pipeline could not be built (are the GStreamer plugins installed?): {description}")
            })?
            .downcast::<gst::Pipeline>()
            .map_err(|_| anyhow!("the media description is not a pipeline"))?;
        let element = |name: &str| {
            pipeline
                .by_name(name)
                .ok_or_else(|| anyhow!("the media pipeline has no {name}"))
        };
        let encoder = element("video_encoder")?;
        let encoder_factory = encoder
            .factory()
            .map(|f| f.name().to_string())
            .unwrap_or_default();
        let codec = if encoder_factory == "vp8enc" {
            Codec::Vp8
        } else {
            Codec::H264
        };
        let counters = Arc::new(CaptureCounters::default());
        count_buffers(&element("camera_tap")?, counters.clone(), |c, _| {
            c.camera_frames.fetch_add(1, Ordering::Relaxed);
        });
        count_buffers(
            &element("microphone_tap")?,
            counters.clone(),
            |c, buffer| {
                c.microphone_buffers.fetch_add(1, Ordering::Relaxed);
                if let Some(peak) = receiver::peak_decibels_x10(buffer) {
                    c.microphone_peak_x10.store(peak as i32, Ordering::Relaxed);
                }
            },
        );
        let (video, _) = broadcast::channel(256);
        let (audio, _) = broadcast::channel(256);
        let video_sink = element("video_rtp")?;
        forward_rtp(&video_sink, video.clone(), Some(counters.clone()))?;
        forward_rtp(&element("audio_rtp")?, audio.clone(), None)?;
        let errors = Arc::new(Mutex::new(DeviceErrors::default()));
        let stopped = Arc::new(AtomicBool::new(false));
        watch_bus(&pipeline, errors.clone(), stopped.clone())?;
        let watch_marks = config.source == Source::Marker;
        if watch_marks {
            marker::mark_pictures(&element(graph::MARKER_SOURCE)?)?;
        }
        pipeline
            .set_state(gst::State::Playing)
            .context("the camera or microphone could not be started")?;
        tracing::info!(encoder = %encoder_factory, "media started");
        let self_view = if config.headless {
            None
        } else {
            Some(
                element(graph::SELF_VIEW)?
                    .dynamic_cast::<gst_app::AppSink>()
                    .map_err(|_| anyhow!("the self view is not an app sink"))?,
            )
        };
        Ok(Media {
            self_view,
            microphone_volume: element(graph::MICROPHONE_VOLUME)?,
            speaker_volume: element(graph::SPEAKER_VOLUME)?,
            camera_caps: element("camera_caps")?,
            audio_encoder: element("audio_encoder")?,
            start_bitrate_kbps: config.start_bitrate_kbps,
            watch_marks,
            video_valve: element("video_valve")?,
            mixer: element("speaker_mix")?,
            pipeline,
            encoder,
            encoder_factory,
            video_sink,
            counters,
            errors,
            outgoing: Outgoing {
                video,
                audio,
                video_payload: match codec {
                    Codec::Vp8 => graph::VP8_PAYLOAD,
                    Codec::H264 => graph::H264_PAYLOAD,
                },
                codec,
            },
            last_keyframe_request: Mutex::new(None),
            stopped,
        })
    }

    pub fn outgoing(&self) -> &Outgoing {
        &self.outgoing
    }

    /// A peer lost a picture (PLI/FIR): the next frame is a key frame. Requests from several
    /// peers within a short time are answered by one key frame.
    pub fn request_keyframe(&self) {
        let mut last = self.last_keyframe_request.lock().expect("not poisoned");
        if last.is_some_and(|t| t.elapsed() < Duration::from_millis(300)) {
            return;
        }
        *last = Some(Instant::now());
        self.force_keyframe();
    }

    /// A desk starts receiving (connected, or answered): a key frame now, even if one went
    /// out for someone else a moment ago, because this desk has no picture to build on.
    pub fn start_picture(&self) {
        *self.last_keyframe_request.lock().expect("not poisoned") = Some(Instant::now());
        self.force_keyframe();
    }

    fn force_keyframe(&self) {
        let event = gst::event::CustomUpstream::new(
            gst::Structure::builder("GstForceKeyUnit")
                .field("all-headers", true)
                .build(),
        );
        if !self.video_sink.send_event(event) {
            tracing::debug!("the encoder did not take the key frame request");
        }
    }

    pub fn apply_rate(&self, decision: rate::RateDecision) {
        let (property, value) = graph::bitrate_property(&self.encoder_factory, decision.video_kbps);
        self.encoder.set_property_from_str(property, &value);
        let (width, height) = decision.resolution;
        let caps = gst::Caps::builder("video/x-raw")
            .field("format", "I420")
            .field("width", width as i32)
            .field("height", height as i32)
            .field("framerate", gst::Fraction::new(30, 1))
            .build();
        self.camera_caps.set_property("caps", caps);
        self.video_valve.set_property("drop", !decision.video_on);
        tracing::info!(
            kbps = decision.video_kbps,
            width,
            height,
            video = decision.video_on,
            "video rate changed"
        );
    }

    /// Tells the voice encoder how many packets the worst path loses, so that Opus spends
    /// enough of its bitrate on in-band error correction to repair them.
    pub fn expect_loss(&self, percent: u8) {
        let percent = i32::from(percent.min(100));
        if self.audio_encoder.property::<i32>("packet-loss-percentage") != percent {
            self.audio_encoder
                .set_property("packet-loss-percentage", percent);
            tracing::info!(percent, "voice protected for packet loss");
        }
    }

    /// Bytes of video the encoder has produced so far (sent to every peer).
    pub fn video_bytes_sent(&self) -> u64 {
        self.counters.video_bytes.load(Ordering::Relaxed)
    }

    /// The rate the encoder started at, which every visit starts from again.
    pub fn starting_rate(&self) -> rate::RateController {
        rate::RateController::starting_at(self.start_bitrate_kbps)
    }

    pub fn capture_health(&self) -> CaptureHealth {
        let errors = self.errors.lock().expect("not poisoned");
        let buffers = self.counters.microphone_buffers.load(Ordering::Relaxed);
        let peak = self.counters.microphone_peak_x10.load(Ordering::Relaxed);
        CaptureHealth {
            camera_frames: self.counters.camera_frames.load(Ordering::Relaxed),
            microphone_buffers: buffers,
            microphone_peak_decibels_x10: (buffers > 0 && peak > i16::MIN as i32)
                .then_some(peak as i16),
            camera_error: errors.camera.clone(),
            microphone_error: errors.microphone.clone(),
        }
    }

    /// The citizen's own picture, if a new one was made since the last call (screen only).
    pub fn self_view(&self) -> Option<pictures::Picture> {
        pictures::newest(self.self_view.as_ref()?)
    }

    /// The citizen muting themselves: desks hear silence, the call goes on.
    pub fn set_microphone_muted(&self, muted: bool) {
        self.microphone_volume.set_property("mute", muted);
    }

    /// The speaker's volume, 0–100 %.
    pub fn set_speaker_volume(&self, percent: u8) {
        self.speaker_volume
            .set_property("volume", f64::from(percent.min(100)) / 100.0);
    }

    /// Adds a receiver for one remote track.
    pub fn add_receiver(
        &self,
        kind: receiver::Kind,
        codec: Codec,
        payload_type: u8,
    ) -> Result<Receiver> {
        Receiver::attach(
            &self.pipeline,
            &self.mixer,
            kind,
            codec,
            payload_type,
            self.watch_marks,
            self.self_view.is_some(),
        )
    }
}

impl Drop for Media {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
        self.stopped.store(true, Ordering::Relaxed);
    }
}

fn count_buffers(
    element: &gst::Element,
    counters: Arc<CaptureCounters>,
    count: impl Fn(&CaptureCounters, &gst::BufferRef) + Send + Sync + 'static,
) {
    if let Some(pad) = element.static_pad("src") {
        pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            if let Some(buffer) = info.buffer() {
                count(&counters, buffer);
            }
            gst::PadProbeReturn::Ok
        });
    }
}

fn forward_rtp(
    sink: &gst::Element,
    to: broadcast::Sender<Bytes>,
    bytes: Option<Arc<CaptureCounters>>,
) -> Result<()> {
    let sink = sink
        .clone()
        .dynamic_cast::<gst_app::AppSink>()
        .map_err(|_| anyhow!("not an app sink"))?;
    sink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |sink| {
                let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                if let Some(buffer) = sample.buffer() {
                    let map = buffer.map_readable().map_err(|_| gst::FlowError::Error)?;
                    if let Some(counters) = &bytes {
                        let size = map.len() as u64;
                        counters.video_bytes.fetch_add(size, Ordering::Relaxed);
                    }
                    // Nobody listening (no call yet) is not an error.
                    let _ = to.send(Bytes::copy_from_slice(map.as_slice()));
                }
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );
    Ok(())
}

/// Records device errors (a camera unplugged, a microphone that cannot open) where the health
/// report finds them, and logs the rest.
fn watch_bus(
    pipeline: &gst::Pipeline,
    errors: Arc<Mutex<DeviceErrors>>,
    stopped: Arc<AtomicBool>,
) -> Result<()> {
    let bus = pipeline
        .bus()
        .ok_or_else(|| anyhow!("the pipeline has no bus"))?;
    std::thread::Builder::new()
        .name("media-bus".into())
        .spawn(move || {
            while !stopped.load(Ordering::Relaxed) {
                let Some(message) = bus.timed_pop(gst::ClockTime::from_mseconds(250)) else {
                    continue;
                };
                match message.view() {
                    gst::MessageView::Error(error) => {
                        let source = error
                            .src()
                            .map(|s| s.path_string().to_string())
                            .unwrap_or_default();
                        let text = error.error().to_string();
                        tracing::warn!(%source, error = %text, "media error");
                        let mut errors = errors.lock().expect("not poisoned");
                        if source.contains("v4l2src") || source.contains("videosrc") {
                            errors.camera = Some(text);
                        } else if source.contains("pulsesrc") || source.contains("audiosrc") {
                            errors.microphone = Some(text);
                        }
                    }
                    gst::MessageView::Warning(warning) => {
                        tracing::debug!(warning = %warning.error(), "media warning");
                    }
                    _ => {}
                }
            }
        })?;
    Ok(())
}
