//! The kiosk's touch screen end to end: the kiosk binary with its GTK screen under Xvfb, a
//! real broker, and officers in headless Chromium who answer. `tests/ui/kiosk-ui.py` drives
//! the screen through the accessibility tree (AT-SPI), as a screen reader or a citizen would:
//! a whole visit in each of the six languages, every screen saved as a picture in
//! `target/artefacts/kiosk-ui/`, and every control checked for a name in that language. The
//! test does what the driver asks of the desks and the broker.

use anyhow::{bail, Context, Result};
use nara_tests::e2e::{
    artefacts_dir, enrol_kiosk_process, sane_test_backend, OfficerBrowser, MEDIA_PATIENCE,
    SANE_A4_COLOUR, SCAN_PATIENCE,
};
use nara_tests::harness::{admin, BrokerEndpoint, BrokerProcess, PATIENCE};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const BROKER: &str = env!("CARGO_BIN_EXE_broker-process");
const KIOSK: &str = env!("CARGO_BIN_EXE_kiosk-process");
/// Six visits with a scan each, and the goodbyes between them; AT-SPI under Xvfb is slow
/// (12 minutes on a loaded two-core machine), so this only catches a story that hangs.
const STORY_PATIENCE: Duration = Duration::from_secs(1800);
const LANGUAGES: [&str; 6] = ["sv", "en", "ar", "prs", "so", "ti"];

/// The desk that has the call now: the one that saw it start.
async fn answering(officers: &mut BTreeMap<String, OfficerBrowser>) -> Result<String> {
    answering_at(officers, "").await
}

/// Which desk whose login ends in `.{agency}` (any, for `""`) has a call.
async fn answering_at(
    officers: &mut BTreeMap<String, OfficerBrowser>,
    agency: &str,
) -> Result<String> {
    let deadline = tokio::time::Instant::now() + MEDIA_PATIENCE;
    while tokio::time::Instant::now() < deadline {
        let at = officers
            .iter_mut()
            .filter(|(login, _)| agency.is_empty() || login.ends_with(&format!(".{agency}")));
        for (login, desk) in at {
            let started = desk
                .expect("a call", Duration::from_millis(100), |e| {
                    e["event"] == "callStarted"
                })
                .await;
            if started.is_ok() {
                return Ok(login.clone());
            }
        }
    }
    bail!("no desk has the call")
}

fn current_desk<'a>(
    officers: &'a mut BTreeMap<String, OfficerBrowser>,
    current: &Option<String>,
) -> Result<&'a mut OfficerBrowser> {
    let login = current.as_ref().context("no desk has the call")?;
    officers.get_mut(login).context("a known officer")
}

