//! Reading and writing `state/<env>.json` safely (DESIGN.md §4), after terraform's filesystem
//! state manager and cargo's lock file writer.
//!
//! A load refuses anything it cannot trust (bad JSON, wrong digest, unknown format, another
//! environment or project) instead of guessing. A write is atomic (temp file in the same folder,
//! fsync, rename, fsync of the folder), keeps the previous version as `<env>.json.backup`, and
//! leaves the file alone when the content did not change. Taking the lock is the caller's job:
//! this module never locks and never decides what the state should contain.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use serde_json::Value;

use super::atomic;
use super::canonical::{canonical_json, sha256_hex};
use super::error::{Backup, StateError, backup_path};
use super::file::{FORMAT_VERSION, StateFile};
use super::folder;
use super::system;

/// The state file of one environment in a state folder.
#[derive(Debug)]
pub struct StateStore {
    dir: PathBuf,
    environment: String,
    path: PathBuf,
    /// The bytes last read or written and the state they hold. An apply writes after every
    /// change; when the file still holds these bytes, a write need not parse and verify it again.
    known: Mutex<Option<Known>>,
    /// Set by [`hold_backup`](Self::hold_backup): writes leave `.backup` as it is.
    backup_held: std::sync::atomic::AtomicBool,
}

#[derive(Debug)]
struct Known {
    bytes: Vec<u8>,
    state: StateFile,
}

impl Clone for StateStore {
    fn clone(&self) -> Self {
        StateStore::new(self.dir.clone(), &self.environment)
    }
}

/// What [`StateStore::write`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    /// The content on disk was already the same: nothing was written, the serial did not move.
    Unchanged,
    /// The file now holds this serial.
    Written { serial: u64 },
}

