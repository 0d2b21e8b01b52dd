//! Why the state lock could not be taken, released or broken, and how that reads to the user.
//!
//! Every message names the environment and the lock file; a held lock names its holder (user,
//! host, pid, operation, time, lock id) so the user can find it or break it with `dmgmt unlock`.
//! Nothing here touches the file system.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::lock::LockInfo;
use crate::error::{Error, ErrorKind};

/// A state lock problem.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Someone else holds the lock (and kept it for the whole `waited`).
    #[error("{}", locked_message(.environment, .path, .holder.as_deref(), *.holder_gone, *.waited))]
    Locked {
        environment: String,
        path: PathBuf,
        /// `None` when the lock file is unreadable or not a dmgmt lock.
        holder: Option<Box<LockInfo>>,
        /// The holder ran on this host and its pid no longer runs.
        holder_gone: bool,
        waited: Duration,
    },
    #[error("state of `{environment}` is not locked: `{}` does not exist", .path.display())]
    NotLocked { environment: String, path: PathBuf },
    /// `dmgmt unlock` with an id that is not the lock's. The message names the holder but not
    /// its id: the id is what makes sure a lock is broken by someone who looked at it, so it is
    /// read from the lock file, never handed out to whoever guessed wrong.
    #[error("lock id `{given}` does not match the lock of `{environment}`, held by {}; lock file `{}` left in place", .holder.holder(), .path.display())]
    WrongId {
        environment: String,
        path: PathBuf,
        given: String,
        holder: Box<LockInfo>,
    },
    /// `dmgmt unlock` of a lock whose holder still runs on this host (without `--force`).
    #[error("refusing to break the lock of `{environment}`: it is held by {}, and pid {} is still running on this host; lock file `{}` left in place", .holder.holder(), .holder.pid, .path.display())]
    HolderAlive {
        environment: String,
        path: PathBuf,
        holder: Box<LockInfo>,
    },
    #[error("lock file `{}` of `{environment}` is unreadable or not a dmgmt lock; it was left in place", .path.display())]
    Unreadable { environment: String, path: PathBuf },
    /// The lock was broken (and maybe re-taken) while this process held it.
    #[error("{}", lost_message(.environment, .path, .holder.as_deref()))]
    Lost {
        environment: String,
        path: PathBuf,
        holder: Option<Box<LockInfo>>,
    },
    #[error("cannot {action} lock file `{}`", .path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

fn locked_message(
    environment: &str,
    path: &Path,
    holder: Option<&LockInfo>,
    holder_gone: bool,
    waited: Duration,
) -> String {
    let mut text = match holder {
        Some(info) => format!("state of `{environment}` is locked by {}", info.describe()),
        None => format!("state of `{environment}` is locked by unknown"),
    };
    if let (Some(info), true) = (holder, holder_gone) {
        text.push_str(&format!(
            "; pid {} is no longer running on this host",
            info.pid
        ));
    }
    if !waited.is_zero() {
        text.push_str(&format!(
            " (still held after waiting {:.1}s)",
            waited.as_secs_f64()
        ));
    }
    match holder {
        Some(_) => text.push_str(&format!("; lock file `{}`", path.display())),
        None => text.push_str(&format!(
            "; lock file `{}` is unreadable or not a dmgmt lock",
            path.display()
        )),
    }
    text
}

fn lost_message(environment: &str, path: &Path, holder: Option<&LockInfo>) -> String {
    match holder {
        Some(info) => format!(
            "the lock of `{environment}` was broken while this run held it: `{}` is now held by {}",
            path.display(),
            info.describe()
        ),
        None => format!(
            "the lock of `{environment}` was broken while this run held it: `{}` is gone or not ours",
            path.display()
        ),
    }
}

fn remove_by_hand(err: Error, environment: &str, path: &Path) -> Error {
    err.hint(format!(
        "if no dmgmt is running on `{environment}`, remove `{}` by hand",
        path.display()
    ))
}

impl From<LockError> for Error {
    fn from(err: LockError) -> Self {
        let base = Error::new(ErrorKind::State, err.to_string());
        match &err {
            LockError::Locked {
                environment,
                holder: Some(info),
                holder_gone,
                ..
            } => {
                let unlock = format!("`dmgmt unlock -e {environment} {}`", info.id);
                if *holder_gone {
                    base.hint(format!("the holder is gone: break the lock with {unlock}"))
                } else {
                    base.hint(
                        "wait for it to finish, or let dmgmt wait for it with `--lock-timeout 30s`",
                    )
                    .hint(format!("if that process is gone, break the lock with {unlock}"))
                }
            }
            LockError::Locked {
                environment,
                path,
                holder: None,
                ..
            }
            | LockError::Unreadable { environment, path } => {
                remove_by_hand(base, environment, path)
            }
            LockError::NotLocked { .. } => base,
            LockError::HolderAlive { holder, .. } => base
                .hint(
                    "let that run finish, or stop it with Ctrl-C (it releases the lock); breaking the lock of a live run lets a second writer in beside it",
                )
                .hint(format!(
                    "if pid {} is not that dmgmt run (the pid was reused), break the lock with `--force`",
                    holder.pid
                )),
            LockError::WrongId { path, .. } => base.hint(format!(
                "make sure that holder is gone, then pass the lock id written in `{}` (its `id` field)",
                path.display()
            )),
            LockError::Lost { environment, .. } => base
                .hint("this run stopped at once: changes applied since the lock was broken are not in the state")
                .hint(format!(
                    "another run may have changed the state meanwhile: check it with `dmgmt plan -e {environment}`"
                )),
            LockError::Io { source, .. } => base.caused_by(source),
        }
    }
}
