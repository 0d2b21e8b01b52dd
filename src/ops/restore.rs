//! `restore`'s planner for the pipeline it shares with `apply` (`super::change`): check a backup,
//! then — in the session, which reads the whole live project — plan the changes that return it to
//! the backup's content (`plan::restore`). The run is an apply's: guards, a `pre-restore` backup
//! of everything live, the executor, every change journaled, the state written at the end,
//! retention. Never prints.
//!
//! The backup is verified and read before anything else: a damaged backup, or one of another
//! environment or project, is refused before the lock is taken and before any call to Descope.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use super::backup::everything;
use super::change::Planner;
use super::live;
use super::plan::SavedPlan;
use super::refresh::declared_guards;
use super::session::{Scope, Session};
use super::{Context, tenant_settings};
use crate::error::{Error, ErrorKind, Result};
use crate::model::{DesiredState, LiveObject, ResourceAddr, ResourceKind, Snapshot, attrs};
use crate::plan::{self, Action, Change, RestoreInput, TenantSettings};
use crate::state::backup::{self, BackupObject, Manifest, Trigger};
use crate::state::{ResourceState, StateFile};

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

/// Plans the changes that return the live project to a verified backup's content.
pub(crate) struct RestorePlanner<'a> {
    request: RestoreRequest<'a>,
    /// The verified manifest of the backup restored from.
    manifest: Manifest,
    objects: BTreeMap<ResourceAddr, LiveObject>,
    /// The backup's tenant settings (taken by the plan).
    settings: BTreeMap<String, serde_json::Map<String, Value>>,
    /// The managed fields and guard of every resource the configuration declares.
    declared: HashMap<ResourceAddr, (Vec<String>, bool)>,
}

impl<'a> RestorePlanner<'a> {
    /// Verifies and reads the backup: one that cannot be trusted is refused before the lock is
    /// taken and before any call to Descope.
    pub(crate) fn load(
        ctx: &Context<'_>,
        desired: &DesiredState,
        request: RestoreRequest<'a>,
    ) -> Result<Self> {
        let (manifest, bodies) = backup::load(
            &ctx.state_dir,
            &desired.environment,
            request.backup_id,
            &desired.project_id,
        )?;
        let (bodies, settings) = tenant_settings::split(bodies);
        let objects = backup_objects(request.backup_id, bodies)?;
        check_delete_unmanaged(&request, &manifest)?;
        Ok(RestorePlanner {
            request,
            manifest,
            objects,
            settings,
            declared: declared_fields(desired),
        })
    }

    pub(crate) fn manifest(&self) -> &Manifest {
        &self.manifest
    }
}

impl Planner for RestorePlanner<'_> {
    const COMMAND: &'static str = "restore";
    const SCOPE: Scope = Scope::Everything;
    const TRIGGER: Trigger = Trigger::PreRestore;

    /// The backup's tenant settings beside the live settings of those of its tenants that exist
    /// now, to compare; then `plan::restore`.
    async fn plan(&mut self, session: &Session<'_>) -> Result<SavedPlan> {
        let (desired, snapshot) = (session.desired, &session.snapshot);
        let saved = std::mem::take(&mut self.settings);
        let live_ids = saved.keys().filter(|id| {
            let addr = ResourceAddr::Tenant((*id).clone());
            snapshot.get(&addr).is_some()
        });
        let (client, parallelism) = (&session.connection.client, desired.parallelism.max(1));
        let live = tenant_settings::load(client, live_ids.cloned(), parallelism as usize);
        let settings = TenantSettings {
            live: live.await?,
            saved,
        };
        let plan = plan::restore(&RestoreInput {
            backup: &self.objects,
            complete: self.manifest.trigger != Trigger::PreApply,
            snapshot,
            prior: &session.prior(),
            protected: desired.protected,
            delete_unmanaged: self.request.delete_unmanaged,
            targets: self.request.targets,
            tenant_settings: &settings,
        })
        .map_err(|e| {
            e.hints()
                .into_iter()
                .fold(Error::config(e.to_string()), Error::hint)
        })?;
        Ok(SavedPlan {
            format_version: SavedPlan::FORMAT_VERSION,
            dmgmt_version: env!("CARGO_PKG_VERSION").to_owned(),
            environment: desired.environment.clone(),
            project_id: desired.project_id.clone(),
            config_digest: super::config_digest(desired)?,
            state: session.state_ref(),
            snapshot_digest: session.snapshot.digest.clone(),
            refresh_only: false,
            targets: Vec::new(),
            // A restore re-creates what is gone on purpose, from a backup chosen by name.
            vanished: None,
            plan,
        })
    }

    /// The whole live project (with the settings of the tenants the restore deletes or sets).
    fn backup<'s>(
        &self,
        snapshot: &'s Snapshot,
        _state: &StateFile,
        _changes: &[Change],
    ) -> Vec<BackupObject<'s>> {
        everything(snapshot)
    }

    fn record(&self, state: &mut StateFile, change: &Change, live: Option<&Value>) {
        record_restored(state, change, live, &self.declared);
    }

    fn restored_from(&self) -> Option<&str> {
        Some(self.request.backup_id)
    }
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
