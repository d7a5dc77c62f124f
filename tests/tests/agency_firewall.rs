//! An officer inside an agency's network answers a citizen: the officer's Chromium runs in a
//! network namespace whose only way out is TCP to the agency's HTTP proxy (Debian's
//! tinyproxy, started here), configured as Chromium's proxy with no UDP around it. The desk
//! pages, the WebSocket and the media all go through the proxy: the media as TURN over TLS to
//! the broker's embedded TURN server, or to coturn, which relays to the real kiosk binary on
//! this side.
//!
//! Needs root, as CI and the development machines have.

use nara_tests::bench::process::free_port;
use nara_tests::coturn::{Coturn, CoturnTls};
use nara_tests::e2e::{enrol_kiosk_process_via, KioskProcess, OfficerBrowser, BROWSER_PATIENCE};
use nara_tests::harness::{admin, BrokerEndpoint, BrokerProcess, PATIENCE};
use nara_tests::netns::KioskNetwork;
use std::net::Ipv4Addr;
use std::process::Stdio;
use std::time::Duration;

#[path = "support/network_meeting.rs"]
mod network_meeting;

use network_meeting::*;

/// tinyproxy in the foreground, listening on `address`, letting the namespace's addresses
/// CONNECT to `address` on any port and to nowhere else: an agency's proxy lets its desktops
/// reach the broker, and Chromium's own calls home (this machine has no internet) end there.
struct Proxy {
    _dir: tempfile::TempDir,
    child: tokio::process::Child,
    port: u16,
}

impl Proxy {
    async fn start(address: Ipv4Addr) -> Proxy {
        let port = free_port().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let filter = dir.path().join("allowed-hosts");
        let only_address = format!("^{}$\n", address.to_string().replace('.', "\\."));
        std::fs::write(&filter, only_address).unwrap();
        // With no ConnectPort line, CONNECT goes to any port.
        let config = dir.path().join("tinyproxy.conf");
        std::fs::write(
            &config,
            format!(
                "Port {port}\nListen {address}\nTimeout 600\nMaxClients 64\n\
                 Allow 10.0.0.0/8\nLogLevel Info\nFilter \"{}\"\nFilterType ere\n\
                 FilterDefaultDeny Yes\n",
                filter.display()
            ),
        )
        .unwrap();
        let child = tokio::process::Command::new("tinyproxy")
            .arg("-d")
            .arg("-c")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("tinyproxy (Debian package tinyproxy; scripts/test-deps installs it)");
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while tokio::net::TcpStream::connect((address, port))
            .await
            .is_err()
        {
            assert!(
                tokio::time::Instant::now() < deadline,
                "tinyproxy never listened"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Proxy {
            _dir: dir,
            child,
            port,
        }
    }
}

/// Which TURN server the officer's browser reaches over TLS.
#[derive(Clone, Copy)]
enum TurnOverTls {
    /// The broker's own (`turn.embedded.tls_listen`).
    Embedded,
    /// coturn with the broker's certificate, as production may run it.
    Coturn,
}

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
    const SECRET: &str = "agency-firewall-test-secret";
    let mut network = KioskNetwork::create(IMPAIRED_LINK.as_ref()).unwrap();
    let near = network.near;
    let mut proxy = Proxy::start(near).await;
    network.only_tcp_to(Some(proxy.port)).unwrap();

    let data = tempfile::tempdir().unwrap();
    let (port, turn_port, tls_port) = (
        free_port().unwrap(),
        free_port().unwrap(),
        free_port().unwrap(),
    );
    let origin = format!("https://{near}:{port}");
    let mut env = vec![
        ("NARA_TLS__SELF_SIGNED_NAMES", format!("[\"{near}\"]")),
        ("NARA_ALLOWED_ORIGINS", format!("[\"{origin}\"]")),
        (
            "NARA_TURN__URLS",
            format!("[\"turns:{near}:{tls_port}?transport=tcp\"]"),
        ),
        ("NARA_TURN__SHARED_SECRET", SECRET.to_string()),
    ];
    match turn {
        TurnOverTls::Embedded => env.extend([
            ("NARA_TURN__EMBEDDED__LISTEN", format!("{near}:{turn_port}")),
            (
                "NARA_TURN__EMBEDDED__TLS_LISTEN",
                format!("{near}:{tls_port}"),
            ),
            (
                "NARA_TURN__EMBEDDED__ALLOWED_PEERS",
                "[\"10.0.0.0/8\", \"127.0.0.0/8\"]".to_string(),
            ),
        ]),
        TurnOverTls::Coturn => env.push(("NARA_TURN__EMBEDDED__ENABLED", "false".to_string())),
    }
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let broker = BrokerProcess::start_at(
        BROKER.as_ref(),
        &data.path().join("broker"),
        &env,
        None,
        format!("0.0.0.0:{port}").parse().unwrap(),
    )
    .await
    .unwrap();
    let _coturn = match turn {
        TurnOverTls::Embedded => None,
        TurnOverTls::Coturn => {
            let tls = CoturnTls {
                port: tls_port,
                cert: broker.cert_path(),
                key: broker.cert_path().with_file_name("server.key"),
            };
            Some(Coturn::start_on(near.into(), turn_port, SECRET, Some(&tls)).unwrap())
        }
    };

    // The citizen's kiosk is on this side, as in any municipal office.
    let admin = admin(&broker).await.unwrap();
    let kiosk_dir = data.path().join("kiosk");
    enrol_kiosk_process_via(
        KIOSK.as_ref(),
        &broker,
        &origin,
        &admin,
        "rinkeby",
        &kiosk_dir,
    )
    .await
    .unwrap();
    let kiosk = KioskProcess::start_in(KIOSK.as_ref(), &kiosk_dir, &[], None)
        .await
        .unwrap();
    kiosk.connected().await.unwrap();

    let proxy_url = format!("http://{near}:{}", proxy.port);
    let mut officer = OfficerBrowser::start_from(
        &origin,
        Some(&network),
        "anna.csn",
        &["--proxy", &proxy_url],
    )
    .await
    .unwrap();
    officer
        .expect("going available", BROWSER_PATIENCE, |e| {
            e["event"] == "available"
        })
        .await
        .unwrap();
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
    let _ = proxy.child.kill().await;
    drop(broker);
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
