//! Hostile clients against a real broker while a citizen's visit goes on: headers trickled
//! (slowloris), TLS handshakes left half-open, a desk that never reads, connection floods
//! from one address and from many. Each attacker is cut off or refused, and every step of
//! the concurrent visit stays answered within [`VISIT_STEP_BOUND`].
//! (Huge and deeply nested JSON and message floods are in `bad_input.rs`; TURN allocation
//! floods and relays to reserved addresses in `turn.rs`.)

use futures_util::SinkExt;
use nara_protocol::desk::{BrokerToDesk, DeskToBroker};
use nara_protocol::kiosk::BrokerToKiosk;
use nara_tests::harness::{
    admin, closed_within, connect_from, desk, enrol_kiosk, get_text, http, kiosk, login,
    tls_client, BrokerEndpoint, Desk, Kiosk, TestBroker,
};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

/// No step of a visit (queue, offer, answer, end) may take longer than this under attack.
/// Unloaded, each takes a few milliseconds on this machine; the bound is generous so that a
/// noisy CI machine does not fail it, and tight enough that a broker stalled by an attacker
/// (which waits for a timeout of seconds) does.
const VISIT_STEP_BOUND: Duration = Duration::from_millis(1500);

/// Waits for `step`, failing the test if it takes longer than [`VISIT_STEP_BOUND`]; records
/// the slowest step seen.
async fn within<T>(
    slowest: &mut Duration,
    what: &str,
    step: impl std::future::Future<Output = T>,
) -> T {
    let started = Instant::now();
    let value = tokio::time::timeout(VISIT_STEP_BOUND, step)
        .await
        .unwrap_or_else(|_| panic!("{what} took longer than {VISIT_STEP_BOUND:?} under attack"));
    *slowest = (*slowest).max(started.elapsed());
    value
}

/// A citizen at a kiosk and an officer at a desk, connected before the attack starts.
struct NormalVisit {
    kiosk: Kiosk,
    officer: Desk,
    slowest: Duration,
    rounds: u32,
}

impl NormalVisit {
    async fn connect(broker: &TestBroker) -> NormalVisit {
        let admin = admin(broker).await.unwrap();
        let identity = enrol_kiosk(broker, &admin, "rinkeby").await.unwrap();
        let kiosk = kiosk(broker.addr(), &broker.cert_path(), &identity, None)
            .await
            .unwrap();
        let officer = desk(broker, "anna.csn").await.unwrap();
        NormalVisit {
            kiosk,
            officer,
            slowest: Duration::ZERO,
            rounds: 0,
        }
    }

    /// One whole visit: the officer goes available, the citizen queues, the officer is
    /// offered the visit and answers, both hear of the call, the officer ends it.
    async fn round(&mut self) {
        let NormalVisit {
            kiosk,
            officer,
            slowest,
            rounds,
        } = self;
        within(slowest, "going available", officer.go_available())
            .await
            .unwrap();
        within(slowest, "queueing", async {
            kiosk.start_visit("csn", "sv").await.unwrap();
            kiosk.queued().await.unwrap()
        })
        .await;
        let offer = within(slowest, "the offer", async {
            officer
                .expect("an offer", |m| match m {
                    BrokerToDesk::Offer { offer, .. } => Some(offer.clone()),
                    _ => None,
                })
                .await
                .unwrap()
        })
        .await;
        let call = within(slowest, "answering", async {
            officer
                .send(&DeskToBroker::AcceptOffer { offer })
                .await
                .unwrap();
            officer
                .expect("the call started", |m| match m {
                    BrokerToDesk::CallStarted { call, .. } => Some(call.clone()),
                    _ => None,
                })
                .await
                .unwrap()
        })
        .await;
        within(slowest, "the kiosk hearing of the call", async {
            kiosk
                .expect("call started at the kiosk", |m| {
                    matches!(m, BrokerToKiosk::CallStarted { .. }).then_some(())
                })
                .await
                .unwrap()
        })
        .await;
        within(slowest, "ending the call", async {
            officer
                .send(&DeskToBroker::EndCall {
                    call,
                    outcome: nara_protocol::Outcome::Served,
                })
                .await
                .unwrap();
            kiosk
                .expect("the visit ended", |m| {
                    matches!(m, BrokerToKiosk::VisitEnded { .. }).then_some(())
                })
                .await
                .unwrap()
        })
        .await;
        *rounds += 1;
    }

