//! What is live in a Descope project, as refresh read it: every object as the same kind of
//! attributes the config produces (see [`super::attrs`]), so the planner compares like with like.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::ResourceAddr;

/// One live object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveObject {
    /// Attributes in config terms (snake_case), every field Descope returned that dmgmt models.
    pub attributes: Value,
    /// Descope's own id where it differs from the address (roles and permissions: `ROL…`, `PERM…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// sha256 of the canonical attributes.
    pub digest: String,
}

/// Everything live that dmgmt models, keyed by address (ordered, so plans are deterministic).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub objects: BTreeMap<ResourceAddr, LiveObject>,
    /// sha256 over every object's address and digest.
    pub digest: String,
}

impl Snapshot {
    pub fn get(&self, addr: &ResourceAddr) -> Option<&LiveObject> {
        self.objects.get(addr)
    }
}
