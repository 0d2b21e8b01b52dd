//! What is live in a Descope project, as refresh read it: every object both as Descope sent it (the
//! raw body, every field included) and as the same kind of attributes the config produces (see
//! [`super::attrs`]), so the planner compares like with like and an update can start from the whole
//! object.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::ResourceAddr;

/// One live object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveObject {
    /// Attributes in config terms (snake_case), every field Descope returned that dmgmt models.
    pub attributes: Value,
    /// The object exactly as Descope sent it (camelCase, fields dmgmt does not model included):
    /// what a read-modify-write update starts from, so that no unmodelled field is ever lost.
    pub raw: RawBody,
    /// Descope marks it as one of its own (`systemDefault: true`): a preconfigured permission that
    /// may be referenced but never changed, renamed or deleted.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) system_default: bool,
    /// Descope's own id where it differs from the address (roles and permissions: `ROL…`, `PERM…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// sha256 of the raw body: any change to any field of the object changes it, so a saved plan
    /// goes stale when anything about an object it touches moved.
    pub digest: String,
    /// sha256 of the canonical attributes (compared with the state's to find drift quickly).
    pub(crate) attributes_digest: String,
}

impl LiveObject {
    pub(crate) fn is_system_default(&self) -> bool {
        self.system_default
    }
}

/// A body as Descope sent it, kept as compact JSON text with the keys of every object sorted
/// (Descope gives key order no meaning, so the same object is always the same bytes). Text, not
/// a parsed value: every live object keeps one, and at scale a parsed tree costs several times
/// the memory; only the objects a plan changes are ever parsed again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RawBody(String);

impl RawBody {
    pub(crate) fn from_value(mut value: Value) -> Self {
        super::attrs::sort_keys(&mut value);
        RawBody(value.to_string())
    }

    /// The body of a JSON text (an error if it is not JSON): the same as `from_value` of it
    /// parsed, without building the tree (see [`super::canonical_text`]).
    pub(crate) fn from_json_text(text: &str) -> serde_json::Result<Self> {
        let mut out = String::with_capacity(text.len());
        super::canonical_text::write_canonical_text(text, &mut out)?;
        Ok(RawBody(out))
    }

    /// The canonical text (what the object's digest is taken of).
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    /// The body as JSON (`null` only if the text were not JSON, which `from_value` rules out).
    pub fn to_value(&self) -> Value {
        serde_json::from_str(&self.0).unwrap_or(Value::Null)
    }
}

/// Everything live that dmgmt models, keyed by address (ordered, so plans are deterministic).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub objects: BTreeMap<ResourceAddr, LiveObject>,
    /// sha256 over every object's address and digest.
    pub(crate) digest: String,
}

impl Snapshot {
    pub fn get(&self, addr: &ResourceAddr) -> Option<&LiveObject> {
        self.objects.get(addr)
    }
}
