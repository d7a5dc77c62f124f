//! The agent-desk pages end to end: the broker process serving the built pages, the kiosk
//! binary (headless, test sources, SANE's `test` scanner), and officers, an interpreter and an
//! administrator in headless Chromium, all driven by `tests/web/desk-e2e.mjs` through the
//! pages as people use them (see that file for the story). axe-core checks every page; the
//! screenshots land in `target/artefacts/agent-desk/`.

use anyhow::{bail, Context, Result};
use nara_tests::bench::process::free_port;
use nara_tests::e2e::{artefacts_dir, connected_kiosk, desk_assets, node_script, KioskProcess};
use nara_tests::harness::{BrokerEndpoint, BrokerProcess};
use serde_json::Value;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const BROKER: &str = env!("CARGO_BIN_EXE_broker-process");
const KIOSK: &str = env!("CARGO_BIN_EXE_kiosk-process");
/// The whole story: three calls set up, a scan, a self-test; well within this on a loaded CI.
const STORY_PATIENCE: Duration = Duration::from_secs(600);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn officers_an_interpreter_and_an_administrator_use_the_pages() -> Result<()> {
    let assets = desk_assets()?;
    let data = tempfile::tempdir()?;
    let assets_env = assets.display().to_string();
    // The officer reaches the broker through a proxy in the story's process, which cuts the
    // officer's network for a while; the page's origin is then the proxy's.
    let port = free_port()?;
    let proxy_port = free_port()?;
    let origins = format!("[\"https://localhost:{port}\", \"https://localhost:{proxy_port}\"]");
    let broker = BrokerProcess::start_at(
        BROKER.as_ref(),
        &data.path().join("broker"),
        &[
            ("NARA_DESK_ASSETS", assets_env.as_str()),
            ("NARA_ALLOWED_ORIGINS", origins.as_str()),
        ],
        None,
        format!("127.0.0.1:{port}").parse()?,
    )
    .await?;
    // The kiosk scans with SANE's `test` backend (KioskProcess sets it up).
    let kiosk = connected_kiosk(KIOSK.as_ref(), &broker, &data.path().join("kiosk"), &[]).await?;

    let artefacts = artefacts_dir(env!("CARGO_TARGET_TMPDIR"), "agent-desk");
    let _ = std::fs::remove_dir_all(&artefacts);
    let mut story = node_script("desk-e2e.mjs")?
        .args([
            "--broker",
            &format!("https://localhost:{}", broker.addr().port()),
        ])
        .args(["--kiosk", &kiosk.api])
        .args(["--officer-proxy", &proxy_port.to_string()])
        .arg("--artefacts")
        .arg(&artefacts)
        .args(["--password", nara_broker::demo::DEMO_PASSWORD])
        .spawn()
        .context("cannot run node (Debian package nodejs)")?;
    let mut answers = story.stdin.take().context("no stdin")?;
    let mut lines = BufReader::new(story.stdout.take().context("no stdout")?).lines();

    let mut kiosk = Some(kiosk);
    let mut outcome: Option<Value> = None;
    let mut steps = Vec::new();
    let told = tokio::time::timeout(STORY_PATIENCE, async {
        while let Some(line) = lines.next_line().await? {
            let Ok(event) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            if event["need"] == "stopKiosk" {
                let status = kiosk
                    .take()
                    .context("the kiosk is stopped once")?
                    .stop()
                    .await?;
                anyhow::ensure!(status.success(), "the kiosk did not stop cleanly: {status}");
                answers.write_all(b"ok\n").await?;
            } else if event["event"] == "step" {
                steps.push(event["name"].as_str().unwrap_or_default().to_string());
            } else if event["event"] == "passed" || event["event"] == "failed" {
                outcome = Some(event);
            }
        }
        Ok::<_, anyhow::Error>(())
    })
    .await;
    let kiosk_log = kiosk.as_ref().map(KioskProcess::log).unwrap_or_default();
    told.context("the story did not finish in time")??;
    let status = story.wait().await?;
    let Some(outcome) = outcome else {
        bail!("the story ended without a verdict ({status}) after: {steps:#?}");
    };
    if outcome["event"] != "passed" {
        bail!(
            "the story failed after {steps:#?}:\n{}\npage errors: {}\nbroker log:\n{}\nkiosk log:\n{kiosk_log}",
            outcome["message"].as_str().unwrap_or_default(),
            outcome["pageErrors"],
            broker.log()
        );
    }
    assert!(status.success(), "{status}");
    // Every page was looked at by axe-core without a violation, and kept as a picture.
    let checked = outcome["checked"].as_array().context("the pages checked")?;
    assert!(checked.len() >= 20, "only {} pages checked", checked.len());
    for page in checked {
        assert_eq!(page["violations"], 0, "{page}");
        let name = page["name"].as_str().unwrap_or_default();
        assert!(
            artefacts.join(format!("{name}.png")).is_file(),
            "no screenshot of {name}"
        );
    }
    Ok(())
}
