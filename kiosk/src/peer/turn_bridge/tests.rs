//! The bridge between a UDP TURN client and a server on a stream, with a stand-in server on
//! loopback (named as such: it frames and answers like a TURN server over TCP, without
//! allocating anything). The whole path with real TURN servers (the broker's embedded one
//! over TCP, coturn over TLS) and the `webrtc` crate is in `tests/tests/kiosk_network.rs`.

use super::*;
use std::time::Duration;
use tokio::net::TcpListener;

/// A STUN Binding request with a recognisable transaction id.
fn binding(id: u8) -> Vec<u8> {
    let mut message = vec![0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42];
    message.extend_from_slice(&[id; 12]);
    message
}

fn channel_data(payload: &[u8]) -> Vec<u8> {
    let mut message = vec![0x40, 0x01];
    message.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    message.extend_from_slice(payload);
    message
}

fn servers(urls: &[&str]) -> Vec<IceServer> {
    vec![IceServer {
        urls: urls.iter().map(|u| u.to_string()).collect(),
        username: Some("1700000000:kiosk".into()),
        credential: Some("secret".into()),
    }]
}

fn trusting(
    certificate: Option<&rcgen::CertifiedKey<rcgen::KeyPair>>,
) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    if let Some(certified) = certificate {
        roots.add(certified.cert.der().clone()).unwrap();
    }
    Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth(),
    )
}

/// The bridge's local address from a routed URL `turn:127.0.0.1:PORT?transport=udp`.
fn bridge_address(routed: &[IceServer]) -> SocketAddr {
    let url = &routed[0].urls[0];
    url.strip_prefix("turn:")
        .and_then(|rest| rest.strip_suffix("?transport=udp"))
        .unwrap_or_else(|| panic!("not a bridged URL: {url}"))
        .parse()
        .unwrap()
}

/// Stand-in server: reads `expect` bytes, then answers with `answer` in a single write.
async fn stand_in<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    expect: usize,
    answer: Vec<u8>,
) -> Vec<u8> {
    let mut received = vec![0u8; expect];
    stream.read_exact(&mut received).await.unwrap();
    stream.write_all(&answer).await.unwrap();
    stream.flush().await.unwrap();
    // Hold the connection until the client has read the answer.
    let mut rest = [0u8; 1];
    let _ = stream.read(&mut rest).await;
    received
}

async fn receive(client: &UdpSocket) -> Vec<u8> {
    let mut buffer = [0u8; 2048];
    let (length, _) = tokio::time::timeout(Duration::from_secs(5), client.recv_from(&mut buffer))
        .await
        .expect("the bridge passed the server's answer on")
        .unwrap();
    buffer[..length].to_vec()
}

/// A stand-in TURN server's listener on loopback, and a bridge to it.
async fn bridged_tcp_server() -> (TcpListener, TurnBridges, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut bridges = TurnBridges::new(trusting(None));
    let url = format!("turn:127.0.0.1:{port}?transport=tcp");
    let bridge = bridge_address(&bridges.route(&servers(&[&url])));
    (listener, bridges, bridge)
}

#[tokio::test]
async fn udp_and_stun_urls_pass_unchanged_and_unusable_ones_are_left_out() {
    let mut bridges = TurnBridges::new(trusting(None));
    let routed = bridges.route(&servers(&[
        "stun:stun.example.se:3478",
        "turn:turn.example.se:3478?transport=udp",
        "turns:turn.example.se:443?transport=udp",
        "http://not-ice",
    ]));
    assert_eq!(
        routed[0].urls,
        [
            "stun:stun.example.se:3478",
            "turn:turn.example.se:3478?transport=udp"
        ]
    );
    assert_eq!(routed[0].username.as_deref(), Some("1700000000:kiosk"));
    assert!(bridges.bridges.is_empty());
    assert!(bridges.route(&servers(&["bogus"])).is_empty());
}

#[tokio::test]
async fn a_bridge_is_kept_while_the_broker_names_its_server() {
    let mut bridges = TurnBridges::new(trusting(None));
    let tcp = ["turn:turn.example.se:3478?transport=tcp"];
    let first = bridge_address(&bridges.route(&servers(&tcp)));
    // Credentials rotate, the URL stays: the same bridge, so allocations made through it live on.
    let again = bridge_address(&bridges.route(&servers(&tcp)));
    assert_eq!(first, again);
    assert_eq!(bridges.bridges.len(), 1);
    bridges.route(&servers(&["turn:turn.example.se:3478?transport=udp"]));
    assert!(
        bridges.bridges.is_empty(),
        "a server no longer named keeps no bridge"
    );
}

