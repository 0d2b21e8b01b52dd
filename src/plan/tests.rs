//! Planner scenarios: every action, the graph order, field ownership, guards, drift, targets,
//! determinism.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::test_fixtures::{addr, desired, snapshot};
use super::*;
use crate::model::{DesiredState, ResourceAddr, Snapshot};

fn prior(entries: &[(&str, Value, bool)]) -> BTreeMap<ResourceAddr, Prior> {
    entries
        .iter()
        .map(|(a, attrs, prevent)| {
            let fields = attrs.as_object().unwrap().keys().cloned().collect();
            (
                addr(a),
                Prior {
                    attributes: attrs.clone(),
                    managed_fields: fields,
                    prevent_destroy: *prevent,
                    digest: None,
                    id: None,
                },
            )
        })
        .collect()
}

fn run(
    d: &DesiredState,
    s: &Snapshot,
    p: &BTreeMap<ResourceAddr, Prior>,
    targets: &[ResourceAddr],
) -> Plan {
    plan(&PlanInput {
        desired: d,
        snapshot: s,
        prior: p,
        targets,
    })
    .unwrap()
}

/// `symbol addr` per change, in order.
fn steps(plan: &Plan) -> Vec<String> {
    plan.changes
        .iter()
        .map(|c| match &c.action {
            Action::SetDefaultRoles => format!("~ {} (default roles)", c.addr),
            Action::Rename { from } => format!("~ {} (from {from})", c.addr),
            a => format!("{} {}", a.symbol(), c.addr),
        })
        .collect()
}

#[test]
fn nothing_declared_nothing_live_is_no_change() {
    let plan = run(
        &desired(json!({})),
        &Snapshot::default(),
        &BTreeMap::new(),
        &[],
    );
    assert!(plan.is_empty());
    assert_eq!(plan.summary, Summary::default());
}

#[test]
fn creates_follow_dependencies_permission_role_tenant_default_roles() {
    let d = desired(json!({
        "permissions": [{"name": "billing.read"}],
        "roles": [
            {"name": "Viewer", "permissions": ["billing.read"]},
            {"name": "Auditor", "tenant": "acme", "permissions": ["billing.read"]}
        ],
        "tenants": [{"id": "acme", "name": "Acme", "default_roles": ["Viewer", "Auditor"]}]
    }));
    let plan = run(&d, &Snapshot::default(), &BTreeMap::new(), &[]);
    assert_eq!(
        steps(&plan),
        [
            "+ permission.billing.read",
            "+ role.Viewer",
            "+ tenant.acme",
            "+ role.acme/Auditor",
            "~ tenant.acme (default roles)"
        ]
    );
    // The scoped role waits for its tenant and its permission; default roles wait for both roles.
    assert_eq!(plan.changes[3].depends_on, ChangeId::list(&[0, 2]));
    assert_eq!(plan.changes[4].depends_on, ChangeId::list(&[1, 2, 3]));
    assert_eq!(
        plan.summary,
        Summary {
            add: 4,
            change: 1,
            ..Summary::default()
        },
        "the default-roles step of a new tenant is shown, so it is counted"
    );
    assert_eq!(
        plan.changes[2].after,
        Some(json!({"id": "acme", "name": "Acme"})),
        "created without default roles first"
    );
}

#[test]
fn updates_touch_only_managed_fields_and_keep_the_rest_live() {
    let d = desired(
        json!({"tenants": [{"id": "acme", "name": "Acme Corp", "custom_attributes": {"plan": "pro"}}]}),
    );
    let live = json!({"id": "acme", "name": "Acme", "enforce_sso": true, "self_provisioning_domains": ["acme.com"], "custom_attributes": {"plan": "free", "region": "eu"}, "disabled": false});
    let s = snapshot(&[("tenant.acme", live.clone())]);
    let p = prior(&[("tenant.acme", live.clone(), false)]);
    let plan = run(&d, &s, &p, &[]);
    assert_eq!(steps(&plan), ["~ tenant.acme"]);
    let change = &plan.changes[0];
    assert_eq!(
        change
            .diffs
            .iter()
            .map(|d| d.field.as_str())
            .collect::<Vec<_>>(),
        ["name", "custom_attributes.plan"]
    );
    let after = change.after.as_ref().unwrap();
    assert_eq!(
        after["enforceSSO"], true,
        "a field set live but absent from config survives"
    );
    assert_eq!(after["selfProvisioningDomains"], json!(["acme.com"]));
    assert_eq!(
        after["customAttributes"],
        json!({"plan": "pro", "region": "eu"})
    );
    assert_eq!(change.live_digest.as_deref(), Some("digest-of-tenant.acme"));
    assert_eq!(plan.summary.change, 1);
}

