//! The state file format, version 1 (docs/reference.md, "State and locking"): what dmgmt manages in
//! one environment and the last attributes it saw, with a lineage, a serial and a digest over the
//! whole body.
//!
//! This module owns the shape, the digests and the byte-exact rendering (pretty JSON, resources in
//! address order, attributes with sorted keys, trailing newline: the same state is always the same
//! bytes). It never touches the file system; reading, writing and backups are [`super::store`].

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::canonical::{canonical_json, sha256_hex, sorted};
use super::system;
use crate::model::{ResourceAddr, ResourceKind};

/// The one format this dmgmt reads and writes.
pub(crate) const FORMAT_VERSION: u32 = 1;

/// The persisted state of one environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateFile {
    /// Always [`FORMAT_VERSION`] once loaded.
    pub(crate) format_version: u32,
    /// Fixed when the state is created; a saved plan names it, so a plan made against another
    /// state (deleted and recreated, or another environment's) is refused.
    pub lineage: Lineage,
    /// Incremented on every write that changes the content; 0 until first written.
    pub(crate) serial: u64,
    pub(crate) environment: String,
    pub(crate) project_id: String,
    /// UTC RFC 3339 time of the last write.
    pub(crate) updated_at: String,
    /// The dmgmt that wrote it last.
    pub(crate) dmgmt_version: String,
    /// Every managed object, in address order (kind in dependency order, then name).
    #[serde(with = "resources_by_address")]
    pub resources: BTreeMap<ResourceAddr, ResourceState>,
    /// sha256 of the canonical JSON of the whole document without this field.
    pub(crate) digest: String,
}

/// What dmgmt knows about one managed object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceState {
    #[serde(with = "kind_as_str")]
    pub(crate) kind: ResourceKind,
    /// The address without its kind: a name, `tenant/name` for a tenant role, an id, `""` for the
    /// theme, quoted as in the address where the address quotes it (`"acme/Admin"` for the
    /// project role of that name). See [`resource_key`].
    pub(crate) key: String,
    /// The fields the config manages (sorted, unique); the others only mirror live values.
    #[serde(deserialize_with = "exact_strings")]
    pub(crate) managed_fields: Vec<String>,
    /// The last known live attributes.
    #[serde(serialize_with = "sorted_value", deserialize_with = "exact_value")]
    pub attributes: Value,
    /// sha256 of the canonical JSON of `attributes`.
    pub(crate) digest: String,
    /// `prevent_destroy` as last declared: it keeps guarding a resource removed from config.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub prevent_destroy: bool,
    /// Descope's own id of the object (roles `ROL…`, permissions `PERM…`): a rename made in the
    /// console keeps it, so the object is recognised under its new name instead of being taken for
    /// deleted. Absent in states written before ids were recorded, and for kinds keyed by id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) id: Option<String>,
}

/// A state's identity across its serials: 32 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Lineage(String);

impl Lineage {
    /// A fresh random lineage.
    pub(crate) fn generate() -> Self {
        Lineage(system::random_hex(16))
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Lineage {
    type Error = String;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        if text.len() == 32 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            Ok(Lineage(text))
        } else {
            Err(format!(
                "lineage `{text}` is not 32 lowercase hexadecimal digits"
            ))
        }
    }
}

impl std::str::FromStr for Lineage {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Lineage::try_from(text.to_owned())
    }
}

impl From<Lineage> for String {
    fn from(lineage: Lineage) -> String {
        lineage.0
    }
}

impl fmt::Display for Lineage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The `key` stored for `addr`: the address without its `kind.` prefix (`""` for the theme).
pub(crate) fn resource_key(addr: &ResourceAddr) -> String {
    match addr {
        ResourceAddr::Theme => String::new(),
        // Kind names hold no `.`: the first one ends the kind.
        other => other
            .to_string()
            .split_once('.')
            .map(|(_, key)| key.to_owned())
            .unwrap_or_default(),
    }
}

