//! The storage contract, run against SQLite always and against PostgreSQL when
//! `NARA_TEST_POSTGRES_URL` is set (`.ci/run` starts one on loopback and sets it; a run
//! with `CI=true` and no PostgreSQL fails rather than skipping).

use nara_broker::routing::{QueueKey, WaitingRecord};
use nara_broker::storage::sql::SqlStore;
use nara_broker::storage::*;

fn id<T: TryFrom<String, Error = String>>(s: &str) -> T {
    T::try_from(s.to_string()).unwrap()
}

async fn stores() -> Vec<(String, SqlStore, Option<tempfile::TempDir>)> {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    let mut out = vec![(
        "sqlite".to_string(),
        SqlStore::connect(&url).await.unwrap(),
        Some(dir),
    )];
    match std::env::var("NARA_TEST_POSTGRES_URL") {
        Ok(base) => {
            // A fresh database per test keeps tests independent.
            let admin = SqlStore::connect_raw(&base).await.unwrap();
            let name = format!(
                "nara_test_{}",
                std::process::id() as u64 * 1000 + rand_suffix()
            );
            admin
                .execute(&format!("CREATE DATABASE {name}"))
                .await
                .unwrap();
            let url = format!("{}/{name}", base.rsplit_once('/').unwrap().0);
            out.push((
                "postgres".to_string(),
                SqlStore::connect(&url).await.unwrap(),
                None,
            ));
        }
        Err(_) => assert!(
            std::env::var("CI").is_err(),
            "CI must run the storage tests against PostgreSQL: set NARA_TEST_POSTGRES_URL"
        ),
    }
    out
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::SeqCst)
        + std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_micros() as u64
            % 997
            * 10
}

#[tokio::test]
async fn waiting_visits_round_trip_in_order() {
    for (name, store, _dir) in stores().await {
        let record = |v: &str, at: u64, front: bool| WaitingRecord {
            visit: id(v),
            kiosk: id("k-1"),
            site_name: id("Rinkeby"),
            queue: QueueKey {
                agency: id("csn"),
                language: id("ti"),
                topic: None,
            },
            booking: None,
            queued_at: at,
            front,
        };
        store.save_waiting(&record("v2", 20, false)).await.unwrap();
        store.save_waiting(&record("v1", 10, false)).await.unwrap();
        store.save_waiting(&record("v3", 30, true)).await.unwrap();
        store.forget_waiting("v2").await.unwrap();
        let waiting = store.waiting().await.unwrap();
        let order: Vec<&str> = waiting.iter().map(|w| w.visit.as_str()).collect();
        assert_eq!(order, ["v3", "v1"], "{name}");
        assert_eq!(waiting[1], record("v1", 10, false), "{name}");
    }
}

