//! The session of one command that changes things (see `docs/architecture.md`): opened once, it
//! takes the state lock, loads the state (folding in a journal a stopped run left), connects and
//! reads the live project in the scope the command needs, and owns all of it until the command
//! ends with its audit line, appended once by [`Held::finish`] while the lock is still held. A
//! read-only session takes no lock and writes nothing.

use std::path::{Path, PathBuf};
use std::time::Instant;

use super::live::{self, RefreshObserver};
use super::plan::{StateRef, prior_from_state, scope};
use super::{Connection, Context};
use crate::error::{Error, Result, exit};
use crate::model::{DesiredState, ResourceAddr, Snapshot};
use crate::plan::Prior;
use crate::state::audit::{self, AuditRecord};
use crate::state::{Lock, LockGuard, LockInfo, StateFile, StateStore};

/// What a command's outcome is once its audit line is appended: the outcome, and why the line is
/// missing when it could not be written (the command itself is done: shown, never fatal).
pub(crate) struct Recorded<T> {
    pub(crate) value: T,
    pub(crate) audit: Option<Box<Error>>,
}

/// A command's error, and why its audit line is missing if one was due and could not be written.
pub(crate) struct Failed {
    pub(crate) error: Error,
    pub(crate) audit: Option<Box<Error>>,
}

impl From<Error> for Failed {
    /// An error before the command had anything to record (no audit line is due).
    fn from(error: Error) -> Self {
        Failed { error, audit: None }
    }
}

/// `result` once its command's audit line is appended (`audit`: why it is missing, if it is).
pub(super) fn recorded<T>(
    result: Result<T>,
    audit: Option<Box<Error>>,
) -> std::result::Result<Recorded<T>, Failed> {
    match result {
        Ok(value) => Ok(Recorded { value, audit }),
        Err(error) => Err(Failed { error, audit }),
    }
}

/// What a command holds from its start to its end: the state lock (none when read-only), the
/// state store, and its audit line (`src/state/audit.rs`), begun when the command starts.
pub(crate) struct Held {
    pub(super) lock: Option<LockGuard>,
    pub(super) store: StateStore,
    pub(super) audit: AuditRecord,
    /// When the command began.
    pub(super) started: Instant,
    state_dir: PathBuf,
}

impl Held {
    /// Takes the lock of `environment` for `command` (waiting up to the context's timeout), unless
    /// the command only reads (`writes: false`).
    pub(super) async fn take(
        ctx: &Context<'_>,
        environment: &str,
        project_id: &str,
        command: &str,
        writes: bool,
    ) -> Result<Held> {
        let audit = AuditRecord::new(environment, project_id, command);
        let started = Instant::now();
        let (dir, timeout) = (&ctx.state_dir, ctx.lock_timeout);
        let lock = match writes {
            true => Some(acquire_lock(dir, environment, command, timeout).await?),
            false => None,
        };
        Ok(Held {
            lock,
            store: StateStore::new(dir, environment),
            audit,
            started,
            state_dir: dir.clone(),
        })
    }

    /// The state of `project_id`: with the lock, a journal a stopped run left is folded in and
    /// written; without it, read only.
    fn load_state(&self, project_id: &str) -> Result<Option<StateFile>> {
        if self.lock.is_some() {
            return Ok(self.store.load_for(project_id)?);
        }
        match self.store.read()? {
            Some(state) => Ok(Some(self.store.check_project(state, project_id)?)),
            None => Ok(None),
        }
    }

    /// Ends the command: its audit line, with `exit_code` and what `fill` adds (its changes, drift,
    /// backup), is appended while the lock is still held; then the lock is released.
    pub(super) fn finish(
        mut self,
        exit_code: i32,
        fill: impl FnOnce(&mut AuditRecord),
    ) -> Option<Box<Error>> {
        fill(&mut self.audit);
        append(&self.state_dir, &mut self.audit, self.started, exit_code)
    }
}

