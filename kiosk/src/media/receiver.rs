//! One remote track inside the kiosk's pipeline: RTP pushed in from the peer connection,
//! decoded, and counted so that health reports and tests can say "the officer is seen/heard".

use super::graph;
use super::marker::{self, MarkWatcher};
use super::Codec;
use anyhow::{anyhow, Context, Result};
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use serde::Serialize;
use std::sync::atomic::{AtomicI32, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A pause in a track longer than this is a break in the call, not jitter.
const BREAK: Duration = Duration::from_secs(1);
/// Breaks this close together are one interruption: media stuttering back after an outage
/// has not recovered until it flows steadily.
const SAME_INTERRUPTION: Duration = Duration::from_secs(5);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Video,
    Audio,
}

#[derive(Debug)]
struct Counters {
    packets: AtomicU64,
    decoded: AtomicU64,
    width: AtomicU32,
    height: AtomicU32,
    peak_x10: AtomicI32,
    started: Instant,
    /// Milliseconds from `started` to the latest decoded frame or buffer, plus one (0: none yet).
    latest_ms: AtomicU64,
    /// The wall-clock time of the first decoded frame or buffer, Unix ms (0: none yet).
    first_unix_ms: AtomicU64,
    /// The last break's length in milliseconds (0: none).
    last_break_ms: AtomicU32,
    /// Capture-to-display latencies seen in wall-clock marks (marker source only), ms.
    marks: Mutex<Vec<u32>>,
    /// When the last break began and ended, in the same reckoning as `latest_ms`.
    last_break_span: AtomicU64Pair,
}

/// Two millisecond marks updated together by the one streaming thread that decodes a track.
#[derive(Debug, Default)]
struct AtomicU64Pair(AtomicU64, AtomicU64);

impl Counters {
    fn new() -> Counters {
        Counters {
            packets: AtomicU64::new(0),
            decoded: AtomicU64::new(0),
            width: AtomicU32::new(0),
            height: AtomicU32::new(0),
            peak_x10: AtomicI32::new(0),
            started: Instant::now(),
            latest_ms: AtomicU64::new(0),
            first_unix_ms: AtomicU64::new(0),
            last_break_ms: AtomicU32::new(0),
            last_break_span: AtomicU64Pair::default(),
            marks: Mutex::new(Vec::new()),
        }
    }

    /// Counts one decoded frame or buffer and notes a break that it ends.
    fn decoded(&self, kind: Kind) {
        self.decoded.fetch_add(1, Ordering::Relaxed);
        let now = self.started.elapsed().as_millis() as u64 + 1;
        let before = self.latest_ms.swap(now, Ordering::Relaxed);
        if before == 0 {
            let unix_ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64);
            self.first_unix_ms.store(unix_ms, Ordering::Relaxed);
        }
        if before > 0 && now - before > BREAK.as_millis() as u64 {
            let AtomicU64Pair(began, ended) = &self.last_break_span;
            let previous_end = ended.load(Ordering::Relaxed);
            let start = if previous_end > 0
                && before.saturating_sub(previous_end) < SAME_INTERRUPTION.as_millis() as u64
            {
                began.load(Ordering::Relaxed)
            } else {
                before
            };
            began.store(start, Ordering::Relaxed);
            ended.store(now, Ordering::Relaxed);
            let lasted = (now - start).min(u32::MAX as u64) as u32;
            self.last_break_ms.store(lasted, Ordering::Relaxed);
            tracing::info!(
                ?kind,
                lasted_ms = lasted,
                "media from a desk flows again after a break"
            );
        }
    }
}

/// What a person would notice of a remote track.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReceiverStats {
    pub packets: u64,
    /// Video frames or audio buffers decoded.
    pub decoded: u64,
    pub width: u32,
    pub height: u32,
    /// Loudest sample of the last audio buffer, dBFS ×10.
    pub peak_decibels_x10: Option<i16>,
    /// How long the last interruption of this track lasted: from the last frame before it to
    /// the first after, breaks of more than a second less than five seconds apart counted as
    /// one.
    pub last_break_ms: Option<u32>,
    /// Latencies from capture to decoding of wall-clock marks, ms (marker source only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub marks_ms: Vec<u32>,
    /// When the first frame or buffer was decoded, Unix ms: how long after the officer
    /// answered the citizen saw them (`tests/bench call-setup`).
    pub first_decoded_unix_ms: Option<u64>,
}

