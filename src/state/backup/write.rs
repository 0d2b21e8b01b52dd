//! Writing one backup: every object's body goes on one line of the bundle, `objects.jsonl`, which
//! is written and synced once, then the manifest, both in a temporary folder that is synced and
//! only then renamed to its id, so a folder named like a backup is always complete (one file and
//! one fsync for the bodies, however many objects: a file per object cost a 10,000-tenant project
//! thousands of inode allocations per apply).
//! Any failure removes the temporary folder; the caller must then apply nothing.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::Trigger;
use super::names::compact_id;
use super::{BUNDLE, BackupError, MANIFEST, MANIFEST_FORMAT_VERSION, Manifest, ManifestFile};
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
    /// Objects backed up.
    pub(crate) files: usize,
    /// Bytes of the objects' bodies (line breaks and the manifest not counted).
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

    let bundle_path = root.join(BUNDLE);
    let (bundle, files) = bundle_of(&objects, &bundle_path)?;
    // The one fsync of the bodies, before the manifest that describes them is written.
    atomic::write_new_synced(&bundle_path, &bundle).map_err(io_err("write", &bundle_path))?;
    drop(bundle);
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

/// The bundle's bytes, every body on its own line in the order of `objects` (sorted by address),
/// and the manifest's entry of each. `bundle_path` only names the bundle in errors.
fn bundle_of(
    objects: &[BackupObject<'_>],
    bundle_path: &Path,
) -> Result<(Vec<u8>, Vec<ManifestFile>), BackupError> {
    let total: usize = objects.iter().map(|o| o.body.as_str().len() + 1).sum();
    let mut bundle = Vec::with_capacity(total);
    let mut files = Vec::with_capacity(objects.len());
    for (index, object) in objects.iter().enumerate() {
        let bytes = object.body.as_str().as_bytes();
        #[cfg(test)]
        super::tests::injected_failure(index).map_err(io_err("write", bundle_path))?;
        // A raw body is compact JSON text, whose strings escape line breaks; a body with one
        // would split its line and could not be read back.
        if bytes.contains(&b'\n') {
            let reason = format!("the body of `{}` holds a line break", object.addr);
            return Err(io_err("write", bundle_path)(io::Error::other(reason)));
        }
        bundle.extend_from_slice(bytes);
        bundle.push(b'\n');
        files.push(ManifestFile {
            address: object.addr.clone(),
            line: Some(index as u64 + 1),
            path: None,
            sha256: sha256_hex(bytes),
            size: bytes.len() as u64,
        });
    }
    Ok((bundle, files))
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