#[test]
fn an_unchanged_object_plans_nothing() {
    let d = desired(json!({"permissions": [{"name": "a", "description": "x"}]}));
    let live = json!({"name": "a", "description": "x"});
    let plan = run(
        &d,
        &snapshot(&[("permission.a", live.clone())]),
        &prior(&[("permission.a", live, false)]),
        &[],
    );
    assert!(plan.is_empty(), "{:?}", steps(&plan));
}

#[test]
fn renamed_from_renames_in_place_keeping_the_id() {
    let d = desired(
        json!({"roles": [{"name": "Billing Admin", "renamed_from": "Billing Manager", "description": "Billing"}]}),
    );
    let live = json!({"name": "Billing Manager", "description": "Billing", "permissions": []});
    let plan = run(
        &d,
        &snapshot(&[("role.Billing Manager", live.clone())]),
        &prior(&[("role.Billing Manager", live, false)]),
        &[],
    );
    assert_eq!(
        steps(&plan),
        ["~ role.Billing Admin (from Billing Manager)"]
    );
    let c = &plan.changes[0];
    assert_eq!(c.live_id.as_deref(), Some("ROL-role.Billing Manager"));
    assert_eq!(
        c.diffs[0],
        AttrDiff {
            field: "name".into(),
            before: Some(json!("Billing Manager")),
            after: Some(json!("Billing Admin"))
        }
    );
    assert_eq!(
        plan.summary,
        Summary {
            change: 1,
            ..Summary::default()
        },
        "the old name is not deleted"
    );
}

#[test]
fn deletes_run_in_reverse_dependency_order() {
    let p = prior(&[
        ("permission.a", json!({"name": "a"}), false),
        (
            "role.acme/R",
            json!({"name": "R", "tenant": "acme", "permissions": ["a"]}),
            false,
        ),
        ("tenant.acme", json!({"id": "acme", "name": "Acme"}), false),
    ]);
    let s = snapshot(&[
        ("permission.a", json!({"name": "a"})),
        (
            "role.acme/R",
            json!({"name": "R", "tenant": "acme", "permissions": ["a"]}),
        ),
        ("tenant.acme", json!({"id": "acme", "name": "Acme"})),
    ]);
    let plan = run(&desired(json!({})), &s, &p, &[]);
    assert_eq!(
        steps(&plan),
        ["- role.acme/R", "- tenant.acme", "- permission.a"]
    );
    assert_eq!(plan.changes[1].depends_on, ChangeId::list(&[0]));
    assert_eq!(plan.changes[2].depends_on, ChangeId::list(&[0]));
    assert_eq!(plan.summary.destroy, 3);
}

#[test]
fn a_permission_is_deleted_only_after_roles_let_go_of_it() {
    let d = desired(
        json!({"permissions": [{"name": "b"}], "roles": [{"name": "R", "permissions": ["b"]}]}),
    );
    let s = snapshot(&[
        ("permission.a", json!({"name": "a"})),
        ("permission.b", json!({"name": "b"})),
        ("role.R", json!({"name": "R", "permissions": ["a", "b"]})),
    ]);
    let p = prior(&[
        ("permission.a", json!({"name": "a"}), false),
        ("permission.b", json!({"name": "b"}), false),
        (
            "role.R",
            json!({"name": "R", "permissions": ["a", "b"]}),
            false,
        ),
    ]);
    let plan = run(&d, &s, &p, &[]);
    assert_eq!(steps(&plan), ["~ role.R", "- permission.a"]);
    assert_eq!(plan.changes[1].depends_on, ChangeId::list(&[0]));
}

