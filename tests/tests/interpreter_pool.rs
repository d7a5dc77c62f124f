//! Administrators manage the interpreters' pool: the languages each interprets and the
//! agencies each serves. A change counts at once for someone logged in, and what does not fit
//! is refused with what was wrong.

use nara_protocol::desk::{BrokerToDesk, OfferPurpose};
use nara_protocol::kiosk::BrokerToKiosk;
use nara_protocol::WaitRange;
use nara_tests::harness::{admin, desk, enrol_kiosk, kiosk, BrokerEndpoint, TestBroker};
use serde_json::{json, Value};

/// `person` as the administrators' list of people shows them.
async fn listed(admin: &reqwest::Client, base: &str, person: &str) -> Value {
    let everyone: Vec<Value> = admin
        .get(format!("{base}/api/admin/staff"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    everyone
        .into_iter()
        .find(|p| p["id"] == person)
        .unwrap_or_else(|| panic!("{person} is not listed"))
}

#[tokio::test]
async fn an_interpreter_serves_the_agencies_an_administrator_names() {
    let broker = TestBroker::start(30_000).await.unwrap();
    let admin = admin(&broker).await.unwrap();
    let base = format!("https://localhost:{}", broker.addr().port());
    let abilities = |person: &str| format!("{base}/api/admin/staff/{person}/abilities");

    // Selam interprets Tigrinya, for CSN only.
    let saved: Value = admin
        .put(abilities("tolk-selam"))
        .json(&json!({ "languages": ["ti", "sv"], "serves": ["csn"] }))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(saved["serves"], json!(["csn"]), "{saved}");
    let selam = listed(&admin, &base, "tolk-selam").await;
    assert_eq!(selam["languages"], json!(["ti", "sv"]));

    // Logged in and available, she is not rung for Skatteverket: the citizen there is told
    // that no interpreter is here, rather than kept waiting for one who will not come.
    let mut selam = desk(&broker, "tolk.selam").await.unwrap();
    selam.go_available().await.unwrap();
    let mut maria = desk(&broker, "maria.skatteverket").await.unwrap();
    maria.go_available().await.unwrap();
    let identity = enrol_kiosk(&broker, &admin, "rinkeby").await.unwrap();
    let mut entrance = kiosk(broker.addr(), &broker.cert_path(), &identity, None)
        .await
        .unwrap();
    entrance.start_visit("skatteverket", "ti").await.unwrap();
    let wait = entrance
        .expect("the first estimate", |m| match m {
            BrokerToKiosk::Queued { estimate, .. } => Some(estimate.wait.clone()),
            _ => None,
        })
        .await
        .unwrap();
    assert_eq!(wait, WaitRange::NoInterpreterOnline);

    // Now she serves Skatteverket too: it counts at once, and both desks ring.
    admin
        .put(abilities("tolk-selam"))
        .json(&json!({ "languages": ["ti", "sv"], "serves": ["csn", "skatteverket"] }))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    let purpose = selam
        .expect("the interpreter's offer", |m| match m {
            BrokerToDesk::Offer { purpose, .. } => Some(purpose.clone()),
            _ => None,
        })
        .await
        .unwrap();
    assert!(
        matches!(purpose, OfferPurpose::Interpret { .. }),
        "{purpose:?}"
    );
    let purpose = maria
        .expect("the officer's offer", |m| match m {
            BrokerToDesk::Offer { purpose, .. } => Some(purpose.clone()),
            _ => None,
        })
        .await
        .unwrap();
    assert!(
        matches!(purpose, OfferPurpose::AnswerWithInterpreter { .. }),
        "{purpose:?}"
    );
}

#[tokio::test]
async fn what_does_not_fit_a_person_is_refused_with_the_reason() {
    let broker = TestBroker::start(30_000).await.unwrap();
    let admin = admin(&broker).await.unwrap();
    let base = format!("https://localhost:{}", broker.addr().port());
    let abilities = |person: &str| format!("{base}/api/admin/staff/{person}/abilities");
    let refused = [
        (
            "tolk-selam",
            json!({ "languages": ["ti"], "skills": ["tax"] }),
            422,
            "only officers have skills",
        ),
        (
            "anna-csn",
            json!({ "languages": ["sv"], "serves": ["csn"] }),
            422,
            "only interpreters serve",
        ),
        (
            "tolk-selam",
            json!({ "languages": ["ti"], "serves": ["nowhere"] }),
            422,
            "no agency",
        ),
        (
            "tolk-selam",
            json!({ "languages": ["Tigrinya"] }),
            422,
            "ISO 639",
        ),
        (
            "tolk-selam",
            json!({ "languages": [] }),
            422,
            "at least one language",
        ),
        (
            "nobody",
            json!({ "languages": ["sv"] }),
            404,
            "no person nobody",
        ),
    ];
    for (person, body, status, reason) in refused {
        let response = admin
            .put(abilities(person))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{person} {body}");
        let text = response.text().await.unwrap();
        assert!(text.contains(reason), "{person} {body}: {text}");
    }
    // An officer's topics are saved and listed.
    admin
        .put(abilities("anna-csn"))
        .json(&json!({ "languages": ["sv", "en"], "skills": ["studiemedel"] }))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    let anna = listed(&admin, &base, "anna-csn").await;
    assert_eq!(anna["skills"], json!(["studiemedel"]));
}
