//! Backups of live content (DESIGN.md §4): `state/backups/<env>/<id>/`, written before the first
//! mutating call of an apply or restore, pruned by a retention policy, listed and verified.
//!
//! A backup folder holds one file per object, `<kind>/<name>.json`, with the object's raw body
//! exactly as refresh read it (so a file's sha256 is the live object's digest), and
//! `manifest.json`, which maps every file to its address, sha256 and size. The folder is written
//! under a temporary name and renamed into place only when every file and the manifest are synced,
//! so a folder named like a backup is always complete. Files only: this module never talks to
//! Descope, never decides what to back up, and never prints.
//!
//! Folder names (ids) are the UTC time of the backup, `20261129T152000Z`, made unique with `-2`,
//! `-3`…; anything else in `state/backups/<env>/` is not a backup and is left alone.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::atomic;
pub use super::backup_error::BackupError;
use super::canonical::sha256_hex;
use super::system;
use crate::model::preconfigured::is_system_default_permission;
use crate::model::{BackupPolicy, RawBody, ResourceAddr, ResourceKind};
pub use names::escape_key;
use names::{FileNames, compact_id, is_object_path, key_of, parse_id};

/// The manifest's file name inside a backup folder.
pub const MANIFEST: &str = "manifest.json";
/// The manifest format this dmgmt writes and reads.
pub const MANIFEST_FORMAT_VERSION: u32 = 1;

/// Why a backup was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Trigger {
    /// `dmgmt backup`.
    Manual,
    /// Before the first mutating call of an apply.
    PreApply,
    /// Before the first mutating call of a restore.
    PreRestore,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Manual => "manual",
            Trigger::PreApply => "pre-apply",
            Trigger::PreRestore => "pre-restore",
        }
    }
}

impl std::fmt::Display for Trigger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One live object to back up: its address and its body as refresh read it.
#[derive(Debug, Clone, Copy)]
pub struct BackupObject<'a> {
    pub addr: &'a ResourceAddr,
    pub body: &'a RawBody,
}

/// What [`write_backup`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupInfo {
    /// The folder name, e.g. `20261129T152000Z` or `20261129T152000Z-2`.
    pub id: String,
    /// The backup folder.
    pub path: PathBuf,
    /// Object files (the manifest not counted).
    pub files: usize,
    /// Bytes of the object files (the manifest not counted).
    pub bytes: u64,
}

/// `manifest.json`: what the backup is of, and every file it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format_version: u32,
    pub environment: String,
    pub project_id: String,
    pub dmgmt_version: String,
    /// RFC 3339, UTC, whole seconds.
    pub created_at: String,
    pub trigger: Trigger,
    /// Ordered by address.
    pub files: Vec<ManifestFile>,
}

/// One object file of a backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestFile {
    /// Relative to the backup folder, `/`-separated: `<kind>/<escaped key>.json`.
    pub path: String,
    pub address: ResourceAddr,
    /// sha256 of the file's bytes (lowercase hex).
    pub sha256: String,
    /// Size of the file in bytes.
    pub size: u64,
}

/// How many objects of each kind a backup holds. Descope's system-default permissions are in it
/// (a backup holds the whole project as read) but are not the project's own — no configuration
/// declares them and no restore touches them — so they are counted apart.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackupCounts {
    /// Objects per kind, system-default permissions left out (kinds without objects absent).
    pub by_kind: BTreeMap<ResourceKind, usize>,
    /// Descope's system-default permissions (`User Admin`, `SSO Admin`, `Impersonate`).
    pub system_default_permissions: usize,
}