impl ResourceState {
    /// The entry for `addr`, with its kind, key and digest derived.
    pub fn new(addr: &ResourceAddr, managed_fields: Vec<String>, attributes: Value) -> Self {
        let mut state = ResourceState {
            kind: addr.kind(),
            key: resource_key(addr),
            managed_fields,
            attributes,
            digest: String::new(),
            prevent_destroy: false,
            id: None,
        };
        state.normalize(addr);
        state
    }

    /// sha256 of the canonical JSON of `attributes`.
    pub(crate) fn attributes_digest(&self) -> String {
        sha256_hex(canonical_json(&self.attributes))
    }

    /// Re-derives kind, key and digest from `addr` and the attributes, and sorts the managed fields.
    fn normalize(&mut self, addr: &ResourceAddr) {
        self.kind = addr.kind();
        self.key = resource_key(addr);
        self.managed_fields.sort();
        self.managed_fields.dedup();
        self.digest = self.attributes_digest();
    }
}

impl StateFile {
    /// A fresh, never written state: new lineage, serial 0, no resources.
    pub fn new(environment: &str, project_id: &str) -> Self {
        let mut state = StateFile {
            format_version: FORMAT_VERSION,
            lineage: Lineage::generate(),
            serial: 0,
            environment: environment.to_owned(),
            project_id: project_id.to_owned(),
            updated_at: system::now_rfc3339(),
            dmgmt_version: env!("CARGO_PKG_VERSION").to_owned(),
            resources: BTreeMap::new(),
            digest: String::new(),
        };
        state.normalize();
        state
    }

    /// sha256 of the canonical JSON of the document without `digest`, written straight from the
    /// typed fields instead of through a JSON tree: the same bytes (keys sorted, `prevent_destroy`
    /// and `id` only when set, as serde writes them), a fraction of the allocations. Loading a
    /// large state hashes it.
    pub(crate) fn body_digest(&self) -> String {
        self.canonical_body_digest(|_, _, _| {})
    }

    /// [`body_digest`](Self::body_digest), and the first entry whose attributes do not match its
    /// own `digest`, hashed from the same canonical text: a state is read with one canonical
    /// rendering of its attributes, not two.
    pub(crate) fn verify_digests(&self) -> (String, Option<String>) {
        let mut mismatch = None;
        let body = self.canonical_body_digest(|text, entry, attributes| {
            if mismatch.is_none() && sha256_hex(attributes) != entry.digest {
                mismatch = Some(format!("resource `{text}` does not match its own `digest`"));
            }
        });
        (body, mismatch)
    }

    /// sha256 of the canonical JSON of the document without `digest`; `attributes` sees each
    /// entry (by address text) with the canonical text of its attributes. The text is hashed as
    /// it is written, entry by entry: at 100,000 resources a whole copy of it would be tens of
    /// megabytes held only to be hashed.
    fn canonical_body_digest(
        &self,
        mut attributes: impl FnMut(&str, &ResourceState, &[u8]),
    ) -> String {
        use super::canonical::{write_canonical, write_json};
        use sha2::Digest;
        let mut hasher = sha2::Sha256::new();
        let mut out: Vec<u8> = Vec::with_capacity(4096);
        let field = |out: &mut Vec<u8>, name: &str, first: bool| {
            if !first {
                out.push(b',');
            }
            write_json(name, out);
            out.push(b':');
        };
        out.push(b'{');
        field(&mut out, "dmgmt_version", true);
        write_json(&self.dmgmt_version, &mut out);
        field(&mut out, "environment", false);
        write_json(&self.environment, &mut out);
        field(&mut out, "format_version", false);
        write_json(&self.format_version, &mut out);
        field(&mut out, "lineage", false);
        write_json(self.lineage.as_str(), &mut out);
        field(&mut out, "project_id", false);
        write_json(&self.project_id, &mut out);
        field(&mut out, "resources", false);
        // Keyed by address text, so sorted by that text (not in address order).
        let mut entries: Vec<(String, &ResourceState)> = self
            .resources
            .iter()
            .map(|(addr, r)| (addr.to_string(), r))
            .collect();
        entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        out.push(b'{');
        for (i, (text, r)) in entries.iter().enumerate() {
            field(&mut out, text, i == 0);
            out.push(b'{');
            field(&mut out, "attributes", true);
            let start = out.len();
            write_canonical(&r.attributes, &mut out);
            attributes(text, r, &out[start..]);
            field(&mut out, "digest", false);
            write_json(&r.digest, &mut out);
            if let Some(id) = &r.id {
                field(&mut out, "id", false);
                write_json(id, &mut out);
            }
            field(&mut out, "key", false);
            write_json(&r.key, &mut out);
            field(&mut out, "kind", false);
            write_json(r.kind.as_str(), &mut out);
            field(&mut out, "managed_fields", false);
            write_json(&r.managed_fields, &mut out);
            if r.prevent_destroy {
                field(&mut out, "prevent_destroy", false);
                out.extend_from_slice(b"true");
            }
            out.push(b'}');
            hasher.update(&out);
            out.clear();
        }
        out.push(b'}');
        field(&mut out, "serial", false);
        write_json(&self.serial, &mut out);
        field(&mut out, "updated_at", false);
        write_json(&self.updated_at, &mut out);
        out.push(b'}');
        hasher.update(&out);
        super::canonical::to_hex(&hasher.finalize())
    }

