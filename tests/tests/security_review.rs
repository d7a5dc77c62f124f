//! The security review's findings (issue 19), each as it was tried then, against a real
//! broker: one test per finding, named after it. TURN's (H1, and M5 for TURN over TCP) are
//! in `turn.rs`, the kiosk's local API (L3) and document recipient (M3) in the kiosk crate.

use nara_broker::clock::ManualClock;
use nara_protocol::desk::*;
use nara_protocol::kiosk::*;
use nara_protocol::*;
use nara_tests::harness::*;
use serde_json::{json, Value};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

fn base(broker: &TestBroker) -> String {
    format!("https://localhost:{}", broker.addr().port())
}

fn id<T: TryFrom<String, Error = String>>(s: &str) -> T {
    T::try_from(s.to_string()).unwrap()
}

/// A browser-like client from `source` (any 127.x address is this machine).
fn client_from(broker: &TestBroker, source: &str) -> reqwest::Client {
    let pem = std::fs::read(broker.cert_path()).unwrap();
    reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
        .cookie_store(true)
        .local_address(source.parse::<IpAddr>().unwrap())
        .build()
        .unwrap()
}

async fn send(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn log_in(client: &reqwest::Client, broker: &TestBroker, user: &str, password: &str) -> u16 {
    let request = client
        .post(format!("{}/api/login", base(broker)))
        .json(&json!({ "username": user, "password": password }));
    send(request).await.0
}

/// The national administrator makes a regional one for Stockholm and logs in as them.
async fn stockholm_admin(broker: &TestBroker, national: &reqwest::Client) -> reqwest::Client {
    let (status, body) = send(
        national
            .post(format!("{}/api/admin/staff", base(broker)))
            .json(&json!({
                "username": "sthlm.admin", "displayName": "Regionadministratör Stockholm",
                "password": "a-long-password-2026", "role": "admin", "agency": null,
                "region": "stockholm", "languages": ["sv"]
            })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let regional = http(&broker.cert_path()).unwrap();
    assert_eq!(
        log_in(&regional, broker, "sthlm.admin", "a-long-password-2026").await,
        200
    );
    regional
}

#[tokio::test]
async fn h2_a_regional_administrator_acts_in_their_region_only() {
    let broker = TestBroker::start(30_000).await.unwrap();
    let national = admin(&broker).await.unwrap();
    let regional = stockholm_admin(&broker, &national).await;
    let url = |path: &str| format!("{}{path}", base(&broker));
    let norsjo = enrol_kiosk(&broker, &national, "norsjo")
        .await
        .unwrap()
        .kiosk;
    let rinkeby = enrol_kiosk(&broker, &national, "rinkeby")
        .await
        .unwrap()
        .kiosk;

    // Another region's kiosks, sites and administrators are out of reach.
    let refused = [
        regional.post(url(&format!("/api/admin/kiosks/{norsjo}/revoke"))),
        regional
            .post(url(&format!("/api/admin/kiosks/{norsjo}/out-of-service")))
            .json(&json!({ "message": "Trasig" })),
        regional.post(url(&format!("/api/admin/kiosks/{norsjo}/self-test"))),
        regional
            .post(url("/api/admin/kiosks"))
            .json(&json!({ "site": "lycksele", "name": "Entré" })),
        regional
            .post(url("/api/admin/sites"))
            .json(&json!({ "id": "norsjo", "name": "Norsjö", "region": "stockholm" })),
        regional.post(url("/api/admin/staff")).json(&json!({
            "username": "new.national", "displayName": "Ny", "password": "a-long-password-2026",
            "role": "admin", "agency": null, "region": null, "languages": ["sv"]
        })),
        regional.post(url("/api/admin/staff")).json(&json!({
            "username": "x.skatteverket", "displayName": "Ny", "password": "a-long-password-2026",
            "role": "officer", "agency": "skatteverket", "region": null, "languages": ["sv"]
        })),
        regional.post(url("/api/bookings")).json(
            &json!({ "agency": "csn", "language": "sv", "appointmentAt": 1_900_000_000_000u64 }),
        ),
        regional.get(url("/api/bookings")),
        regional.get(url("/api/agencies/csn/queues")),
        regional.post(url("/api/admin/agencies")).json(&json!({
            "id": "csn", "name": "CSN", "hours": "daily 00:00-24:00", "languages": ["sv"]
        })),
    ];
    for request in refused {
        let (status, body) = send(request).await;
        assert_eq!(status, 403, "{body}");
        assert_eq!(body["code"], "forbidden", "{body}");
    }
    let detail = get_json(&national, &broker, &format!("/api/admin/kiosks/{norsjo}"))
        .await
        .unwrap();
    assert_eq!(detail["revoked"], false);
    assert_eq!(detail["outOfService"], Value::Null);
    let sites = get_json(&national, &broker, "/api/admin/sites")
        .await
        .unwrap();
    let norsjo_site = sites
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "norsjo");
    assert_eq!(norsjo_site.unwrap()["region"], "vasterbotten");

    // Their own region's are theirs to run.
    let (status, body) = send(
        regional
            .post(url(&format!("/api/admin/kiosks/{rinkeby}/out-of-service")))
            .json(&json!({ "message": "Skannern byts" })),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    // What they read is their region's.
    let audit = get_json(&regional, &broker, "/api/admin/audit")
        .await
        .unwrap();
    let targets: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["target"].as_str().unwrap())
        .collect();
    assert!(targets.contains(&rinkeby.as_str()), "{targets:?}");
    assert!(!targets.contains(&norsjo.as_str()), "{targets:?}");
    let staff = get_json(&regional, &broker, "/api/admin/staff")
        .await
        .unwrap();
    let admins: Vec<&str> = staff
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["role"] == "admin")
        .map(|s| s["username"].as_str().unwrap())
        .collect();
    assert_eq!(admins, ["sthlm.admin"]);
    let sites = get_json(&regional, &broker, "/api/admin/sites")
        .await
        .unwrap();
    assert!(sites
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["region"] == "stockholm"));

    // A visit at Norsjö counts in national statistics, not in Stockholm's.
    let identity = enrol_kiosk(&broker, &national, "norsjo").await.unwrap();
    let mut entrance = kiosk(broker.addr(), &broker.cert_path(), &identity, None)
        .await
        .unwrap();
    entrance.start_visit("csn", "sv").await.unwrap();
    let visit = entrance.queued().await.unwrap();
    entrance
        .send(&KioskToBroker::EndVisit { visit })
        .await
        .unwrap();
    let by_site = "/api/statistics?groupBy=site";
    let mut national_sites = Value::Null;
    for _ in 0..100 {
        national_sites = get_json(&national, &broker, by_site).await.unwrap();
        if national_sites.to_string().contains("norsjo") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        national_sites.to_string().contains("norsjo"),
        "{national_sites}"
    );
    let regional_sites = get_json(&regional, &broker, by_site).await.unwrap();
    assert_eq!(regional_sites, json!([]));
    broker.broker.shutdown().await;
}

