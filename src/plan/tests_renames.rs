//! A rename and the objects that name the renamed one: roles granting a permission under its old
//! name, tenants whose default roles name a role by its old name. Whatever Descope does to them on
//! the rename (docs/descope-api.md §4: UNSURE whether it carries a permission's rename into roles
//! or drops it from them), what the plan sends names the new name, after the rename.

use serde_json::{Value, json};

use super::test_fixtures::*;
use super::*;

fn role(name: &str, description: &str, permissions: &[&str]) -> Value {
    json!({"name": name, "description": description, "permissions": permissions})
}

/// What the change sends as the role's permissions.
fn permission_names(c: &Change) -> Value {
    c.after.as_ref().unwrap()["permissionNames"].clone()
}

/// A renamed permission, and a role that grants it under the old name and does not write its
/// permissions: the role's update names the new one and runs after the rename (before, it sent
/// the old name, which Descope no longer knows: `permission old-p0 does not exist`).
#[test]
fn a_role_update_names_a_renamed_permission_by_its_new_name_after_the_rename() {
    let d = desired(json!({
        "permissions": [{"name": "p0", "renamed_from": "old-p0"}],
        "roles": [{"name": "r1", "description": "second"}],
    }));
    let live = snapshot(&[
        ("permission.old-p0", json!({"name": "old-p0"})),
        ("role.r1", role("r1", "first", &["User Admin", "old-p0"])),
    ]);
    let p = prior(&[("role.r1", json!({"name": "r1", "description": "first"}))]);
    let plan = run(&d, &live, &p);
    assert_eq!(steps(&plan), ["~ permission.p0", "~ role.r1"]);
    let r1 = change(&plan, "role.r1");
    assert_eq!(
        r1.depends_on,
        ChangeId::list(&[0]),
        "the role waits for the rename"
    );
    assert_eq!(permission_names(r1), json!(["User Admin", "p0"]));
    assert_eq!(
        r1.managed_fields,
        ["name", "description"],
        "still not managed"
    );
    assert!(r1.diffs.iter().any(|d| d.field == "permissions"
        && d.before == Some(json!(["User Admin", "old-p0"]))
        && d.after == Some(json!(["User Admin", "p0"]))));
}

/// A managed role that changes nothing else is still written with the new name: where Descope
/// drops a renamed permission from roles, that keeps the grant; where it renames it there, the
/// write changes nothing.
#[test]
fn a_managed_role_granting_a_renamed_permission_is_written_even_when_nothing_else_changes() {
    let d = desired(json!({
        "permissions": [{"name": "p0", "renamed_from": "old-p0"}],
        "roles": [{"name": "r1"}],
    }));
    let live = snapshot(&[
        ("permission.old-p0", json!({"name": "old-p0"})),
        ("role.r1", role("r1", "", &["old-p0"])),
    ]);
    let p = prior(&[("role.r1", json!({"name": "r1"}))]);
    let plan = run(&d, &live, &p);
    assert_eq!(steps(&plan), ["~ permission.p0", "~ role.r1"]);
    let r1 = change(&plan, "role.r1");
    assert_eq!(r1.depends_on, ChangeId::list(&[0]));
    assert_eq!(permission_names(r1), json!(["p0"]));
}

/// A role whose configuration writes its permissions sends exactly those, after the rename.
#[test]
fn a_role_that_writes_its_permissions_grants_the_renamed_one_after_the_rename() {
    let d = desired(json!({
        "permissions": [{"name": "p0", "renamed_from": "old-p0"}],
        "roles": [{"name": "r1", "permissions": ["p0"]}],
    }));
    let live = snapshot(&[
        ("permission.old-p0", json!({"name": "old-p0"})),
        ("role.r1", role("r1", "", &["old-p0"])),
    ]);
    let p = prior(&[("role.r1", json!({"name": "r1", "permissions": ["old-p0"]}))]);
    let plan = run(&d, &live, &p);
    assert_eq!(steps(&plan), ["~ permission.p0", "~ role.r1"]);
    let r1 = change(&plan, "role.r1");
    assert_eq!(r1.depends_on, ChangeId::list(&[0]));
    assert_eq!(permission_names(r1), json!(["p0"]));
}

/// A role dmgmt does not manage is never written: the rename says what Descope may do to it.
#[test]
fn renaming_a_permission_names_the_unmanaged_roles_that_grant_it() {
    let d = desired(json!({
        "permissions": [{"name": "p0", "renamed_from": "old-p0"}],
    }));
    let live = snapshot(&[
        ("permission.old-p0", json!({"name": "old-p0"})),
        ("role.Local", role("Local", "", &["old-p0"])),
        ("role.Other", role("Other", "", &["User Admin"])),
    ]);
    let plan = run(&d, &live, &prior(&[]));
    assert_eq!(steps(&plan), ["~ permission.p0"]);
    let rename = change(&plan, "permission.p0");
    assert_eq!(
        rename.cascades,
        [Cascade {
            addr: addr("role.Local"),
            effect: CascadeEffect::GrantsRenamedPermission,
            managed: false,
        }]
    );
    assert_eq!(
        rename.warnings,
        [Warning::RenameReachesRoles {
            from: "old-p0".into(),
            to: "p0".into(),
            roles: vec![addr("role.Local")],
            managed: false,
        }]
    );
}

