//! What a kiosk and one desk say to each other over their call's data channel. The broker
//! never sees any of it: chat and documents go peer to peer, end-to-end encrypted by DTLS.
//!
//! Text messages on the channel are JSON [`PeerMessage`]s; a document's page bytes follow
//! its [`PeerMessage::DocumentOffered`] as binary frames (see [`crate::pages`]).

use crate::values::*;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Everything either end may send as text on the data channel.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum PeerMessage {
    /// A chat line. `id` counts up per sender so that a seen-mark names the line.
    #[serde(rename_all = "camelCase")]
    Chat { id: u32, text: LongText },
    #[serde(rename_all = "camelCase")]
    ChatSeen { id: u32 },
    /// Kiosk → desk: the citizen pressed send; the pages' bytes follow as binary frames, in
    /// page order. Nothing is sent before the citizen presses send.
    #[serde(rename_all = "camelCase")]
    DocumentOffered {
        document: u32,
        pages: Vec<PageManifest>,
    },
    /// Desk → kiosk: a page arrived whole and its SHA-256 matched.
    #[serde(rename_all = "camelCase")]
    PageReceived { document: u32, page: u16 },
    /// Kiosk → desks: the citizen's scanner, so that an officer waiting for a paper knows what
    /// holds it up. Never anything of the pages but their count.
    #[serde(rename_all = "camelCase")]
    ScannerState {
        scanning: bool,
        /// Pages scanned and not yet sent.
        pages: u16,
        /// What went wrong at the scanner, as the citizen was told ("paper jam").
        problem: Option<ShortText>,
    },
    /// Either way: the document will not arrive whole and nothing of it is shown.
    #[serde(rename_all = "camelCase")]
    DocumentFailed {
        document: u32,
        reason: DocumentFailure,
    },
}

/// One page as announced before its bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PageManifest {
    pub bytes: u32,
    pub sha256: Sha256Hex,
    pub media_type: PageMediaType,
    pub width_px: u32,
    pub height_px: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub enum PageMediaType {
    #[serde(rename = "image/jpeg")]
    Jpeg,
    #[serde(rename = "image/png")]
    Png,
}

/// Why a document did not arrive, said so that both ends can tell the person.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum DocumentFailure {
    /// The citizen cancelled, or the visit ended, before all pages were sent.
    Cancelled,
    /// A page's bytes did not match its SHA-256.
    Corrupted,
    /// The frames broke the rules (out of order, too long, unknown document).
    ProtocolViolation,
    /// The document is larger than the receiver accepts.
    TooLarge,
    /// The channel closed mid-transfer.
    ConnectionLost,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{decode, encode};

    #[test]
    fn a_document_offer_round_trips_and_a_bad_digest_is_named() {
        let offer = PeerMessage::DocumentOffered {
            document: 1,
            pages: vec![PageManifest {
                bytes: 1200,
                sha256: Sha256Hex::of(b"page"),
                media_type: PageMediaType::Jpeg,
                width_px: 2480,
                height_px: 3508,
            }],
        };
        let text = encode(&offer);
        assert!(text.contains("\"mediaType\":\"image/jpeg\""), "{text}");
        assert_eq!(decode::<PeerMessage>(&text).unwrap(), offer);

        let bad = text.replace(Sha256Hex::of(b"page").as_str(), "abc");
        let err = decode::<PeerMessage>(&bad).unwrap_err().to_string();
        assert!(err.contains("64 hexadecimal"), "{err}");
    }

    #[test]
    fn the_scanner_state_names_its_problem() {
        let jammed = PeerMessage::ScannerState {
            scanning: false,
            pages: 1,
            problem: Some(ShortText::new("paper jam").unwrap()),
        };
        let text = encode(&jammed);
        assert_eq!(
            text,
            r#"{"type":"scannerState","scanning":false,"pages":1,"problem":"paper jam"}"#
        );
        assert_eq!(decode::<PeerMessage>(&text).unwrap(), jammed);
    }
}
