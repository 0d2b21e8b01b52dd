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
    /// Set when all or most of the objects the state manages are gone from the live project (a
    /// wrong `project_id` or `base_url`, or a wiped project): the plan would quietly create them
    /// all again, so it says so loudly and a protected environment asks even with
    /// `--auto-approve`. Absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) vanished: Option<Vanished>,
    pub(crate) plan: Plan,
}

impl SavedPlan {
    pub(crate) const FORMAT_VERSION: u32 = 1;
}

/// How many of the managed objects are gone from the live project (see [`SavedPlan::vanished`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Vanished {
    /// Objects the state manages.
    pub(crate) managed: usize,
    /// Of those, the ones not found live.
    pub(crate) gone: usize,
}

impl Vanished {
    /// Fewer managed objects than this say nothing about the project as a whole.
    pub(crate) const MIN_MANAGED: usize = 3;

    /// `Some` when all, or more than half, of `managed` (at least [`Self::MIN_MANAGED`]) are gone.
    pub(crate) fn of(managed: usize, gone: usize) -> Option<Vanished> {
        (managed >= Self::MIN_MANAGED && gone > 0 && (gone == managed || gone * 2 > managed))
            .then_some(Vanished { managed, gone })
    }

    /// [`of`](Self::of) the `managed` objects of a state and the drift found against it: the
    /// entries drift calls deleted (neither at their address nor under their id) are gone.
    pub(crate) fn in_drift(managed: usize, drift: &[plan::Drift]) -> Option<Vanished> {
        let gone = drift
            .iter()
            .filter(|d| d.kind == plan::DriftKind::Deleted)
            .count();
        Vanished::of(managed, gone)
    }
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
    let recorded = state
        .iter()
        .flat_map(|s| s.resources.iter())
        .map(|(addr, entry)| {
            let document = entry.attributes.get("document");
            (addr, document.map(|d| DocFormat::of(addr.kind(), d)))
        });
    scope_of(desired, recorded)
}

