//! What Descope changes on its own when dmgmt deletes or renames something: a tenant's delete
//! takes its tenant-scoped roles with it; a permission's delete removes it from every role that
//! grants it; a role's delete removes it from the default roles of the tenants that name it (every
//! tenant for a project role, its own tenant for a tenant role); and a permission's rename renames
//! it in the roles that grant it or removes it from them. The emulator does all of these (either
//! of the last); whether Descope does is undocumented, so the plan says "may". Such a side effect
//! is recorded on the delete or the rename ([`Cascade`]) and said in a warning whenever the plan
//! does not already do the same to that object itself — above all when the object is one dmgmt
//! does not manage, since the plan otherwise promises to leave those alone. Every object a cascade
//! names is in the pre-apply backup, so a restore of it can bring the object back.
//!
//! Reads the live snapshot's config-shaped attributes (a role's `tenant` and `permissions`, a
//! tenant's `default_roles`) and the bodies the changes send (Descope's names: `permissionNames`); adds warnings and cascades to
//! the changes, never adds, removes or reorders a change.

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

use super::planner::PlanInput;
use super::types::{Action, Cascade, CascadeEffect, Change};
use super::warning::Warning;
use crate::model::{ResourceAddr, ResourceKind, Role, attrs};

/// Adds to each delete the live roles it changes as a side effect, and the warnings saying so.
pub(super) fn annotate(changes: &mut [Change], input: &PlanInput<'_>) {
    let found = Reach::new(changes, input).cascades();
    for (i, cascade) in found {
        changes[i].cascades.push(cascade);
    }
    warn(changes);
}

/// What the cascades of a plan's changes are found from.
struct Reach<'c> {
    changes: &'c [Change],
    input: &'c PlanInput<'c>,
    /// Each change by the address its object has live (a rename's old name).
    by_live: HashMap<ResourceAddr, usize>,
    declared: BTreeSet<ResourceAddr>,
    deleted_tenants: BTreeSet<&'c str>,
    roles: Vec<(&'c ResourceAddr, &'c Value)>,
}

impl<'c> Reach<'c> {
    fn new(changes: &'c [Change], input: &'c PlanInput<'c>) -> Self {
        // Each change by the address its object has live (a rename's old name).
        let by_live: HashMap<ResourceAddr, usize> = changes
            .iter()
            .enumerate()
            .filter(|(_, c)| c.action != Action::SetDefaultRoles)
            .map(|(i, c)| (live_addr(c), i))
            .collect();
        let declared: BTreeSet<ResourceAddr> = input.desired.roles.iter().map(Role::addr).collect();
        let deleted_tenants: BTreeSet<&str> = changes
            .iter()
            .filter(|c| c.action == Action::Delete)
            .filter_map(|c| match &c.addr {
                ResourceAddr::Tenant(id) => Some(id.as_str()),
                _ => None,
            })
            .collect();
        let roles: Vec<(&ResourceAddr, &Value)> = input
            .snapshot
            .objects
            .iter()
            .filter(|(a, _)| matches!(a, ResourceAddr::Role { .. }))
            .map(|(a, obj)| (a, &obj.attributes))
            .collect();
        Reach {
            changes,
            input,
            by_live,
            declared,
            deleted_tenants,
            roles,
        }
    }

    fn managed(&self, a: &ResourceAddr) -> bool {
        self.input.prior.contains_key(a)
            || self.declared.contains(a)
            || self.by_live.contains_key(a)
    }

    /// What the plan itself does to a live role: delete it, or leave it granting a permission.
    fn planned(&self, a: &ResourceAddr) -> Option<&'c Change> {
        self.by_live.get(a).map(|&j| &self.changes[j])
    }

    fn deleted_by_plan(&self, a: &ResourceAddr) -> bool {
        self.planned(a).is_some_and(|c| c.action.is_delete())
    }

    fn goes_with_tenant(&self, role: &ResourceAddr, attrs: &Value) -> bool {
        scope(role, attrs).is_some_and(|t| self.deleted_tenants.contains(t))
    }

    /// Every change's cascades, by the change's position.
    fn cascades(&self) -> Vec<(usize, Cascade)> {
        let mut found: Vec<(usize, Cascade)> = Vec::new();
        for (i, c) in self.changes.iter().enumerate() {
            for (addr, effect) in self.of(c) {
                found.push((
                    i,
                    Cascade {
                        addr: addr.clone(),
                        effect,
                        managed: self.managed(addr),
                    },
                ));
            }
        }
        found
    }

    /// The objects change `c` reaches, and how.
    fn of(&self, c: &Change) -> Vec<(&'c ResourceAddr, CascadeEffect)> {
        let mut out = Vec::new();
        if let (Action::Rename { from }, ResourceAddr::Permission(_)) = (&c.action, &c.addr) {
            // A role the plan writes itself names the new name (the planner maps it); one it
            // does not write is left to whatever Descope does on a rename.
            for &(role, attrs) in &self.roles {
                if grants(Some(attrs), from)
                    && self.planned(role).is_none()
                    && !self.goes_with_tenant(role, attrs)
                {
                    out.push((role, CascadeEffect::GrantsRenamedPermission));
                }
            }
            return out;
        }
        if c.action != Action::Delete {
            return out;
        }
        match &c.addr {
            ResourceAddr::Tenant(id) => {
                for &(role, attrs) in &self.roles {
                    if scope(role, attrs) == Some(id.as_str()) && !self.deleted_by_plan(role) {
                        out.push((role, CascadeEffect::Deleted));
                    }
                }
            }
            ResourceAddr::Permission(p) => {
                for &(role, attrs) in &self.roles {
                    // A role going with its tenant is said there; one the plan deletes or
                    // stops granting `p` is the plan's own change.
                    let keeps_it = match self.planned(role) {
                        Some(own) => !own.action.is_delete() && sends(own.after.as_ref(), p),
                        None => true,
                    };
                    if grants(Some(attrs), p) && keeps_it && !self.goes_with_tenant(role, attrs) {
                        out.push((role, CascadeEffect::LosesPermission));
                    }
                }
            }
            ResourceAddr::Role { tenant, name } => {
                for t in lost_default_role(self.changes, self.input, tenant.as_deref(), name) {
                    out.push((t, CascadeEffect::LosesDefaultRole));
                }
            }
            _ => {}
        }
        out
    }
}

