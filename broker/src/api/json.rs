//! Numbers in request bodies as JSON Schema reads them: `1.0` is an integer there, and an
//! `int64` stops at 2^63 - 1. serde alone refuses the first and lets a `u64` take more than
//! the second, so the API would refuse what its schema allows and accept what it forbids.

use serde::{Deserialize, Deserializer};

/// Milliseconds since 1970: a whole number from 0 to 2^63 - 1, written with or without `.0`.
pub fn millis<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Number {
        Whole(u64),
        // Also what a negative number lands in, and is refused as.
        Float(f64),
    }
    let out_of_range =
        || serde::de::Error::custom("expected whole milliseconds from 0 to 9223372036854775807");
    match Number::deserialize(deserializer)? {
        Number::Whole(n) if i64::try_from(n).is_ok() => Ok(n),
        Number::Float(f) if f.fract() == 0.0 && (0.0..9.223_372_036_854_776e18).contains(&f) => {
            Ok(f as u64)
        }
        _ => Err(out_of_range()),
    }
}

#[cfg(test)]
mod tests {
    #[derive(Debug, serde::Deserialize)]
    struct At {
        #[serde(deserialize_with = "super::millis")]
        at: u64,
    }

    fn at(json: &str) -> Result<u64, serde_json::Error> {
        serde_json::from_str::<At>(json).map(|a| a.at)
    }

    #[test]
    fn whole_numbers_in_range_are_taken_however_written() {
        assert_eq!(at(r#"{"at": 1700000000000}"#).unwrap(), 1_700_000_000_000);
        assert_eq!(at(r#"{"at": 34359738367.0}"#).unwrap(), 34_359_738_367);
        assert!(at(r#"{"at": 1.5}"#).is_err());
        assert!(at(r#"{"at": -1}"#).is_err());
        assert!(at(r#"{"at": 9223372036854775808}"#).is_err());
    }
}
