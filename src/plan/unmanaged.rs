//! The unmanaged objects: live, but neither declared nor in the state. Plan lists them as notes,
//! refresh as new unmanaged objects, import as what it can adopt: all three ask this one function,
//! so they never disagree about what dmgmt manages (docs/reference.md, `plan`).

use std::collections::BTreeSet;

use super::locate::{Ids, Located, locate};
use super::planner::PlanInput;
use crate::model::ResourceAddr;
use crate::model::preconfigured::TENANT_ADMIN_ROLE;

/// Live objects dmgmt does not manage: not declared, not taken over by a declared resource under
/// another name (its `renamed_from`, found the way the planner finds it), and not in the state,
/// by address or by Descope id. Not listed: the theme (one per project), and Descope's
/// preconfigured objects, which every project holds — the system-default permissions
/// (referenced, never managed) and the `Tenant Admin` role (adopted when declared).
/// `input.targets` plays no part.
pub(crate) fn unmanaged(input: &PlanInput<'_>) -> Vec<ResourceAddr> {
    let declared = input.desired.addresses();
    let taken_over = taken_over(input, &declared);
    let prior = input.prior;
    let prior_ids: BTreeSet<&str> = prior.values().filter_map(|p| p.id.as_deref()).collect();
    input
        .snapshot
        .objects
        .iter()
        .filter(|(a, obj)| {
            **a != ResourceAddr::Theme
                && !obj.is_system_default()
                && **a != ResourceAddr::role(None, TENANT_ADMIN_ROLE)
                && !declared.contains(*a)
                && !taken_over.contains(*a)
                && !prior.contains_key(*a)
                && !obj.id.as_deref().is_some_and(|id| prior_ids.contains(id))
        })
        .map(|(a, _)| a.clone())
        .collect()
}

/// The live objects that declared resources rename in place (the planner's renames).
fn taken_over<'a>(
    input: &PlanInput<'a>,
    declared: &BTreeSet<ResourceAddr>,
) -> BTreeSet<&'a ResourceAddr> {
    let ids = Ids::new(input);
    let is_declared = |a: &ResourceAddr| declared.contains(a);
    let renames = input
        .desired
        .permissions
        .iter()
        .map(|p| (p.addr(), p.renamed_from_addr()))
        .chain(
            input
                .desired
                .roles
                .iter()
                .map(|r| (r.addr(), r.renamed_from_addr())),
        );
    // Only a role or permission is ever found under another name: by `renamed_from`, or by the
    // Descope id the state recorded (which `unmanaged` excludes on its own as well).
    renames
        .filter_map(
            |(addr, from)| match locate(&addr, from.as_ref(), input, &is_declared, &ids) {
                Ok(Located::Elsewhere { at, .. }) => Some(at),
                // A refused rename leaves no plan to agree with.
                _ => None,
            },
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::super::test_fixtures::{addr, desired, run, snapshot};
    use super::*;

    #[test]
    fn an_object_a_declared_resource_renames_in_place_is_not_unmanaged() {
        let d = desired(json!({"roles": [{"name": "New", "renamed_from": "Old"}]}));
        let s = snapshot(&[
            ("role.Old", json!({"name": "Old", "permissions": []})),
            ("role.Other", json!({"name": "Other", "permissions": []})),
        ]);
        let prior = BTreeMap::new();
        let input = PlanInput {
            desired: &d,
            snapshot: &s,
            prior: &prior,
            targets: &[],
        };
        // Refresh and import ask the same function as the plan, which renames `Old` in place.
        assert_eq!(unmanaged(&input), [addr("role.Other")]);
        let plan = run(&d, &s, &prior);
        assert_eq!(
            plan.changes[0].action,
            crate::plan::Action::Rename { from: "Old".into() }
        );
        assert_eq!(plan.unmanaged, [addr("role.Other")]);
    }
}
