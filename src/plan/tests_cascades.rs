//! What Descope changes on its own when dmgmt deletes something (a tenant's roles go with it; a
//! deleted permission leaves every role that grants it) is shown on the delete, and recorded.

use serde_json::{Value, json};

use super::test_fixtures::*;
use super::*;

fn role(name: &str, tenant: Option<&str>, permissions: &[&str]) -> Value {
    let mut v = json!({"name": name, "permissions": permissions});
    if let Some(t) = tenant {
        v["tenant"] = json!(t);
    }
    v
}

fn cascade(a: &str, effect: CascadeEffect, managed: bool) -> Cascade {
    Cascade {
        addr: addr(a),
        effect,
        managed,
    }
}

#[test]
fn deleting_a_tenant_names_the_unmanaged_roles_it_takes_with_it() {
    let managed = [
        ("tenant.acme", json!({"id": "acme", "name": "Acme"})),
        ("role.acme/Managed", role("Managed", Some("acme"), &[])),
    ];
    let mut live = managed.to_vec();
    live.extend([
        ("role.acme/Local", role("Local", Some("acme"), &[])),
        ("role.acme/Other", role("Other", Some("acme"), &[])),
        ("role.Global", role("Global", None, &[])),
        ("role.beta/Local", role("Local", Some("beta"), &[])),
    ]);
    let plan = run(&desired(json!({})), &snapshot(&live), &prior(&managed));
    assert_eq!(steps(&plan), ["- role.acme/Managed", "- tenant.acme"]);
    let delete = change(&plan, "tenant.acme");
    assert_eq!(
        delete.cascades,
        [
            cascade("role.acme/Local", CascadeEffect::Deleted, false),
            cascade("role.acme/Other", CascadeEffect::Deleted, false),
        ],
        "the role the plan deletes itself is no cascade; other scopes are untouched"
    );
    assert_eq!(
        delete.warnings,
        [Warning::DeleteReaches {
            deleted: addr("tenant.acme"),
            cascades: delete.cascades.clone(),
            managed: false,
        }]
    );
    assert!(change(&plan, "role.acme/Managed").cascades.is_empty());
}

#[test]
fn deleting_a_permission_names_the_unmanaged_roles_that_lose_it() {
    let managed = [("permission.p", json!({"name": "p"}))];
    let mut live = managed.to_vec();
    live.extend([
        ("permission.q", json!({"name": "q"})),
        ("role.Other", role("Other", None, &["p", "q"])),
        ("role.acme/Scoped", role("Scoped", Some("acme"), &["p"])),
        ("role.Unrelated", role("Unrelated", None, &["q"])),
    ]);
    let plan = run(&desired(json!({})), &snapshot(&live), &prior(&managed));
    assert_eq!(steps(&plan), ["- permission.p"]);
    assert_eq!(
        plan.changes[0].cascades,
        [
            cascade("role.Other", CascadeEffect::LosesPermission, false),
            cascade("role.acme/Scoped", CascadeEffect::LosesPermission, false),
        ]
    );
    assert_eq!(
        plan.changes[0].warnings,
        [Warning::DeleteReaches {
            deleted: addr("permission.p"),
            cascades: plan.changes[0].cascades.clone(),
            managed: false,
        }]
    );
}

#[test]
fn a_cascade_onto_a_managed_role_the_plan_leaves_alone_is_shown() {
    // The role is declared without `permissions`: dmgmt does not write them, and the plan keeps
    // the live grant of `p` that the permission's delete takes away.
    let d = desired(json!({"roles": [{"name": "R", "description": "d"}]}));
    let managed = [
        ("permission.p", json!({"name": "p"})),
        ("role.R", json!({"name": "R", "description": "d"})),
    ];
    let live = [
        ("permission.p", json!({"name": "p"})),
        (
            "role.R",
            json!({"name": "R", "description": "d", "permissions": ["p"]}),
        ),
    ];
    let plan = run(&d, &snapshot(&live), &prior(&managed));
    assert_eq!(steps(&plan), ["- permission.p"]);
    assert_eq!(
        plan.changes[0].cascades,
        [cascade("role.R", CascadeEffect::LosesPermission, true)]
    );
    assert_eq!(
        plan.changes[0].warnings,
        [Warning::DeleteReaches {
            deleted: addr("permission.p"),
            cascades: vec![cascade("role.R", CascadeEffect::LosesPermission, true)],
            managed: true,
        }]
    );
    assert!(
        plan.unmanaged.is_empty(),
        "a managed role is not in the unmanaged note"
    );
}

