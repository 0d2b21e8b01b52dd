//! `restore`: check a backup, take the lock, read the whole live project, plan the changes that
//! return it to the backup's content (`plan::restore`), and — once the CLI has shown the plan and
//! had it approved — run them exactly as an apply runs its plan: guards, a `pre-restore` backup
//! of everything live, the executor, every change journaled, the state written at the end,
//! retention. Never prints.
//!
//! The backup is verified and read before anything else: a damaged backup, or one of another
//! environment or project, is refused before the lock is taken and before any call to Descope.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use serde_json::Value;

use super::apply::{ApplyOptions, ApplyOutcome, Run, check_guards, execute_recorded};
use super::backup::everything;
use super::live::{self, RefreshObserver};
use super::plan::{SavedPlan, StateRef, prior_from_state};
use super::refresh::declared_guards;
use super::{Connection, Context, tenant_settings};
use crate::apply::ApplyObserver;
use crate::error::{Error, ErrorKind, Result};
use crate::model::{DesiredState, LiveObject, ResourceAddr, ResourceKind, Snapshot, attrs};
use crate::plan::{self, Action, Change, RestoreInput, TenantSettings};
use crate::state::backup::{self, Manifest, Trigger};
use crate::state::{LockGuard, ResourceState, StateFile, StateStore};

/// What to restore.
pub(crate) struct RestoreRequest<'a> {
    pub(crate) backup_id: &'a str,
    /// `--target`: only these objects and what they depend on.
    pub(crate) targets: &'a [ResourceAddr],
    /// `--delete-unmanaged`: also delete objects created since a complete backup that dmgmt does
    /// not manage. Refused for a pre-apply backup, which cannot tell them apart from objects
    /// that existed when it was taken.
    pub(crate) delete_unmanaged: bool,
}

/// Everything between the refresh and the approval: the lock, the backup, the live project and
/// the restore plan.
pub(crate) struct PreparedRestore {
    _lock: LockGuard,
    store: StateStore,
    state: Option<StateFile>,
    connection: Connection,
    snapshot: Snapshot,
    /// The restore plan, in the saved-plan shape every plan is shown in.
    pub(crate) saved: SavedPlan,
    /// The verified manifest of the backup restored from.
    pub(crate) manifest: Manifest,
    started: Instant,
}

/// Verifies and reads the backup (no call is made if it cannot be trusted), then takes the
/// lock, reads the whole live project and plans the restore.
pub(crate) async fn prepare(
    ctx: &Context<'_>,
    desired: &DesiredState,
    request: &RestoreRequest<'_>,
    observer: &dyn RefreshObserver,
) -> Result<PreparedRestore> {
    let started = Instant::now();
    let (manifest, bodies) = backup::load(
        &ctx.state_dir,
        &desired.environment,
        request.backup_id,
        &desired.project_id,
    )?;
    let (bodies, saved_settings) = tenant_settings::split(bodies);
    let saved_objects = backup_objects(request.backup_id, bodies)?;
    check_delete_unmanaged(request, &manifest)?;
    let lock = super::acquire_lock(
        &ctx.state_dir,
        &desired.environment,
        "restore",
        ctx.lock_timeout,
    )
    .await?;
    let store = StateStore::new(&ctx.state_dir, &desired.environment);
    let state = store.load_for(&desired.project_id)?;
    let connection = Connection::open(desired, ctx).await?;
    let snapshot = live::refresh_everything(
        &connection.client,
        desired.parallelism.max(1) as usize,
        observer,
    )
    .await?;
    let settings = settings_now(&connection, &snapshot, saved_settings, desired).await?;
    let prior = prior_from_state(
        state
            .as_ref()
            .map(|s| s.resources.clone())
            .unwrap_or_default(),
    );
    let plan = plan::restore(&RestoreInput {
        backup: &saved_objects,
        complete: manifest.trigger != Trigger::PreApply,
        snapshot: &snapshot,
        prior: &prior,
        protected: desired.protected,
        delete_unmanaged: request.delete_unmanaged,
        targets: request.targets,
        tenant_settings: &settings,
    })
    .map_err(|e| {
        e.hints()
            .into_iter()
            .fold(Error::config(e.to_string()), Error::hint)
    })?;
    let saved = SavedPlan {
        format_version: SavedPlan::FORMAT_VERSION,
        dmgmt_version: env!("CARGO_PKG_VERSION").to_owned(),
        environment: desired.environment.clone(),
        project_id: desired.project_id.clone(),
        config_digest: super::config_digest(desired)?,
        state: state.as_ref().map(|s| StateRef {
            lineage: s.lineage.clone(),
            serial: s.serial,
        }),
        snapshot_digest: snapshot.digest.clone(),
        refresh_only: false,
        targets: Vec::new(),
        plan,
    };
    Ok(PreparedRestore {
        _lock: lock,
        store,
        state,
        connection,
        snapshot,
        saved,
        manifest,
        started,
    })
}

