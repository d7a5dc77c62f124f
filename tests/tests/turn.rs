//! The embedded TURN server, driven by a real TURN client with the credentials a desk is
//! handed over the wire: it relays, it refuses internal peers and expired credentials with
//! a reason, and it speaks TCP and TLS as well as UDP.

use anyhow::{anyhow, Context, Result};
use nara_protocol::desk::BrokerToDesk;
use nara_protocol::IceServer;
use nara_tests::harness::{
    closed_within, connect_from, desk, tls_client, BrokerEndpoint, TestBroker, PATIENCE,
};
use std::net::SocketAddr;
use std::sync::Arc;
use stun::attributes::{ATTR_NONCE, ATTR_REALM, ATTR_USERNAME};
use stun::error_code::ErrorCodeAttribute;
use stun::integrity::MessageIntegrity;
use stun::message::{
    Getter, Message, MessageType, Setter, CLASS_ERROR_RESPONSE, CLASS_REQUEST,
    CLASS_SUCCESS_RESPONSE, METHOD_ALLOCATE, METHOD_CREATE_PERMISSION,
};
use stun::textattrs::TextAttribute;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use turn::client::{Client, ClientConfig};
use turn::proto::peeraddr::PeerAddress;
use turn::proto::relayaddr::RelayedAddress;
use turn::proto::reqtrans::RequestedTransport;
use turn::proto::PROTO_UDP;
use webrtc_util::Conn;

const SECRET: &str = "turn-test-secret";

/// The TURN server, username and password a desk is handed in its welcome, for `transport`:
/// `udp`, `tcp`, or `tls` (a `turns:` URL).
async fn handed_out(broker: &TestBroker, transport: &str) -> Result<(SocketAddr, String, String)> {
    handed_out_to(broker, "anna.csn", transport).await
}

async fn handed_out_to(
    broker: &TestBroker,
    login: &str,
    transport: &str,
) -> Result<(SocketAddr, String, String)> {
    let (scheme, transport) = match transport {
        "tls" => ("turns:", "tcp"),
        other => ("turn:", other),
    };
    let officer = desk(broker, login).await?;
    let servers: Vec<IceServer> = officer
        .seen
        .iter()
        .find_map(|m| match m {
            BrokerToDesk::Welcome { ice_servers, .. } => Some(ice_servers.clone()),
            _ => None,
        })
        .ok_or_else(|| anyhow!("no welcome"))?;
    let server = servers.first().ok_or_else(|| anyhow!("no ICE servers"))?;
    let url = server
        .urls
        .iter()
        .find(|u| u.starts_with(scheme) && u.ends_with(&format!("transport={transport}")))
        .ok_or_else(|| anyhow!("no {scheme} {transport} URL in {:?}", server.urls))?;
    let host_port = url
        .trim_start_matches(scheme)
        .split('?')
        .next()
        .unwrap_or_default();
    Ok((
        host_port.parse()?,
        server.username.clone().unwrap_or_default(),
        server.credential.clone().unwrap_or_default(),
    ))
}

async fn udp_client(server: SocketAddr, username: &str, password: &str) -> Result<Client> {
    let conn = Arc::new(UdpSocket::bind("127.0.0.1:0").await?);
    let client = Client::new(ClientConfig {
        stun_serv_addr: server.to_string(),
        turn_serv_addr: server.to_string(),
        username: username.to_string(),
        password: password.to_string(),
        realm: String::new(),
        software: String::new(),
        rto_in_ms: 0,
        conn,
        vnet: None,
    })
    .await?;
    client.listen().await?;
    Ok(client)
}

fn with_secret(
    allowed_peers: &'static [&'static str],
) -> impl FnOnce(&mut nara_broker::config::Config) {
    move |config| {
        config.turn.shared_secret = Some(SECRET.into());
        config.turn.embedded.allowed_peers =
            allowed_peers.iter().map(|p| p.parse().unwrap()).collect();
    }
}