    /// Runs visits one after another until `attack` is over; at least one runs during it.
    async fn during<T>(&mut self, attack: impl std::future::Future<Output = T>) -> T {
        tokio::pin!(attack);
        let mut outcome = None;
        while outcome.is_none() {
            let round = self.round();
            tokio::pin!(round);
            loop {
                tokio::select! {
                    () = &mut round => break,
                    done = &mut attack, if outcome.is_none() => outcome = Some(done),
                }
            }
        }
        assert!(self.rounds > 0, "no visit ran during the attack");
        outcome.expect("loop ends with the attack over")
    }
}

/// A short head timeout, and no rate limit for the visit, which runs back to back faster
/// than a person would (message floods are `bad_input.rs`'s business).
fn config_for_attacks(config: &mut nara_broker::config::Config) {
    config.limits.handshake_timeout_seconds = 1;
    config.limits.messages_per_second = 1_000_000;
    config.limits.message_burst = 1_000_000;
}

/// A TCP connection from `source` (any 127.0.0.0/8 address works on loopback).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_and_half_open_handshakes_are_cut_off_while_a_visit_goes_on() {
    let broker = TestBroker::start_with(30_000, config_for_attacks)
        .await
        .unwrap();
    let mut visit = NormalVisit::connect(&broker).await;
    visit.round().await;
    let addr = broker.addr();
    let cert = broker.cert_path();

    let attack = async move {
        let mut attackers = tokio::task::JoinSet::new();
        // Slowloris: TLS done, then a request head one byte every 100 ms, which would take
        // 20 s to finish; the broker's head timeout (1 s here) must end it long before.
        for n in 0..10u8 {
            let tls = tls_client(&cert, None).unwrap();
            attackers.spawn(async move {
                let tcp = connect_from(IpAddr::V4(Ipv4Addr::new(127, 0, 1, n + 1)), addr)
                    .await
                    .unwrap();
                let connector = tokio_rustls::TlsConnector::from(Arc::new(tls));
                let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
                let mut stream = connector.connect(name, tcp).await.unwrap();
                let head = format!(
                    "GET /healthz HTTP/1.1\r\nhost: localhost\r\nx-pad: {}\r\n",
                    "a".repeat(160)
                );
                let started = Instant::now();
                for byte in head.bytes() {
                    if stream.write_all(&[byte]).await.is_err() || stream.flush().await.is_err() {
                        return ("slowloris", Some(started.elapsed()));
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                let rest = closed_within(&mut stream, Duration::from_secs(5)).await;
                ("slowloris", rest.map(|_| started.elapsed()))
            });
        }
        // Half-open handshakes: the first bytes of a ClientHello, then nothing.
        for n in 0..10u8 {
            attackers.spawn(async move {
                let mut tcp = connect_from(IpAddr::V4(Ipv4Addr::new(127, 0, 2, n + 1)), addr)
                    .await
                    .unwrap();
                tcp.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00])
                    .await
                    .unwrap();
                (
                    "half-open handshake",
                    closed_within(&mut tcp, Duration::from_secs(10)).await,
                )
            });
        }
        let mut cut = Vec::new();
        while let Some(result) = attackers.join_next().await {
            cut.push(result.unwrap());
        }
        cut
    };
    let cut = visit.during(attack).await;
    assert_eq!(cut.len(), 20);
    for (kind, after) in cut {
        let after = after.unwrap_or_else(|| panic!("a {kind} connection was never closed"));
        // 1 s timeout; well under the 20 s the trickle would take.
        assert!(
            after < Duration::from_secs(4),
            "a {kind} connection lasted {after:?}"
        );
    }
    let metrics = get_text(&admin(&broker).await.unwrap(), &broker, "/metrics")
        .await
        .unwrap();
    assert!(metrics.contains("tls-handshake-timeout"), "{metrics}");
    broker.broker.shutdown().await;
}

