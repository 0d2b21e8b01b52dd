//! `plan`: refresh without writing, then the pure planner; and the saved-plan document that
//! `--out` and `--json` print and `apply PLAN_FILE` will check for staleness.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::live::{self, RefreshObserver, RefreshScope};
use super::{Connection, Context};
use crate::error::{Error, Result};
use crate::model::{DesiredState, ResourceAddr, Snapshot};
use crate::plan::{self, Plan, PlanInput, Prior};
use crate::state::{Lineage, StateFile, StateStore, canonical_json, sha256_hex};

/// The state a plan was computed against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateRef {
    pub lineage: Lineage,
    pub serial: u64,
}

/// A plan as saved with `--out` (and printed with `--json`): everything apply needs to check that
/// nothing moved since. Deterministic: no timestamps, so the same inputs give the same bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedPlan {
    pub format_version: u32,
    pub dmgmt_version: String,
    pub environment: String,
    pub project_id: String,
    /// sha256 of the canonical desired state (config and filled templates).
    pub config_digest: String,
    /// `None`: no state existed.
    pub state: Option<StateRef>,
    /// sha256 of the live snapshot the plan was computed from (each change also carries the
    /// digest of its own live object).
    pub snapshot_digest: String,
    pub refresh_only: bool,
    pub plan: Plan,
}

impl SavedPlan {
    pub const FORMAT_VERSION: u32 = 1;
}

/// Everything a plan run produced.
pub struct PlanOutcome {
    pub saved: SavedPlan,
    pub snapshot: Snapshot,
    pub refresh_time: Duration,
    pub plan_time: Duration,
}

/// sha256 of the canonical desired state: what the config means, not how it is written, so
/// reordering a list or a map does not change it.
pub fn config_digest(desired: &DesiredState) -> Result<String> {
    let mut d = desired.clone();
    d.permissions.sort_by(|a, b| a.name.cmp(&b.name));
    d.roles.sort_by_key(|r| r.addr());
    d.tenants.sort_by(|a, b| a.id.cmp(&b.id));
    d.flows.sort_by(|a, b| a.id.cmp(&b.id));
    let lists = d
        .roles
        .iter_mut()
        .filter_map(|r| r.permissions.as_mut())
        .chain(
            d.tenants
                .iter_mut()
                .flat_map(|t| {
                    [
                        t.default_roles.as_mut(),
                        t.self_provisioning_domains.as_mut(),
                    ]
                })
                .flatten(),
        );
    for list in lists {
        list.sort();
    }
    let value = serde_json::to_value(&d)
        .map_err(|e| Error::internal("cannot encode the desired state").caused_by(&e))?;
    Ok(sha256_hex(canonical_json(&value)))
}

/// The planner's view of a state file.
pub fn prior_from_state(state: Option<&StateFile>) -> BTreeMap<ResourceAddr, Prior> {
    state
        .map(|s| {
            s.resources
                .iter()
                .map(|(addr, r)| {
                    (
                        addr.clone(),
                        Prior {
                            attributes: r.attributes.clone(),
                            managed_fields: r.managed_fields.clone(),
                            prevent_destroy: r.prevent_destroy,
                        },
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// What refresh must read: the flows and theme that config or state manage.
pub(super) fn scope(desired: &DesiredState, state: Option<&StateFile>) -> RefreshScope {
    let mut flows: BTreeSet<String> = desired.flows.iter().map(|f| f.id.clone()).collect();
    let mut theme = desired.theme.is_some();
    for addr in state.iter().flat_map(|s| s.resources.keys()) {
        match addr {
            ResourceAddr::Flow(id) => {
                flows.insert(id.clone());
            }
            ResourceAddr::Theme => theme = true,
            _ => {}
        }
    }
    RefreshScope {
        flows,
        theme,
        parallelism: desired.parallelism.max(1) as usize,
    }
}

/// Refreshes (reads only; the state is not written) and plans.
pub async fn plan_environment(
    ctx: &Context<'_>,
    desired: &DesiredState,
    targets: &[ResourceAddr],
    refresh_only: bool,
    observer: &dyn RefreshObserver,
) -> Result<PlanOutcome> {
    let store = StateStore::new(&ctx.state_dir, &desired.environment);
    let state = store.load_for(&desired.project_id)?;
    let connection = Connection::open(desired, &ctx.state_dir, ctx.env).await?;
    let started = Instant::now();
    let snapshot = live::refresh(
        &connection.client,
        &scope(desired, state.as_ref()),
        observer,
    )
    .await?;
    let refresh_time = started.elapsed();

    let started = Instant::now();
    let prior = prior_from_state(state.as_ref());
    let mut plan = plan::plan(&PlanInput {
        desired,
        snapshot: &snapshot,
        prior: &prior,
        targets,
    })
    .map_err(|e| Error::config(e.to_string()).hint("break the cycle in the configuration"))?;
    if refresh_only {
        plan.changes.clear();
        plan.summary = plan::summarize(&plan.changes);
    }
    let plan_time = started.elapsed();

    let saved = SavedPlan {
        format_version: SavedPlan::FORMAT_VERSION,
        dmgmt_version: env!("CARGO_PKG_VERSION").to_owned(),
        environment: desired.environment.clone(),
        project_id: desired.project_id.clone(),
        config_digest: config_digest(desired)?,
        state: state.map(|s| StateRef {
            lineage: s.lineage,
            serial: s.serial,
        }),
        snapshot_digest: snapshot.digest.clone(),
        refresh_only,
        plan,
    };
    Ok(PlanOutcome {
        saved,
        snapshot,
        refresh_time,
        plan_time,
    })
}
