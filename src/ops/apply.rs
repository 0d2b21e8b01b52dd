//! `apply` (DESIGN.md §5): take the lock, refresh, plan — or check a saved plan — and, once the
//! CLI has shown the plan and had it approved, refuse guarded deletes, write the pre-apply
//! backup, execute through [`crate::apply`] recording every change in the state's journal (one
//! synced line per change, see `src/state/journal.rs`), write the state once at the end, prune
//! old backups. Never prints; the audit line is [`audit_record`]'s.
//!
//! Split in two ([`prepare`] and [`run`]) because the confirmation prompt sits between them, and
//! the lock must be held from the refresh the plan was computed from to the last state write.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::live::{self, RefreshObserver};
use super::plan::{SavedPlan, StateRef, make_plan, prior_from_state, scope};
use super::recorder::{Recorder, Writes, open_journal};
use super::refresh::declared_guards;
use super::saved::{Now, departures, staleness};
use super::{Connection, Context};
use crate::apply::{ApplyObserver, ApplyReport, ExecuteOptions, Outcome};
use crate::error::{Error, ErrorKind, Result, exit};
use crate::model::{DesiredState, ResourceAddr, Snapshot};
use crate::plan::{Action, Change};
use crate::state::audit::{AuditChange, AuditRecord};
use crate::state::backup::{self, BackupInfo, BackupObject, Trigger};
use crate::state::journal::JournalWriter;
use crate::state::{LockGuard, ResourceState, StateFile, StateStore};

/// Everything between the refresh and the approval: the lock, the state and live project the
/// plan was computed from, and the plan.
pub(crate) struct Prepared {
    _lock: LockGuard,
    store: StateStore,
    state: Option<StateFile>,
    connection: Connection,
    snapshot: Snapshot,
    /// The plan to apply (computed now, or the saved plan, checked fresh).
    pub(crate) saved: SavedPlan,
    /// Whether the plan came from a `PLAN_FILE` (it is then its own approval).
    pub(crate) from_file: bool,
    started: Instant,
}

/// Takes the lock, refreshes and plans; with `saved`, checks that the saved plan still describes
/// exactly what an apply would do, and refuses it, saying why, when it does not.
pub(crate) async fn prepare(
    ctx: &Context<'_>,
    desired: &DesiredState,
    targets: &[ResourceAddr],
    saved: Option<SavedPlan>,
    observer: &dyn RefreshObserver,
) -> Result<Prepared> {
    let started = Instant::now();
    let lock = super::acquire_lock(
        &ctx.state_dir,
        &desired.environment,
        "apply",
        ctx.lock_timeout,
    )
    .await?;
    let store = StateStore::new(&ctx.state_dir, &desired.environment);
    let state = store.load_for(&desired.project_id)?;
    let connection = Connection::open(desired, ctx).await?;
    let snapshot = live::refresh(
        &connection.client,
        &scope(desired, state.as_ref()),
        observer,
    )
    .await?;
    let from_file = saved.is_some();
    let state_ref = state.as_ref().map(|s| StateRef {
        lineage: s.lineage.clone(),
        serial: s.serial,
    });
    let prior = prior_from_state(
        state
            .as_ref()
            .map(|s| s.resources.clone())
            .unwrap_or_default(),
    );
    let saved = match saved {
        Some(saved) => {
            let now = Now {
                environment: &desired.environment,
                project_id: &desired.project_id,
                state: state.as_ref(),
                config_digest: &super::config_digest(desired)?,
                snapshot: &snapshot,
            };
            checked_saved_plan(saved, &now, |targets| {
                make_plan(desired, &snapshot, state_ref, &prior, targets, false)
            })?
        }
        None => make_plan(desired, &snapshot, state_ref, &prior, targets, false)?,
    };
    Ok(Prepared {
        _lock: lock,
        store,
        state,
        connection,
        snapshot,
        saved,
        from_file,
        started,
    })
}

