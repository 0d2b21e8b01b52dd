//! The planner: (desired, live snapshot, prior state) -> changes. Pure and deterministic: every
//! collection is ordered, nothing is read from outside its arguments.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::diff::{all_diffs, managed_diffs, managed_fields, overlay};
use super::graph;
use super::types::{Action, AttrDiff, Change, Drift, DriftKind, Guard, Plan, Summary};
use crate::model::{DesiredState, ResourceAddr, Snapshot, attrs};

/// What the last state says about a managed object.
#[derive(Debug, Clone, PartialEq)]
pub struct Prior {
    /// The live attributes when the state was last written.
    pub attributes: Value,
    pub managed_fields: Vec<String>,
    pub prevent_destroy: bool,
    /// sha256 of the canonical attributes, when known (a fast path for drift).
    pub digest: Option<String>,
}

/// Everything a plan is computed from.
pub struct PlanInput<'a> {
    pub desired: &'a DesiredState,
    pub snapshot: &'a Snapshot,
    pub prior: &'a BTreeMap<ResourceAddr, Prior>,
    /// `--target`: only these changes and what they depend on (empty: everything).
    pub targets: &'a [ResourceAddr],
}

/// Why no plan could be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("the changes depend on each other in a cycle: {}", .0.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(" -> "))]
    Cycle(Vec<ResourceAddr>),
}

/// One declared resource with what the planner needs beyond its attributes.
struct Declared<'a> {
    /// Desired attributes, without the two parts handled apart: a tenant's `default_roles` (a
    /// separate call, made once the roles exist) and a flow's or the theme's `document`
    /// (compared in place: copying 50 large documents per plan would dominate its cost).
    attrs: Value,
    default_roles: Option<Value>,
    document: Option<&'a Value>,
    renamed_from: Option<ResourceAddr>,
    prevent_destroy: bool,
}

impl<'a> Declared<'a> {
    fn new(mut attrs: Value, renamed_from: Option<ResourceAddr>, prevent_destroy: bool) -> Self {
        let default_roles = attrs
            .as_object_mut()
            .and_then(|m| m.remove("default_roles"));
        Declared {
            attrs,
            default_roles,
            document: None,
            renamed_from,
            prevent_destroy,
        }
    }

    fn document(document: &'a Value, prevent_destroy: bool) -> Self {
        Declared {
            attrs: Value::Object(Default::default()),
            default_roles: None,
            document: Some(document),
            renamed_from: None,
            prevent_destroy,
        }
    }
}

fn declared(desired: &DesiredState) -> BTreeMap<ResourceAddr, Declared<'_>> {
    let mut out = BTreeMap::new();
    for p in &desired.permissions {
        let renamed_from = p.renamed_from.clone().map(ResourceAddr::Permission);
        out.insert(
            ResourceAddr::Permission(p.name.clone()),
            Declared::new(attrs::permission(p), renamed_from, p.prevent_destroy),
        );
    }
    for r in &desired.roles {
        let renamed_from = r
            .renamed_from
            .as_deref()
            .map(|old| ResourceAddr::role(r.tenant.as_deref(), old));
        out.insert(
            r.addr(),
            Declared::new(attrs::role(r), renamed_from, r.prevent_destroy),
        );
    }
    for t in &desired.tenants {
        out.insert(
            ResourceAddr::Tenant(t.id.clone()),
            Declared::new(attrs::tenant(t), None, t.prevent_destroy),
        );
    }
    if let Some(t) = &desired.theme {
        out.insert(ResourceAddr::Theme, Declared::document(&t.document, false));
    }
    for f in &desired.flows {
        out.insert(
            ResourceAddr::Flow(f.id.clone()),
            Declared::document(&f.document, f.prevent_destroy),
        );
    }
    out
}