    /// Whether `self` and `other` hold the same content: everything but `serial`, `updated_at`,
    /// `dmgmt_version` and `digest`. Both must be normalized (as loaded or written states are).
    /// JSON objects compare regardless of key order.
    pub(crate) fn same_content(&self, other: &StateFile) -> bool {
        self.format_version == other.format_version
            && self.lineage == other.lineage
            && self.environment == other.environment
            && self.project_id == other.project_id
            && self.resources == other.resources
    }

    /// Re-derives every resource's kind, key and digest, then the document digest.
    pub(crate) fn normalize(&mut self) {
        self.normalize_resources();
        self.seal();
    }

    /// Re-derives every resource's kind, key and digest; sorts managed fields; settles floats.
    pub(crate) fn normalize_resources(&mut self) {
        for (addr, resource) in &mut self.resources {
            resource.normalize(addr);
        }
    }

    /// Recomputes the document digest.
    pub(crate) fn seal(&mut self) {
        self.digest = self.body_digest();
    }

    /// The file's bytes: pretty JSON and a trailing newline.
    pub(crate) fn render(&self) -> Result<String, serde_json::Error> {
        let mut text = serde_json::to_string_pretty(self)?;
        text.push('\n');
        Ok(text)
    }

    /// Checks what the digest of the document cannot: every entry agrees with its address and its
    /// own digest. Returns the first problem found.
    pub(crate) fn check_entries(&self) -> Result<(), String> {
        self.check_shapes()?;
        for (addr, resource) in &self.resources {
            if resource.digest != resource.attributes_digest() {
                return Err(format!("resource `{addr}` does not match its own `digest`"));
            }
        }
        Ok(())
    }

    /// The format version, and every entry's kind and key against its address.
    pub(crate) fn check_shapes(&self) -> Result<(), String> {
        if self.format_version != FORMAT_VERSION {
            return Err(format!("`format_version` is {}", self.format_version));
        }
        for (addr, resource) in &self.resources {
            if resource.kind != addr.kind() {
                return Err(format!(
                    "resource `{addr}` has kind `{}`, expected `{}`",
                    resource.kind,
                    addr.kind()
                ));
            }
            let key = resource_key(addr);
            if resource.key != key {
                return Err(format!(
                    "resource `{addr}` has key `{}`, expected `{key}`",
                    resource.key
                ));
            }
        }
        Ok(())
    }
}

fn sorted_value<S: Serializer>(value: &Value, serializer: S) -> Result<S::Ok, S::Error> {
    sorted(value).serialize(serializer)
}

