//! Schemathesis against a real broker's `/api/openapi.json`, with every one of its checks: each
//! operation answers only what it documents, in the documented shape and media type, refuses
//! what is invalid or unauthenticated, and accepts what its schema says is valid. It runs once
//! as an administrator and once as an officer. `scripts/test-deps` installs Schemathesis into
//! `tests/schemathesis/.venv`; its settings are in `tests/schemathesis/schemathesis.toml`.

use anyhow::{bail, Context, Result};
use nara_tests::harness::{get_json, http, login, BrokerEndpoint, TestBroker};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A run that takes longer than this has hung; a whole one takes about a minute.
const RUN_LIMIT: Duration = Duration::from_secs(600);

fn schemathesis_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("schemathesis")
}

/// Logs `username` in and checks their role; the session's token.
async fn session_of(broker: &TestBroker, username: &str, role: &str) -> Result<String> {
    let client = http(&broker.cert_path())?;
    let cookie = login(&client, broker.addr(), username).await?;
    let me = get_json(&client, broker, "/api/me").await?;
    anyhow::ensure!(me["role"] == role, "{username} is not {role}: {me}");
    Ok(cookie
        .strip_prefix("nara_session=")
        .context("the session cookie")?
        .to_string())
}

/// Runs Schemathesis with `session` (of `who`); fails with its report.
async fn conforms_with(broker: &TestBroker, who: &str, session: &str) -> Result<()> {
    let dir = schemathesis_dir();
    let program = dir.join(".venv/bin/schemathesis");
    if !program.exists() {
        bail!(
            "{} is missing: run scripts/test-deps, which installs Schemathesis",
            program.display()
        );
    }
    let origin = format!("https://localhost:{}", broker.addr().port());
    let scratch = tempfile::tempdir()?;
    let junit = scratch.path().join("junit.xml");
    let run = tokio::process::Command::new(&program)
        .arg("--config-file")
        .arg(dir.join("schemathesis.toml"))
        .arg("run")
        .arg(format!("{origin}/api/openapi.json"))
        .args(["--no-color", "--report", "junit", "--report-junit-path"])
        .arg(&junit)
        .env("NARA_ORIGIN", &origin)
        .env("NARA_CERT", broker.cert_path())
        .env("NARA_SESSION", session)
        .env(
            "HYPOTHESIS_STORAGE_DIRECTORY",
            scratch.path().join("hypothesis"),
        )
        .current_dir(scratch.path())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(RUN_LIMIT, run)
        .await
        .with_context(|| format!("Schemathesis as {who} ran past {RUN_LIMIT:?}"))??;
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("Schemathesis as {who}:\n{stdout}");
    if !output.status.success() {
        bail!(
            "Schemathesis as {who} found problems ({}):\n{stdout}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rest_api_does_what_its_openapi_document_says() -> Result<()> {
    // The broker closes a keep-alive connection that waits 10 s for its next request
    // (`limits.handshake_timeout_seconds`). Schemathesis's HTTP client, unlike a browser, does
    // not resend a POST whose pooled connection the broker closed just as it was sent; on a
    // loaded machine its pauses between requests reach that and it reports a network error
    // ("EOF occurred in violation of protocol", one run in three under load). This test is
    // about what the API answers, so its broker waits longer.
    let broker = TestBroker::start_with(30_000, |config| {
        config.limits.handshake_timeout_seconds = 300;
    })
    .await?;
    // Both log in first: Schemathesis's own failed logins come from this address too, and
    // would slow a login made after them.
    let admin = session_of(&broker, "admin", "admin").await?;
    let officer = session_of(&broker, "anna.csn", "officer").await?;
    let as_admin = conforms_with(&broker, "admin", &admin).await;
    let as_officer = conforms_with(&broker, "anna.csn", &officer).await;
    broker.broker.shutdown().await;
    as_admin?;
    as_officer
}
