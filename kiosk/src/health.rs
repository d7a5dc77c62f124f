//! The kiosk's health: device states for the heartbeat, machine load and disk, and the
//! self-test an administrator can run from afar.

use crate::media::{CaptureHealth, Media};
use crate::peer::PeerSettings;
use crate::scanner::Scanner;
use anyhow::Result;
use nara_protocol::{DeviceState, DeviceStates, SelfTestReport, ShortText};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler, RTCConfigurationBuilder,
    RTCIceCandidateType, RTCIceServer, RTCIceTransportPolicy, RTCPeerConnectionIceEvent,
};

/// Quieter than this (dBFS ×10) the microphone is taken to hear nothing at all.
const SILENCE_DECIBELS_X10: i16 = -900;

/// A detail for the health report, cut to fit (at a character boundary).
pub(crate) fn short(text: impl Into<String>) -> ShortText {
    let mut text: String = text.into();
    let mut end = text.len().min(nara_protocol::MAX_SHORT_TEXT_LEN);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    ShortText::new(text).unwrap_or_else(|_| ShortText::new("unreadable detail").expect("valid"))
}

/// Device states from what capture saw since the `previous` reading.
pub fn device_states(previous: &CaptureHealth, now: &CaptureHealth, seconds: u64) -> DeviceStates {
    let camera = match &now.camera_error {
        Some(error) => DeviceState::Failing {
            detail: short(error.clone()),
        },
        None if now.camera_frames > previous.camera_frames => DeviceState::Ok,
        None => DeviceState::Failing {
            detail: short(format!("no frames for {seconds} s")),
        },
    };
    let microphone = match &now.microphone_error {
        Some(error) => DeviceState::Failing {
            detail: short(error.clone()),
        },
        None if now.microphone_buffers > previous.microphone_buffers => DeviceState::Ok,
        None => DeviceState::Failing {
            detail: short(format!("no sound for {seconds} s")),
        },
    };
    DeviceStates {
        camera,
        microphone,
        speaker: DeviceState::Ok,
        // The scanner's state is the scanner thread's to tell; the controller fills it in.
        scanner: DeviceState::Missing,
    }
}

/// One-minute load average ×100, from `/proc/loadavg`.
pub fn load_x100() -> u32 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse::<f64>().ok())
        .map(|load| (load * 100.0).round() as u32)
        .unwrap_or(0)
}

/// Free space where the kiosk keeps its files, in megabytes.
pub fn disk_free_megabytes(path: &Path) -> u64 {
    nix::sys::statvfs::statvfs(path)
        .map(|s| s.blocks_available() * s.fragment_size() / 1_000_000)
        .unwrap_or(0)
}

/// Camera frames and microphone level over two seconds, the scanner, and a TURN allocation.
pub async fn self_test(media: &Media, peers: &PeerSettings, scanner: &Scanner) -> SelfTestReport {
    let before = media.capture_health();
    let scanned = scanner.probe().await;
    let scanner_state = scanner.state();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = media.capture_health();
    let camera_frames = after.camera_frames.saturating_sub(before.camera_frames) as u32;
    let peak = after.microphone_peak_decibels_x10;
    let turn = turn_reachable(peers).await;
    let mut details = Vec::new();
    if camera_frames < 20 {
        details.push(short(format!(
            "the camera gave {camera_frames} frames in 2 s (at least 20 expected)"
        )));
    }
    if let Some(error) = &after.camera_error {
        details.push(short(format!("camera: {error}")));
    }
    let microphone_ok = peak.is_some_and(|p| p > SILENCE_DECIBELS_X10);
    if !microphone_ok {
        details.push(short("the microphone hears nothing"));
    }
    if let Err(why) = &turn {
        details.push(short(format!("TURN: {why}")));
    }
    // A kiosk configured without a scanner passes without one.
    let scanner_ok = scanned.is_ok() || !scanner.expected();
    if let Err(why) = &scanned {
        details.push(short(format!("scanner: {why}")));
    }
    SelfTestReport {
        passed: camera_frames >= 20 && microphone_ok && turn.is_ok() && scanner_ok,
        camera_frames,
        microphone_peak_decibels_x10: peak,
        scanner: scanner_state,
        turn_reachable: turn.is_ok(),
        details,
    }
}

struct RelayWatch(tokio::sync::mpsc::UnboundedSender<()>);

#[async_trait::async_trait]
impl PeerConnectionEventHandler for RelayWatch {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        if event.candidate.typ == RTCIceCandidateType::Relay {
            let _ = self.0.send(());
        }
    }
}

/// Whether a TURN server the broker named gives this kiosk a relay address: the check that
/// the credentials work and the firewall lets the kiosk out.
async fn turn_reachable(settings: &PeerSettings) -> Result<(), String> {
    let servers: Vec<RTCIceServer> = settings
        .ice_servers
        .iter()
        .filter(|s| s.urls.iter().any(|u| u.starts_with("turn")))
        .map(|s| RTCIceServer {
            urls: s.urls.clone(),
            username: s.username.clone().unwrap_or_default(),
            credential: s.credential.clone().unwrap_or_default(),
        })
        .collect();
    if servers.is_empty() {
        return Err("the broker named no TURN server".into());
    }
    let (found, mut relay) = tokio::sync::mpsc::unbounded_channel();
    let probe = async {
        let connection = PeerConnectionBuilder::new()
            .with_configuration(
                RTCConfigurationBuilder::new()
                    .with_ice_servers(servers)
                    .with_ice_transport_policy(RTCIceTransportPolicy::Relay)
                    .build(),
            )
            .with_handler(Arc::new(RelayWatch(found)))
            .with_udp_addrs(settings.bind.clone())
            .build()
            .await
            .map_err(|e| e.to_string())?;
        connection
            .create_data_channel("probe", None)
            .await
            .map_err(|e| e.to_string())?;
        let offer = connection
            .create_offer(None)
            .await
            .map_err(|e| e.to_string())?;
        connection
            .set_local_description(offer)
            .await
            .map_err(|e| e.to_string())?;
        let got = tokio::time::timeout(Duration::from_secs(5), relay.recv()).await;
        let _ = connection.close().await;
        match got {
            Ok(Some(())) => Ok(()),
            _ => Err("no relay address within 5 s".to_string()),
        }
    };
    probe.await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(frames: u64, buffers: u64) -> CaptureHealth {
        CaptureHealth {
            camera_frames: frames,
            microphone_buffers: buffers,
            microphone_peak_decibels_x10: Some(-200),
            camera_error: None,
            microphone_error: None,
        }
    }

    #[test]
    fn a_camera_that_stopped_delivering_is_failing_and_says_so() {
        let states = device_states(&reading(100, 50), &reading(100, 80), 30);
        assert_eq!(
            states.camera,
            DeviceState::Failing {
                detail: short("no frames for 30 s")
            }
        );
        assert_eq!(states.microphone, DeviceState::Ok);
    }

    #[test]
    fn a_device_error_is_reported_in_gstreamers_words() {
        let mut now = reading(200, 80);
        now.camera_error = Some("Could not open device /dev/video0".into());
        let states = device_states(&reading(100, 50), &now, 30);
        assert_eq!(
            states.camera,
            DeviceState::Failing {
                detail: short("Could not open device /dev/video0")
            }
        );
    }

    #[test]
    fn load_and_disk_are_read_from_this_machine() {
        assert!(disk_free_megabytes(Path::new("/")) > 0);
        let _ = load_x100();
    }
}
