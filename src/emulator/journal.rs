//! The emulator's persistence with `--data FILE`: the snapshot `FILE` ([`Store::to_bytes`],
//! replaced atomically) plus an append-only journal `FILE.journal` of the changes made since, so
//! a change costs what it changed rather than a rewrite of every object.
//!
//! The journal's first line names the snapshot it extends (the SHA-256 of its bytes); each further
//! line is one mutation: the entries it put or removed, by collection, and the scalars it set. A
//! line is appended (one write, not synced) before the mutation is answered. When the journal outgrows the
//! snapshot (and at start, at shutdown and when the emulator is dropped), the two are folded into a new snapshot: snapshot first
//! (atomic replace), then a new journal naming it (atomic replace). A kill at any point leaves
//! either a journal that names the snapshot (replayed) or one that does not (already folded in,
//! ignored), and a torn last line is a change never answered: dropped.
//!
//! Changes are found by comparing the store with a shadow copy of what is persisted, collection
//! by collection, so the area modules need not report what they touch. A mutation that reorders
//! existing entries (none does today) cannot be replayed as puts and removes: it is folded into a
//! new snapshot instead. This module never speaks HTTP.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::data_lock::DataLock;
use super::store::{Store, StoreError, StoredFlow, write_atomically};
use crate::api::wire::{Permission, Role, Tenant, TenantSettings};
use crate::model::DocFormat;

/// The first line of a journal.
#[derive(Serialize, Deserialize)]
struct Header {
    /// Hex SHA-256 of the snapshot file this journal extends.
    snapshot: String,
}

/// One put (`value` present) or removal of a keyed entry.
#[derive(Serialize, Deserialize)]
struct Entry<T> {
    key: String,
    #[serde(default = "Option::default", skip_serializing_if = "Option::is_none")]
    value: Option<T>,
}

/// The theme, written whole when any part of it changed.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ThemeChange {
    theme: serde_json::Map<String, Value>,
    theme_format: DocFormat,
    theme_version: i64,
}

/// One mutation's changes.
#[derive(Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Change {
    next_id: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    tenants: Vec<Entry<Tenant>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    settings: Vec<Entry<TenantSettings>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    roles: Vec<Entry<Role>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    permissions: Vec<Entry<Permission>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    flows: Vec<Entry<StoredFlow>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    theme: Option<ThemeChange>,
}

impl Change {
    fn is_empty(&self) -> bool {
        self.tenants.is_empty()
            && self.settings.is_empty()
            && self.roles.is_empty()
            && self.permissions.is_empty()
            && self.flows.is_empty()
            && self.theme.is_none()
    }
}

/// The entries of `new` that differ from `old` (removals first, then puts in `new`'s order), or
/// `None` when replaying puts and removals would not give `new`'s order.
fn diff<T: PartialEq + Clone>(
    old: &IndexMap<String, T>,
    new: &IndexMap<String, T>,
) -> Option<Vec<Entry<T>>> {
    let mut out: Vec<Entry<T>> = old
        .keys()
        .filter(|k| !new.contains_key(*k))
        .map(|k| Entry {
            key: k.clone(),
            value: None,
        })
        .collect();
    // Kept entries must keep their relative order, and new ones come after all of them.
    let mut last_kept = None;
    let mut added = false;
    for (k, v) in new {
        match old.get_full(k) {
            Some((i, _, before)) => {
                if added || last_kept.is_some_and(|l| i < l) {
                    return None;
                }
                last_kept = Some(i);
                if before != v {
                    out.push(Entry {
                        key: k.clone(),
                        value: Some(v.clone()),
                    });
                }
            }
            None => {
                added = true;
                out.push(Entry {
                    key: k.clone(),
                    value: Some(v.clone()),
                });
            }
        }
    }
    Some(out)
}

fn replay<T>(map: &mut IndexMap<String, T>, entries: Vec<Entry<T>>) {
    for e in entries {
        match e.value {
            Some(v) => {
                map.insert(e.key, v);
            }
            None => {
                map.shift_remove(&e.key);
            }
        }
    }
}

impl Change {
    fn between(old: &Store, new: &Store) -> Option<Change> {
        let theme_changed = old.theme != new.theme
            || old.theme_format != new.theme_format
            || old.theme_version != new.theme_version;
        Some(Change {
            next_id: new.next_id,
            tenants: diff(&old.tenants, &new.tenants)?,
            settings: diff(&old.settings, &new.settings)?,
            roles: diff(&old.roles, &new.roles)?,
            permissions: diff(&old.permissions, &new.permissions)?,
            flows: diff(&old.flows, &new.flows)?,
            theme: theme_changed.then(|| ThemeChange {
                theme: new.theme.clone(),
                theme_format: new.theme_format,
                theme_version: new.theme_version,
            }),
        })
    }

    fn apply_to(self, store: &mut Store) {
        store.next_id = store.next_id.max(self.next_id);
        replay(&mut store.tenants, self.tenants);
        replay(&mut store.settings, self.settings);
        replay(&mut store.roles, self.roles);
        replay(&mut store.permissions, self.permissions);
        replay(&mut store.flows, self.flows);
        if let Some(t) = self.theme {
            store.theme = t.theme;
            store.theme_format = t.theme_format;
            store.theme_version = t.theme_version;
        }
    }
}

/// The journal path of data file `path`.
pub(crate) fn journal_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".journal");
    PathBuf::from(name)
}

