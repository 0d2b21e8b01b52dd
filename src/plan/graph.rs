//! The change graph (`petgraph`): which change must run before which, the order that follows
//! (creates and updates along dependencies, deletes in reverse), cycles named, and `--target`.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap};

use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use serde_json::Value;

use super::planner::PlanError;
use super::types::{Action, Change, ChangeId};
use crate::model::{FlowRefs, ResourceAddr, ResourceKind, attrs};

/// Orders `changes` so every change comes after those it depends on, filling `depends_on` with
/// the ids of the returned list. `extra` edges (before, after) come from the planner, as
/// positions in `changes` (which are not ids yet: the order is what assigns those).
/// `flow_refs`: what each declared flow references (`Flow::refs`), by address.
pub(crate) fn order(
    changes: Vec<Change>,
    extra: &[(usize, usize)],
    flow_refs: &HashMap<ResourceAddr, &FlowRefs>,
) -> Result<Vec<Change>, PlanError> {
    let mut graph: DiGraph<usize, ()> = DiGraph::with_capacity(changes.len(), changes.len());
    let nodes: Vec<NodeIndex> = (0..changes.len()).map(|i| graph.add_node(i)).collect();
    let mut edges: BTreeSet<(usize, usize)> = dependency_edges(&changes, flow_refs);
    edges.extend(extra.iter().copied());
    for &(before, after) in &edges {
        if before != after {
            graph.add_edge(nodes[before], nodes[after], ());
        }
    }

    // Kahn's algorithm; among the ready changes the smallest key goes first, so the order is
    // total and does not depend on input order.
    let mut indegree: Vec<usize> = nodes
        .iter()
        .map(|&n| graph.neighbors_directed(n, petgraph::Incoming).count())
        .collect();
    let mut ready: BinaryHeap<Reverse<(SortKey, usize)>> = (0..changes.len())
        .filter(|&i| indegree[i] == 0)
        .map(|i| Reverse((sort_key(&changes[i]), i)))
        .collect();
    let mut sorted = Vec::with_capacity(changes.len());
    while let Some(Reverse((_, i))) = ready.pop() {
        sorted.push(i);
        for next in graph.neighbors_directed(nodes[i], petgraph::Outgoing) {
            let j = graph[next];
            indegree[j] -= 1;
            if indegree[j] == 0 {
                ready.push(Reverse((sort_key(&changes[j]), j)));
            }
        }
    }
    if sorted.len() < changes.len() {
        let mut cycle: Vec<ResourceAddr> = tarjan_scc(&graph)
            .into_iter()
            .find(|scc| scc.len() > 1)
            .map(|scc| {
                scc.into_iter()
                    .map(|n| changes[graph[n]].addr.clone())
                    .collect()
            })
            .unwrap_or_default();
        cycle.sort();
        if let Some(first) = cycle.first().cloned() {
            cycle.push(first);
        }
        return Err(PlanError::Cycle(cycle));
    }

    let position: HashMap<usize, ChangeId> = sorted
        .iter()
        .enumerate()
        .map(|(pos, &i)| (i, ChangeId::new(pos)))
        .collect();
    let mut slots: Vec<Option<Change>> = changes.into_iter().map(Some).collect();
    let mut out = Vec::with_capacity(sorted.len());
    for &i in &sorted {
        let Some(mut change) = slots[i].take() else {
            continue;
        };
        let mut deps: Vec<ChangeId> = graph
            .neighbors_directed(nodes[i], petgraph::Incoming)
            .map(|n| position[&graph[n]])
            .collect();
        deps.sort_unstable();
        deps.dedup();
        change.depends_on = deps;
        out.push(change);
    }
    Ok(out)
}

/// Ready changes run creates/updates first, in kind order (permission, role, tenant, theme,
/// flow), then deletes in the reverse kind order; then by address.
type SortKey = (bool, u8, ResourceAddr, u8);

fn sort_key(c: &Change) -> SortKey {
    let rank = match c.kind() {
        ResourceKind::Permission => 0,
        ResourceKind::Role => 1,
        ResourceKind::Tenant => 2,
        ResourceKind::Theme => 3,
        ResourceKind::Flow => 4,
    };
    let delete = c.action.is_delete();
    let sub = match c.action {
        Action::SetDefaultRoles => 1,
        Action::SetSettings => 2,
        _ => 0,
    };
    (
        delete,
        if delete { 4 - rank } else { rank },
        c.addr.clone(),
        sub,
    )
}

