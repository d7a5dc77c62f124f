//! A document's way to one desk over that desk's data channel: the manifest (sizes and
//! SHA-256 of every page) as text, then each page in binary frames of at most 64 KiB
//! ([`nara_protocol::pages`]). The channel's send buffer is bounded, so sending waits for the
//! desk to take what was sent: memory stays flat and a chat line is not stuck behind the
//! whole document.

use crate::scanner::raster::Page;
use bytes::BytesMut;
use nara_protocol::encode;
use nara_protocol::pages::{frames, FRAME_HEADER_BYTES};
use nara_protocol::peer::PeerMessage;
use std::sync::Arc;
use webrtc::data_channel::DataChannel;

/// How much may wait in the channel's send buffer: about 100 ms at 20 Mbit/s.
pub const SEND_BUFFER_BYTES: usize = 256 * 1024;

/// Sends `pages` as document `document`; `progress` hears the page bytes handed over so far.
/// The desk confirms each page (`pageReceived`) once its hash matched.
pub async fn send_document(
    channel: Arc<dyn DataChannel>,
    document: u32,
    pages: &[Arc<Page>],
    progress: impl Fn(u64),
) -> Result<(), String> {
    let closed = |e: webrtc::error::Error| format!("the connection to the officer closed: {e}");
    let offered = PeerMessage::DocumentOffered {
        document,
        pages: pages.iter().map(|page| page.manifest()).collect(),
    };
    channel.send_text(&encode(&offered)).await.map_err(closed)?;
    let mut sent = 0u64;
    for (index, page) in pages.iter().enumerate() {
        let index = u16::try_from(index).map_err(|_| "too many pages".to_string())?;
        for frame in frames(document, index, &page.jpeg) {
            sent += (frame.len() - FRAME_HEADER_BYTES) as u64;
            channel
                .send(BytesMut::from(frame.as_slice()))
                .await
                .map_err(closed)?;
            progress(sent);
        }
    }
    Ok(())
}