/// Appends `record` with `exit_code` and the time since `started`; returns why it could not be
/// (the command itself is done).
fn append(
    state_dir: &Path,
    record: &mut AuditRecord,
    started: Instant,
    exit_code: i32,
) -> Option<Box<Error>> {
    record.exit_code = exit_code;
    if record.outcome.is_empty() {
        record.outcome = audit::outcome::of_exit_code(exit_code).to_owned();
    }
    record.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let appended = audit::append(state_dir, record);
    appended.err().map(|e| {
        let e = Error::from(e).hint("the command itself is done; its audit line is missing");
        Box::new(e)
    })
}

/// What the session reads of the live project.
pub(crate) enum Scope {
    /// What the configuration or the state manages (`apply`, `refresh`).
    Planned,
    /// Everything, managed or not (`restore`, `import`, `backup`).
    Everything,
}

/// What a session may do with the state.
#[derive(PartialEq)]
pub(super) enum Access {
    /// Take the lock; the state must load.
    Write,
    /// Take the lock; a state that cannot be read is left alone (a backup of the live project
    /// needs none).
    WriteIfReadable,
    /// No lock, and nothing is written (`import` without `--write`).
    Read,
}

/// One command's session (see the module docs): commands borrow what it holds.
pub(crate) struct Session<'c> {
    pub(super) ctx: &'c Context<'c>,
    pub(super) desired: &'c DesiredState,
    pub(super) held: Held,
    /// `None`: no state yet (or, when not required, none that could be read).
    pub(super) state: Option<StateFile>,
    pub(super) connection: Connection,
    pub(super) snapshot: Snapshot,
}

impl<'c> Session<'c> {
    /// Takes the lock for `command` (unless read-only), loads the state, connects and reads the
    /// live project (`reads`).
    pub(super) async fn open(
        ctx: &'c Context<'c>,
        desired: &'c DesiredState,
        (command, reads, access): (&str, Scope, Access),
        observer: &dyn RefreshObserver,
    ) -> Result<Session<'c>> {
        let (env, project_id) = (&desired.environment, &desired.project_id);
        let writes = access != Access::Read;
        let held = Held::take(ctx, env, project_id, command, writes).await?;
        let state = match held.load_state(project_id) {
            Ok(state) => state,
            Err(_) if access == Access::WriteIfReadable => None,
            Err(e) => return Err(e),
        };
        observer.reading();
        let connection = Connection::open(desired, ctx).await?;
        let (client, parallelism) = (&connection.client, desired.parallelism.max(1) as usize);
        let snapshot = match reads {
            Scope::Planned => {
                live::refresh(client, &scope(desired, state.as_ref()), observer).await
            }
            Scope::Everything => live::refresh_everything(client, parallelism, observer).await,
        }?;
        Ok(Session {
            ctx,
            desired,
            held,
            state,
            connection,
            snapshot,
        })
    }

    /// The state the plan is computed against.
    pub(super) fn state_ref(&self) -> Option<StateRef> {
        self.state.as_ref().map(|s| StateRef {
            lineage: s.lineage.clone(),
            serial: s.serial,
        })
    }

    /// The planner's view of the state.
    pub(super) fn prior(&self) -> std::collections::BTreeMap<ResourceAddr, Prior> {
        let resources = self.state.as_ref().map(|s| s.resources.clone());
        prior_from_state(resources.unwrap_or_default())
    }

    /// What a command that holds the lock records from its fresh read even when it changes
    /// nothing in Descope (an apply or a restore with no change, a backup): `refresh::record_live`
    /// into the state, written when that moved anything. Nothing is written when no state exists,
    /// nor when most of what the state manages is gone from the live project (a wrong
    /// `project_id` or `base_url` rather than deletions: only `refresh --allow-mass-forget`
    /// records that; see `refresh::refresh_environment`).
    pub(super) fn record_fresh(&mut self) -> Result<()> {
        let Some(mut state) = self.state.take() else {
            return Ok(());
        };
        // Addresses missing live bound what drift calls gone (a renamed object is found by id):
        // only when they are most of the state is the drift worked out.
        let missing = state
            .resources
            .keys()
            .filter(|a| !self.snapshot.objects.contains_key(*a))
            .count();
        if super::plan::Vanished::of(state.resources.len(), missing).is_some() {
            let prior = prior_from_state(state.resources.clone());
            let found = crate::plan::drift(&prior, &self.snapshot);
            if super::plan::Vanished::in_drift(prior.len(), &found).is_some() {
                self.state = Some(state);
                return Ok(());
            }
        }
        super::refresh::record_live(&mut state, &self.snapshot, self.desired);
        self.held.store.write(&mut state)?;
        Ok(())
    }
}

