//! Kill the broker process (SIGKILL) with visits waiting, start it again on the same data:
//! the visits are still queued in their order, and kiosks and officers reconnect.

use nara_protocol::desk::{BrokerToDesk, DeskToBroker, QueueView};
use nara_protocol::kiosk::BrokerToKiosk;
use nara_protocol::VisitId;
use nara_tests::harness::{
    admin, desk, enrol_kiosk, kiosk, BrokerEndpoint, BrokerProcess, Desk, Kiosk, KioskIdentity,
};
use std::path::Path;

const BROKER: &str = env!("CARGO_BIN_EXE_broker-process");

async fn start_visit(identity: &KioskIdentity, broker: &BrokerProcess) -> (Kiosk, VisitId) {
    let mut entrance = kiosk(broker.addr(), &broker.cert_path(), identity, None)
        .await
        .unwrap();
    entrance.start_visit("csn", "sv").await.unwrap();
    let visit = entrance
        .expect("queued", |m| match m {
            BrokerToKiosk::Queued { visit, .. } => Some(visit.clone()),
            _ => None,
        })
        .await
        .unwrap();
    (entrance, visit)
}

async fn csn_swedish_queue(officer: &mut Desk) -> QueueView {
    officer.send(&DeskToBroker::RefreshQueues).await.unwrap();
    officer
        .expect("CSN's Swedish queue", |m| match m {
            BrokerToDesk::Queues { queues } => queues
                .iter()
                .find(|q| q.agency.as_str() == "csn" && q.language.as_str() == "sv")
                .cloned(),
            _ => None,
        })
        .await
        .unwrap()
}

fn waiting(queue: &QueueView) -> Vec<VisitId> {
    queue.waiting.iter().map(|w| w.visit.clone()).collect()
}

#[tokio::test]
async fn waiting_visits_survive_a_killed_broker_in_order() {
    let data = tempfile::tempdir().unwrap();
    let first = BrokerProcess::start(Path::new(BROKER), data.path())
        .await
        .unwrap();
    let admin_client = admin(&first).await.unwrap();
    let mut identities = Vec::new();
    for site in ["norsjo", "rinkeby", "rosengard"] {
        identities.push(enrol_kiosk(&first, &admin_client, site).await.unwrap());
    }
    // The kiosks stay connected until the broker dies under them.
    let mut connected = Vec::new();
    let mut visits = Vec::new();
    for identity in &identities {
        let (entrance, visit) = start_visit(identity, &first).await;
        connected.push(entrance);
        visits.push(visit);
    }
    let mut officer = desk(&first, "anna.csn").await.unwrap();
    assert_eq!(waiting(&csn_swedish_queue(&mut officer).await), visits);

    first.kill().await.unwrap();
    assert!(
        officer.closed().await,
        "the desk notices the broker is gone"
    );
    for mut entrance in connected {
        assert!(
            entrance.closed().await,
            "the kiosk notices the broker is gone"
        );
    }

    let second = BrokerProcess::start(Path::new(BROKER), data.path())
        .await
        .unwrap();
    // Officers log in again and see the same queue, in the same order.
    let mut officer = desk(&second, "anna.csn").await.unwrap();
    assert_eq!(waiting(&csn_swedish_queue(&mut officer).await), visits);

    // Kiosks reconnect with their certificates and resume their own visits.
    let mut kiosks = Vec::new();
    for (identity, visit) in identities.iter().zip(&visits) {
        let mut entrance = kiosk(
            second.addr(),
            &second.cert_path(),
            identity,
            Some(visit.clone()),
        )
        .await
        .unwrap();
        let resumed = entrance
            .expect("the resumed visit", |m| match m {
                BrokerToKiosk::Queued { visit, .. } => Some(visit.clone()),
                _ => None,
            })
            .await
            .unwrap();
        assert_eq!(&resumed, visit);
        kiosks.push(entrance);
    }

    // The first to have come is the first an officer is offered.
    officer
        .send(&DeskToBroker::SetStatus {
            status: nara_protocol::desk::AvailabilityChoice::Available,
        })
        .await
        .unwrap();
    let offered = officer
        .expect("an offer", |m| match m {
            BrokerToDesk::Offer { visit, .. } => Some(visit.clone()),
            _ => None,
        })
        .await
        .unwrap();
    assert_eq!(offered, visits[0]);
    second.kill().await.unwrap();
}
