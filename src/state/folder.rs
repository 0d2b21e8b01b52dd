//! The `state/` folder itself: created owner-only, and kept out of the user's git repository.
//!
//! State, backups and saved plans hold tenant data, and the audit log names users and hosts, so
//! everything under `state/` is written owner-only (0600 files, see `atomic.rs`, in 0700
//! folders), and a `.gitignore` holding `*` is written on the folder's first use: `git add .` at
//! the project root then leaves `state/` out. Nothing here writes state content.

use std::fs;
use std::io::{self, Write as _};
use std::path::Path;

/// The name of the ignore file written in `state/`.
pub(crate) const GITIGNORE: &str = ".gitignore";

/// What `state/.gitignore` holds: everything in the folder (itself included) is ignored.
const GITIGNORE_TEXT: &str = "# Written by dmgmt: state, backups and the audit log hold tenant data and user names;\n# they stay out of version control (remove this file to commit them anyway).\n*\n";

/// Creates `state_dir` if needed (owner-only) and writes its `.gitignore` if it has none. An
/// existing `.gitignore` is left as the user made it.
pub(crate) fn prepare(state_dir: &Path) -> io::Result<()> {
    create_private_dir_all(state_dir)?;
    let path = state_dir.join(GITIGNORE);
    if path.exists() {
        return Ok(());
    }
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(&path) {
        Ok(mut file) => file.write_all(GITIGNORE_TEXT.as_bytes()),
        // Written by a concurrent first use: the same text.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// `fs::create_dir_all`, each folder it creates owner-only (0700 on Unix). Folders that exist are
/// left as they are.
pub(crate) fn create_private_dir_all(path: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_use_writes_the_ignore_file_and_later_ones_keep_the_users() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        prepare(&state).unwrap();
        let text = fs::read_to_string(state.join(GITIGNORE)).unwrap();
        assert_eq!(text.lines().last(), Some("*"));
        fs::write(state.join(GITIGNORE), "custom\n").unwrap();
        prepare(&state).unwrap();
        assert_eq!(
            fs::read_to_string(state.join(GITIGNORE)).unwrap(),
            "custom\n"
        );
    }

    #[cfg(unix)]
    #[test]
    fn folders_are_created_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let deep = dir.path().join("state/backups/dev");
        create_private_dir_all(&deep).unwrap();
        for f in [
            dir.path().join("state"),
            dir.path().join("state/backups"),
            deep,
        ] {
            let mode = fs::metadata(&f).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o700, "{}", f.display());
        }
    }
}