/// Takes the state lock from async work without blocking it: a wait for a held lock
/// (`--lock-timeout`) runs on the blocking pool, so Ctrl-C can end the command meanwhile. Dropped
/// while waiting (Ctrl-C), a lock taken afterwards is released at once: the guard is dropped with
/// the result nobody awaits.
async fn acquire_lock(
    state_dir: &Path,
    environment: &str,
    operation: &str,
    timeout: std::time::Duration,
) -> Result<LockGuard> {
    if timeout.is_zero() {
        // No wait: nothing to hand to another thread.
        return Ok(Lock::acquire(state_dir, environment, operation, timeout)?);
    }
    let (dir, env, op) = (
        state_dir.to_owned(),
        environment.to_owned(),
        operation.to_owned(),
    );
    tokio::task::spawn_blocking(move || Lock::acquire(&dir, &env, &op, timeout))
        .await
        .map_err(|e| Error::internal("the wait for the state lock failed").caused_by(&e))?
        .map_err(Error::from)
}

/// `dmgmt unlock`: breaks the lock of `environment` if it holds `lock_id` (see
/// [`crate::state::unlock`]); its audit line says who held it.
pub(crate) fn break_lock(
    state_dir: &Path,
    environment: &str,
    lock_id: &str,
    force: bool,
) -> Result<Recorded<LockInfo>> {
    let info = crate::state::unlock(state_dir, environment, lock_id, force)?;
    let state = StateStore::new(state_dir, environment).load();
    let project_id = state.ok().flatten().map(|s| s.project_id);
    let mut record = AuditRecord::new(environment, &project_id.unwrap_or_default(), "unlock");
    record.broke_lock = Some(info.holder());
    let audit = append(state_dir, &mut record, Instant::now(), exit::SUCCESS);
    Ok(Recorded { value: info, audit })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::{Value, json};

    use super::*;
    use crate::ops::live::Quiet;
    use crate::state::journal::{JournalWriter, Op};
    use crate::state::{ResourceState, lock_path};

    const ENV: &str = "dev";
    const PROJECT: &str = "P2testExampleProjectId00001";

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn context(state_dir: &Path) -> Context<'static> {
        Context {
            state_dir: state_dir.to_owned(),
            env: &no_env,
            lock_timeout: Duration::ZERO,
            http_log: None,
        }
    }

    /// An environment on the embedded emulator, its data in the state folder.
    fn desired() -> DesiredState {
        serde_json::from_value(json!({
            "environment": ENV, "project_id": PROJECT,
            "management_key": null, "base_url": null, "emulator": true, "protected": false,
            "rate_limit": null, "parallelism": 4, "backups": {"retention_days": 30, "keep_min": 5},
            "permissions": [], "roles": [], "tenants": [], "flows": [], "theme": null
        }))
        .unwrap()
    }

    fn opening(access: Access) -> (&'static str, Scope, Access) {
        ("import", Scope::Everything, access)
    }

    fn audit_lines(state_dir: &Path) -> Vec<Value> {
        std::fs::read_to_string(audit::audit_path(state_dir))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// A state file and, beside it, the journal of a run stopped after recording `tenant.acme`.
    fn state_with_journal(store: &StateStore) {
        let mut state = StateFile::new(ENV, PROJECT);
        store.write(&mut state).unwrap();
        let mut journal = JournalWriter::create(
            &store.journal_path(),
            &state,
            Box::new(|file: &std::fs::File| file.sync_data()),
            Box::new(|| Ok(())),
        )
        .unwrap();
        let addr = ResourceAddr::Tenant("acme".into());
        let entry = ResourceState::new(&addr, vec!["name".into()], json!({"name": "Acme"}));
        let op = Op::Put {
            addr: addr.to_string(),
            entry,
        };
        journal.append(vec![op]).unwrap();
        journal.finish().unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_read_only_session_takes_no_lock_and_leaves_the_journal_to_the_next_writer() {
        let dir = tempfile::tempdir().unwrap();
        let state_dir = dir.path().join("state");
        let (ctx, desired) = (context(&state_dir), desired());
        let store = StateStore::new(&state_dir, ENV);
        state_with_journal(&store);
        let before = std::fs::read(store.path()).unwrap();
        let acme = ResourceAddr::Tenant("acme".into());

        let session = Session::open(&ctx, &desired, opening(Access::Read), &Quiet)
            .await
            .unwrap();
        assert!(!lock_path(&state_dir, ENV).exists());
        // Anyone may take the lock meanwhile: the session holds none.
        drop(Lock::acquire(&state_dir, ENV, "apply", Duration::ZERO).unwrap());
        let state = session.state.as_ref().unwrap();
        assert!(state.resources.contains_key(&acme), "the journal is read");
        assert!(session.held.lock.is_none(), "nothing can run in it");
        drop(session);
        assert_eq!(
            std::fs::read(store.path()).unwrap(),
            before,
            "nothing written"
        );
        assert!(store.journal_path().exists());
        assert!(audit_lines(&state_dir).is_empty());

        // A writing session holds the lock and folds the journal in for good.
        let session = Session::open(&ctx, &desired, opening(Access::Write), &Quiet)
            .await
            .unwrap();
        assert!(lock_path(&state_dir, ENV).exists());
        assert!(Lock::acquire(&state_dir, ENV, "apply", Duration::ZERO).is_err());
        assert!(!store.journal_path().exists());
        let written = store.load().unwrap().unwrap();
        assert!(written.resources.contains_key(&acme));
        assert!(session.held.finish(exit::SUCCESS, |_| {}).is_none());
        assert!(!lock_path(&state_dir, ENV).exists(), "released at the end");
        assert_eq!(audit_lines(&state_dir).len(), 1);
    }

    #[tokio::test]
    async fn a_command_ends_with_one_audit_line_holding_how_it_ended() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = context(dir.path());
        // A command that fails before it has anything to record appends nothing.
        let take = |command| Held::take(&ctx, ENV, PROJECT, command, true);
        drop(take("refresh").await.unwrap());
        assert!(audit_lines(dir.path()).is_empty());

        let error = Error::config("boom");
        let held = take("refresh").await.unwrap();
        let audit = held.finish(error.exit_code(), |r| r.drift = vec!["tenant.x".into()]);
        let failed = recorded::<()>(Err(error), audit).err().unwrap();
        assert_eq!(failed.error.message(), "boom");
        assert!(failed.audit.is_none());
        let lines = audit_lines(dir.path());
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert_eq!(lines[0]["command"], "refresh");
        assert_eq!(lines[0]["environment"], ENV);
        assert_eq!(lines[0]["project_id"], PROJECT);
        assert_eq!(lines[0]["exit_code"], exit::FAILURE);
        assert_eq!(lines[0]["drift"], json!(["tenant.x"]));
        assert!(!lock_path(dir.path(), ENV).exists());

        let held = take("backup").await.unwrap();
        let audit = held.finish(exit::SUCCESS, |r| r.backup = Some("b1".into()));
        assert_eq!(recorded(Ok(7), audit).ok().unwrap().value, 7);
        let lines = audit_lines(dir.path());
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1]["exit_code"], exit::SUCCESS);
        assert_eq!(lines[1]["backup"], "b1");
    }

    #[tokio::test]
    async fn an_audit_line_that_cannot_be_written_is_handed_back_and_the_lock_released() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = context(dir.path());
        std::fs::create_dir_all(audit::audit_path(dir.path())).unwrap();
        let held = Held::take(&ctx, ENV, PROJECT, "state rm", true)
            .await
            .unwrap();
        let missing = held.finish(exit::SUCCESS, |_| {}).unwrap();
        assert!(
            missing
                .hints()
                .iter()
                .any(|h| h.contains("audit line is missing")),
            "{missing:?}"
        );
        assert!(!lock_path(dir.path(), ENV).exists());
    }
}