#[test]
fn a_role_update_that_still_sends_a_permission_being_deleted_runs_before_the_delete() {
    // The configuration writes the role's description, not its permissions: the update sends the
    // live grants, `a` among them, so `a` may go only after it.
    let d = desired(json!({"roles": [{"name": "R", "description": "new"}]}));
    let s = snapshot(&[
        ("permission.a", json!({"name": "a"})),
        (
            "role.R",
            json!({"name": "R", "description": "old", "permissions": ["a"]}),
        ),
    ]);
    let p = prior(&[
        ("permission.a", json!({"name": "a"}), false),
        (
            "role.R",
            json!({"name": "R", "description": "old", "permissions": ["a"]}),
            false,
        ),
    ]);
    let plan = run(&d, &s, &p, &[]);
    assert_eq!(steps(&plan), ["~ role.R", "- permission.a"]);
    assert_eq!(plan.changes[1].depends_on, ChangeId::list(&[0]));
}

#[test]
fn declared_objects_already_live_are_adopted_and_others_are_unmanaged_notes() {
    let d = desired(
        json!({"tenants": [{"id": "acme", "name": "Acme Corp"}, {"id": "same", "name": "Same"}]}),
    );
    let s = snapshot(&[
        ("tenant.acme", json!({"id": "acme", "name": "Acme"})),
        ("tenant.same", json!({"id": "same", "name": "Same"})),
        ("tenant.other", json!({"id": "other", "name": "Other"})),
        ("theme", json!({"document": {}})),
    ]);
    let plan = run(&d, &s, &BTreeMap::new(), &[]);
    assert_eq!(steps(&plan), ["= tenant.acme", "= tenant.same"]);
    assert_eq!(plan.changes[0].diffs.len(), 1);
    assert!(plan.changes[0].calls_api() && !plan.changes[1].calls_api());
    assert_eq!(
        plan.unmanaged,
        [addr("tenant.other")],
        "the theme is never listed as unmanaged"
    );
    assert_eq!(
        plan.summary,
        Summary {
            adopt: 2,
            change: 1,
            ..Summary::default()
        }
    );
}

#[test]
fn deletion_guards_are_shown_at_plan_time() {
    let p = prior(&[
        ("tenant.a", json!({"id": "a", "name": "A"}), true),
        ("tenant.b", json!({"id": "b", "name": "B"}), false),
    ]);
    let s = snapshot(&[
        ("tenant.a", json!({"id": "a", "name": "A"})),
        ("tenant.b", json!({"id": "b", "name": "B"})),
    ]);
    let plan = run(&desired(json!({})), &s, &p, &[]);
    assert_eq!(plan.changes[0].guard, Some(Guard::PreventDestroy));
    assert_eq!(plan.changes[1].guard, None);
    let plan = run(&desired(json!({"protected": true})), &s, &p, &[]);
    assert_eq!(plan.changes[1].guard, Some(Guard::Protected));
}

#[test]
fn drift_reports_changes_and_deletions_outside_dmgmt() {
    let d = desired(json!({"tenants": [{"id": "a", "name": "A"}, {"id": "b", "name": "B"}]}));
    let p = prior(&[
        (
            "tenant.a",
            json!({"id": "a", "name": "A", "enforce_sso": false}),
            false,
        ),
        ("tenant.b", json!({"id": "b", "name": "B"}), false),
    ]);
    let s = snapshot(&[(
        "tenant.a",
        json!({"id": "a", "name": "A", "enforce_sso": true}),
    )]);
    let plan = run(&d, &s, &p, &[]);
    assert_eq!(plan.drift.len(), 2);
    assert_eq!(
        (plan.drift[0].kind, plan.drift[0].diffs[0].field.as_str()),
        (DriftKind::Changed, "enforce_sso")
    );
    assert_eq!(plan.drift[1].kind, DriftKind::Deleted);
    assert_eq!(
        steps(&plan),
        ["+ tenant.b"],
        "deleted outside dmgmt and still declared: created again"
    );
}