#[tokio::test]
async fn m1_a_kiosk_revoked_before_enrolling_cannot_enrol() {
    let broker = TestBroker::start(30_000).await.unwrap();
    let national = admin(&broker).await.unwrap();
    let (status, created) = send(
        national
            .post(format!("{}/api/admin/kiosks", base(&broker)))
            .json(&json!({ "site": "norsjo", "name": "Entré" })),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    let kiosk = created["kiosk"].as_str().unwrap();
    let revoke = format!("{}/api/admin/kiosks/{kiosk}/revoke", base(&broker));
    assert_eq!(send(national.post(revoke)).await.0, 200);

    let csr = certificate_request(&rcgen::KeyPair::generate().unwrap()).unwrap();
    let (status, body) = send(
        http(&broker.cert_path())
            .unwrap()
            .post(format!("{}/api/kiosk/enrol", base(&broker)))
            .json(&json!({ "code": created["enrolmentCode"], "csrPem": csr })),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    let detail = get_json(&national, &broker, &format!("/api/admin/kiosks/{kiosk}"))
        .await
        .unwrap();
    assert_eq!(detail["revoked"], true);
    assert_eq!(detail["enrolled"], false);
    broker.broker.shutdown().await;
}

#[tokio::test]
async fn m2_a_new_account_never_overwrites_another() {
    let broker = TestBroker::start(30_000).await.unwrap();
    let national = admin(&broker).await.unwrap();
    let (status, body) = send(
        national
            .post(format!("{}/api/admin/staff", base(&broker)))
            .json(&json!({
                "username": "omar-csn", "displayName": "Omar på Skatteverket",
                "password": "a-long-password-2026", "role": "officer",
                "agency": "skatteverket", "region": null, "languages": ["sv"]
            })),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("taken"),
        "{body}"
    );

    let omar = http(&broker.cert_path()).unwrap();
    login(&omar, broker.addr(), "omar.csn").await.unwrap();
    let me = get_json(&omar, &broker, "/api/me").await.unwrap();
    assert_eq!(me["agency"], "csn");
    broker.broker.shutdown().await;
}

async fn offer(desk: &mut Desk) -> anyhow::Result<OfferId> {
    desk.expect("an offer", |m| match m {
        BrokerToDesk::Offer { offer, .. } => Some(offer.clone()),
        _ => None,
    })
    .await
}

/// A kiosk in a call with Omar (CSN), and Amir interpreting.
struct Meeting {
    kiosk: Kiosk,
    omar: Desk,
    amir: Desk,
    call: CallId,
    visit: VisitId,
}

async fn meeting_with_interpreter(broker: &TestBroker) -> Meeting {
    let national = admin(broker).await.unwrap();
    let identity = enrol_kiosk(broker, &national, "rinkeby").await.unwrap();
    let mut kiosk = kiosk(broker.addr(), &broker.cert_path(), &identity, None)
        .await
        .unwrap();
    let mut omar = desk(broker, "omar.csn").await.unwrap();
    omar.go_available().await.unwrap();
    kiosk.start_visit("csn", "ar").await.unwrap();
    let visit = kiosk.queued().await.unwrap();
    let answer = offer(&mut omar).await.unwrap();
    omar.send(&DeskToBroker::AcceptOffer { offer: answer })
        .await
        .unwrap();
    let call = omar
        .expect("the call", |m| match m {
            BrokerToDesk::CallStarted { call, .. } => Some(call.clone()),
            _ => None,
        })
        .await
        .unwrap();
    let mut amir = desk(broker, "tolk.amir").await.unwrap();
    amir.go_available().await.unwrap();
    omar.send(&DeskToBroker::Invite {
        call: call.clone(),
        target: InviteTarget::Interpreter { language: id("ar") },
    })
    .await
    .unwrap();
    let interpret = offer(&mut amir).await.unwrap();
    amir.send(&DeskToBroker::AcceptOffer { offer: interpret })
        .await
        .unwrap();
    kiosk
        .expect("the interpreter joined", |m| {
            matches!(m, BrokerToKiosk::ParticipantJoined { .. }).then_some(())
        })
        .await
        .unwrap();
    Meeting {
        kiosk,
        omar,
        amir,
        call,
        visit,
    }
}

#[tokio::test]
async fn m3_only_the_officer_asks_for_documents_and_brings_people_in() {
    let broker = TestBroker::start(30_000).await.unwrap();
    let mut m = meeting_with_interpreter(&broker).await;

    m.amir
        .send(&DeskToBroker::RequestDocument {
            call: m.call.clone(),
        })
        .await
        .unwrap();
    let refused = m.amir.error().await.unwrap();
    assert_eq!(refused.code, ErrorCode::Forbidden, "{}", refused.message);
    m.amir
        .send(&DeskToBroker::Invite {
            call: m.call.clone(),
            target: InviteTarget::Officer {
                agency: id("skatteverket"),
            },
        })
        .await
        .unwrap();
    let refused = m.amir.error().await.unwrap();
    assert_eq!(refused.code, ErrorCode::NotOwner, "{}", refused.message);

    // The officer's request reaches the kiosk, naming the officer.
    m.omar
        .send(&DeskToBroker::RequestDocument {
            call: m.call.clone(),
        })
        .await
        .unwrap();
    let asked_by = m
        .kiosk
        .expect("the request", |msg| match msg {
            BrokerToKiosk::DocumentRequested { by, .. } => Some(by.clone()),
            _ => None,
        })
        .await
        .unwrap();
    assert_eq!(asked_by.as_str(), "omar-csn");

    // L5: a document "sent" to someone outside the call is not recorded.
    m.kiosk
        .send(&KioskToBroker::DocumentSent {
            visit: m.visit.clone(),
            to: id("anna-skatteverket"),
            pages: 1,
            bytes: 1000,
        })
        .await
        .unwrap();
    let refused = m.kiosk.error().await.unwrap();
    assert_eq!(refused.code, ErrorCode::Forbidden);
    // Nor one "sent" to the interpreter, who is in the call.
    m.kiosk
        .send(&KioskToBroker::DocumentSent {
            visit: m.visit.clone(),
            to: id("tolk-amir"),
            pages: 1,
            bytes: 1000,
        })
        .await
        .unwrap();
    let refused = m.kiosk.error().await.unwrap();
    assert_eq!(refused.code, ErrorCode::Forbidden, "{}", refused.message);
    m.kiosk
        .send(&KioskToBroker::DocumentSent {
            visit: m.visit.clone(),
            to: id("omar-csn"),
            pages: 1,
            bytes: 1000,
        })
        .await
        .unwrap();
    m.omar
        .expect("the document noted", |msg| {
            matches!(msg, BrokerToDesk::DocumentNoted { pages: 1, .. }).then_some(())
        })
        .await
        .unwrap();
    broker.broker.shutdown().await;
}

#[tokio::test]
async fn m4_failed_logins_are_throttled_audited_and_never_lock_the_officer_out() {
    // The throttle's waits are seconds long; on a loaded machine the guesses alone can take
    // that long, so the broker's clock stands still until the test moves it.
    let clock = Arc::new(ManualClock::stopped_now());
    let broker = TestBroker::start_on_clock(30_000, |_| {}, clock.clone())
        .await
        .unwrap();
    let password = nara_broker::demo::DEMO_PASSWORD;
    // Omar logs in at his own desk once; that address is his from then on.
    let desk = client_from(&broker, "127.0.0.2");
    assert_eq!(log_in(&desk, &broker, "omar.csn", password).await, 200);

    // Forty guesses at once from elsewhere.
    let attacker = client_from(&broker, "127.0.0.1");
    let guesses = (0..40).map(|n| {
        let attacker = attacker.clone();
        let url = format!("{}/api/login", base(&broker));
        async move {
            let response = attacker
                .post(url)
                .json(&json!({ "username": "omar.csn", "password": format!("guess-{n}") }))
                .send()
                .await
                .unwrap();
            let retry_after: Option<u64> = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok()?.parse().ok());
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap();
            (status, retry_after, body)
        }
    });
    let answers = futures_util::future::join_all(guesses).await;
    let checked = answers.iter().filter(|(s, _, _)| *s == 401).count();
    let throttled: Vec<_> = answers.iter().filter(|(s, _, _)| *s == 429).collect();
    assert!(checked <= 5, "{checked} passwords were tried");
    assert_eq!(checked + throttled.len(), answers.len());
    for (_, retry_after, body) in &throttled {
        assert!(retry_after.is_some_and(|s| s > 0), "{body}");
        assert_eq!(body["code"], "tooManyRequests");
        assert!(
            body["message"].as_str().unwrap().contains("try again in"),
            "{body}"
        );
    }
    // The guesser cannot simply try the right one now ...
    assert_eq!(log_in(&attacker, &broker, "omar.csn", password).await, 429);
    // ... and Omar, at his desk, gets in.
    assert_eq!(log_in(&desk, &broker, "omar.csn", password).await, 200);
    // Once the wait is over the guesser may try again, and that try counts.
    let wait = throttled.iter().filter_map(|t| t.1).max().unwrap();
    clock.advance(wait * 1000);
    assert_eq!(
        log_in(&attacker, &broker, "omar.csn", "guess-again").await,
        401
    );
    assert_eq!(log_in(&attacker, &broker, "omar.csn", password).await, 429);

    let national = admin_from(&broker).await;
    let audit = get_json(&national, &broker, "/api/admin/audit")
        .await
        .unwrap();
    let failures = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "login failed" && e["target"] == "omar.csn")
        .count();
    assert_eq!(failures, checked + 1);
    broker.broker.shutdown().await;
}

