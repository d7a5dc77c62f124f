//! `/api/openapi.json` describes the REST API that is really served.

use nara_tests::harness::{admin, http, BrokerEndpoint, TestBroker};

#[tokio::test]
async fn the_openapi_document_lists_every_route_and_each_answers() {
    let broker = TestBroker::start(30_000).await.unwrap();
    let base = format!("https://localhost:{}", broker.addr().port());
    let doc: serde_json::Value = http(&broker.cert_path())
        .unwrap()
        .get(format!("{base}/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."), "{doc}");
    assert_eq!(doc["info"]["title"], "Nära broker API");
    assert_eq!(
        doc["components"]["securitySchemes"]["session"]["name"],
        "nara_session"
    );
    let paths = doc["paths"].as_object().unwrap();
    for (path, methods) in [
        ("/healthz", &["get"][..]),
        ("/metrics", &["get"]),
        ("/api/login", &["post"]),
        ("/api/logout", &["post"]),
        ("/api/me", &["get"]),
        ("/api/kiosk/enrol", &["post"]),
        ("/api/agencies/{agency}/queues", &["get"]),
        ("/api/bookings", &["get", "post"]),
        ("/api/statistics", &["get"]),
        ("/api/statistics.csv", &["get"]),
        ("/api/admin/kiosks", &["get", "post"]),
        ("/api/admin/kiosks/{kiosk}", &["get"]),
        ("/api/admin/kiosks/{kiosk}/revoke", &["post"]),
        ("/api/admin/kiosks/{kiosk}/self-test", &["post"]),
        ("/api/admin/kiosks/{kiosk}/out-of-service", &["post"]),
        ("/api/admin/agencies", &["get", "post"]),
        ("/api/admin/sites", &["get", "post"]),
        ("/api/admin/staff", &["get", "post"]),
        ("/api/admin/audit", &["get"]),
    ] {
        for method in methods {
            assert!(
                paths.get(path).and_then(|p| p.get(*method)).is_some(),
                "{method} {path} is not documented"
            );
        }
    }
    assert!(
        doc["components"]["schemas"]["KioskView"]["properties"]["alerts"].is_object(),
        "schemas describe the bodies"
    );

    // Every documented GET without path parameters is really served.
    let admin = admin(&broker).await.unwrap();
    for (path, methods) in paths {
        if path.contains('{') || methods.get("get").is_none() {
            continue;
        }
        let status = admin
            .get(format!("{base}{path}"))
            .send()
            .await
            .unwrap()
            .status();
        assert!(status.is_success(), "GET {path}: {status}");
    }
    broker.broker.shutdown().await;
}
