//! The one pipeline of `apply` and `restore`, a [`Planner`] the only difference between them:
//! [`prepare`] → (the CLI shows the plan) → [`Prepared::settle`] → (the CLI asks) →
//! [`Pending::run`], each end after the plan appending the audit line; see
//! `docs/architecture.md`. In steps because the prompt sits between them, and the lock is held
//! from the refresh the plan was computed from to the last state write. Never prints.

use std::sync::Mutex;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use serde_json::Value;

use super::live::RefreshObserver;
use super::plan::SavedPlan;
use super::recorder::{Recorder, Writes, open_journal};
use super::refresh::declared_guards;
use super::session::{Access, Failed, Recorded, Scope, Session, recorded};
use super::{Context, tenant_settings};
use crate::apply::{ApplyObserver, ApplyReport, ExecuteOptions, Outcome};
use crate::error::{Error, ErrorKind, Result, exit};
use crate::model::{DesiredState, Snapshot};
use crate::plan::Change;
use crate::state::StateFile;
use crate::state::audit::{AuditChange, AuditRecord, outcome};
use crate::state::backup::{self, BackupInfo, BackupObject, Trigger};
use crate::state::journal::JournalWriter;

/// What differs between an apply and a restore; everything else is this pipeline's.
pub(crate) trait Planner: Sync {
    /// `apply`, `restore`: as the lock and the audit line name the command.
    const COMMAND: &'static str;
    /// What the session reads of the live project.
    const SCOPE: Scope;
    /// The backup written before the first change.
    const TRIGGER: Trigger;

    /// The plan, from what the session read.
    async fn plan(&mut self, session: &Session<'_>) -> Result<SavedPlan>;

    /// Whether the plan is approved already (a saved plan is its own approval).
    fn approved(&self) -> bool {
        false
    }

    /// The live bodies the backup holds (before the tenant settings are added).
    fn backup<'s>(
        &self,
        snapshot: &'s Snapshot,
        state: &StateFile,
        changes: &[Change],
    ) -> Vec<BackupObject<'s>>;

    /// The state the run starts from, once the backup's objects are chosen.
    fn start(&self, _state: &mut StateFile, _snapshot: &Snapshot, _desired: &DesiredState) {}

    /// What the state records once `change` succeeded (`live`: what Descope answered).
    fn record(&self, state: &mut StateFile, change: &Change, live: Option<&Value>);

    /// The backup the audit line names whatever the run wrote (a restore's: the one restored from).
    fn restored_from(&self) -> Option<&str> {
        None
    }
}

/// Opens the session (lock, state, connection, refresh in the planner's scope) and plans. An
/// error here ends the command before it has anything to record: no audit line.
pub(crate) async fn prepare<'c, P: Planner>(
    ctx: &'c Context<'c>,
    desired: &'c DesiredState,
    mut planner: P,
    observer: &dyn RefreshObserver,
) -> Result<Prepared<'c, P>> {
    let opening = (P::COMMAND, P::SCOPE, Access::Write);
    let session = Session::open(ctx, desired, opening, observer).await?;
    let saved = planner.plan(&session).await?;
    Ok(Prepared {
        session,
        planner,
        saved,
    })
}

/// A plan, with the session it was computed in, to show.
pub(crate) struct Prepared<'c, P> {
    session: Session<'c>,
    pub(crate) planner: P,
    /// The plan (computed now, or a saved plan, checked fresh), in the saved-plan shape.
    pub(crate) saved: SavedPlan,
}

/// A shown plan: ended, or to run.
#[allow(clippy::large_enum_variant)] // one per command, returned once: its size costs nothing
pub(crate) enum Settled<'c, P> {
    /// Nothing was run and the audit line is appended. `Ok`: there was nothing to change (exit 0).
    Ended(std::result::Result<Recorded<i32>, Failed>),
    /// Changes the guards allow, to approve and run.
    Pending(Pending<'c, P>),
}