/// A renamed role named by a tenant's default roles: the default roles are set after the rename,
/// under the new name.
#[test]
fn default_roles_naming_a_renamed_role_are_set_after_the_rename() {
    let d = desired(json!({
        "roles": [{"name": "r1", "renamed_from": "old-r1"}],
        "tenants": [{"id": "t0", "name": "T0", "default_roles": ["r1"]}],
    }));
    let live = snapshot(&[
        ("role.old-r1", role("old-r1", "", &[])),
        (
            "tenant.t0",
            json!({"id": "t0", "name": "T0", "default_roles": ["old-r1"]}),
        ),
    ]);
    let p = prior(&[
        ("role.old-r1", json!({"name": "old-r1"})),
        (
            "tenant.t0",
            json!({"id": "t0", "name": "T0", "default_roles": ["old-r1"]}),
        ),
    ]);
    let plan = run(&d, &live, &p);
    assert_eq!(steps(&plan), ["~ role.r1", "~ tenant.t0"]);
    let roles = &plan.changes[1];
    assert_eq!(roles.action, Action::SetDefaultRoles);
    assert_eq!(roles.depends_on, ChangeId::list(&[0]));
    assert_eq!(roles.after.as_ref().unwrap()["defaultRoles"], json!(["r1"]));
}

/// A managed tenant that does not write its default roles, naming a role the plan renames: its
/// default roles are set again under the new name, after the rename, so they hold it whether or
/// not Descope carries the rename into them (and the state records what they hold).
#[test]
fn default_roles_the_configuration_does_not_write_follow_a_renamed_role() {
    let d = desired(json!({
        "roles": [{"name": "r1", "renamed_from": "old-r1"}],
        "tenants": [{"id": "t0", "name": "T0"}],
    }));
    let live = snapshot(&[
        ("role.old-r1", role("old-r1", "", &[])),
        ("role.r2", role("r2", "", &[])),
        (
            "tenant.t0",
            json!({"id": "t0", "name": "T0", "default_roles": ["old-r1", "r2"]}),
        ),
    ]);
    let p = prior(&[
        ("role.old-r1", json!({"name": "old-r1"})),
        ("tenant.t0", json!({"id": "t0", "name": "T0"})),
    ]);
    let plan = run(&d, &live, &p);
    assert_eq!(steps(&plan), ["~ role.r1", "~ tenant.t0"]);
    let roles = &plan.changes[1];
    assert_eq!(roles.action, Action::SetDefaultRoles);
    assert_eq!(roles.depends_on, ChangeId::list(&[0]));
    assert_eq!(
        roles.after.as_ref().unwrap()["defaultRoles"],
        json!(["r1", "r2"])
    );
    assert_eq!(roles.managed_fields, ["id", "name"], "still not managed");
}

/// Role `A` (Descope id `ROL1`) renamed to `B` in the console and a new `A` (another id) created:
/// the state's object is `ROL1`, now named `B`. Renaming it back would clash with the new `A`,
/// which dmgmt does not manage; taking the new `A` over (what the plan did before) would leave
/// `ROL1` and its users unmanaged. Refused, naming both ids; the same for a permission.
#[test]
fn a_managed_object_renamed_outside_whose_old_name_was_reused_is_refused_naming_both_ids() {
    for (a, b, other) in [
        ("role.A", "role.B", "ROL-role.A"),
        ("permission.A", "permission.B", "PERM2"),
    ] {
        let d = desired(if a.starts_with("role") {
            json!({"roles": [{"name": "A", "description": "d"}]})
        } else {
            json!({"permissions": [{"name": "A", "description": "d"}]})
        });
        let mut live = snapshot(&[
            (a, json!({"name": "A", "description": ""})),
            (b, json!({"name": "B", "description": "d"})),
        ]);
        live.objects.get_mut(&addr(b)).unwrap().id = Some("ID1".into());
        live.objects.get_mut(&addr(a)).unwrap().id = Some(other.into());
        let mut p = prior(&[(a, json!({"name": "A", "description": "d"}))]);
        p.get_mut(&addr(a)).unwrap().id = Some("ID1".into());
        let err = try_run(&d, &live, &p).unwrap_err();
        let text = err.to_string();
        assert!(text.contains(&format!("`{a}`")), "{text}");
        assert!(
            text.contains("`ID1`") && text.contains(&format!("`{other}`")),
            "{text}"
        );
        assert!(text.contains("now named `B`"), "{text}");
        let hints = err.hints().join("\n");
        assert!(hints.contains("rename or delete"), "{hints}");
        assert!(hints.contains("dmgmt state rm"), "{hints}");
    }
}

/// Once the new `A` is out of the way, the state's object is renamed back by its id.
#[test]
fn a_managed_object_renamed_outside_is_renamed_back_once_its_old_name_is_free() {
    let d = desired(json!({"roles": [{"name": "A", "description": "d"}]}));
    let mut live = snapshot(&[("role.B", json!({"name": "B", "description": "d"}))]);
    live.objects.get_mut(&addr("role.B")).unwrap().id = Some("ID1".into());
    let mut p = prior(&[("role.A", json!({"name": "A", "description": "d"}))]);
    p.get_mut(&addr("role.A")).unwrap().id = Some("ID1".into());
    let plan = run(&d, &live, &p);
    assert_eq!(steps(&plan), ["~ role.A"]);
    assert_eq!(change(&plan, "role.A").live_id.as_deref(), Some("ID1"));
}
