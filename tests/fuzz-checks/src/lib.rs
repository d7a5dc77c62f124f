//! What each fuzz target checks, one function per target, each taking the fuzzer's bytes.
//!
//! `fuzz/fuzz_targets/*.rs` are one-line libFuzzer wrappers around these; the test
//! `tests/tests/fuzz_corpus.rs` replays every checked-in seed and every crash the fuzzer once
//! found (`fuzz/regressions/<target>/`) through the same functions on stable Rust, so a
//! fixed crash stays fixed. A check panics only on a real fault: a decoder that panics, a
//! value that does not survive a round trip, a page handed out that does not match its digest.
//!
//! [`TARGETS`] is the list the fuzz script and the replay test share.

use nara_broker::config::Config;
use nara_broker::turn::gate::Gate;
use nara_broker::turn::peer_policy::PeerPolicy;
use nara_broker::turn::quota::AllocationQuota;
use nara_protocol::pages::{DocumentAssembly, PageChunk, Progress};
use nara_protocol::peer::{PageManifest, PageMediaType, PeerMessage};
use nara_protocol::values::Sha256Hex;
use nara_protocol::{decode, encode, BrokerToDesk, BrokerToKiosk, DeskToBroker, KioskToBroker};
use round_trip::RoundTrip;
use std::path::Path;

/// What a target does with the fuzzer's bytes.
pub type Check = fn(&[u8]);

/// Every target by name, with its check.
pub const TARGETS: &[(&str, Check)] = &[
    ("kiosk_to_broker", kiosk_to_broker),
    ("desk_to_broker", desk_to_broker),
    ("broker_to_kiosk", broker_to_kiosk),
    ("broker_to_desk", broker_to_desk),
    ("peer_message", peer_message),
    ("page_frames", page_frames),
    ("config", config),
    ("opening_hours", opening_hours),
    ("turn_gate", turn_gate),
];

mod round_trip {
    use super::*;

    /// Decodes `text` as `T`; what decodes must encode and decode to the same value.
    pub trait RoundTrip {
        fn round_trip(text: &str);
    }

    impl<T> RoundTrip for T
    where
        T: serde::de::DeserializeOwned + serde::Serialize + PartialEq + std::fmt::Debug,
    {
        fn round_trip(text: &str) {
            if let Ok(message) = decode::<T>(text) {
                let again = encode(&message);
                let back: T = decode(&again)
                    .unwrap_or_else(|e| panic!("{again} does not decode after encoding: {e}"));
                assert_eq!(back, message, "round trip changed {text}");
            }
        }
    }
}

fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

pub fn kiosk_to_broker(data: &[u8]) {
    if let Some(text) = text(data) {
        KioskToBroker::round_trip(text);
    }
}

pub fn desk_to_broker(data: &[u8]) {
    if let Some(text) = text(data) {
        DeskToBroker::round_trip(text);
    }
}

pub fn broker_to_kiosk(data: &[u8]) {
    if let Some(text) = text(data) {
        BrokerToKiosk::round_trip(text);
    }
}

pub fn broker_to_desk(data: &[u8]) {
    if let Some(text) = text(data) {
        BrokerToDesk::round_trip(text);
    }
}

pub fn peer_message(data: &[u8]) {
    if let Some(text) = text(data) {
        PeerMessage::round_trip(text);
    }
}

/// A manifest from the first bytes, then frames: 2-byte length, frame bytes, repeated.
/// Whatever arrives, a page handed out matches its announced length and digest.
pub fn page_frames(data: &[u8]) {
    let Some((&count, rest)) = data.split_first() else {
        return;
    };
    let pages = usize::from(count % 4) + 1;
    let mut rest = rest;
    let mut manifest = Vec::new();
    for _ in 0..pages {
        let Some((head, tail)) = rest.split_first_chunk::<3>() else {
            return;
        };
        rest = tail;
        // Small pages with digests of a known pattern, so that a fuzzer can complete one.
        let len = usize::from(u16::from_be_bytes([head[0], head[1]]) % 300) + 1;
        let body = vec![head[2]; len];
        manifest.push(PageManifest::describe(&body, PageMediaType::Jpeg, 1, 1));
    }
    let Ok(mut assembly) = DocumentAssembly::new(1, manifest.clone()) else {
        return;
    };
    while let Some((len, tail)) = rest.split_first_chunk::<2>() {
        let len = usize::from(u16::from_be_bytes(*len)).min(tail.len());
        let (frame, tail) = tail.split_at(len);
        rest = tail;
        let _ = PageChunk::decode(frame);
        if let Ok(Progress::PageComplete { page, bytes, .. }) = assembly.accept(frame) {
            let expected = &manifest[usize::from(page)];
            assert_eq!(bytes.len(), expected.bytes as usize);
            assert_eq!(Sha256Hex::of(&bytes), expected.sha256);
        }
    }
}

/// A TOML file, then after a NUL byte `NARA_…=value` lines as the environment.
pub fn config(data: &[u8]) {
    let Some(text) = text(data) else {
        return;
    };
    let (file, env) = text.split_once('\0').unwrap_or((text, ""));
    let env: Vec<(String, String)> = env
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let _ = Config::parse(Some(file), Path::new("fuzz.toml"), env);
}

pub fn opening_hours(data: &[u8]) {
    if let Some(text) = text(data) {
        if let Ok(spans) = nara_protocol::hours::parse_hours(text) {
            let _ = nara_protocol::hours::swedish(&spans);
            for weekday in 0..7 {
                for minute in [0, 479, 480, 1439, 1440] {
                    let _ = nara_protocol::hours::open_at(&spans, weekday, minute);
                }
            }
        }
    }
}

/// A packet from a TURN client: the gate decides without panicking, and the TCP framer
/// reads its first four bytes.
pub fn turn_gate(data: &[u8]) {
    let gate = Gate::new(
        PeerPolicy::new(vec!["203.0.113.0/24".parse().expect("valid net")]),
        "fuzz-secret".into(),
        "nara".into(),
        AllocationQuota::new(4, 16),
        3600,
    );
    let client = "198.51.100.7:40000".parse().expect("valid address");
    let _ = gate.inspect(data, client, 1_790_000_000);
    gate.outgoing(data);
    if let Some(header) = data.first_chunk::<4>() {
        let _ = nara_broker::turn::tcp::frame_length(*header);
    }
}
