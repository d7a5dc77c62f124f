//! The scanner on the *kundarbetsplats*: found and driven through SANE ([`nara_sane`]), each
//! page cut to the paper and compressed ([`raster`]). Pages live in memory only: nothing
//! scanned is ever written to disk.
//!
//! SANE runs in a helper process (`kiosk scanner-helper`, [`helper`]), one per request, never
//! in the kiosk itself. Its backends are C drivers of every quality: one that crashes must not
//! end the citizen's meeting, and some reset the process's SIGTERM handling from their reader
//! threads (the `test` backend does), which would take the kiosk's clean shutdown with it. A
//! scan is cancelled through the helper's stdin, so the backend can stop the scanner properly.
//!
//! [`Scanner`] is the async face the controller uses: look for the scanner, scan a page,
//! cancel a scan, and the state the health report carries.

pub mod helper;
pub mod raster;

use nara_protocol::DeviceState;
pub use nara_sane::SaneError;
use raster::Page;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct ScannerConfig {
    /// `auto`: the first scanner SANE finds; `none`: this kiosk has none; otherwise a SANE
    /// device name as `scanimage -L` prints it (`airscan:e0:Brother MFC-L2710DW`, `test:0`).
    pub device: String,
    /// Dots per inch: 300 keeps small print readable.
    pub resolution: u32,
    /// Colour, or grey (a third of the bytes) for kiosks on slow links.
    pub colour: bool,
    /// Further SANE options by name, as `scanimage --help -d DEVICE` lists them
    /// (e.g. `source = "ADF"`, or the scan area `br-x`/`br-y` in millimetres).
    pub options: BTreeMap<String, String>,
}

impl Default for ScannerConfig {
    fn default() -> Self {
        ScannerConfig {
            device: "auto".into(),
            resolution: 300,
            colour: true,
            options: BTreeMap::new(),
        }
    }
}

/// The kiosk's scanner. Requests run one at a time, each in a helper process.
#[derive(Debug)]
pub struct Scanner {
    config: ScannerConfig,
    /// The program that runs `scanner-helper` (the kiosk's own binary).
    helper: PathBuf,
    /// One request at a time: SANE opens a device exclusively.
    busy: tokio::sync::Mutex<()>,
    cancel: watch::Sender<u64>,
    state: Arc<Mutex<DeviceState>>,
}

fn state_after<T>(result: &Result<T, SaneError>) -> DeviceState {
    match result {
        Ok(_) => DeviceState::Ok,
        Err(SaneError::NoScanner | SaneError::NotInstalled(_)) => DeviceState::Missing,
        // A cancelled scan says nothing about the scanner.
        Err(SaneError::Cancelled) => DeviceState::Ok,
        Err(other) => DeviceState::Failing {
            detail: crate::health::short(other.to_string()),
        },
    }
}

impl Scanner {
    /// `helper` is the kiosk's binary, which runs SANE when given `scanner-helper`.
    pub fn start(config: ScannerConfig, helper: PathBuf) -> Scanner {
        Scanner {
            config,
            helper,
            busy: tokio::sync::Mutex::new(()),
            cancel: watch::channel(0).0,
            state: Arc::new(Mutex::new(DeviceState::Missing)),
        }
    }

    /// Whether this kiosk is meant to have a scanner (one configured `none` is not).
    pub fn expected(&self) -> bool {
        self.config.device != "none"
    }

    /// Looks for the scanner; returns its SANE name.
    pub async fn probe(&self) -> Result<String, SaneError> {
        let result = self
            .run(helper::Task::Probe)
            .await
            .and_then(|reply| match reply {
                helper::Reply::Found { device } => Ok(device),
                other => Err(helper::unexpected(&other)),
            });
        self.record(&result);
        result
    }

    /// Scans one page, cut to the paper and compressed.
    pub async fn scan(&self) -> Result<Page, SaneError> {
        let result = self
            .run(helper::Task::Scan)
            .await
            .and_then(|reply| match reply {
                helper::Reply::Scanned { page } => Ok(page),
                other => Err(helper::unexpected(&other)),
            });
        self.record(&result);
        result
    }

    /// Looks for the scanner again in the background unless it is in use, so that the next
    /// health report says whether it is still there (unplugged, switched off, back).
    /// Returns the look under way, if one was started.
    pub fn refresh(self: &Arc<Self>) -> Option<tokio::task::JoinHandle<()>> {
        if self.busy.try_lock().is_err() {
            return None;
        }
        let scanner = self.clone();
        Some(tokio::spawn(async move {
            if let Err(error) = scanner.probe().await {
                tracing::debug!(%error, "no scanner");
            }
        }))
    }

    /// Stops the scan under way, if any; it ends with [`SaneError::Cancelled`].
    pub fn cancel(&self) {
        self.cancel.send_modify(|n| *n += 1);
    }

    /// What the last look at the scanner found.
    pub fn state(&self) -> DeviceState {
        self.state.lock().expect("not poisoned").clone()
    }

    fn record<T>(&self, result: &Result<T, SaneError>) {
        *self.state.lock().expect("not poisoned") = state_after(result);
    }

    async fn run(&self, task: helper::Task) -> Result<helper::Reply, SaneError> {
        if !self.expected() {
            return Err(SaneError::NoScanner);
        }
        let _one_at_a_time = self.busy.lock().await;
        let mut cancelled = self.cancel.subscribe();
        cancelled.mark_unchanged();
        helper::run(&self.helper, &self.config, task, cancelled).await
    }
}
