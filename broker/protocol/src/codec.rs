//! Decoding with limits and errors a person can act on.

use crate::common::{ErrorCode, Request};
use crate::RequestId;
use serde::{de::DeserializeOwned, Serialize};

/// Largest message accepted on either WebSocket: room for one SDP and its envelope.
pub const MAX_MESSAGE_BYTES: usize = 48 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("message is {size} bytes; the limit is {limit}")]
    TooLarge { size: usize, limit: usize },
    #[error("unknown message type: {0}")]
    UnknownType(String),
    #[error("invalid field: {0}")]
    Invalid(String),
    #[error("not valid JSON: {0}")]
    Malformed(String),
}

impl DecodeError {
    pub fn code(&self) -> ErrorCode {
        match self {
            DecodeError::TooLarge { .. } => ErrorCode::TooLarge,
            DecodeError::UnknownType(_) => ErrorCode::UnknownType,
            DecodeError::Invalid(_) => ErrorCode::Invalid,
            DecodeError::Malformed(_) => ErrorCode::Malformed,
        }
    }
}

/// Decodes one message, checking its size first. Field values are validated while decoding.
pub fn decode<T: DeserializeOwned>(text: &str) -> Result<T, DecodeError> {
    if text.len() > MAX_MESSAGE_BYTES {
        return Err(DecodeError::TooLarge {
            size: text.len(),
            limit: MAX_MESSAGE_BYTES,
        });
    }
    serde_json::from_str(text).map_err(|err| classify(text, err))
}

fn classify(text: &str, err: serde_json::Error) -> DecodeError {
    let message = err.to_string();
    if err.is_data()
        && !matches!(
            serde_json::from_str::<serde_json::Value>(text),
            Ok(serde_json::Value::Object(_))
        )
    {
        return DecodeError::Malformed("a message is one JSON object with a \"type\" field".into());
    }
    if err.is_data() && message.starts_with("unknown variant") {
        // serde says "unknown variant" for any enum; it is an unknown message type only when
        // the unknown name is the top-level `type`.
        let top_type = serde_json::from_str::<serde_json::Value>(text)
            .ok()
            .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(str::to_owned));
        if let Some(top_type) = top_type {
            if message.starts_with(&format!("unknown variant `{top_type}`")) {
                return DecodeError::UnknownType(top_type);
            }
        }
        DecodeError::Invalid(message)
    } else if err.is_data() {
        DecodeError::Invalid(message)
    } else {
        DecodeError::Malformed(message)
    }
}

/// Decodes a request from a kiosk or desk: its message, as [`decode`] would, then its id.
///
/// Two passes over the text, not one through `#[serde(flatten)]`: flattening an internally
/// tagged message buffers every field twice over, a 5.6 KB SDP included, and that copying was
/// most of what a relayed offer cost the broker beyond TLS. The second pass reads one field
/// and skips the rest without allocating. The message is decoded first, so an unknown type
/// or a bad field is reported as it would be without an id.
pub fn decode_request<M: DeserializeOwned>(text: &str) -> Result<Request<M>, DecodeError> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Id {
        #[serde(default)]
        request_id: Option<RequestId>,
    }
    let message = decode::<M>(text)?;
    let Id { request_id } = serde_json::from_str(text).map_err(|err| classify(text, err))?;
    Ok(Request {
        request_id,
        message,
    })
}

/// The `requestId` of a message that could not be decoded, if it has a valid one: the error
/// then names the request it refuses.
pub fn request_id_of(text: &str) -> Option<crate::RequestId> {
    if text.len() > MAX_MESSAGE_BYTES {
        return None;
    }
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    let id = value.get("requestId")?.as_str()?;
    crate::RequestId::new(id).ok()
}

/// Encodes one message. Our types always serialize.
pub fn encode<T: Serialize>(message: &T) -> String {
    serde_json::to_string(message).expect("protocol types serialize to JSON")
}
