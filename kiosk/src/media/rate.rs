//! What the video encoder should do for a bandwidth estimate: the bitrate, the picture size and
//! whether to send video at all. Audio's share is set aside first, so that on a poor link the
//! picture gets smaller, then stops, while the voice keeps going. Below QVGA at 20 fps sign
//! language is no longer readable, so video stops there rather than sinking further.

use super::graph::RESOLUTIONS;

/// Kept for the voice and RTCP before video gets anything.
pub const AUDIO_RESERVE_KBPS: u32 = 48;
/// The least that carries QVGA at 20 fps with VP8 or H.264 in a usable quality.
pub const VIDEO_FLOOR_KBPS: u32 = 120;
const VIDEO_CEILING_KBPS: u32 = 2500;
/// Budget at which each size in [`RESOLUTIONS`] is chosen.
const SIZE_THRESHOLDS_KBPS: [u32; 3] = [1200, 400, VIDEO_FLOOR_KBPS];
/// Going up needs this much more than the threshold, so that a noisy estimate near a
/// threshold does not flip the picture size every second.
const UPWARD_MARGIN_PERCENT: u32 = 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateDecision {
    pub video_kbps: u32,
    pub resolution: (u32, u32),
    pub video_on: bool,
}

#[derive(Debug, Clone)]
pub struct RateController {
    current: RateDecision,
}

impl Default for RateController {
    fn default() -> Self {
        Self::new()
    }
}

impl RateController {
    pub fn new() -> Self {
        RateController {
            current: RateDecision {
                video_kbps: 800,
                resolution: RESOLUTIONS[1],
                video_on: true,
            },
        }
    }

    pub fn current(&self) -> RateDecision {
        self.current
    }

    /// The decision for the lowest estimate among the peers (one encoder feeds them all).
    /// Returns it only when it differs from the one in force.
    pub fn update(&mut self, estimate_kbps: u32) -> Option<RateDecision> {
        let budget = estimate_kbps.saturating_sub(AUDIO_RESERVE_KBPS);
        let current_index = RESOLUTIONS
            .iter()
            .position(|r| *r == self.current.resolution)
            .unwrap_or(RESOLUTIONS.len() - 1);
        let fits = |index: usize| {
            let threshold = SIZE_THRESHOLDS_KBPS[index];
            let going_up = index < current_index || !self.current.video_on;
            let needed = if going_up {
                threshold + threshold * UPWARD_MARGIN_PERCENT / 100
            } else {
                threshold
            };
            budget >= needed
        };
        let next = match (0..RESOLUTIONS.len()).find(|&i| fits(i)) {
            Some(index) => RateDecision {
                video_kbps: budget.min(VIDEO_CEILING_KBPS),
                resolution: RESOLUTIONS[index],
                video_on: true,
            },
            None => RateDecision {
                video_kbps: VIDEO_FLOOR_KBPS,
                resolution: RESOLUTIONS[RESOLUTIONS.len() - 1],
                video_on: false,
            },
        };
        let worth_telling = next.resolution != self.current.resolution
            || next.video_on != self.current.video_on
            || next.video_kbps.abs_diff(self.current.video_kbps) * 10 > self.current.video_kbps;
        if worth_telling {
            self.current = next;
            Some(next)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shrinking_link_shrinks_the_picture_then_stops_it_and_keeps_the_voice() {
        let mut rate = RateController::new();
        let good = rate.update(3000).unwrap();
        assert_eq!((good.resolution, good.video_on), ((1280, 720), true));
        assert_eq!(good.video_kbps, 2500);

        let fair = rate.update(700).unwrap();
        assert_eq!(fair.resolution, (640, 360));
        assert_eq!(fair.video_kbps, 700 - AUDIO_RESERVE_KBPS);

        let poor = rate.update(200).unwrap();
        assert_eq!((poor.resolution, poor.video_on), ((320, 240), true));

        let broken = rate.update(100).unwrap();
        assert!(!broken.video_on, "below QVGA at 20 fps video stops");
    }

    #[test]
    fn an_estimate_wobbling_at_a_threshold_does_not_flip_the_size() {
        let mut rate = RateController::new();
        rate.update(400 + AUDIO_RESERVE_KBPS - 10).unwrap();
        assert_eq!(rate.current().resolution, (320, 240));
        // Just above the threshold is not enough to go back up...
        let _ = rate.update(400 + AUDIO_RESERVE_KBPS + 10);
        assert_eq!(rate.current().resolution, (320, 240));
        // ...clearly above it is.
        rate.update(400 * 13 / 10 + AUDIO_RESERVE_KBPS).unwrap();
        assert_eq!(rate.current().resolution, (640, 360));
    }

    #[test]
    fn small_changes_are_not_sent_to_the_encoder() {
        let mut rate = RateController::new();
        rate.update(1000).unwrap();
        assert_eq!(rate.update(1020), None);
        assert!(rate.update(1300).is_some());
    }
}
