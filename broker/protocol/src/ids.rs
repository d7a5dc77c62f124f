//! Identifier newtypes. Each is a short token of `[A-Za-z0-9_-]`, checked while decoding.

use serde::{Deserialize, Serialize};
use std::fmt;
use ts_rs::TS;

/// Longest identifier accepted on the wire.
pub const MAX_ID_LEN: usize = 64;

fn check_id(kind: &str, value: &str) -> Result<(), String> {
    if value.is_empty() || value.len() > MAX_ID_LEN {
        return Err(format!(
            "{kind} must be 1 to {MAX_ID_LEN} characters, got {}",
            value.len()
        ));
    }
    if let Some(bad) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
    {
        return Err(format!(
            "{kind} may contain only letters a-z, digits, '-' and '_', found {bad:?}"
        ));
    }
    Ok(())
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
        #[serde(try_from = "String", into = "String")]
        #[ts(type = "string")]
        pub struct $name(String);

        impl $name {
            /// Checks `value` and wraps it.
            pub fn new(value: impl Into<String>) -> Result<Self, String> {
                let value = value.into();
                check_id($kind, &value)?;
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
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }
    };
}

id_type!(
    /// A kiosk (*kundarbetsplats*), assigned at enrolment.
    KioskId, "kiosk id");
id_type!(
    /// A citizen's visit: from choosing an agency (or checking in) until goodbye. Survives
    /// transfers between agencies.
    VisitId, "visit id");
id_type!(
    /// One answered segment of a visit: the peers that share media. A transfer starts a new call.
    CallId, "call id");
id_type!(
    /// A person with a login: officer, interpreter or administrator.
    StaffId, "staff id");
id_type!(
    /// A participating agency, e.g. `skatteverket`.
    AgencyId, "agency id");
id_type!(
    /// A municipal office hosting kiosks, e.g. `norsjo`.
    SiteId, "site id");
id_type!(
    /// A region (län or city) for regional administrators, e.g. `vasterbotten`.
    RegionId, "region id");
id_type!(
    /// One offer of a visit (or of joining a call) to one person; answered or withdrawn.
    OfferId, "offer id");
id_type!(
    /// Correlates a request (such as a self-test) with its reply.
    RequestId, "request id");
