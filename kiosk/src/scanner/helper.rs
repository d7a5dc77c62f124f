//! The scanner helper: `kiosk scanner-helper probe|scan CONFIG-JSON`, a short-lived process
//! that runs SANE for one request ([`serve`]), and the kiosk's side of it ([`run`]).
//!
//! The helper writes one JSON line to stdout (a [`WireReply`]); after a scanned page's line
//! come the page's JPEG bytes, as many as the line says. A line `cancel` on its stdin stops a
//! scan between reads. Its log goes to stderr, which it shares with the kiosk.

use super::raster::{Page, Raster};
use super::ScannerConfig;
use nara_sane::{Device, Sane, SaneError};
use serde::{Deserialize, Serialize};
use std::io::{BufRead, Write};
use std::path::Path;
use std::process::{ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::sync::watch;

/// How long a request may take before the helper is given up: network scanners are found by
/// discovery, and a 300-dpi colour scan on a slow USB scanner takes most of a minute.
const PROBE_PATIENCE: Duration = Duration::from_secs(30);
const SCAN_PATIENCE: Duration = Duration::from_secs(180);
/// After `cancel`, or after its answer, how long the helper has to stop the scanner and end
/// before it is killed.
const CANCEL_GRACE: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    Probe,
    Scan,
}

impl Task {
    fn name(self) -> &'static str {
        match self {
            Task::Probe => "probe",
            Task::Scan => "scan",
        }
    }
}

/// What the kiosk gets from a request.
#[derive(Debug)]
pub enum Reply {
    Found { device: String },
    Scanned { page: Page },
}

pub(super) fn unexpected(reply: &Reply) -> SaneError {
    SaneError::Failed(format!("the scanner helper answered {reply:?}"))
}

/// The helper's answer as it crosses the pipe.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "camelCase")]
enum WireReply {
    Found {
        device: String,
    },
    Scanned {
        width: u32,
        height: u32,
        bytes: usize,
    },
    Failed {
        error: WireError,
    },
}

/// [`SaneError`] as it crosses the pipe.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
enum WireError {
    NotInstalled {
        detail: String,
    },
    NoScanner,
    CoverOpen,
    Jammed,
    NoPaper,
    Busy,
    Cancelled,
    NoSuchOption {
        option: String,
    },
    BadOption {
        option: String,
        value: String,
        reason: String,
    },
    Failed {
        detail: String,
    },
}

impl From<SaneError> for WireError {
    fn from(error: SaneError) -> Self {
        match error {
            SaneError::NotInstalled(detail) => WireError::NotInstalled { detail },
            SaneError::NoScanner => WireError::NoScanner,
            SaneError::CoverOpen => WireError::CoverOpen,
            SaneError::Jammed => WireError::Jammed,
            SaneError::NoPaper => WireError::NoPaper,
            SaneError::Busy => WireError::Busy,
            SaneError::Cancelled => WireError::Cancelled,
            SaneError::NoSuchOption(option) => WireError::NoSuchOption { option },
            SaneError::BadOption {
                option,
                value,
                reason,
            } => WireError::BadOption {
                option,
                value,
                reason,
            },
            SaneError::Failed(detail) => WireError::Failed { detail },
        }
    }
}

impl From<WireError> for SaneError {
    fn from(error: WireError) -> Self {
        match error {
            WireError::NotInstalled { detail } => SaneError::NotInstalled(detail),
            WireError::NoScanner => SaneError::NoScanner,
            WireError::CoverOpen => SaneError::CoverOpen,
            WireError::Jammed => SaneError::Jammed,
            WireError::NoPaper => SaneError::NoPaper,
            WireError::Busy => SaneError::Busy,
            WireError::Cancelled => SaneError::Cancelled,
            WireError::NoSuchOption { option } => SaneError::NoSuchOption(option),
            WireError::BadOption {
                option,
                value,
                reason,
            } => SaneError::BadOption {
                option,
                value,
                reason,
            },
            WireError::Failed { detail } => SaneError::Failed(detail),
        }
    }
}