fn repository(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_citizen_uses_the_screen_in_six_languages() -> Result<()> {
    for (tool, package) in [
        ("xvfb-run", "xvfb"),
        ("dbus-run-session", "dbus"),
        ("/usr/bin/python3", "python3"),
    ] {
        let found = std::process::Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()?;
        if !found.status.success() {
            bail!("{tool} is missing: install {package} (scripts/test-deps does)");
        }
    }
    // NARA_UI_LANGUAGES=sv,ti runs the story in those only, to look at a change quickly;
    // the test command runs all six.
    let languages: Vec<String> = match std::env::var("NARA_UI_LANGUAGES") {
        Ok(some) => some.split(',').map(str::to_string).collect(),
        Err(_) => LANGUAGES.iter().map(|l| l.to_string()).collect(),
    };
    let data = tempfile::tempdir()?;
    let broker = BrokerProcess::start(BROKER.as_ref(), &data.path().join("broker")).await?;
    let admin_api = admin(&broker).await?;
    let kiosk_dir = data.path().join("kiosk");
    let kiosk_id =
        enrol_kiosk_process(KIOSK.as_ref(), &broker, &admin_api, "rinkeby", &kiosk_dir).await?;
    let kiosk_id = kiosk_id
        .split_whitespace()
        .nth(3)
        .context("the kiosk's id in what `kiosk enrol` said")?
        .to_string();
    if std::env::var_os("SANE_CONFIG_DIR").is_none() {
        std::env::set_var("SANE_CONFIG_DIR", sane_test_backend(SANE_A4_COLOUR)?);
    }
    let mut officers = BTreeMap::new();
    for login in ["anna.csn", "omar.csn", "omar.arbetsformedlingen"] {
        officers.insert(
            login.to_string(),
            OfficerBrowser::start_available(&broker, login, &[]).await?,
        );
    }
    // Interpreters the officer invites, by the language each is asked for.
    let mut interpreters = BTreeMap::new();
    for login in ["tolk.amir", "tolk.selam", "tolk.lina"] {
        interpreters.insert(
            login.to_string(),
            OfficerBrowser::start_available(&broker, login, &[]).await?,
        );
    }
    let interpreter_for = |language: &str| match language {
        "ar" | "prs" => "tolk.amir",
        "swl" => "tolk.lina",
        _ => "tolk.selam",
    };
    // Those invited into the current meeting, interpreters and colleagues.
    let mut guests: Vec<String> = Vec::new();

    let shots = artefacts_dir(env!("CARGO_TARGET_TMPDIR"), "kiosk-ui");
    let _ = std::fs::remove_dir_all(&shots);
    std::fs::create_dir_all(&shots)?;
    let mut story = tokio::process::Command::new("xvfb-run")
        .args([
            "-a",
            "-s",
            "-screen 0 1280x800x24",
            "dbus-run-session",
            "--",
        ])
        .arg("/usr/bin/python3")
        .arg(repository("tests/ui/kiosk-ui.py"))
        .arg("--kiosk-binary")
        .arg(KIOSK)
        .arg("--data-dir")
        .arg(&kiosk_dir)
        .arg("--shots")
        .arg(&shots)
        .arg("--locales")
        .arg(repository("kiosk/locales"))
        .arg("--languages")
        .arg(languages.join(","))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("cannot run xvfb-run")?;
    let mut answers = story.stdin.take().context("no stdin")?;
    let mut lines = BufReader::new(story.stdout.take().context("no stdout")?).lines();
    let stderr = story.stderr.take().context("no stderr")?;
    let log = tokio::spawn(async move {
        let mut all = String::new();
        let mut lines = BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            all.push_str(&line);
            all.push('\n');
        }
        all
    });

    let mut broker = Some(broker);
    let mut current: Option<String> = None;
    let mut outcome = None;
    let mut progress = Vec::new();
    let told = tokio::time::timeout(STORY_PATIENCE, async {
        while let Some(line) = lines.next_line().await? {
            let Ok(event) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            match event["need"].as_str() {
                Some("holdSignals") => {
                    for desk in officers.values_mut() {
                        desk.command("holdSignals").await?;
                        desk.expect("signalling held", PATIENCE, |e| e["event"] == "holding")
                            .await?;
                    }
                }
                Some("releaseSignals") => {
                    for desk in officers.values_mut() {
                        desk.command("releaseSignals").await?;
                    }
                }
                Some("inviteInterpreter") => {
                    // Whoever of the desks answered: two speak Swedish and English at CSN.
                    let login = answering(&mut officers).await?;
                    let language = event["language"].as_str().context("a language")?;
                    let desk = officers.get_mut(&login).context("a known officer")?;
                    desk.command(&format!("invite {language}")).await?;
                    current = Some(login);
                    let login = interpreter_for(language);
                    let interpreter = interpreters.get_mut(login).context("an interpreter")?;
                    interpreter
                        .expect("the interpreter joining", PATIENCE, |e| {
                            e["event"] == "callStarted"
                        })
                        .await?;
                    guests.push(login.to_string());
                }
                Some("inviteColleague") => {
                    let login = current.clone().context("no desk has the call")?;
                    let other = if login.ends_with(".csn") {
                        "arbetsformedlingen"
                    } else {
                        "csn"
                    };
                    let desk = officers.get_mut(&login).context("a known officer")?;
                    desk.command(&format!("inviteOfficer {other}")).await?;
                    let colleague = answering_at(&mut officers, other).await?;
                    guests.push(colleague);
                }
                Some("guestsLeave") => {
                    for guest in guests.drain(..) {
                        let desk = officers
                            .get_mut(&guest)
                            .or(interpreters.get_mut(&guest))
                            .context("a known guest")?;
                        desk.command("leave").await?;
                        desk.expect("leaving the call", PATIENCE, |e| e["event"] == "callEnded")
                            .await?;
                        desk.command("available").await?;
                    }
                }
                Some("askDocument") => {
                    let login = current.clone().context("no desk has the call")?;
                    let desk = officers.get_mut(&login).context("a known officer")?;
                    desk.command("askDocument").await?;
                }
                Some("expectDocument") => {
                    let desk = current_desk(&mut officers, &current)?;
                    desk.expect("the scanned page", SCAN_PATIENCE, |e| {
                        e["event"] == "documentComplete" && e["pages"] == 1
                    })
                    .await?;
                }
                Some("expectChat") => {
                    let desk = current_desk(&mut officers, &current)?;
                    let text = event["text"].clone();
                    desk.expect("the citizen's chat", MEDIA_PATIENCE, |e| {
                        e["event"] == "chat" && e["text"] == text
                    })
                    .await?;
                }
                Some("officerAvailable") => {
                    let desk = current_desk(&mut officers, &current)?;
                    desk.expect("the end of the call", PATIENCE, |e| {
                        e["event"] == "callEnded"
                    })
                    .await?;
                    desk.command("available").await?;
                    for guest in guests.drain(..) {
                        let desk = officers
                            .get_mut(&guest)
                            .or(interpreters.get_mut(&guest))
                            .context("a known guest")?;
                        desk.expect("the end of the call", PATIENCE, |e| {
                            e["event"] == "callEnded"
                        })
                        .await?;
                        desk.command("available").await?;
                    }
                    for desk in officers.values_mut().chain(interpreters.values_mut()) {
                        desk.seen.clear();
                    }
                    current = None;
                }
                Some("outOfService") | Some("backInService") => {
                    let message = (event["need"] == "outOfService").then_some(
                        "Kiosken är stängd för underhåll i dag. Välkommen tillbaka i morgon.",
                    );
                    let broker = broker.as_ref().context("the broker is running")?;
                    let response = admin_api
                        .post(format!(
                            "https://localhost:{}/api/admin/kiosks/{kiosk_id}/out-of-service",
                            broker.addr().port()
                        ))
                        .json(&json!({ "message": message }))
                        .send()
                        .await?;
                    anyhow::ensure!(response.status().is_success(), "{response:?}");
                }
                Some("stopBroker") => broker.take().context("one broker")?.kill().await?,
                Some(other) => bail!("the driver needs {other}, which this test cannot do"),
                None => {
                    if event["event"] == "passed" || event["event"] == "failed" {
                        outcome = Some(event);
                        continue;
                    }
                    progress.push(event);
                    continue;
                }
            }
            answers.write_all(b"ok\n").await?;
        }
        Ok::<_, anyhow::Error>(())
    })
    .await;
    if let Err(error) | Ok(Err(error)) = told.map_err(anyhow::Error::from) {
        let _ = story.kill().await;
        bail!(
            "the visit stopped: {error:#}\nafter {progress:#?}\nits log:\n{}",
            log.await.unwrap_or_default()
        );
    }
    let status = story.wait().await?;
    let outcome = outcome.context("the driver ended without a verdict")?;
    if outcome["event"] != "passed" {
        bail!(
            "{}\nafter {progress:#?}\nits log:\n{}",
            outcome["message"],
            log.await.unwrap_or_default()
        );
    }
    assert!(status.success(), "{status}");

    // Every screen of the visit, in every language, was drawn and kept.
    for language in &languages {
        for screen in [
            "agency",
            "waiting-no-officer",
            "book-instead",
            "ended",
            "booking",
            "booking-wrong",
            "refused",
            "connecting",
            "meeting",
            "meeting-with-2",
            "meeting-with-3",
            "meeting-scan",
            "meeting-preview",
            "meeting-sent",
            "meeting-keyboard",
            "ended-thanks",
            "ended-thanks-contrast",
            "ended-thanks-contrast-larger",
            "goodbye",
            "connection-lost",
        ] {
            let path = shots.join(format!("{language}-{screen}.png"));
            assert!(path.is_file(), "no picture of {}", path.display());
        }
    }
    // The screens shown before a language is chosen, each in all six at once.
    for screen in ["sv-attract", "sv-language", "sv-out-of-service"] {
        assert!(shots.join(format!("{screen}.png")).is_file(), "no {screen}");
    }
    // And on each, every control had a name.
    let checked = outcome["checked"].as_object().context("screens checked")?;
    assert!(checked.len() >= languages.len() * 13, "{checked:?}");
    Ok(())
}
