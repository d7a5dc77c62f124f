//! Document pages on the data channel: binary frames of at most [`MAX_FRAME_BYTES`], cut by
//! [`frames`] on the kiosk and put together by a [`DocumentAssembly`] on the desk, which hands
//! out a page only when every byte arrived in order and its SHA-256 matched — never half a
//! document shown as whole.
//!
//! A frame is a 14-byte header and up to [`MAX_CHUNK_BYTES`] of page bytes, big-endian:
//!
//! ```text
//! "NP" | version (1) | reserved (0) | document: u32 | page: u16 | offset: u32 | bytes…
//! ```
//!
//! The data channel is ordered and reliable, so each frame must continue exactly where the
//! last one ended; anything else is a broken or hostile peer and ends the transfer.

use crate::peer::{DocumentFailure, PageManifest, PageMediaType};
use crate::values::Sha256Hex;
use std::fmt;

/// Largest binary message sent on the data channel: what every WebRTC stack accepts.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;
pub const FRAME_HEADER_BYTES: usize = 14;
pub const MAX_CHUNK_BYTES: usize = MAX_FRAME_BYTES - FRAME_HEADER_BYTES;
/// A document is a few sheets of paper, not a book.
pub const MAX_PAGES: usize = 20;
/// An A4 page at 300 dpi in colour compresses to a few MB at most.
pub const MAX_PAGE_BYTES: u32 = 16 * 1024 * 1024;
pub const MAX_DOCUMENT_BYTES: u64 = 64 * 1024 * 1024;

const MAGIC: [u8; 2] = *b"NP";
const VERSION: u8 = 1;

/// One frame: where its bytes belong and the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageChunk<'a> {
    pub document: u32,
    pub page: u16,
    pub offset: u32,
    pub data: &'a [u8],
}

impl<'a> PageChunk<'a> {
    pub fn encode(&self) -> Vec<u8> {
        assert!(
            self.data.len() <= MAX_CHUNK_BYTES,
            "chunk over the frame limit"
        );
        let mut frame = Vec::with_capacity(FRAME_HEADER_BYTES + self.data.len());
        frame.extend_from_slice(&MAGIC);
        frame.extend_from_slice(&[VERSION, 0]);
        frame.extend_from_slice(&self.document.to_be_bytes());
        frame.extend_from_slice(&self.page.to_be_bytes());
        frame.extend_from_slice(&self.offset.to_be_bytes());
        frame.extend_from_slice(self.data);
        frame
    }

    pub fn decode(frame: &'a [u8]) -> Result<Self, FrameError> {
        if frame.len() > MAX_FRAME_BYTES {
            return Err(FrameError::TooLarge { len: frame.len() });
        }
        if frame.len() < FRAME_HEADER_BYTES {
            return Err(FrameError::TooShort { len: frame.len() });
        }
        if frame[..2] != MAGIC {
            return Err(FrameError::NotAPageFrame);
        }
        if frame[2] != VERSION {
            return Err(FrameError::UnsupportedVersion(frame[2]));
        }
        let u32_at =
            |i: usize| u32::from_be_bytes([frame[i], frame[i + 1], frame[i + 2], frame[i + 3]]);
        Ok(PageChunk {
            document: u32_at(4),
            page: u16::from_be_bytes([frame[8], frame[9]]),
            offset: u32_at(10),
            data: &frame[FRAME_HEADER_BYTES..],
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("a page frame is at most {MAX_FRAME_BYTES} bytes; this one is {len}")]
    TooLarge { len: usize },
    #[error("a page frame has a {FRAME_HEADER_BYTES}-byte header; this one is {len} bytes in all")]
    TooShort { len: usize },
    #[error("binary message does not start with \"NP\"; it is not a page frame")]
    NotAPageFrame,
    #[error("page frame version {0} is not supported (this side speaks {VERSION})")]
    UnsupportedVersion(u8),
}

/// The frames that carry one page, in the order they must be sent.
pub fn frames(document: u32, page: u16, bytes: &[u8]) -> impl Iterator<Item = Vec<u8>> + '_ {
    bytes
        .chunks(MAX_CHUNK_BYTES)
        .enumerate()
        .map(move |(n, data)| {
            PageChunk {
                document,
                page,
                offset: (n * MAX_CHUNK_BYTES) as u32,
                data,
            }
            .encode()
        })
}

impl PageManifest {
    /// What the receiver is told about a page before its bytes.
    pub fn describe(
        bytes: &[u8],
        media_type: PageMediaType,
        width_px: u32,
        height_px: u32,
    ) -> Self {
        PageManifest {
            bytes: bytes.len() as u32,
            sha256: Sha256Hex::of(bytes),
            media_type,
            width_px,
            height_px,
        }
    }
}

/// Why a transfer stopped: what to tell the other side, and what to log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferError {
    pub failure: DocumentFailure,
    pub detail: String,
}

impl fmt::Display for TransferError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.failure, self.detail)
    }
}

