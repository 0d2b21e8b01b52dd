//! Tenant names are unique in a project: hand-offs are ordered, swaps refused, clashes and id
//! changes said loudly.

use serde_json::{Value, json};

use super::test_fixtures::*;
use super::*;

fn tenant(id: &str, name: &str) -> Value {
    json!({"id": id, "name": name})
}

/// Tenants live and in state under their current names, declared under the new ones.
fn renames(moves: &[(&str, &str, &str)]) -> Result<Plan, PlanError> {
    let live: Vec<(String, Value)> = moves
        .iter()
        .map(|(id, from, _)| (format!("tenant.{id}"), tenant(id, from)))
        .collect();
    let live: Vec<(&str, Value)> = live.iter().map(|(a, v)| (a.as_str(), v.clone())).collect();
    let declared: Vec<Value> = moves.iter().map(|(id, _, to)| tenant(id, to)).collect();
    try_run(
        &desired(json!({ "tenants": declared })),
        &snapshot(&live),
        &prior(&live),
    )
}

#[test]
fn a_name_swap_between_two_tenants_is_refused_with_the_two_apply_way_out() {
    let err = renames(&[("a", "Alpha", "Beta"), ("b", "Beta", "Alpha")]).unwrap_err();
    assert_eq!(
        err,
        PlanError::TenantNameCycle(vec![
            TenantRename {
                tenant: addr("tenant.a"),
                from: "Alpha".into(),
                to: "Beta".into()
            },
            TenantRename {
                tenant: addr("tenant.b"),
                from: "Beta".into(),
                to: "Alpha".into()
            },
        ])
    );
    let message = err.to_string();
    for part in [
        "`tenant.a`",
        "`tenant.b`",
        "`Alpha`",
        "`Beta`",
        "temporary name",
    ] {
        assert!(message.contains(part), "{part} missing from: {message}");
    }
}

#[test]
fn a_cycle_of_three_tenant_renames_is_refused_naming_every_step() {
    let err = renames(&[
        ("a", "Alpha", "Beta"),
        ("b", "Beta", "Gamma"),
        ("c", "Gamma", "Alpha"),
    ])
    .unwrap_err();
    let PlanError::TenantNameCycle(cycle) = &err else {
        panic!("not a name cycle: {err}");
    };
    let shown: Vec<String> = cycle
        .iter()
        .map(|r| format!("{}: {} -> {}", r.tenant, r.from, r.to))
        .collect();
    assert_eq!(
        shown,
        [
            "tenant.a: Alpha -> Beta",
            "tenant.b: Beta -> Gamma",
            "tenant.c: Gamma -> Alpha"
        ]
    );
}

#[test]
fn a_rename_into_a_name_another_rename_frees_runs_after_it() {
    let plan = renames(&[("a", "Alpha", "Beta"), ("b", "Beta", "Gamma")]).unwrap();
    assert_eq!(steps(&plan), ["~ tenant.b", "~ tenant.a"]);
    assert_eq!(plan.changes[1].depends_on, ChangeId::list(&[0]));
    assert!(plan.changes.iter().all(|c| c.warnings.is_empty()));
}

#[test]
fn a_new_tenant_takes_a_name_an_update_gives_up_only_after_the_update() {
    let d = desired(json!({"tenants": [tenant("a-new", "Old"), tenant("z", "New")]}));
    let live = [("tenant.z", tenant("z", "Old"))];
    let plan = run(&d, &snapshot(&live), &prior(&live));
    assert_eq!(steps(&plan), ["~ tenant.z", "+ tenant.a-new"]);
    assert_eq!(plan.changes[1].depends_on, ChangeId::list(&[0]));
}

#[test]
fn an_update_takes_a_name_a_deleted_tenant_gives_up_only_after_the_delete() {
    let d = desired(json!({"tenants": [tenant("acme", "Acme")]}));
    let live = [
        ("tenant.acme", tenant("acme", "Acme Corp")),
        ("tenant.old", tenant("old", "Acme")),
    ];
    let plan = run(&d, &snapshot(&live), &prior(&live));
    assert_eq!(steps(&plan), ["- tenant.old", "~ tenant.acme"]);
    assert_eq!(plan.changes[1].depends_on, ChangeId::list(&[0]));
}

