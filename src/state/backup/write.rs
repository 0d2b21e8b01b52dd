//! Writing one backup: every object's body and the manifest go into a temporary folder that is
//! synced and only then renamed to its id, so a folder named like a backup is always complete.
//! Any failure removes the temporary folder; the caller must then apply nothing.

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::names::{FileNames, compact_id, key_of};
use super::{BackupError, MANIFEST, MANIFEST_FORMAT_VERSION, Manifest, ManifestFile, Trigger};
use super::{backups_dir, io_err};
use crate::model::{RawBody, ResourceAddr};
use crate::state::atomic;
use crate::state::canonical::sha256_hex;
use crate::state::system;

/// One live object to back up: its address and its body as refresh read it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BackupObject<'a> {
    pub(crate) addr: &'a ResourceAddr,
    pub(crate) body: &'a RawBody,
}

/// What [`write_backup`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BackupInfo {
    /// The folder name, e.g. `20261129T152000Z` or `20261129T152000Z-2`.
    pub(crate) id: String,
    /// The backup folder.
    pub(crate) path: PathBuf,
    /// Object files (the manifest not counted).
    pub(crate) files: usize,
    /// Bytes of the object files (the manifest not counted).
    pub(crate) bytes: u64,
}

/// Writes a backup of `objects` and returns where it is. Any failure is an error and leaves no
/// folder that looks like a backup (the caller must then apply nothing).
pub(crate) fn write_backup(
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
pub(super) fn write_backup_at(
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
    crate::state::folder::prepare(state_dir)
        .and_then(|()| crate::state::folder::create_private_dir_all(&env_dir))
        .map_err(io_err("create the backup folder", &env_dir))?;
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
            crate::state::folder::create_private_dir(&kind_dir)
                .map_err(io_err("create", &kind_dir))?;
        }
        let rel = format!("{kind}/{}.json", names.claim(kind, &key_of(object.addr)));
        let path = root.join(&rel);
        let bytes = object.body.as_str().as_bytes();
        #[cfg(test)]
        super::tests::injected_failure(files.len()).map_err(io_err("write", &path))?;
        atomic::write_new(&path, bytes).map_err(io_err("write", &path))?;
        files.push(ManifestFile {
            path: rel,
            address: object.addr.clone(),
            sha256: sha256_hex(bytes),
            size: bytes.len() as u64,
        });
    }
    // Every object file durable before the manifest that names them is written.
    let paths: Vec<PathBuf> = files.iter().map(|f| root.join(&f.path)).collect();
    atomic::sync_written(root, paths.iter().map(PathBuf::as_path))
        .map_err(io_err("sync the files of", root))?;
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
        // Owner-only like everything under `state/` (see `state/folder.rs`), whatever mode the
        // temporary folder was created with; it keeps it under its final name.
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(root, fs::Permissions::from_mode(0o700))
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
