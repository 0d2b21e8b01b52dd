//! The backups of one environment: listing them oldest first, and pruning those past the
//! retention policy. Folders that are not backups of the environment are skipped, never removed.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::manifest::{read_head, read_manifest};
use super::names::parse_id;
use super::{BackupError, Trigger, backups_dir, io_err};
use crate::model::preconfigured::is_system_default_permission;
use crate::model::{BackupPolicy, ResourceAddr, ResourceKind};
use crate::state::atomic;
use crate::state::system;

/// How many objects of each kind a backup holds. Descope's system-default permissions are in it
/// (a backup holds the whole project as read) but are not the project's own — no configuration
/// declares them and no restore touches them — so they are counted apart.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct BackupCounts {
    /// Objects per kind, system-default permissions left out (kinds without objects absent).
    pub(crate) by_kind: BTreeMap<ResourceKind, usize>,
    /// Descope's system-default permissions (`User Admin`, `SSO Admin`, `Impersonate`).
    pub(crate) system_default_permissions: usize,
}

impl BackupCounts {
    /// The counts of these addresses.
    pub(crate) fn of<'a>(addrs: impl IntoIterator<Item = &'a ResourceAddr>) -> BackupCounts {
        let mut counts = BackupCounts::default();
        for addr in addrs {
            match addr {
                ResourceAddr::Permission(name) if is_system_default_permission(name) => {
                    counts.system_default_permissions += 1;
                }
                _ => *counts.by_kind.entry(addr.kind()).or_insert(0) += 1,
            }
        }
        counts
    }
}

/// One backup as [`list`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BackupSummary {
    pub(crate) id: String,
    pub(crate) path: PathBuf,
    pub(crate) project_id: String,
    /// RFC 3339, UTC.
    pub(crate) created_at: String,
    pub(crate) trigger: Trigger,
    /// Objects per kind, Descope's system-default permissions apart.
    pub(crate) counts: BackupCounts,
    /// Bytes of the objects' bodies, as the manifest records them.
    pub(crate) bytes: u64,
}

/// Removes backups older than `policy.retention_days` (by the manifest's `created_at`), never the
/// newest `policy.keep_min` — and never the newest backup, whatever the policy says: it is the one
/// the command that prunes has just written, the way back from what that command is about to do.
/// Never a folder that is not a backup of `environment`. Returns the ids removed, oldest first.
pub(crate) fn prune(
    state_dir: &Path,
    environment: &str,
    policy: BackupPolicy,
    now: SystemTime,
) -> Result<Vec<String>, BackupError> {
    // Only the heads of the manifests: their lists of objects are not needed to prune.
    let mut found = scan(state_dir, environment, |_, path| {
        read_head(path).map(|head| (head.environment, head.created_at, ()))
    })?;
    // Newest first.
    found.reverse();
    let max_age = Duration::from_secs(u64::from(policy.retention_days) * 86_400);
    let keep_min = usize::try_from(policy.keep_min)
        .unwrap_or(usize::MAX)
        .max(1);
    let mut removed = Vec::new();
    for backup in found.into_iter().skip(keep_min) {
        let expired = now
            .duration_since(backup.created)
            .is_ok_and(|age| age > max_age);
        if !expired {
            continue;
        }
        // Renamed first, so a removal cut short leaves a folder that no longer looks like a backup.
        let doomed = backup
            .path
            .with_file_name(format!(".{}.pruning", backup.id));
        fs::rename(&backup.path, &doomed).map_err(io_err("rename", &backup.path))?;
        fs::remove_dir_all(&doomed).map_err(io_err("remove", &doomed))?;
        removed.push(backup.id);
    }
    if !removed.is_empty() {
        let dir = backups_dir(state_dir, environment);
        atomic::sync_dir(&dir).map_err(io_err("sync", &dir))?;
    }
    removed.reverse();
    Ok(removed)
}

/// Every backup of `environment`, oldest first. Folders that are not backups (other names, no or
/// unreadable manifest, another environment's manifest) are skipped.
pub(crate) fn list(state_dir: &Path, environment: &str) -> Result<Vec<BackupSummary>, BackupError> {
    let found = scan(state_dir, environment, |id, path| {
        let manifest = read_manifest(path)?;
        let summary = BackupSummary {
            id: id.to_owned(),
            path: path.to_owned(),
            project_id: manifest.project_id,
            created_at: manifest.created_at.clone(),
            trigger: manifest.trigger,
            counts: BackupCounts::of(manifest.files.iter().map(|f| &f.address)),
            bytes: manifest.files.iter().map(|f| f.size).sum(),
        };
        Ok((manifest.environment, manifest.created_at, summary))
    })?;
    Ok(found.into_iter().map(|b| b.detail).collect())
}

/// A backup found by [`scan`], with what its reader took from the manifest.
struct Found<T> {
    id: String,
    path: PathBuf,
    created: SystemTime,
    detail: T,
}

/// The backups of `environment`, oldest first (by `created_at`, then by the id's number).
/// `read` reads a backup folder's manifest (given the folder's id and path): its environment, its
/// `created_at` and what else the caller needs of it.
fn scan<T>(
    state_dir: &Path,
    environment: &str,
    read: impl Fn(&str, &Path) -> Result<(String, String, T), BackupError>,
) -> Result<Vec<Found<T>>, BackupError> {
    let dir = backups_dir(state_dir, environment);
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err("read the backup folder", &dir)(e)),
    };
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io_err("read the backup folder", &dir))?;
        let Some(id) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        let Some((_, number)) = parse_id(&id) else {
            continue;
        };
        let path = entry.path();
        if !fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir()) {
            continue;
        }
        let Ok((of, created_at, detail)) = read(&id, &path) else {
            continue;
        };
        let Some(created) = system::parse_rfc3339_utc(&created_at) else {
            continue;
        };
        if of != environment {
            continue;
        }
        found.push((
            number,
            Found {
                id,
                path,
                created,
                detail,
            },
        ));
    }
    found.sort_by(|(na, a), (nb, b)| (a.created, na).cmp(&(b.created, nb)));
    Ok(found.into_iter().map(|(_, f)| f).collect())
}