impl std::error::Error for TransferError {}

fn violation(detail: impl Into<String>) -> TransferError {
    TransferError {
        failure: DocumentFailure::ProtocolViolation,
        detail: detail.into(),
    }
}

/// What one accepted frame changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// More bytes of the current page arrived.
    Receiving {
        received_bytes: u64,
        total_bytes: u64,
    },
    /// A page arrived whole and checked; its bytes are handed over and no longer held here.
    PageComplete {
        page: u16,
        bytes: Vec<u8>,
        received_bytes: u64,
        total_bytes: u64,
    },
}

/// The receiving side of one document: pages in order, each checked against its manifest.
#[derive(Debug)]
pub struct DocumentAssembly {
    document: u32,
    manifest: Vec<PageManifest>,
    page: usize,
    buffer: Vec<u8>,
    received_bytes: u64,
    total_bytes: u64,
    failed: Option<TransferError>,
}

impl DocumentAssembly {
    /// Checks the offer's limits before a byte is accepted.
    pub fn new(document: u32, manifest: Vec<PageManifest>) -> Result<Self, TransferError> {
        if manifest.is_empty() {
            return Err(violation("a document has at least one page"));
        }
        let too_large = |detail: String| TransferError {
            failure: DocumentFailure::TooLarge,
            detail,
        };
        if manifest.len() > MAX_PAGES {
            return Err(too_large(format!(
                "{} pages; at most {MAX_PAGES} are accepted",
                manifest.len()
            )));
        }
        if let Some((n, page)) = manifest
            .iter()
            .enumerate()
            .find(|(_, p)| p.bytes == 0 || p.bytes > MAX_PAGE_BYTES)
        {
            return Err(too_large(format!(
                "page {} is {} bytes; a page is 1 to {MAX_PAGE_BYTES} bytes",
                n + 1,
                page.bytes
            )));
        }
        let total_bytes: u64 = manifest.iter().map(|p| u64::from(p.bytes)).sum();
        if total_bytes > MAX_DOCUMENT_BYTES {
            return Err(too_large(format!(
                "{total_bytes} bytes in all; at most {MAX_DOCUMENT_BYTES} are accepted"
            )));
        }
        Ok(DocumentAssembly {
            document,
            manifest,
            page: 0,
            buffer: Vec::new(),
            received_bytes: 0,
            total_bytes,
            failed: None,
        })
    }

    pub fn document(&self) -> u32 {
        self.document
    }

    pub fn pages(&self) -> &[PageManifest] {
        &self.manifest
    }

    pub fn is_complete(&self) -> bool {
        self.failed.is_none() && self.page == self.manifest.len()
    }

    /// Takes the next binary frame. After an error every later frame gets the same error:
    /// the transfer is over and nothing more of it is shown.
    pub fn accept(&mut self, frame: &[u8]) -> Result<Progress, TransferError> {
        if let Some(failed) = &self.failed {
            return Err(failed.clone());
        }
        let result = self.accept_frame(frame);
        if let Err(err) = &result {
            self.failed = Some(err.clone());
            self.buffer = Vec::new();
        }
        result
    }