impl<'c, P: Planner> Prepared<'c, P> {
    /// Once the plan is shown. A plan with no change ends here: the lock is held and the refresh
    /// is fresh, so the state still records what it read — live attributes and ids, objects
    /// gone, and the `prevent_destroy` the configuration declares now (a guard added to a
    /// resource already in sync protects it from a later removal); nothing is written when
    /// nothing moved, nor when no state exists yet. Deletes the guards refuse without
    /// `allow_delete` end here too, before anything is asked.
    pub(crate) fn settle(mut self, allow_delete: bool) -> Settled<'c, P> {
        if self.saved.plan.changes.is_empty() {
            let written = self.session.record_fresh().map(|()| exit::SUCCESS);
            let code = written.as_ref().map_or_else(Error::exit_code, |c| *c);
            let outcome = if written.is_ok() {
                outcome::NO_CHANGES
            } else {
                ""
            };
            let audit = self.finish(code, None, outcome);
            return Settled::Ended(recorded(written, audit));
        }
        match check_guards(&self.saved, allow_delete) {
            Ok(()) => Settled::Pending(Pending(self)),
            Err(e) => Settled::Ended(Err(Pending(self).refuse(e))),
        }
    }

    /// Ends the command: the audit line holds the plan's drift, what each change came to in the
    /// run (`ran`, if it ran), the backup and the `outcome` (empty: the one `code` implies).
    fn finish(self, code: i32, ran: Option<&ApplyOutcome>, outcome: &str) -> Option<Box<Error>> {
        let backup = ran.and_then(|o| o.backup.as_ref()).map(|b| b.id.as_str());
        let backup = self.planner.restored_from().or(backup);
        let (saved, report) = (&self.saved, ran.map(|o| &o.report));
        self.session.held.finish(code, |r| {
            fill_audit(r, saved, report, backup);
            r.outcome = outcome.to_owned();
        })
    }
}

/// Changes the guards allow, to approve and run.
pub(crate) struct Pending<'c, P>(Prepared<'c, P>);

/// What a run did.
pub(crate) struct ApplyOutcome {
    pub(crate) report: ApplyReport,
    /// The run's backup (`None`: nothing needed one, e.g. only state-side changes).
    pub(crate) backup: Option<BackupInfo>,
    /// Backups removed by retention afterwards.
    pub(crate) pruned: Vec<String>,
    /// The state's serial afterwards.
    pub(crate) serial: u64,
    /// From the approval (the prompt's answer) to the end of the run.
    pub(crate) duration: Duration,
    /// dmgmt's own CPU time (all threads) while the changes ran, from the executor's start to
    /// its end (every change recorded): what the changes cost, without the run's once-only work
    /// (refresh, plan, backup, the guards, the final state write). `None` where it cannot be told.
    pub(crate) execution_cpu: Option<Duration>,
    /// A state write that failed during the run (the run stopped scheduling at once).
    pub(crate) state_error: Option<Error>,
}

impl ApplyOutcome {
    /// 1 when the state could not be written (its lock lost included), else 130 when
    /// interrupted, 1 when a change failed, else 0.
    pub(crate) fn exit_code(&self) -> i32 {
        if self.state_error.is_some() {
            exit::FAILURE
        } else if self.report.interrupted {
            exit::INTERRUPTED
        } else if self
            .report
            .outcomes
            .iter()
            .any(|o| !matches!(o, Outcome::Applied))
        {
            exit::FAILURE
        } else {
            exit::SUCCESS
        }
    }
}

