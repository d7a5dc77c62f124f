//! The Nära wire protocol: every message between kiosks, desks and the broker.
//!
//! Serde types only — no I/O, no async. Start reading at:
//! - [`kiosk`]: `KioskToBroker` / `BrokerToKiosk`, the kiosk's WebSocket.
//! - [`desk`]: `DeskToBroker` / `BrokerToDesk`, officers', interpreters' and admins' WebSocket.
//! - [`common`]: structures both sides share (signalling payloads, wait estimates, device health).
//! - [`ids`] and [`values`]: identifier newtypes and validated values; validation happens while
//!   decoding, so a decoded message is a valid message.
//! - [`hours`]: opening hours, parsed and shown.
//! - [`peer`] and [`pages`]: what kiosk and desk say over their data channel (chat, documents),
//!   never seen by the broker; pages travel as checked binary frames.
//! - [`codec`]: `decode`/`encode` with size limits and errors that name what was wrong.
//! - [`typescript`]: writing and checking the desk's generated TypeScript.
//!
//! Messages are JSON in WebSocket text frames, one enum per direction, tagged by `type`.
//! The first message in each direction carries [`PROTOCOL_VERSION`]. A client may name any
//! message with a `requestId` ([`common::Request`]); an error refusing it names it back.

pub mod codec;
pub mod common;
pub mod desk;
pub mod hours;
pub mod ids;
pub mod kiosk;
pub mod pages;
pub mod peer;
pub mod typescript;
pub mod values;

pub use codec::{decode, decode_request, encode, request_id_of, DecodeError, MAX_MESSAGE_BYTES};
pub use common::*;
pub use desk::{BrokerToDesk, DeskToBroker};
pub use ids::*;
pub use kiosk::{BrokerToKiosk, KioskToBroker};
pub use values::*;

/// Version of this protocol. Bumped on every incompatible change; a peer speaking another
/// version is told so in an [`common::ErrorCode::VersionMismatch`] error and disconnected.
pub const PROTOCOL_VERSION: u32 = 1;
