//! An officer inside an agency's network answers a citizen: the officer's Chromium runs in a
//! network namespace whose only way out is TCP to the agency's HTTP proxy
//! ([`nara_tests::agency`]). The desk pages, the WebSocket and the media all go through the
//! proxy: the media as TURN over TLS to the broker's embedded TURN server, or to coturn, which
//! relays to the real kiosk binary on this side.
//!
//! Needs root, as CI and the development machines have.

use nara_tests::agency::{AgencyOffice, TurnOverTls};
use nara_tests::harness::PATIENCE;
use std::time::Duration;

#[path = "support/network_meeting.rs"]
mod network_meeting;

use network_meeting::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_officer_whose_only_way_out_is_the_agency_proxy_meets_the_citizen_through_the_embedded_turn_over_tls(
) {
    officer_behind_the_agency_proxy_meets_the_citizen(TurnOverTls::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_officer_whose_only_way_out_is_the_agency_proxy_meets_the_citizen_through_coturn_over_tls(
) {
    officer_behind_the_agency_proxy_meets_the_citizen(TurnOverTls::Coturn).await;
}

async fn officer_behind_the_agency_proxy_meets_the_citizen(turn: TurnOverTls) {
    let office = AgencyOffice::start(BROKER.as_ref(), IMPAIRED_LINK.as_ref(), turn, &[])
        .await
        .unwrap();
    // The citizen's kiosk is on this side, as in any municipal office.
    let kiosk = office.kiosk(KIOSK.as_ref(), &[]).await.unwrap();
    let mut officer = office.officer("anna.csn", &[]).await.unwrap();
    let (officer_saw, in_call) =
        visit_answered(&kiosk, &mut officer, MEDIA_PATIENCE_BEHIND_PROXY).await;
    // The officer's browser relays through TURN over TLS: the only way its proxy lets out.
    assert_eq!(officer_saw["candidateType"], "relay", "{officer_saw}");
    assert_eq!(officer_saw["relayProtocol"], "tls", "{officer_saw}");
    // And each hears the other.
    officer
        .expect("the kiosk's voice", PATIENCE, |e| {
            e["event"] == "stats" && e["audioBytes"].as_u64().unwrap_or(0) > 0
        })
        .await
        .unwrap();
    kiosk
        .wait_for("the officer's voice", PATIENCE, |s| kiosk_decoded(s).1 > 0)
        .await
        .unwrap();
    assert_eq!(in_call["visit"]["phase"], "inCall");
    end(kiosk, officer).await;
    office.stop().await;
}

/// deploy/'s haproxy configuration for one 443 shared by the pages and TURN over TLS is one
/// haproxy accepts.
#[test]
fn the_haproxy_configuration_for_a_shared_443_is_valid() {
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/haproxy-443.cfg");
    let output = std::process::Command::new("haproxy")
        .args(["-c", "-f", config])
        .output()
        .expect("haproxy (Debian package haproxy; scripts/test-deps installs it)");
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Media through a proxy, TLS and a relay starts a little later than on a plain path.
const MEDIA_PATIENCE_BEHIND_PROXY: Duration = Duration::from_secs(30);
