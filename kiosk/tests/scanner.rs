//! The scanner through the real SANE library and its `test` backend (Debian's `libsane1`), as
//! CI has no scanner: a page, the scanner's troubles as SANE reports them, and a cancelled
//! scan. Each test runs in a process of its own (nextest), so `SANE_CONFIG_DIR` is its own; the
//! kiosk's scanner helper inherits it.

use nara_kiosk::scanner::{SaneError, Scanner, ScannerConfig};
use nara_protocol::DeviceState;
use std::collections::BTreeMap;

/// SANE's configuration with the `test` backend only, its bed large enough for A4.
fn test_backend() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("dll.conf"), "test\n").unwrap();
    std::fs::write(
        dir.path().join("test.conf"),
        "number_of_devices 1\ngeometry_min 0.0\ngeometry_max 300.0\ngeometry_quant 1.0\n",
    )
    .unwrap();
    std::env::set_var("SANE_CONFIG_DIR", dir.path());
    dir
}

/// SANE runs in the kiosk's helper process, as in the field.
fn start(config: ScannerConfig) -> Scanner {
    Scanner::start(config, env!("CARGO_BIN_EXE_kiosk").into())
}

fn config(options: &[(&str, &str)]) -> ScannerConfig {
    let mut all: BTreeMap<String, String> = [("br-x", "210"), ("br-y", "297")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    all.extend(options.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    ScannerConfig {
        device: "auto".into(),
        options: all,
        ..ScannerConfig::default()
    }
}

#[tokio::test]
async fn an_a4_page_in_colour_at_300_dpi() {
    let _sane = test_backend();
    let scanner = start(config(&[("test-picture", "Color pattern")]));
    assert_eq!(scanner.probe().await.unwrap(), "test:0");
    let page = scanner.scan().await.unwrap();
    // A4 is 210 × 297 mm: 2480 × 3507 whole dots at 300 dpi; the edges of the test picture
    // that match its corner may be cut as bed.
    assert!(
        (2470..=2480).contains(&page.width) && (3497..=3507).contains(&page.height),
        "{page:?}"
    );
    assert_eq!(&page.jpeg[..3], &[0xff, 0xd8, 0xff]);
    // The test pattern is colour edges all over, the hardest kind of page to compress; it
    // still has to cross a 20 Mbit/s link in about a second.
    assert!(
        page.jpeg.len() < 2_600_000,
        "{} bytes would take too long on a slow link",
        page.jpeg.len()
    );
    assert_eq!(scanner.state(), DeviceState::Ok);
}

#[tokio::test]
async fn an_empty_bed_is_sent_whole_so_the_citizen_sees_nothing_was_on_it() {
    let _sane = test_backend();
    let scanner = start(config(&[("test-picture", "Solid white")]));
    let page = scanner.scan().await.unwrap();
    assert_eq!((page.width, page.height), (2480, 3507), "{page:?}");
}

#[tokio::test]
async fn troubles_at_the_scanner_are_named() {
    let _sane = test_backend();
    for (status, expected, detail) in [
        ("SANE_STATUS_JAMMED", SaneError::Jammed, "paper jam"),
        (
            "SANE_STATUS_COVER_OPEN",
            SaneError::CoverOpen,
            "cover is open",
        ),
        ("SANE_STATUS_NO_DOCS", SaneError::NoPaper, "no paper"),
        ("SANE_STATUS_DEVICE_BUSY", SaneError::Busy, "busy"),
    ] {
        let scanner = start(config(&[("read-return-value", status)]));
        assert_eq!(scanner.scan().await.unwrap_err(), expected, "{status}");
        match scanner.state() {
            DeviceState::Failing { detail: said } => {
                assert!(said.as_str().contains(detail), "{status}: {said:?}")
            }
            other => panic!("{status}: the health report says {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_scan_can_be_cancelled() {
    let _sane = test_backend();
    // 200 ms a buffer: the scan takes long enough to be stopped halfway.
    let scanner = start(config(&[
        ("read-limit", "yes"),
        ("read-limit-size", "65536"),
        ("read-delay", "yes"),
        ("read-delay-duration", "200000"),
    ]));
    let scanning = scanner.scan();
    tokio::pin!(scanning);
    tokio::select! {
        result = &mut scanning => panic!("the scan ended by itself: {result:?}"),
        _ = tokio::time::sleep(std::time::Duration::from_millis(500)) => scanner.cancel(),
    }
    assert_eq!(scanning.await.unwrap_err(), SaneError::Cancelled);
    assert_eq!(
        scanner.state(),
        DeviceState::Ok,
        "cancelling is not a fault"
    );
}

#[tokio::test]
async fn no_scanner_is_missing_and_a_wrong_option_is_named() {
    let _sane = test_backend();
    let none = start(ScannerConfig {
        device: "none".into(),
        ..ScannerConfig::default()
    });
    assert_eq!(none.scan().await.unwrap_err(), SaneError::NoScanner);
    assert_eq!(none.state(), DeviceState::Missing);

    let unplugged = start(ScannerConfig {
        device: "test:7".into(),
        ..ScannerConfig::default()
    });
    assert_eq!(unplugged.probe().await.unwrap_err(), SaneError::NoScanner);
    assert_eq!(unplugged.state(), DeviceState::Missing);

    let misspelt = start(config(&[("test-pictur", "Grid")]));
    let error = misspelt.scan().await.unwrap_err();
    assert_eq!(error, SaneError::NoSuchOption("test-pictur".into()));
}

#[tokio::test]
async fn a_scanner_unplugged_between_visits_is_reported_missing() {
    let _sane = test_backend();
    let scanner = std::sync::Arc::new(start(config(&[])));
    scanner.refresh().expect("idle").await.unwrap();
    assert_eq!(scanner.state(), DeviceState::Ok);

    // SANE finds nothing any more (the helper reads its configuration anew each time).
    let unplugged = tempfile::tempdir().unwrap();
    std::fs::write(unplugged.path().join("dll.conf"), "").unwrap();
    std::env::set_var("SANE_CONFIG_DIR", unplugged.path());
    scanner.refresh().expect("idle").await.unwrap();
    assert_eq!(scanner.state(), DeviceState::Missing);
}

/// A stand-in helper (named as such: a shell script) that answers and then hangs, as a SANE
/// backend stuck in its cleanup after an error did once in CI: the kiosk has its answer and
/// kills the helper after a grace period (5 s), rather than waiting for it. Before the fix
/// this test hung.
#[tokio::test]
async fn a_helper_stuck_after_answering_does_not_keep_the_kiosk_waiting() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let helper = dir.path().join("stuck-helper");
    std::fs::write(
        &helper,
        "#!/bin/sh\necho '{\"reply\":\"found\",\"device\":\"test:0\"}'\nexec sleep 600\n",
    )
    .unwrap();
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let scanner = Scanner::start(ScannerConfig::default(), helper);
    assert_eq!(scanner.probe().await.unwrap(), "test:0");
    assert_eq!(scanner.state(), DeviceState::Ok);
}
