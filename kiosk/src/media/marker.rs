//! Wall-clock marks in pictures: the marker source is white from each whole second to the
//! half and black otherwise, and a receiver that sees a picture turn white notes how far past the whole
//! second it is. On one machine (one clock) that is the latency from capture to display,
//! whichever side sends. Browsers in the benchmark draw and watch the same marks.

use gstreamer as gst;
use gstreamer::prelude::*;
use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds past the last whole second of the wall clock.
pub fn past_the_second() -> u32 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    now.subsec_millis()
}

/// Paints each picture the marker source delivers white (its luma plane) while the wall clock
/// is in the first half of a second, as it leaves the source: a camera's picture shows the
/// moment it is delivered, whereas a test pattern switched by a timer would show a frame or
/// two late, because the source renders each frame ahead of its time.
pub fn mark_pictures(source: &gst::Element) -> anyhow::Result<()> {
    let pad = source
        .static_pad("src")
        .ok_or_else(|| anyhow::anyhow!("the marker source has no output"))?;
    pad.add_probe(gst::PadProbeType::BUFFER, |pad, info| {
        if past_the_second() >= 500 {
            return gst::PadProbeReturn::Ok;
        }
        let size = pad.current_caps().and_then(|caps| {
            let s = caps.structure(0)?;
            Some((s.get::<i32>("width").ok()?, s.get::<i32>("height").ok()?))
        });
        if let (Some((width, height)), Some(gst::PadProbeData::Buffer(buffer))) =
            (size, &mut info.data)
        {
            let luma_plane = (width.max(0) as usize).div_ceil(4) * 4 * height.max(0) as usize;
            if let Ok(mut map) = buffer.make_mut().map_writable() {
                let end = luma_plane.min(map.len());
                map.as_mut_slice()[..end].fill(235);
            }
        }
        gst::PadProbeReturn::Ok
    });
    Ok(())
}

/// Watches the brightness of successive pictures and reports each turn to white.
#[derive(Debug, Default)]
pub struct MarkWatcher {
    bright: bool,
}

impl MarkWatcher {
    /// The luma (0–255) of a picture's centre, shown at `past_second` ms past the whole
    /// second: the latency if the picture just turned white, else none.
    pub fn picture(&mut self, luma: u8, past_second: u32) -> Option<u32> {
        // The first picture past mid-grey: an encoder may take a few frames to reach white.
        let was_bright = self.bright;
        self.bright = luma > 128;
        // A mark is white from the whole second on; seen later than half a second it is no
        // mark of this second.
        (self.bright && !was_bright && past_second < 500).then_some(past_second)
    }
}

/// The luma of the centre pixel of an I420 picture (its Y plane, rows padded to 4 bytes).
pub fn centre_luma(data: &[u8], width: u32, height: u32) -> Option<u8> {
    let stride = (width as usize).div_ceil(4) * 4;
    data.get((height as usize / 2) * stride + width as usize / 2)
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_turn_to_white_is_a_mark_and_staying_white_is_not() {
        let mut watch = MarkWatcher::default();
        assert_eq!(watch.picture(16, 900), None);
        assert_eq!(watch.picture(235, 42), Some(42));
        assert_eq!(watch.picture(235, 75), None, "still white: the same mark");
        assert_eq!(watch.picture(16, 520), None);
        assert_eq!(
            watch.picture(140, 30),
            Some(30),
            "past mid-grey is the turn"
        );
        assert_eq!(
            watch.picture(235, 610),
            None,
            "too late to belong to this second"
        );
    }

    #[test]
    fn the_centre_of_an_i420_picture_is_found_past_the_row_padding() {
        // 6 x 4: rows of 8 bytes; the centre is row 2, column 3.
        let mut data = vec![0u8; 8 * 4 + 2 * (4 * 2)];
        data[2 * 8 + 3] = 200;
        assert_eq!(centre_luma(&data, 6, 4), Some(200));
        assert_eq!(centre_luma(&[], 6, 4), None);
    }
}
