//! Reading and writing `state/<env>.json` safely (docs/reference.md, "State and locking"), after
//! terraform's filesystem state manager and cargo's lock file writer.
//!
//! A load refuses anything it cannot trust (bad JSON, wrong digest, unknown format, another
//! environment or project) instead of guessing. A write is atomic (temp file in the same folder,
//! fsync, rename, fsync of the folder), keeps the previous version as `<env>.json.backup`, and
//! leaves the file alone when the content did not change. Taking the lock is the caller's job:
//! this module never locks and never decides what the state should contain.
//!
//! A run records its changes in `<env>.json.journal` (see [`super::journal`]) and writes the
//! state once at its end. Every load folds a journal a stopped run left behind into what it
//! returns, in memory: the file is not touched, so a command holding no lock (`plan`, `state
//! list`) can read it. [`load_for`](StateStore::load_for), which commands call under the lock,
//! then persists the fold (one write, the journal removed). Any write writes a folded state even
//! when its content equals it, and removes the journal once the new state is in place. A torn or
//! damaged tail is ignored with a note (`journal::take_notes`, which the CLI shows); a journal of
//! another lineage or project is refused.

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
    /// The bytes last read or written and the state they hold: when the file still holds these
    /// bytes and no journal lies beside it, a write need not parse and verify it again.
    known: Mutex<Option<Known>>,
    /// What folding a journal ignored, for the caller to show.
    notes: Mutex<Vec<String>>,
    /// Set by [`hold_backup`](Self::hold_backup): writes leave `.backup` as it is.
    backup_held: std::sync::atomic::AtomicBool,
    /// How often this store parsed the file.
    #[cfg(test)]
    parses: std::sync::atomic::AtomicU64,
}

