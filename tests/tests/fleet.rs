//! The kiosk fleet as an administrator runs it: heartbeats and their alerts, a self-test on
//! request, out of service and back, and the metrics that watch it all.

use nara_protocol::kiosk::{BrokerToKiosk, KioskToBroker};
use nara_protocol::{
    DeviceState, DeviceStates, ErrorCode, KioskActivity, LongText, NetworkQuality, SelfTestReport,
    ShortText,
};
use nara_tests::harness::{
    admin, enrol_kiosk, get_json, get_text, kiosk, BrokerEndpoint, TestBroker,
};

#[tokio::test]
async fn heartbeats_self_tests_and_out_of_service_reach_the_admin_and_the_kiosk() {
    let broker = TestBroker::start(30_000).await.unwrap();
    let admin = admin(&broker).await.unwrap();
    let base = format!("https://localhost:{}", broker.addr().port());
    let identity = enrol_kiosk(&broker, &admin, "norsjo").await.unwrap();
    let mut entrance = kiosk(broker.addr(), &broker.cert_path(), &identity, None)
        .await
        .unwrap();
    let detail = || {
        let admin = admin.clone();
        let url = format!("{base}/api/admin/kiosks/{}", identity.kiosk);
        async move {
            admin
                .get(url)
                .send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        }
    };

    // A heartbeat with a jammed scanner shows as an alert.
    entrance
        .send(&KioskToBroker::Heartbeat {
            devices: DeviceStates {
                camera: DeviceState::Ok,
                microphone: DeviceState::Ok,
                speaker: DeviceState::Ok,
                scanner: DeviceState::Failing {
                    detail: ShortText::new("paper jam").unwrap(),
                },
            },
            network: Some(NetworkQuality {
                rtt_ms: 40,
                loss_permille: 2,
                bitrate_kbps: 1500,
                last_interruption_ms: None,
            }),
            load_x100: 30,
            disk_free_megabytes: 9000,
            activity: KioskActivity::Idle,
        })
        .await
        .unwrap();
    let asked = admin
        .post(format!(
            "{base}/api/admin/kiosks/{}/self-test",
            identity.kiosk
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(asked.status(), 200);
    let request = entrance
        .expect("the self-test request", |m| match m {
            BrokerToKiosk::RunSelfTest { request } => Some(request.clone()),
            _ => None,
        })
        .await
        .unwrap();
    entrance
        .send(&KioskToBroker::SelfTestResult {
            request,
            report: SelfTestReport {
                passed: false,
                camera_frames: 150,
                microphone_peak_decibels_x10: Some(-240),
                scanner: DeviceState::Missing,
                turn_reachable: true,
                details: vec![ShortText::new("no scanner connected").unwrap()],
            },
        })
        .await
        .unwrap();

    // Out of service: the kiosk is told, and starts no visit even if asked to.
    admin
        .post(format!(
            "{base}/api/admin/kiosks/{}/out-of-service",
            identity.kiosk
        ))
        .json(&serde_json::json!({ "message": "Ur funktion till måndag" }))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    let shown = entrance
        .expect("out of service", |m| match m {
            BrokerToKiosk::OutOfService { message } => Some(message.clone()),
            _ => None,
        })
        .await
        .unwrap();
    assert_eq!(shown, LongText::new("Ur funktion till måndag").unwrap());
    entrance.start_visit("csn", "sv").await.unwrap();
    let refused = entrance.error().await.unwrap();
    assert_eq!(refused.code, ErrorCode::OutOfService, "{refused:?}");
    // The kiosk's messages are handled in order, so the refusal means the heartbeat and the
    // self-test result before it are stored.
    let k = detail().await;
    assert_eq!(k["online"], true, "{k}");
    let alerts: Vec<&str> = k["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a.as_str())
        .collect();
    assert!(
        alerts
            .iter()
            .any(|a| a.contains("scanner") && a.contains("paper jam")),
        "{k}"
    );

    assert_eq!(k["outOfService"], "Ur funktion till måndag", "{k}");
    assert_eq!(k["lastSelfTest"]["passed"], false, "{k}");

    admin
        .post(format!(
            "{base}/api/admin/kiosks/{}/out-of-service",
            identity.kiosk
        ))
        .json(&serde_json::json!({ "message": null }))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    entrance
        .expect("back in service", |m| {
            matches!(m, BrokerToKiosk::BackInService).then_some(())
        })
        .await
        .unwrap();

    let metrics = get_text(&admin, &broker, "/metrics").await.unwrap();
    assert!(metrics.contains("nara_kiosks_connected 1"), "{metrics}");
    assert!(metrics.contains("code=\"OutOfService\""), "{metrics}");

    let audit = get_json(&admin, &broker, "/api/admin/audit").await.unwrap();
    for action in ["out of service", "back in service"] {
        assert!(
            audit
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["action"] == action),
            "{action} not audited: {audit}"
        );
    }
    broker.broker.shutdown().await;
}