/// A saved plan, once it is known to be neither stale nor anything but what dmgmt plans from its
/// inputs now: `plan_now` plans again from the same configuration, state and live project
/// (planning is deterministic), with the saved plan's targets, and every saved change must be
/// exactly one of that plan's, with the same dependencies. The drift, unmanaged objects and
/// counts shown are the new plan's.
fn checked_saved_plan(
    mut saved: SavedPlan,
    now: &Now<'_>,
    plan_now: impl FnOnce(&[ResourceAddr]) -> Result<SavedPlan>,
) -> Result<SavedPlan> {
    let hint = || {
        format!(
            "make and review a new plan: `dmgmt plan -e {} --out FILE`",
            now.environment
        )
    };
    let why = staleness(&saved, now);
    if !why.is_empty() {
        let error =
            Error::config("the saved plan is stale: applying it would not do what was approved");
        return Err(why.into_iter().fold(error, Error::cause).hint(hint()));
    }
    let fresh = plan_now(&saved.targets)?;
    let why = departures(&saved.plan, &fresh.plan);
    if !why.is_empty() {
        let error = Error::config(
            "the saved plan is not what dmgmt plans from its inputs: it was edited, or made by another dmgmt; nothing was applied",
        );
        return Err(why.into_iter().fold(error, Error::cause).hint(hint()));
    }
    saved.plan.summary = crate::plan::summarize(&saved.plan.changes);
    saved.plan.drift = fresh.plan.drift;
    saved.plan.unmanaged = fresh.plan.unmanaged;
    Ok(saved)
}