/// The kiosk's side: runs `program scanner-helper TASK CONFIG` and reads its answer. A change
/// on `cancelled` asks the helper to stop; one that does not is killed.
pub async fn run(
    program: &Path,
    config: &ScannerConfig,
    task: Task,
    mut cancelled: watch::Receiver<u64>,
) -> Result<Reply, SaneError> {
    let failed = |what: &str, e: &dyn std::fmt::Display| SaneError::Failed(format!("{what}: {e}"));
    let config = serde_json::to_string(config).map_err(|e| failed("bad settings", &e))?;
    let mut child = tokio::process::Command::new(program)
        .args(["scanner-helper", task.name(), &config])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| failed("cannot start the scanner helper", &e))?;
    let mut stdin = child.stdin.take();
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| SaneError::Failed("the scanner helper has no stdout".into()))?;
    let patience = match task {
        Task::Probe => PROBE_PATIENCE,
        Task::Scan => SCAN_PATIENCE,
    };
    let reading = tokio::time::timeout(patience, read_reply(BufReader::new(stdout)));
    tokio::pin!(reading);
    let mut asked_to_stop = None;
    let result = loop {
        let grace = async {
            match asked_to_stop {
                Some(at) => tokio::time::sleep_until(at + CANCEL_GRACE).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            read = &mut reading => break match read {
                Ok(reply) => reply,
                Err(_) => Err(SaneError::Failed(format!("the scanner did not answer within {patience:?}"))),
            },
            changed = cancelled.changed(), if asked_to_stop.is_none() => {
                if changed.is_ok() {
                    if let Some(stdin) = stdin.as_mut() {
                        let _ = stdin.write_all(b"cancel\n").await;
                        let _ = stdin.flush().await;
                    }
                }
                asked_to_stop = Some(tokio::time::Instant::now());
            }
            _ = grace => break Err(SaneError::Cancelled),
        }
    };
    drop(stdin);
    // With its answer given, the helper only closes SANE; one stuck there is killed.
    if result.is_err()
        || tokio::time::timeout(CANCEL_GRACE, child.wait())
            .await
            .is_err()
    {
        let _ = child.start_kill();
    }
    let _ = child.wait().await;
    result
}

async fn read_reply(
    mut stdout: BufReader<tokio::process::ChildStdout>,
) -> Result<Reply, SaneError> {
    let mut line = String::new();
    stdout
        .read_line(&mut line)
        .await
        .map_err(|e| SaneError::Failed(format!("cannot read the scanner helper: {e}")))?;
    if line.is_empty() {
        return Err(SaneError::Failed(
            "the scanner helper stopped without an answer".into(),
        ));
    }
    let reply: WireReply = serde_json::from_str(&line)
        .map_err(|e| SaneError::Failed(format!("the scanner helper said {line:?}: {e}")))?;
    match reply {
        WireReply::Found { device } => Ok(Reply::Found { device }),
        WireReply::Failed { error } => Err(error.into()),
        WireReply::Scanned {
            width,
            height,
            bytes,
        } => {
            let mut jpeg = vec![0u8; bytes];
            stdout
                .read_exact(&mut jpeg)
                .await
                .map_err(|e| SaneError::Failed(format!("the page was cut short: {e}")))?;
            Ok(Reply::Scanned {
                page: Page {
                    jpeg,
                    width,
                    height,
                },
            })
        }
    }
}

