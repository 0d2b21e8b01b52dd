//! `plan`: refresh without writing, then the pure planner; and the saved-plan document that
//! `--out` and `--json` print and `apply PLAN_FILE` will check for staleness.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::live::{self, RefreshObserver, RefreshScope};
use super::{Connection, Context};
use crate::error::{Error, Result};
use crate::model::{DesiredState, DocFormat, ResourceAddr, Snapshot, attrs};
use crate::plan::{self, Plan, PlanInput, Prior};
use crate::state::{Lineage, ResourceState, StateFile, StateStore, canonical_json, sha256_hex};

/// The state a plan was computed against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StateRef {
    pub(crate) lineage: Lineage,
    pub(crate) serial: u64,
}

/// A plan as saved with `--out` (and printed with `--json`): everything apply needs to check that
/// nothing moved since. Deterministic: no timestamps, so the same inputs give the same bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct SavedPlan {
    pub(crate) format_version: u32,
    pub(crate) dmgmt_version: String,
    pub(crate) environment: String,
    pub(crate) project_id: String,
    /// sha256 of the canonical desired state (config and filled templates).
    pub(crate) config_digest: String,
    /// `None`: no state existed.
    pub(crate) state: Option<StateRef>,
    /// sha256 of the live snapshot the plan was computed from (each change also carries the
    /// digest of its own live object).
    pub(crate) snapshot_digest: String,
    pub(crate) refresh_only: bool,
    /// `--target`: the addresses the plan was limited to (empty: everything). Apply plans again
    /// from the same inputs and targets, and refuses a saved plan that is not what that gives.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) targets: Vec<ResourceAddr>,
    pub(crate) plan: Plan,
}

impl SavedPlan {
    pub(crate) const FORMAT_VERSION: u32 = 1;
}

/// Everything a plan run produced.
pub(crate) struct PlanOutcome {
    pub(crate) saved: SavedPlan,
    pub(crate) snapshot: Snapshot,
    pub(crate) refresh_time: Duration,
    pub(crate) plan_time: Duration,
}

/// sha256 of the canonical desired state: what the config means, not how it is written, so
/// reordering a list or a map does not change it. Hashed resource by resource, so that even a
/// large environment needs no second copy of itself in memory.
pub(crate) fn config_digest(desired: &DesiredState) -> Result<String> {
    fn extra(mut attrs: Value, renamed_from: Option<&String>, prevent_destroy: bool) -> Value {
        if let Some(map) = attrs.as_object_mut() {
            map.insert("renamed_from".into(), json!(renamed_from));
            map.insert("prevent_destroy".into(), json!(prevent_destroy));
        }
        attrs
    }
    let digest = |addr: ResourceAddr, attrs: Value| (addr, sha256_hex(canonical_json(&attrs)));
    let mut entries: Vec<(ResourceAddr, String)> = Vec::new();
    for p in &desired.permissions {
        entries.push(digest(
            p.addr(),
            extra(
                attrs::permission(p),
                p.renamed_from.as_ref(),
                p.prevent_destroy,
            ),
        ));
    }
    for r in &desired.roles {
        entries.push(digest(
            r.addr(),
            extra(attrs::role(r), r.renamed_from.as_ref(), r.prevent_destroy),
        ));
    }
    for t in &desired.tenants {
        entries.push(digest(
            t.addr(),
            extra(attrs::tenant(t), None, t.prevent_destroy),
        ));
    }
    for f in &desired.flows {
        entries.push(digest(
            f.addr(),
            extra(attrs::flow(f), None, f.prevent_destroy),
        ));
    }
    if let Some(t) = &desired.theme {
        entries.push(digest(ResourceAddr::Theme, attrs::theme(t)));
    }
    entries.sort();
    let settings = json!({
        "environment": desired.environment,
        "project_id": desired.project_id,
        "management_key": desired.management_key,
        "base_url": desired.base_url,
        "emulator": desired.emulator,
        "protected": desired.protected,
        "rate_limit": desired.rate_limit,
        "retry": desired.retry,
        "parallelism": desired.parallelism,
        "backups": desired.backups,
    });
    // The digest of the settings' canonical JSON followed by one `\n{addr}\t{digest}` line per
    // resource, hashed line by line rather than from one text of them all.
    use sha2::Digest;
    use std::fmt::Write;
    let mut hasher = sha2::Sha256::new();
    hasher.update(canonical_json(&settings));
    let mut line = String::new();
    for (addr, digest) in entries {
        line.clear();
        let _ = write!(line, "\n{addr}\t{digest}");
        hasher.update(&line);
    }
    Ok(crate::state::canonical::to_hex(&hasher.finalize()))
}

/// The planner's view of a state's resources (moved, not copied: at scale they are most of the
/// memory a plan uses).
pub fn prior_from_state(
    resources: BTreeMap<ResourceAddr, ResourceState>,
) -> BTreeMap<ResourceAddr, Prior> {
    resources
        .into_iter()
        .map(|(addr, r)| {
            let prior = Prior {
                attributes: r.attributes,
                managed_fields: r.managed_fields,
                prevent_destroy: r.prevent_destroy,
                digest: Some(r.digest),
                id: r.id,
            };
            (addr, prior)
        })
        .collect()
}

