//! The citizen's document: pages scanned one by one and shown to the citizen, who may scan the
//! last one again, add one, or send them to the one officer they choose. Nothing leaves the
//! kiosk before the citizen presses send, and nothing is kept after the visit: pages live
//! here, in memory, and [`Documents::clear`] drops them.
//!
//! The controller owns a [`Documents`], hands it what the citizen does and what the desk
//! answers, and feeds back the [`DocumentEvent`]s its scan and transfer tasks report.

use crate::peer::transfer::send_document;
use crate::scanner::raster::Page;
use crate::scanner::Scanner;
use nara_protocol::pages::MAX_PAGES;
use nara_protocol::peer::{DocumentFailure, PeerMessage};
use nara_protocol::StaffId;
use serde::Serialize;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use webrtc::data_channel::DataChannel;

/// What the scan and transfer tasks report back.
#[derive(Debug)]
pub enum DocumentEvent {
    Scanned(Result<Page, String>),
    Progress {
        document: u32,
        sent_bytes: u64,
    },
    Handed {
        document: u32,
        result: Result<(), String>,
    },
}

/// A document on its way, and how far it got.
#[derive(Debug)]
struct Sending {
    document: u32,
    to: StaffId,
    task: JoinHandle<()>,
    pages: u16,
    bytes: u64,
    sent_bytes: u64,
    pages_received: u16,
}

/// A finished delivery, for the broker's statistics: count and size, never content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    pub to: StaffId,
    pub pages: u16,
    pub bytes: u64,
}

