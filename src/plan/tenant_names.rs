//! Tenant names are unique in a Descope project (docs/descope-api.md §3), so a name must be freed
//! before another tenant takes it. This module finds the hand-offs within one plan (a tenant that
//! gives a name up by an update or a delete, another that takes it by a create or an update) and
//! orders them, warns where a name is taken from a tenant that keeps it, says when a delete and a
//! create look like a changed id, and refuses renames that need each other's names (a swap).
//!
//! It reads tenant names from the changes' `before` (live) and `after` (desired) attributes and
//! from the snapshot; it never changes what a change does, only adds warnings and edges.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::planner::{PlanError, Prior};
use super::types::{Action, Change};
use super::warning::Warning;
use crate::model::{ResourceAddr, Snapshot};

/// One tenant's name change, as named in a refused plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantRename {
    pub(crate) tenant: ResourceAddr,
    pub(crate) from: String,
    pub(crate) to: String,
}

/// The message of [`PlanError::TenantNameCycle`].
pub(super) fn describe_name_cycle(renames: &[TenantRename]) -> String {
    let Some(first) = renames.first() else {
        return "tenant names form a cycle".to_owned();
    };
    format!(
        "tenants {} take each other's names ({}): Descope keeps tenant names unique, so no order \
         of updates can apply this; do it in two applies: first rename `{}` to a temporary name \
         (e.g. `{} (renaming)`) and apply, then rename it to `{}` and apply again",
        tenants_of(renames),
        steps_of(renames),
        first.tenant,
        first.from,
        first.to,
    )
}

/// The message of [`PlanError::RestoreNameCycle`]: tenants that swapped names since a backup.
pub(super) fn describe_restore_name_cycle(renames: &[TenantRename]) -> String {
    let Some(first) = renames.first() else {
        return "tenant names form a cycle".to_owned();
    };
    format!(
        "tenants {} took each other's names since the backup (restoring renames {}): Descope \
         keeps tenant names unique, so no order of updates can restore them; rename `{}` to a \
         temporary name in Descope (e.g. `{} (restoring)`), then run the restore again: it \
         renames each tenant back in turn",
        tenants_of(renames),
        steps_of(renames),
        first.tenant,
        first.from,
    )
}

/// The tenants of a name cycle, as a list.
fn tenants_of(renames: &[TenantRename]) -> String {
    list_of(renames.iter().map(|r| format!("`{}`", r.tenant)))
}

/// Each rename of a name cycle: `` `tenant.a` from `A` to `B` ``, comma-separated.
fn steps_of(renames: &[TenantRename]) -> String {
    let steps: Vec<String> = renames
        .iter()
        .map(|r| format!("`{}` from `{}` to `{}`", r.tenant, r.from, r.to))
        .collect();
    steps.join(", ")
}

/// `a`, `a and b`, `a, b and c`.
fn list_of(items: impl Iterator<Item = String>) -> String {
    let items: Vec<String> = items.collect();
    match items.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => items.concat(),
    }
}

fn name(v: Option<&Value>) -> Option<&str> {
    v.and_then(|v| v.get("name")).and_then(Value::as_str)
}

/// What one tenant change does to names: the name it frees and the name it takes.
struct NameMove<'a> {
    gives: Option<&'a str>,
    takes: Option<&'a str>,
}

fn name_move(c: &Change) -> NameMove<'_> {
    let (before, after) = (name(c.before.as_ref()), name(c.after.as_ref()));
    match c.action {
        Action::Create => NameMove {
            gives: None,
            takes: after,
        },
        Action::Delete => NameMove {
            gives: before,
            takes: None,
        },
        Action::Update | Action::Adopt if before != after => NameMove {
            gives: before,
            takes: after,
        },
        _ => NameMove {
            gives: None,
            takes: None,
        },
    }
}

/// Orders name hand-offs (returns (before, after) edges for [`super::graph::order`]), adds the
/// warnings, and refuses a plan whose renames form a cycle. Used by the planner and the restore
/// planner alike: `snapshot` is the live project, `prior` the state's entries.
pub(super) fn order(
    changes: &mut [Change],
    snapshot: &Snapshot,
    prior: &BTreeMap<ResourceAddr, Prior>,
) -> Result<Vec<(usize, usize)>, PlanError> {
    let holders = holders(snapshot);
    let tenant_changes = tenant_changes(changes);

    let mut edges = Vec::new();
    let mut warnings: Vec<(usize, Warning)> = Vec::new();
    // Taker -> the update it waits for (a delete or a create cannot be part of a cycle).
    let mut waits_for: BTreeMap<usize, usize> = BTreeMap::new();
    // Deletes and creates already explained as an id change.
    let mut paired: BTreeSet<usize> = BTreeSet::new();
    for (&addr, &taker) in &tenant_changes {
        let Some(wanted) = name_move(&changes[taker]).takes else {
            continue;
        };
        let Some(&holder) = holders.get(wanted).filter(|h| **h != addr) else {
            continue;
        };
        let giver = tenant_changes
            .get(holder)
            .copied()
            .filter(|&g| name_move(&changes[g]).gives == Some(wanted));
        let taker_action = &changes[taker].action;
        match giver {
            Some(g) if changes[g].action == Action::Delete && *taker_action == Action::Create => {
                let message = Warning::TenantIdChange {
                    from: holder.clone(),
                    to: addr.clone(),
                };
                warnings.push((taker, message.clone()));
                warnings.push((g, message));
                paired.extend([g, taker]);
                edges.push((g, taker));
            }
            Some(g) => {
                edges.push((g, taker));
                if changes[g].action != Action::Delete && *taker_action != Action::Create {
                    waits_for.insert(taker, g);
                }
            }
            None => warnings.push((
                taker,
                Warning::TenantNameTaken {
                    holder: holder.clone(),
                    name: wanted.to_owned(),
                    create: *taker_action == Action::Create,
                },
            )),
        }
    }
    if let Some(cycle) = first_cycle(&waits_for) {
        return Err(PlanError::TenantNameCycle(renames_of(changes, cycle)));
    }
    warnings.extend(id_changes(changes, prior, &tenant_changes, &paired));
    for (i, message) in warnings {
        changes[i].warnings.push(message);
    }
    Ok(edges)
}

