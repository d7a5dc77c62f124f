//! Kill the broker process (SIGKILL) with visits waiting or in a call, start it again on the
//! same data: the visits are still queued in their order, calls go on, and kiosks and
//! officers reconnect to where they were.

use nara_protocol::desk::{BrokerToDesk, DeskToBroker, QueueView};
use nara_protocol::kiosk::BrokerToKiosk;
use nara_protocol::VisitId;
use nara_tests::harness::{
    admin, agency_statistics, desk, enrol_kiosk, kiosk, BrokerEndpoint, BrokerProcess, Desk, Kiosk,
    KioskIdentity,
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

#[tokio::test]
async fn a_call_goes_on_through_a_killed_broker_and_counts_once() {
    let data = tempfile::tempdir().unwrap();
    let first = BrokerProcess::start(Path::new(BROKER), data.path())
        .await
        .unwrap();
    let admin_client = admin(&first).await.unwrap();
    let identity = enrol_kiosk(&first, &admin_client, "rinkeby").await.unwrap();
    let (mut entrance, visit) = start_visit(&identity, &first).await;
    let mut officer = desk(&first, "anna.csn").await.unwrap();
    officer.go_available().await.unwrap();
    let offer = officer
        .expect("an offer", |m| match m {
            BrokerToDesk::Offer { offer, .. } => Some(offer.clone()),
            _ => None,
        })
        .await
        .unwrap();
    officer
        .send(&DeskToBroker::AcceptOffer { offer })
        .await
        .unwrap();
    let call = entrance
        .expect("the call", |m| match m {
            BrokerToKiosk::CallStarted { call, .. } => Some(call.clone()),
            _ => None,
        })
        .await
        .unwrap();

    first.kill().await.unwrap();
    assert!(
        officer.closed().await,
        "the desk notices the broker is gone"
    );
    assert!(
        entrance.closed().await,
        "the kiosk notices the broker is gone"
    );

    let second = BrokerProcess::start(Path::new(BROKER), data.path())
        .await
        .unwrap();
    // Both come back to the same call; the visit is not in the queue again.
    let mut officer = desk(&second, "anna.csn").await.unwrap();
    let resumed = officer
        .expect("the call again", |m| match m {
            BrokerToDesk::CallStarted { call, .. } => Some(call.clone()),
            _ => None,
        })
        .await
        .unwrap();
    assert_eq!(resumed, call);
    officer.send(&DeskToBroker::RefreshQueues).await.unwrap();
    let queues = officer
        .expect("the queues", |m| match m {
            BrokerToDesk::Queues { queues } => Some(queues.clone()),
            _ => None,
        })
        .await
        .unwrap();
    assert!(queues.iter().all(|q| q.waiting.is_empty()), "{queues:?}");
    let mut entrance = kiosk(
        second.addr(),
        &second.cert_path(),
        &identity,
        Some(visit.clone()),
    )
    .await
    .unwrap();
    let (resumed, owner) = entrance
        .expect("the call again", |m| match m {
            BrokerToKiosk::CallStarted { call, officer, .. } => {
                Some((call.clone(), officer.staff.clone()))
            }
            BrokerToKiosk::Queued { .. } => panic!("the visit was queued again"),
            _ => None,
        })
        .await
        .unwrap();
    assert_eq!(resumed, call);
    assert_eq!(owner.as_str(), "anna-csn");

    // It ends as any call does, and the statistics count one visit with one call.
    officer
        .send(&DeskToBroker::EndCall {
            call,
            outcome: nara_protocol::Outcome::Served,
        })
        .await
        .unwrap();
    entrance
        .expect("the end", |m| {
            matches!(m, BrokerToKiosk::VisitEnded { visit: v, .. } if *v == visit).then_some(())
        })
        .await
        .unwrap();
    let admin_client = admin(&second).await.unwrap();
    let csn = agency_statistics(&admin_client, &second, "csn")
        .await
        .unwrap();
    assert_eq!(
        (csn["visits"].as_u64(), csn["served"].as_u64()),
        (Some(1), Some(1)),
        "{csn}"
    );
    second.kill().await.unwrap();
}
