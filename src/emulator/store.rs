//! The emulator's data: every object of one project, kept in insertion order so that load-all
//! answers are stable, plus its optional persistence to a JSON file.
//!
//! The store knows the objects and their invariants' raw material (lookups, id generation); the
//! request semantics live in the per-area modules. The data file is only ever replaced whole
//! ([`write_atomically`]: temp file in the same folder, fsync, rename), so a killed emulator
//! leaves the last good file; a running emulator writes it only now and then and journals each
//! change in between (`super::journal`).
//! This module never speaks HTTP.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::api::wire::{Permission, Role, Tenant, TenantSettings};
use crate::model::DocFormat;
use crate::model::preconfigured::{SYSTEM_DEFAULT_PERMISSIONS, TENANT_ADMIN_ROLE};

/// Version of the data file format.
const FORMAT_VERSION: u32 = 1;

/// A stored flow, as the route that wrote it sent it: v1 keeps `flow` (with `id` forced to the
/// flow id) and `screens`; v2 keeps the v2 `flow` object (with `flowId` forced) and no screens of
/// its own. Either is exported through both generations (`super::convert`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub(crate) struct StoredFlow {
    /// The generation it was written in (data files from before v2 hold v1 flows).
    #[serde(default)]
    pub(crate) format: DocFormat,
    pub(crate) flow: serde_json::Map<String, Value>,
    pub(crate) screens: Vec<serde_json::Map<String, Value>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Store {
    pub(crate) format_version: u32,
    /// Feeds generated ids; persisted so ids stay unique across restarts.
    pub(crate) next_id: u64,
    /// By tenant id.
    pub(crate) tenants: IndexMap<String, Tenant>,
    /// By tenant id; only tenants whose settings were ever set.
    pub(crate) settings: IndexMap<String, TenantSettings>,
    /// By role id.
    pub(crate) roles: IndexMap<String, Role>,
    /// By permission id.
    pub(crate) permissions: IndexMap<String, Permission>,
    /// By flow id.
    pub(crate) flows: IndexMap<String, StoredFlow>,
    pub(crate) theme: serde_json::Map<String, Value>,
    /// The generation the theme was last written in.
    #[serde(default)]
    pub(crate) theme_format: DocFormat,
    /// Theme imports so far (the `version` a v1 export of a v2-written theme shows).
    #[serde(default)]
    pub(crate) theme_version: i64,
}

/// A new project, as Descope creates it: no tenants or flows, the default theme, and the
/// preconfigured role `Tenant Admin` with the system-default permissions it relies on
/// (docs/descope-api.md §4).
impl Default for Store {
    fn default() -> Self {
        let theme = json!({"id": "theme", "version": 1, "cssTemplate": {}, "componentsVersion": "", "codeMode": false});
        let mut store = Store {
            format_version: FORMAT_VERSION,
            next_id: 1,
            tenants: IndexMap::new(),
            settings: IndexMap::new(),
            roles: IndexMap::new(),
            permissions: IndexMap::new(),
            flows: IndexMap::new(),
            theme: theme.as_object().cloned().unwrap_or_default(),
            theme_format: DocFormat::V1,
            theme_version: 1,
        };
        for name in SYSTEM_DEFAULT_PERMISSIONS {
            let id = store.generate_id("PERM");
            let description = format!("Preconfigured `{name}` permission");
            store.permissions.insert(
                id.clone(),
                Permission {
                    id,
                    name: name.to_owned(),
                    description,
                    system_default: true,
                },
            );
        }
        let id = store.generate_id("ROL");
        store.roles.insert(
            id.clone(),
            Role {
                id,
                name: TENANT_ADMIN_ROLE.to_owned(),
                description: "Administers the users and SSO settings of a tenant".to_owned(),
                permission_names: SYSTEM_DEFAULT_PERMISSIONS.map(str::to_owned).to_vec(),
                // Deterministic: two new stores are equal.
                created_time: 0,
                tenant_id: String::new(),
                default: false,
                private: false,
            },
        );
        store
    }
}