#[test]
fn a_changed_tenant_id_is_a_loud_delete_then_create() {
    let d = desired(json!({"tenants": [{"id": "acme-corp", "name": "Acme"}]}));
    let s = snapshot(&[("tenant.acme", json!({"id": "acme", "name": "Acme"}))]);
    let p = prior(&[("tenant.acme", json!({"id": "acme", "name": "Acme"}), false)]);
    let plan = run(&d, &s, &p, &[]);
    assert_eq!(
        steps(&plan),
        ["- tenant.acme", "+ tenant.acme-corp"],
        "the name is freed before it is reused"
    );
    assert_eq!(plan.changes[1].depends_on, ChangeId::list(&[0]));
    assert_eq!(
        plan.changes[0].warnings,
        [Warning::TenantIdChange {
            from: addr("tenant.acme"),
            to: addr("tenant.acme-corp"),
        }]
    );
    assert_eq!(plan.changes[0].warnings, plan.changes[1].warnings);
}

#[test]
fn the_theme_is_forgotten_not_deleted() {
    let s = snapshot(&[("theme", json!({"document": {"theme": {}}}))]);
    let p = prior(&[("theme", json!({"document": {"theme": {}}}), false)]);
    let plan = run(&desired(json!({})), &s, &p, &[]);
    assert_eq!(steps(&plan), ["x theme"]);
    assert!(!plan.changes[0].calls_api());
}

#[test]
fn targets_keep_what_they_depend_on() {
    let d = desired(json!({
        "permissions": [{"name": "a"}, {"name": "z"}],
        "roles": [{"name": "R", "permissions": ["a"]}],
        "tenants": [{"id": "t", "name": "T"}]
    }));
    let plan = run(
        &d,
        &Snapshot::default(),
        &BTreeMap::new(),
        &[addr("role.R")],
    );
    assert_eq!(steps(&plan), ["+ permission.a", "+ role.R"]);
    assert_eq!(plan.changes[1].depends_on, ChangeId::list(&[0]));
}

#[test]
fn flows_follow_the_theme_and_the_roles_they_name() {
    // The label names another role too, but only the typed references (`Flow::refs`, found when
    // the template was loaded) make an edge.
    let doc =
        json!({"flow": {"dsl": {"roles": ["Support Agent"], "label": "Auditor"}}, "screens": []});
    let refs = json!({"roles": [{"name": "Support Agent", "json_path": "$.flow.dsl.roles[0]"}], "tenants": []});
    let d = desired(json!({
        "roles": [{"name": "Support Agent"}, {"name": "Auditor"}],
        "flows": [{"id": "f", "template": "flows/f.json", "document": doc, "refs": refs}],
        "theme": {"template": "flows/theme.json", "document": {"theme": {"x": 1}}}
    }));
    let s = snapshot(&[("theme", json!({"document": {"theme": {"x": 0}}}))]);
    let p = prior(&[("theme", json!({"document": {"theme": {"x": 0}}}), false)]);
    let plan = run(&d, &s, &p, &[]);
    assert_eq!(
        steps(&plan),
        [
            "+ role.Auditor",
            "+ role.Support Agent",
            "~ theme",
            "+ flow.f"
        ]
    );
    assert_eq!(plan.changes[3].depends_on, ChangeId::list(&[1, 2]));
}

#[test]
fn plans_are_deterministic_whatever_the_input_order() {
    let body = json!({
        "permissions": [{"name": "a"}, {"name": "b"}, {"name": "c"}],
        "roles": [{"name": "R1", "permissions": ["a", "b"]}, {"name": "R2", "permissions": ["c"]}, {"name": "S", "tenant": "t2"}],
        "tenants": [{"id": "t1", "name": "T1", "default_roles": ["R1"]}, {"id": "t2", "name": "T2", "default_roles": ["S", "R2"]}]
    });
    let mut reversed = body.clone();
    for list in ["permissions", "roles", "tenants"] {
        reversed[list].as_array_mut().unwrap().reverse();
    }
    reversed["roles"][2]["permissions"] = json!(["b", "a"]);
    let s = snapshot(&[
        ("tenant.t1", json!({"id": "t1", "name": "T1"})),
        ("permission.old", json!({"name": "old"})),
    ]);
    let p = prior(&[("permission.old", json!({"name": "old"}), false)]);
    let a = serde_json::to_string(&run(&desired(body), &s, &p, &[])).unwrap();
    let b = serde_json::to_string(&run(&desired(reversed), &s, &p, &[])).unwrap();
    assert_eq!(a, b);
}