    fn accept_frame(&mut self, frame: &[u8]) -> Result<Progress, TransferError> {
        let chunk = PageChunk::decode(frame).map_err(|e| violation(e.to_string()))?;
        if chunk.document != self.document {
            return Err(violation(format!(
                "frame for document {} while receiving document {}",
                chunk.document, self.document
            )));
        }
        let Some(expected) = self.manifest.get(self.page) else {
            return Err(violation("frame after the last page was complete"));
        };
        if usize::from(chunk.page) != self.page {
            return Err(violation(format!(
                "frame for page {} while receiving page {}",
                usize::from(chunk.page) + 1,
                self.page + 1
            )));
        }
        if chunk.offset as usize != self.buffer.len() {
            return Err(violation(format!(
                "frame at byte {} of page {}, expected byte {}",
                chunk.offset,
                self.page + 1,
                self.buffer.len()
            )));
        }
        if chunk.data.is_empty() {
            return Err(violation("empty page frame"));
        }
        let page_bytes = expected.bytes as usize;
        if self.buffer.len() + chunk.data.len() > page_bytes {
            return Err(violation(format!(
                "page {} is longer than the {page_bytes} bytes announced",
                self.page + 1
            )));
        }
        if self.buffer.capacity() == 0 {
            self.buffer.reserve_exact(page_bytes);
        }
        self.buffer.extend_from_slice(chunk.data);
        self.received_bytes += chunk.data.len() as u64;
        if self.buffer.len() < page_bytes {
            return Ok(Progress::Receiving {
                received_bytes: self.received_bytes,
                total_bytes: self.total_bytes,
            });
        }
        if Sha256Hex::of(&self.buffer) != expected.sha256 {
            return Err(TransferError {
                failure: DocumentFailure::Corrupted,
                detail: format!("page {} does not match its SHA-256", self.page + 1),
            });
        }
        let page = self.page as u16;
        self.page += 1;
        Ok(Progress::PageComplete {
            page,
            bytes: std::mem::take(&mut self.buffer),
            received_bytes: self.received_bytes,
            total_bytes: self.total_bytes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(len: usize, seed: u8) -> Vec<u8> {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(31) ^ seed)
            .collect()
    }

    fn manifest(pages: &[&[u8]]) -> Vec<PageManifest> {
        pages
            .iter()
            .map(|p| PageManifest::describe(p, PageMediaType::Jpeg, 2480, 3508))
            .collect()
    }

    #[test]
    fn two_pages_arrive_whole_and_in_order() {
        let one = page(MAX_CHUNK_BYTES * 2 + 17, 1);
        let two = page(900, 2);
        let mut assembly = DocumentAssembly::new(7, manifest(&[&one, &two])).unwrap();
        let mut complete = Vec::new();
        let sent: Vec<Vec<u8>> = frames(7, 0, &one).chain(frames(7, 1, &two)).collect();
        assert!(sent.iter().all(|f| f.len() <= MAX_FRAME_BYTES));
        assert_eq!(sent.len(), 4);
        for frame in &sent {
            if let Progress::PageComplete { page, bytes, .. } = assembly.accept(frame).unwrap() {
                complete.push((page, bytes));
            }
        }
        assert_eq!(complete, vec![(0, one), (1, two)]);
        assert!(assembly.is_complete());
    }

    #[test]
    fn a_corrupted_page_is_never_handed_out() {
        let one = page(5000, 1);
        let mut assembly = DocumentAssembly::new(1, manifest(&[&one])).unwrap();
        let mut frame = frames(1, 0, &one).next().unwrap();
        frame[FRAME_HEADER_BYTES + 10] ^= 0xff;
        let err = assembly.accept(&frame).unwrap_err();
        assert_eq!(err.failure, DocumentFailure::Corrupted);
        assert!(err.detail.contains("page 1"), "{}", err.detail);
        // Nothing after a failure is accepted, not even the right bytes.
        let good = frames(1, 0, &one).next().unwrap();
        assert_eq!(assembly.accept(&good).unwrap_err(), err);
    }

    #[test]
    fn gaps_overlaps_overruns_and_strangers_end_the_transfer() {
        let one = page(MAX_CHUNK_BYTES + 10, 3);
        let sent: Vec<Vec<u8>> = frames(4, 0, &one).collect();
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (sent[1].clone(), "expected byte 0"),
            (frames(5, 0, &one).next().unwrap(), "document 5"),
            (
                frames(4, 1, &one).next().unwrap(),
                "page 2 while receiving page 1",
            ),
            (
                PageChunk {
                    document: 4,
                    page: 0,
                    offset: 0,
                    data: &page(MAX_CHUNK_BYTES, 0),
                }
                .encode(),
                "does not match",
            ),
            (b"XX".to_vec(), "header"),
            (
                vec![b'N', b'P', 9, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 1],
                "version 9",
            ),
        ];
        for (frame, expected) in cases {
            let mut assembly = DocumentAssembly::new(4, manifest(&[&one])).unwrap();
            let mut result = assembly.accept(&frame);
            if result.is_ok() {
                // The one-chunk case is whole only with the second frame's bytes.
                result = assembly.accept(
                    &PageChunk {
                        document: 4,
                        page: 0,
                        offset: MAX_CHUNK_BYTES as u32,
                        data: &[0; 10],
                    }
                    .encode(),
                );
            }
            let err = result.unwrap_err();
            assert!(
                err.detail.contains(expected),
                "{expected:?} not in {:?}",
                err.detail
            );
        }
        let mut assembly = DocumentAssembly::new(4, manifest(&[&one])).unwrap();
        assembly.accept(&sent[0]).unwrap();
        let too_long = PageChunk {
            document: 4,
            page: 0,
            offset: MAX_CHUNK_BYTES as u32,
            data: &[0; 11],
        };
        let err = assembly.accept(&too_long.encode()).unwrap_err();
        assert!(err.detail.contains("longer than"), "{}", err.detail);
    }

    #[test]
    fn offers_past_the_limits_are_refused_before_any_bytes() {
        let one = page(10, 0);
        let many = vec![PageManifest::describe(&one, PageMediaType::Jpeg, 1, 1); MAX_PAGES + 1];
        let err = DocumentAssembly::new(1, many).unwrap_err();
        assert_eq!(err.failure, DocumentFailure::TooLarge);
        let mut huge = manifest(&[&one]);
        huge[0].bytes = MAX_PAGE_BYTES + 1;
        assert_eq!(
            DocumentAssembly::new(1, huge).unwrap_err().failure,
            DocumentFailure::TooLarge
        );
        assert_eq!(
            DocumentAssembly::new(1, Vec::new()).unwrap_err().failure,
            DocumentFailure::ProtocolViolation
        );
    }
}