/// Where a change's `before`/`after` bodies (Descope's names) hold the config field `field`.
fn wire(kind: ResourceKind, field: &'static str) -> &'static str {
    attrs::wire_field(kind, field).unwrap_or(field)
}

fn strings(v: Option<&Value>, field: &str) -> Vec<String> {
    v.and_then(|v| v.get(field))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(str::to_owned))
        .collect()
}

fn field_str<'a>(v: Option<&'a Value>, field: &str) -> Option<&'a str> {
    v.and_then(|v| v.get(field)).and_then(Value::as_str)
}

/// The edges (before, after) that follow from what changes refer to (docs/architecture.md, "From
/// YAML to Descope").
fn dependency_edges(
    changes: &[Change],
    flow_refs: &HashMap<ResourceAddr, &FlowRefs>,
) -> BTreeSet<(usize, usize)> {
    let mut found = Edges::new(changes);
    for (i, c) in changes.iter().enumerate() {
        match (&c.addr, &c.action) {
            (ResourceAddr::Role { tenant, .. }, Action::Delete) => {
                found.role_delete(i, c, tenant.as_deref())
            }
            (ResourceAddr::Role { tenant, .. }, _) => found.role_write(i, c, tenant.as_deref()),
            // A tenant's settings are set once it exists.
            (ResourceAddr::Tenant(_), Action::SetSettings) => {
                found.edges.extend(found.main.get(&c.addr).map(|&j| (j, i)));
            }
            (ResourceAddr::Tenant(id), Action::SetDefaultRoles) => found.default_roles(i, c, id),
            (ResourceAddr::Flow(_), action) if !action.is_delete() => {
                found.flow(i, flow_refs.get(&c.addr).copied())
            }
            _ => {}
        }
    }
    found.edges
}

fn makes_exist(a: &Action) -> bool {
    matches!(a, Action::Create | Action::Rename { .. })
}

fn is_create(a: &Action) -> bool {
    *a == Action::Create
}

fn is_delete(a: &Action) -> bool {
    a.is_delete()
}

/// The dependency edges found so far, and the indexes they are found with.
struct Edges<'c> {
    changes: &'c [Change],
    /// Indexes: by address, the default-roles and settings steps of a tenant apart.
    main: HashMap<&'c ResourceAddr, usize>,
    /// Roles that come into existence (created or renamed), with their name and scope.
    new_roles: Vec<(usize, &'c str, Option<&'c str>)>,
    edges: BTreeSet<(usize, usize)>,
}

impl<'c> Edges<'c> {
    fn new(changes: &'c [Change]) -> Self {
        let mut main: HashMap<&ResourceAddr, usize> = HashMap::new();
        for (i, c) in changes.iter().enumerate() {
            if !matches!(c.action, Action::SetDefaultRoles | Action::SetSettings) {
                main.insert(&c.addr, i);
            }
        }
        let new_roles = changes
            .iter()
            .enumerate()
            .filter(|(_, c)| makes_exist(&c.action))
            .filter_map(|(i, c)| match &c.addr {
                ResourceAddr::Role { name, tenant } => Some((i, name.as_str(), tenant.as_deref())),
                _ => None,
            })
            .collect();
        Edges {
            changes,
            main,
            new_roles,
            edges: BTreeSet::new(),
        }
    }

    /// The change to `addr`, if there is one whose action satisfies `pred`.
    fn find(&self, addr: ResourceAddr, pred: fn(&Action) -> bool) -> Option<usize> {
        self.main
            .get(&addr)
            .copied()
            .filter(|&j| pred(&self.changes[j].action))
    }

    fn role_delete(&mut self, i: usize, c: &Change, tenant: Option<&str>) {
        let before_perms = strings(c.before.as_ref(), wire(ResourceKind::Role, "permissions"));
        // Deletes run in reverse: the role goes before its permissions and its tenant.
        for p in before_perms {
            let j = self.find(ResourceAddr::Permission(p), is_delete);
            self.edges.extend(j.map(|j| (i, j)));
        }
        let scope = tenant.map(str::to_owned).or_else(|| {
            field_str(c.before.as_ref(), wire(ResourceKind::Role, "tenant"))
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
        });
        if let Some(t) = scope {
            let j = self.find(ResourceAddr::Tenant(t), is_delete);
            self.edges.extend(j.map(|j| (i, j)));
        }
    }

