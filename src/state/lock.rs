//! The state lock `state/<env>.lock` (docs/reference.md, "State and locking"): one writer per
//! environment at a time.
//!
//! The lock file is created with `O_EXCL` (`create_new`), which is atomic on local file systems
//! and NFS alike, and holds who took it: a random lock id, the operation, user, host, pid, time and
//! dmgmt version. A [`LockGuard`] removes it when dropped, but only while it still holds the
//! guard's own id, so a lock broken with [`unlock`] and taken by another run is never deleted by the
//! old holder. This module never reads or writes the state itself.
//!
//! Reading a lock and removing it are two steps; a lock broken and re-taken in between (a window
//! of microseconds, needing a human to run `dmgmt unlock` at that instant) could be lost.

use std::fs::{self, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

pub(crate) use super::lock_error::LockError;
use super::system;

/// How often a waiting [`Lock::acquire`] looks again.
const POLL: Duration = Duration::from_millis(100);

/// Who holds a lock: the content of the lock file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    /// Random, 32 hex digits; `dmgmt unlock` must be given it.
    pub(crate) id: String,
    /// The command that took the lock (`apply`, `refresh`, ...).
    pub(crate) operation: String,
    pub(crate) user: String,
    pub(crate) host: String,
    pub(crate) pid: u32,
    /// UTC RFC 3339.
    pub(crate) created_at: String,
    pub(crate) dmgmt_version: String,
}

