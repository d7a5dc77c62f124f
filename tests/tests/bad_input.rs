//! Bad input over the wire: each case ends in an error that says what was wrong, and the
//! broker goes on serving everyone else.

use nara_protocol::desk::{BrokerToDesk, DeskToBroker};
use nara_protocol::kiosk::{BrokerToKiosk, KioskToBroker};
use nara_protocol::{ErrorCode, ShortText};
use nara_tests::harness::BrokerEndpoint;
use nara_tests::harness::{
    admin, desk, desk_socket, enrol_kiosk, http, kiosk, login, tls_client, websocket, Desk, Kiosk,
    TestBroker,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A desk that asks for its queues gets them: the connection (and the broker) still works.
async fn desk_is_served(desk: &mut Desk) {
    desk.send(&DeskToBroker::RefreshQueues).await.unwrap();
    desk.expect("queues", |m| {
        matches!(m, BrokerToDesk::Queues { .. }).then_some(())
    })
    .await
    .unwrap();
}

async fn broker_serves_others(broker: &TestBroker) {
    let mut other = desk(broker, "maria.skatteverket").await.unwrap();
    desk_is_served(&mut other).await;
}

#[tokio::test]
async fn malformed_unknown_and_invalid_messages_get_errors_and_the_connection_stays() {
    let broker = TestBroker::start(30_000).await.unwrap();
    let mut anna = desk(&broker, "anna.csn").await.unwrap();

    let cases = [
        ("{not json", ErrorCode::Malformed, "JSON"),
        (
            r#"{"type":"launchMissiles"}"#,
            ErrorCode::UnknownType,
            "launchMissiles",
        ),
        (
            r#"{"type":"setStatus","status":"asleep"}"#,
            ErrorCode::Invalid,
            "asleep",
        ),
        (
            r#"{"type":"acceptOffer","offer":"../../etc"}"#,
            ErrorCode::Invalid,
            "offer",
        ),
        ("[1, 2]", ErrorCode::Malformed, "JSON object"),
        (
            &format!(
                r#"{{"type":"refreshQueues","x":{}1{}}}"#,
                "[".repeat(200),
                "]".repeat(200)
            ),
            ErrorCode::Malformed,
            "recursion limit",
        ),
    ];
    for (text, code, mentions) in cases {
        anna.send_text(text).await.unwrap();
        let error = anna.error().await.unwrap();
        assert_eq!(error.code, code, "{text:.60}: {error:?}");
        assert!(!error.fatal, "{error:?}");
        assert!(error.message.contains(mentions), "{text:.60}: {error:?}");
    }
    anna.send(&DeskToBroker::Hello {
        protocol_version: nara_protocol::PROTOCOL_VERSION,
    })
    .await
    .unwrap();
    assert_eq!(anna.error().await.unwrap().code, ErrorCode::Invalid);
    desk_is_served(&mut anna).await;

    // A kiosk is answered the same way.
    let admin = admin(&broker).await.unwrap();
    let identity = enrol_kiosk(&broker, &admin, "rinkeby").await.unwrap();
    let mut entrance = kiosk(broker.addr(), &broker.cert_path(), &identity, None)
        .await
        .unwrap();
    entrance.send_text("{\"type\":").await.unwrap();
    let error = entrance.error().await.unwrap();
    assert_eq!(error.code, ErrorCode::Malformed);
    assert!(!error.fatal);
    entrance.start_visit("nowhere", "sv").await.unwrap();
    let error = entrance.error().await.unwrap();
    assert_eq!(error.code, ErrorCode::AgencyUnknown, "{error:?}");
    broker.broker.shutdown().await;
}

#[tokio::test]
async fn oversized_messages_are_refused_and_huge_frames_cut_off() {
    let broker = TestBroker::start(30_000).await.unwrap();
    let mut anna = desk(&broker, "anna.csn").await.unwrap();
    let padded =
        |bytes: usize| format!(r#"{{"type":"refreshQueues","x":"{}"}}"#, "x".repeat(bytes));

    anna.send_text(&padded(60 * 1024)).await.unwrap();
    let error = anna.error().await.unwrap();
    assert_eq!(error.code, ErrorCode::TooLarge);
    assert!(error.message.contains("bytes"), "{error:?}");
    assert!(!error.fatal);
    desk_is_served(&mut anna).await;

    // Past the frame limit the WebSocket layer closes the connection outright.
    anna.send_text(&padded(300 * 1024)).await.unwrap();
    assert!(
        anna.closed().await,
        "a 300 KiB frame must close the connection"
    );
    broker_serves_others(&broker).await;
    broker.broker.shutdown().await;
}

#[tokio::test]
async fn wrong_protocol_version_is_refused_with_what_to_do() {
    let broker = TestBroker::start(30_000).await.unwrap();
    let mut page = desk_socket(&broker, "anna.csn").await.unwrap();
    page.send_text(r#"{"type":"hello","protocolVersion":99}"#)
        .await
        .unwrap();
    let error = page.error().await.unwrap();
    assert_eq!(error.code, ErrorCode::VersionMismatch);
    assert!(error.fatal);
    assert!(error.message.contains("reload the page"), "{error:?}");
    assert!(page.closed().await);

    let mut page = desk_socket(&broker, "anna.csn").await.unwrap();
    page.send(&DeskToBroker::RefreshQueues).await.unwrap();
    let error = page.error().await.unwrap();
    assert!(error.fatal && error.message.contains("hello"), "{error:?}");

    let admin = admin(&broker).await.unwrap();
    let identity = enrol_kiosk(&broker, &admin, "norsjo").await.unwrap();
    let socket = websocket(
        broker.addr(),
        "/ws/kiosk",
        identity.tls(&broker.cert_path()).unwrap(),
        &[],
    )
    .await
    .unwrap();
    let mut old_kiosk = Kiosk::new(socket);
    old_kiosk
        .send(&KioskToBroker::Hello {
            protocol_version: 0,
            software_version: ShortText::new("0.0.1").unwrap(),
            resume_visit: None,
        })
        .await
        .unwrap();
    let error = old_kiosk.error().await.unwrap();
    assert_eq!(error.code, ErrorCode::VersionMismatch);
    assert!(error.message.contains("update the kiosk"), "{error:?}");
    assert!(old_kiosk.closed().await);
    broker_serves_others(&broker).await;
    broker.broker.shutdown().await;
}

#[tokio::test]
async fn a_flood_is_slowed_then_cut_off_without_hurting_others() {
    let broker = TestBroker::start_with(30_000, |config| {
        config.limits.messages_per_second = 5;
        config.limits.message_burst = 10;
    })
    .await
    .unwrap();
    let mut flooder = desk(&broker, "anna.csn").await.unwrap();
    let mut neighbour = desk(&broker, "omar.csn").await.unwrap();
    for _ in 0..200 {
        if flooder.send(&DeskToBroker::RefreshQueues).await.is_err() {
            break;
        }
    }
    let slowed = flooder.error().await.unwrap();
    assert_eq!(slowed.code, ErrorCode::RateLimited);
    assert!(
        !slowed.fatal && slowed.message.contains("slow down"),
        "{slowed:?}"
    );
    let cut = flooder
        .expect("the final error", |m| match m {
            BrokerToDesk::Error(e) if e.fatal => Some(e.clone()),
            _ => None,
        })
        .await
        .unwrap();
    assert_eq!(cut.code, ErrorCode::RateLimited);
    assert!(cut.message.contains("disconnected"), "{cut:?}");
    assert!(flooder.closed().await);
    desk_is_served(&mut neighbour).await;
    broker.broker.shutdown().await;
}

#[tokio::test]
async fn a_desk_socket_from_another_origin_or_without_a_session_is_refused() {
    let broker = TestBroker::start(30_000).await.unwrap();
    let client = http(&broker.cert_path()).unwrap();
    let cookie = login(&client, broker.addr(), "anna.csn").await.unwrap();
    let tls = || tls_client(&broker.cert_path(), None).unwrap();

    let (status, body) = websocket(
        broker.addr(),
        "/ws/desk",
        tls(),
        &[
            ("cookie", cookie.clone()),
            ("origin", "https://evil.example".into()),
        ],
    )
    .await
    .expect_err("a foreign origin must be refused");
    assert_eq!(status, 403);
    assert!(
        body.contains("evil.example") && body.contains("not allowed"),
        "{body}"
    );

    let origin = format!("https://localhost:{}", broker.addr().port());
    let (status, body) = websocket(broker.addr(), "/ws/desk", tls(), &[("origin", origin)])
        .await
        .expect_err("no session must be refused");
    assert_eq!(status, 401);
    assert!(body.contains("log in"), "{body}");
    broker_serves_others(&broker).await;
    broker.broker.shutdown().await;
}

#[tokio::test]
async fn kiosks_without_a_valid_certificate_are_refused_and_revocation_cuts_off_at_once() {
    let broker = TestBroker::start(30_000).await.unwrap();
    let admin = admin(&broker).await.unwrap();
    let base = format!("https://localhost:{}", broker.addr().port());

    let (status, body) = websocket(
        broker.addr(),
        "/ws/kiosk",
        tls_client(&broker.cert_path(), None).unwrap(),
        &[],
    )
    .await
    .expect_err("a kiosk without a certificate must be refused");
    assert_eq!(status, 401);
    assert!(body.contains("client certificate"), "{body}");

    // A certificate the broker did not issue fails the TLS handshake.
    let stranger = rcgen::KeyPair::generate().unwrap();
    let self_signed = rcgen::CertificateParams::new(vec!["kiosk".to_string()])
        .unwrap()
        .self_signed(&stranger)
        .unwrap();
    let key = rustls_pemfile::private_key(&mut stranger.serialize_pem().as_bytes())
        .unwrap()
        .unwrap();
    let tls = tls_client(
        &broker.cert_path(),
        Some((vec![self_signed.der().clone()], key)),
    )
    .unwrap();
    let (status, reason) = websocket(broker.addr(), "/ws/kiosk", tls, &[])
        .await
        .expect_err("a foreign certificate must be refused");
    assert_eq!(status, 0, "refused before HTTP: {reason}");

    let revoked = enrol_kiosk(&broker, &admin, "rosengard").await.unwrap();
    let kept = enrol_kiosk(&broker, &admin, "rosengard").await.unwrap();
    let mut doomed = kiosk(broker.addr(), &broker.cert_path(), &revoked, None)
        .await
        .unwrap();
    let mut neighbour = kiosk(broker.addr(), &broker.cert_path(), &kept, None)
        .await
        .unwrap();
    admin
        .post(format!("{base}/api/admin/kiosks/{}/revoke", revoked.kiosk))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    let error = doomed.error().await.unwrap();
    assert!(
        error.fatal && error.message.contains("revoked"),
        "{error:?}"
    );
    assert!(doomed.closed().await);
    let (status, body) = websocket(
        broker.addr(),
        "/ws/kiosk",
        revoked.tls(&broker.cert_path()).unwrap(),
        &[],
    )
    .await
    .expect_err("a revoked kiosk must not reconnect");
    assert_eq!(status, 403);
    assert!(body.contains("revoked"), "{body}");

    neighbour.start_visit("csn", "sv").await.unwrap();
    neighbour
        .expect("the queued visit", |m| {
            matches!(m, BrokerToKiosk::Queued { .. }).then_some(())
        })
        .await
        .unwrap();
    broker.broker.shutdown().await;
}

#[tokio::test]
async fn plain_http_is_told_to_use_https() {
    let broker = TestBroker::start(30_000).await.unwrap();
    let mut tcp = tokio::net::TcpStream::connect(broker.addr()).await.unwrap();
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nhost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    tcp.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("https://"), "{answer}");

    let healthy = http(&broker.cert_path())
        .unwrap()
        .get(format!(
            "https://localhost:{}/healthz",
            broker.addr().port()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(healthy.status(), 200);
    broker.broker.shutdown().await;
}

#[tokio::test]
async fn a_silent_kiosk_is_cut_off_and_shown_offline() {
    let broker = TestBroker::start_with(30_000, |config| {
        config.fleet.heartbeat_seconds = 1;
        config.fleet.offline_after_missed = 1;
    })
    .await
    .unwrap();
    let admin = admin(&broker).await.unwrap();
    let identity = enrol_kiosk(&broker, &admin, "norsjo").await.unwrap();
    let mut hung = kiosk(broker.addr(), &broker.cert_path(), &identity, None)
        .await
        .unwrap();
    // The kiosk says nothing more, as a frozen program on a live network would.
    let error = hung.error().await.unwrap();
    assert_eq!(error.code, ErrorCode::HeartbeatMissed);
    assert!(
        error.fatal && error.message.contains("nothing heard"),
        "{error:?}"
    );
    assert!(hung.closed().await);

    let fleet: serde_json::Value = admin
        .get(format!(
            "https://localhost:{}/api/admin/kiosks/{}",
            broker.addr().port(),
            identity.kiosk
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(fleet["online"], false, "{fleet}");
    assert!(
        fleet["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == "offline"),
        "{fleet}"
    );
    broker_serves_others(&broker).await;
    broker.broker.shutdown().await;
}

#[tokio::test]
async fn connections_past_the_limit_are_refused_and_silent_handshakes_cut_off() {
    let broker = TestBroker::start_with(30_000, |config| {
        config.limits.max_connections = 2;
        config.limits.handshake_timeout_seconds = 1;
    })
    .await
    .unwrap();
    let healthz = format!("https://localhost:{}/healthz", broker.addr().port());
    // Two clients that connect and say nothing fill the broker.
    let mut silent_one = tokio::net::TcpStream::connect(broker.addr()).await.unwrap();
    let mut silent_two = tokio::net::TcpStream::connect(broker.addr()).await.unwrap();
    let mut third = tokio::net::TcpStream::connect(broker.addr()).await.unwrap();
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(nara_tests::harness::PATIENCE, third.read(&mut buf))
        .await
        .expect("a connection past the limit is closed at once")
        .unwrap_or(0);
    assert_eq!(n, 0, "closed without a word");

    // The silent ones are cut off after the handshake timeout, freeing their slots.
    for silent in [&mut silent_one, &mut silent_two] {
        let n = tokio::time::timeout(nara_tests::harness::PATIENCE, silent.read(&mut buf))
            .await
            .expect("a silent handshake is cut off")
            .unwrap_or(0);
        assert_eq!(n, 0);
    }
    let served = http(&broker.cert_path())
        .unwrap()
        .get(&healthz)
        .send()
        .await
        .is_ok_and(|r| r.status() == 200);
    assert!(served, "the broker serves again once slots are free");
    broker.broker.shutdown().await;
}
