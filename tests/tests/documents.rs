//! Documents, end to end with real processes: the broker, the kiosk binary scanning through
//! SANE's `test` backend, and officers in headless Chromium. The officer asks for a paper; the
//! citizen (through the kiosk's local API, as the touch screen would) scans two pages, sees
//! them, and sends them to that officer; the officer's browser has both pages whole with
//! matching SHA-256, and a second officer (of another agency) in the same meeting has nothing.

use nara_tests::e2e::{
    begin_call, end_call, enrol_kiosk_process, sane_test_backend, KioskProcess, OfficerBrowser,
    MEDIA_PATIENCE, SANE_A4_COLOUR, SCAN_PATIENCE,
};
use nara_tests::harness::{admin, get_json, BrokerProcess, PATIENCE};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::path::Path;

const BROKER: &str = env!("CARGO_BIN_EXE_broker-process");
const KIOSK: &str = env!("CARGO_BIN_EXE_kiosk-process");

/// Every file under `dir`, with its size.
fn files(dir: &Path) -> BTreeSet<(String, u64)> {
    let mut found = BTreeSet::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files(&path));
        } else {
            let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
            found.insert((path.display().to_string(), size));
        }
    }
    found
}

struct Stage {
    _data: tempfile::TempDir,
    _broker: BrokerProcess,
    kiosk: KioskProcess,
    officer: OfficerBrowser,
    kiosk_dir: std::path::PathBuf,
    kiosk_temp: tempfile::TempDir,
    admin: reqwest::Client,
}

/// A broker, an enrolled kiosk (its temporary directory its own, to be looked at after) and
/// an officer of CSN in a meeting with it.
async fn meeting() -> Stage {
    let data = tempfile::tempdir().unwrap();
    let broker = BrokerProcess::start(BROKER.as_ref(), &data.path().join("broker"))
        .await
        .unwrap();
    let admin = admin(&broker).await.unwrap();
    let kiosk_dir = data.path().join("kiosk");
    enrol_kiosk_process(KIOSK.as_ref(), &broker, &admin, "rinkeby", &kiosk_dir)
        .await
        .unwrap();
    // Made before the kiosk's temporary directory is set, so that it is not in it.
    if std::env::var_os("SANE_CONFIG_DIR").is_none() {
        std::env::set_var(
            "SANE_CONFIG_DIR",
            sane_test_backend(SANE_A4_COLOUR).unwrap(),
        );
    }
    let kiosk_temp = tempfile::tempdir().unwrap();
    std::env::set_var("TMPDIR", kiosk_temp.path());
    let kiosk = KioskProcess::start(KIOSK.as_ref(), &kiosk_dir, &[])
        .await
        .unwrap();
    std::env::remove_var("TMPDIR");
    kiosk.connected().await.unwrap();
    let mut officer = OfficerBrowser::start_available(&broker, "anna.csn", &[])
        .await
        .unwrap();
    begin_call(&kiosk, &mut officer).await.unwrap();
    officer
        .expect("the data channel", MEDIA_PATIENCE, |e| {
            e["event"] == "channelOpen"
        })
        .await
        .unwrap_or_else(|e| panic!("{e:#}\nkiosk log:\n{}", kiosk.log()));
    // The kiosk's end of the channel too: what it tells the desk goes over it.
    kiosk
        .wait_for("the kiosk's channel", PATIENCE, |s| {
            s["peers"][0]["channelOpen"] == true
        })
        .await
        .unwrap();
    Stage {
        _data: data,
        _broker: broker,
        kiosk,
        officer,
        kiosk_dir,
        kiosk_temp,
        admin,
    }
}