#[test]
fn an_update_to_a_name_a_live_tenant_keeps_warns_that_descope_will_refuse_it() {
    let d = desired(json!({"tenants": [tenant("a", "Beta"), tenant("b", "Beta Two")]}));
    let live = [
        ("tenant.a", tenant("a", "Alpha")),
        ("tenant.b", tenant("b", "Beta Two")),
        ("tenant.stranger", tenant("stranger", "Beta")),
    ];
    let managed = [live[0].clone(), live[1].clone()];
    let plan = run(&d, &snapshot(&live), &prior(&managed));
    assert_eq!(steps(&plan), ["~ tenant.a"]);
    let warnings = &plan.changes[0].warnings;
    assert_eq!(
        *warnings,
        [Warning::TenantNameTaken {
            holder: addr("tenant.stranger"),
            name: "Beta".into(),
            create: false,
        }]
    );
}

#[test]
fn an_id_change_that_also_renames_warns_naming_both_ids() {
    let d = desired(json!({"tenants": [tenant("acme-corp", "Acme Corp")]}));
    let live = [("tenant.acme", tenant("acme", "Acme"))];
    let plan = run(&d, &snapshot(&live), &prior(&live));
    assert_eq!(steps(&plan), ["+ tenant.acme-corp", "- tenant.acme"]);
    for c in &plan.changes {
        assert_eq!(
            c.warnings,
            [Warning::MaybeTenantIdChange {
                old: addr("tenant.acme"),
                new: addr("tenant.acme-corp"),
                old_name: "Acme".into(),
                new_name: "Acme Corp".into(),
            }]
        );
    }
}

#[test]
fn recreating_a_tenant_deleted_outside_dmgmt_is_not_called_an_id_change() {
    let d = desired(json!({"tenants": [tenant("gone", "Gone Ltd")]}));
    let p = prior(&[
        ("tenant.gone", tenant("gone", "Gone Ltd")),
        ("tenant.old", tenant("old", "Old Co")),
    ]);
    let s = snapshot(&[("tenant.old", tenant("old", "Old Co"))]);
    let plan = run(&d, &s, &p);
    assert_eq!(steps(&plan), ["+ tenant.gone", "- tenant.old"]);
    assert!(plan.changes.iter().all(|c| c.warnings.is_empty()));
}

#[test]
fn a_delete_beside_several_new_tenants_names_them_all_as_possible_id_changes() {
    let d = desired(json!({"tenants": [tenant("b", "B"), tenant("c", "C")]}));
    let live = [("tenant.a", tenant("a", "A"))];
    let plan = run(&d, &snapshot(&live), &prior(&live));
    assert_eq!(steps(&plan), ["+ tenant.b", "+ tenant.c", "- tenant.a"]);
    assert_eq!(
        change(&plan, "tenant.a").warnings,
        [Warning::MaybeTenantIdChanges {
            tenant: addr("tenant.a"),
            others: vec![addr("tenant.b"), addr("tenant.c")],
            others_deleted: false,
        }]
    );
    assert!(matches!(
        &change(&plan, "tenant.b").warnings[..],
        [Warning::MaybeTenantIdChange { old, new, .. }]
            if *old == addr("tenant.a") && *new == addr("tenant.b")
    ));
}

#[test]
fn the_swap_refusal_says_how_to_do_it_in_two_applies() {
    let err = renames(&[("a", "Alpha", "Beta"), ("b", "Beta", "Alpha")]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "tenants `tenant.a` and `tenant.b` take each other's names (`tenant.a` from `Alpha` to `Beta`, `tenant.b` from `Beta` to `Alpha`): Descope keeps tenant names unique, so no order of updates can apply this; do it in two applies: first rename `tenant.a` to a temporary name (e.g. `Alpha (renaming)`) and apply, then rename it to `Beta` and apply again"
    );
}
