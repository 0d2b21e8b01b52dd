//! Why a state file could not be read, trusted or written, and how that reads to the user.
//!
//! Every variant names the file (or, for saved-plan checks, the environment) and the `From`
//! conversion adds the `hint:` lines: where the `.backup` is and how to restore it. Nothing here
//! touches the file system; whether a backup exists is decided when the error is made.

use std::path::{Path, PathBuf};

use super::file::FORMAT_VERSION;
use crate::error::{Error, ErrorKind};

/// A state file problem.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot read state file `{}`", .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write `{}`", .path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot encode the state for `{}`", .path.display())]
    Encode {
        path: PathBuf,
        source: serde_json::Error,
    },
    /// Not JSON at all: truncated, or edited by hand.
    #[error("state file `{}` is not valid JSON (truncated or damaged); {}", .path.display(), previous(.backup))]
    Unparseable {
        path: PathBuf,
        backup: Backup,
        source: serde_json::Error,
    },
    /// JSON, but the digest does not match: edited or damaged after dmgmt wrote it.
    #[error("state file `{}` does not match its `digest`: it was changed after dmgmt wrote it; {}", .path.display(), previous(.backup))]
    DigestMismatch {
        path: PathBuf,
        backup: Backup,
        expected: String,
        found: String,
    },
    /// The digest matches but the content is not a valid version-1 state.
    #[error("state file `{}` is not a valid dmgmt state: {reason}; {}", .path.display(), previous(.backup))]
    Invalid {
        path: PathBuf,
        backup: Backup,
        reason: String,
    },
    #[error("state file `{}` has format_version {found}, but this dmgmt ({}) reads only format_version {FORMAT_VERSION}", .path.display(), env!("CARGO_PKG_VERSION"))]
    UnsupportedVersion { path: PathBuf, found: String },
    #[error("state file `{}` belongs to environment `{found}`, not `{expected}`", .path.display())]
    WrongEnvironment {
        path: PathBuf,
        expected: String,
        found: String,
    },
    #[error("state file `{}` of environment `{environment}` belongs to project `{found}`, but the environment is configured with project `{expected}`", .path.display())]
    WrongProject {
        path: PathBuf,
        environment: String,
        expected: String,
        found: String,
    },
    /// Someone else wrote the state between our read and our write.
    #[error("state file `{}` changed since it was read ({reason}); refusing to overwrite it", .path.display())]
    Conflict { path: PathBuf, reason: String },
    /// The journal a stopped run left beside the state cannot be folded into it.
    #[error("cannot fold the state journal `{}` into the state: {reason}", .path.display())]
    Journal { path: PathBuf, reason: String },
}

/// The `.backup` beside a state file, and whether it existed when the error was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backup {
    pub(crate) path: PathBuf,
    pub(crate) exists: bool,
}

impl Backup {
    pub(crate) fn of(state_path: &Path) -> Backup {
        let path = backup_path(state_path);
        let exists = path.is_file();
        Backup { path, exists }
    }
}

/// `<state path>.backup`.
pub(crate) fn backup_path(state_path: &Path) -> PathBuf {
    let mut name = state_path.as_os_str().to_owned();
    name.push(".backup");
    PathBuf::from(name)
}

fn previous(backup: &Backup) -> String {
    if backup.exists {
        format!("the previous version is at `{}`", backup.path.display())
    } else {
        format!(
            "there is no previous version (`{}` does not exist)",
            backup.path.display()
        )
    }
}

/// `state/` is not under version control (see `.gitignore`), so the way back is the `.backup`
/// copy the last write kept, or, without one, setting the file aside and adopting live again.
fn restore_hints(err: Error, path: &Path, backup: &Backup) -> Error {
    if backup.exists {
        return err.hint(format!(
            "inspect `{}` and, if it is right, restore it: `cp {} {}`",
            backup.path.display(),
            backup.path.display(),
            path.display()
        ));
    }
    err.hint(format!(
        "there is no `{}` to restore from: move `{}` aside (`mv {} {}.corrupt`); then `dmgmt apply` adopts the declared objects that are live again, and `dmgmt import --write` the others",
        backup.path.display(),
        path.display(),
        path.display(),
        path.display()
    ))
}

impl From<StateError> for Error {
    fn from(err: StateError) -> Self {
        let base = Error::new(ErrorKind::State, err.to_string());
        match &err {
            StateError::Read { source, .. } | StateError::Write { source, .. } => {
                base.caused_by(source)
            }
            StateError::Encode { source, .. } => base.caused_by(source),
            StateError::Unparseable {
                path,
                backup,
                source,
            } => restore_hints(base.caused_by(source), path, backup),
            StateError::DigestMismatch {
                path,
                backup,
                expected,
                found,
            } => restore_hints(
                base.cause(format!(
                    "the file says `{expected}`, its content hashes to `{found}`"
                )),
                path,
                backup,
            ),
            StateError::Invalid { path, backup, .. } => restore_hints(base, path, backup),
            StateError::UnsupportedVersion { .. } => {
                base.hint("a newer dmgmt wrote this file: upgrade dmgmt to use it")
            }
            StateError::WrongEnvironment { path, expected, .. } => base.hint(format!(
                "`{}` must hold the state of `{expected}`; move the misplaced file away",
                path.display()
            )),
            StateError::WrongProject { path, .. } => base.hint(format!(
                "if the environment really moved to another project, move `{}` aside and run `dmgmt import`",
                path.display()
            )),
            StateError::Conflict { .. } => {
                base.hint("another dmgmt run wrote the state without holding its lock; run the command again")
            }
            StateError::Journal { path, .. } => base.hint(format!(
                "it holds changes a stopped run applied; if it belongs to another state, move `{}` aside and run `dmgmt refresh`",
                path.display()
            )),
        }
    }
}