/// Deletes refused without `--allow-delete`: in a protected environment, or of a resource with
/// `prevent_destroy` (DESIGN.md §5). Checked before anything is asked or applied.
pub(crate) fn check_guards(saved: &SavedPlan, allow_delete: bool) -> Result<()> {
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

/// How to run an approved plan.
pub(crate) struct ApplyOptions {
    pub(crate) allow_delete: bool,
    /// Calls in flight at once (default: the environment's `parallelism`).
    pub(crate) parallelism: Option<u32>,
}

/// What an apply did.
pub(crate) struct ApplyOutcome {
    pub(crate) report: ApplyReport,
    /// The pre-apply backup (`None`: nothing needed one, e.g. only state-side changes).
    pub(crate) backup: Option<BackupInfo>,
    /// Backups removed by retention afterwards.
    pub(crate) pruned: Vec<String>,
    /// The state's serial afterwards.
    pub(crate) serial: u64,
    pub(crate) duration: Duration,
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

/// Runs an approved plan: guards, the pre-apply backup (written and synced before the first
/// mutating call; if it cannot be written, nothing is applied), the executor, every successful
/// change journaled at once and the state written at the end (`.backup` keeps the state from
/// before the run), retention.
pub(crate) async fn run(
    prepared: Prepared,
    desired: &DesiredState,
    ctx: &Context<'_>,
    options: &ApplyOptions,
    stop: &AtomicBool,
    observer: &dyn ApplyObserver,
) -> Result<ApplyOutcome> {
    let Prepared {
        _lock,
        store,
        state,
        connection,
        snapshot,
        saved,
        started,
        ..
    } = prepared;
    check_guards(&saved, options.allow_delete)?;
    let mut state =
        state.unwrap_or_else(|| StateFile::new(&desired.environment, &desired.project_id));
    // The settings of the tenants the plan deletes are read now: they are in the backup, and if
    // they cannot be read, nothing is applied.
    let settings = super::tenant_settings::bodies_with_settings(
        &connection.client,
        &snapshot,
        &super::tenant_settings::touched(&saved.plan.changes),
        options.parallelism.unwrap_or(desired.parallelism).max(1) as usize,
    )
    .await
    .map_err(|e| {
        Error::from(e).hint("nothing was changed: the pre-apply backup must be written first")
    })?;
    let backup = super::tenant_settings::with_bodies(
        backup_objects(&snapshot, &state, &saved.plan.changes),
        &settings,
    );
    // The run starts from what it just read, as a refresh would record it: entries whose object
    // is gone leave the state, the others get their live attributes and ids, so drift already
    // shown in this plan is not shown again by the next one.
    super::refresh::record_live(&mut state, &snapshot, desired);
    execute_recorded(
        Run {
            store: &store,
            state,
            client: &connection.client,
            plan: &saved.plan,
            trigger: Trigger::PreApply,
            backup,
            record: &record,
            started,
            lock: &_lock,
        },
        desired,
        ctx,
        options,
        stop,
        observer,
    )
    .await
}

/// An approved plan with no change: the lock is held and the refresh is fresh, so the state still
/// records what it read — live attributes and ids, objects gone, and the `prevent_destroy` the
/// configuration declares now (a guard added to a resource already in sync protects it from a
/// later removal). Nothing is written when nothing moved, nor when no state exists yet. Returns
/// whether the state was written.
pub(crate) fn record_unchanged(prepared: Prepared, desired: &DesiredState) -> Result<bool> {
    let Prepared {
        _lock,
        store,
        state,
        snapshot,
        ..
    } = prepared;
    super::refresh::record_fresh(&store, state, &snapshot, desired)
}

/// What the state records once a change succeeded (see [`record`]).
pub(super) type RecordFn<'a> = dyn Fn(&mut StateFile, &Change, Option<&Value>) + Sync + 'a;

/// An approved plan, ready to run: where its state goes, what to back up first and how each
/// change is recorded. Shared by apply and restore, so both give the same guarantees.
pub(super) struct Run<'a> {
    pub(crate) store: &'a StateStore,
    pub(crate) state: StateFile,
    pub(crate) client: &'a crate::api::Client,
    pub(crate) plan: &'a crate::plan::Plan,
    pub(crate) trigger: Trigger,
    /// The live bodies the backup holds (written only when a change calls Descope).
    pub(crate) backup: Vec<BackupObject<'a>>,
    pub(crate) record: &'a RecordFn<'a>,
    pub(crate) started: Instant,
    /// The run's state lock: a run that lost it stops and writes no more.
    pub(crate) lock: &'a LockGuard,
}

/// Runs an approved plan (guards already checked): the backup (written and synced before the
/// first mutating call; if it cannot be written, nothing is changed), the executor, every
/// successful change appended to the journal and synced before the run goes on (the lock is
/// checked before each group of lines), the state written once at the end with the
/// `prevent_destroy` the configuration declares (`.backup` keeps the state from before the run;
/// the journal is removed), retention. A run stopped by a journal or lock failure leaves its
/// journal for the next command to fold in.
pub(super) async fn execute_recorded(
    run: Run<'_>,
    desired: &DesiredState,
    ctx: &Context<'_>,
    options: &ApplyOptions,
    stop: &AtomicBool,
    observer: &dyn ApplyObserver,
) -> Result<ApplyOutcome> {
    let Run {
        store,
        state,
        client,
        plan,
        trigger,
        backup: objects,
        record,
        started,
        lock,
    } = run;
    let backup = write_run_backup(ctx, desired, plan, trigger, &objects)?;
    store.hold_backup()?;
    let (journal, refreshed) = open_journal(store, &state, lock)?;

    let recorder = Recorder {
        state: Mutex::new(state),
        writes: Mutex::new(Writes {
            count: 0,
            pending: refreshed,
        }),
        journal: Mutex::new(Some(journal)),
        record,
        inner: observer,
        stop,
        error: Mutex::new(None),
        lock,
    };
    let parallelism = options.parallelism.unwrap_or(desired.parallelism).max(1) as usize;
    let report = crate::apply::execute(
        client,
        plan,
        &ExecuteOptions {
            parallelism,
            ..ExecuteOptions::default()
        },
        stop,
        &recorder,
    )
    .await;

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
    let mut report = report;
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
        duration: started.elapsed(),
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

/// The raw live bodies the pre-apply backup holds: every managed object (found by address, or
/// by Descope id after a rename outside dmgmt), every object a change touches, and every object
/// a change's cascades name (a tenant's unmanaged roles, the roles granting a deleted permission,
/// the tenants naming a deleted role as a default role): what the apply can reach, so that a
/// restore of this backup can bring it back.
fn backup_objects<'a>(
    snapshot: &'a Snapshot,
    state: &StateFile,
    changes: &[Change],
) -> Vec<BackupObject<'a>> {
    let by_id: HashMap<&str, &ResourceAddr> = snapshot
        .objects
        .iter()
        .filter_map(|(a, o)| Some((o.id.as_deref()?, a)))
        .collect();
    let mut wanted: BTreeSet<&ResourceAddr> = BTreeSet::new();
    let ids = state
        .resources
        .values()
        .filter_map(|r| r.id.as_deref())
        .chain(changes.iter().filter_map(|c| c.live_id.as_deref()));
    wanted.extend(ids.filter_map(|id| by_id.get(id).copied()));
    let addrs = state
        .resources
        .keys()
        .chain(changes.iter().map(|c| &c.addr))
        .chain(changes.iter().flat_map(|c| &c.cascades).map(|x| &x.addr));
    wanted.extend(addrs.filter_map(|a| snapshot.objects.get_key_value(a).map(|(k, _)| k)));
    wanted
        .into_iter()
        .filter_map(|addr| {
            snapshot
                .objects
                .get(addr)
                .map(|o| BackupObject { addr, body: &o.raw })
        })
        .collect()
}