/// `--delete-unmanaged` needs a complete backup: a pre-apply backup holds only what dmgmt managed
/// or changed when it was taken, so an object it lacks may have existed then. Refused before the
/// lock is taken or anything is read.
fn check_delete_unmanaged(request: &RestoreRequest<'_>, manifest: &Manifest) -> Result<()> {
    if !request.delete_unmanaged || manifest.trigger != Trigger::PreApply {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::Usage,
        format!(
            "`--delete-unmanaged` cannot be used with backup `{}`: a pre-apply backup holds only what dmgmt managed or changed when it was taken, so an object it lacks may have existed then",
            request.backup_id
        ),
    )
    .hint("run the restore without `--delete-unmanaged`: objects dmgmt does not manage are kept, objects dmgmt created since are deleted")
    .hint("to delete objects created since, restore a complete backup (`dmgmt backup`, or the `pre-restore` one)"))
}

/// The backup's tenant settings beside the live settings of those of its tenants that exist
/// now, to compare.
async fn settings_now(
    connection: &Connection,
    snapshot: &Snapshot,
    saved: BTreeMap<String, serde_json::Map<String, Value>>,
    desired: &DesiredState,
) -> Result<TenantSettings> {
    let live_ids: Vec<String> = saved
        .keys()
        .filter(|id| snapshot.get(&ResourceAddr::Tenant((*id).clone())).is_some())
        .cloned()
        .collect();
    let live = tenant_settings::load(
        &connection.client,
        live_ids,
        desired.parallelism.max(1) as usize,
    )
    .await?;
    Ok(TenantSettings { saved, live })
}

/// The backup's bodies as refresh would have read them. A body that is not an object of its kind
/// (a flow without its document) cannot be put back: refused before anything is called.
fn backup_objects(
    id: &str,
    bodies: Vec<(ResourceAddr, crate::model::RawBody)>,
) -> Result<BTreeMap<ResourceAddr, LiveObject>> {
    let mut out = BTreeMap::new();
    let mut problems = Vec::new();
    for (addr, raw) in bodies {
        let body = raw.to_value();
        let kind = addr.kind();
        let document = match kind {
            ResourceKind::Flow => Some("flow"),
            ResourceKind::Theme => Some("theme"),
            _ => None,
        };
        let attributes = live::attributes_of(kind, &body)
            .filter(|_| document.is_none_or(|top| body.get(top).is_some_and(Value::is_object)));
        let Some(attributes) = attributes else {
            problems.push(format!("`{addr}` is not a {kind} dmgmt can restore"));
            continue;
        };
        let id = matches!(kind, ResourceKind::Role | ResourceKind::Permission)
            .then(|| body.get("id").and_then(Value::as_str).map(str::to_owned))
            .flatten();
        let mut object = live::object(attributes, raw, id);
        object.system_default = body.get("systemDefault") == Some(&Value::Bool(true));
        out.insert(addr, object);
    }
    if problems.is_empty() {
        return Ok(out);
    }
    let error = Error::config(format!(
        "backup `{id}` holds objects that cannot be restored; nothing was changed"
    ));
    Err(problems.into_iter().fold(error, Error::cause))
}

