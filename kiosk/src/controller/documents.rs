//! The citizen's document, as the controller carries it: only in a meeting, to one officer in
//! it, and told to the broker as a count and a size once that officer has every page whole.

use super::Kiosk;
use crate::documents::DocumentEvent;
use nara_protocol::encode;
use nara_protocol::kiosk::KioskToBroker;
use nara_protocol::peer::{DocumentFailure, PeerMessage};
use nara_protocol::{StaffId, StaffRoleKind};

/// The citizen's document action as the local API (or the screen) asks it: the recipient of a
/// `send` may be left out when only one officer is in the meeting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocumentRequest {
    /// Scan a page and add it.
    Scan,
    /// Scan the last page again (crooked, the wrong side).
    Rescan,
    /// Send every page to one officer in the meeting: the one whose name the citizen touched.
    Send { to: Option<StaffId> },
    /// Stop the scan or the sending, and forget the pages.
    Cancel,
}

impl Kiosk {
    pub(super) async fn on_document(&mut self, request: DocumentRequest) -> Result<(), String> {
        let result = self.document_action(request).await;
        if result.is_ok() {
            self.tell_desks_about_scanner().await;
        }
        result
    }

    /// A scan or a transfer reported back.
    pub(super) async fn on_document_event(&mut self, event: DocumentEvent) {
        let scanned = matches!(event, DocumentEvent::Scanned(_));
        self.documents.on_event(event);
        if scanned {
            self.tell_desks_about_scanner().await;
        }
    }

    /// Tells the desks in the meeting what the citizen's scanner is doing: an officer waiting
    /// for a paper then knows what holds it up.
    pub(super) async fn tell_desks_about_scanner(&self) {
        let status = self.documents.status();
        let message = encode(&PeerMessage::ScannerState {
            scanning: status.scanning,
            pages: status.pages.len() as u16,
            problem: status.problem.map(crate::health::short),
        });
        for peer in self.peers.values().filter(|peer| peer.channel_open) {
            let _ = peer.link.send_text(&message).await;
        }
    }

    async fn document_action(&mut self, request: DocumentRequest) -> Result<(), String> {
        if self.visit.call().is_none() && request != DocumentRequest::Cancel {
            return Err("documents are shown to an officer in a meeting; there is none now".into());
        }
        match request {
            DocumentRequest::Scan => self.documents.scan(false),
            DocumentRequest::Rescan => self.documents.scan(true),
            DocumentRequest::Send { to } => {
                let to = self.recipient(to)?;
                let channel = self
                    .peers
                    .get(&to)
                    .and_then(|peer| peer.link.open_channel())
                    .ok_or_else(|| "the connection to that officer is not open".to_string())?;
                self.documents.send(to, channel)
            }
            DocumentRequest::Cancel => {
                if let Some((to, document)) = self.documents.cancel() {
                    let failed = encode(&PeerMessage::DocumentFailed {
                        document,
                        reason: DocumentFailure::Cancelled,
                    });
                    if let Some(peer) = self.peers.get(&to) {
                        let _ = peer.link.send_text(&failed).await;
                    }
                }
                Ok(())
            }
        }
    }

    /// Who receives the document: the officer named, who must be in the meeting, or the only
    /// officer there. An interpreter never receives one, whoever asked (M3 of the security
    /// review: a request from the interpreter redirected the citizen's document to them).
    fn recipient(&self, to: Option<StaffId>) -> Result<StaffId, String> {
        let is_officer = |staff: &StaffId| {
            self.peers
                .get(staff)
                .is_some_and(|peer| peer.card.role == StaffRoleKind::Officer)
        };
        match to {
            Some(to) if is_officer(&to) => Ok(to),
            Some(to) if self.peers.contains_key(&to) => Err(format!(
                "{to} is not an officer; documents go to an officer in the meeting"
            )),
            Some(to) => Err(format!("{to} is not in the meeting")),
            None => {
                let mut officers = self.peers.keys().filter(|staff| is_officer(staff));
                match (officers.next(), officers.next()) {
                    (Some(only), None) => Ok(only.clone()),
                    (None, _) => Err("no officer is in the meeting to send it to".into()),
                    (Some(_), Some(_)) => Err(
                        "more than one officer is in the meeting: choose who receives it".into(),
                    ),
                }
            }
        }
    }

    /// A desk confirmed a page or gave the document up.
    pub(super) fn on_desk_document(&mut self, from: &StaffId, message: &PeerMessage) {
        let Some(delivered) = self.documents.on_desk(from, message) else {
            return;
        };
        let Some(visit) = self.visit.resumable() else {
            return;
        };
        tracing::info!(to = %delivered.to, pages = delivered.pages, bytes = delivered.bytes, "document delivered");
        self.send(KioskToBroker::DocumentSent {
            visit,
            to: delivered.to,
            pages: delivered.pages,
            bytes: delivered.bytes,
        });
    }
}