/// Live tenants by name (Descope holds each name once).
fn holders(snapshot: &Snapshot) -> BTreeMap<&str, &ResourceAddr> {
    snapshot
        .objects
        .iter()
        .filter(|(a, _)| matches!(a, ResourceAddr::Tenant(_)))
        .filter_map(|(a, obj)| Some((name(Some(&obj.attributes))?, a)))
        .collect()
}

/// Each tenant's own change (its default-roles step apart), by address.
fn tenant_changes(changes: &[Change]) -> BTreeMap<&ResourceAddr, usize> {
    changes
        .iter()
        .enumerate()
        .filter(|(_, c)| {
            matches!(c.addr, ResourceAddr::Tenant(_))
                && !matches!(c.action, Action::SetDefaultRoles | Action::SetSettings)
        })
        .map(|(i, c)| (&c.addr, i))
        .collect()
}

/// The renames of the tenant changes at `cycle`, in its order.
fn renames_of(changes: &[Change], cycle: Vec<usize>) -> Vec<TenantRename> {
    cycle
        .into_iter()
        .map(|i| {
            let c = &changes[i];
            TenantRename {
                tenant: c.addr.clone(),
                from: name(c.before.as_ref()).unwrap_or_default().to_owned(),
                to: name(c.after.as_ref()).unwrap_or_default().to_owned(),
            }
        })
        .collect()
}

/// The first cycle of renames waiting for each other, in waiting order, starting from its
/// smallest member (each taker waits for one giver at most, so a walk finds it).
fn first_cycle(waits_for: &BTreeMap<usize, usize>) -> Option<Vec<usize>> {
    let mut done: BTreeSet<usize> = BTreeSet::new();
    for &start in waits_for.keys() {
        let mut path: Vec<usize> = Vec::new();
        let mut at = start;
        while !done.contains(&at) {
            if let Some(pos) = path.iter().position(|&p| p == at) {
                let mut cycle = path.split_off(pos);
                let min = cycle.iter().enumerate().min_by_key(|(_, i)| **i)?.0;
                cycle.rotate_left(min);
                return Some(cycle);
            }
            path.push(at);
            match waits_for.get(&at) {
                Some(&next) => at = next,
                None => break,
            }
        }
        done.extend(path);
    }
    None
}

/// A tenant created under a new id while another is deleted, under different names, may be an id
/// change that also renames: said on both, naming both ids. A tenant in state that was deleted
/// outside dmgmt and is created again keeps its id, so it is no such case.
fn id_changes(
    changes: &[Change],
    prior: &BTreeMap<ResourceAddr, Prior>,
    tenant_changes: &BTreeMap<&ResourceAddr, usize>,
    paired: &BTreeSet<usize>,
) -> Vec<(usize, Warning)> {
    let unpaired = |pred: &dyn Fn(&Change) -> bool| -> Vec<usize> {
        tenant_changes
            .values()
            .copied()
            .filter(|i| !paired.contains(i) && pred(&changes[*i]))
            .collect()
    };
    let creates = unpaired(&|c| c.action == Action::Create && !prior.contains_key(&c.addr));
    let deletes = unpaired(&|c| c.action == Action::Delete);
    let mut out = Vec::new();
    let sides = creates
        .iter()
        .map(|&c| (c, &deletes, true))
        .chain(deletes.iter().map(|&d| (d, &creates, false)));
    for (one, others, others_deleted) in sides {
        let message = match others.as_slice() {
            [] => continue,
            &[other] => {
                let (old, new) = if others_deleted {
                    (other, one)
                } else {
                    (one, other)
                };
                let (old, new) = (&changes[old], &changes[new]);
                Warning::MaybeTenantIdChange {
                    old: old.addr.clone(),
                    new: new.addr.clone(),
                    old_name: name(old.before.as_ref()).unwrap_or_default().to_owned(),
                    new_name: name(new.after.as_ref()).unwrap_or_default().to_owned(),
                }
            }
            many => Warning::MaybeTenantIdChanges {
                tenant: changes[one].addr.clone(),
                others: many.iter().map(|&i| changes[i].addr.clone()).collect(),
                others_deleted,
            },
        };
        out.push((one, message));
    }
    out
}
