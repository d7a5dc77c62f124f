//! The desk's main story in Firefox ESR, as on the agency desktops that run it: the broker
//! process serving the built pages, the kiosk binary (headless, test sources, SANE's `test`
//! scanner), and an officer in headless Firefox driven by `tests/web/desk-firefox.mjs` over
//! WebDriver BiDi: log in, answer by click, see the citizen, chat, receive a document, end.
//! Firefox must decode the kiosk's video at 20 frames a second or more, as Chromium does.

use anyhow::{bail, Context, Result};
use nara_tests::e2e::{artefacts_dir, connected_kiosk, desk_assets, node_script};
use nara_tests::harness::{BrokerEndpoint, BrokerProcess};
use serde_json::Value;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

const BROKER: &str = env!("CARGO_BIN_EXE_broker-process");
const KIOSK: &str = env!("CARGO_BIN_EXE_kiosk-process");
/// One call, one scan and 10 s of measuring, well within this on a loaded CI.
const STORY_PATIENCE: Duration = Duration::from_secs(300);
/// What Chromium decodes of the kiosk's video on these machines, and so what Firefox must.
const MIN_FPS: f64 = 20.0;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_officer_in_firefox_answers_sees_chats_receives_a_document_and_ends() -> Result<()> {
    let assets = desk_assets()?.display().to_string();
    let data = tempfile::tempdir()?;
    let broker = BrokerProcess::start_with(
        BROKER.as_ref(),
        &data.path().join("broker"),
        &[("NARA_DESK_ASSETS", assets.as_str())],
        None,
    )
    .await?;
    // The kiosk scans with SANE's `test` backend (KioskProcess sets it up).
    let kiosk = connected_kiosk(KIOSK.as_ref(), &broker, &data.path().join("kiosk"), &[]).await?;

    let artefacts = artefacts_dir(env!("CARGO_TARGET_TMPDIR"), "agent-desk-firefox");
    let _ = std::fs::remove_dir_all(&artefacts);
    let mut story = node_script("desk-firefox.mjs")?
        .args([
            "--broker",
            &format!("https://localhost:{}", broker.addr().port()),
        ])
        .args(["--kiosk", &kiosk.api])
        .arg("--artefacts")
        .arg(&artefacts)
        .args(["--password", nara_broker::demo::DEMO_PASSWORD])
        .spawn()
        .context("cannot run node (Debian package nodejs)")?;
    let mut lines = BufReader::new(story.stdout.take().context("no stdout")?).lines();
    let mut steps = Vec::new();
    let mut fps = None;
    let mut outcome: Option<Value> = None;
    let told = tokio::time::timeout(STORY_PATIENCE, async {
        while let Some(line) = lines.next_line().await? {
            let Ok(event) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            match event["event"].as_str() {
                Some("step") => steps.push(event["name"].as_str().unwrap_or_default().to_string()),
                Some("fps") => fps = Some(event),
                Some("passed" | "failed") => outcome = Some(event),
                _ => {}
            }
        }
        Ok::<_, anyhow::Error>(())
    })
    .await;
    told.context("the story did not finish in time")??;
    let status = story.wait().await?;
    let Some(outcome) = outcome else {
        bail!("the story ended without a verdict ({status}) after: {steps:#?}");
    };
    if outcome["event"] != "passed" {
        bail!(
            "the story failed after {steps:#?}:\n{}\npage errors: {}\nkiosk log:\n{}",
            outcome["message"].as_str().unwrap_or_default(),
            outcome["pageErrors"],
            kiosk.log()
        );
    }
    let fps = fps.context("the frame rate was never measured")?;
    println!("Firefox decoded the kiosk's video at {fps}");
    let rate = fps["fps"].as_f64().context("a frame rate")?;
    assert!(
        rate >= MIN_FPS,
        "Firefox decoded {rate} frames a second, fewer than {MIN_FPS}: {fps}\nkiosk log:\n{}",
        kiosk.log()
    );
    assert!(status.success(), "{status}");
    Ok(())
}