/// Computes the plan.
pub fn plan(input: &PlanInput<'_>) -> Result<Plan, PlanError> {
    let declared = declared(input.desired);
    let live = &input.snapshot.objects;
    let mut changes: Vec<Change> = Vec::new();
    let mut renamed_away: BTreeSet<ResourceAddr> = BTreeSet::new();

    for (addr, d) in &declared {
        let rename_source = d.renamed_from.as_ref().filter(|old| {
            !live.contains_key(addr) && live.contains_key(*old) && !declared.contains_key(*old)
        });
        let (action, object) = match (live.get(addr), rename_source) {
            (Some(obj), _) if input.prior.contains_key(addr) => (Action::Update, Some(obj)),
            (Some(obj), _) => (Action::Adopt, Some(obj)),
            (None, Some(old)) => {
                renamed_away.insert(old.clone());
                (Action::Rename { from: name_of(old) }, live.get(old))
            }
            (None, None) => (Action::Create, None),
        };
        let before = object.map(|o| &o.attributes);
        let mut diffs = managed_diffs(&d.attrs, before);
        if let Some(doc) = d.document {
            let have = before.and_then(|b| b.get("document"));
            if have != Some(doc) {
                diffs.push(AttrDiff {
                    field: "document".into(),
                    before: have.cloned(),
                    after: Some(doc.clone()),
                });
            }
        }
        let have_roles = before.and_then(|b| b.get("default_roles"));
        let roles_change = d.default_roles.as_ref().filter(|want| {
            have_roles != Some(*want)
                && !(have_roles.is_none() && want.as_array().is_some_and(Vec::is_empty))
        });
        // The common case at scale: nothing to do, and nothing allocated for it.
        if action == Action::Update && diffs.is_empty() && roles_change.is_none() {
            continue;
        }
        if let Action::Rename { from } = &action {
            diffs.retain(|diff| diff.field != "name");
            let rename = AttrDiff {
                field: "name".into(),
                before: Some(Value::String(from.clone())),
                after: Some(Value::String(name_of(addr))),
            };
            diffs.insert(0, rename);
        }
        let mut after = match before {
            Some(b) => overlay(b, &d.attrs),
            None => d.attrs.clone(),
        };
        let mut managed = managed_fields(&d.attrs);
        if d.default_roles.is_some() {
            managed.push("default_roles".into());
        }
        if let (Some(doc), Some(map)) = (d.document, after.as_object_mut()) {
            map.insert("document".into(), doc.clone());
            managed.push("document".into());
        }
        let base = Change {
            addr: addr.clone(),
            action: action.clone(),
            live_id: object.and_then(|o| o.id.clone()),
            live_digest: object.map(|o| o.digest.clone()),
            before: before.cloned(),
            after: Some(after),
            diffs,
            managed_fields: managed,
            guard: None,
            prevent_destroy: d.prevent_destroy,
            depends_on: Vec::new(),
            warnings: Vec::new(),
        };
        let roles_step = roles_change.map(|want| {
            let mut after_roles = base.after.clone().unwrap_or_default();
            if let Some(map) = after_roles.as_object_mut() {
                map.insert("default_roles".into(), want.clone());
            }
            Change {
                action: Action::SetDefaultRoles,
                before: base.before.clone().or(base.after.clone()),
                after: Some(after_roles),
                diffs: vec![AttrDiff {
                    field: "default_roles".into(),
                    before: have_roles.cloned(),
                    after: Some(want.clone()),
                }],
                ..base.clone()
            }
        });
        if action != Action::Update || !base.diffs.is_empty() {
            changes.push(base);
        }
        changes.extend(roles_step);
    }

    for (addr, prior) in input.prior {
        if declared.contains_key(addr) || renamed_away.contains(addr) {
            continue;
        }
        let Some(obj) = live.get(addr) else { continue };
        let action = if *addr == ResourceAddr::Theme {
            Action::Forget
        } else {
            Action::Delete
        };
        let guard = match (&action, prior.prevent_destroy, input.desired.protected) {
            (Action::Delete, true, _) => Some(Guard::PreventDestroy),
            (Action::Delete, false, true) => Some(Guard::Protected),
            _ => None,
        };
        changes.push(Change {
            addr: addr.clone(),
            action,
            live_id: obj.id.clone(),
            live_digest: Some(obj.digest.clone()),
            before: Some(obj.attributes.clone()),
            after: None,
            diffs: Vec::new(),
            managed_fields: prior.managed_fields.clone(),
            guard,
            prevent_destroy: prior.prevent_destroy,
            depends_on: Vec::new(),
            warnings: Vec::new(),
        });
    }

    let extra_edges = tenant_name_clashes(&mut changes, input.snapshot);
    let changes = graph::order(changes, &extra_edges)?;
    let changes = graph::select_targets(changes, input.targets);

    let drift = drift(input.prior, input.snapshot);
    let unmanaged = live
        .keys()
        .filter(|a| {
            **a != ResourceAddr::Theme
                && !declared.contains_key(*a)
                && !input.prior.contains_key(*a)
                && !renamed_away.contains(*a)
        })
        .cloned()
        .collect();
    let summary = summarize(&changes);
    Ok(Plan {
        changes,
        drift,
        unmanaged,
        summary,
    })
}

