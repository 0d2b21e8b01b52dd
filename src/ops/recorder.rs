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
    // What the refresh changed since the file was read (borrowed from the store, not copied).
    let ops = store.with_loaded(|on_disk| match on_disk {
        Some(on_disk) => Op::between(on_disk, state),
        None => Op::between(
            &StateFile::new(&state.environment, &state.project_id),
            state,
        ),
    })?;
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
    /// Records `changes` in the state in memory and appends them to the journal as one line
    /// (state-only steps reported together cost one write). The serial counts each change that
    /// altered the state, as if each had been written alone.
    fn record_all(&self, changes: &[(ChangeId, &Change, Option<&Value>)]) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let mut ops = Vec::with_capacity(changes.len());
        let mut altered = Vec::with_capacity(changes.len());
        for &(_, change, live) in changes {
            // `record` touches the change's address and the one it moved from, nothing else.
            let touched: Vec<&ResourceAddr> =
                change.moved_from.iter().chain([&change.addr]).collect();
            let before: Vec<Option<ResourceState>> = touched
                .iter()
                .map(|a| state.resources.get(*a).cloned())
                .collect();
            (self.record)(&mut state, change, live);
            let changed = touched
                .iter()
                .zip(&before)
                .any(|(a, b)| state.resources.get(*a) != b.as_ref());
            altered.push(changed);
            ops.extend(touched.iter().map(|a| Op::at(&state, a)));
        }
        drop(state);
        let mut writes = self.writes.lock().unwrap_or_else(|p| p.into_inner());
        for changed in altered {
            if changed || writes.pending {
                writes.count += 1;
                writes.pending = false;
            }
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
        self.record_all(&[(id, change, live)]);
        self.inner.applied(id, change, live);
    }

    fn applied_together(&self, changes: &[(ChangeId, &Change, Option<&Value>)]) {
        self.record_all(changes);
        for &(id, change, live) in changes {
            self.inner.applied(id, change, live);
        }
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;
    use std::time::Duration;

    use serde_json::json;

    use super::*;
    use crate::apply::ApplyObserver;
    use crate::plan::Action;
    use crate::state::Lock;

    struct Silent;

    impl ApplyObserver for Silent {
        fn applied(&self, _: ChangeId, _: &Change, _: Option<&Value>) {}
        fn failed(&self, _: ChangeId, _: &Change, _: &ApiError) {}
        fn skipped(&self, _: ChangeId, _: &Change, _: ChangeId) {}
    }

    fn tenant(action: Action, id: &str) -> Change {
        let mut change = Change::bare(&format!("tenant.{id}"), action);
        let body = json!({"id": id, "name": format!("Tenant {id}")});
        change.before = Some(body.clone());
        change.after = Some(body);
        change.managed_fields = vec!["name".to_owned()];
        change
    }

    /// 1,000 adoptions reported together cost one journal line, a created tenant one more; the
    /// state file is not written while the run records; the serial counts every change.
    #[test]
    fn state_only_steps_reported_together_are_one_journal_line() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::new(dir.path(), "app");
        let state = StateFile::new("app", "P2abc");
        let lock = Lock::acquire(dir.path(), "app", "apply", Duration::ZERO).unwrap();
        let (journal, refreshed) = open_journal(&store, &state, &lock).unwrap();
        assert!(!refreshed);
        let stop = AtomicBool::new(false);
        let recorder = Recorder {
            state: Mutex::new(state),
            writes: Mutex::new(Writes {
                count: 0,
                pending: false,
            }),
            journal: Mutex::new(Some(journal)),
            record: &super::super::apply::record,
            inner: &Silent,
            stop: &stop,
            error: Mutex::new(None),
            lock: &lock,
        };
        let adopted: Vec<Change> = (0..1_000)
            .map(|i| tenant(Action::Adopt, &format!("t{i:04}")))
            .collect();
        let together: Vec<(ChangeId, &Change, Option<&Value>)> = adopted
            .iter()
            .enumerate()
            .map(|(i, c)| (ChangeId::new(i), c, c.before.as_ref()))
            .collect();
        recorder.applied_together(&together);
        let created = tenant(Action::Create, "new");
        recorder.applied(ChangeId::new(1_000), &created, created.after.as_ref());
        let journal = recorder.journal.lock().unwrap().take().unwrap();
        journal.finish().unwrap();

        let text = std::fs::read_to_string(store.journal_path()).unwrap();
        assert_eq!(
            text.lines().count(),
            2,
            "one line for the adoptions, one for the create"
        );
        assert!(
            !store.path().exists(),
            "no state file written while recording"
        );
        let state = recorder.state.lock().unwrap();
        assert_eq!(state.resources.len(), 1_001);
        assert_eq!(recorder.writes.lock().unwrap().count, 1_001);
        assert!(recorder.error.lock().unwrap().is_none());
    }
}
