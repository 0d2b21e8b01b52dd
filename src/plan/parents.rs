//! Sub-tenants. A Descope tenant may have a `parent` tenant (set when it is created, never
//! changed; the parent lists its children as `successors`). dmgmt does not manage `parent`, but
//! live tenants have one, a restore creates a tenant with the parent its backup holds, and
//! Descope may refuse to delete a tenant that still has sub-tenants (the emulator does). So a
//! sub-tenant is created after its parent and deleted before it, and deleting a tenant whose
//! sub-tenant stays is warned.
//!
//! Reads the bodies the changes carry (Descope's names) and the live tenants' raw bodies; adds
//! ordering edges and warnings, never adds or removes a change. Both planners use it.

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

use super::types::{Action, Change};
use super::warning::Warning;
use crate::model::{ResourceAddr, Snapshot};

/// `(before, after)` positions in `changes`: a tenant's create before its sub-tenants' creates,
/// a sub-tenant's delete before its parent's. A parent is known from the child's `parent` or
/// from the parent's `successors`, whichever Descope sends.
pub(super) fn parent_edges(changes: &[Change]) -> Vec<(usize, usize)> {
    let tenants = |action: Action| -> HashMap<&str, usize> {
        changes
            .iter()
            .enumerate()
            .filter(|(_, c)| c.action == action)
            .filter_map(|(i, c)| Some((tenant_id(&c.addr)?, i)))
            .collect()
    };
    let (creates, deletes) = (tenants(Action::Create), tenants(Action::Delete));
    let mut edges = BTreeSet::new();
    for (i, c) in changes.iter().enumerate() {
        let (index, body) = match c.action {
            Action::Create => (&creates, c.after.as_ref()),
            Action::Delete => (&deletes, c.before.as_ref()),
            _ => continue,
        };
        if tenant_id(&c.addr).is_none() {
            continue;
        }
        let (parents, children) = family(body);
        // (parent, child) pairs among the changes of this kind.
        let pairs = parents
            .filter_map(|p| index.get(p).map(|&j| (j, i)))
            .chain(children.filter_map(|s| index.get(s).map(|&j| (i, j))));
        for (parent, child) in pairs {
            edges.insert(match c.action {
                Action::Create => (parent, child),
                _ => (child, parent),
            });
        }
    }
    edges.into_iter().filter(|(a, b)| a != b).collect()
}

/// Warns on each tenant delete whose live sub-tenants are not all deleted by the plan.
pub(super) fn warn_kept_sub_tenants(changes: &mut [Change], snapshot: &Snapshot) {
    let deleted: BTreeSet<String> = changes
        .iter()
        .filter(|c| c.action == Action::Delete)
        .filter_map(|c| tenant_id(&c.addr).map(str::to_owned))
        .collect();
    if deleted.is_empty() {
        return;
    }
    // Each live tenant's parent, as the child tells it.
    let live_parents: Vec<(String, String)> = snapshot
        .objects
        .iter()
        .filter_map(|(a, obj)| Some((tenant_id(a)?, obj)))
        .filter_map(|(id, obj)| {
            let body = obj.raw.to_value();
            let (mut parents, _) = family(Some(&body));
            Some((id.to_owned(), parents.next()?.to_owned()))
        })
        .collect();
    for c in changes.iter_mut() {
        let Some(id) = tenant_id(&c.addr).filter(|_| c.action == Action::Delete) else {
            continue;
        };
        let (_, successors) = family(c.before.as_ref());
        let mut kept: BTreeSet<&str> = successors.collect();
        kept.extend(
            live_parents
                .iter()
                .filter(|(_, parent)| parent == id)
                .map(|(child, _)| child.as_str()),
        );
        kept.retain(|child| !deleted.contains(*child) && *child != id);
        if kept.is_empty() {
            continue;
        }
        c.warnings.push(Warning::KeepsSubTenants {
            tenant: c.addr.clone(),
            children: kept
                .iter()
                .map(|child| ResourceAddr::Tenant((*child).to_owned()))
                .collect(),
        });
    }
}

fn tenant_id(addr: &ResourceAddr) -> Option<&str> {
    match addr {
        ResourceAddr::Tenant(id) => Some(id),
        _ => None,
    }
}

/// A tenant body's parent (`parent`, when set) and children (`successors`).
fn family(body: Option<&Value>) -> (impl Iterator<Item = &str>, impl Iterator<Item = &str>) {
    let parent = body
        .and_then(|b| b.get("parent"))
        .and_then(Value::as_str)
        .filter(|p| !p.is_empty());
    let successors = body
        .and_then(|b| b.get("successors"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter(|s| !s.is_empty());
    (parent.into_iter(), successors)
}
