//! The scanner on the *kundarbetsplats*: found and driven through SANE ([`nara_sane`]) on a thread of
//! its own, since SANE blocks and is not thread-safe; each page cut to the paper and compressed
//! ([`raster`]). Pages live in memory only: nothing scanned is ever written to disk.
//!
//! [`Scanner`] is the async face the controller uses: look for the scanner, scan a page,
//! cancel a scan, and the state the health report carries.

pub mod raster;

use nara_protocol::DeviceState;
pub use nara_sane::SaneError;
use nara_sane::{Device, Sane};
use raster::{Page, Raster};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use tokio::sync::oneshot;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
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

enum Request {
    Probe(oneshot::Sender<Result<String, SaneError>>),
    Scan(oneshot::Sender<Result<Page, SaneError>>),
}

/// The scanner thread's handle. Dropping it ends the thread after its current request.
#[derive(Debug)]
pub struct Scanner {
    requests: mpsc::Sender<Request>,
    cancel: Arc<AtomicBool>,
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
    pub fn start(config: ScannerConfig) -> Scanner {
        let (requests, inbox) = mpsc::channel();
        let cancel = Arc::new(AtomicBool::new(false));
        let state = Arc::new(Mutex::new(DeviceState::Missing));
        let worker = Worker {
            config,
            cancel: cancel.clone(),
            state: state.clone(),
        };
        let spawned = std::thread::Builder::new()
            .name("scanner".into())
            .spawn(move || worker.serve(inbox));
        if let Err(error) = spawned {
            tracing::error!(%error, "no scanner thread; the kiosk runs without its scanner");
        }
        Scanner {
            requests,
            cancel,
            state,
        }
    }

    /// Looks for the scanner; returns its SANE name.
    pub async fn probe(&self) -> Result<String, SaneError> {
        let (reply, answer) = oneshot::channel();
        self.ask(Request::Probe(reply))?;
        answer.await.unwrap_or(Err(SaneError::NoScanner))
    }

    /// Scans one page, cut to the paper and compressed.
    pub async fn scan(&self) -> Result<Page, SaneError> {
        self.cancel.store(false, Ordering::Relaxed);
        let (reply, answer) = oneshot::channel();
        self.ask(Request::Scan(reply))?;
        answer.await.unwrap_or(Err(SaneError::Cancelled))
    }

    /// Stops the scan under way, if any; it ends with [`SaneError::Cancelled`].
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    /// What the last look at the scanner found.
    pub fn state(&self) -> DeviceState {
        self.state.lock().expect("not poisoned").clone()
    }

    fn ask(&self, request: Request) -> Result<(), SaneError> {
        self.requests
            .send(request)
            .map_err(|_| SaneError::Failed("the scanner thread has stopped".into()))
    }
}

struct Worker {
    config: ScannerConfig,
    cancel: Arc<AtomicBool>,
    state: Arc<Mutex<DeviceState>>,
}

impl Worker {
    fn serve(self, inbox: mpsc::Receiver<Request>) {
        for request in inbox {
            match request {
                Request::Probe(reply) => {
                    let result = self.probe();
                    self.record(&result);
                    let _ = reply.send(result);
                }
                Request::Scan(reply) => {
                    let result = self.scan();
                    self.record(&result);
                    let _ = reply.send(result);
                }
            }
        }
    }

    fn record<T>(&self, result: &Result<T, SaneError>) {
        *self.state.lock().expect("not poisoned") = state_after(result);
    }

    /// SANE is started afresh for each request: a scanner plugged in since is then found, and
    /// nothing of SANE stays loaded between visits.
    fn session(&self) -> Result<(Sane, String), SaneError> {
        if self.config.device == "none" {
            return Err(SaneError::NoScanner);
        }
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

    fn scan(&self) -> Result<Page, SaneError> {
        let (sane, name) = self.session()?;
        let mut device = sane.open(&name)?;
        self.configure(&mut device)?;
        let scan = device.scan(&self.cancel)?;
        drop(device);
        Raster::from_samples(scan.layout, &scan.data)
            .map_err(SaneError::Failed)?
            .cropped_to_paper()
            .to_page()
            .map_err(SaneError::Failed)
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