/// What the state records once `change` succeeded: the entry is what Descope holds now (`live`,
/// read back or the body sent), in the attribute shape plans compare, with the managed fields,
/// the guard and Descope's id; a delete or forget removes it; a rename moves it.
pub(super) fn record(state: &mut StateFile, change: &Change, live: Option<&Value>) {
    if let Some(old) = &change.moved_from {
        state.resources.remove(old);
    }
    if matches!(change.action, Action::Delete | Action::Forget) {
        state.resources.remove(&change.addr);
        return;
    }
    if change.action == Action::SetSettings {
        // A settings object is no tenant body: the state does not model settings.
        return;
    }
    let Some(body) = live.or(change.after.as_ref()) else {
        return;
    };
    let Some(attributes) = live::attributes_of(change.kind(), body) else {
        return;
    };
    let mut entry = ResourceState::new(&change.addr, change.managed_fields.clone(), attributes);
    entry.prevent_destroy = change.prevent_destroy;
    entry.id = body
        .get("id")
        .and_then(Value::as_str)
        .filter(|id| {
            !id.is_empty()
                && matches!(
                    change.kind(),
                    crate::model::ResourceKind::Role | crate::model::ResourceKind::Permission
                )
        })
        .map(str::to_owned)
        .or_else(|| change.live_id.clone());
    state.resources.insert(change.addr.clone(), entry);
}

/// The audit line of one apply or restore (`command`; DESIGN.md §4): who, where, what each change came to, how long,
/// and the exit code. Never a secret: nothing here can hold the management key.
pub(crate) fn audit_record(
    command: &str,
    desired: &DesiredState,
    saved: Option<&SavedPlan>,
    report: Option<&ApplyReport>,
    duration: Duration,
    exit_code: i32,
) -> AuditRecord {
    let mut record = AuditRecord::new(&desired.environment, &desired.project_id, command);
    if let Some(saved) = saved {
        record.drift = saved
            .plan
            .drift
            .iter()
            .map(|d| d.addr.to_string())
            .collect();
        record.changes = saved
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
                    action: action_name(&c.action).to_owned(),
                    outcome: outcome.to_owned(),
                    error,
                }
            })
            .collect();
    }
    record.duration_ms = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
    record.exit_code = exit_code;
    record
}

fn action_name(action: &Action) -> &'static str {
    match action {
        Action::Create => "create",
        Action::Update => "update",
        Action::Rename { .. } => "rename",
        Action::Delete => "delete",
        Action::Adopt => "adopt",
        Action::SetDefaultRoles => "set_default_roles",
        Action::SetSettings => "set_settings",
        Action::Forget => "forget",
    }
}

/// An interrupted wait before anything was applied (Ctrl-C at the prompt or during the
/// refresh): nothing changed in Descope.
pub(crate) fn interrupted_before_applying() -> Error {
    Error::new(
        ErrorKind::Interrupted,
        "interrupted by Ctrl-C; nothing was applied",
    )
}
