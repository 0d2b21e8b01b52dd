//! The backups of one environment: listing them oldest first, and pruning those past the
//! retention policy. Folders that are not backups of the environment are skipped, never removed.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::manifest::read_manifest;
use super::names::parse_id;
use super::{BackupError, Trigger, backups_dir, io_err};
use crate::model::{BackupPolicy, ResourceKind};
use crate::state::atomic;
use crate::state::system;

/// One backup as [`list`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BackupSummary {
    pub(crate) id: String,
    pub(crate) path: PathBuf,
    pub(crate) project_id: String,
    /// RFC 3339, UTC.
    pub(crate) created_at: String,
    pub(crate) trigger: Trigger,
    /// Objects per kind (kinds without objects are absent).
    pub(crate) counts: BTreeMap<ResourceKind, usize>,
    /// Bytes of the object files, as the manifest records them.
    pub(crate) bytes: u64,
}

/// Removes backups older than `policy.retention_days` (by the manifest's `created_at`), never the
/// newest `policy.keep_min`, and never a folder that is not a backup of `environment`. Returns the
/// ids removed, oldest first.
pub(crate) fn prune(
    state_dir: &Path,
    environment: &str,
    policy: BackupPolicy,
    now: SystemTime,
) -> Result<Vec<String>, BackupError> {
    let mut found = scan(state_dir, environment)?;
    // Newest first.
    found.reverse();
    let max_age = Duration::from_secs(u64::from(policy.retention_days) * 86_400);
    let keep_min = usize::try_from(policy.keep_min).unwrap_or(usize::MAX);
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
            .with_file_name(format!(".{}.pruning", backup.summary.id));
        fs::rename(&backup.path, &doomed).map_err(io_err("rename", &backup.path))?;
        fs::remove_dir_all(&doomed).map_err(io_err("remove", &doomed))?;
        removed.push(backup.summary.id);
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
    Ok(scan(state_dir, environment)?
        .into_iter()
        .map(|b| b.summary)
        .collect())
}

/// A backup found by [`scan`].
struct Found {
    summary: BackupSummary,
    path: PathBuf,
    created: SystemTime,
}

/// The backups of `environment`, oldest first (by `created_at`, then by the id's number).
fn scan(state_dir: &Path, environment: &str) -> Result<Vec<Found>, BackupError> {
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
        let Ok(manifest) = read_manifest(&path) else {
            continue;
        };
        let Some(created) = system::parse_rfc3339_utc(&manifest.created_at) else {
            continue;
        };
        if manifest.environment != environment {
            continue;
        }
        let mut counts = BTreeMap::new();
        for file in &manifest.files {
            *counts.entry(file.address.kind()).or_insert(0) += 1;
        }
        found.push((
            number,
            Found {
                summary: BackupSummary {
                    id,
                    path: path.clone(),
                    project_id: manifest.project_id,
                    created_at: manifest.created_at,
                    trigger: manifest.trigger,
                    counts,
                    bytes: manifest.files.iter().map(|f| f.size).sum(),
                },
                path,
                created,
            },
        ));
    }
    found.sort_by(|(na, a), (nb, b)| (a.created, na).cmp(&(b.created, nb)));
    Ok(found.into_iter().map(|(_, f)| f).collect())
}
