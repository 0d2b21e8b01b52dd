//! The management key as a type that cannot leak by accident.
//!
//! `Debug` and `Display` print `***`; there is no `Serialize`. The only way to the text is
//! [`ManagementKey::expose_secret`], used once, to build the `Authorization` header.

use std::fmt;

/// A Descope management key.
#[derive(Clone, PartialEq, Eq)]
pub struct ManagementKey(String);

impl ManagementKey {
    pub fn new(key: impl Into<String>) -> Self {
        ManagementKey(key.into())
    }

    /// The key itself; only for the `Authorization` header.
    pub(crate) fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ManagementKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for ManagementKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_is_redacted_in_debug_and_display() {
        let key = ManagementKey::new("K2secretvalue");
        assert_eq!(format!("{key:?} {key}"), "*** ***");
        assert_eq!(key.expose_secret(), "K2secretvalue");
    }
}