#[derive(Debug)]
struct Known {
    /// The file's bytes (`None`: no file, only a journal).
    bytes: Option<Vec<u8>>,
    /// The state, with a leftover journal folded in.
    state: StateFile,
    /// A journal was folded in: the file does not hold `state` yet.
    pending: bool,
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
            notes: Mutex::new(Vec::new()),
            backup_held: std::sync::atomic::AtomicBool::new(false),
            #[cfg(test)]
            parses: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Starts a run (an apply or restore): `.backup` gets the state as it is now, and keeps it
    /// through every later write of this store, so it holds the state from before the run. Without a
    /// state yet there is nothing to keep.
    pub(crate) fn hold_backup(&self) -> Result<(), StateError> {
        let known = self.read_current()?;
        if let Some(Known {
            bytes: Some(bytes), ..
        }) = known.as_ref()
        {
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
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// `<state_dir>/<env>.json.journal`: the changes of a run not yet written into the state.
    pub(crate) fn journal_path(&self) -> PathBuf {
        super::journal::journal_path(&self.path)
    }

    /// What folding a journal ignored since the last call (a torn or damaged last line).
    #[cfg(test)]
    pub(crate) fn take_notes(&self) -> Vec<String> {
        std::mem::take(&mut *self.notes.lock().unwrap_or_else(|p| p.into_inner()))
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

    /// What [`load`](Self::load) gives, lent to `f` rather than copied.
    pub(crate) fn with_loaded<R>(
        &self,
        f: impl FnOnce(Option<&StateFile>) -> R,
    ) -> Result<R, StateError> {
        let known = self.read_current()?;
        Ok(f(known.as_ref().map(|k| &k.state)))
    }

    /// [`load`](Self::load) for a command that will not write: nothing is kept for a later
    /// write, so a large state is neither copied nor held twice. Check the project with
    /// [`check_project`](Self::check_project).
    pub(crate) fn read(&self) -> Result<Option<StateFile>, StateError> {
        let state = match self.read_bytes()? {
            Some(bytes) => Some(self.parse(&bytes)?),
            None => None,
        };
        Ok(self.fold_journal(state)?.0)
    }

    /// `state` with the journal beside it folded in, and whether there was one to fold.
    fn fold_journal(
        &self,
        state: Option<StateFile>,
    ) -> Result<(Option<StateFile>, bool), StateError> {
        let path = self.journal_path();
        let contents = super::journal::read(&path).map_err(|source| StateError::Read {
            path: path.clone(),
            source,
        })?;
        let Some(contents) = contents else {
            return Ok((state, false));
        };
        if let Some(note) = &contents.note {
            super::journal::push_note(note);
            let mut notes = self.notes.lock().unwrap_or_else(|p| p.into_inner());
            notes.push(note.clone());
        }
        match super::journal::fold_into(state, &self.environment, &contents) {
            // Even with nothing to add (empty, or already written in), a write removes it.
            Ok((state, _)) => Ok((state, true)),
            Err(super::journal::FoldError::Foreign(reason))
            | Err(super::journal::FoldError::Invalid(reason)) => {
                Err(StateError::Journal { path, reason })
            }
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
    /// The caller holds the lock: a journal a stopped run left is folded in and written (the
    /// state gets a new serial, the journal is removed).
    pub(crate) fn load_for(&self, project_id: &str) -> Result<Option<StateFile>, StateError> {
        let pending = {
            let known = self.read_current()?;
            known.as_ref().map(|k| (k.state.clone(), k.pending))
        };
        match pending {
            Some((state, pending)) => {
                let mut state = self.check_project(state, project_id)?;
                if pending {
                    self.write(&mut state)?;
                }
                Ok(Some(state))
            }
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
        self.write_advancing(state, 1)
    }

    /// [`write`](Self::write) for a run that recorded `writes` content changes in its journal:
    /// the serial moves by `writes` (at least 1), as it would have had each been written alone.
    pub(crate) fn write_advancing(
        &self,
        state: &mut StateFile,
        writes: u64,
    ) -> Result<WriteOutcome, StateError> {
        if state.environment != self.environment {
            return Err(StateError::WrongEnvironment {
                path: self.path.clone(),
                expected: self.environment.clone(),
                found: state.environment.clone(),
            });
        }
        // Written in place rather than from a copy (a copy of a large state costs more than the
        // write): a write that fails puts back what it changed, so `state` is as it was, but for
        // the normalisation, which keeps its meaning.
        let header = (
            state.format_version,
            state.serial,
            state.updated_at.clone(),
            state.dmgmt_version.clone(),
            state.digest.clone(),
        );
        state.format_version = FORMAT_VERSION;
        state.normalize_resources();
        let outcome = self.write_normalized(state, writes);
        if outcome.is_err() {
            (
                state.format_version,
                state.serial,
                state.updated_at,
                state.dmgmt_version,
                state.digest,
            ) = header;
        }
        outcome
    }

    fn write_normalized(
        &self,
        next: &mut StateFile,
        writes: u64,
    ) -> Result<WriteOutcome, StateError> {
        let mut known = self.read_current()?;
        let pending = known.as_ref().is_some_and(|k| k.pending);
        if let Some(Known { state: on_disk, .. }) = known.as_ref() {
            self.check_unmoved(on_disk, next)?;
            if !pending && on_disk.same_content(next) {
                // A journal beside it holds nothing the file lacks.
                self.remove_journal()?;
                *next = on_disk.clone();
                return Ok(WriteOutcome::Unchanged);
            }
        }

        next.serial += writes.max(1);
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
        if let Some(Known {
            bytes: Some(bytes), ..
        }) = known.as_ref().filter(|_| rotate)
        {
            let backup = self.backup_path();
            let staged_backup = self.stage(bytes, &backup)?;
            self.commit(staged_backup, &backup)?;
        }
        // From here on the file is in an unknown state until the rename is confirmed; and once
        // it is, the next read parses it again rather than this write keeping a copy of it.
        *known = None;
        self.commit(staged, &self.path)?;
        self.sync_dir()?;
        #[cfg(test)]
        WRITES.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        // The state now holds what the journal added: it goes. If this fails, the next load
        // finds it older than the state and ignores it.
        self.remove_journal()?;
        Ok(WriteOutcome::Written {
            serial: next.serial,
        })
    }

    /// Refuses a write over a file that someone else wrote since `next` was read from it.
    fn check_unmoved(&self, on_disk: &StateFile, next: &StateFile) -> Result<(), StateError> {
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
        Ok(())
    }

    fn remove_journal(&self) -> Result<(), StateError> {
        let path = self.journal_path();
        match fs::remove_file(&path) {
            Ok(()) => self.sync_dir(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(StateError::Write { path, source }),
        }
    }

    /// What the file holds now (`None` if there is no file), verified, with a leftover journal
    /// folded in; the returned guard is the store's cache, so what is read stays known for the
    /// next write.
    fn read_current(&self) -> Result<MutexGuard<'_, Option<Known>>, StateError> {
        // A panic while holding the cache cannot leave it wrong in a way that matters: its bytes
        // are compared with the file before they are trusted.
        let mut known = self
            .known
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let bytes = self.read_bytes()?;
        let journal = self.journal_path().exists();
        let unchanged = bytes.is_some()
            && known
                .as_ref()
                .is_some_and(|k| !k.pending && k.bytes == bytes);
        if unchanged && !journal {
            return Ok(known);
        }
        // A file unchanged since it was read is what the cache holds: only the journal is read
        // (a run's last write folds its own journal onto the state it started from).
        let state = match known.take() {
            Some(k) if unchanged => Some(k.state),
            _ => match &bytes {
                Some(bytes) => Some(self.parse(bytes)?),
                None => None,
            },
        };
        let (state, pending) = self.fold_journal(state)?;
        *known = state.map(|state| Known {
            bytes,
            state,
            pending,
        });
        Ok(known)
    }

    fn parse(&self, bytes: &[u8]) -> Result<StateFile, StateError> {
        #[cfg(test)]
        self.parses
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
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

/// Full writes of a state file by this process (tests count them).
#[cfg(test)]
pub(crate) static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