/// A kiosk at Norsjö, not yet enrolled, with the one-time `code` valid until `expires_at`.
async fn kiosk_with_code(store: &dyn Store, kiosk: &str, code: &str, expires_at: u64) {
    store
        .create_kiosk(&KioskRow {
            id: kiosk.into(),
            site_id: "norsjo".into(),
            name: "Entré".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    store
        .create_enrolment_code(&EnrolmentCodeRow {
            code: code.into(),
            kiosk_id: kiosk.into(),
            created_by: "admin".into(),
            expires_at,
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn enrolment_code_is_single_use_and_expires() {
    for (name, store, _dir) in stores().await {
        kiosk_with_code(&store, "k-1", "ABC", 1000).await;
        assert_eq!(
            store
                .redeem_enrolment_code("ABC", "hash1", 2000)
                .await
                .unwrap(),
            None,
            "{name}: expired"
        );
        store
            .create_enrolment_code(&EnrolmentCodeRow {
                code: "DEF".into(),
                kiosk_id: "k-1".into(),
                created_by: "admin".into(),
                expires_at: 5000,
            })
            .await
            .unwrap();
        assert_eq!(
            store
                .redeem_enrolment_code("DEF", "hash1", 2000)
                .await
                .unwrap()
                .as_deref(),
            Some("k-1"),
            "{name}"
        );
        assert_eq!(
            store
                .redeem_enrolment_code("DEF", "hash2", 2001)
                .await
                .unwrap(),
            None,
            "{name}: used"
        );
        assert_eq!(
            store.kiosk_by_cert("hash1").await.unwrap().unwrap().id,
            "k-1",
            "{name}"
        );
        assert!(store.revoke_kiosk("k-1", 3000).await.unwrap());
        assert_eq!(
            store.kiosk("k-1").await.unwrap().unwrap().revoked_at,
            Some(3000),
            "{name}"
        );
    }
}

/// M1 of the security review: a kiosk revoked before it enrolled still enrolled with its
/// code, and enrolling cleared the revocation.
#[tokio::test]
async fn m1_a_revoked_kiosk_cannot_enrol_with_its_code() {
    for (name, store, _dir) in stores().await {
        kiosk_with_code(&store, "k-2", "GHJ", 9000).await;
        assert!(store.revoke_kiosk("k-2", 1000).await.unwrap());
        assert_eq!(
            store.kiosk_for_code("GHJ", 2000).await.unwrap(),
            None,
            "{name}"
        );
        assert_eq!(
            store
                .redeem_enrolment_code("GHJ", "hash3", 2000)
                .await
                .unwrap(),
            None,
            "{name}: the code died with the kiosk"
        );
        let kiosk = store.kiosk("k-2").await.unwrap().unwrap();
        assert_eq!(kiosk.revoked_at, Some(1000), "{name}: still revoked");
        assert_eq!(kiosk.cert_hash, None, "{name}");
    }
}

#[tokio::test]
async fn statistics_keep_metadata_and_retention_purges() {
    for (name, store, _dir) in stores().await {
        let seg = |v: &str, at: u64| SegmentRow {
            visit_id: v.into(),
            kiosk_id: "k-1".into(),
            site_id: "norsjo".into(),
            agency: "csn".into(),
            language: "sv".into(),
            queued_at: at,
            first_offered_at: Some(at + 1),
            answered_at: Some(at + 2),
            ended_at: at + 100,
            outcome: "served".into(),
        };
        store.record_segment(&seg("old", 0)).await.unwrap();
        store.record_segment(&seg("new", 10_000)).await.unwrap();
        store
            .record_document("new", 2, 800_000, 10_050)
            .await
            .unwrap();
        store.record_survey("new", 4, 10_100).await.unwrap();
        store.record_survey("new", 5, 10_101).await.unwrap();
        assert_eq!(store.purge_before(5_000).await.unwrap(), 1, "{name}");
        let segments = store.segments_between(0, u64::MAX).await.unwrap();
        assert_eq!(segments, vec![seg("new", 10_000)], "{name}");
        assert_eq!(
            store.documents_for(&["new".into()]).await.unwrap(),
            vec![("new".into(), 2, 800_000)],
            "{name}"
        );
        assert_eq!(
            store.surveys_for(&["new".into()]).await.unwrap(),
            vec![("new".into(), 5)],
            "{name}: the last answer counts"
        );
    }
}

#[tokio::test]
async fn staff_and_sessions() {
    for (name, store, _dir) in stores().await {
        let staff = StaffRow {
            id: "anna".into(),
            username: "anna.fk".into(),
            display_name: "Anna Lind".into(),
            password_hash: "x".into(),
            role: Role::Officer,
            agency: Some("forsakringskassan".into()),
            region: None,
            languages: vec!["sv".into(), "so".into()],
            skills: vec![],
            serves: vec![],
            disabled: false,
        };
        assert!(store.insert_staff(&staff).await.unwrap(), "{name}");
        assert_eq!(
            store.staff_by_username("anna.fk").await.unwrap(),
            Some(staff.clone()),
            "{name}"
        );
        // M2 of the security review: a new account never overwrites another. Neither the
        // same id under another username nor the same username under another id goes in.
        let same_id = StaffRow {
            username: "anna.skatteverket".into(),
            agency: Some("skatteverket".into()),
            ..staff.clone()
        };
        let same_username = StaffRow {
            id: "anna-2".into(),
            ..staff.clone()
        };
        for taken in [same_id, same_username] {
            assert!(!store.insert_staff(&taken).await.unwrap(), "{name}");
        }
        assert_eq!(
            store.staff_by_id("anna").await.unwrap(),
            Some(staff.clone()),
            "{name}: the first account is untouched"
        );
        // A role the broker does not know is an error, not an officer.
        store
            .execute("UPDATE staff SET role = 'superuser' WHERE id = 'anna'")
            .await
            .unwrap();
        let unknown = store.staff_by_id("anna").await.unwrap_err().to_string();
        assert!(unknown.contains("superuser"), "{name}: {unknown}");
        assert!(store.staff().await.is_err(), "{name}");
        store
            .execute("UPDATE staff SET role = 'officer' WHERE id = 'anna'")
            .await
            .unwrap();
        // An administrator changes what she can take; nobody else's abilities change.
        let languages = vec!["sv".to_string(), "ti".to_string()];
        let skills = vec!["pension".to_string()];
        assert!(store
            .set_staff_abilities("anna", &languages, &skills, &[])
            .await
            .unwrap());
        let anna = store.staff_by_id("anna").await.unwrap().unwrap();
        assert_eq!((anna.languages, anna.skills), (languages, skills), "{name}");
        assert!(!store
            .set_staff_abilities("nobody", &[], &[], &[])
            .await
            .unwrap());
        store.create_session("tok", "anna", 1000).await.unwrap();
        assert_eq!(
            store.session("tok", 999).await.unwrap(),
            Some(("anna".to_string(), 1000)),
            "{name}"
        );
        assert_eq!(
            store.session("tok", 1000).await.unwrap(),
            None,
            "{name}: expired"
        );
    }
}

#[tokio::test]
async fn a_kiosk_keeps_only_its_latest_heartbeats() {
    for (name, store, _dir) in stores().await {
        for kiosk in ["k-1", "k-2"] {
            store
                .create_kiosk(&KioskRow {
                    id: kiosk.into(),
                    site_id: "norsjo".into(),
                    name: kiosk.into(),
                    ..Default::default()
                })
                .await
                .unwrap();
        }
        let beats = HEARTBEAT_HISTORY as u64 + 5;
        for at in 1..=beats {
            let json = format!("{{\"n\":{at}}}");
            store
                .record_heartbeat("k-1", at * 1000, &json, None)
                .await
                .unwrap();
        }
        store
            .record_heartbeat("k-2", 500, "{\"n\":0}", None)
            .await
            .unwrap();
        let recent = store.recent_heartbeats("k-1").await.unwrap();
        assert_eq!(recent.len(), HEARTBEAT_HISTORY, "{name}");
        assert_eq!(
            recent[0],
            (beats * 1000, format!("{{\"n\":{beats}}}")),
            "{name}: newest first"
        );
        assert_eq!(
            recent.last().unwrap().0,
            6000,
            "{name}: the oldest five are gone"
        );
        assert_eq!(
            store.recent_heartbeats("k-2").await.unwrap().len(),
            1,
            "{name}: other kiosks keep theirs"
        );
        assert_eq!(
            store
                .kiosk("k-1")
                .await
                .unwrap()
                .unwrap()
                .last_heartbeat
                .as_deref(),
            Some(format!("{{\"n\":{beats}}}").as_str()),
            "{name}"
        );
    }
}

#[tokio::test]
async fn calls_in_progress_are_saved_updated_and_forgotten() {
    use nara_broker::routing::{CallRecord, InviteRecord, ParticipantRecord, Segment};
    use nara_protocol::desk::InviteTarget;
    for (name, store, _dir) in stores().await {
        let queue = QueueKey {
            agency: id("csn"),
            language: id("ti"),
            topic: None,
        };
        let mut record = CallRecord {
            call: id("c-ab-1"),
            visit: id("visit-ab-1"),
            kiosk: id("k-1"),
            site_name: id("Rinkeby"),
            booking: Some(1_000),
            segment: Segment {
                queue: queue.clone(),
                queued_at: 10,
                first_offered_at: Some(20),
                answered_at: Some(30),
                answered_by: Some(id("omar")),
            },
            owner: id("omar"),
            participants: vec![ParticipantRecord {
                staff: id("omar"),
                agency: Some(id("csn")),
                interprets: None,
            }],
            invites: Vec::new(),
        };
        store.save_call(&record).await.unwrap();
        // An interpreter joins and a warm transfer starts: the same call, saved again.
        record.participants.push(ParticipantRecord {
            staff: id("tolk"),
            agency: None,
            interprets: Some(id("ar")),
        });
        record.invites.push(InviteRecord {
            invited_by: id("omar"),
            target: InviteTarget::Officer {
                agency: id("skatteverket"),
            },
            transfer_to: Some(QueueKey {
                agency: id("skatteverket"),
                ..queue.clone()
            }),
            deadline: 99,
        });
        store.save_call(&record).await.unwrap();
        let mut other = record.clone();
        other.call = id("c-ab-2");
        other.visit = id("visit-ab-2");
        store.save_call(&other).await.unwrap();
        assert_eq!(
            store.calls().await.unwrap(),
            vec![record.clone(), other],
            "{name}"
        );
        store.forget_call("c-ab-2").await.unwrap();
        assert_eq!(store.calls().await.unwrap(), vec![record], "{name}");
    }
}