impl<P: Planner> Pending<'_, P> {
    /// Whether someone must approve the plan before it runs (not a saved plan).
    pub(crate) fn needs_approval(&self) -> bool {
        !self.0.planner.approved()
    }

    /// Ends the command before anything ran (the prompt failed or was interrupted): the audit
    /// line records `error`, which is handed back.
    pub(crate) fn abandon(self, error: Error) -> Failed {
        let audit = self.0.finish(error.exit_code(), None, "");
        Failed { error, audit }
    }

    /// Ends the command before anything ran, refused (no one to ask, a guard): the audit line's
    /// outcome is `refused`.
    pub(crate) fn refuse(self, error: Error) -> Failed {
        let audit = self.0.finish(error.exit_code(), None, outcome::REFUSED);
        Failed { error, audit }
    }

    /// The answer at the prompt was not the one it expected; `why` says what it expected when
    /// the answer looks like a mistake rather than a no.
    pub(crate) fn cancel(self, why: Option<String>) -> Failed {
        let mut message = format!("{} cancelled; nothing was changed", P::COMMAND);
        if let Some(why) = why {
            message = format!("{message}: {why}");
        }
        let error = Error::new(ErrorKind::Config, message);
        let audit = self.0.finish(error.exit_code(), None, outcome::CANCELLED);
        Failed { error, audit }
    }

    /// Runs the approved plan (see the module docs) and appends the audit line. `parallelism`:
    /// calls in flight at once (default: the environment's).
    pub(crate) async fn run(
        mut self,
        parallelism: Option<u32>,
        stop: &AtomicBool,
        observer: &dyn ApplyObserver,
    ) -> std::result::Result<Recorded<ApplyOutcome>, Failed> {
        let parallelism = parallelism.unwrap_or(self.0.session.desired.parallelism);
        let state = self.0.session.state.take();
        // The run's duration counts from here, the approval: not the time spent at the prompt.
        let approved = std::time::Instant::now();
        let mut result =
            run_plan(&self.0, state, parallelism.max(1) as usize, stop, observer).await;
        if let Ok(ran) = &mut result {
            ran.duration = approved.elapsed();
        }
        let code = result
            .as_ref()
            .map_or_else(Error::exit_code, ApplyOutcome::exit_code);
        let outcome = if code == exit::SUCCESS {
            outcome::APPLIED
        } else {
            ""
        };
        let audit = self.0.finish(code, result.as_ref().ok(), outcome);
        recorded(result, audit)
    }
}

/// The run of an approved plan: the settings of the tenants it deletes or sets are read first
/// (they are in the backup; if they cannot be read, nothing is changed), the backup's objects
/// chosen, then the planner's starting state and [`execute_recorded`].
async fn run_plan<P: Planner>(
    prepared: &Prepared<'_, P>,
    state: Option<StateFile>,
    parallelism: usize,
    stop: &AtomicBool,
    observer: &dyn ApplyObserver,
) -> Result<ApplyOutcome> {
    let (session, planner, saved) = (&prepared.session, &prepared.planner, &prepared.saved);
    let (desired, snapshot) = (session.desired, &session.snapshot);
    let settings = tenant_settings::bodies_with_settings(
        &session.connection.client,
        snapshot,
        &tenant_settings::touched(&saved.plan.changes),
        parallelism,
    )
    .await
    .map_err(|e| {
        Error::from(e).hint(format!(
            "nothing was changed: the {} backup must be written first",
            P::TRIGGER
        ))
    })?;
    let mut state =
        state.unwrap_or_else(|| StateFile::new(&desired.environment, &desired.project_id));
    let objects = planner.backup(snapshot, &state, &saved.plan.changes);
    let backup = tenant_settings::with_bodies(objects, &settings);
    planner.start(&mut state, snapshot, desired);
    execute_recorded(prepared, state, &backup, parallelism, stop, observer).await
}

/// Deletes refused without `--allow-delete`: in a protected environment, or of a resource with
/// `prevent_destroy`. Checked before anything is asked or applied.
fn check_guards(saved: &SavedPlan, allow_delete: bool) -> Result<()> {
    if allow_delete {
        return Ok(());
    }
    let guarded: Vec<&Change> = saved
        .plan
        .changes
        .iter()
        .filter(|c| c.guard.is_some())
        .collect();
    if guarded.is_empty() {
        return Ok(());
    }
    let error = Error::config(format!(
        "refusing to destroy {} guarded resource{} without --allow-delete; nothing was applied",
        guarded.len(),
        if guarded.len() == 1 { "" } else { "s" }
    ));
    Err(guarded
        .iter()
        .fold(error, |e, c| {
            let why = match c.guard {
                Some(crate::plan::Guard::Protected) => "the environment is protected",
                _ => "prevent_destroy is set",
            };
            e.cause(format!("`{}`: {why}", c.addr))
        })
        .hint("if the deletes are intended, run the apply again with --allow-delete"))
}

