//! A broker whose open-files limit is lower than its configuration needs (systemd's default
//! is 1024) holds fewer connections and says so in its log, refuses the rest at once, and
//! serves again as soon as some close, instead of failing accepts at full house.

use nara_tests::harness::{admin, BrokerEndpoint, BrokerProcess, PATIENCE};
use std::path::Path;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

const BROKER: &str = env!("CARGO_BIN_EXE_broker-process");

#[tokio::test]
async fn a_low_open_files_limit_caps_connections_instead_of_failing_accepts() {
    let data = tempfile::tempdir().unwrap();
    let broker = BrokerProcess::start_with(
        Path::new(BROKER),
        data.path(),
        &[
            ("NARA_TURN__EMBEDDED__MAX_ALLOCATIONS", "16"),
            // Silent connections keep their slot for the whole test.
            ("NARA_LIMITS__HANDSHAKE_TIMEOUT_SECONDS", "60"),
        ],
        Some(200),
    )
    .await
    .unwrap();
    // 200 descriptors, less 16 relays and 64 for the broker itself.
    let log = broker.logged("the open-files limit is 200").await.unwrap();
    assert!(log.contains("holding at most 120 connections"), "{log}");

    let mut silent = Vec::new();
    for _ in 0..120 {
        silent.push(TcpStream::connect(broker.addr()).await.unwrap());
    }
    // Accepted after those (the backlog is first come, first served) and closed at once.
    let mut refused = TcpStream::connect(broker.addr()).await.unwrap();
    let mut byte = [0u8; 1];
    let read = tokio::time::timeout(PATIENCE, refused.read(&mut byte))
        .await
        .expect("the broker answers a connection over its budget at once");
    assert!(
        matches!(read, Ok(0) | Err(_)),
        "a connection over the budget was kept: {read:?}"
    );
    assert!(
        admin(&broker).await.is_err(),
        "an administrator logged in although every slot was taken"
    );

    drop(silent);
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        match admin(&broker).await {
            Ok(_) => break,
            Err(e) if tokio::time::Instant::now() > deadline => {
                panic!("slots did not come back when the silent connections closed: {e:#}")
            }
            Err(_) => tokio::task::yield_now().await,
        }
    }
    let log = broker.log();
    assert!(
        !log.contains("accept failed"),
        "the broker ran out of descriptors although it capped its connections:\n{log}"
    );
}
