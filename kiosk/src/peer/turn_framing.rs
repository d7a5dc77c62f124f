//! TURN messages on a byte stream (RFC 8656 §12.5): over TCP and TLS, what travels as one UDP
//! datagram each is written back to back, so the receiver must find where each message ends.
//! STUN messages carry their length; ChannelData messages carry theirs and are padded to a
//! multiple of four bytes on a stream (never counted in the length).
//!
//! No I/O here: [`to_stream`] turns a datagram into stream bytes, [`StreamSplitter`] turns
//! stream bytes back into datagrams. [`super::turn_bridge`] moves them.

use bytes::{Buf, Bytes, BytesMut};

/// STUN's fixed header: type, length, magic cookie, transaction id.
const STUN_HEADER: usize = 20;
/// ChannelData's header: channel number and length.
const CHANNEL_HEADER: usize = 4;

/// STUN's magic cookie (RFC 8489), in every STUN message after type and length.
const MAGIC_COOKIE: [u8; 4] = [0x21, 0x12, 0xa4, 0x42];
/// The channel numbers a TURN client may bind (RFC 8656 §12).
const CHANNELS: std::ops::RangeInclusive<u16> = 0x4000..=0x4fff;

/// What a TURN server sent that no TURN server would.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FramingError {
    #[error("the stream carries a message starting with {0:#04x}, neither STUN nor ChannelData")]
    NotTurn(u8),
    #[error("a STUN message without STUN's magic cookie")]
    NoMagicCookie,
    #[error("ChannelData for channel {0:#06x}, outside 0x4000–0x4fff")]
    NoSuchChannel(u16),
    #[error("a STUN message of {0} bytes is not a whole number of 32-bit words")]
    UnalignedStun(usize),
    #[error("a datagram of {0} bytes is too short to be STUN or ChannelData")]
    TooShort(usize),
    #[error("a datagram says it holds {said} bytes but holds {held}")]
    Truncated { said: usize, held: usize },
}

/// Where a message ends: its bytes, and the bytes it takes on a stream (padding included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Extent {
    content: usize,
    on_stream: usize,
}

/// The extent of the message `head` starts, `None` while too little of it is there to tell.
/// The first two bits tell STUN (00) from ChannelData (01), as RFC 7983 demultiplexes; what
/// follows must look like one of them, so a stream that is out of step is caught at once.
fn extent(head: &[u8]) -> Result<Option<Extent>, FramingError> {
    let Some(&first) = head.first() else {
        return Ok(None);
    };
    let is_stun = match first >> 6 {
        0b00 => true,
        0b01 => false,
        _ => return Err(FramingError::NotTurn(first)),
    };
    let needed = if is_stun { 8 } else { CHANNEL_HEADER };
    if head.len() < needed {
        return Ok(None);
    }
    let said = usize::from(u16::from_be_bytes([head[2], head[3]]));
    if is_stun {
        if head[4..8] != MAGIC_COOKIE {
            return Err(FramingError::NoMagicCookie);
        }
        if said % 4 != 0 {
            return Err(FramingError::UnalignedStun(said));
        }
        Ok(Some(Extent {
            content: STUN_HEADER + said,
            on_stream: STUN_HEADER + said,
        }))
    } else {
        let channel = u16::from_be_bytes([head[0], head[1]]);
        if !CHANNELS.contains(&channel) {
            return Err(FramingError::NoSuchChannel(channel));
        }
        Ok(Some(Extent {
            content: CHANNEL_HEADER + said,
            on_stream: CHANNEL_HEADER + said.next_multiple_of(4),
        }))
    }
}

/// The bytes to write on the stream for one datagram the TURN client sent: ChannelData gets
/// its padding (a client on UDP may have sent it with or without).
pub fn to_stream(datagram: &[u8]) -> Result<Bytes, FramingError> {
    let Some(Extent { content, on_stream }) = extent(datagram)? else {
        return Err(FramingError::TooShort(datagram.len()));
    };
    if datagram.len() < content {
        return Err(FramingError::Truncated {
            said: content,
            held: datagram.len(),
        });
    }
    let mut framed = BytesMut::with_capacity(on_stream);
    framed.extend_from_slice(&datagram[..content]);
    framed.resize(on_stream, 0);
    Ok(framed.freeze())
}

/// Collects what arrives on the stream and hands out whole messages, each as the datagram the
/// same server would have sent over UDP (ChannelData without its stream padding).
#[derive(Debug, Default)]
pub struct StreamSplitter {
    buffer: BytesMut,
}

impl StreamSplitter {
    pub fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// The next whole message, `None` until more bytes arrive. After an error the stream is
    /// out of step for good: close it.
    pub fn next_datagram(&mut self) -> Result<Option<Bytes>, FramingError> {
        let Some(Extent { content, on_stream }) = extent(&self.buffer)? else {
            return Ok(None);
        };
        if self.buffer.len() < on_stream {
            // A long message is on its way: make room for it once.
            self.buffer.reserve(on_stream - self.buffer.len());
            return Ok(None);
        }
        let mut message = self.buffer.split_to(on_stream);
        message.truncate(content);
        Ok(Some(message.freeze()))
    }