/// Scans a page through the local API and waits until the kiosk shows it.
async fn scan_page(kiosk: &KioskProcess, pages_after: usize) -> Value {
    let (status, body) = kiosk.post("/document/scan", json!({})).await.unwrap();
    assert_eq!(status, 204, "{body}");
    kiosk
        .wait_for("the scanned page", SCAN_PATIENCE, |s| {
            s["document"]["scanning"] == false
                && (s["document"]["pages"].as_array().map(Vec::len) == Some(pages_after)
                    || s["document"]["problem"].is_string())
        })
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_officer_asked_for_receives_two_pages_and_a_second_officer_none() {
    let Stage {
        _data,
        _broker,
        kiosk,
        mut officer,
        kiosk_dir,
        kiosk_temp,
        admin,
    } = meeting().await;
    let kiosk_files_before = files(&kiosk_dir);
    let broker = &_broker;
    let mut colleague = OfficerBrowser::start_available(broker, "maria.skatteverket", &[])
        .await
        .unwrap();
    officer.command("inviteOfficer skatteverket").await.unwrap();
    colleague
        .expect(
            "the colleague's channel to the kiosk",
            MEDIA_PATIENCE,
            |e| e["event"] == "channelOpen" && e["from"] == "kiosk",
        )
        .await
        .unwrap();
    kiosk
        .wait_for("both desks' channels", PATIENCE, |s| {
            let peers = s["peers"].as_array().cloned().unwrap_or_default();
            peers.len() == 2 && peers.iter().all(|p| p["channelOpen"] == true)
        })
        .await
        .unwrap();

    // The officer asks; the kiosk prompts the citizen.
    officer.command("askDocument").await.unwrap();
    kiosk
        .wait_for("the officer's request", PATIENCE, |s| {
            s["documentRequestedBy"] == "anna-csn"
        })
        .await
        .unwrap();

    // Two pages, each shown to the citizen before anything is sent.
    let one = scan_page(&kiosk, 1).await;
    for desk in [&mut officer, &mut colleague] {
        desk.expect("the scanner's state", PATIENCE, |e| {
            e["event"] == "scannerState" && e["pages"] == 1
        })
        .await
        .unwrap();
    }
    assert_eq!(one["document"]["problem"], Value::Null, "{one}");
    let page = &one["document"]["pages"][0];
    assert!(page["widthPx"].as_u64().unwrap() > 2400, "{page}");
    let two = scan_page(&kiosk, 2).await;
    assert_eq!(two["document"]["problem"], Value::Null, "{two}");
    let mut hashes = Vec::new();
    let mut page_bytes = 0;
    for index in 0..2 {
        let (status, jpeg) = kiosk
            .get_bytes(&format!("/document/pages/{index}"))
            .await
            .unwrap();
        assert_eq!(status, 200);
        assert_eq!(&jpeg[..3], &[0xff, 0xd8, 0xff], "a JPEG");
        hashes.push(format!("{:x}", Sha256::digest(&jpeg)));
        page_bytes += jpeg.len() as u64;
    }
    assert!(
        !officer.seen.iter().any(|e| e["event"] == "documentOffered"),
        "nothing leaves before the citizen presses send"
    );

    // Two desks in the meeting: the citizen must say who receives it.
    let (status, body) = kiosk.post("/document/send", json!({})).await.unwrap();
    assert_eq!(status, 409, "{body}");
    assert!(body.to_string().contains("choose"), "{body}");
    let (status, body) = kiosk
        .post("/document/send", json!({ "to": "anna-csn" }))
        .await
        .unwrap();
    assert_eq!(status, 204, "{body}");

    let complete = officer
        .expect("the whole document", MEDIA_PATIENCE, |e| {
            e["event"] == "documentComplete" || e["event"] == "documentFailed"
        })
        .await
        .unwrap();
    assert_eq!(complete["event"], "documentComplete", "{complete}");
    assert_eq!(complete["pages"], 2, "{complete}");
    let received: Vec<&Value> = officer
        .seen
        .iter()
        .filter(|e| e["event"] == "page")
        .collect();
    assert_eq!(received.len(), 2, "{received:?}");
    for (page, hash) in received.iter().zip(&hashes) {
        assert_eq!(page["sha256"].as_str(), Some(hash.as_str()), "{page}");
    }

    // The kiosk hears every page confirmed, forgets them, and tells the citizen it arrived.
    let delivered = kiosk
        .wait_for("the delivery", PATIENCE, |s| {
            s["document"]["deliveredTo"] == "anna-csn"
        })
        .await
        .unwrap();
    assert_eq!(delivered["document"]["pages"], json!([]), "{delivered}");
    let (status, _) = kiosk.get_bytes("/document/pages/0").await.unwrap();
    assert_eq!(status, 404, "the pages are gone from the kiosk");

    // The colleague in the same meeting got nothing of it.
    let leaked: Vec<&Value> = colleague
        .seen
        .iter()
        .filter(|e| {
            ["documentOffered", "page", "badFrame", "documentComplete"]
                .contains(&e["event"].as_str().unwrap_or(""))
        })
        .collect();
    assert!(leaked.is_empty(), "the colleague saw {leaked:?}");

    end_call(&kiosk, &mut officer, std::iter::once(&mut colleague))
        .await
        .unwrap();
    let after = kiosk.status().await.unwrap();
    assert_eq!(after["document"]["pages"], json!([]), "{after}");
    assert_eq!(after["document"]["deliveredTo"], Value::Null, "{after}");

    // The broker counted the document for the statistics: pages and bytes, never content.
    let stats = get_json(&admin, broker, "/api/statistics?groupBy=agency")
        .await
        .unwrap();
    let csn = stats
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["group"] == "csn"))
        .unwrap_or_else(|| panic!("{stats}"));
    assert_eq!(csn["documents"], 2, "{csn}");
    assert_eq!(csn["documentBytes"].as_u64(), Some(page_bytes), "{csn}");

    // Nothing of the visit was written: the data directory is as it was, the temp dir empty.
    assert_eq!(files(&kiosk_dir), kiosk_files_before);
    assert_eq!(files(kiosk_temp.path()), BTreeSet::new());
    officer.close().await.unwrap();
    colleague.close().await.unwrap();
    let exit = kiosk.stop().await.unwrap();
    assert!(exit.success(), "the kiosk did not stop cleanly: {exit}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_scanner_the_citizen_and_the_self_test_are_told() {
    // SANE without any backend: no scanner at all.
    let empty = tempfile::tempdir().unwrap();
    std::fs::write(empty.path().join("dll.conf"), "").unwrap();
    std::env::set_var("SANE_CONFIG_DIR", empty.path());
    let stage = meeting().await;
    let (kiosk, officer) = (&stage.kiosk, stage.officer);
    let scanned = scan_page(kiosk, 1).await;
    assert_eq!(
        scanned["document"]["problem"], "no scanner is connected",
        "{scanned}"
    );
    assert_eq!(scanned["document"]["pages"], json!([]));
    let (status, body) = kiosk.post("/document/send", json!({})).await.unwrap();
    assert_eq!(status, 409, "{body}");
    assert!(body.to_string().contains("no page"), "{body}");

    let (status, report) = kiosk.post("/self-test", json!({})).await.unwrap();
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["scanner"]["state"], "missing", "{report}");
    assert_eq!(report["passed"], false, "{report}");
    let details = report["details"].to_string();
    assert!(details.contains("scanner: no scanner"), "{details}");
    officer.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_scan_can_be_cancelled_and_only_one_runs_at_a_time() {
    // Each buffer of the scan takes 100 ms, so there is time to cancel.
    let slow = format!(
        "{SANE_A4_COLOUR}read-limit true\nread-limit-size 65536\nread-delay true\nread-delay-duration 100000\n"
    );
    std::env::set_var("SANE_CONFIG_DIR", sane_test_backend(&slow).unwrap());
    let stage = meeting().await;
    let (kiosk, officer) = (&stage.kiosk, stage.officer);
    let (status, body) = kiosk.post("/document/scan", json!({})).await.unwrap();
    assert_eq!(status, 204, "{body}");
    kiosk
        .wait_for("the scan under way", PATIENCE, |s| {
            s["document"]["scanning"] == true
        })
        .await
        .unwrap();
    let (status, body) = kiosk.post("/document/scan", json!({})).await.unwrap();
    assert_eq!(status, 409, "one scan at a time: {body}");
    let (status, body) = kiosk.post("/document/cancel", json!({})).await.unwrap();
    assert_eq!(status, 204, "{body}");
    let cancelled = kiosk
        .wait_for("the scan stopped", SCAN_PATIENCE, |s| {
            s["document"]["scanning"] == false
        })
        .await
        .unwrap();
    assert_eq!(cancelled["document"]["pages"], json!([]), "{cancelled}");
    assert_eq!(cancelled["document"]["problem"], Value::Null, "{cancelled}");
    officer.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paper_jam_is_told_to_the_citizen_and_the_officer() {
    let jammed = format!("{SANE_A4_COLOUR}read-status-code \"SANE_STATUS_JAMMED\"\n");
    std::env::set_var("SANE_CONFIG_DIR", sane_test_backend(&jammed).unwrap());
    let stage = meeting().await;
    let (kiosk, officer) = (&stage.kiosk, stage.officer);
    let scanned = scan_page(kiosk, 1).await;
    assert_eq!(scanned["document"]["problem"], "paper jam", "{scanned}");
    assert_eq!(scanned["document"]["pages"], json!([]), "{scanned}");
    // The officer is told too, so that they know why no paper comes.
    let mut officer = officer;
    let told = officer
        .expect("the scanner's state", PATIENCE, |e| {
            e["event"] == "scannerState" && e["problem"].is_string()
        })
        .await
        .unwrap();
    assert_eq!(told["problem"], "paper jam", "{told}");
    assert_eq!(told["pages"], 0, "{told}");
    officer.close().await.unwrap();
}
