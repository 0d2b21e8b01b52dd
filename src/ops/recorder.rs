//! Recording an apply or restore as it runs: each change the executor reports applied is
//! recorded in the state in memory and appended to the state's journal (`src/state/journal.rs`),
//! synced by the journal's own thread before the run goes on; the state file is written once at
//! the end of the run by [`super::change`].

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::Value;

use super::change::RecordFn;
use crate::api::ApiError;
use crate::apply::ApplyObserver;
use crate::error::{Error, ErrorKind, Result};
use crate::model::ResourceAddr;
use crate::plan::{Change, ChangeId};
use crate::state::journal::{JournalWriter, Op};
use crate::state::{LockGuard, ResourceState, StateFile, StateStore};

/// Opens the run's journal beside the state, its first line holding what the run starts from
/// that the file does not (what the refresh recorded). Lines are synced by a thread of their own,
/// which checks before each group that the run still holds `lock`.
/// Also returns whether that first line was needed.
pub(super) fn open_journal(
    store: &StateStore,
    state: &StateFile,
    lock: &LockGuard,
) -> Result<(JournalWriter, bool)> {
    let on_disk = store
        .load()?
        .unwrap_or_else(|| StateFile::new(&state.environment, &state.project_id));
    let path = store.journal_path();
    let guard = lock.checker();
    let mut journal = JournalWriter::create(
        &path,
        state,
        Box::new(|file: &std::fs::File| file.sync_data()),
        Box::new(guard),
    )
    .map_err(|source| {
        Error::new(
            ErrorKind::State,
            format!("cannot create the state journal `{}`", path.display()),
        )
        .caused_by(&source)
        .hint("nothing was applied; if a stopped run left this file, any dmgmt command that reads the state folds it in")
    })?;
    let ops = Op::between(&on_disk, state);
    let refreshed = !ops.is_empty();
    if refreshed {
        journal
            .append(ops)
            .map_err(|e| Error::new(ErrorKind::State, e))?;
    }
    Ok((journal, refreshed))
}

/// How many writes the state would have had, written after every change that altered it (each
/// moves the serial by one).
pub(super) struct Writes {
    pub(super) count: u64,
    /// A change of content not counted yet (what the refresh recorded, the guards).
    pub(super) pending: bool,
}

/// Records every change the executor reports applied (one line appended to the state's journal,
/// synced by the journal's thread before the run goes on: [`ApplyObserver::settle`]), then passes
/// every event on. A line that cannot be written, or a lost lock, stops the run (nothing more is
/// scheduled). The state file itself is written once, at the end of the run.
pub(super) struct Recorder<'a> {
    pub(super) state: Mutex<StateFile>,
    pub(super) writes: Mutex<Writes>,
    /// `None` once the run is over.
    pub(super) journal: Mutex<Option<JournalWriter>>,
    pub(super) record: &'a RecordFn<'a>,
    pub(super) inner: &'a dyn ApplyObserver,
    pub(super) stop: &'a AtomicBool,
    pub(super) error: Mutex<Option<Error>>,
    pub(super) lock: &'a LockGuard,
}

impl Recorder<'_> {
    /// Stops the run with the journal's failure: the lost lock when that is why.
    pub(super) fn fail(&self, message: String) {
        let error = match self.lock.check() {
            Err(lost) => lost.into(),
            Ok(()) => Error::new(ErrorKind::State, message).hint(
                "the change was applied in Descope but may not be recorded; run `dmgmt refresh` once the state can be written",
            ),
        };
        self.stop.store(true, Ordering::SeqCst);
        let mut slot = self.error.lock().unwrap_or_else(|p| p.into_inner());
        slot.get_or_insert(error);
    }
}

impl ApplyObserver for Recorder<'_> {
    fn started(&self, id: ChangeId, change: &Change) {
        self.inner.started(id, change);
    }

    fn applied(&self, id: ChangeId, change: &Change, live: Option<&Value>) {
        {
            let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
            // `record` touches the change's address and the one it moved from, nothing else.
            let touched: Vec<&ResourceAddr> =
                change.moved_from.iter().chain([&change.addr]).collect();
            let before: Vec<Option<ResourceState>> = touched
                .iter()
                .map(|a| state.resources.get(*a).cloned())
                .collect();
            (self.record)(&mut state, change, live);
            let altered = touched
                .iter()
                .zip(&before)
                .any(|(a, b)| state.resources.get(*a) != b.as_ref());
            let ops: Vec<Op> = touched.iter().map(|a| Op::at(&state, a)).collect();
            drop(state);
            let mut writes = self.writes.lock().unwrap_or_else(|p| p.into_inner());
            if altered || writes.pending {
                writes.count += 1;
                writes.pending = false;
            }
            drop(writes);
            let appended = match self
                .journal
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .as_mut()
            {
                Some(journal) => journal.append(ops),
                None => Err("the state journal is closed".to_owned()),
            };
            if let Err(message) = appended {
                self.fail(message);
            }
        }
        self.inner.applied(id, change, live);
    }

    fn failed(&self, id: ChangeId, change: &Change, error: &ApiError) {
        self.inner.failed(id, change, error);
    }

    fn skipped(&self, id: ChangeId, change: &Change, blocked_by: ChangeId) {
        self.inner.skipped(id, change, blocked_by);
    }

    fn note(&self, message: &str) {
        self.inner.note(message);
    }

    fn settle(&self) -> futures_util::future::BoxFuture<'_, ()> {
        let durable = self
            .journal
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(JournalWriter::durable);
        Box::pin(async move {
            if let Some(Err(message)) = match durable {
                Some(durable) => Some(durable.await),
                None => None,
            } {
                self.fail(message);
            }
        })
    }
}