#[test]
fn roles_the_plan_deletes_or_strips_itself_are_no_cascade() {
    let d = desired(json!({"roles": [{"name": "Kept", "permissions": []}]}));
    let managed = [
        ("permission.p", json!({"name": "p"})),
        ("tenant.acme", json!({"id": "acme", "name": "Acme"})),
        ("role.acme/R", role("R", Some("acme"), &["p"])),
        ("role.Kept", role("Kept", None, &["p"])),
    ];
    let plan = run(&d, &snapshot(&managed), &prior(&managed));
    assert_eq!(
        steps(&plan),
        [
            "~ role.Kept",
            "- role.acme/R",
            "- tenant.acme",
            "- permission.p"
        ]
    );
    for c in &plan.changes {
        assert!(c.cascades.is_empty() && c.warnings.is_empty(), "{c:?}");
    }
}

#[test]
fn a_role_deleted_with_its_tenant_is_not_also_said_to_lose_a_deleted_permission() {
    let managed = [
        ("permission.p", json!({"name": "p"})),
        ("tenant.acme", json!({"id": "acme", "name": "Acme"})),
    ];
    let mut live = managed.to_vec();
    live.push(("role.acme/Local", role("Local", Some("acme"), &["p"])));
    let plan = run(&desired(json!({})), &snapshot(&live), &prior(&managed));
    assert_eq!(
        change(&plan, "tenant.acme").cascades,
        [cascade("role.acme/Local", CascadeEffect::Deleted, false)]
    );
    assert!(change(&plan, "permission.p").cascades.is_empty());
}

#[test]
fn cascades_are_in_the_plan_json_and_left_out_when_there_are_none() {
    let managed = [("tenant.acme", json!({"id": "acme", "name": "Acme"}))];
    let mut live = managed.to_vec();
    live.push(("role.acme/Local", role("Local", Some("acme"), &[])));
    let plan = run(&desired(json!({})), &snapshot(&live), &prior(&managed));
    let json = serde_json::to_value(&plan).unwrap();
    assert_eq!(
        json["changes"][0]["cascades"],
        json!([{"addr": "role.acme/Local", "effect": "deleted", "managed": false}])
    );
    let back: Plan = serde_json::from_value(json).unwrap();
    assert_eq!(back, plan);

    let quiet = run(&desired(json!({})), &snapshot(&managed), &prior(&managed));
    let json = serde_json::to_value(&quiet).unwrap();
    assert!(json["changes"][0].get("cascades").is_none(), "{json}");
}

#[test]
fn a_role_update_leaves_out_a_grant_of_a_permission_descope_deleted_but_left_in_the_role() {
    // Descope may leave a deleted permission's name in the roles that grant it (docs/descope-api.md
    // §4: UNSURE); sending it back with the role's live grants would be refused.
    let d = desired(json!({
        "permissions": [{"name": "new"}],
        "roles": [{"name": "R", "description": "changed"}]
    }));
    let live = [
        ("permission.kept", json!({"name": "kept"})),
        (
            "role.R",
            json!({"name": "R", "description": "d", "permissions": ["gone", "kept", "new"]}),
        ),
    ];
    let managed = [("role.R", json!({"name": "R", "description": "d"}))];
    let plan = run(&d, &snapshot(&live), &prior(&managed));
    let update = change(&plan, "role.R");
    assert_eq!(
        update.after.as_ref().unwrap()["permissionNames"],
        json!(["kept", "new"]),
        "a permission that exists, or that the plan creates, stays granted"
    );
    assert_eq!(
        update.warnings,
        [Warning::DropsMissingGrants {
            permissions: vec!["gone".into()]
        }]
    );
    assert_eq!(
        update.managed_fields,
        ["name", "description"],
        "the grants stay unmanaged"
    );
}

#[test]
fn a_role_regranted_under_a_renamed_permission_also_leaves_out_a_missing_one() {
    let d = desired(json!({
        "permissions": [{"name": "p", "renamed_from": "old"}],
        "roles": [{"name": "R"}]
    }));
    let live = [
        ("permission.old", json!({"name": "old"})),
        (
            "role.R",
            json!({"name": "R", "permissions": ["gone", "old", "User Admin"]}),
        ),
    ];
    let plan = run(&d, &snapshot(&live), &prior(&[]));
    let update = change(&plan, "role.R");
    let diff = update
        .diffs
        .iter()
        .find(|d| d.field == "permissions")
        .unwrap();
    assert_eq!(diff.after, Some(json!(["User Admin", "p"])));
    assert_eq!(
        update.after.as_ref().unwrap()["permissionNames"],
        json!(["User Admin", "p"]),
        "a system-default permission always exists"
    );
    assert_eq!(
        update.warnings,
        [Warning::DropsMissingGrants {
            permissions: vec!["gone".into()]
        }]
    );
}