#[tokio::test]
async fn relaying_to_internal_addresses_is_refused() -> Result<()> {
    let broker = TestBroker::start_with(30_000, with_secret(&[])).await?;
    let (server, username, password) = handed_out(&broker, "udp").await?;
    let client = udp_client(server, &username, &password).await?;
    let relay = client.allocate().await.context("allocation")?;

    for peer in ["127.0.0.1:9", "10.0.0.1:9", "[::ffff:127.0.0.1]:9"] {
        let err = relay
            .send_to(b"hello", peer.parse()?)
            .await
            .expect_err("relaying to an internal address must fail");
        let text = err.to_string();
        assert!(text.contains("403"), "{peer}: {text}");
        assert!(text.contains("does not relay to"), "{peer}: {text}");
    }

    // The broker and the TURN server still serve others.
    let (_, username, password) = handed_out(&broker, "udp").await?;
    let other = udp_client(server, &username, &password).await?;
    other.allocate().await.context("a second allocation")?;
    client.close().await?;
    other.close().await?;
    broker.broker.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn an_expired_credential_is_refused_with_a_reason() -> Result<()> {
    let broker = TestBroker::start_with(30_000, with_secret(&[])).await?;
    let (server, _, _) = handed_out(&broker, "udp").await?;
    let an_hour_ago = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs()
        - 3600;
    let username = format!("{an_hour_ago}:k-old");
    let password = nara_broker::turn::TurnCredentials::password(SECRET, &username);
    let client = udp_client(server, &username, &password).await?;
    let err = match client.allocate().await {
        Ok(_) => panic!("an expired credential must not allocate"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("401"), "{err}");
    assert!(err.contains("expired"), "{err}");
    client.close().await?;
    broker.broker.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn an_allowed_range_is_relayed_both_ways() -> Result<()> {
    let broker = TestBroker::start_with(30_000, with_secret(&["127.0.0.0/8"])).await?;
    let (server, username, password) = handed_out(&broker, "udp").await?;
    let client = udp_client(server, &username, &password).await?;
    let relay = client.allocate().await?;
    let peer = UdpSocket::bind("127.0.0.1:0").await?;

    relay.send_to(b"hej", peer.local_addr()?).await?;
    let mut buf = [0u8; 64];
    let (n, from) = tokio::time::timeout(PATIENCE, peer.recv_from(&mut buf)).await??;
    assert_eq!(&buf[..n], b"hej");
    assert_eq!(
        from,
        relay.local_addr()?,
        "data arrives from the relayed address"
    );

    peer.send_to(b"hej tillbaka", from).await?;
    let (n, _) = tokio::time::timeout(PATIENCE, relay.recv_from(&mut buf)).await??;
    assert_eq!(&buf[..n], b"hej tillbaka");
    client.close().await?;
    broker.broker.shutdown().await;
    Ok(())
}

/// One request and its response over a TURN-over-TCP stream.
async fn transact(stream: &mut impl Stream, setters: Vec<Box<dyn Setter>>) -> Result<Message> {
    let mut request = Message::new();
    request.build(&setters)?;
    stream.write_all(&request.raw).await?;
    let mut header = [0u8; 20];
    tokio::time::timeout(PATIENCE, stream.read_exact(&mut header)).await??;
    let length = u16::from_be_bytes([header[2], header[3]]) as usize;
    let mut raw = header.to_vec();
    raw.resize(20 + length, 0);
    stream.read_exact(&mut raw[20..]).await?;
    let mut response = Message::new();
    response.unmarshal_binary(&raw)?;
    Ok(response)
}

fn error_code(message: &Message) -> Result<ErrorCodeAttribute> {
    let mut code = ErrorCodeAttribute::default();
    code.get_from(message)?;
    Ok(code)
}

#[tokio::test]
async fn turn_over_tcp_allocates_and_refuses_internal_peers() -> Result<()> {
    let broker = TestBroker::start_with(30_000, with_secret(&[])).await?;
    let (server, username, password) = handed_out(&broker, "tcp").await?;
    let mut client = TcpTurn::connect(server, &username, &password).await?;

    let allocated = client.allocate().await?;
    let mut relayed = RelayedAddress::default();
    relayed.get_from(&allocated)?;
    assert_eq!(relayed.ip.to_string(), "127.0.0.1");

    let loopback = Box::new(PeerAddress {
        ip: "127.0.0.1".parse()?,
        port: 9,
    });
    let refused = client
        .exchange(METHOD_CREATE_PERMISSION, vec![loopback])
        .await?;
    assert_eq!(refused.typ.class, CLASS_ERROR_RESPONSE);
    let code = error_code(&refused)?;
    assert_eq!(code.code.0, 403);
    assert!(String::from_utf8(code.reason)?.contains("loopback"));
    broker.broker.shutdown().await;
    Ok(())
}

/// From inside an agency's network often only TCP 443 gets out: the embedded server speaks
/// TURN over TLS with the broker's certificate, on an address of its own, and a desk is handed
/// a `turns:` URL naming that address. The gate holds inside TLS as outside; a client that
/// does not speak TLS there, or says nothing, is cut off.
#[tokio::test]
async fn turn_over_tls_relays_with_the_brokers_certificate() -> Result<()> {
    let broker = TestBroker::start_with(30_000, |config| {
        with_secret(&["127.0.0.0/8"])(config);
        config.turn.embedded.tls_listen = Some("127.0.0.2:0".parse().unwrap());
        config.tls.self_signed_names = vec!["127.0.0.2".into()];
        config.turn.embedded.tcp_first_frame_seconds = 2;
    })
    .await?;
    let (server, username, password) = handed_out(&broker, "tls").await?;
    assert_eq!(
        server.ip().to_string(),
        "127.0.0.2",
        "the TLS listener's own address"
    );
    let mut client = TcpTurn::connect_tls(&broker, server, &username, &password).await?;
    let allocated = client.allocate().await?;
    let mut relayed = RelayedAddress::default();
    relayed.get_from(&allocated)?;
    assert_eq!(relayed.ip.to_string(), "127.0.0.1");
    let peer = UdpSocket::bind("127.0.0.1:0").await?;
    client.relay(peer.local_addr()?, b"through TLS").await?;
    assert_eq!(received(&peer).await?, b"through TLS");
    let private = Box::new(PeerAddress {
        ip: "10.0.0.1".parse()?,
        port: 9,
    });
    let refused = client
        .exchange(METHOD_CREATE_PERMISSION, vec![private])
        .await?;
    assert_eq!(
        error_code(&refused)?.code.0,
        403,
        "the gate holds inside TLS"
    );

    // Plain TURN on the TLS port gets no answer and is cut off.
    let mut plain = TcpStream::connect(server).await?;
    let mut binding = Message::new();
    binding.build(&[
        Box::new(stun::agent::TransactionId::new()),
        Box::new(stun::message::BINDING_REQUEST),
    ])?;
    plain.write_all(&binding.raw).await?;
    let mut answer = Vec::new();
    let read = tokio::time::timeout(PATIENCE, plain.read_to_end(&mut answer)).await?;
    assert!(
        read.is_err() || !answer.starts_with(&[0x01, 0x01]),
        "no STUN answer outside TLS: {answer:?}"
    );
    // A stream that never starts its handshake holds its slot no longer than a silent one.
    let mut silent = TcpStream::connect(server).await?;
    let closed = closed_within(&mut silent, PATIENCE).await;
    assert!(
        closed.is_some_and(|after| after >= std::time::Duration::from_secs(2)),
        "cut off after its first-frame time: {closed:?}"
    );
    // Without TLS configured, no `turns:` URL is handed out.
    let plain_broker = TestBroker::start_with(30_000, with_secret(&[])).await?;
    assert!(handed_out(&plain_broker, "tls").await.is_err());
    plain_broker.broker.shutdown().await;
    broker.broker.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn an_allocation_flood_with_one_credential_is_held_to_its_quota() -> Result<()> {
    let broker = TestBroker::start_with(30_000, |config| {
        with_secret(&[])(config);
        config.turn.embedded.max_allocations_per_user = 5;
    })
    .await?;
    let (server, username, password) = handed_out(&broker, "udp").await?;
    // Ten clients (ten source ports) with the same credential, as one leaked credential
    // replayed: five get relays, the rest are told why not.
    let mut clients = Vec::new();
    let mut refusals = Vec::new();
    for _ in 0..10 {
        let client = udp_client(server, &username, &password).await?;
        match client.allocate().await {
            Ok(relay) => clients.push((client, relay)),
            Err(e) => {
                refusals.push(e.to_string());
                client.close().await?;
            }
        }
    }
    assert_eq!(clients.len(), 5, "refusals: {refusals:?}");
    for refusal in &refusals {
        assert!(refusal.contains("486"), "{refusal}");
        assert!(refusal.contains("already holds 5 relays"), "{refusal}");
    }

    // Another credential is not affected.
    let (_, other_user, other_password) = handed_out_to(&broker, "omar.csn", "udp").await?;
    let other = udp_client(server, &other_user, &other_password).await?;
    other
        .allocate()
        .await
        .context("another credential allocates")?;

    // A relay given back makes room again.
    let (first, relay) = clients.pop().expect("five clients");
    relay.close().await?;
    first.close().await?;
    let again = udp_client(server, &username, &password).await?;
    let mut allocated = again.allocate().await;
    // The server tells the quota of the closed relay as it removes it; allow it that moment.
    for _ in 0..50 {
        if allocated.is_ok() {
            break;
        }
        tokio::task::yield_now().await;
        allocated = again.allocate().await;
    }
    allocated.context("an allocation after one was given back")?;
    for (client, _) in clients {
        client.close().await?;
    }
    broker.broker.shutdown().await;
    Ok(())
}

/// A byte stream to the server: TCP, or TLS over it.
trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<S: AsyncRead + AsyncWrite + Unpin + Send> Stream for S {}

/// A TURN client over TCP or TLS speaking raw STUN, as a kiosk behind a firewall does.
struct TcpTurn {
    stream: Box<dyn Stream>,
    username: String,
    password: String,
    realm: TextAttribute,
    nonce: TextAttribute,
}

impl TcpTurn {
    /// Connects and learns the realm and nonce from the server's first 401.
    async fn connect(server: SocketAddr, username: &str, password: &str) -> Result<TcpTurn> {
        let stream = TcpStream::connect(server).await?;
        Self::over(Box::new(stream), username, password).await
    }

    /// The same inside TLS, trusting the broker's certificate as a desk's browser does.
    async fn connect_tls(
        broker: &TestBroker,
        server: SocketAddr,
        username: &str,
        password: &str,
    ) -> Result<TcpTurn> {
        let stream = TcpStream::connect(server).await?;
        let tls = tls_client(&broker.cert_path(), None)?;
        let connector = tokio_rustls::TlsConnector::from(Arc::new(tls));
        let name = rustls::pki_types::ServerName::try_from(server.ip().to_string())?;
        let stream = connector.connect(name, stream).await?;
        Self::over(Box::new(stream), username, password).await
    }

    async fn over(mut stream: Box<dyn Stream>, username: &str, password: &str) -> Result<TcpTurn> {
        let challenge = transact(
            &mut stream,
            vec![
                Box::new(stun::agent::TransactionId::new()),
                Box::new(MessageType::new(METHOD_ALLOCATE, CLASS_REQUEST)),
                Box::new(RequestedTransport {
                    protocol: PROTO_UDP,
                }),
            ],
        )
        .await?;
        assert_eq!(error_code(&challenge)?.code.0, 401);
        let mut nonce = TextAttribute::new(ATTR_NONCE, String::new());
        nonce.get_from(&challenge)?;
        let mut realm = TextAttribute::new(ATTR_REALM, String::new());
        realm.get_from(&challenge)?;
        Ok(TcpTurn {
            stream,
            username: username.into(),
            password: password.into(),
            realm,
            nonce,
        })
    }

    /// A signed request and the server's response, whatever it says.
    async fn exchange(
        &mut self,
        method: stun::message::Method,
        extra: Vec<Box<dyn Setter>>,
    ) -> Result<Message> {
        let mut setters: Vec<Box<dyn Setter>> = vec![
            Box::new(stun::agent::TransactionId::new()),
            Box::new(MessageType::new(method, CLASS_REQUEST)),
        ];
        setters.extend(extra);
        setters.push(Box::new(TextAttribute::new(
            ATTR_USERNAME,
            self.username.clone(),
        )));
        setters.push(Box::new(self.realm.clone()));
        setters.push(Box::new(self.nonce.clone()));
        setters.push(Box::new(MessageIntegrity::new_long_term_integrity(
            self.username.clone(),
            self.realm.text.clone(),
            self.password.clone(),
        )));
        transact(&mut self.stream, setters).await
    }

    /// A signed request that must succeed.
    async fn request(
        &mut self,
        method: stun::message::Method,
        extra: Vec<Box<dyn Setter>>,
    ) -> Result<Message> {
        let response = self.exchange(method, extra).await?;
        if response.typ.class != CLASS_SUCCESS_RESPONSE {
            anyhow::bail!("{method} refused: {response}");
        }
        Ok(response)
    }

    async fn allocate(&mut self) -> Result<Message> {
        let transport = Box::new(RequestedTransport {
            protocol: PROTO_UDP,
        });
        self.request(METHOD_ALLOCATE, vec![transport]).await
    }

    /// Refresh with lifetime 0: the client gives its allocation back.
    async fn delete(&mut self) -> Result<()> {
        let zero = Box::new(turn::proto::lifetime::Lifetime(
            std::time::Duration::from_secs(0),
        ));
        self.request(stun::message::METHOD_REFRESH, vec![zero])
            .await?;
        Ok(())
    }

    /// Permits `peer` and relays `data` to it in a Send indication.
    async fn relay(&mut self, peer: SocketAddr, data: &[u8]) -> Result<()> {
        let address = || {
            Box::new(PeerAddress {
                ip: peer.ip(),
                port: peer.port(),
            })
        };
        self.request(METHOD_CREATE_PERMISSION, vec![address()])
            .await?;
        let mut send = Message::new();
        send.build(&[
            Box::new(stun::agent::TransactionId::new()),
            Box::new(MessageType::new(
                stun::message::METHOD_SEND,
                stun::message::CLASS_INDICATION,
            )),
            address(),
            Box::new(turn::proto::data::Data(data.to_vec())),
        ])?;
        self.stream.write_all(&send.raw).await?;
        Ok(())
    }
}

async fn received(peer: &UdpSocket) -> Result<Vec<u8>> {
    let mut buf = [0u8; 256];
    let (n, _) = tokio::time::timeout(PATIENCE, peer.recv_from(&mut buf)).await??;
    Ok(buf[..n].to_vec())
}

/// H1 of the security review: one TCP allocation closing closed the TCP listener and every
/// other client's stream, so relaying over TCP died until the broker restarted.
#[tokio::test]
async fn h1_turn_over_tcp_outlives_an_allocation_that_closes() -> Result<()> {
    let broker = TestBroker::start_with(30_000, with_secret(&["127.0.0.0/8"])).await?;
    let (server, username, password) = handed_out(&broker, "tcp").await?;
    let peer = UdpSocket::bind("127.0.0.1:0").await?;
    let mut leaving = TcpTurn::connect(server, &username, &password).await?;
    let mut staying = TcpTurn::connect(server, &username, &password).await?;
    leaving.allocate().await?;
    staying.allocate().await?;

    leaving.delete().await.context("deleting one allocation")?;

    staying.relay(peer.local_addr()?, b"still here").await?;
    assert_eq!(received(&peer).await?, b"still here");
    let mut newcomer = TcpTurn::connect(server, &username, &password)
        .await
        .context("the TCP listener still accepts")?;
    newcomer.allocate().await?;
    newcomer.relay(peer.local_addr()?, b"new").await?;
    assert_eq!(received(&peer).await?, b"new");
    broker.broker.shutdown().await;
    Ok(())
}

fn ip(text: &str) -> std::net::IpAddr {
    text.parse().unwrap()
}

/// M5 of the security review: 1 024 idle TCP connections starved new clients' Allocate and
/// were all still open a minute later.
#[tokio::test]
async fn m5_silent_turn_tcp_clients_are_cut_off_and_one_address_is_capped() -> Result<()> {
    let broker = TestBroker::start_with(30_000, |config| {
        with_secret(&["127.0.0.0/8"])(config);
        config.turn.embedded.max_tcp_clients_per_address = 3;
        config.turn.embedded.tcp_first_frame_seconds = 2;
        config.turn.embedded.tls_listen = Some("127.0.0.1:0".parse().unwrap());
    })
    .await?;
    let (server, username, password) = handed_out(&broker, "tcp").await?;
    let (tls_server, _, _) = handed_out(&broker, "tls").await?;
    let started = std::time::Instant::now();
    let mut silent = Vec::new();
    for _ in 0..3 {
        silent.push(connect_from(ip("127.0.0.3"), server).await?);
    }
    let mut one_too_many = connect_from(ip("127.0.0.3"), server).await?;
    assert!(
        closed_within(&mut one_too_many, std::time::Duration::from_millis(1500))
            .await
            .is_some(),
        "a fourth stream from one address is refused at once"
    );
    // The cap is the server's, not each listener's: TLS counts the plain streams too.
    let mut over_tls = connect_from(ip("127.0.0.3"), tls_server).await?;
    assert!(
        closed_within(&mut over_tls, std::time::Duration::from_millis(1500))
            .await
            .is_some(),
        "a fourth stream from one address is refused over TLS as well"
    );
    // Others still get a relay meanwhile.
    let mut client = TcpTurn::connect(server, &username, &password).await?;
    client.allocate().await?;
    // A stream that asks only what its address is, and holds no relay, is not kept either.
    let mut binding_only = connect_from(ip("127.0.0.5"), server).await?;
    let mut binding = Message::new();
    binding.build(&[
        Box::new(stun::agent::TransactionId::new()),
        Box::new(stun::message::BINDING_REQUEST),
    ])?;
    binding_only.write_all(&binding.raw).await?;
    silent.push(binding_only);

    for stream in &mut silent {
        assert!(
            closed_within(stream, PATIENCE).await.is_some(),
            "a stream without a relay is cut off"
        );
    }
    let waited = started.elapsed();
    assert!(
        waited >= std::time::Duration::from_secs(2),
        "cut off after its first-frame time, not before ({waited:?})"
    );
    // The client that spoke is kept.
    let peer = UdpSocket::bind("127.0.0.1:0").await?;
    client.relay(peer.local_addr()?, b"kept").await?;
    assert_eq!(received(&peer).await?, b"kept");
    broker.broker.shutdown().await;
    Ok(())
}