/// The national administrator, from an address of their own (the throttle is per address).
async fn admin_from(broker: &TestBroker) -> reqwest::Client {
    let client = client_from(broker, "127.0.0.9");
    let status = log_in(&client, broker, "admin", nara_broker::demo::DEMO_PASSWORD).await;
    assert_eq!(status, 200);
    client
}

/// A TLS connection from `source` that says nothing after its handshake.
async fn silent_tls(
    broker: &TestBroker,
    source: &str,
) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    let tcp = connect_from(source.parse().unwrap(), broker.addr())
        .await
        .unwrap();
    let tls = tls_client(&broker.cert_path(), None).unwrap();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(tls));
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    connector.connect(name, tcp).await.unwrap()
}

#[tokio::test]
async fn m5_connections_that_never_ask_are_cut_off_and_one_address_is_capped() {
    let broker = TestBroker::start_with(30_000, |config| {
        config.limits.handshake_timeout_seconds = 3;
        config.limits.max_connections_per_address = 3;
    })
    .await
    .unwrap();
    let started = std::time::Instant::now();
    let mut silent = Vec::new();
    for _ in 0..3 {
        silent.push(silent_tls(&broker, "127.0.0.3").await);
    }
    // A fourth from that address is dropped before its handshake.
    let mut fourth = connect_from("127.0.0.3".parse().unwrap(), broker.addr())
        .await
        .unwrap();
    let refused = closed_within(&mut fourth, Duration::from_millis(1500)).await;
    assert!(refused.is_some());
    // Others are served meanwhile.
    let others = client_from(&broker, "127.0.0.4");
    let health = others.get(format!("{}/healthz", base(&broker)));
    assert_eq!(send(health).await.0, 200);

    for stream in &mut silent {
        assert!(
            closed_within(stream, PATIENCE).await.is_some(),
            "a silent connection is cut off"
        );
    }
    assert!(
        started.elapsed() >= Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    // The address has its places back.
    let again = client_from(&broker, "127.0.0.3");
    let health = again.get(format!("{}/healthz", base(&broker)));
    assert_eq!(send(health).await.0, 200);
    broker.broker.shutdown().await;
}

/// A desk connected under a fresh login, and the client holding that login's cookie.
async fn desk_with_login(broker: &TestBroker, user: &str) -> (Desk, reqwest::Client) {
    let client = http(&broker.cert_path()).unwrap();
    let cookie = login(&client, broker.addr(), user).await.unwrap();
    let socket = websocket(
        broker.addr(),
        "/ws/desk",
        tls_client(&broker.cert_path(), None).unwrap(),
        &[("cookie", cookie), ("origin", base(broker))],
    )
    .await
    .unwrap();
    let mut desk = Desk::new(socket);
    desk.send(&DeskToBroker::Hello {
        protocol_version: PROTOCOL_VERSION,
    })
    .await
    .unwrap();
    desk.expect("welcome", |m| {
        matches!(m, BrokerToDesk::Welcome { .. }).then_some(())
    })
    .await
    .unwrap();
    (desk, client)
}

async fn session_ended(desk: &mut Desk) -> ErrorReply {
    desk.expect("the session's end", |m| match m {
        BrokerToDesk::Error(e) if e.code == ErrorCode::SessionEnded => Some(e.clone()),
        _ => None,
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn l1_a_desk_closes_when_its_session_ends() {
    let broker = TestBroker::start_with(30_000, |config| config.limits.session_seconds = 2)
        .await
        .unwrap();
    let (mut anna, client) = desk_with_login(&broker, "anna.csn").await;
    let logout = client.post(format!("{}/api/logout", base(&broker)));
    assert_eq!(send(logout).await.0, 200);
    let ended = session_ended(&mut anna).await;
    assert!(
        ended.fatal && ended.message.contains("logged out"),
        "{ended:?}"
    );
    assert!(anna.closed().await);

    let (mut omar, _) = desk_with_login(&broker, "omar.csn").await;
    let expired = session_ended(&mut omar).await;
    assert!(expired.message.contains("expired"), "{expired:?}");
    assert!(omar.closed().await);
    broker.broker.shutdown().await;
}

#[tokio::test]
async fn l2_state_changes_from_another_site_are_refused() {
    let broker = TestBroker::start(30_000).await.unwrap();
    let national = admin(&broker).await.unwrap();
    let kiosk = enrol_kiosk(&broker, &national, "norsjo")
        .await
        .unwrap()
        .kiosk;
    let revoke = format!("{}/api/admin/kiosks/{kiosk}/revoke", base(&broker));
    let (status, body) = send(
        national
            .post(&revoke)
            .header("origin", "https://evil.example")
            .header("sec-fetch-site", "cross-site"),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert!(body["message"].as_str().unwrap().contains("evil.example"));
    let (status, _) = send(
        national
            .post(&revoke)
            .header("sec-fetch-site", "cross-site"),
    )
    .await;
    assert_eq!(status, 403, "a cross-site request without Origin too");
    let detail = get_json(&national, &broker, &format!("/api/admin/kiosks/{kiosk}"))
        .await
        .unwrap();
    assert_eq!(detail["revoked"], false);

    let (status, body) = send(
        national
            .post(&revoke)
            .header("origin", base(&broker))
            .header("sec-fetch-site", "same-origin"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    broker.broker.shutdown().await;
}

#[tokio::test]
async fn l4_secrets_and_the_database_are_the_brokers_alone() {
    use std::os::unix::fs::PermissionsExt;
    let broker = TestBroker::start(30_000).await.unwrap();
    let dir = broker.data_dir.path();
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(dir), 0o700);
    for private in [
        "turn.secret",
        "nara.db",
        "tls/server.key",
        "pki/kiosk-ca.key",
    ] {
        assert_eq!(mode(&dir.join(private)), 0o600, "{private}");
    }
    broker.broker.shutdown().await;
}

#[tokio::test]
async fn l5_hsts_roles_turn_and_kiosk_certificates() {
    let broker = TestBroker::start(30_000).await.unwrap();
    let national = admin(&broker).await.unwrap();
    let response = national
        .get(format!("{}/api/me", base(&broker)))
        .send()
        .await
        .unwrap();
    let hsts = response.headers().get("strict-transport-security").unwrap();
    assert!(hsts.to_str().unwrap().starts_with("max-age="));

    // Directory reads for the roles that need them.
    let officer = http(&broker.cert_path()).unwrap();
    login(&officer, broker.addr(), "anna.csn").await.unwrap();
    let interpreter = http(&broker.cert_path()).unwrap();
    login(&interpreter, broker.addr(), "tolk.amir")
        .await
        .unwrap();
    let read =
        |client: &reqwest::Client, path: &str| client.get(format!("{}{path}", base(&broker)));
    assert_eq!(send(read(&officer, "/api/admin/agencies")).await.0, 200);
    assert_eq!(send(read(&officer, "/api/admin/sites")).await.0, 403);
    assert_eq!(send(read(&interpreter, "/api/admin/agencies")).await.0, 403);
    assert_eq!(send(read(&interpreter, "/api/admin/sites")).await.0, 403);

    // An administrator takes no calls and is handed no TURN credentials.
    let admin_desk = desk(&broker, "admin").await.unwrap();
    let handed: Vec<&IceServer> = admin_desk
        .seen
        .iter()
        .filter_map(|m| match m {
            BrokerToDesk::Welcome { ice_servers, .. } => Some(ice_servers),
            _ => None,
        })
        .flatten()
        .collect();
    assert!(handed.is_empty(), "{handed:?}");

    // A kiosk's certificate lasts 90 days, and the kiosk renews it over mutual TLS.
    let identity = enrol_kiosk(&broker, &national, "norsjo").await.unwrap();
    let life = |der: &[u8]| {
        let until = nara_broker::pki::not_after(der).unwrap();
        until.duration_since(std::time::SystemTime::now()).unwrap()
    };
    let days = life(&identity.chain[0]).as_secs() / 86_400;
    assert!((89..=90).contains(&days), "{days} days");
    let renewing = reqwest::Client::builder()
        .use_preconfigured_tls(identity.tls(&broker.cert_path()).unwrap())
        .build()
        .unwrap();
    let key = rcgen::KeyPair::from_pem(&identity.key_pem).unwrap();
    let csr = certificate_request(&key).unwrap();
    let renew = format!("{}/api/kiosk/renew", base(&broker));
    let (status, renewed) = send(renewing.post(&renew).json(&json!({ "csrPem": csr }))).await;
    assert_eq!(status, 200, "{renewed}");
    let chain = rustls_pemfile::certs(&mut renewed["certificatePem"].as_str().unwrap().as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let fresh = KioskIdentity {
        kiosk: identity.kiosk.clone(),
        chain,
        key_pem: identity.key_pem.clone(),
    };
    // Until the kiosk uses the new one, the old still works: an answer lost on the way must
    // not lock the kiosk out.
    kiosk(broker.addr(), &broker.cert_path(), &identity, None)
        .await
        .expect("the old certificate, before the new one is used");
    kiosk(broker.addr(), &broker.cert_path(), &fresh, None)
        .await
        .expect("the renewed certificate is accepted");
    assert!(
        kiosk(broker.addr(), &broker.cert_path(), &identity, None)
            .await
            .is_err(),
        "the replaced certificate is not, once the new one was used"
    );
    let anonymous = http(&broker.cert_path()).unwrap();
    let (status, _) = send(anonymous.post(&renew).json(&json!({ "csrPem": csr }))).await;
    assert_eq!(status, 403, "renewal needs a kiosk certificate");
    broker.broker.shutdown().await;
}

#[tokio::test]
async fn d1_every_error_is_json_and_documented() {
    let broker = TestBroker::start(30_000).await.unwrap();
    let national = admin(&broker).await.unwrap();
    let url = |path: &str| format!("{}{path}", base(&broker));
    let cases = [
        (
            national
                .post(url("/api/admin/kiosks"))
                .header("content-type", "text/plain")
                .body("site=norsjo"),
            415,
            "unsupportedMediaType",
        ),
        (
            national
                .post(url("/api/admin/kiosks"))
                .header("content-type", "application/json")
                .body("{\"site\":"),
            400,
            "badRequest",
        ),
        (
            national
                .post(url("/api/admin/kiosks"))
                .json(&json!({ "site": 7 })),
            400,
            "badRequest",
        ),
        (
            national.delete(url("/api/admin/kiosks")),
            405,
            "methodNotAllowed",
        ),
        (
            national.get(url("/api/statistics?groupBy=week")),
            400,
            "badRequest",
        ),
        (national.get(url("/api/no-such-thing")), 404, "notFound"),
    ];
    for (request, status, code) in cases {
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), status);
        let kind = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(kind.starts_with("application/json"), "{kind}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], code, "{body}");
        assert!(!body["message"].as_str().unwrap().is_empty());
    }

    // Every reference in the OpenAPI document resolves, and every operation documents the
    // answers any request can get.
    let document = get_json(&national, &broker, "/api/openapi.json")
        .await
        .unwrap();
    let text = document.to_string();
    for reference in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = reference.split('"').next().unwrap();
        assert!(
            document["components"]["schemas"].get(name).is_some(),
            "{name} is referenced but not defined"
        );
    }
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            for status in ["400", "405", "500"] {
                assert!(
                    operation["responses"].get(status).is_some(),
                    "{method} {path} does not document {status}"
                );
            }
        }
    }
    broker.broker.shutdown().await;
}