/// A receiver bin; dropping it takes the bin out of the pipeline.
pub struct Receiver {
    pipeline: gst::Pipeline,
    bin: gst::Bin,
    source: gst_app::AppSrc,
    mixer_pad: Option<(gst::Element, gst::Pad)>,
    counters: Arc<Counters>,
    kind: Kind,
    /// The desk's picture for the screen (video, with a screen only).
    picture: Option<gst_app::AppSink>,
}

impl std::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl Receiver {
    pub(super) fn attach(
        pipeline: &gst::Pipeline,
        mixer: &gst::Element,
        kind: Kind,
        codec: Codec,
        payload_type: u8,
        watch_marks: bool,
        pictures: bool,
    ) -> Result<Receiver> {
        let description = match kind {
            Kind::Video => graph::video_receiver(codec, payload_type, pictures),
            Kind::Audio => graph::audio_receiver(payload_type),
        };
        let bin = gst::parse::bin_from_description(&description, true)
            .with_context(|| format!("cannot build a receiver: {description}"))?;
        let source = bin
            .by_name("rtp_in")
            .and_then(|e| e.dynamic_cast::<gst_app::AppSrc>().ok())
            .ok_or_else(|| anyhow!("the receiver has no app source"))?;
        source.set_property("max-bytes", 2_000_000u64);
        let counters = Arc::new(Counters::new());
        match kind {
            Kind::Video => {
                let sink = bin
                    .by_name("frames")
                    .and_then(|e| e.dynamic_cast::<gst_app::AppSink>().ok())
                    .ok_or_else(|| anyhow!("the video receiver has no frame sink"))?;
                let c = counters.clone();
                let mut marks = watch_marks.then(MarkWatcher::default);
                sink.set_callbacks(
                    gst_app::AppSinkCallbacks::builder()
                        .new_sample(move |sink| {
                            let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                            let (mut w, mut h) = (0, 0);
                            if let Some(s) = sample.caps().and_then(|caps| caps.structure(0)) {
                                w = s.get::<i32>("width").unwrap_or(0).max(0) as u32;
                                h = s.get::<i32>("height").unwrap_or(0).max(0) as u32;
                                c.width.store(w, Ordering::Relaxed);
                                c.height.store(h, Ordering::Relaxed);
                            }
                            if let (Some(watch), Some(buffer)) = (&mut marks, sample.buffer()) {
                                let past = marker::past_the_second();
                                let map =
                                    buffer.map_readable().map_err(|_| gst::FlowError::Error)?;
                                let luma = marker::centre_luma(map.as_slice(), w, h);
                                if let Some(ms) = luma.and_then(|l| watch.picture(l, past)) {
                                    c.marks.lock().expect("not poisoned").push(ms);
                                }
                            }
                            c.decoded(Kind::Video);
                            Ok(gst::FlowSuccess::Ok)
                        })
                        .build(),
                );
            }
            Kind::Audio => {
                let tap = bin
                    .by_name("voice_tap")
                    .and_then(|e| e.static_pad("src"))
                    .ok_or_else(|| anyhow!("the audio receiver has no tap"))?;
                let c = counters.clone();
                c.peak_x10.store(i16::MIN as i32, Ordering::Relaxed);
                tap.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
                    if let Some(buffer) = info.buffer() {
                        c.decoded(Kind::Audio);
                        if let Some(peak) = peak_decibels_x10(buffer) {
                            c.peak_x10.store(peak as i32, Ordering::Relaxed);
                        }
                    }
                    gst::PadProbeReturn::Ok
                });
            }
        }
        pipeline.add(&bin)?;
        let mixer_pad = match kind {
            Kind::Audio => {
                let pad = mixer
                    .request_pad_simple("sink_%u")
                    .ok_or_else(|| anyhow!("the speaker mix takes no more voices"))?;
                let src = bin
                    .static_pad("src")
                    .ok_or_else(|| anyhow!("the audio receiver has no output"))?;
                src.link(&pad)?;
                Some((mixer.clone(), pad))
            }
            Kind::Video => None,
        };
        let picture = bin
            .by_name("picture")
            .and_then(|e| e.dynamic_cast::<gst_app::AppSink>().ok());
        bin.sync_state_with_parent()?;
        Ok(Receiver {
            picture,
            pipeline: pipeline.clone(),
            bin,
            source,
            mixer_pad,
            counters,
            kind,
        })
    }

    /// The desk's newest picture for the screen, if one came since the last call.
    pub fn picture(&self) -> Option<super::pictures::Picture> {
        super::pictures::newest(self.picture.as_ref()?)
    }

    /// One RTP packet as received from the peer (already decrypted).
    pub fn push(&self, rtp: &[u8]) {
        self.counters.packets.fetch_add(1, Ordering::Relaxed);
        let buffer = gst::Buffer::from_slice(rtp.to_vec());
        if let Err(error) = self.source.push_buffer(buffer) {
            tracing::debug!(?error, "a receiver refused a packet");
        }
    }

    /// Fits a video track's jitter buffer to a path with round trip `rtt_ms` (audio keeps its
    /// short buffer: voice is not retransmitted, its losses are concealed and FEC-repaired).
    pub fn fit_to_round_trip(&self, rtt_ms: u32) {
        if self.kind != Kind::Video {
            return;
        }
        if let Some(jitter) = self.bin.by_name("jitter") {
            let latency = graph::video_latency_ms(rtt_ms);
            if jitter.property::<u32>("latency") != latency {
                jitter.set_property("latency", latency);
                tracing::debug!(rtt_ms, latency, "video jitter buffer refitted");
            }
        }
    }

    pub fn stats(&self) -> ReceiverStats {
        let c = &self.counters;
        let peak = c.peak_x10.load(Ordering::Relaxed);
        ReceiverStats {
            packets: c.packets.load(Ordering::Relaxed),
            decoded: c.decoded.load(Ordering::Relaxed),
            width: c.width.load(Ordering::Relaxed),
            height: c.height.load(Ordering::Relaxed),
            peak_decibels_x10: (self.kind == Kind::Audio && peak > i16::MIN as i32)
                .then_some(peak as i16),
            last_break_ms: match c.last_break_ms.load(Ordering::Relaxed) {
                0 => None,
                ms => Some(ms),
            },
            marks_ms: c.marks.lock().expect("not poisoned").clone(),
            first_decoded_unix_ms: match c.first_unix_ms.load(Ordering::Relaxed) {
                0 => None,
                ms => Some(ms),
            },
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        // The order GStreamer asks for when taking a branch out of a running pipeline: lock
        // its state first, or the pipeline may set it playing again between our NULL and the
        // removal (seen as a crash when a call with two desks ended: a bin disposed while
        // its source's streaming thread ran). Then stop it, unlink it, take it out.
        self.bin.set_locked_state(true);
        let _ = self.source.end_of_stream();
        if let Err(error) = self.bin.set_state(gst::State::Null) {
            tracing::warn!(kind = ?self.kind, ?error, "a receiver did not stop cleanly");
        }
        if let Some((mixer, pad)) = self.mixer_pad.take() {
            if let Some(src) = self.bin.static_pad("src") {
                let _ = src.unlink(&pad);
            }
            mixer.release_request_pad(&pad);
        }
        let _ = self.pipeline.remove(&self.bin);
    }
}

/// The loudest sample of a mono S16LE buffer in dBFS ×10; none for silence or other formats.
pub fn peak_decibels_x10(buffer: &gst::BufferRef) -> Option<i16> {
    let map = buffer.map_readable().ok()?;
    let peak = map
        .as_slice()
        .chunks_exact(2)
        .map(|s| i16::from_le_bytes([s[0], s[1]]).unsigned_abs())
        .max()?;
    if peak == 0 {
        return None;
    }
    let db = 20.0 * (peak as f64 / 32768.0).log10();
    Some((db * 10.0).round() as i16)
}