/// Why the data file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot read emulator data `{}`", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("emulator data `{}` is not valid: {detail}", path.display())]
    Parse { path: PathBuf, detail: String },
    #[error("cannot write emulator data `{}`", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Another process (or another emulator of this one) uses the data file.
    #[error("emulator data `{}` is in use by another process (it holds the lock on `{}`)", path.display(), lock.display())]
    Busy { path: PathBuf, lock: PathBuf },
}

/// Seconds since the epoch (0 if the clock is before 1970).
pub(crate) fn now_epoch() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl Store {
    /// Loads `path`, or an empty store if it does not exist yet.
    pub(crate) fn load(path: &Path) -> Result<Store, StoreError> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Store::default()),
            Err(source) => {
                return Err(StoreError::Read {
                    path: path.to_owned(),
                    source,
                });
            }
        };
        let store: Store = serde_json::from_slice(&bytes).map_err(|e| StoreError::Parse {
            path: path.to_owned(),
            detail: e.to_string(),
        })?;
        if store.format_version != FORMAT_VERSION {
            return Err(StoreError::Parse {
                path: path.to_owned(),
                detail: format!("unsupported `formatVersion` {}", store.format_version),
            });
        }
        Ok(store)
    }

    /// Atomically replaces `path` with this store (what a fold of the journal writes).
    #[cfg(test)]
    pub(crate) fn save(&self, path: &Path) -> Result<(), StoreError> {
        let err = |source| StoreError::Write {
            path: path.to_owned(),
            source,
        };
        write_atomically(path, &self.to_bytes().map_err(err)?).map_err(err)
    }

    /// The data file's bytes: compact, since they are rewritten whenever the journal is folded.
    pub(crate) fn to_bytes(&self) -> std::io::Result<Vec<u8>> {
        serde_json::to_vec(self).map_err(std::io::Error::other)
    }

    /// A fresh id such as `ROL0000…0042`: prefix, then digits, unique within this store.
    pub(crate) fn generate_id(&mut self, prefix: &str) -> String {
        let n = self.next_id;
        self.next_id += 1;
        format!("{prefix}2{n:0>26}")
    }

    pub(crate) fn tenant_by_name(&self, name: &str) -> Option<&Tenant> {
        self.tenants.values().find(|t| t.name == name)
    }

    /// The id of the role named `name` in tenant `tenant_id` (`""` = project role).
    pub(crate) fn role_id_by_name(&self, name: &str, tenant_id: &str) -> Option<String> {
        self.roles
            .values()
            .find(|r| r.name == name && r.tenant_id == tenant_id)
            .map(|r| r.id.clone())
    }

    pub(crate) fn permission_id_by_name(&self, name: &str) -> Option<String> {
        self.permissions
            .values()
            .find(|p| p.name == name)
            .map(|p| p.id.clone())
    }

    /// A tenant with its derived `successors` filled in.
    pub(crate) fn tenant_view(&self, tenant: &Tenant) -> Tenant {
        let mut t = tenant.clone();
        t.successors = self
            .tenants
            .values()
            .filter(|c| c.parent == tenant.id)
            .map(|c| c.id.clone())
            .collect();
        t
    }
}

/// Replaces `path` with `bytes` so that a kill leaves the old file or the new one: a synced temp
/// file in the same folder, renamed over it, and the folder synced.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    // Make the rename itself durable.
    #[cfg(unix)]
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_then_load_round_trips_and_keeps_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/local.json");
        let mut store = Store::default();
        for id in ["zeta", "alpha"] {
            let t = Tenant {
                id: id.into(),
                name: id.into(),
                ..Default::default()
            };
            store.tenants.insert(id.into(), t);
        }
        let id = store.generate_id("ROL");
        assert!(id.starts_with("ROL2"));
        store.save(&path).unwrap();
        let back = Store::load(&path).unwrap();
        assert_eq!(back, store);
        assert_eq!(back.tenants.keys().collect::<Vec<_>>(), ["zeta", "alpha"]);
    }

    #[test]
    fn missing_file_is_an_empty_store_and_garbage_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            Store::load(&dir.path().join("none.json")).unwrap(),
            Store::default()
        );
        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, "{").unwrap();
        assert!(matches!(Store::load(&bad), Err(StoreError::Parse { .. })));
    }
}
