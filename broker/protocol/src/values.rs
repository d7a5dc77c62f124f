//! Validated values other than ids: languages, SDP, candidates, codes and free text.
//! Each checks itself while decoding and says what was wrong.

use serde::{Deserialize, Serialize};
use std::fmt;
use ts_rs::TS;

/// Longest SDP accepted. Chromium's offers with audio, video and a data channel are 5–10 KB.
pub const MAX_SDP_LEN: usize = 32 * 1024;
/// Longest ICE candidate line accepted.
pub const MAX_CANDIDATE_LEN: usize = 512;
/// Longest short text (names, versions, details) accepted.
pub const MAX_SHORT_TEXT_LEN: usize = 200;
/// Longest message text (an out-of-service notice) accepted.
pub const MAX_LONG_TEXT_LEN: usize = 1000;

macro_rules! checked_string {
    ($(#[$doc:meta])* $name:ident, $check:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
        #[serde(try_from = "String", into = "String")]
        #[ts(type = "string")]
        pub struct $name(String);

        impl $name {
            /// Checks `value` and wraps it.
            pub fn new(value: impl Into<String>) -> Result<Self, String> {
                let value = value.into();
                let check: fn(&str) -> Result<(), String> = $check;
                check(&value)?;
                Ok(Self(value))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(value: String) -> Result<Self, String> {
                Self::new(value)
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }
    };
}

fn check_len(what: &str, value: &str, max: usize) -> Result<(), String> {
    if value.len() > max {
        return Err(format!(
            "{what} is {} bytes, longer than the {max} allowed",
            value.len()
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(format!("{what} contains control characters"));
    }
    Ok(())
}

checked_string!(
    /// Opening hours, e.g. `mon-fri 09:00-16:00; sat 10:00-14:00` (see [`crate::hours`]).
    OpeningHours,
    |v| {
        if v.len() > MAX_SHORT_TEXT_LEN {
            return Err(format!("opening hours are at most {MAX_SHORT_TEXT_LEN} bytes"));
        }
        crate::hours::parse_hours(v).map(|_| ())
    }
);

impl OpeningHours {
    pub fn spans(&self) -> Vec<crate::hours::OpeningSpan> {
        crate::hours::parse_hours(self.as_str()).unwrap_or_default()
    }
}

checked_string!(
    /// A language as an ISO 639 code in lower case: `sv`, `en`, `ar`, `prs` (Dari), `so`, `ti`.
    LanguageCode,
    |v| {
        if (2..=3).contains(&v.len()) && v.chars().all(|c| c.is_ascii_lowercase()) {
            Ok(())
        } else {
            Err(format!("language must be an ISO 639 code of 2 or 3 lower-case letters, got {v:?}"))
        }
    }
);

checked_string!(
    /// A topic within an agency's queue (a skill officers may have), e.g. `foraldrapenning`.
    Topic,
    |v| {
        if !v.is_empty() && v.len() <= 40 && v.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
            Ok(())
        } else {
            Err(format!("topic must be 1 to 40 characters of a-z, 0-9 and '-', got {v:?}"))
        }
    }
);

checked_string!(
    /// The code printed on a citizen's letter (*kallelse*): 8 characters from an alphabet
    /// without look-alikes (no 0/O, 1/I/L), case-insensitive, stored in upper case.
    BookingCode,
    |v| {
        if v.len() == 8 && v.chars().all(|c| BOOKING_ALPHABET.contains(c)) {
            Ok(())
        } else {
            Err(format!(
                "booking code must be 8 characters from {BOOKING_ALPHABET} (as printed on the letter), got {v:?}"
            ))
        }
    }
);

/// Characters used in booking and enrolment codes: easy to read aloud and type on a touch screen.
pub const BOOKING_ALPHABET: &str = "ABCDEFGHJKMNPQRSTUVWXYZ23456789";

impl BookingCode {
    /// Normalises what a citizen typed (spaces, dashes, lower case) before checking it.
    pub fn parse_typed(typed: &str) -> Result<Self, String> {
        let cleaned: String = typed
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        Self::new(cleaned)
    }
}

checked_string!(
    /// A session description (RFC 8866) for an offer or answer.
    Sdp,
    |v| {
        check_len("SDP", v, MAX_SDP_LEN)?;
        if v.starts_with("v=0") {
            Ok(())
        } else {
            Err("SDP must start with \"v=0\"".to_string())
        }
    }
);

checked_string!(
    /// An ICE candidate line (`candidate:…`), or empty for end-of-candidates.
    CandidateLine,
    |v| {
        check_len("ICE candidate", v, MAX_CANDIDATE_LEN)?;
        if v.is_empty() || v.starts_with("candidate:") {
            Ok(())
        } else {
            Err("ICE candidate must start with \"candidate:\"".to_string())
        }
    }
);

checked_string!(
    /// Free text up to [`MAX_SHORT_TEXT_LEN`] bytes: names, versions, short details.
    ShortText,
    |v| check_len("text", v, MAX_SHORT_TEXT_LEN)
);

checked_string!(
    /// Free text up to [`MAX_LONG_TEXT_LEN`] bytes, such as an out-of-service message.
    LongText,
    |v| check_len("text", v, MAX_LONG_TEXT_LEN)
);

checked_string!(
    /// A SHA-256 digest as 64 lowercase hexadecimal digits.
    Sha256Hex,
    |v| {
        if v.len() == 64 && v.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            Ok(())
        } else {
            Err("a SHA-256 digest is 64 hexadecimal digits (0-9, a-f)".to_string())
        }
    }
);

impl Sha256Hex {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        use sha2::Digest;
        Sha256Hex(format!("{:x}", sha2::Sha256::digest(bytes)))
    }
}
