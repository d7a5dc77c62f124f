//! A kiosk behind a firewall that lets no UDP through still calls, the kiosk binary in a
//! network namespace of its own with the broker and an officer in headless Chromium on this
//! side: through the embedded TURN server over TCP and over TLS, and through coturn over TLS.
//!
//! Needs root, as CI and the development machines have.

use nara_tests::bench::process::free_port;
use nara_tests::coturn::{Coturn, CoturnTls};
use nara_tests::harness::BrokerEndpoint;
use nara_tests::netns::KioskNetwork;

#[path = "support/network_meeting.rs"]
mod network_meeting;

use network_meeting::*;

/// Many offices let nothing out but TCP. The broker's embedded TURN server, on this side of the
/// link, hands out its UDP and TCP addresses; with UDP blocked, the kiosk reaches its relay over
/// TCP and the officer's browser sends to that relay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kiosk_behind_a_firewall_that_passes_only_tcp_calls_through_turn_over_tcp() {
    let mut network = KioskNetwork::create(IMPAIRED_LINK.as_ref()).unwrap();
    network.block_udp(true).unwrap();
    let listen = format!("{}:0", network.near);
    let env = [("NARA_TURN__EMBEDDED__LISTEN", listen.as_str())];
    meets_through_the_embedded_turn(&network, &env).await;
}

/// With `env` for the embedded TURN server, the kiosk meets an officer whose browser sends to
/// the relay on this side (on this side's private address, which the relay is let reach).
async fn meets_through_the_embedded_turn(network: &KioskNetwork, env: &[(&str, &str)]) {
    let mut env = env.to_vec();
    env.push(("NARA_TURN__EMBEDDED__ALLOWED_PEERS", "[\"10.0.0.0/8\"]"));
    let (data, broker) = broker_for(network, &env).await;
    let meeting = meeting_through(network, data, broker).await;
    assert_relayed(&meeting.officer_saw, network);
    assert_eq!(meeting.in_call["visit"]["phase"], "inCall");
    end(meeting.kiosk, meeting.officer).await;
}

/// The same firewall, with coturn as production runs it, offering TURN over UDP and over TLS
/// (sharing the broker's certificate, which the kiosk trusts since its enrolment): the kiosk
/// relays through TLS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kiosk_behind_a_firewall_that_passes_only_tcp_calls_through_coturn_over_tls() {
    const SECRET: &str = "coturn-tls-test-secret";
    let mut network = KioskNetwork::create(IMPAIRED_LINK.as_ref()).unwrap();
    network.block_udp(true).unwrap();
    let port = free_port().unwrap();
    let tls_port = free_port().unwrap();
    let urls = format!(
        "[\"turn:{near}:{port}?transport=udp\", \"turns:{near}:{tls_port}?transport=tcp\"]",
        near = network.near
    );
    let (data, broker) = broker_for(
        &network,
        &[
            ("NARA_TURN__URLS", &urls),
            ("NARA_TURN__SHARED_SECRET", SECRET),
            ("NARA_TURN__EMBEDDED__ENABLED", "false"),
        ],
    )
    .await;
    let tls = CoturnTls {
        port: tls_port,
        cert: broker.cert_path(),
        key: broker.cert_path().with_file_name("server.key"),
    };
    let _coturn = Coturn::start_on(network.near.into(), port, SECRET, Some(&tls)).unwrap();
    let meeting = meeting_through(&network, data, broker).await;
    assert_relayed(&meeting.officer_saw, &network);
    end(meeting.kiosk, meeting.officer).await;
}

/// The same firewall with the broker's own TURN server speaking TLS too
/// (`turn.embedded.tls_listen`, the broker's certificate), handed out as UDP and `turns:`
/// only: the kiosk relays through TLS, as an officer's browser behind an agency firewall
/// would.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kiosk_behind_a_firewall_that_passes_only_tcp_calls_through_the_embedded_turn_over_tls() {
    let mut network = KioskNetwork::create(IMPAIRED_LINK.as_ref()).unwrap();
    network.block_udp(true).unwrap();
    let near = network.near;
    let (port, tls_port) = (free_port().unwrap(), free_port().unwrap());
    let urls = format!(
        "[\"turn:{near}:{port}?transport=udp\", \"turns:{near}:{tls_port}?transport=tcp\"]"
    );
    let (listen, tls_listen) = (format!("{near}:{port}"), format!("{near}:{tls_port}"));
    let env = [
        ("NARA_TURN__URLS", urls.as_str()),
        ("NARA_TURN__EMBEDDED__LISTEN", &listen),
        ("NARA_TURN__EMBEDDED__TLS_LISTEN", &tls_listen),
    ];
    meets_through_the_embedded_turn(&network, &env).await;
}