impl BackupCounts {
    /// The counts of these addresses.
    pub fn of<'a>(addrs: impl IntoIterator<Item = &'a ResourceAddr>) -> BackupCounts {
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
pub struct BackupSummary {
    pub id: String,
    pub path: PathBuf,
    pub project_id: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub trigger: Trigger,
    /// Objects per kind, Descope's system-default permissions apart.
    pub counts: BackupCounts,
    /// Bytes of the object files, as the manifest records them.
    pub bytes: u64,
}

/// `<state_dir>/backups/<environment>`.
pub fn backups_dir(state_dir: &Path, environment: &str) -> PathBuf {
    state_dir.join("backups").join(environment)
}

/// Writes a backup of `objects` and returns where it is. Any failure is an error and leaves no
/// folder that looks like a backup (the caller must then apply nothing).
pub fn write_backup(
    state_dir: &Path,
    environment: &str,
    project_id: &str,
    trigger: Trigger,
    objects: &[BackupObject<'_>],
) -> Result<BackupInfo, BackupError> {
    write_backup_at(
        state_dir,
        environment,
        project_id,
        trigger,
        objects,
        SystemTime::now(),
    )
}

/// [`write_backup`] as if it were `now` (tests write backups of other days).
fn write_backup_at(
    state_dir: &Path,
    environment: &str,
    project_id: &str,
    trigger: Trigger,
    objects: &[BackupObject<'_>],
    now: SystemTime,
) -> Result<BackupInfo, BackupError> {
    let created_at = system::rfc3339_utc(now);
    let mut objects = objects.to_vec();
    objects.sort_by(|a, b| a.addr.cmp(b.addr));
    if let Some(pair) = objects.windows(2).find(|w| w[0].addr == w[1].addr) {
        return Err(BackupError::DuplicateAddress {
            addr: pair[0].addr.to_string(),
        });
    }

    let env_dir = backups_dir(state_dir, environment);
    fs::create_dir_all(&env_dir).map_err(io_err("create the backup folder", &env_dir))?;
    // Dropped (and removed) on any early return: a half-written backup never stays behind.
    let staging = tempfile::Builder::new()
        .prefix(".backup-")
        .suffix(".tmp")
        .tempdir_in(&env_dir)
        .map_err(io_err("create a temporary backup folder in", &env_dir))?;
    let root = staging.path();

    let mut names = FileNames::default();
    let mut files = Vec::with_capacity(objects.len());
    let mut kind_dirs = BTreeSet::new();
    for object in &objects {
        let kind = object.addr.kind().as_str();
        let kind_dir = root.join(kind);
        if kind_dirs.insert(kind) {
            fs::create_dir(&kind_dir).map_err(io_err("create", &kind_dir))?;
        }
        let rel = format!("{kind}/{}.json", names.claim(kind, &key_of(object.addr)));
        let path = root.join(&rel);
        let bytes = object.body.as_str().as_bytes();
        #[cfg(test)]
        tests::injected_failure(files.len()).map_err(io_err("write", &path))?;
        atomic::write_new_synced(&path, bytes).map_err(io_err("write", &path))?;
        files.push(ManifestFile {
            path: rel,
            address: object.addr.clone(),
            sha256: sha256_hex(bytes),
            size: bytes.len() as u64,
        });
    }
    let info_files = files.len();
    let info_bytes = files.iter().map(|f| f.size).sum();
    let manifest = Manifest {
        format_version: MANIFEST_FORMAT_VERSION,
        environment: environment.to_owned(),
        project_id: project_id.to_owned(),
        dmgmt_version: env!("CARGO_PKG_VERSION").to_owned(),
        created_at: created_at.clone(),
        trigger,
        files,
    };
    let manifest_path = root.join(MANIFEST);
    let mut text =
        serde_json::to_string_pretty(&manifest).map_err(|source| BackupError::Encode {
            path: manifest_path.clone(),
            source,
        })?;
    text.push('\n');
    atomic::write_new_synced(&manifest_path, text.as_bytes())
        .map_err(io_err("write", &manifest_path))?;
    for kind in &kind_dirs {
        let dir = root.join(kind);
        atomic::sync_dir(&dir).map_err(io_err("sync", &dir))?;
    }
    #[cfg(unix)]
    {
        // A temporary folder is owner-only; a backup is as readable as the state beside it.
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(root, fs::Permissions::from_mode(0o755))
            .map_err(io_err("set the mode of", root))?;
    }
    atomic::sync_dir(root).map_err(io_err("sync", root))?;

    let (id, path) = rename_into_place(root, &env_dir, &compact_id(&created_at))?;
    // The folder now has its final name; nothing is left to clean up.
    let _ = staging.keep();
    for dir in [env_dir.as_path(), &state_dir.join("backups"), state_dir] {
        atomic::sync_dir(dir).map_err(io_err("sync", dir))?;
    }
    Ok(BackupInfo {
        id,
        path,
        files: info_files,
        bytes: info_bytes,
    })
}

/// Renames the finished staging folder to the first free id `base`, `base-2`, `base-3`…
fn rename_into_place(
    staged: &Path,
    env_dir: &Path,
    base: &str,
) -> Result<(String, PathBuf), BackupError> {
    for n in 1u32.. {
        let id = if n == 1 {
            base.to_owned()
        } else {
            format!("{base}-{n}")
        };
        let target = env_dir.join(&id);
        match fs::symlink_metadata(&target) {
            Ok(_) => continue,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err("inspect", &target)(e)),
        }
        match fs::rename(staged, &target) {
            Ok(()) => return Ok((id, target)),
            // Taken between the check and the rename (only without the state lock): next id.
            Err(e)
                if e.kind() == io::ErrorKind::AlreadyExists
                    || e.kind() == io::ErrorKind::DirectoryNotEmpty => {}
            Err(e) => return Err(io_err("rename the finished backup to", &target)(e)),
        }
    }
    unreachable!("u32 ids run out only after four billion backups in one second")
}

/// Removes backups older than `policy.retention_days` (by the manifest's `created_at`), never the
/// newest `policy.keep_min`, and never a folder that is not a backup of `environment`. Returns the
/// ids removed, oldest first.
pub fn prune(
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
pub fn list(state_dir: &Path, environment: &str) -> Result<Vec<BackupSummary>, BackupError> {
    Ok(scan(state_dir, environment)?
        .into_iter()
        .map(|b| b.summary)
        .collect())
}

/// Checks backup `id` of `environment` against its manifest: the manifest must name this
/// environment and `project_id`, and every listed file must be there with its recorded size and
/// sha256, with no other file beside them. Every problem is reported at once.
pub fn verify(
    state_dir: &Path,
    environment: &str,
    id: &str,
    project_id: &str,
) -> Result<Manifest, BackupError> {
    let path = backups_dir(state_dir, environment).join(id);
    let is_dir = fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir());
    if parse_id(id).is_none() || !is_dir {
        return Err(BackupError::NotFound {
            environment: environment.to_owned(),
            id: id.to_owned(),
            path,
        });
    }
    let manifest = read_manifest(&path)?;
    for (what, expected, found) in [
        ("environment", environment, &manifest.environment),
        ("project", project_id, &manifest.project_id),
    ] {
        if expected != found {
            return Err(BackupError::WrongOwner {
                id: id.to_owned(),
                path,
                what,
                expected: expected.to_owned(),
                found: found.clone(),
            });
        }
    }

    let mut problems = Vec::new();
    let mut listed = HashSet::new();
    let mut addresses = HashSet::new();
    for file in &manifest.files {
        if !addresses.insert(&file.address) {
            problems.push(format!("the manifest lists `{}` twice", file.address));
        }
        if !is_object_path(&file.path) || !listed.insert(file.path.as_str()) {
            problems.push(format!(
                "the manifest lists `{}`, which is not a file name dmgmt writes (or is listed twice)",
                file.path
            ));
            continue;
        }
        let file_path = path.join(&file.path);
        match fs::symlink_metadata(&file_path) {
            Ok(meta) if meta.is_file() => {}
            Ok(_) => {
                problems.push(format!("`{}` is not a regular file", file.path));
                continue;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                problems.push(format!("`{}` ({}) is missing", file.path, file.address));
                continue;
            }
            Err(e) => return Err(io_err("inspect", &file_path)(e)),
        }
        let bytes = fs::read(&file_path).map_err(io_err("read", &file_path))?;
        let sha256 = sha256_hex(&bytes);
        if sha256 != file.sha256 || bytes.len() as u64 != file.size {
            problems.push(format!(
                "`{}` ({}) was changed: {} bytes with sha256 `{sha256}`, the manifest says {} bytes with `{}`",
                file.path,
                file.address,
                bytes.len(),
                file.size,
                file.sha256
            ));
        }
    }
    for extra in files_under(&path)? {
        if extra != MANIFEST && !listed.contains(extra.as_str()) {
            problems.push(format!("`{extra}` is not listed in the manifest"));
        }
    }
    if problems.is_empty() {
        Ok(manifest)
    } else {
        Err(BackupError::Damaged {
            id: id.to_owned(),
            path,
            problems,
        })
    }
}

/// Backup `id` of `environment`, checked with [`verify`] first, then read: its manifest and each
/// object's body, in the manifest's order. A file that is not a JSON object is a damaged backup.
pub fn load(
    state_dir: &Path,
    environment: &str,
    id: &str,
    project_id: &str,
) -> Result<(Manifest, Vec<(ResourceAddr, RawBody)>), BackupError> {
    let manifest = verify(state_dir, environment, id, project_id)?;
    let path = backups_dir(state_dir, environment).join(id);
    let mut objects = Vec::with_capacity(manifest.files.len());
    let mut problems = Vec::new();
    for file in &manifest.files {
        let file_path = path.join(&file.path);
        let bytes = fs::read(&file_path).map_err(io_err("read", &file_path))?;
        match serde_json::from_slice::<serde_json::Value>(&bytes) {
            Ok(value) if value.is_object() => {
                objects.push((file.address.clone(), RawBody::from_value(value)));
            }
            _ => problems.push(format!(
                "`{}` ({}) is not a JSON object",
                file.path, file.address
            )),
        }
    }
    if !problems.is_empty() {
        return Err(BackupError::Damaged {
            id: id.to_owned(),
            path,
            problems,
        });
    }
    Ok((manifest, objects))
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
        let counts = BackupCounts::of(manifest.files.iter().map(|f| &f.address));
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

fn read_manifest(dir: &Path) -> Result<Manifest, BackupError> {
    let path = dir.join(MANIFEST);
    let bytes = match fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(BackupError::Manifest {
                path,
                reason: "it does not exist".into(),
            });
        }
        Err(e) => return Err(io_err("read", &path)(e)),
    };
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| BackupError::Manifest {
            path: path.clone(),
            reason: format!("not valid JSON: {e}"),
        })?;
    match value.get("format_version") {
        Some(v) if *v == MANIFEST_FORMAT_VERSION => {}
        Some(v) => {
            return Err(BackupError::Manifest {
                path,
                reason: format!(
                    "format_version {v}, but this dmgmt reads only {MANIFEST_FORMAT_VERSION}"
                ),
            });
        }
        None => {
            return Err(BackupError::Manifest {
                path,
                reason: "`format_version` is missing".into(),
            });
        }
    }
    serde_json::from_value(value).map_err(|e| BackupError::Manifest {
        path,
        reason: e.to_string(),
    })
}

/// Every file below `dir` as a `/`-separated relative path (folders themselves not listed).
fn files_under(dir: &Path) -> Result<Vec<String>, BackupError> {
    let mut out = Vec::new();
    let mut pending = vec![(dir.to_path_buf(), String::new())];
    while let Some((folder, prefix)) = pending.pop() {
        for entry in fs::read_dir(&folder).map_err(io_err("read", &folder))? {
            let entry = entry.map_err(io_err("read", &folder))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let rel = format!("{prefix}{name}");
            let meta = fs::symlink_metadata(entry.path()).map_err(io_err("inspect", &folder))?;
            if meta.is_dir() {
                pending.push((entry.path(), format!("{rel}/")));
            } else {
                out.push(rel);
            }
        }
    }
    out.sort();
    Ok(out)
}

fn io_err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> BackupError + 'a {
    move |source| BackupError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

#[path = "backup_names.rs"]
mod names;

#[cfg(test)]
#[path = "backup_tests.rs"]
mod tests;