/// A plan the executor cannot carry out: the planners never make one (checked in debug builds),
/// and a saved plan is checked when it is read, so this is dmgmt's own fault.
fn invalid_plan(e: crate::plan::InvalidPlan) -> Error {
    Error::internal("the plan cannot be carried out; nothing was applied").cause(e.to_string())
}

/// What the state records once a change succeeded (see [`Planner::record`]).
pub(super) type RecordFn<'a> = dyn Fn(&mut StateFile, &Change, Option<&Value>) + Sync + 'a;

/// Runs an approved plan (guards already checked) from `state`: the backup of `objects` (written
/// and synced before the first mutating call; if it cannot be written, nothing is changed), the
/// executor, every successful change appended to the journal and synced before the run goes on
/// (the lock is checked before each group of lines), the state written once at the end with the
/// `prevent_destroy` the configuration declares (`.backup` keeps the state from before the run;
/// the journal is removed), retention. A run stopped by a journal or lock failure leaves its
/// journal for the next command to fold in.
async fn execute_recorded<P: Planner>(
    prepared: &Prepared<'_, P>,
    state: StateFile,
    objects: &[BackupObject<'_>],
    parallelism: usize,
    stop: &AtomicBool,
    observer: &dyn ApplyObserver,
) -> Result<ApplyOutcome> {
    let (session, planner, saved) = (&prepared.session, &prepared.planner, &prepared.saved);
    let (ctx, desired, plan) = (session.ctx, session.desired, &saved.plan);
    let store = &session.held.store;
    let Some(lock) = &session.held.lock else {
        return Err(Error::internal("a read-only session cannot run changes"));
    };
    // Before the backup and the first call: the executor refuses such a plan too.
    plan.validate().map_err(invalid_plan)?;
    let backup = write_run_backup(ctx, desired, plan, P::TRIGGER, objects)?;
    store.hold_backup()?;
    let (journal, refreshed) = open_journal(store, &state, lock)?;

    let record = |state: &mut StateFile, change: &Change, live: Option<&Value>| {
        planner.record(state, change, live);
    };
    let recorder = Recorder {
        state: Mutex::new(state),
        writes: Mutex::new(Writes {
            count: 0,
            pending: refreshed,
        }),
        journal: Mutex::new(Some(journal)),
        record: &record,
        inner: observer,
        stop,
        error: Mutex::new(None),
        lock,
    };
    let options = ExecuteOptions {
        parallelism,
        ..ExecuteOptions::default()
    };
    let client = &session.connection.client;
    let cpu_before = crate::state::system::process_cpu_time();
    let report = crate::apply::execute(client, plan, &options, stop, &recorder).await;
    let execution_cpu = crate::state::system::process_cpu_time()
        .zip(cpu_before)
        .map(|(after, before)| after.saturating_sub(before));

    let (mut state, mut state_error, writes) = finish_recording(recorder, desired);
    // The serial moves as it would have had every change been written alone.
    let serial_moves = writes.count + u64::from(writes.pending);
    if state_error.is_none()
        && let Err(e) = lock.check().map_err(Error::from).and_then(|()| {
            store.write_advancing(&mut state, serial_moves)?;
            Ok(())
        })
    {
        state_error = Some(e);
    }
    // Stopped by its own error rather than by Ctrl-C: the error says why, not "interrupted".
    let mut report = report.map_err(invalid_plan)?;
    if state_error.is_some() {
        report.interrupted = false;
    }
    let pruned = match &backup {
        Some(_) => prune_backups(ctx, desired),
        None => Vec::new(),
    };
    Ok(ApplyOutcome {
        report,
        backup,
        pruned,
        serial: state.serial,
        duration: Duration::ZERO,
        execution_cpu,
        state_error,
    })
}

/// The backup a run writes before its first change (none when no change calls Descope): if it
/// cannot be written, nothing is changed.
fn write_run_backup(
    ctx: &Context<'_>,
    desired: &DesiredState,
    plan: &crate::plan::Plan,
    trigger: Trigger,
    objects: &[BackupObject<'_>],
) -> Result<Option<BackupInfo>> {
    if !plan.changes.iter().any(Change::calls_api) {
        return Ok(None);
    }
    let info = backup::write_backup(
        &ctx.state_dir,
        &desired.environment,
        &desired.project_id,
        trigger,
        objects,
    )
    .map_err(|e| {
        Error::from(e).hint(format!(
            "nothing was changed: the {trigger} backup must be written first"
        ))
    })?;
    Ok(Some(info))
}

/// Ends the run's recording: every journal line queued is written (or the run's error says why
/// not), and the guards declared now are set on every managed resource, changed or not. Returns
/// the state to write, the run's error and its count of state changes.
fn finish_recording(
    recorder: Recorder<'_>,
    desired: &DesiredState,
) -> (StateFile, Option<Error>, Writes) {
    let journal = recorder
        .journal
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take();
    if let Some(Err(message)) = journal.map(JournalWriter::finish) {
        recorder.fail(message);
    }
    let mut state = recorder
        .state
        .into_inner()
        .unwrap_or_else(|p| p.into_inner());
    let state_error = recorder
        .error
        .into_inner()
        .unwrap_or_else(|p| p.into_inner());
    let mut writes = recorder
        .writes
        .into_inner()
        .unwrap_or_else(|p| p.into_inner());
    for (addr, guarded) in declared_guards(desired) {
        if let Some(entry) = state.resources.get_mut(&addr) {
            writes.pending |= entry.prevent_destroy != guarded;
            entry.prevent_destroy = guarded;
        }
    }
    (state, state_error, writes)
}

/// Retention after a new backup: a failure to prune is no failure of the command that backed up.
pub(super) fn prune_backups(ctx: &Context<'_>, desired: &DesiredState) -> Vec<String> {
    backup::prune(
        &ctx.state_dir,
        &desired.environment,
        desired.backups,
        std::time::SystemTime::now(),
    )
    .unwrap_or_default()
}

/// What the audit line of an apply or a restore holds beside who, where, how long and how it
/// ended: the drift its plan found, what each change came to, and its backup. Never a secret:
/// nothing here can hold the management key.
fn fill_audit(
    record: &mut AuditRecord,
    saved: &SavedPlan,
    report: Option<&ApplyReport>,
    backup: Option<&str>,
) {
    record.drift = saved
        .plan
        .drift
        .iter()
        .map(|d| d.addr.to_string())
        .collect();
    record.changes = outcomes(saved, report);
    record.backup = backup.map(str::to_owned);
}

/// What each change of `saved` came to in `report` (`not_started` without one).
pub(crate) fn outcomes(saved: &SavedPlan, report: Option<&ApplyReport>) -> Vec<AuditChange> {
    saved
        .plan
        .iter()
        .map(|(id, c)| {
            let (outcome, error) = match report.and_then(|r| r.outcome(id)) {
                Some(Outcome::Applied) => ("applied", None),
                Some(Outcome::Failed(e)) => ("failed", Some(e.clone())),
                Some(Outcome::Skipped { .. }) => ("skipped", None),
                Some(Outcome::NotStarted) | None => ("not_started", None),
            };
            AuditChange {
                addr: c.addr.to_string(),
                action: c.action.name().to_owned(),
                outcome: outcome.to_owned(),
                error,
            }
        })
        .collect()
}