#[test]
fn every_step_shown_is_counted_in_the_summary() {
    let roles = json!([{"name": "Viewer"}]);
    let viewer = ("role.Viewer", json!({"name": "Viewer"}));
    // An existing, managed tenant that only gets its default roles.
    let d = desired(
        json!({"roles": roles, "tenants": [{"id": "a", "name": "A", "default_roles": ["Viewer"]}]}),
    );
    let s = snapshot(&[
        viewer.clone(),
        ("tenant.a", json!({"id": "a", "name": "A"})),
    ]);
    let p = prior(&[
        ("role.Viewer", json!({"name": "Viewer"}), false),
        ("tenant.a", json!({"id": "a", "name": "A"}), false),
    ]);
    let plan = run(&d, &s, &p, &[]);
    assert_eq!(steps(&plan), ["~ tenant.a (default roles)"]);
    assert_eq!(
        plan.summary,
        Summary {
            change: 1,
            ..Summary::default()
        }
    );

    // The same tenant renamed too: two steps, two changes.
    let d = desired(
        json!({"roles": roles, "tenants": [{"id": "a", "name": "A2", "default_roles": ["Viewer"]}]}),
    );
    let plan = run(&d, &s, &p, &[]);
    assert_eq!(steps(&plan), ["~ tenant.a", "~ tenant.a (default roles)"]);
    assert_eq!(plan.summary.change, 2);

    // Adopted as declared, but its default roles change: one adoption, one change.
    let plan = run(
        &desired(
            json!({"roles": roles, "tenants": [{"id": "a", "name": "A", "default_roles": ["Viewer"]}]}),
        ),
        &s,
        &prior(&[("role.Viewer", json!({"name": "Viewer"}), false)]),
        &[],
    );
    assert_eq!(steps(&plan), ["= tenant.a", "~ tenant.a (default roles)"]);
    assert_eq!(
        plan.summary,
        Summary {
            adopt: 1,
            change: 1,
            ..Summary::default()
        }
    );

    // Whatever the mix, the counts add up to the steps shown (an adoption that changes fields is
    // shown once and counted as an adoption and a change).
    let d = desired(json!({
        "roles": [{"name": "Viewer"}, {"name": "Editor"}],
        "tenants": [
            {"id": "a", "name": "A", "default_roles": ["Viewer"]},
            {"id": "b", "name": "B2", "default_roles": ["Editor"]},
            {"id": "c", "name": "C", "default_roles": ["Viewer"]}
        ]
    }));
    let s = snapshot(&[
        viewer,
        ("tenant.a", json!({"id": "a", "name": "A"})),
        ("tenant.b", json!({"id": "b", "name": "B"})),
        ("tenant.gone", json!({"id": "gone", "name": "Gone"})),
    ]);
    let p = prior(&[
        ("role.Viewer", json!({"name": "Viewer"}), false),
        ("tenant.a", json!({"id": "a", "name": "A"}), false),
        ("tenant.gone", json!({"id": "gone", "name": "Gone"}), false),
    ]);
    let plan = run(&d, &s, &p, &[]);
    let sum = plan.summary;
    let adopted_with_changes = plan
        .changes
        .iter()
        .filter(|c| c.action == Action::Adopt && !c.diffs.is_empty())
        .count();
    assert_eq!(
        sum.add + sum.change + sum.destroy + sum.adopt + sum.forget - adopted_with_changes,
        plan.changes.len(),
        "{:?} vs {sum:?}",
        steps(&plan)
    );
}
