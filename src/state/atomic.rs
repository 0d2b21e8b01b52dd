//! The file-system steps every durable write in `state/` is made of: a synced temp file beside its
//! target, the rename that commits it, a file written and synced in one go, and the sync of a
//! folder that makes renames and new entries durable.
//!
//! Plain `io::Result`s: each caller names the path in its own error type. Nothing here decides
//! what is written or where.

use std::fs;
use std::io::{self, Write as _};
use std::path::Path;

/// The mode of everything dmgmt writes under `state/` (and of saved plans): owner-only, since
/// state, backups and plans hold tenant data (see `folder.rs`).
#[cfg(unix)]
fn default_permissions() -> Option<fs::Permissions> {
    use std::os::unix::fs::PermissionsExt;
    Some(fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn default_permissions() -> Option<fs::Permissions> {
    None
}

/// The usual mode (0644 on Unix) for files meant to be shared, such as configuration.
pub(crate) fn shared_permissions() -> Option<fs::Permissions> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        Some(fs::Permissions::from_mode(0o644))
    }
    #[cfg(not(unix))]
    None
}

/// Writes `bytes` to a synced temp file in `dir`, named after `target` so a leftover from a crash
/// is recognisable; the temp file disappears if it is never committed. `permissions` defaults to
/// [`default_permissions`].
pub(crate) fn stage(
    dir: &Path,
    target: &Path,
    bytes: &[u8],
    permissions: Option<fs::Permissions>,
) -> io::Result<tempfile::NamedTempFile> {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    if let Some(permissions) = permissions.or_else(default_permissions) {
        tmp.as_file().set_permissions(permissions)?;
    }
    tmp.as_file().sync_all()?;
    Ok(tmp)
}

/// Renames a staged file onto `target` (replacing it).
pub(crate) fn commit(staged: tempfile::NamedTempFile, target: &Path) -> io::Result<()> {
    staged.persist(target).map(drop).map_err(|e| e.error)
}

/// Creates `path` (which must not exist yet), writes `bytes` and syncs the file. For files inside
/// a folder that is itself staged and renamed into place: no temp file is needed per file.
pub(crate) fn write_new_synced(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    if let Some(permissions) = default_permissions() {
        file.set_permissions(permissions)?;
    }
    file.sync_all()
}

/// Makes renames and new entries in `dir` durable. Directories cannot be opened for syncing on
/// every platform; elsewhere this does nothing.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    fs::File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}
