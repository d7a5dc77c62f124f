//! Pictures for the screen: the citizen's own and each desk's, scaled and converted to RGBA by
//! GStreamer into app sinks that keep only the newest. The screen takes what is there when it
//! draws; nothing is copied in headless mode, where these sinks do not exist.

use gstreamer as gst;
use gstreamer_app as gst_app;

/// One RGBA picture, rows `stride` bytes apart, in the sample GStreamer made (not copied).
#[derive(Clone, Debug)]
pub struct Picture {
    pub width: u32,
    pub height: u32,
    pub stride: usize,
    pub sample: gst::Sample,
}

/// The newest picture `sink` holds, if one came since the last call.
pub fn newest(sink: &gst_app::AppSink) -> Option<Picture> {
    let sample = sink.try_pull_sample(gst::ClockTime::ZERO)?;
    let structure = sample.caps()?.structure(0)?;
    let width = structure.get::<i32>("width").ok()?.max(0) as u32;
    let height = structure.get::<i32>("height").ok()?.max(0) as u32;
    let bytes = sample.buffer()?.size();
    if width == 0 || height == 0 {
        return None;
    }
    // RGBA rows are padded to 4 bytes, which 4-byte pixels always are.
    let stride = width as usize * 4;
    (bytes >= stride * height as usize).then_some(Picture {
        width,
        height,
        stride,
        sample,
    })
}