impl StateStore {
    /// The store of `environment` in `state_dir` (usually `<project>/state`). Nothing is read yet.
    pub fn new(state_dir: impl Into<PathBuf>, environment: &str) -> Self {
        let mut dir: PathBuf = state_dir.into();
        if dir.as_os_str().is_empty() {
            dir = PathBuf::from(".");
        }
        let path = dir.join(format!("{environment}.json"));
        StateStore {
            dir,
            environment: environment.to_owned(),
            path,
            known: Mutex::new(None),
            backup_held: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Starts a run that writes many times (an apply persists after every change): `.backup`
    /// gets the state as it is now, and keeps it through every later write of this store, so it
    /// holds the state from before the run rather than the one before the last change. Without a
    /// state yet there is nothing to keep.
    pub(crate) fn hold_backup(&self) -> Result<(), StateError> {
        let known = self.read_current()?;
        if let Some(Known { bytes, .. }) = known.as_ref() {
            let backup = self.backup_path();
            let staged = self.stage(bytes, &backup)?;
            self.commit(staged, &backup)?;
            self.sync_dir()?;
        }
        self.backup_held
            .store(true, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }

    /// `<state_dir>/<env>.json`.
    #[cfg(test)]
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// `<state_dir>/<env>.json.backup`: the version before the last write.
    pub fn backup_path(&self) -> PathBuf {
        backup_path(&self.path)
    }

    /// The state, or `None` if it was never written. Refuses a file that is not valid JSON, does
    /// not match its digest, has another `format_version`, or belongs to another environment.
    pub fn load(&self) -> Result<Option<StateFile>, StateError> {
        let known = self.read_current()?;
        Ok(known.as_ref().map(|k| k.state.clone()))
    }

    /// [`load`](Self::load) for a command that will not write: nothing is kept for a later
    /// write, so a large state is neither copied nor held twice. Check the project with
    /// [`check_project`](Self::check_project).
    pub(crate) fn read(&self) -> Result<Option<StateFile>, StateError> {
        match self.read_bytes()? {
            Some(bytes) => self.parse(&bytes).map(Some),
            None => Ok(None),
        }
    }

    /// The file's bytes, or `None` if there is no file.
    fn read_bytes(&self) -> Result<Option<Vec<u8>>, StateError> {
        match fs::read(&self.path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(StateError::Read {
                path: self.path.clone(),
                source,
            }),
        }
    }

    /// [`load`](Self::load), and also refuses the state of another project.
    pub(crate) fn load_for(&self, project_id: &str) -> Result<Option<StateFile>, StateError> {
        match self.load()? {
            Some(state) => self.check_project(state, project_id).map(Some),
            None => Ok(None),
        }
    }

    /// Refuses the state of another project than `project_id`.
    pub(crate) fn check_project(
        &self,
        state: StateFile,
        project_id: &str,
    ) -> Result<StateFile, StateError> {
        if state.project_id != project_id {
            return Err(StateError::WrongProject {
                path: self.path.clone(),
                environment: self.environment.clone(),
                expected: project_id.to_owned(),
                found: state.project_id,
            });
        }
        Ok(state)
    }

    /// Persists `state` unless the file already holds the same content. On a write, `state` gets
    /// the new serial, `updated_at`, `dmgmt_version` and digests; on [`WriteOutcome::Unchanged`]
    /// it becomes exactly what is on disk.
    ///
    /// Refuses to overwrite a file it cannot load (restore it first), and a file written by
    /// someone else since `state` was loaded (another lineage or serial).
    pub fn write(&self, state: &mut StateFile) -> Result<WriteOutcome, StateError> {
        if state.environment != self.environment {
            return Err(StateError::WrongEnvironment {
                path: self.path.clone(),
                expected: self.environment.clone(),
                found: state.environment.clone(),
            });
        }
        let mut next = state.clone();
        next.format_version = FORMAT_VERSION;
        next.normalize_resources();
        let mut known = self.read_current()?;
        if let Some(Known { state: on_disk, .. }) = known.as_ref() {
            if on_disk.lineage != next.lineage {
                return Err(self.conflict(format!(
                    "it has lineage `{}`, the state being written has `{}`",
                    on_disk.lineage, next.lineage
                )));
            }
            if on_disk.serial != next.serial {
                return Err(self.conflict(format!(
                    "it is at serial {}, the state being written was read at serial {}",
                    on_disk.serial, next.serial
                )));
            }
            if on_disk.same_content(&next) {
                *state = on_disk.clone();
                return Ok(WriteOutcome::Unchanged);
            }
        }

        next.serial += 1;
        next.updated_at = system::now_rfc3339();
        next.dmgmt_version = env!("CARGO_PKG_VERSION").to_owned();
        next.seal();
        let text = next.render().map_err(|source| StateError::Encode {
            path: self.path.clone(),
            source,
        })?;

        folder::prepare(&self.dir).map_err(|source| StateError::Write {
            path: self.dir.clone(),
            source,
        })?;
        // The new version is complete on disk before anything else moves. Written owner-only
        // whatever the mode of the file it replaces (see `folder.rs`).
        let staged = self.stage(text.as_bytes(), &self.path)?;
        let rotate = !self.backup_held.load(std::sync::atomic::Ordering::SeqCst);
        if let Some(Known { bytes, .. }) = known.as_ref().filter(|_| rotate) {
            let backup = self.backup_path();
            let staged_backup = self.stage(bytes, &backup)?;
            self.commit(staged_backup, &backup)?;
        }
        // From here on the file is in an unknown state until the rename is confirmed.
        *known = None;
        self.commit(staged, &self.path)?;
        self.sync_dir()?;

        let serial = next.serial;
        *known = Some(Known {
            bytes: text.into_bytes(),
            state: next.clone(),
        });
        *state = next;
        Ok(WriteOutcome::Written { serial })
    }

    /// What the file holds now (`None` if there is no file), verified; the returned guard is the
    /// store's cache, so what is read stays known for the next write.
    fn read_current(&self) -> Result<MutexGuard<'_, Option<Known>>, StateError> {
        // A panic while holding the cache cannot leave it wrong in a way that matters: its bytes
        // are compared with the file before they are trusted.
        let mut known = self
            .known
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let Some(bytes) = self.read_bytes()? else {
            *known = None;
            return Ok(known);
        };
        if known.as_ref().is_some_and(|k| k.bytes == bytes) {
            return Ok(known);
        }
        *known = None;
        let state = self.parse(&bytes)?;
        *known = Some(Known { bytes, state });
        Ok(known)
    }

    fn parse(&self, bytes: &[u8]) -> Result<StateFile, StateError> {
        // Fast path: read straight into the typed state and hash the typed fields. It is taken
        // only when that digest matches, which (sha256 aside) means the file holds exactly what
        // was written; anything else, damage included, goes the whole way below, whose errors
        // are the ones reported.
        if let Ok(state) = serde_json::from_slice::<StateFile>(bytes)
            && state.format_version == FORMAT_VERSION
        {
            let (body, mismatch) = state.verify_digests();
            if body == state.digest {
                return match mismatch {
                    Some(reason) => Err(StateError::Invalid {
                        path: self.path.clone(),
                        backup: Backup::of(&self.path),
                        reason,
                    }),
                    None => self.accept(state, true),
                };
            }
        }
        let backup = || Backup::of(&self.path);
        let invalid = |reason: String| StateError::Invalid {
            path: self.path.clone(),
            backup: backup(),
            reason,
        };
        let mut doc: Value =
            serde_json::from_slice(bytes).map_err(|source| StateError::Unparseable {
                path: self.path.clone(),
                backup: backup(),
                source,
            })?;
        let Some(map) = doc.as_object_mut() else {
            return Err(invalid("the document is not a JSON object".into()));
        };
        // Checked before the digest: another format may hash differently.
        match map.get("format_version") {
            Some(v) if *v == FORMAT_VERSION => {}
            Some(v) => {
                return Err(StateError::UnsupportedVersion {
                    path: self.path.clone(),
                    found: v.to_string(),
                });
            }
            None => return Err(invalid("`format_version` is missing".into())),
        }
        let expected = match map.shift_remove("digest") {
            Some(Value::String(digest)) => digest,
            Some(_) => return Err(invalid("`digest` is not a string".into())),
            None => return Err(invalid("`digest` is missing".into())),
        };
        let found = sha256_hex(canonical_json(&doc));
        if found != expected {
            return Err(StateError::DigestMismatch {
                path: self.path.clone(),
                backup: backup(),
                expected,
                found,
            });
        }
        if let Some(map) = doc.as_object_mut() {
            map.insert("digest".into(), Value::String(expected));
        }
        let state: StateFile = serde_json::from_value(doc).map_err(|e| invalid(e.to_string()))?;
        self.accept(state, false)
    }

    /// The checks after the digest: every entry agrees with itself (its digest too, unless
    /// `digests_checked`), and the environment.
    fn accept(&self, state: StateFile, digests_checked: bool) -> Result<StateFile, StateError> {
        match digests_checked {
            true => state.check_shapes(),
            false => state.check_entries(),
        }
        .map_err(|reason| StateError::Invalid {
            path: self.path.clone(),
            backup: Backup::of(&self.path),
            reason,
        })?;
        if state.environment != self.environment {
            return Err(StateError::WrongEnvironment {
                path: self.path.clone(),
                expected: self.environment.clone(),
                found: state.environment,
            });
        }
        Ok(state)
    }

    fn conflict(&self, reason: String) -> StateError {
        StateError::Conflict {
            path: self.path.clone(),
            reason,
        }
    }

    /// Stages `bytes` for `target` in the state folder (see [`atomic::stage`]).
    fn stage(&self, bytes: &[u8], target: &Path) -> Result<tempfile::NamedTempFile, StateError> {
        atomic::stage(&self.dir, target, bytes, None).map_err(|source| StateError::Write {
            path: target.to_path_buf(),
            source,
        })
    }

    fn commit(&self, staged: tempfile::NamedTempFile, target: &Path) -> Result<(), StateError> {
        atomic::commit(staged, target).map_err(|source| StateError::Write {
            path: target.to_path_buf(),
            source,
        })
    }

    fn sync_dir(&self) -> Result<(), StateError> {
        atomic::sync_dir(&self.dir).map_err(|source| StateError::Write {
            path: self.dir.clone(),
            source,
        })
    }
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