/// A desk WebSocket over a socket with a tiny receive window, as a client that never reads.
async fn desk_that_never_reads(
    broker: &TestBroker,
    username: &str,
) -> tokio_tungstenite::WebSocketStream<tokio_rustls::client::TlsStream<TcpStream>> {
    let client = http(&broker.cert_path()).unwrap();
    let cookie = login(&client, broker.addr(), username).await.unwrap();
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let tcp = socket.connect(broker.addr()).await.unwrap();
    let connector =
        tokio_rustls::TlsConnector::from(Arc::new(tls_client(&broker.cert_path(), None).unwrap()));
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let tls = connector.connect(name, tcp).await.unwrap();
    let mut request = format!("wss://localhost:{}/ws/desk", broker.addr().port())
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("cookie", cookie.parse().unwrap());
    let origin = format!("https://localhost:{}", broker.addr().port());
    request
        .headers_mut()
        .insert("origin", origin.parse().unwrap());
    let (socket, _) = tokio_tungstenite::client_async(request, tls).await.unwrap();
    socket
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_desk_that_never_reads_is_cut_off_not_buffered() {
    let broker = TestBroker::start_with(30_000, |config| {
        config_for_attacks(config);
        config.limits.outbound_queue = 32;
    })
    .await
    .unwrap();
    let mut visit = NormalVisit::connect(&broker).await;
    let mut deaf = desk_that_never_reads(&broker, "omar.csn").await;

    let attack = async move {
        let hello = serde_json::json!({"type": "hello", "protocolVersion": nara_protocol::PROTOCOL_VERSION});
        deaf.send(Message::text(hello.to_string())).await.unwrap();
        // Each request is answered with the agency's queues; none of it is read.
        let refresh = r#"{"type":"refreshQueues"}"#;
        let mut sent = 0u32;
        while sent < 200_000 {
            if deaf.send(Message::text(refresh)).await.is_err() {
                return Some(sent);
            }
            sent += 1;
        }
        None
    };
    let cut_after = visit.during(attack).await;
    let sent = cut_after.expect("the broker never cut off a desk that does not read");
    assert!(sent > 32, "cut off after only {sent} requests");
    let metrics = get_text(&admin(&broker).await.unwrap(), &broker, "/metrics")
        .await
        .unwrap();
    assert!(metrics.contains("code=\"TooSlow\""), "{metrics}");
    broker.broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_floods_from_one_address_and_from_many_are_refused_past_the_cap() {
    let broker = TestBroker::start_with(30_000, |config| {
        config_for_attacks(config);
        config.limits.max_connections = 40;
    })
    .await
    .unwrap();
    let mut visit = NormalVisit::connect(&broker).await;
    let addr = broker.addr();

    let attack = async move {
        // 60 connections from one address, then 60 from 60 addresses, all silent, at once.
        let sources = std::iter::repeat_n(Ipv4Addr::new(127, 0, 3, 1), 60)
            .chain((1..=60).map(|n| Ipv4Addr::new(127, 0, 4, n)));
        let mut flood = tokio::task::JoinSet::new();
        for source in sources {
            let mut tcp = connect_from(IpAddr::V4(source), addr).await.unwrap();
            // Past the cap the broker closes at once; within it, at the handshake deadline.
            flood.spawn(async move { closed_within(&mut tcp, Duration::from_secs(5)).await });
        }
        let mut lifetimes = Vec::new();
        while let Some(closed) = flood.join_next().await {
            lifetimes.push(
                closed
                    .unwrap()
                    .expect("a silent connection was never closed"),
            );
        }
        lifetimes
    };
    let lifetimes = visit.during(attack).await;
    let refused = lifetimes
        .iter()
        .filter(|l| **l < Duration::from_millis(500))
        .count();
    let held = lifetimes.len() - refused;
    // The visit's kiosk and desk hold two of the 40 places.
    assert!(held <= 38, "{held} attackers held a place");
    assert!(refused >= 82, "only {refused} of 120 refused at once");
    assert!(
        lifetimes.iter().all(|l| *l < Duration::from_secs(4)),
        "a silent connection outlived the handshake deadline: {lifetimes:?}"
    );
    visit.round().await;
    let fresh = desk(&broker, "omar.csn").await;
    assert!(fresh.is_ok(), "a new desk connects after the flood");
    broker.broker.shutdown().await;
}