#[test]
fn a_role_the_plan_updates_but_leaves_granting_a_deleted_permission_is_a_cascade() {
    // The role's update (its description) sends its live grants, `p` among them, and runs
    // before `p`'s delete; the delete then takes `p` from it.
    let d = desired(json!({"roles": [{"name": "R", "description": "new"}]}));
    let managed = [
        ("permission.p", json!({"name": "p"})),
        ("role.R", json!({"name": "R", "description": "old"})),
    ];
    let live = [
        ("permission.p", json!({"name": "p"})),
        (
            "role.R",
            json!({"name": "R", "description": "old", "permissions": ["p"]}),
        ),
    ];
    let plan = run(&d, &snapshot(&live), &prior(&managed));
    assert_eq!(steps(&plan), ["~ role.R", "- permission.p"]);
    let delete = change(&plan, "permission.p");
    assert_eq!(
        delete.cascades,
        [cascade("role.R", CascadeEffect::LosesPermission, true)]
    );
    assert_eq!(
        delete.warnings,
        [Warning::DeleteReaches {
            deleted: addr("permission.p"),
            cascades: vec![cascade("role.R", CascadeEffect::LosesPermission, true)],
            managed: true,
        }]
    );
}

fn tenant(id: &str, default_roles: &[&str]) -> Value {
    json!({"id": id, "name": id, "default_roles": default_roles})
}

#[test]
fn deleting_a_project_role_names_the_tenants_that_lose_it_as_a_default_role() {
    let managed = [("role.Viewer", role("Viewer", None, &[]))];
    let mut live = managed.to_vec();
    live.extend([
        ("tenant.stranger", tenant("stranger", &["Other", "Viewer"])),
        ("tenant.plain", tenant("plain", &["Other"])),
        ("role.Other", role("Other", None, &[])),
    ]);
    let plan = run(&desired(json!({})), &snapshot(&live), &prior(&managed));
    assert_eq!(steps(&plan), ["- role.Viewer"]);
    assert_eq!(
        plan.changes[0].cascades,
        [cascade(
            "tenant.stranger",
            CascadeEffect::LosesDefaultRole,
            false
        )]
    );
    assert_eq!(
        plan.changes[0].warnings,
        [Warning::DeleteReaches {
            deleted: addr("role.Viewer"),
            cascades: vec![cascade(
                "tenant.stranger",
                CascadeEffect::LosesDefaultRole,
                false
            )],
            managed: false,
        }]
    );
}

#[test]
fn deleting_a_tenant_role_reaches_only_its_own_tenants_default_roles() {
    let managed = [("role.acme/Local", role("Local", Some("acme"), &[]))];
    let mut live = managed.to_vec();
    live.extend([
        ("tenant.acme", tenant("acme", &["Local"])),
        ("tenant.beta", tenant("beta", &["Local"])),
        ("role.beta/Local", role("Local", Some("beta"), &[])),
    ]);
    let plan = run(&desired(json!({})), &snapshot(&live), &prior(&managed));
    assert_eq!(
        change(&plan, "role.acme/Local").cascades,
        [cascade(
            "tenant.acme",
            CascadeEffect::LosesDefaultRole,
            false
        )]
    );
}

#[test]
fn a_managed_tenant_that_keeps_a_deleted_default_role_is_warned_and_one_the_plan_rewrites_is_not() {
    // `kept` does not declare its default roles: the plan leaves them, Descope may not.
    // `rewritten` declares them without `Viewer`: the plan's own change. `gone` is deleted.
    let d = desired(json!({"tenants": [
        {"id": "kept", "name": "kept"},
        {"id": "rewritten", "name": "rewritten", "default_roles": []},
    ]}));
    let managed = [
        ("role.Viewer", role("Viewer", None, &[])),
        ("tenant.kept", json!({"id": "kept", "name": "kept"})),
        ("tenant.rewritten", tenant("rewritten", &["Viewer"])),
        ("tenant.gone", tenant("gone", &["Viewer"])),
    ];
    let live = [
        ("role.Viewer", role("Viewer", None, &[])),
        ("tenant.kept", tenant("kept", &["Viewer"])),
        ("tenant.rewritten", tenant("rewritten", &["Viewer"])),
        ("tenant.gone", tenant("gone", &["Viewer"])),
    ];
    let plan = run(&d, &snapshot(&live), &prior(&managed));
    let delete = change(&plan, "role.Viewer");
    assert_eq!(
        delete.cascades,
        [cascade(
            "tenant.kept",
            CascadeEffect::LosesDefaultRole,
            true
        )],
        "{:?}",
        steps(&plan)
    );
    assert_eq!(
        delete.warnings,
        [Warning::DeleteReaches {
            deleted: addr("role.Viewer"),
            cascades: vec![cascade(
                "tenant.kept",
                CascadeEffect::LosesDefaultRole,
                true
            )],
            managed: true,
        }]
    );
}
