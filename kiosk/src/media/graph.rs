//! The GStreamer graphs the kiosk runs, written as launch descriptions so that each is
//! readable in one place and can be tried by hand with `gst-launch-1.0`.

use super::rate::RateController;
use super::{Codec, MediaConfig, Source};

/// Payload types the kiosk offers; the browser answers with the same numbers.
pub const VP8_PAYLOAD: u8 = 96;
pub const H264_PAYLOAD: u8 = 102;
pub const OPUS_PAYLOAD: u8 = 111;

/// Keeps packets below the path MTU with room for SRTP and TURN headers.
const RTP_MTU: u32 = 1200;

/// Sizes the encoder is told to produce, from best to the floor of QVGA.
pub const RESOLUTIONS: [(u32, u32); 3] = [(1280, 720), (640, 360), (320, 240)];

/// The H.264 encoders tried in order: hardware first where the machine has one.
pub const H264_ENCODERS: [&str; 5] = [
    "vah264enc",
    "vaapih264enc",
    "v4l2h264enc",
    "x264enc",
    "openh264enc",
];

/// The marker source's name, whose pattern turns white and black on the wall clock.
pub const MARKER_SOURCE: &str = "marker_source";

/// The name of the echo probe the canceller reads the speaker's signal from.
pub const ECHO_PROBE: &str = "nara_echo_probe";

/// The citizen's own picture for the screen (not in headless mode), and its size.
pub const SELF_VIEW: &str = "self_view";
const SELF_VIEW_WIDTH: u32 = 320;
const SELF_VIEW_HEIGHT: u32 = 180;
/// Volume elements: the microphone's (muting) and the speaker's.
pub const MICROPHONE_VOLUME: &str = "microphone_volume";
pub const SPEAKER_VOLUME: &str = "speaker_volume";
/// The size a desk's picture is drawn at on the screen.
const PICTURE_WIDTH: u32 = 960;
const PICTURE_HEIGHT: u32 = 540;

/// Capture (camera and microphone to RTP in two app sinks) and the speaker's mix.
pub fn main_pipeline(config: &MediaConfig, h264_encoder: Option<&str>) -> String {
    let (width, height) = RateController::starting_at(config.start_bitrate_kbps)
        .current()
        .resolution;
    let camera = match &config.source {
        Source::Test => "videotestsrc is-live=true pattern=smpte horizontal-speed=4".to_string(),
        Source::Marker => format!("videotestsrc is-live=true pattern=black name={MARKER_SOURCE}"),
        Source::Devices {
            camera: Some(device),
            ..
        } => format!("v4l2src device={} ! decodebin", quote(device)),
        Source::Devices { camera: None, .. } => "autovideosrc ! decodebin".to_string(),
    };
    // A camera may not offer 30 fps, so videorate makes it; it holds each frame until the
    // next arrives (one frame of latency). Test sources produce 30 fps themselves.
    let rate = match &config.source {
        Source::Devices { .. } => "videorate ! ",
        Source::Test | Source::Marker => "",
    };
    let microphone = match &config.source {
        Source::Test | Source::Marker => {
            "audiotestsrc is-live=true wave=sine freq=440 volume=0.2".to_string()
        }
        Source::Devices {
            microphone: Some(device),
            ..
        } => format!("pulsesrc device={}", quote(device)),
        Source::Devices {
            microphone: None, ..
        } => "autoaudiosrc".to_string(),
    };
    let encoder = video_encoder(config.codec, h264_encoder, config.start_bitrate_kbps);
    let echo = if config.echo_cancellation {
        format!(
            "webrtcdsp name=dsp probe={ECHO_PROBE} echo-cancel=true noise-suppression=true gain-control=true ! audioconvert ! "
        )
    } else {
        String::new()
    };
    let speaker = if config.headless {
        "fakesink sync=true async=false"
    } else {
        "autoaudiosink"
    };
    let probe = if config.echo_cancellation {
        format!("webrtcechoprobe name={ECHO_PROBE} ! ")
    } else {
        String::new()
    };
    // With a screen, the citizen's own picture goes to it too, small and ready to draw.
    let (split, self_view) = if config.headless {
        (String::new(), String::new())
    } else {
        (
            "tee name=camera_split ! ".to_string(),
            format!(
                "camera_split. ! queue max-size-buffers=1 leaky=downstream ! videoscale ! \
                   videoconvert ! video/x-raw,format=RGBA,width={SELF_VIEW_WIDTH},height={SELF_VIEW_HEIGHT} ! \
                   appsink name={SELF_VIEW} sync=false max-buffers=1 drop=true "
            ),
        )
    };
    format!(
        "{camera} ! videoconvert ! videoscale ! {rate}\
           capsfilter name=camera_caps caps=video/x-raw,format=I420,width={width},height={height},framerate=30/1 ! \
           identity name=camera_tap ! {split}valve name=video_valve drop=false ! \
           queue max-size-buffers=2 leaky=downstream ! {encoder} ! \
           appsink name=video_rtp sync=false max-buffers=64 drop=true \
         {microphone} ! audioconvert ! audioresample ! \
           audio/x-raw,format=S16LE,rate=48000,channels=1 ! \
           identity name=microphone_tap ! {echo}volume name={MICROPHONE_VOLUME} ! \
           opusenc name=audio_encoder bitrate=32000 frame-size=20 inband-fec=true ! \
           rtpopuspay pt={OPUS_PAYLOAD} mtu={RTP_MTU} ! \
           appsink name=audio_rtp sync=false max-buffers=64 drop=true \
         audiotestsrc is-live=true wave=silence ! audiomixer name=speaker_mix ! \
           audioconvert ! audioresample ! audio/x-raw,format=S16LE,rate=48000,channels=1 ! \
           {probe}volume name={SPEAKER_VOLUME} ! audioconvert ! {speaker} \
         {self_view}"
    )
}