    fn role_write(&mut self, i: usize, c: &Change, tenant: Option<&str>) {
        let role_permissions = wire(ResourceKind::Role, "permissions");
        let before_perms = strings(c.before.as_ref(), role_permissions);
        let after_perms: BTreeSet<String> = strings(c.after.as_ref(), role_permissions)
            .into_iter()
            .collect();
        // Its permissions and its tenant exist first.
        for p in &after_perms {
            let j = self.find(ResourceAddr::Permission(p.clone()), makes_exist);
            self.edges.extend(j.map(|j| (j, i)));
        }
        if let Some(t) = tenant {
            let j = self.find(ResourceAddr::Tenant(t.to_owned()), is_create);
            self.edges.extend(j.map(|j| (j, i)));
        }
        // A permission it stops using, or still names in what it sends (a grant the
        // configuration does not write), is deleted only after this change: the body
        // must not name a permission that no longer exists.
        for p in before_perms.into_iter().chain(after_perms.iter().cloned()) {
            let j = self.find(ResourceAddr::Permission(p), is_delete);
            self.edges.extend(j.map(|j| (i, j)));
        }
    }

    fn default_roles(&mut self, i: usize, c: &Change, id: &str) {
        let default_roles = wire(ResourceKind::Tenant, "default_roles");
        self.edges.extend(self.main.get(&c.addr).map(|&j| (j, i)));
        let wanted: BTreeSet<String> = strings(c.after.as_ref(), default_roles)
            .into_iter()
            .collect();
        for &(j, name, scope) in &self.new_roles {
            if wanted.contains(name) && scope.is_none_or(|s| s == id) {
                self.edges.insert((j, i));
            }
        }
        // A role it stops using is deleted only after the tenant lets go.
        for r in strings(c.before.as_ref(), default_roles)
            .into_iter()
            .filter(|r| !wanted.contains(r))
        {
            for addr in [
                ResourceAddr::role(None, &r),
                ResourceAddr::role(Some(id), &r),
            ] {
                let j = self.find(addr, is_delete);
                self.edges.extend(j.map(|j| (i, j)));
            }
        }
    }

    fn flow(&mut self, i: usize, refs: Option<&FlowRefs>) {
        self.edges
            .extend(self.main.get(&ResourceAddr::Theme).map(|&j| (j, i)));
        // The roles it assigns exist first (found once, when its template was loaded).
        if let Some(refs) = refs {
            let names = refs.role_names();
            for &(j, name, _) in &self.new_roles {
                if names.contains(name) {
                    self.edges.insert((j, i));
                }
            }
        }
    }
}

/// Keeps the changes whose address is targeted, plus everything they depend on, renumbering
/// `depends_on`. No targets: everything.
pub(crate) fn select_targets(changes: Vec<Change>, targets: &[ResourceAddr]) -> Vec<Change> {
    if targets.is_empty() {
        return changes;
    }
    let mut keep = vec![false; changes.len()];
    let mut stack: Vec<ChangeId> = changes
        .iter()
        .enumerate()
        .filter(|(_, c)| targets.contains(&c.addr))
        .map(|(i, _)| ChangeId::new(i))
        .collect();
    while let Some(id) = stack.pop() {
        if std::mem::replace(&mut keep[id.index()], true) {
            continue;
        }
        stack.extend(changes[id.index()].depends_on.iter().copied());
    }
    // A change's dependencies come before it, so each is renumbered before it is needed.
    let mut new_id: Vec<Option<ChangeId>> = vec![None; changes.len()];
    let mut out = Vec::new();
    for (i, mut c) in changes.into_iter().enumerate() {
        if keep[i] {
            new_id[i] = Some(ChangeId::new(out.len()));
            c.depends_on = c
                .depends_on
                .iter()
                .filter_map(|d| new_id[d.index()])
                .collect();
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(addr: &str) -> Change {
        Change::bare(addr, Action::Create)
    }

    #[test]
    fn a_cycle_is_named_by_its_members() {
        let changes = vec![change("flow.a"), change("flow.b"), change("tenant.c")];
        let err = order(changes, &[(0, 1), (1, 0)], &HashMap::new()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the changes depend on each other in a cycle: `flow.a` -> `flow.b` -> `flow.a`"
        );
    }

    #[test]
    fn independent_changes_sort_by_kind_then_address() {
        let changes = vec![
            change("flow.z"),
            change("tenant.b"),
            change("permission.p"),
            change("tenant.a"),
        ];
        let ordered: Vec<String> = order(changes, &[], &HashMap::new())
            .unwrap()
            .iter()
            .map(|c| c.addr.to_string())
            .collect();
        assert_eq!(ordered, ["permission.p", "tenant.a", "tenant.b", "flow.z"]);
    }
}