/// [`scope`], from the state's addresses, each with the generation of the document its entry
/// records (flows and the theme).
fn scope_of<'a>(
    desired: &DesiredState,
    state: impl Iterator<Item = (&'a ResourceAddr, Option<DocFormat>)> + Clone,
) -> RefreshScope {
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
    for (addr, recorded) in state.clone() {
        match addr {
            ResourceAddr::Flow(id) => {
                flows.insert(id.clone());
            }
            ResourceAddr::Theme => theme = true,
            _ => continue,
        }
        if !declared.contains(addr) && recorded == Some(DocFormat::V2) {
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
        .chain(state.map(|(a, _)| a).filter_map(|a| match a {
            ResourceAddr::Role {
                tenant: Some(t), ..
            } => Some(t.clone()),
            ResourceAddr::Tenant(t) if !declared.contains(a) => Some(t.clone()),
            _ => None,
        }))
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
        vanished: Vanished::in_drift(prior.len(), &plan.drift),
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

/// The configuration (`load_config`), then the state of `environment` as a plan reads it (see
/// [`PlanState`]). One after
/// the other, not side by side: at scale the configuration's YAML tree and the state's parsed
/// values are each hundreds of megabytes, and held at once they were the peak of a plan's memory;
/// once the first is done with, the second reuses its memory.
pub(crate) fn load_config_and_state(
    ctx: &Context<'_>,
    environment: &str,
    load_config: impl FnOnce() -> Result<DesiredState>,
) -> (Result<DesiredState>, Result<Option<PlanState>>) {
    let desired = load_config();
    let store = StateStore::new(&ctx.state_dir, environment);
    let state = store.read().map_err(Error::from);
    (desired, state.map(|s| s.map(PlanState::from_state)))
}

/// What a plan keeps of a state once it is read: which state it is and, per managed object, what
/// the planner asks of it, the attributes as their canonical JSON text rather than a tree. At
/// 100,000 tenants those trees were the largest part of a plan's memory, and the planner reads an
/// object's recorded attributes only where they differ from the live ones (drift), which their
/// digests tell without them.
pub(crate) struct PlanState {
    state_ref: StateRef,
    project_id: String,
    entries: BTreeMap<ResourceAddr, PlanEntry>,
}

/// One managed object of a [`PlanState`].
struct PlanEntry {
    /// The canonical JSON of the recorded attributes (what `digest` is the sha256 of).
    attributes: Box<str>,
    /// The generation of the document a flow's or the theme's entry records.
    format: Option<DocFormat>,
    managed_fields: Vec<String>,
    digest: String,
    prevent_destroy: bool,
    id: Option<String>,
}

impl PlanState {
    fn from_state(state: StateFile) -> PlanState {
        // Entry by entry: each tree is dropped as soon as its text is written.
        let entries = state
            .resources
            .into_iter()
            .map(|(addr, r)| {
                let format = r
                    .attributes
                    .get("document")
                    .map(|d| DocFormat::of(addr.kind(), d));
                let entry = PlanEntry {
                    attributes: canonical_json(&r.attributes).into_boxed_str(),
                    format,
                    managed_fields: r.managed_fields,
                    digest: r.digest,
                    prevent_destroy: r.prevent_destroy,
                    id: r.id,
                };
                (addr, entry)
            })
            .collect();
        PlanState {
            state_ref: StateRef {
                lineage: state.lineage,
                serial: state.serial,
            },
            project_id: state.project_id,
            entries,
        }
    }

    fn scope(&self, desired: &DesiredState) -> RefreshScope {
        scope_of(desired, self.entries.iter().map(|(a, e)| (a, e.format)))
    }

    /// The planner's view of the state against the live `snapshot`. An entry whose attributes'
    /// digest is the live object's at the same address gets `null` attributes: the planner reads
    /// them only where the digests differ (see `plan::drift`), and parsing 100,000 texts back
    /// into trees would undo the saving.
    fn into_prior(self, snapshot: &Snapshot) -> BTreeMap<ResourceAddr, Prior> {
        self.entries
            .into_iter()
            .map(|(addr, e)| {
                let same = snapshot
                    .get(&addr)
                    .is_some_and(|live| live.attributes_digest == e.digest);
                let attributes = match same {
                    true => Value::Null,
                    // The text is canonical JSON written from a parsed value: it parses back.
                    false => serde_json::from_str(&e.attributes).unwrap_or(Value::Null),
                };
                let prior = Prior {
                    attributes,
                    managed_fields: e.managed_fields,
                    prevent_destroy: e.prevent_destroy,
                    digest: Some(e.digest),
                    id: e.id,
                };
                (addr, prior)
            })
            .collect()
    }
}

/// Refreshes (reads only; the state is not written) and plans, against `state` as
/// [`load_config_and_state`] read it.
pub(crate) async fn plan_environment(
    ctx: &Context<'_>,
    desired: &DesiredState,
    state: Option<PlanState>,
    targets: &[ResourceAddr],
    refresh_only: bool,
    observer: &dyn RefreshObserver,
) -> Result<PlanOutcome> {
    if let Some(state) = &state
        && state.project_id != desired.project_id
    {
        // What `StateStore::check_project` refuses, for the state as a plan keeps it.
        let store = StateStore::new(&ctx.state_dir, &desired.environment);
        return Err(crate::state::StateError::WrongProject {
            path: store.path().to_owned(),
            environment: desired.environment.clone(),
            expected: desired.project_id.clone(),
            found: state.project_id.clone(),
        }
        .into());
    }
    let connection = Connection::open(desired, ctx).await?;
    let started = Instant::now();
    let scope = match &state {
        Some(state) => state.scope(desired),
        None => scope_of(desired, std::iter::empty()),
    };
    let snapshot = live::refresh(&connection.client, &scope, observer).await?;
    let refresh_time = started.elapsed();

    let started = Instant::now();
    let state_ref = state.as_ref().map(|s| s.state_ref.clone());
    let prior = state.map(|s| s.into_prior(&snapshot)).unwrap_or_default();
    let saved = make_plan(desired, &snapshot, state_ref, &prior, targets, refresh_only)?;
    let plan_time = started.elapsed();

    Ok(PlanOutcome {
        saved,
        snapshot,
        refresh_time,
        plan_time,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::model::RawBody;

    #[test]
    fn a_plan_keeps_state_attributes_as_text_and_parses_back_only_those_that_drifted() {
        let mut state = StateFile::new("staging", "P2abc");
        let same = ResourceAddr::Tenant("same".into());
        let drifted = ResourceAddr::Tenant("drifted".into());
        let gone = ResourceAddr::Tenant("gone".into());
        let flow = ResourceAddr::Flow("sign-in".into());
        let attrs = |name: &str| json!({"id": name, "name": name, "seats": 1.5, "tags": ["a"]});
        for addr in [&same, &drifted, &gone] {
            let name = match addr {
                ResourceAddr::Tenant(id) => id.clone(),
                _ => unreachable!(),
            };
            let mut entry = ResourceState::new(addr, vec!["name".into()], attrs(&name));
            entry.id = Some(format!("T-{name}"));
            entry.prevent_destroy = addr == &gone;
            state.resources.insert(addr.clone(), entry);
        }
        let document = json!({"flow": {"flowId": "sign-in"}});
        state.resources.insert(
            flow.clone(),
            ResourceState::new(&flow, vec![], json!({"document": document})),
        );
        state.normalize();
        let recorded = state.resources.clone();

        let plan_state = PlanState::from_state(state.clone());
        assert_eq!(plan_state.state_ref.serial, state.serial);
        assert_eq!(plan_state.project_id, "P2abc");
        // The flow's document generation is kept for the refresh scope.
        let desired: DesiredState = serde_json::from_value(json!({
            "environment": "staging", "project_id": "P2abc", "management_key": null,
            "base_url": null, "emulator": true, "protected": false, "rate_limit": null,
            "parallelism": 4, "backups": {"retention_days": 30, "keep_min": 5},
            "permissions": [], "roles": [], "tenants": [], "flows": [], "theme": null
        }))
        .unwrap();
        let scope = plan_state.scope(&desired);
        assert!(scope.flows.contains("sign-in"));
        assert_eq!(
            scope.v2.contains(&flow),
            DocFormat::of(flow.kind(), &document) == DocFormat::V2
        );

        let live =
            |value: Value| super::live::object(value.clone(), RawBody::from_value(value), None);
        let mut snapshot = Snapshot::default();
        snapshot.objects.insert(same.clone(), live(attrs("same")));
        snapshot.objects.insert(
            drifted.clone(),
            live(json!({"id": "drifted", "name": "Other"})),
        );
        let prior = plan_state.into_prior(&snapshot);
        assert_eq!(prior.len(), 4);
        // Equal to live: its digest says so, no tree kept.
        assert_eq!(prior[&same].attributes, Value::Null);
        // Drifted, or not live at that address: the recorded attributes, as they were.
        for addr in [&drifted, &gone, &flow] {
            assert_eq!(prior[addr].attributes, recorded[addr].attributes, "{addr}");
        }
        for (addr, p) in &prior {
            let r = &recorded[addr];
            assert_eq!(p.digest.as_deref(), Some(r.digest.as_str()));
            assert_eq!((&p.managed_fields, &p.id), (&r.managed_fields, &r.id));
            assert_eq!(p.prevent_destroy, r.prevent_destroy);
        }
        // Drift is found as it is from the whole state.
        let whole = prior_from_state(recorded);
        assert_eq!(
            crate::plan::drift(&prior, &snapshot),
            crate::plan::drift(&whole, &snapshot)
        );
        assert_eq!(crate::plan::drift(&prior, &snapshot).len(), 3);
    }
}
