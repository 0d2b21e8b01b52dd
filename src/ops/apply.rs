//! `apply`'s planner for the pipeline it shares with `restore` (`super::change`): the plan of
//! the configuration against what the session refreshed — or a saved plan, checked fresh — the
//! pre-apply backup's objects, the state the run starts from and what it records of each change.

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

use super::change::Planner;
use super::live;
use super::plan::{SavedPlan, make_plan};
use super::saved::{Now, departures, staleness};
use super::session::{Scope, Session};
use crate::error::{Error, Result};
use crate::model::{DesiredState, ResourceAddr, Snapshot};
use crate::plan::{Action, Change};
use crate::state::backup::{BackupObject, Trigger};
use crate::state::{ResourceState, StateFile};

/// Plans the configuration, or checks a saved plan (`PLAN_FILE`, then its own approval).
pub(crate) struct ApplyPlanner<'a> {
    /// `--target`: only these objects and what they depend on.
    targets: &'a [ResourceAddr],
    saved: Option<SavedPlan>,
    from_file: bool,
}

impl<'a> ApplyPlanner<'a> {
    pub(crate) fn new(targets: &'a [ResourceAddr], saved: Option<SavedPlan>) -> Self {
        let from_file = saved.is_some();
        ApplyPlanner {
            targets,
            saved,
            from_file,
        }
    }
}

impl Planner for ApplyPlanner<'_> {
    const COMMAND: &'static str = "apply";
    const SCOPE: Scope = Scope::Planned;
    const TRIGGER: Trigger = Trigger::PreApply;

    /// With a saved plan, checks that it still describes exactly what an apply would do, and
    /// refuses it, saying why, when it does not.
    async fn plan(&mut self, session: &Session<'_>) -> Result<SavedPlan> {
        let (desired, snapshot) = (session.desired, &session.snapshot);
        let prior = session.prior();
        let plan_now = |targets: &[ResourceAddr]| {
            make_plan(
                desired,
                snapshot,
                session.state_ref(),
                &prior,
                targets,
                false,
            )
        };
        match self.saved.take() {
            Some(saved) => {
                let now = Now {
                    environment: &desired.environment,
                    project_id: &desired.project_id,
                    state: session.state.as_ref(),
                    config_digest: &super::config_digest(desired)?,
                    snapshot,
                };
                checked_saved_plan(saved, &now, plan_now)
            }
            None => plan_now(self.targets),
        }
    }

    fn approved(&self) -> bool {
        self.from_file
    }

    fn backup<'s>(
        &self,
        snapshot: &'s Snapshot,
        state: &StateFile,
        changes: &[Change],
    ) -> Vec<BackupObject<'s>> {
        backup_objects(snapshot, state, changes)
    }

    /// The run starts from what it just read, as a refresh would record it: entries whose
    /// object is gone leave the state, the others get their live attributes and ids, so drift
    /// already shown in this plan is not shown again by the next one.
    fn start(&self, state: &mut StateFile, snapshot: &Snapshot, desired: &DesiredState) {
        super::refresh::record_live(state, snapshot, desired);
    }

    fn record(&self, state: &mut StateFile, change: &Change, live: Option<&Value>) {
        record(state, change, live);
    }
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
    saved.vanished = fresh.vanished;
    Ok(saved)
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