fn video_encoder(codec: Codec, h264_encoder: Option<&str>, kbps: u32) -> String {
    match (codec, h264_encoder) {
        (Codec::Vp8, _) | (Codec::H264, None) => format!(
            "vp8enc name=video_encoder deadline=1 cpu-used=16 threads=2 lag-in-frames=0 \
               error-resilient=partitions keyframe-max-dist=600 end-usage=cbr target-bitrate={} ! \
             rtpvp8pay pt={VP8_PAYLOAD} mtu={RTP_MTU} picture-id-mode=15-bit",
            kbps * 1000
        ),
        (Codec::H264, Some(name)) => {
            let settings = match name {
                "x264enc" => format!(
                    "tune=zerolatency speed-preset=ultrafast key-int-max=600 bitrate={kbps}"
                ),
                "openh264enc" => format!("complexity=low bitrate={}", kbps * 1000),
                _ => String::new(),
            };
            format!(
                "{name} name=video_encoder {settings} ! \
                 video/x-h264,profile=constrained-baseline,stream-format=byte-stream ! \
                 h264parse ! rtph264pay pt={H264_PAYLOAD} mtu={RTP_MTU} config-interval=-1 aggregate-mode=zero-latency"
            )
        }
    }
}

/// Sets the encoder's bitrate in the unit its property takes.
pub fn bitrate_property(encoder_factory: &str, kbps: u32) -> (&'static str, String) {
    match encoder_factory {
        "vp8enc" => ("target-bitrate", (kbps * 1000).to_string()),
        "openh264enc" => ("bitrate", (kbps * 1000).to_string()),
        "vah264enc" | "vaapih264enc" | "x264enc" => ("bitrate", kbps.to_string()),
        _ => ("bitrate", (kbps * 1000).to_string()),
    }
}

/// One remote person's video: RTP in, decoded frames counted (and shown, by the UI).
/// The video jitter buffer's wait on a short path; a longer one waits for retransmissions.
pub const VIDEO_LATENCY_MS: u32 = 100;

/// How long to hold video for a path with this round trip: long enough for a lost packet's
/// retransmission (asked for one frame later, back a round trip after that) to arrive.
pub fn video_latency_ms(rtt_ms: u32) -> u32 {
    (rtt_ms + rtt_ms / 4 + 50).clamp(VIDEO_LATENCY_MS, 600)
}

/// The jitter buffer lets the first picture through once this many packets in a row have
/// come, rather than holding it for the whole latency: the officer is seen as soon as the
/// answer's first key frame is here (`tests/bench call-setup`, answer → picture at the kiosk).
pub const VIDEO_FASTSTART_PACKETS: u32 = 2;

/// With `pictures`, the decoded frames also go, scaled and as RGBA, to an app sink named
/// `picture` for the screen to draw.
///
/// The sinks do not preroll (`async=false`): a receiver joins a pipeline that is playing, and
/// two joining at once (an officer and an interpreter answering together) left the pipeline
/// waiting on their preroll with every receiver stalled, audio too
/// (`tests/tests/interpreters.rs`, one run in two).
pub fn video_receiver(codec: Codec, payload_type: u8, pictures: bool) -> String {
    let (name, depay, decode) = match codec {
        Codec::Vp8 => ("VP8", "rtpvp8depay", "vp8dec"),
        Codec::H264 => ("H264", "rtph264depay", "h264parse ! avdec_h264"),
    };
    let (split, picture) = if pictures {
        (
            "tee name=picture_split ! queue max-size-buffers=2 leaky=downstream ! ",
            format!(
                " picture_split. ! queue max-size-buffers=1 leaky=downstream ! videoscale ! \
                   videoconvert ! video/x-raw,format=RGBA,width={PICTURE_WIDTH},height={PICTURE_HEIGHT},pixel-aspect-ratio=1/1 ! \
                   appsink name=picture sync=false async=false max-buffers=1 drop=true"
            ),
        )
    } else {
        ("", String::new())
    };
    format!(
        "appsrc name=rtp_in format=time is-live=true do-timestamp=true \
           caps=application/x-rtp,media=video,encoding-name={name},clock-rate=90000,payload={payload_type} ! \
         rtpjitterbuffer name=jitter latency={VIDEO_LATENCY_MS} \
           faststart-min-packets={VIDEO_FASTSTART_PACKETS} do-lost=true ! {depay} ! {decode} ! \
         videoconvert ! video/x-raw,format=I420 ! {split}\
         appsink name=frames sync=false async=false max-buffers=2 drop=true{picture}"
    )
}

/// One remote person's voice: RTP in, decoded into the speaker's mix (a ghost `src` pad).
pub fn audio_receiver(payload_type: u8) -> String {
    format!(
        "appsrc name=rtp_in format=time is-live=true do-timestamp=true \
           caps=application/x-rtp,media=audio,encoding-name=OPUS,clock-rate=48000,payload={payload_type} ! \
         rtpjitterbuffer name=jitter latency=60 do-lost=true ! rtpopusdepay ! opusdec plc=true ! \
         audioconvert ! audioresample ! audio/x-raw,format=S16LE,rate=48000,channels=1 ! \
         identity name=voice_tap"
    )
}

fn quote(value: &str) -> String {
    format!("\"{}\"", value.replace(['"', '\\'], ""))
}
