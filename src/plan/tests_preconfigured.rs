//! Descope's preconfigured objects and Descope ids: system-default permissions are never changed,
//! renamed or destroyed; `Tenant Admin` is adopted and guarded by warnings; a state entry finds its
//! object again by id after a rename made outside dmgmt; renames that would clash are refused.

use serde_json::json;

use super::test_fixtures::*;
use super::*;

fn system_default(name: &str) -> serde_json::Value {
    json!({"name": name, "description": "", "systemDefault": true})
}

#[test]
fn a_declared_system_default_permission_that_differs_is_refused() {
    let d = desired(json!({"permissions": [{"name": "User Admin", "description": "mine"}]}));
    let s = snapshot(&[("permission.User Admin", system_default("User Admin"))]);
    let err = try_run(&d, &s, &Default::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "`permission.User Admin` is a Descope system-default permission: dmgmt never changes it"
    );
    // Declared exactly as it is live: nothing to do, and it is not taken into the state.
    let d = desired(json!({"permissions": [{"name": "User Admin", "description": ""}]}));
    assert!(run(&d, &s, &Default::default()).is_empty());
}

#[test]
fn a_system_default_permission_left_in_state_is_forgotten_not_destroyed() {
    let live = [("permission.SSO Admin", system_default("SSO Admin"))];
    let plan = run(&desired(json!({})), &snapshot(&live), &prior(&live));
    assert_eq!(steps(&plan), ["x permission.SSO Admin"]);
    assert!(plan.unmanaged.is_empty());
}

#[test]
fn removing_tenant_admin_from_the_configuration_warns() {
    let live = [(
        "role.Tenant Admin",
        json!({"name": "Tenant Admin", "permissions": ["User Admin"]}),
    )];
    let plan = run(&desired(json!({})), &snapshot(&live), &prior(&live));
    assert_eq!(steps(&plan), ["- role.Tenant Admin"]);
    assert_eq!(
        change(&plan, "role.Tenant Admin").warnings,
        [Warning::DeletesTenantAdmin],
        "{:?}",
        plan.changes
    );
}

#[test]
fn a_state_entry_follows_its_descope_id_to_the_new_name() {
    let live = [(
        "role.Viewers",
        json!({"name": "Viewers", "permissions": []}),
    )];
    let s = snapshot(&live);
    let id = s.objects[&addr("role.Viewers")].id.clone();
    let mut p = prior(&[("role.Viewer", json!({"name": "Viewer", "permissions": []}))]);
    p.get_mut(&addr("role.Viewer")).unwrap().id = id.clone();

    let back = run(&desired(json!({"roles": [{"name": "Viewer"}]})), &s, &p);
    assert_eq!(steps(&back), ["~ role.Viewer"]);
    assert_eq!(
        back.changes[0].action,
        Action::Rename {
            from: "Viewers".into()
        }
    );
    assert_eq!(back.changes[0].live_id, id);
    assert_eq!(back.drift[0].kind, DriftKind::Renamed);

    let followed = run(&desired(json!({"roles": [{"name": "Viewers"}]})), &s, &p);
    assert!(followed.is_empty(), "{:?}", steps(&followed));
    assert!(followed.unmanaged.is_empty());

    let removed = run(&desired(json!({})), &s, &p);
    assert_eq!(steps(&removed), ["- role.Viewer"]);
    assert_eq!(removed.changes[0].live_id, id);
}

#[test]
fn a_rename_whose_old_and_new_names_are_both_live_is_refused_unless_already_done() {
    let live = [
        ("role.Old", json!({"name": "Old", "permissions": []})),
        ("role.New", json!({"name": "New", "permissions": []})),
    ];
    let d = desired(json!({"roles": [{"name": "New", "renamed_from": "Old"}]}));
    let managed_old = prior(&[live[0].clone()]);
    let err = try_run(&d, &snapshot(&live), &managed_old).unwrap_err();
    assert!(matches!(err, PlanError::UnsafeRename { .. }), "{err}");
    assert_eq!(err.hints().len(), 2);
    // Neither managed: still refused (adopting `New` would silently drop the rename).
    assert!(try_run(&d, &snapshot(&live), &Default::default()).is_err());
    // The rename was applied before and `Old` is a new, unmanaged object: nothing to refuse.
    let done = run(&d, &snapshot(&live), &prior(&[live[1].clone()]));
    assert!(done.is_empty());
    assert_eq!(done.unmanaged, [addr("role.Old")]);
}
