//! What the video encoder should do for a bandwidth estimate: the bitrate, the picture size and
//! whether to send video at all. Audio's share is set aside first, so that on a poor link the
//! picture gets smaller, then stops, while the voice keeps going. Below QVGA at 20 fps sign
//! language is no longer readable, so video stops there rather than sinking further.

use super::graph::RESOLUTIONS;
use std::time::{Duration, Instant};

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

/// How long the estimate must stay below the floor before video stops: one low estimate is
/// often a delay step (a path change, a queue filling once), not a link that cannot carry it.
const STOP_AFTER: Duration = Duration::from_secs(4);
/// After video stopped, how long until it is tried again at the floor. A receiver's estimate
/// cannot grow while nothing is sent, so only sending again shows whether the link recovered.
const FIRST_RETRY: Duration = Duration::from_secs(8);
/// Video stops only on a link that also loses this many packets (thousandths). Without loss a
/// low estimate is the receiver being cautious: Chromium's delay-based estimate reads
/// retransmitted packets as queueing and falls far below what a lossy but wide link carries,
/// while a link that truly cannot carry QVGA drops what overflows its queue.
const STOP_LOSS_PERMILLE: u16 = 100;
const LONGEST_RETRY: Duration = Duration::from_secs(64);

#[derive(Debug, Clone)]
pub struct RateController {
    current: RateDecision,
    /// Since when the estimate has been below the floor (while video is still on).
    low_since: Option<Instant>,
    /// While video is off: when to try it again, and how long the wait after that is.
    retry: Option<(Instant, Duration)>,
    next_wait: Duration,
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
            low_since: None,
            retry: None,
            next_wait: FIRST_RETRY,
        }
    }

    /// Starts from a configured bitrate (the kiosk's `start-bitrate-kbps`), at the largest
    /// picture size that bitrate carries.
    pub fn starting_at(kbps: u32) -> Self {
        let kbps = kbps.clamp(VIDEO_FLOOR_KBPS, VIDEO_CEILING_KBPS);
        let index = SIZE_THRESHOLDS_KBPS
            .iter()
            .position(|&threshold| kbps >= threshold)
            .unwrap_or(RESOLUTIONS.len() - 1);
        RateController {
            current: RateDecision {
                video_kbps: kbps,
                resolution: RESOLUTIONS[index],
                video_on: true,
            },
            ..Self::new()
        }
    }

    pub fn current(&self) -> RateDecision {
        self.current
    }

    /// The decision for the lowest estimate among the peers (one encoder feeds them all), at
    /// `now`, while the encoder actually produces `sending_kbps`. Returns it only when it
    /// differs from the one in force.
    ///
    /// A receiver's estimate follows what it receives (Chromium's stays within 1.5× of it), so
    /// when the encoder sends less than it may (a still scene compresses to little), a low
    /// estimate says nothing about the link; only an estimate below what is sent means the
    /// link cannot carry it. `loss_permille` is the worst loss the receivers report.
    pub fn update(
        &mut self,
        estimate_kbps: u32,
        sending_kbps: u32,
        loss_permille: u16,
        now: Instant,
    ) -> Option<RateDecision> {
        let budget = estimate_kbps.saturating_sub(AUDIO_RESERVE_KBPS);
        let link_limited = budget < sending_kbps + sending_kbps / 10;
        if !link_limited && budget < self.current.video_kbps {
            self.low_since = None;
            return None;
        }
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
            Some(index) => {
                self.low_since = None;
                if self.current.video_on {
                    self.next_wait = FIRST_RETRY;
                }
                self.retry = None;
                RateDecision {
                    video_kbps: budget.min(VIDEO_CEILING_KBPS),
                    resolution: RESOLUTIONS[index],
                    video_on: true,
                }
            }
            None if !self.current.video_on => return None,
            None if loss_permille < STOP_LOSS_PERMILLE => {
                self.low_since = None;
                self.floor(true)
            }
            None => {
                let since = *self.low_since.get_or_insert(now);
                if now.duration_since(since) < STOP_AFTER {
                    self.floor(true)
                } else {
                    self.low_since = None;
                    self.retry = Some((now + self.next_wait, self.next_wait));
                    self.floor(false)
                }
            }
        };
        self.tell(next)
    }

    /// Time passing without an estimate: while video is off, it is tried again when due.
    pub fn tick(&mut self, now: Instant) -> Option<RateDecision> {
        let (due, waited) = self.retry?;
        if now < due {
            return None;
        }
        self.retry = None;
        self.next_wait = (waited * 2).min(LONGEST_RETRY);
        self.low_since = Some(now);
        self.tell(self.floor(true))
    }

    fn floor(&self, video_on: bool) -> RateDecision {
        RateDecision {
            video_kbps: VIDEO_FLOOR_KBPS,
            resolution: RESOLUTIONS[RESOLUTIONS.len() - 1],
            video_on,
        }
    }

    fn tell(&mut self, next: RateDecision) -> Option<RateDecision> {
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

    /// An encoder that sends all it is allowed (a busy scene): every low estimate is the link's.
    const SENDING_ALL: u32 = 10_000;
    /// A link that drops what overflows it.
    const LOSSY: u16 = 150;

    #[test]
    fn the_start_size_follows_the_start_bitrate() {
        assert_eq!(
            RateController::starting_at(2500).current().resolution,
            (1280, 720)
        );
        assert_eq!(
            RateController::starting_at(800).current().resolution,
            (640, 360)
        );
        let tiny = RateController::starting_at(10).current();
        assert_eq!(
            (tiny.resolution, tiny.video_kbps),
            ((320, 240), VIDEO_FLOOR_KBPS)
        );
    }

    #[test]
    fn a_low_estimate_without_loss_keeps_qvga_going() {
        let t0 = Instant::now();
        let mut rate = RateController::new();
        let low = rate.update(60, SENDING_ALL, 50, t0).unwrap();
        assert_eq!((low.resolution, low.video_on), ((320, 240), true));
        assert_eq!(rate.update(60, SENDING_ALL, 50, t0 + STOP_AFTER * 5), None);
        assert!(
            rate.current().video_on,
            "5 % random loss is not a link too narrow for QVGA"
        );
    }

    #[test]
    fn a_low_estimate_for_a_still_scene_is_not_a_poor_link() {
        let t0 = Instant::now();
        let mut rate = RateController::new();
        // The encoder sends 60 kbps of an empty room; the receiver estimates 1.5× that.
        assert_eq!(rate.update(90 + AUDIO_RESERVE_KBPS, 60, LOSSY, t0), None);
        assert_eq!(
            rate.update(90 + AUDIO_RESERVE_KBPS, 60, LOSSY, t0 + STOP_AFTER * 3),
            None
        );
        assert_eq!(rate.current().resolution, (640, 360));
        // An estimate below what is sent is the link's doing.
        let squeezed = rate
            .update(40 + AUDIO_RESERVE_KBPS, 60, LOSSY, t0 + STOP_AFTER * 4)
            .unwrap();
        assert_eq!((squeezed.resolution, squeezed.video_on), ((320, 240), true));
    }

    #[test]
    fn a_shrinking_link_shrinks_the_picture_then_stops_it_and_keeps_the_voice() {
        let t0 = Instant::now();
        let mut rate = RateController::new();
        let good = rate.update(3000, SENDING_ALL, LOSSY, t0).unwrap();
        assert_eq!((good.resolution, good.video_on), ((1280, 720), true));
        assert_eq!(good.video_kbps, 2500);

        let fair = rate.update(700, SENDING_ALL, LOSSY, t0).unwrap();
        assert_eq!(fair.resolution, (640, 360));
        assert_eq!(fair.video_kbps, 700 - AUDIO_RESERVE_KBPS);

        let poor = rate.update(200, SENDING_ALL, LOSSY, t0).unwrap();
        assert_eq!((poor.resolution, poor.video_on), ((320, 240), true));

        let broken = rate.update(100, SENDING_ALL, LOSSY, t0).unwrap();
        assert!(
            broken.video_on,
            "QVGA at the floor goes on while the estimate may recover"
        );
        assert_eq!(broken.video_kbps, VIDEO_FLOOR_KBPS);
        let broken = rate
            .update(100, SENDING_ALL, LOSSY, t0 + STOP_AFTER)
            .unwrap();
        assert!(
            !broken.video_on,
            "below QVGA at 20 fps for long, video stops"
        );
        assert_eq!(
            rate.update(90, SENDING_ALL, LOSSY, t0 + STOP_AFTER * 2),
            None
        );
    }

    #[test]
    fn one_low_estimate_does_not_stop_video() {
        let t0 = Instant::now();
        let mut rate = RateController::new();
        let dip = rate.update(60, SENDING_ALL, LOSSY, t0).unwrap();
        assert_eq!((dip.resolution, dip.video_on), ((320, 240), true));
        let recovered = rate
            .update(900, SENDING_ALL, LOSSY, t0 + Duration::from_secs(2))
            .unwrap();
        assert_eq!(
            (recovered.resolution, recovered.video_on),
            ((640, 360), true)
        );
        // The dip is forgotten: a new one starts its own count.
        assert!(rate
            .update(60, SENDING_ALL, LOSSY, t0 + Duration::from_secs(5))
            .is_some());
        assert_eq!(
            rate.update(60, SENDING_ALL, LOSSY, t0 + Duration::from_secs(8)),
            None
        );
        assert!(
            !rate
                .update(60, SENDING_ALL, LOSSY, t0 + Duration::from_secs(9))
                .unwrap()
                .video_on
        );
    }

    #[test]
    fn stopped_video_is_tried_again_less_and_less_often() {
        let t0 = Instant::now();
        let mut rate = RateController::new();
        rate.update(60, SENDING_ALL, LOSSY, t0);
        assert!(
            !rate
                .update(60, SENDING_ALL, LOSSY, t0 + STOP_AFTER)
                .unwrap()
                .video_on
        );
        let stopped = t0 + STOP_AFTER;
        assert_eq!(rate.tick(stopped + FIRST_RETRY / 2), None);
        let retry = rate.tick(stopped + FIRST_RETRY).unwrap();
        assert_eq!((retry.resolution, retry.video_on), ((320, 240), true));
        // Still too little: off again, and the next try waits twice as long.
        let again = stopped + FIRST_RETRY + STOP_AFTER;
        assert!(!rate.update(60, SENDING_ALL, LOSSY, again).unwrap().video_on);
        assert_eq!(rate.tick(again + FIRST_RETRY), None);
        assert!(rate.tick(again + FIRST_RETRY * 2).unwrap().video_on);
        // This time the link carries it, and video stays.
        let carried = rate.update(
            500,
            SENDING_ALL,
            LOSSY,
            again + FIRST_RETRY * 2 + Duration::from_secs(1),
        );
        assert!(carried.unwrap().video_on);
        assert_eq!(rate.tick(again + LONGEST_RETRY * 2), None);
    }

    #[test]
    fn an_estimate_wobbling_at_a_threshold_does_not_flip_the_size() {
        let t0 = Instant::now();
        let mut rate = RateController::new();
        rate.update(400 + AUDIO_RESERVE_KBPS - 10, SENDING_ALL, LOSSY, t0)
            .unwrap();
        assert_eq!(rate.current().resolution, (320, 240));
        // Just above the threshold is not enough to go back up...
        let _ = rate.update(400 + AUDIO_RESERVE_KBPS + 10, SENDING_ALL, LOSSY, t0);
        assert_eq!(rate.current().resolution, (320, 240));
        // ...clearly above it is.
        rate.update(400 * 13 / 10 + AUDIO_RESERVE_KBPS, SENDING_ALL, LOSSY, t0)
            .unwrap();
        assert_eq!(rate.current().resolution, (640, 360));
    }

    #[test]
    fn small_changes_are_not_sent_to_the_encoder() {
        let t0 = Instant::now();
        let mut rate = RateController::new();
        rate.update(1000, SENDING_ALL, LOSSY, t0).unwrap();
        assert_eq!(rate.update(1020, SENDING_ALL, LOSSY, t0), None);
        assert!(rate.update(1300, SENDING_ALL, LOSSY, t0).is_some());
    }
}