/// The helper's side: runs one request and writes the answer to stdout.
pub fn serve(task: &str, config: &str) -> ExitCode {
    let reply = match serde_json::from_str::<ScannerConfig>(config) {
        Err(error) => WireReply::Failed {
            error: WireError::Failed {
                detail: format!("the scanner helper's settings do not parse: {error}"),
            },
        },
        Ok(config) => {
            let cancel = Arc::new(AtomicBool::new(false));
            let listening = cancel.clone();
            std::thread::spawn(move || {
                for line in std::io::stdin().lock().lines().map_while(Result::ok) {
                    if line.trim() == "cancel" {
                        listening.store(true, Ordering::Relaxed);
                    }
                }
            });
            let worker = Worker { config, cancel };
            match task {
                "probe" => match worker.probe() {
                    Ok(device) => WireReply::Found { device },
                    Err(error) => WireReply::Failed {
                        error: error.into(),
                    },
                },
                "scan" => {
                    // The answer goes out as soon as it is known; SANE's cleanup after it
                    // (which a backend can hang in after an error) keeps nobody waiting.
                    let mut written = ExitCode::FAILURE;
                    worker.scan(|result| {
                        written = match result {
                            Ok(page) => write_reply(
                                &WireReply::Scanned {
                                    width: page.width,
                                    height: page.height,
                                    bytes: page.jpeg.len(),
                                },
                                &page.jpeg,
                            ),
                            Err(error) => write_reply(
                                &WireReply::Failed {
                                    error: error.into(),
                                },
                                &[],
                            ),
                        }
                    });
                    return written;
                }
                other => WireReply::Failed {
                    error: WireError::Failed {
                        detail: format!("no such scanner task {other:?}"),
                    },
                },
            }
        }
    };
    write_reply(&reply, &[])
}

fn write_reply(reply: &WireReply, bytes: &[u8]) -> ExitCode {
    let mut stdout = std::io::stdout().lock();
    let line = serde_json::to_string(reply).unwrap_or_else(|_| "{}".into());
    let written = writeln!(stdout, "{line}")
        .and_then(|_| stdout.write_all(bytes))
        .and_then(|_| stdout.flush());
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::FAILURE,
    }
}

struct Worker {
    config: ScannerConfig,
    cancel: Arc<AtomicBool>,
}

impl Worker {
    fn session(&self) -> Result<(Sane, String), SaneError> {
        let sane = Sane::init()?;
        let name = if self.config.device == "auto" {
            let devices = sane.devices()?;
            devices.into_iter().next().ok_or(SaneError::NoScanner)?.name
        } else {
            self.config.device.clone()
        };
        Ok((sane, name))
    }

    fn probe(&self) -> Result<String, SaneError> {
        let (sane, name) = self.session()?;
        drop(sane.open(&name)?);
        Ok(name)
    }

    /// Scans a page and hands the result to `answer` before SANE is closed.
    fn scan(&self, answer: impl FnOnce(Result<Page, SaneError>)) {
        let (sane, name) = match self.session() {
            Ok(session) => session,
            Err(error) => return answer(Err(error)),
        };
        let mut device = match sane.open(&name) {
            Ok(device) => device,
            Err(error) => return answer(Err(error)),
        };
        let page = self.configure(&mut device).and_then(|()| {
            let scan = device.scan(&self.cancel)?;
            Raster::from_samples(scan.layout, &scan.data)
                .map_err(SaneError::Failed)?
                .cropped_to_paper()
                .to_page()
                .map_err(SaneError::Failed)
        });
        answer(page);
        drop(device);
        drop(sane);
    }

    fn configure(&self, device: &mut Device<'_>) -> Result<(), SaneError> {
        let mode = if self.config.colour { "Color" } else { "Gray" };
        let resolution = self.config.resolution.to_string();
        // Backends name and offer these differently; one that lacks them scans as it can.
        for (name, value) in [("mode", mode), ("depth", "8"), ("resolution", &resolution)] {
            if let Err(error) = device.set(name, value) {
                tracing::warn!(%error, "scanning with the scanner's own setting");
            }
        }
        for (name, value) in &self.config.options {
            if !device.set(name, value)? {
                return Err(SaneError::NoSuchOption(name.clone()));
            }
        }
        Ok(())
    }
}
