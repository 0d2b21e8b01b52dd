//! `refresh`: read live state, report drift against the last state, and record it.

use std::collections::HashMap;

use super::Context;
use super::live::RefreshObserver;
use super::plan::{Vanished, prior_from_state};
use super::session::{Access, Recorded, Scope, Session};
use crate::error::{Result, exit};
use crate::model::{DesiredState, LiveObject, ResourceAddr, Snapshot};
use crate::plan::{Drift, PlanInput, drift, unmanaged};
use crate::state::audit::outcome;
use crate::state::{ResourceState, StateFile, WriteOutcome};

/// What a refresh found and wrote.
pub(crate) struct RefreshOutcome {
    pub(crate) drift: Vec<Drift>,
    /// Live objects neither declared nor in state.
    pub(crate) unmanaged: Vec<ResourceAddr>,
    pub(crate) written: WriteOutcome,
    pub(crate) serial: u64,
    /// Whether a state existed before (without one there is nothing to have drifted from).
    pub(crate) had_state: bool,
    /// 2 with `detailed_exitcode` when drift was found, else 0; 1 when refused.
    pub(crate) exit_code: i32,
    /// Most of what the state manages is gone from the live project and nothing was recorded
    /// (see [`refresh_environment`]).
    pub(crate) refused: Option<Vanished>,
}

/// Takes the lock, reads the live project, and writes what it found into the state: managed
/// objects get their live attributes (see [`record_live`]), objects deleted outside dmgmt leave the
/// state. Unmanaged objects are reported, never added. The audit line names the drift.
///
/// When all, or more than half, of the managed objects are gone (see [`Vanished`]), the likeliest
/// cause is a wrong `project_id` or `base_url` or a wiped project, not deletions: recording it
/// would empty the state, and the next plan would quietly create everything again. Nothing is
/// written then (the audit line's outcome is `refused`) unless `allow_mass_forget`.
pub(crate) async fn refresh_environment(
    ctx: &Context<'_>,
    desired: &DesiredState,
    detailed_exitcode: bool,
    allow_mass_forget: bool,
    observer: &dyn RefreshObserver,
) -> Result<Recorded<RefreshOutcome>> {
    let opening = ("refresh", Scope::Planned, Access::Write);
    let session = Session::open(ctx, desired, opening, observer).await?;
    let (held, state, snapshot) = (session.held, session.state, session.snapshot);
    let had_state = state.is_some();
    let mut state =
        state.unwrap_or_else(|| StateFile::new(&desired.environment, &desired.project_id));
    let prior = prior_from_state(state.resources.clone());
    let found = drift(&prior, &snapshot);
    let unmanaged = unmanaged(&PlanInput {
        desired,
        snapshot: &snapshot,
        prior: &prior,
        targets: &[],
    });

    let drifted = found.iter().map(|d| d.addr.to_string()).collect();
    let refused = Vanished::in_drift(prior.len(), &found).filter(|_| !allow_mass_forget);
    if refused.is_some() {
        let audit = held.finish(exit::FAILURE, |r| {
            r.drift = drifted;
            r.outcome = outcome::REFUSED.into();
        });
        let value = RefreshOutcome {
            drift: found,
            unmanaged,
            written: WriteOutcome::Unchanged,
            serial: state.serial,
            had_state,
            exit_code: exit::FAILURE,
            refused,
        };
        return Ok(Recorded { value, audit });
    }

    record_live(&mut state, &snapshot, desired);
    let written = held.store.write(&mut state)?;
    let exit_code = match detailed_exitcode && !found.is_empty() {
        true => exit::CHANGES,
        false => exit::SUCCESS,
    };
    let audit = held.finish(exit_code, |r| r.drift = drifted);
    let value = RefreshOutcome {
        drift: found,
        unmanaged,
        written,
        serial: state.serial,
        had_state,
        exit_code,
        refused: None,
    };
    Ok(Recorded { value, audit })
}

/// Records the live project into the state's entries: each managed object's live attributes and
/// Descope id — found under its address, or by that id when it was renamed outside dmgmt (the
/// entry keeps its address, so the next plan renames it back or follows the configuration instead
/// of planning a delete and a create) — and the `prevent_destroy` the configuration declares now,
/// so a guard added to a resource that is already in sync protects it once the resource is later
/// removed. Entries whose object is gone leave the state.
pub(super) fn record_live(state: &mut StateFile, snapshot: &Snapshot, desired: &DesiredState) {
    let by_id: HashMap<&str, &LiveObject> = snapshot
        .objects
        .values()
        .filter_map(|o| Some((o.id.as_deref()?, o)))
        .collect();
    let guarded = declared_guards(desired);
    state.resources.retain(|addr, entry| {
        let found = snapshot.get(addr).or_else(|| {
            let id = entry.id.as_deref()?;
            by_id.get(id).copied()
        });
        let Some(live) = found else {
            return false;
        };
        let mut updated =
            ResourceState::new(addr, entry.managed_fields.clone(), live.attributes.clone());
        updated.prevent_destroy = guarded.get(addr).copied().unwrap_or(entry.prevent_destroy);
        updated.id = live.id.clone().or(entry.id.take());
        *entry = updated;
        true
    });
}

/// `prevent_destroy` of every declared resource, by address.
pub(super) fn declared_guards(desired: &DesiredState) -> HashMap<ResourceAddr, bool> {
    let mut out = HashMap::new();
    out.extend(
        desired
            .permissions
            .iter()
            .map(|p| (p.addr(), p.prevent_destroy)),
    );
    out.extend(desired.roles.iter().map(|r| (r.addr(), r.prevent_destroy)));
    out.extend(
        desired
            .tenants
            .iter()
            .map(|t| (t.addr(), t.prevent_destroy)),
    );
    out.extend(desired.flows.iter().map(|f| (f.addr(), f.prevent_destroy)));
    out
}
