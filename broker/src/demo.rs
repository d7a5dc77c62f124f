//! Demo data for the single-machine default: the pilot agencies and sites from DESIGN.md, a
//! few officers per agency, an interpreter and an administrator. Seeded once; logins printed.

use crate::api::passwords::hash_now;
use crate::storage::{AgencyRow, Role, SiteRow, StaffRow, Store};

/// The one password of every demo account. Demo only: `--demo` is not for production.
pub const DEMO_PASSWORD: &str = "nara-demo-2026";

const AGENCIES: &[(&str, &str, &[&str])] = &[
    (
        "arbetsformedlingen",
        "Arbetsförmedlingen",
        &["sv", "en", "ar", "so", "ti", "prs"],
    ),
    (
        "forsakringskassan",
        "Försäkringskassan",
        &["sv", "en", "ar", "so", "ti", "prs"],
    ),
    ("skatteverket", "Skatteverket", &["sv", "en", "ar", "so"]),
    ("csn", "CSN", &["sv", "en", "ar"]),
    ("kronofogden", "Kronofogden", &["sv", "en"]),
    (
        "migrationsverket",
        "Migrationsverket",
        &["sv", "en", "ar", "prs", "ti", "so"],
    ),
    ("pensionsmyndigheten", "Pensionsmyndigheten", &["sv", "en"]),
    ("kommunen", "Kommunen", &["sv", "en", "ar", "so"]),
];

const SITES: &[(&str, &str, &str)] = &[
    ("norsjo", "Norsjö", "vasterbotten"),
    ("sorsele", "Sorsele", "vasterbotten"),
    ("mala", "Malå", "vasterbotten"),
    ("vilhelmina", "Vilhelmina", "vasterbotten"),
    ("storuman", "Storuman", "vasterbotten"),
    ("lycksele", "Lycksele", "vasterbotten"),
    ("rinkeby", "Rinkeby", "stockholm"),
    ("alby", "Alby", "stockholm"),
    ("tumba", "Tumba", "stockholm"),
    ("huddinge", "Huddinge", "stockholm"),
    ("angered", "Angered", "vastra-gotaland"),
    ("frolunda-torg", "Frölunda Torg", "vastra-gotaland"),
    ("lundby", "Lundby", "vastra-gotaland"),
    ("majorna", "Majorna", "vastra-gotaland"),
    ("boras", "Borås", "vastra-gotaland"),
    ("grastorp", "Grästorp", "vastra-gotaland"),
    ("rosengard", "Rosengård", "malmo"),
    ("sodra-innerstaden", "Södra Innerstaden", "malmo"),
    ("fosie", "Fosie", "malmo"),
    ("hyllie", "Hyllie", "malmo"),
    ("kiruna-demo", "Demo (utbildning)", "vasterbotten"),
];

const OFFICER_NAMES: &[&str] = &[
    "Anna Lind",
    "Omar Hassan",
    "Sara Nilsson",
    "Yonas Tesfay",
    "Maria Berg",
    "Ahmad Rahimi",
];

/// A login printed for the person trying the demo.
#[derive(Debug, Clone)]
pub struct DemoLogin {
    pub username: String,
    pub role: String,
}

fn person(
    id: &str,
    name: &str,
    role: Role,
    agency: Option<&str>,
    languages: &[&str],
    hash: &str,
) -> StaffRow {
    StaffRow {
        id: id.into(),
        username: id.replace('-', "."),
        display_name: name.into(),
        password_hash: hash.into(),
        role,
        agency: agency.map(str::to_string),
        region: None,
        languages: languages.iter().map(|l| l.to_string()).collect(),
        skills: Vec::new(),
        serves: Vec::new(),
        disabled: false,
    }
}

/// Seeds the demo directory unless it is there already; returns the logins to print.
pub async fn seed(store: &dyn Store) -> anyhow::Result<Vec<DemoLogin>> {
    let already = !store.agencies().await?.is_empty();
    // One hash for all demo accounts: argon2id is slow on purpose.
    let hash = if already {
        String::new()
    } else {
        hash_now(DEMO_PASSWORD)
    };
    let mut people = vec![
        person(
            "admin",
            "Administratör Demo",
            Role::Admin,
            None,
            &["sv", "en"],
            &hash,
        ),
        person(
            "tolk-amir",
            "Amir Haddad (tolk)",
            Role::Interpreter,
            None,
            &["ar", "prs", "sv"],
            &hash,
        ),
        person(
            "tolk-selam",
            "Selam Haile (tolk)",
            Role::Interpreter,
            None,
            &["ti", "so", "en", "sv"],
            &hash,
        ),
        person(
            "tolk-lina",
            "Lina Ek (teckenspråkstolk)",
            Role::Interpreter,
            None,
            &["swl", "sv"],
            &hash,
        ),
    ];
    for (n, (agency, _, languages)) in AGENCIES.iter().enumerate() {
        for k in 0..2 {
            let name = OFFICER_NAMES[(n * 2 + k) % OFFICER_NAMES.len()];
            let first = name.split(' ').next().unwrap_or(name).to_lowercase();
            // The first officer speaks Swedish and English; the second also the agency's other languages.
            let spoken: Vec<&str> = if k == 0 {
                vec!["sv", "en"]
            } else {
                languages.to_vec()
            };
            people.push(person(
                &format!("{first}-{agency}"),
                name,
                Role::Officer,
                Some(agency),
                &spoken,
                &hash,
            ));
        }
    }
    let logins = people
        .iter()
        .map(|p| DemoLogin {
            username: p.username.clone(),
            role: p
                .agency
                .clone()
                .unwrap_or_else(|| p.role.as_str().to_string()),
        })
        .collect();
    if already {
        return Ok(logins);
    }
    for (id, name, languages) in AGENCIES {
        // Open around the clock so the demo works whenever it is tried, except Kronofogden,
        // which keeps office hours to show what a closed agency looks like.
        let hours = if *id == "kronofogden" {
            "mon-fri 09:00-15:00"
        } else {
            "daily 00:00-24:00"
        };
        store
            .upsert_agency(&AgencyRow {
                id: id.to_string(),
                name: name.to_string(),
                hours: hours.into(),
                languages: languages.iter().map(|l| l.to_string()).collect(),
            })
            .await?;
    }
    for (id, name, region) in SITES {
        store
            .upsert_site(&SiteRow {
                id: id.to_string(),
                name: name.to_string(),
                region: region.to_string(),
            })
            .await?;
    }
    for p in &people {
        store.insert_staff(p).await?;
    }
    Ok(logins)
}