#[tokio::test]
async fn messages_cross_a_tcp_stream_framed_and_come_back_as_datagrams() {
    let (listener, bridges, bridge) = bridged_tcp_server().await;

    let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    client.send_to(&binding(1), bridge).await.unwrap();
    client
        .send_to(&channel_data(b"media"), bridge)
        .await
        .unwrap();
    let (stream, _) = listener.accept().await.unwrap();
    // Two answers in one write, the ChannelData padded as on any stream.
    let mut answer = binding(2);
    answer.extend_from_slice(&channel_data(b"back!"));
    answer.extend_from_slice(&[0, 0, 0]);
    let server = tokio::spawn(stand_in(stream, 20 + 12, answer));

    assert_eq!(receive(&client).await, binding(2));
    assert_eq!(receive(&client).await, channel_data(b"back!"));
    let mut expected = binding(1);
    expected.extend_from_slice(&channel_data(b"media"));
    expected.extend_from_slice(&[0, 0, 0]);
    drop(bridges);
    assert_eq!(server.await.unwrap(), expected);
}

#[tokio::test]
async fn each_client_socket_gets_a_connection_of_its_own() {
    let (listener, bridges, bridge) = bridged_tcp_server().await;

    let first = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let second = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    first.send_to(&binding(1), bridge).await.unwrap();
    let (stream_one, _) = listener.accept().await.unwrap();
    let one = tokio::spawn(stand_in(stream_one, 20, binding(11)));
    second.send_to(&binding(2), bridge).await.unwrap();
    let (stream_two, _) = listener.accept().await.unwrap();
    let two = tokio::spawn(stand_in(stream_two, 20, binding(12)));

    assert_eq!(receive(&first).await, binding(11));
    assert_eq!(receive(&second).await, binding(12));
    drop(bridges);
    assert_eq!(one.await.unwrap(), binding(1));
    assert_eq!(two.await.unwrap(), binding(2));
}

#[tokio::test]
async fn turns_verifies_the_server_and_carries_the_same_messages() {
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).unwrap();
    let server_config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![certified.cert.der().clone()],
        rustls::pki_types::PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into()),
    )
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server_config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let url = format!("turns:127.0.0.1:{port}?transport=tcp");

    // A kiosk that does not trust the certificate sends nothing through it.
    let mut distrustful = TurnBridges::new(trusting(None));
    let bridge = bridge_address(&distrustful.route(&servers(&[&url])));
    let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    client.send_to(&binding(1), bridge).await.unwrap();
    let (tcp, _) = listener.accept().await.unwrap();
    assert!(
        acceptor.accept(tcp).await.is_err(),
        "the kiosk refused the handshake"
    );

    let mut trusting_bridges = TurnBridges::new(trusting(Some(&certified)));
    let bridge = bridge_address(&trusting_bridges.route(&servers(&[&url])));
    client.send_to(&binding(3), bridge).await.unwrap();
    let (tcp, _) = listener.accept().await.unwrap();
    let stream = acceptor.accept(tcp).await.unwrap();
    let server = tokio::spawn(stand_in(stream, 20, binding(4)));
    assert_eq!(receive(&client).await, binding(4));
    drop(trusting_bridges);
    assert_eq!(server.await.unwrap(), binding(3));
}

#[tokio::test]
async fn a_server_that_sends_garbage_is_cut_off_and_the_next_datagram_reconnects() {
    let (listener, bridges, bridge) = bridged_tcp_server().await;
    let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();

    client.send_to(&binding(1), bridge).await.unwrap();
    let (mut garbage, _) = listener.accept().await.unwrap();
    let mut request = [0u8; 20];
    garbage.read_exact(&mut request).await.unwrap();
    // The start of a TLS ServerHello, where a TURN server over plain TCP was expected.
    garbage
        .write_all(b"\x16\x03\x03\x00\x2a\x02\x00\x00\x26\x03\x03")
        .await
        .unwrap();
    let mut rest = [0u8; 16];
    let closed = tokio::time::timeout(Duration::from_secs(5), garbage.read(&mut rest))
        .await
        .expect("the bridge closed the connection");
    assert!(matches!(closed, Ok(0) | Err(_)), "{closed:?}");

    // The next datagram from the same socket opens a fresh connection.
    client.send_to(&binding(2), bridge).await.unwrap();
    let (stream, _) = listener.accept().await.unwrap();
    let server = tokio::spawn(stand_in(stream, 20, binding(5)));
    assert_eq!(receive(&client).await, binding(5));
    drop(bridges);
    assert_eq!(server.await.unwrap(), binding(2));
}
