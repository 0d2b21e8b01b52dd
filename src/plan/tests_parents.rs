//! Sub-tenants (a live tenant's `parent`, its children listed as `successors`): a child is deleted
//! before its parent and created after it, and deleting a tenant whose sub-tenant stays is warned.

use serde_json::{Value, json};

use super::test_fixtures::*;
use super::*;

fn tenant(id: &str, parent: &str, successors: &[&str]) -> Value {
    json!({"id": id, "name": id.to_uppercase(), "parent": parent, "successors": successors})
}

#[test]
fn a_sub_tenant_is_deleted_before_its_parent() {
    // By address alone the parent would go first (`a-parent` < `b-child`).
    let live = [
        ("tenant.a-parent", tenant("a-parent", "", &["b-child"])),
        (
            "tenant.b-child",
            tenant("b-child", "a-parent", &["c-grandchild"]),
        ),
        (
            "tenant.c-grandchild",
            tenant("c-grandchild", "b-child", &[]),
        ),
    ];
    let plan = run(&desired(json!({})), &snapshot(&live), &prior(&live));
    assert_eq!(
        steps(&plan),
        [
            "- tenant.c-grandchild",
            "- tenant.b-child",
            "- tenant.a-parent"
        ]
    );
    // Dependencies, not only the order: the executor runs independent changes at once.
    assert_eq!(plan.changes[1].depends_on, ChangeId::list(&[0]));
    assert_eq!(plan.changes[2].depends_on, ChangeId::list(&[1]));
    assert!(plan.changes.iter().all(|c| c.warnings.is_empty()));
}

#[test]
fn deleting_a_tenant_whose_sub_tenant_stays_is_warned() {
    let managed = [("tenant.a-parent", tenant("a-parent", "", &["b-child"]))];
    let mut live = managed.to_vec();
    // Unmanaged; one named only by its own `parent`, one only in the parent's `successors`.
    live.push(("tenant.b-child", tenant("b-child", "", &[])));
    live.push(("tenant.z-child", tenant("z-child", "a-parent", &[])));
    let plan = run(&desired(json!({})), &snapshot(&live), &prior(&managed));
    assert_eq!(steps(&plan), ["- tenant.a-parent"]);
    assert_eq!(
        change(&plan, "tenant.a-parent").warnings,
        [Warning::KeepsSubTenants {
            tenant: addr("tenant.a-parent"),
            children: vec![addr("tenant.b-child"), addr("tenant.z-child")],
        }]
    );
}

#[test]
fn a_sub_tenant_deleted_by_the_same_plan_is_no_warning() {
    let live = [
        ("tenant.a-parent", tenant("a-parent", "", &["b-child"])),
        ("tenant.b-child", tenant("b-child", "a-parent", &[])),
    ];
    let plan = run(
        &desired(json!({"tenants": [{"id": "a-parent", "name": "A-PARENT"}]})),
        &snapshot(&live),
        &prior(&live),
    );
    assert_eq!(steps(&plan), ["- tenant.b-child"]);
    assert!(change(&plan, "tenant.b-child").warnings.is_empty());
}