    /// Bytes held that do not yet make a whole message.
    pub fn pending(&self) -> usize {
        self.buffer.remaining()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A STUN Binding request with `attributes` bytes of (meaningless) attributes.
    fn stun(attributes: usize) -> Vec<u8> {
        let mut message = vec![0x00, 0x01];
        message.extend_from_slice(&(attributes as u16).to_be_bytes());
        message.extend_from_slice(&[0x21, 0x12, 0xa4, 0x42]);
        message.extend_from_slice(b"transaction!");
        message.extend((0..attributes).map(|i| i as u8));
        message
    }

    fn channel_data(channel: u16, payload: &[u8]) -> Vec<u8> {
        let mut message = channel.to_be_bytes().to_vec();
        message.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        message.extend_from_slice(payload);
        message
    }

    fn split_all(splitter: &mut StreamSplitter) -> Vec<Bytes> {
        let mut out = Vec::new();
        while let Some(datagram) = splitter.next_datagram().unwrap() {
            out.push(datagram);
        }
        out
    }

    #[test]
    fn channel_data_is_padded_on_the_stream_and_unpadded_after() {
        let datagram = channel_data(0x4001, b"hello");
        let framed = to_stream(&datagram).unwrap();
        assert_eq!(framed.len(), 12, "4 header + 5 payload + 3 padding");
        assert_eq!(&framed[9..], &[0, 0, 0]);

        let mut splitter = StreamSplitter::default();
        splitter.push(&framed);
        assert_eq!(split_all(&mut splitter), vec![Bytes::from(datagram)]);
        assert_eq!(splitter.pending(), 0);
    }

    #[test]
    fn padding_a_client_sent_over_udp_is_not_doubled() {
        let mut padded = channel_data(0x4001, b"hello");
        padded.extend_from_slice(&[0, 0, 0]);
        assert_eq!(to_stream(&padded).unwrap().len(), 12);
    }

    #[test]
    fn messages_cut_anywhere_come_out_whole() {
        let messages = [
            stun(8),
            channel_data(0x4000, &[7; 1200]),
            stun(0),
            channel_data(0x4fff, b""),
        ];
        let stream: Vec<u8> = messages
            .iter()
            .flat_map(|m| to_stream(m).unwrap())
            .collect();
        let mut splitter = StreamSplitter::default();
        let mut out = Vec::new();
        for byte in &stream {
            splitter.push(std::slice::from_ref(byte));
            out.extend(split_all(&mut splitter));
        }
        let expected: Vec<Bytes> = messages.into_iter().map(Bytes::from).collect();
        assert_eq!(out, expected);
    }

    #[test]
    fn what_is_not_turn_is_refused() {
        let mut splitter = StreamSplitter::default();
        splitter.push(b"\x16\x03\x01\x00\x10\x01\x00\x00"); // a TLS record
        assert_eq!(splitter.next_datagram(), Err(FramingError::NoMagicCookie));
        let mut splitter = StreamSplitter::default();
        splitter.push(&[0x7f, 0xff, 0x00, 0x04]);
        assert_eq!(
            splitter.next_datagram(),
            Err(FramingError::NoSuchChannel(0x7fff))
        );
        let mut splitter = StreamSplitter::default();
        splitter.push(&[0x80, 0x60]); // RTP
        assert_eq!(splitter.next_datagram(), Err(FramingError::NotTurn(0x80)));
    }

    #[test]
    fn datagrams_that_lie_about_their_length_are_refused() {
        assert_eq!(to_stream(&[0x40]), Err(FramingError::TooShort(1)));
        assert_eq!(
            to_stream(&[0x00, 0x01, 0x00, 0x00]),
            Err(FramingError::TooShort(4))
        );
        let mut short = channel_data(0x4001, b"hello");
        short.truncate(6);
        assert_eq!(
            to_stream(&short),
            Err(FramingError::Truncated { said: 9, held: 6 })
        );
        let mut unaligned = stun(0);
        unaligned[3] = 2;
        assert_eq!(to_stream(&unaligned), Err(FramingError::UnalignedStun(2)));
        assert_eq!(
            to_stream(&[0xc0, 0, 0, 0]),
            Err(FramingError::NotTurn(0xc0))
        );
    }

    proptest! {
        /// Whatever a server sends, in whatever pieces, the splitter neither panics nor hands
        /// out more bytes than came in.
        #[test]
        fn any_stream_is_split_or_refused(
            bytes in proptest::collection::vec(any::<u8>(), 0..2048),
            cuts in proptest::collection::vec(1usize..64, 1..64),
        ) {
            let mut splitter = StreamSplitter::default();
            let mut rest = bytes.as_slice();
            let mut handed_out = 0;
            'feed: for cut in cuts.iter().cycle() {
                if rest.is_empty() {
                    break;
                }
                let (piece, after) = rest.split_at((*cut).min(rest.len()));
                rest = after;
                splitter.push(piece);
                loop {
                    match splitter.next_datagram() {
                        Ok(Some(datagram)) => handed_out += datagram.len(),
                        Ok(None) => break,
                        Err(_) => break 'feed,
                    }
                }
            }
            prop_assert!(handed_out <= bytes.len());
        }

        /// Any ChannelData payload survives the trip over a stream unchanged.
        #[test]
        fn channel_data_round_trips(
            channel in 0x4000u16..0x5000,
            payload in proptest::collection::vec(any::<u8>(), 0..1500),
        ) {
            let datagram = channel_data(channel, &payload);
            let mut splitter = StreamSplitter::default();
            splitter.push(&to_stream(&datagram).unwrap());
            prop_assert_eq!(splitter.next_datagram(), Ok(Some(Bytes::from(datagram))));
            prop_assert_eq!(splitter.pending(), 0);
        }
    }
}