/// The warnings saying what each change's cascades do: one for the objects dmgmt does not
/// manage, one for those it does.
fn warn(changes: &mut [Change]) {
    for c in changes.iter_mut().filter(|c| !c.cascades.is_empty()) {
        for managed in [false, true] {
            let affected: Vec<Cascade> = c
                .cascades
                .iter()
                .filter(|x| x.managed == managed)
                .cloned()
                .collect();
            if affected.is_empty() {
                continue;
            }
            let said = match (&c.action, &c.addr) {
                (Action::Rename { from }, ResourceAddr::Permission(to)) => {
                    Some(Warning::RenameReachesRoles {
                        from: from.clone(),
                        to: to.clone(),
                        roles: affected.into_iter().map(|x| x.addr).collect(),
                        managed,
                    })
                }
                (Action::Rename { .. }, _) => None,
                _ => Some(Warning::DeleteReaches {
                    deleted: c.addr.clone(),
                    cascades: affected,
                    managed,
                }),
            };
            c.warnings.extend(said);
        }
    }
}

/// The live tenants whose default roles name a deleted role (a tenant role: only its own
/// tenant), leaving out what the plan does itself: a tenant it deletes, or one whose default roles
/// it sets without the role.
fn lost_default_role<'a>(
    changes: &[Change],
    input: &'a PlanInput<'_>,
    scope: Option<&str>,
    role: &str,
) -> Vec<&'a ResourceAddr> {
    let wire = attrs::wire_field(ResourceKind::Tenant, "default_roles").unwrap_or("defaultRoles");
    let rewritten_without = |tenant: &ResourceAddr| {
        changes.iter().any(|c| {
            c.addr == *tenant
                && (c.action.is_delete()
                    || (c.action == Action::SetDefaultRoles
                        && !names(c.after.as_ref(), wire, role)))
        })
    };
    input
        .snapshot
        .objects
        .iter()
        .filter(|(a, obj)| match a {
            ResourceAddr::Tenant(id) => {
                scope.is_none_or(|s| s == id) && names(Some(&obj.attributes), "default_roles", role)
            }
            _ => false,
        })
        .map(|(a, _)| a)
        .filter(|a| !rewritten_without(a))
        .collect()
}

/// The address the object of `c` has live: a rename's old name, else its own.
fn live_addr(c: &Change) -> ResourceAddr {
    match (&c.action, &c.addr) {
        (Action::Rename { from }, ResourceAddr::Role { tenant, .. }) => {
            ResourceAddr::role(tenant.as_deref(), from)
        }
        (Action::Rename { from }, ResourceAddr::Permission(_)) => {
            ResourceAddr::Permission(from.clone())
        }
        _ => c.addr.clone(),
    }
}

/// The tenant a live role belongs to, if it is tenant-scoped.
fn scope<'a>(addr: &'a ResourceAddr, attrs: &'a Value) -> Option<&'a str> {
    attrs
        .get("tenant")
        .and_then(Value::as_str)
        .or(match addr {
            ResourceAddr::Role { tenant, .. } => tenant.as_deref(),
            _ => None,
        })
        .filter(|t| !t.is_empty())
}

/// Whether config-shaped attributes (a live role's) grant `permission`.
fn grants(attrs: Option<&Value>, permission: &str) -> bool {
    names(attrs, "permissions", permission)
}

/// Whether a change's body (Descope's field names: `permissionNames`) grants `permission`.
fn sends(body: Option<&Value>, permission: &str) -> bool {
    let wire = attrs::wire_field(ResourceKind::Role, "permissions").unwrap_or("permissionNames");
    names(body, wire, permission)
}

fn names(object: Option<&Value>, field: &str, permission: &str) -> bool {
    object
        .and_then(|a| a.get(field))
        .and_then(Value::as_array)
        .is_some_and(|ps| ps.iter().any(|p| p.as_str() == Some(permission)))
}