/// What the screen (and the local API) shows of the document.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DocumentStatus {
    pub pages: Vec<PageStatus>,
    pub scanning: bool,
    /// Sending now: to whom and how far.
    pub sending: Option<SendingStatus>,
    /// The last document that reached its officer whole, until the next scan.
    pub delivered_to: Option<StaffId>,
    /// What went wrong, in words the citizen is told.
    pub problem: Option<String>,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PageStatus {
    pub width_px: u32,
    pub height_px: u32,
    pub bytes: usize,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SendingStatus {
    pub to: StaffId,
    pub sent_bytes: u64,
    pub total_bytes: u64,
    pub pages_received: u16,
}

#[derive(Debug)]
pub struct Documents {
    scanner: Arc<Scanner>,
    events: mpsc::UnboundedSender<DocumentEvent>,
    pages: Vec<Arc<Page>>,
    scanning: Option<JoinHandle<()>>,
    /// The scan under way was cancelled: what it brings is dropped.
    scan_cancelled: bool,
    sending: Option<Sending>,
    next_document: u32,
    delivered_to: Option<StaffId>,
    problem: Option<String>,
}

impl Documents {
    pub fn new(scanner: Arc<Scanner>, events: mpsc::UnboundedSender<DocumentEvent>) -> Self {
        Documents {
            scanner,
            events,
            pages: Vec::new(),
            scanning: None,
            scan_cancelled: false,
            sending: None,
            next_document: 1,
            delivered_to: None,
            problem: None,
        }
    }

    pub fn scanner(&self) -> Arc<Scanner> {
        self.scanner.clone()
    }

    /// Starts a scan (a new page, or the last one again).
    pub fn scan(&mut self, again: bool) -> Result<(), String> {
        if self.scanning.is_some() {
            return Err("a page is being scanned".into());
        }
        if self.sending.is_some() {
            return Err("the document is being sent".into());
        }
        if !again && self.pages.len() >= MAX_PAGES {
            return Err(format!("a document has at most {MAX_PAGES} pages"));
        }
        if again {
            self.pages.pop();
        }
        self.problem = None;
        self.delivered_to = None;
        let scanner = self.scanner.clone();
        let events = self.events.clone();
        self.scanning = Some(tokio::spawn(async move {
            let result = scanner.scan().await.map_err(|e| e.to_string());
            let _ = events.send(DocumentEvent::Scanned(result));
        }));
        Ok(())
    }

    /// Sends every page to `to` over `channel`.
    pub fn send(&mut self, to: StaffId, channel: Arc<dyn DataChannel>) -> Result<(), String> {
        if self.pages.is_empty() {
            return Err("there is no page to send; scan one first".into());
        }
        if self.scanning.is_some() || self.sending.is_some() {
            return Err("wait until the scan or the sending finishes".into());
        }
        let document = self.next_document;
        self.next_document += 1;
        self.problem = None;
        let pages = self.pages.clone();
        let events = self.events.clone();
        let progress_events = self.events.clone();
        let task = tokio::spawn(async move {
            let progress = |sent_bytes| {
                let _ = progress_events.send(DocumentEvent::Progress {
                    document,
                    sent_bytes,
                });
            };
            let result = send_document(channel, document, &pages, progress).await;
            let _ = events.send(DocumentEvent::Handed { document, result });
        });
        self.sending = Some(Sending {
            document,
            to,
            task,
            pages: self.pages.len() as u16,
            bytes: self.pages.iter().map(|p| p.jpeg.len() as u64).sum(),
            sent_bytes: 0,
            pages_received: 0,
        });
        Ok(())
    }

    /// The scan or transfer task reported.
    pub fn on_event(&mut self, event: DocumentEvent) {
        match event {
            DocumentEvent::Scanned(result) => {
                self.scanning = None;
                if std::mem::take(&mut self.scan_cancelled) {
                    return;
                }
                match result {
                    Ok(page) => self.pages.push(Arc::new(page)),
                    Err(problem) => self.problem = Some(problem),
                }
            }
            DocumentEvent::Progress {
                document,
                sent_bytes,
            } => {
                if let Some(sending) = self.sending.as_mut().filter(|s| s.document == document) {
                    sending.sent_bytes = sending.sent_bytes.max(sent_bytes);
                }
            }
            DocumentEvent::Handed {
                document,
                result: Err(problem),
            } => {
                if self
                    .sending
                    .as_ref()
                    .is_some_and(|s| s.document == document)
                {
                    self.sending = None;
                    self.problem = Some(problem);
                }
            }
            // All bytes are with the channel; the desk's confirmations finish the delivery.
            DocumentEvent::Handed { result: Ok(()), .. } => {}
        }
    }

    /// The desk `from` said something about a document. Returns the delivery once the
    /// recipient confirmed every page; the pages are then dropped.
    pub fn on_desk(&mut self, from: &StaffId, message: &PeerMessage) -> Option<Delivered> {
        let sending = self.sending.as_mut()?;
        match message {
            PeerMessage::PageReceived { document, .. }
                if *document == sending.document && *from == sending.to =>
            {
                sending.pages_received += 1;
                if sending.pages_received < sending.pages {
                    return None;
                }
                let sending = self.sending.take()?;
                self.pages.clear();
                self.delivered_to = Some(sending.to.clone());
                Some(Delivered {
                    to: sending.to,
                    pages: sending.pages,
                    bytes: sending.bytes,
                })
            }
            PeerMessage::DocumentFailed { document, reason }
                if *document == sending.document && *from == sending.to =>
            {
                if let Some(sending) = self.sending.take() {
                    sending.task.abort();
                }
                self.problem = Some(describe(*reason).into());
                None
            }
            _ => None,
        }
    }

    /// The connection to `staff` went away: a document on its way there will not arrive.
    pub fn peer_gone(&mut self, staff: &StaffId) {
        if self.sending.as_ref().is_some_and(|s| s.to == *staff) {
            if let Some(sending) = self.sending.take() {
                sending.task.abort();
            }
            self.problem = Some(describe(DocumentFailure::ConnectionLost).into());
        }
    }

    /// Stops what is under way and forgets the pages. Returns the desk and document to tell
    /// that a transfer was cancelled.
    pub fn cancel(&mut self) -> Option<(StaffId, u32)> {
        // The scanner is asked to stop, so that it stops properly; the scan ends by itself
        // soon after, and whatever it brings is dropped.
        if self.scanning.is_some() {
            self.scanner.cancel();
            self.scan_cancelled = true;
        }
        self.pages.clear();
        self.problem = None;
        self.delivered_to = None;
        self.sending.take().map(|sending| {
            sending.task.abort();
            (sending.to, sending.document)
        })
    }

    /// The visit is over: nothing of the document stays.
    pub fn clear(&mut self) {
        self.cancel();
        self.next_document = 1;
    }

    pub fn status(&self) -> DocumentStatus {
        DocumentStatus {
            pages: self
                .pages
                .iter()
                .map(|page| PageStatus {
                    width_px: page.width,
                    height_px: page.height,
                    bytes: page.jpeg.len(),
                })
                .collect(),
            scanning: self.scanning.is_some(),
            sending: self.sending.as_ref().map(|s| SendingStatus {
                to: s.to.clone(),
                sent_bytes: s.sent_bytes,
                total_bytes: s.bytes,
                pages_received: s.pages_received,
            }),
            delivered_to: self.delivered_to.clone(),
            problem: self.problem.clone(),
        }
    }

    /// Page `index` (from 0) as the JPEG the citizen is shown.
    pub fn page(&self, index: usize) -> Option<Vec<u8>> {
        self.pages.get(index).map(|page| page.jpeg.clone())
    }
}

/// Why a document did not arrive, as the citizen is told.
pub fn describe(failure: DocumentFailure) -> &'static str {
    match failure {
        DocumentFailure::Cancelled => "the sending was stopped",
        DocumentFailure::Corrupted => "a page arrived damaged; send it again",
        DocumentFailure::ProtocolViolation | DocumentFailure::TooLarge => {
            "the officer's computer could not take the document"
        }
        DocumentFailure::ConnectionLost => "the connection broke while sending; send it again",
    }
}