/// What refresh must read: the flows and theme that config or state manage.
pub(super) fn scope(desired: &DesiredState, state: Option<&StateFile>) -> RefreshScope {
    let mut flows: BTreeSet<String> = desired.flows.iter().map(|f| f.id.clone()).collect();
    let mut theme = desired.theme.is_some();
    // Read each document in its template's generation; one no longer declared in the one its
    // state entry was last recorded in.
    let mut v2: BTreeSet<ResourceAddr> = desired
        .flows
        .iter()
        .filter(|f| f.format() == DocFormat::V2)
        .map(|f| ResourceAddr::Flow(f.id.clone()))
        .chain(
            desired
                .theme
                .iter()
                .filter(|t| t.format() == DocFormat::V2)
                .map(|_| ResourceAddr::Theme),
        )
        .collect();
    let declared = desired.addresses();
    for (addr, entry) in state.iter().flat_map(|s| s.resources.iter()) {
        match addr {
            ResourceAddr::Flow(id) => {
                flows.insert(id.clone());
            }
            ResourceAddr::Theme => theme = true,
            _ => continue,
        }
        let recorded = entry.attributes.get("document");
        if !declared.contains(addr)
            && recorded.is_some_and(|d| DocFormat::of(addr.kind(), d) == DocFormat::V2)
        {
            v2.insert(addr.clone());
        }
    }
    // The tenants whose roles the plan reads: those of managed scoped roles, and the tenants it
    // deletes (in state, no longer declared), whose unmanaged roles may go with them (the plan
    // warns of those). Not every tenant: with a `role/all` that leaves tenant roles out, each
    // hundred tenants would cost a search.
    let role_tenants = desired
        .roles
        .iter()
        .filter_map(|r| r.tenant.clone())
        .chain(
            state
                .iter()
                .flat_map(|s| s.resources.keys())
                .filter_map(|a| match a {
                    ResourceAddr::Role {
                        tenant: Some(t), ..
                    } => Some(t.clone()),
                    ResourceAddr::Tenant(t) if !declared.contains(a) => Some(t.clone()),
                    _ => None,
                }),
        )
        .collect();
    RefreshScope {
        flows,
        theme,
        v2,
        parallelism: desired.parallelism.max(1) as usize,
        role_tenants,
    }
}

/// The plan of `desired` against the live `snapshot` and the state's view of it (`prior`, made
/// from the state `state_ref` names), as the document `--out` saves and apply checks.
pub(super) fn make_plan(
    desired: &DesiredState,
    snapshot: &Snapshot,
    state_ref: Option<StateRef>,
    prior: &BTreeMap<ResourceAddr, Prior>,
    targets: &[ResourceAddr],
    refresh_only: bool,
) -> Result<SavedPlan> {
    super::targets::check(targets, desired, prior, snapshot)?;
    // The config digest hashes every declared resource and needs nothing from the plan: at scale
    // it takes a good part of the planner's time, so a second core computes it meanwhile.
    let (plan, config_digest) = std::thread::scope(|scope| {
        let digest = scope.spawn(|| config_digest(desired));
        let plan = plan::plan(&PlanInput {
            desired,
            snapshot,
            prior,
            targets,
        });
        let digest = digest
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (plan, digest)
    });
    let mut plan = plan.map_err(|e| {
        e.hints()
            .into_iter()
            .fold(Error::config(e.to_string()), Error::hint)
    })?;
    if refresh_only {
        plan.changes.clear();
        plan.summary = plan::summarize(&plan.changes);
    }
    Ok(SavedPlan {
        format_version: SavedPlan::FORMAT_VERSION,
        dmgmt_version: env!("CARGO_PKG_VERSION").to_owned(),
        environment: desired.environment.clone(),
        project_id: desired.project_id.clone(),
        config_digest: config_digest?,
        state: state_ref,
        snapshot_digest: snapshot.digest.clone(),
        refresh_only,
        targets: targets.to_vec(),
        plan,
    })
}

/// The state of `environment` as a plan reads it (nothing kept for a write), read on a second
/// thread while `load_config` runs on this one: at scale each takes a good part of a plan's time,
/// and neither needs the other.
pub(crate) fn read_state_while<T>(
    ctx: &Context<'_>,
    environment: &str,
    load_config: impl FnOnce() -> T,
) -> (T, Result<Option<StateFile>>) {
    let store = StateStore::new(&ctx.state_dir, environment);
    std::thread::scope(|scope| {
        let state = scope.spawn(|| store.read());
        let config = load_config();
        let state = state
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (config, state.map_err(Error::from))
    })
}

/// Refreshes (reads only; the state is not written) and plans, against `state` as
/// [`read_state_while`] read it.
pub(crate) async fn plan_environment(
    ctx: &Context<'_>,
    desired: &DesiredState,
    state: Option<StateFile>,
    targets: &[ResourceAddr],
    refresh_only: bool,
    observer: &dyn RefreshObserver,
) -> Result<PlanOutcome> {
    let store = StateStore::new(&ctx.state_dir, &desired.environment);
    let state = match state {
        Some(state) => Some(store.check_project(state, &desired.project_id)?),
        None => None,
    };
    let connection = Connection::open(desired, ctx).await?;
    let started = Instant::now();
    let snapshot = live::refresh(
        &connection.client,
        &scope(desired, state.as_ref()),
        observer,
    )
    .await?;
    let refresh_time = started.elapsed();

    let started = Instant::now();
    let state_ref = state.as_ref().map(|s| StateRef {
        lineage: s.lineage.clone(),
        serial: s.serial,
    });
    let prior = prior_from_state(state.map(|s| s.resources).unwrap_or_default());
    let saved = make_plan(desired, &snapshot, state_ref, &prior, targets, refresh_only)?;
    let plan_time = started.elapsed();

    Ok(PlanOutcome {
        saved,
        snapshot,
        refresh_time,
        plan_time,
    })
}
