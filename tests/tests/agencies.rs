//! Opening hours: kiosks learn at once when an agency closes, and a visit to a closed agency
//! is refused (the kiosk says so in the citizen's language).

use nara_protocol::kiosk::BrokerToKiosk;
use nara_protocol::ErrorCode;
use nara_tests::harness::{admin, enrol_kiosk, kiosk, BrokerEndpoint, TestBroker};

#[tokio::test]
async fn a_closed_agency_is_shown_closed_and_refuses_visits() {
    let broker = TestBroker::start(30_000).await.unwrap();
    let admin = admin(&broker).await.unwrap();
    let base = format!("https://localhost:{}", broker.addr().port());
    let identity = enrol_kiosk(&broker, &admin, "rinkeby").await.unwrap();
    let mut entrance = kiosk(broker.addr(), &broker.cert_path(), &identity, None)
        .await
        .unwrap();

    let refused = admin
        .post(format!("{base}/api/admin/agencies"))
        .json(&serde_json::json!({
            "id": "csn", "name": "CSN", "hours": "mån-fre 9-16", "languages": ["sv", "en"]
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 422);
    let body = refused.text().await.unwrap();
    assert!(
        body.contains("mon-fri 09:00-16:00"),
        "the error shows the form: {body}"
    );

    admin
        .post(format!("{base}/api/admin/agencies"))
        .json(&serde_json::json!({
            "id": "csn", "name": "CSN", "hours": "closed", "languages": ["sv", "en"]
        }))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    let csn_open = entrance
        .expect("the agencies update", |m| match m {
            BrokerToKiosk::Agencies { agencies } => agencies
                .iter()
                .find(|a| a.agency.as_str() == "csn")
                .map(|a| a.open_now),
            _ => None,
        })
        .await
        .unwrap();
    assert!(!csn_open);

    entrance.start_visit("csn", "sv").await.unwrap();
    let error = entrance.error().await.unwrap();
    assert_eq!(error.code, ErrorCode::AgencyClosed, "{error:?}");

    // Another agency still takes the visit.
    entrance.start_visit("skatteverket", "sv").await.unwrap();
    entrance
        .expect("queued", |m| {
            matches!(m, BrokerToKiosk::Queued { .. }).then_some(())
        })
        .await
        .unwrap();
    broker.broker.shutdown().await;
}