fn digest(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A data file and its journal, open for appending.
pub(crate) struct Journal {
    data: PathBuf,
    path: PathBuf,
    file: File,
    /// The store as persisted (snapshot + journal).
    shadow: Store,
    journal_bytes: u64,
    /// The size of the header line: a journal of that size holds no change.
    header_bytes: u64,
    snapshot_bytes: u64,
    /// Held for as long as the journal is open: one process per data file.
    lock: std::sync::Arc<DataLock>,
}

impl Journal {
    /// Loads the snapshot at `data` (an empty store if there is none), replays its journal, and
    /// folds both into a new snapshot with an empty journal. Fails with [`StoreError::Busy`]
    /// (reading nothing) when another process uses `data`.
    pub(crate) fn open(data: &Path) -> Result<(Store, Journal), StoreError> {
        let lock = std::sync::Arc::new(DataLock::take(data)?);
        let mut store = Store::load(data)?;
        let path = journal_path(data);
        let snapshot = match std::fs::read(data) {
            Ok(bytes) => Some(digest(&bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(source) => {
                return Err(StoreError::Read {
                    path: data.to_owned(),
                    source,
                });
            }
        };
        match std::fs::read(&path) {
            Ok(bytes) => replay_journal(&path, &bytes, snapshot.as_deref(), &mut store)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(StoreError::Read { path, source }),
        }
        let journal = Journal::fold(data, &store, lock)?;
        Ok((store, journal))
    }

    /// Writes `store` as the new snapshot and starts an empty journal naming it.
    fn fold(
        data: &Path,
        store: &Store,
        lock: std::sync::Arc<DataLock>,
    ) -> Result<Journal, StoreError> {
        let path = journal_path(data);
        let err = |path: &Path| {
            let path = path.to_owned();
            move |source| StoreError::Write { path, source }
        };
        let bytes = store.to_bytes().map_err(err(data))?;
        write_atomically(data, &bytes).map_err(err(data))?;
        let mut header = serde_json::to_vec(&Header {
            snapshot: digest(&bytes),
        })
        .map_err(|e| err(&path)(std::io::Error::other(e)))?;
        header.push(b'\n');
        write_atomically(&path, &header).map_err(err(&path))?;
        let file = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(err(&path))?;
        Ok(Journal {
            data: data.to_owned(),
            path,
            file,
            shadow: store.clone(),
            journal_bytes: header.len() as u64,
            header_bytes: header.len() as u64,
            snapshot_bytes: bytes.len() as u64,
            lock,
        })
    }

    /// Persists what changed in `store` since the last call: one journal line, or a new
    /// snapshot when the journal has outgrown the last one (or the change cannot be a line).
    pub(crate) fn record(&mut self, store: &Store) -> Result<(), StoreError> {
        let Some(change) = Change::between(&self.shadow, store) else {
            return self.compact(store);
        };
        if change.is_empty() && change.next_id == self.shadow.next_id {
            return Ok(());
        }
        let err = |source| StoreError::Write {
            path: self.path.clone(),
            source,
        };
        let mut line = serde_json::to_vec(&change).map_err(|e| err(std::io::Error::other(e)))?;
        line.push(b'\n');
        // One write(2) before the reply: once it returns, a killed process cannot lose or tear
        // the line (the kernel holds it). Not synced: the emulator is a test double, and a sync
        // per change cost more than the rest of the change (a crash of the machine may lose the
        // last changes; a torn tail is dropped on replay, the folds stay atomic and synced).
        self.file.write_all(&line).map_err(err)?;
        self.journal_bytes += line.len() as u64;
        change.apply_to(&mut self.shadow);
        if self.journal_bytes > self.snapshot_bytes {
            self.compact(store)?;
        }
        Ok(())
    }

    /// Whether the journal holds changes the snapshot file lacks: the data file alone is not
    /// the whole store until they are folded in.
    pub(crate) fn has_changes(&self) -> bool {
        self.journal_bytes > self.header_bytes
    }

    /// Folds the journal into a new snapshot of `store`.
    pub(crate) fn compact(&mut self, store: &Store) -> Result<(), StoreError> {
        *self = Journal::fold(&self.data, store, self.lock.clone())?;
        Ok(())
    }
}

/// Applies the changes of the journal `bytes` to `store` if its header names `snapshot`.
fn replay_journal(
    path: &Path,
    bytes: &[u8],
    snapshot: Option<&str>,
    store: &mut Store,
) -> Result<(), StoreError> {
    let bad = |line: usize, detail: String| StoreError::Parse {
        path: path.to_owned(),
        detail: format!("line {line}: {detail}"),
    };
    let mut lines = bytes.split_inclusive(|b| *b == b'\n').enumerate();
    let header: Header = match lines.next() {
        // A journal cut before its header was complete extends nothing.
        Some((_, l)) if l.ends_with(b"\n") => {
            serde_json::from_slice(l).map_err(|e| bad(1, e.to_string()))?
        }
        _ => return Ok(()),
    };
    if Some(header.snapshot.as_str()) != snapshot {
        // Folded into the snapshot already (a kill between the two replaces of a fold).
        return Ok(());
    }
    for (i, l) in lines {
        if !l.ends_with(b"\n") {
            // Torn by a kill while appending: that change was never answered.
            break;
        }
        let change: Change = serde_json::from_slice(l).map_err(|e| bad(i + 1, e.to_string()))?;
        change.apply_to(store);
    }
    Ok(())
}

#[cfg(test)]
#[path = "journal_tests.rs"]
mod tests;