/// Runs an approved restore plan: the deletion guards, the `pre-restore` backup of the whole live
/// project, then the same executor, state recording and retention as an apply.
pub(crate) async fn run(
    prepared: PreparedRestore,
    desired: &DesiredState,
    ctx: &Context<'_>,
    options: &ApplyOptions,
    stop: &AtomicBool,
    observer: &dyn ApplyObserver,
) -> Result<ApplyOutcome> {
    let PreparedRestore {
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
    // The settings of the tenants the restore deletes or sets go into the pre-restore backup.
    let settings = tenant_settings::bodies_with_settings(
        &connection.client,
        &snapshot,
        &tenant_settings::touched(&saved.plan.changes),
        options.parallelism.unwrap_or(desired.parallelism).max(1) as usize,
    )
    .await
    .map_err(|e| {
        Error::from(e).hint("nothing was changed: the pre-restore backup must be written first")
    })?;
    let state = state.unwrap_or_else(|| StateFile::new(&desired.environment, &desired.project_id));
    let managed = declared_fields(desired);
    let record = |state: &mut StateFile, change: &Change, live: Option<&Value>| {
        record_restored(state, change, live, &managed);
    };
    execute_recorded(
        Run {
            store: &store,
            state,
            client: &connection.client,
            plan: &saved.plan,
            trigger: Trigger::PreRestore,
            backup: tenant_settings::with_bodies(everything(&snapshot), &settings),
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

/// The managed fields and `prevent_destroy` of every resource the configuration declares.
fn declared_fields(desired: &DesiredState) -> HashMap<ResourceAddr, (Vec<String>, bool)> {
    let guards = declared_guards(desired);
    attrs::desired(desired)
        .into_iter()
        .map(|(addr, attributes)| {
            let fields = attributes
                .as_object()
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default();
            let guarded = guards.get(&addr).copied().unwrap_or(false);
            (addr, (fields, guarded))
        })
        .collect()
}

/// What the state records once a restore change succeeded: a deleted object leaves it; a
/// restored one that the state holds gets what Descope holds now, keeping its managed fields and
/// guard; one the configuration declares is recorded as managed with the declared fields; any
/// other stays unmanaged.
fn record_restored(
    state: &mut StateFile,
    change: &Change,
    live: Option<&Value>,
    declared: &HashMap<ResourceAddr, (Vec<String>, bool)>,
) {
    let previous = change
        .moved_from
        .as_ref()
        .and_then(|old| state.resources.remove(old))
        .or_else(|| state.resources.get(&change.addr).cloned());
    if change.action.is_delete() {
        state.resources.remove(&change.addr);
        return;
    }
    if change.action == Action::SetSettings {
        // A settings object is no tenant body: the state does not model settings.
        return;
    }
    let (fields, guarded, old_id) = match (&previous, declared.get(&change.addr)) {
        (Some(entry), _) => (
            entry.managed_fields.clone(),
            entry.prevent_destroy,
            entry.id.clone(),
        ),
        (None, Some((fields, guarded))) => (fields.clone(), *guarded, None),
        (None, None) => return,
    };
    let Some(body) = live.or(change.after.as_ref()) else {
        return;
    };
    let Some(attributes) = live::attributes_of(change.kind(), body) else {
        return;
    };
    let mut entry = ResourceState::new(&change.addr, fields, attributes);
    entry.prevent_destroy = guarded;
    if matches!(change.kind(), ResourceKind::Role | ResourceKind::Permission) {
        // A created object's id is the one read back; otherwise the live object's, which a
        // restored body (from the backup) may not carry.
        let body_id = body
            .get("id")
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty())
            .map(str::to_owned);
        entry.id = match change.action {
            Action::Create => body_id,
            _ => change.live_id.clone().or(body_id),
        }
        .or(old_id);
    }
    state.resources.insert(change.addr.clone(), entry);
}

/// A restore plan with no change: what the refresh read is still recorded in the state, guards
/// included, as an apply without changes does (see `refresh::record_fresh`).
pub(crate) fn record_unchanged(prepared: PreparedRestore, desired: &DesiredState) -> Result<bool> {
    let PreparedRestore {
        _lock,
        store,
        state,
        snapshot,
        ..
    } = prepared;
    super::refresh::record_fresh(&store, state, &snapshot, desired)
}

/// The audit line of a restore: the apply's, with the backup restored from.
pub(crate) fn audit_record(
    desired: &DesiredState,
    prepared: &SavedPlan,
    backup_id: &str,
    report: Option<&crate::apply::ApplyReport>,
    code: i32,
) -> crate::state::AuditRecord {
    let mut record = super::apply::audit_record(
        "restore",
        desired,
        Some(prepared),
        report,
        std::time::Duration::ZERO,
        code,
    );
    record.backup = Some(backup_id.to_owned());
    record
}
