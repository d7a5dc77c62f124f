//! Golden JSON: every message's wire form is pinned in `tests/golden/*.jsonl`, one per line.
//! A change to the wire form fails here; if it is intended, regenerate with `NARA_BLESS=1`
//! and bump `PROTOCOL_VERSION` when old peers would break.

#[path = "common/samples.rs"]
mod samples;

use nara_protocol::{decode, encode};
use serde::{de::DeserializeOwned, Serialize};
use std::collections::BTreeSet;
use std::fmt::Debug;
use std::path::PathBuf;

fn check<T: Serialize + DeserializeOwned + PartialEq + Debug>(file: &str, messages: Vec<T>) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(file);
    let encoded: Vec<String> = messages.iter().map(encode).collect();
    let types: BTreeSet<String> = encoded
        .iter()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap()["type"].to_string())
        .collect();
    assert_eq!(
        types.len(),
        messages.len(),
        "{file}: each sample must be a different message type"
    );
    let text = encoded.join("\n") + "\n";
    if std::env::var_os("NARA_BLESS").is_some() {
        std::fs::write(&path, &text).unwrap();
    }
    let golden = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        golden, text,
        "{file} differs from the wire form; NARA_BLESS=1 rewrites it"
    );
    for (line, original) in golden.lines().zip(&messages) {
        let decoded: T = decode(line).unwrap_or_else(|e| panic!("{file}: {line}: {e}"));
        assert_eq!(&decoded, original);
    }
}

#[test]
fn kiosk_to_broker_golden() {
    check("kiosk_to_broker.jsonl", samples::kiosk_to_broker());
}

#[test]
fn broker_to_kiosk_golden() {
    check("broker_to_kiosk.jsonl", samples::broker_to_kiosk());
}

#[test]
fn desk_to_broker_golden() {
    check("desk_to_broker.jsonl", samples::desk_to_broker());
}

#[test]
fn broker_to_desk_golden() {
    check("broker_to_desk.jsonl", samples::broker_to_desk());
}
