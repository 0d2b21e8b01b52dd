//! Why a backup could not be written, found, pruned or trusted, and how that reads to the user.
//!
//! Every message names the backup folder or file; a damaged backup lists every problem at once
//! (as `Caused by:` lines). Nothing here touches the file system.

use std::path::PathBuf;

use crate::error::{Error, ErrorKind};

/// A backup problem.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("cannot {action} `{}`", .path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot encode the backup manifest `{}`", .path.display())]
    Encode {
        path: PathBuf,
        source: serde_json::Error,
    },
    /// The caller passed one address twice: a backup must hold one body per object.
    #[error("cannot back up `{addr}` twice in one backup")]
    DuplicateAddress { addr: String },
    #[error("backup `{id}` of environment `{environment}` does not exist (no backup folder `{}`)", .path.display())]
    NotFound {
        environment: String,
        id: String,
        path: PathBuf,
    },
    #[error("backup manifest `{}` cannot be used: {reason}", .path.display())]
    Manifest { path: PathBuf, reason: String },
    /// The manifest names another environment or project than the one asked for.
    #[error("backup `{id}` at `{}` belongs to {what} `{found}`, not `{expected}`", .path.display())]
    WrongOwner {
        id: String,
        path: PathBuf,
        what: &'static str,
        expected: String,
        found: String,
    },
    /// Files are missing, changed or unexpected; every problem is listed.
    #[error("backup `{id}` at `{}` does not match its manifest", .path.display())]
    Damaged {
        id: String,
        path: PathBuf,
        problems: Vec<String>,
    },
}

impl From<BackupError> for Error {
    fn from(err: BackupError) -> Self {
        let base = Error::new(ErrorKind::State, err.to_string());
        match &err {
            BackupError::Io { source, .. } => base.caused_by(source),
            BackupError::Encode { source, .. } => base.caused_by(source),
            BackupError::DuplicateAddress { .. } => base,
            BackupError::NotFound { environment, .. } => base.hint(format!(
                "list the backups of `{environment}` with `dmgmt backups -e {environment}`"
            )),
            BackupError::Manifest { .. } => base
                .hint("the backup was damaged or edited after dmgmt wrote it; use another backup"),
            BackupError::WrongOwner { .. } => base.hint(
                "backups are kept per environment; was the folder copied from another environment?",
            ),
            BackupError::Damaged { problems, .. } => problems
                .iter()
                .fold(base, |err, problem| err.cause(problem.clone()))
                .hint("the backup was changed after dmgmt wrote it; use another backup"),
        }
    }
}