impl LockInfo {
    /// This process, now, doing `operation`.
    fn current(operation: &str) -> Self {
        LockInfo {
            id: system::random_hex(16),
            operation: operation.to_owned(),
            user: system::username(),
            host: system::hostname(),
            pid: std::process::id(),
            created_at: system::now_rfc3339(),
            dmgmt_version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }

    /// `alice@web1 (pid 123, apply) since 2026-11-25T13:00:00Z, lock id `…``.
    pub fn describe(&self) -> String {
        format!("{}, lock id `{}`", self.holder(), self.id)
    }

    /// `alice@web1 (pid 123, apply) since 2026-11-25T13:00:00Z`: who holds it, not the id that
    /// breaks it.
    pub fn holder(&self) -> String {
        format!(
            "{}@{} (pid {}, {}) since {}",
            self.user, self.host, self.pid, self.operation, self.created_at
        )
    }

    /// Whether the holder ran on this host and its pid is gone, so the lock is stale for sure.
    /// (A zombie still counts as there: only [`LockInfo::is_alive_here`] looks closer.)
    fn is_gone(&self) -> bool {
        self.host == system::hostname() && system::pid_exists(self.pid) == Some(false)
    }

    /// Whether the holder ran on this host and its pid still runs (a killed holder that nobody
    /// reaped, a zombie, does not): breaking the lock would let a second writer in beside a live
    /// run. (A reused pid looks alive too; `--force` is for that case.)
    fn is_alive_here(&self) -> bool {
        self.host == system::hostname() && system::pid_is_running(self.pid) == Some(true)
    }
}

/// `<state_dir>/<env>.lock`.
pub(crate) fn lock_path(state_dir: &Path, environment: &str) -> PathBuf {
    state_dir.join(format!("{environment}.lock"))
}

/// Taking the state lock; the held lock is a [`LockGuard`].
#[derive(Debug)]
pub struct Lock;

impl Lock {
    /// Takes the lock of `environment`, creating `state_dir` if needed. If another run holds it,
    /// fails at once when `timeout` is zero, else looks again every 100 ms until it is free or
    /// `timeout` has passed; the error names the holder.
    pub fn acquire(
        state_dir: &Path,
        environment: &str,
        operation: &str,
        timeout: Duration,
    ) -> Result<LockGuard, LockError> {
        let path = lock_path(state_dir, environment);
        let io_err = |action, source| LockError::Io {
            action,
            path: path.clone(),
            source,
        };
        super::folder::prepare(state_dir).map_err(|source| io_err("create", source))?;
        let info = LockInfo::current(operation);
        // `{:#}` of a JSON value is its pretty form and cannot fail.
        let text = format!("{:#}\n", serde_json::json!(info));
        let start = Instant::now();
        loop {
            match new_lock_file(&path) {
                Ok(mut file) => {
                    if let Err(source) = file
                        .write_all(text.as_bytes())
                        .and_then(|()| file.sync_all())
                    {
                        let _ = fs::remove_file(&path);
                        return Err(io_err("write", source));
                    }
                    return Ok(LockGuard {
                        path,
                        environment: environment.to_owned(),
                        info,
                        released: false,
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    let holder = match read_lock(&path) {
                        // Released since `create_new` failed: try again at once.
                        LockFile::Missing => continue,
                        LockFile::Held(info) => Some(Box::new(info)),
                        LockFile::Unreadable => None,
                    };
                    let waited = start.elapsed();
                    if waited >= timeout {
                        return Err(LockError::Locked {
                            environment: environment.to_owned(),
                            path,
                            holder_gone: holder.as_deref().is_some_and(LockInfo::is_gone),
                            holder,
                            waited: if timeout.is_zero() {
                                Duration::ZERO
                            } else {
                                waited
                            },
                        });
                    }
                    std::thread::sleep(POLL.min(timeout - waited));
                }
                Err(source) => return Err(io_err("create", source)),
            }
        }
    }
}

/// A held state lock. Dropping it releases the lock (if it is still ours).
#[derive(Debug)]
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct LockGuard {
    path: PathBuf,
    environment: String,
    info: LockInfo,
    released: bool,
}

impl LockGuard {
    /// The id `dmgmt unlock` needs to break this lock.
    pub fn id(&self) -> &str {
        &self.info.id
    }

    #[cfg(test)]
    pub(crate) fn info(&self) -> &LockInfo {
        &self.info
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the lock file still holds this guard's lock: [`LockError::Lost`] if it was broken
    /// (and maybe taken by another run) meanwhile. A run that lost its lock must stop writing.
    pub(crate) fn check(&self) -> Result<(), LockError> {
        match read_lock(&self.path) {
            LockFile::Held(info) if info.id == self.info.id => Ok(()),
            LockFile::Held(other) => Err(self.lost(Some(Box::new(other)))),
            LockFile::Missing | LockFile::Unreadable => Err(self.lost(None)),
        }
    }

    /// [`check`](Self::check) for another thread (the state journal's writer): an owned copy
    /// that never releases the lock, with the failure as its message.
    pub(crate) fn checker(&self) -> impl FnMut() -> Result<(), String> + Send + 'static {
        let copy = LockGuard {
            path: self.path.clone(),
            environment: self.environment.clone(),
            info: self.info.clone(),
            released: true,
        };
        move || copy.check().map_err(|e| crate::Error::from(e).to_string())
    }

    fn lost(&self, holder: Option<Box<LockInfo>>) -> LockError {
        LockError::Lost {
            environment: self.environment.clone(),
            path: self.path.clone(),
            holder,
        }
    }

    /// Removes the lock file. Fails with [`LockError::Lost`] (removing nothing) if the lock was
    /// broken while held, and with [`LockError::Io`] if the file cannot be removed.
    #[cfg(test)]
    pub(crate) fn release(mut self) -> Result<(), LockError> {
        self.released = true;
        self.remove_if_ours()
    }

    fn remove_if_ours(&self) -> Result<(), LockError> {
        let lost = |holder| self.lost(holder);
        match read_lock(&self.path) {
            LockFile::Held(info) if info.id == self.info.id => match fs::remove_file(&self.path) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Err(lost(None)),
                Err(source) => Err(LockError::Io {
                    action: "remove",
                    path: self.path.clone(),
                    source,
                }),
            },
            LockFile::Held(other) => Err(lost(Some(Box::new(other)))),
            LockFile::Missing | LockFile::Unreadable => Err(lost(None)),
        }
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        if !self.released {
            // Nothing to report to from a drop; a lost lock is only reported by `release`.
            let _ = self.remove_if_ours();
        }
    }
}

/// Breaks the lock of `environment`, but only if it holds `lock_id`, and (unless `force`) only
/// if its holder is not a process still running on this host; returns who held it.
pub(crate) fn unlock(
    state_dir: &Path,
    environment: &str,
    lock_id: &str,
    force: bool,
) -> Result<LockInfo, LockError> {
    let path = lock_path(state_dir, environment);
    match read_lock(&path) {
        LockFile::Missing => Err(LockError::NotLocked {
            environment: environment.to_owned(),
            path,
        }),
        LockFile::Unreadable => Err(LockError::Unreadable {
            environment: environment.to_owned(),
            path,
        }),
        LockFile::Held(info) if info.id == lock_id.trim() && !force && info.is_alive_here() => {
            Err(LockError::HolderAlive {
                environment: environment.to_owned(),
                path,
                holder: Box::new(info),
            })
        }
        LockFile::Held(info) if info.id == lock_id.trim() => match fs::remove_file(&path) {
            // Released by its holder meanwhile: the lock is gone either way.
            Ok(()) => Ok(info),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(info),
            Err(source) => Err(LockError::Io {
                action: "remove",
                path,
                source,
            }),
        },
        LockFile::Held(holder) => Err(LockError::WrongId {
            environment: environment.to_owned(),
            path,
            given: lock_id.to_owned(),
            holder: Box::new(holder),
        }),
    }
}

/// Creates the lock file, failing if it exists; owner-only like everything under `state/`.
fn new_lock_file(path: &Path) -> io::Result<fs::File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// What a lock file says.
enum LockFile {
    Missing,
    Held(LockInfo),
    /// Unreadable, or not a dmgmt lock.
    Unreadable,
}

/// Reads the lock at `path`. A file just created by another run may not hold its content yet, so
/// an unparseable one is read again a few times (100 ms in all) before it counts as unreadable.
fn read_lock(path: &Path) -> LockFile {
    for attempt in 0..5 {
        match fs::read(path) {
            Ok(bytes) => {
                if let Ok(info) = serde_json::from_slice::<LockInfo>(&bytes) {
                    return LockFile::Held(info);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => return LockFile::Missing,
            Err(_) => return LockFile::Unreadable,
        }
        if attempt < 4 {
            std::thread::sleep(Duration::from_millis(25));
        }
    }
    LockFile::Unreadable
}

#[cfg(test)]
#[path = "lock_tests.rs"]
mod tests;