/// A value as read, every list in it kept at its exact length: a state holds one per resource,
/// and a list grown item by item keeps room for four (most attribute lists hold one).
fn exact_value<'de, D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
    fn shrink(value: &mut Value) {
        match value {
            Value::Array(items) => {
                items.shrink_to_fit();
                items.iter_mut().for_each(shrink);
            }
            Value::Object(map) => map.values_mut().for_each(shrink),
            _ => {}
        }
    }
    let mut value = Value::deserialize(d)?;
    shrink(&mut value);
    Ok(value)
}

/// A list of strings as read, kept at its exact length.
fn exact_strings<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let mut items = Vec::<String>::deserialize(d)?;
    items.shrink_to_fit();
    Ok(items)
}

/// `ResourceKind` as its lowercase name.
mod kind_as_str {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(kind: &ResourceKind, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(kind.as_str())
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<ResourceKind, D::Error> {
        let text = String::deserialize(d)?;
        ResourceKind::ALL
            .into_iter()
            .find(|k| k.as_str() == text)
            .ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "unknown resource kind `{text}`: expected permission, role, tenant, theme or flow"
                ))
            })
    }
}

/// The resources as a JSON object keyed by address text, in address order.
mod resources_by_address {
    use super::*;
    use serde::ser::SerializeMap;