fn name_of(addr: &ResourceAddr) -> String {
    match addr {
        ResourceAddr::Permission(n) | ResourceAddr::Tenant(n) | ResourceAddr::Flow(n) => n.clone(),
        ResourceAddr::Role { name, .. } => name.clone(),
        ResourceAddr::Theme => "theme".into(),
    }
}

/// A tenant created under a name that a live tenant already holds: Descope refuses duplicate
/// names, so when that tenant is being deleted (an id change) the delete must run first, and
/// otherwise the create will fail. Both are said loudly. Returns (before, after) edges.
fn tenant_name_clashes(changes: &mut [Change], snapshot: &Snapshot) -> Vec<(usize, usize)> {
    let mut edges = Vec::new();
    let creates: Vec<(usize, String)> = changes
        .iter()
        .enumerate()
        .filter(|(_, c)| c.action == Action::Create && matches!(c.addr, ResourceAddr::Tenant(_)))
        .filter_map(|(i, c)| Some((i, c.after.as_ref()?.get("name")?.as_str()?.to_owned())))
        .collect();
    for (create, name) in creates {
        let holder = snapshot.objects.iter().find(|(addr, obj)| {
            matches!(addr, ResourceAddr::Tenant(_))
                && obj.attributes.get("name").and_then(Value::as_str) == Some(name.as_str())
        });
        let Some((old, _)) = holder else { continue };
        let new = changes[create].addr.clone();
        match changes.iter().position(|c| c.addr == *old && c.action == Action::Delete) {
            Some(delete) => {
                let message = format!("tenant id changes from `{old}` to `{new}`: this is a delete + create, not a rename; the tenant's users lose their membership and settings, and `{new}` starts empty");
                changes[create].warnings.push(message.clone());
                changes[delete].warnings.push(message);
                edges.push((delete, create));
            }
            None => changes[create].warnings.push(format!(
                "`{old}` already has the name `{name}` in Descope (and is not being deleted): Descope will refuse this create"
            )),
        }
    }
    edges
}

/// Objects in state that changed, or disappeared, outside dmgmt since the state was written.
pub fn drift(prior: &BTreeMap<ResourceAddr, Prior>, snapshot: &Snapshot) -> Vec<Drift> {
    let mut out = Vec::new();
    for (addr, prior) in prior {
        match snapshot.get(addr) {
            // Equal digests: equal canonical attributes, no need to compare field by field.
            Some(obj) if prior.digest.as_deref() == Some(obj.digest.as_str()) => {}
            Some(obj) => {
                let diffs = all_diffs(&prior.attributes, &obj.attributes);
                if !diffs.is_empty() {
                    out.push(Drift {
                        addr: addr.clone(),
                        kind: DriftKind::Changed,
                        diffs,
                    });
                }
            }
            None => out.push(Drift {
                addr: addr.clone(),
                kind: DriftKind::Deleted,
                diffs: Vec::new(),
            }),
        }
    }
    out
}

/// Counts for the closing line: every step the plan shows is counted once, by what it does. `+` is
/// one to add; `~` one to change: an update, a rename, a tenant getting its default roles (a
/// separate call, also right after the tenant is created), an adoption that changes fields; `-` one
/// to destroy; `x` one to forget. Every adoption is also one to adopt, so an adoption that changes
/// nothing is counted there only.
pub fn summarize(changes: &[Change]) -> Summary {
    let mut summary = Summary::default();
    for c in changes {
        match c.action {
            Action::Create => summary.add += 1,
            Action::Update | Action::Rename { .. } | Action::SetDefaultRoles => summary.change += 1,
            Action::Delete => summary.destroy += 1,
            Action::Forget => summary.forget += 1,
            Action::Adopt => {
                summary.adopt += 1;
                if !c.diffs.is_empty() {
                    summary.change += 1;
                }
            }
        }
    }
    summary
}