    pub(crate) fn serialize<S: Serializer>(
        resources: &BTreeMap<ResourceAddr, ResourceState>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(resources.len()))?;
        for (addr, resource) in resources {
            map.serialize_entry(&addr.to_string(), resource)?;
        }
        map.end()
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<ResourceAddr, ResourceState>, D::Error> {
        // Entry by entry into the map, with no intermediate map of address texts (a state holds
        // tens of thousands of entries).
        struct Entries;

        impl<'de> serde::de::Visitor<'de> for Entries {
            type Value = BTreeMap<ResourceAddr, ResourceState>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of resources keyed by address")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut out = BTreeMap::new();
                while let Some(text) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    let addr: ResourceAddr = text.parse().map_err(serde::de::Error::custom)?;
                    let resource: ResourceState = map.next_value()?;
                    if out.insert(addr, resource).is_some() {
                        return Err(serde::de::Error::custom(format!(
                            "resource `{text}` is listed twice"
                        )));
                    }
                }
                Ok(out)
            }
        }

        d.deserialize_map(Entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> StateFile {
        let mut state = StateFile::new("staging", "P2abc");
        let tenant = ResourceAddr::Tenant("acme".into());
        let role = ResourceAddr::role(Some("acme"), "Auditor");
        state.resources.insert(
            tenant.clone(),
            ResourceState::new(
                &tenant,
                vec!["self_provisioning_domains".into(), "name".into()],
                json!({"name": "Acme", "id": "acme", "selfProvisioningDomains": ["acme.com"]}),
            ),
        );
        state.resources.insert(
            role.clone(),
            ResourceState::new(&role, vec!["description".into()], json!({"ratio": 0.1})),
        );
        state.normalize();
        state
    }

    #[test]
    fn renders_resources_in_address_order_with_sorted_attributes() {
        let text = sample().render().unwrap();
        assert!(text.ends_with("}\n"));
        let role = text.find("\"role.acme/Auditor\"").unwrap();
        let tenant = text.find("\"tenant.acme\"").unwrap();
        assert!(role < tenant, "{text}");
        let id = text.find("\"id\": \"acme\"").unwrap();
        let name = text.find("\"name\": \"Acme\"").unwrap();
        assert!(id < name, "{text}");
        assert!(text.contains("\"kind\": \"tenant\""));
        assert!(text.contains("\"key\": \"acme/Auditor\""));
    }

    #[test]
    fn parsing_the_rendering_gives_the_same_state_and_digest() {
        let state = sample();
        let back: StateFile = serde_json::from_str(&state.render().unwrap()).unwrap();
        assert_eq!(back, state);
        assert_eq!(back.body_digest(), state.digest);
        assert_eq!(back.render().unwrap(), state.render().unwrap());
        back.check_entries().unwrap();
    }

    #[test]
    fn the_typed_digest_is_the_digest_of_the_json_tree() {
        let mut state = sample();
        let addr = ResourceAddr::role(Some("acme"), "Édith \"quoted\"");
        let mut entry = ResourceState::new(
            &addr,
            vec!["name".into()],
            json!({"z": 1.5, "a": [{"y": null, "b": "\u{1}"}], "name": "x"}),
        );
        entry.prevent_destroy = true;
        entry.id = Some("ROL123".into());
        state.resources.insert(addr, entry);
        // Resources are keyed by address text: `role.…` sorts before `tenant.…` as text although
        // tenants come first in address order.
        state.resources.insert(
            ResourceAddr::Tenant("0-first".into()),
            ResourceState::new(
                &ResourceAddr::Tenant("0-first".into()),
                vec![],
                json!({"id": "0-first"}),
            ),
        );
        state.normalize();
        // The reference: the canonical JSON of the document as serde writes it, less `digest`.
        let mut tree = serde_json::to_value(&state).unwrap();
        tree.as_object_mut().unwrap().shift_remove("digest");
        let from_tree = sha256_hex(canonical_json(&tree));
        assert_eq!(state.body_digest(), from_tree);
        assert_eq!(state.body_digest(), state.digest);
        state.serial += 1;
        assert_ne!(state.body_digest(), state.digest);
    }

    #[test]
    fn managed_fields_are_sorted_and_unique() {
        let addr = ResourceAddr::Theme;
        let r = ResourceState::new(&addr, vec!["b".into(), "a".into(), "b".into()], json!({}));
        assert_eq!(r.managed_fields, ["a", "b"]);
        assert_eq!(r.key, "");
    }

    #[test]
    fn lineage_must_be_32_lowercase_hex() {
        assert!(Lineage::generate().as_str().len() == 32);
        assert!(
            "ABCDEF0123456789abcdef0123456789"
                .parse::<Lineage>()
                .is_err()
        );
        assert!("abc".parse::<Lineage>().is_err());
        let err = serde_json::from_str::<Lineage>("\"zz\"").unwrap_err();
        assert!(err.to_string().contains("lineage `zz`"), "{err}");
    }

    #[test]
    fn entries_that_disagree_with_their_address_are_found() {
        let mut state = sample();
        let addr = ResourceAddr::Tenant("acme".into());
        if let Some(r) = state.resources.get_mut(&addr) {
            r.kind = ResourceKind::Flow;
        }
        let err = state.check_entries().unwrap_err();
        assert!(err.contains("`tenant.acme` has kind `flow`"), "{err}");
        let mut state = sample();
        if let Some(r) = state.resources.get_mut(&addr) {
            r.attributes["name"] = json!("Edited");
        }
        let err = state.check_entries().unwrap_err();
        assert!(err.contains("own `digest`"), "{err}");
        // Read with one canonical rendering: the same finding, and the body digest as ever.
        let (body, mismatch) = state.verify_digests();
        assert_eq!(body, state.body_digest());
        assert_eq!(mismatch.as_deref(), Some(err.as_str()));
        let fresh = sample();
        assert_eq!(fresh.verify_digests(), (fresh.digest.clone(), None));
    }

    #[test]
    fn bad_addresses_and_kinds_are_rejected_when_parsing() {
        let mut doc = serde_json::to_value(sample()).unwrap();
        let entry = doc["resources"]["tenant.acme"].clone();
        doc["resources"]["user.bob"] = entry.clone();
        let err = serde_json::from_value::<StateFile>(doc).unwrap_err();
        assert!(err.to_string().contains("`user.bob`"), "{err}");
        let mut doc = serde_json::to_value(sample()).unwrap();
        doc["resources"]["tenant.acme"]["kind"] = json!("user");
        let err = serde_json::from_value::<StateFile>(doc).unwrap_err();
        assert!(err.to_string().contains("`user`"), "{err}");
    }
}
