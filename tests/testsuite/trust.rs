//! The plan is right against the live project, not only against the configuration: updates start
//! from the raw live body, Descope's ids follow renames made in the console, unsafe renames are
//! refused, Descope's preconfigured objects are respected, and guards come from the configuration.
//! Through the real binary against the emulator.

use std::path::Path;

use serde_json::{Value, json};

use crate::live::{Live, env_file};
use crate::support::{stderr, stdout};

const ENV: &str = "trust";

/// A project whose only environment, `trust`, declares `resources` (YAML) against `live`.
fn project(resources: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    configure(dir.path(), resources);
    dir
}

fn configure(root: &Path, resources: &str) {
    env_file(root, ENV, resources);
}

fn plan_json(root: &Path, live: &Live) -> Value {
    let out = live.run(root, &["plan", "-e", ENV, "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn plan_text(root: &Path, live: &Live) -> String {
    let out = live.run(root, &["plan", "-e", ENV]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    stdout(&out)
}

fn changes(plan: &Value) -> &Vec<Value> {
    plan["plan"]["changes"].as_array().unwrap()
}

fn change<'a>(plan: &'a Value, addr: &str) -> &'a Value {
    changes(plan)
        .iter()
        .find(|c| c["addr"] == addr)
        .unwrap_or_else(|| panic!("no change for `{addr}` in {plan:#}"))
}

fn state(root: &Path) -> Value {
    let text = std::fs::read_to_string(root.join(format!("state/{ENV}.json"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn live_role<'a>(roles: &'a Value, name: &str) -> &'a Value {
    roles["roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("no live role `{name}`"))
}

/// A tenant with every field Descope has set, the ones dmgmt does not model included.
fn seed_rich_tenant(live: &Live) -> Value {
    live.call(
        "/v1/mgmt/tenant/create",
        json!({"id": "parent-co", "name": "Parent Co"}),
    );
    let body = json!({
        "id": "acme", "name": "Acme", "selfProvisioningDomains": ["acme.com"],
        "customAttributes": {"plan": "free", "region": "eu"}, "enforceSSO": true,
        "enforceSSOExclusions": ["U1"], "federatedAppIds": ["app-1"], "disabled": false,
        "roleInheritance": "userOnly", "parent": "parent-co"
    });
    live.call("/v1/mgmt/tenant/create", body.clone());
    body
}

#[test]
fn an_update_is_the_raw_live_body_with_only_the_managed_fields_replaced() {
    let live = Live::start();
    seed_rich_tenant(&live);
    live.call(
        "/v1/mgmt/role/create",
        json!({"name": "Viewer", "description": "old", "default": true, "private": true}),
    );
    let dir = project(
        "roles:\n  - {name: Viewer, description: Read-only}\ntenants:\n  - {id: parent-co, name: Parent Co}\n  - {id: acme, name: Acme Corp, custom_attributes: {plan: pro}}\n",
    );
    live.record_state(
        dir.path(),
        ENV,
        &["tenant.acme", "role.Viewer"],
        |_, _| {},
        &[],
    );

    let plan = plan_json(dir.path(), &live);
    let mut expected = live.get("/v1/mgmt/tenant?id=acme");
    expected["name"] = json!("Acme Corp");
    expected["customAttributes"]["plan"] = json!("pro");
    let tenant = change(&plan, "tenant.acme");
    assert_eq!(tenant["after"], expected, "every unmodelled field is kept");
    assert_eq!(tenant["before"], live.get("/v1/mgmt/tenant?id=acme"));
    for field in [
        "enforceSSOExclusions",
        "federatedAppIds",
        "roleInheritance",
        "parent",
    ] {
        assert_eq!(tenant["after"][field], tenant["before"][field], "{field}");
    }

    let roles = live.get("/v1/mgmt/role/all");
    let mut expected = live_role(&roles, "Viewer").clone();
    expected["description"] = json!("Read-only");
    let role = change(&plan, "role.Viewer");
    assert_eq!(role["after"], expected);
    assert_eq!(
        (&role["after"]["default"], &role["after"]["private"]),
        (&json!(true), &json!(true))
    );
}

#[test]
fn a_change_to_an_unmodelled_field_moves_the_live_digest() {
    let live = Live::start();
    let mut body = seed_rich_tenant(&live);
    let dir = project("tenants:\n  - {id: acme, name: Acme Corp}\n");
    live.record_state(dir.path(), ENV, &["tenant.acme"], |_, _| {}, &[]);
    let first = plan_json(dir.path(), &live);

    body["enforceSSOExclusions"] = json!(["U1", "U2"]);
    body.as_object_mut().unwrap().remove("parent");
    live.call("/v1/mgmt/tenant/update", body);
    let second = plan_json(dir.path(), &live);

    let digest = |plan: &Value| change(plan, "tenant.acme")["live_digest"].clone();
    assert_ne!(digest(&first), digest(&second));
    assert_ne!(first["snapshot_digest"], second["snapshot_digest"]);
    assert_eq!(
        change(&first, "tenant.acme")["diffs"],
        change(&second, "tenant.acme")["diffs"],
        "the managed fields did not change"
    );
    assert_eq!(
        change(&second, "tenant.acme")["after"]["enforceSSOExclusions"],
        json!(["U1", "U2"])
    );
}

#[test]
fn a_role_renamed_in_the_console_is_recognised_by_its_descope_id() {
    let live = Live::start();
    live.call("/v1/mgmt/role/create", json!({"name": "Viewer"}));
    let dir = project("roles:\n  - {name: Viewer}\n");
    // A state written before ids were recorded: refresh fills them in.
    live.record_state(dir.path(), ENV, &["role.Viewer"], |_, _| {}, &[]);
    assert_eq!(
        state(dir.path())["resources"]["role.Viewer"]["id"],
        Value::Null
    );
    let out = live.run(dir.path(), &["refresh", "-e", ENV]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let id = state(dir.path())["resources"]["role.Viewer"]["id"].clone();
    assert!(id.as_str().unwrap().starts_with("ROL"), "{id}");

    live.call(
        "/v1/mgmt/role/update",
        json!({"name": "Viewer", "newName": "Viewers"}),
    );

    // The configuration still says `Viewer`: rename it back, never delete and re-create.
    let plan = plan_json(dir.path(), &live);
    let steps: Vec<(&Value, &Value)> = changes(&plan)
        .iter()
        .map(|c| (&c["addr"], &c["action"]))
        .collect();
    assert_eq!(
        steps,
        [(
            &json!("role.Viewer"),
            &json!({"type": "rename", "from": "Viewers"})
        )]
    );
    assert_eq!(change(&plan, "role.Viewer")["live_id"], id);
    assert_eq!(plan["plan"]["unmanaged"], json!([]));
    assert_eq!(plan["plan"]["drift"][0]["kind"], "renamed");
    assert_eq!(plan["plan"]["drift"][0]["renamed_to"], "role.Viewers");
    let text = plan_text(dir.path(), &live);
    assert!(
        text.contains("renamed outside dmgmt to `Viewers`"),
        "{text}"
    );

    // Refresh keeps the entry under its address, with its id.
    let out = live.run(dir.path(), &["refresh", "-e", ENV]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(state(dir.path())["resources"]["role.Viewer"]["id"], id);

    // The configuration follows the console: nothing to destroy or create.
    configure(dir.path(), "roles:\n  - {name: Viewers}\n");
    let text = plan_text(dir.path(), &live);
    assert!(text.contains("\nNo changes."), "{text}");
    assert!(!text.contains("will be"), "{text}");

    // The role removed from the configuration: the renamed object is the one destroyed.
    configure(dir.path(), "roles: []\n");
    let plan = plan_json(dir.path(), &live);
    let delete = change(&plan, "role.Viewer");
    assert_eq!(delete["action"]["type"], "delete");
    assert_eq!(delete["live_id"], id);
    assert!(
        delete["warnings"][0]
            .as_str()
            .unwrap()
            .contains("renamed outside dmgmt to `Viewers`"),
        "{delete}"
    );
}

#[test]
fn a_rename_onto_a_name_that_already_exists_live_is_refused() {
    let live = Live::start();
    for name in ["Billing Manager", "Billing Admin"] {
        live.call("/v1/mgmt/role/create", json!({"name": name}));
    }
    let dir = project("roles:\n  - {name: Billing Admin, renamed_from: Billing Manager}\n");
    live.record_state(dir.path(), ENV, &["role.Billing Manager"], |_, _| {}, &[]);
    let out = live.run(dir.path(), &["plan", "-e", ENV]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(
        err.contains(
            "`role.Billing Admin` is renamed from `Billing Manager`, but both exist in Descope"
        ),
        "{err}"
    );
    assert_eq!(err.matches("hint:").count(), 2, "both ways out: {err}");
    assert!(stdout(&out).is_empty(), "no plan is shown");
}

#[test]
fn system_default_permissions_are_referenced_and_forgotten_never_changed_or_destroyed() {
    let live = Live::start();
    let dir = project(
        "roles:\n  - {name: Tenant Admin, description: Admins, permissions: [User Admin]}\n  - {name: Auditor, permissions: [SSO Admin]}\n",
    );
    // An older state that managed a system-default permission, now no longer declared.
    live.record_state(dir.path(), ENV, &["permission.User Admin"], |_, _| {}, &[]);

    let plan = plan_json(dir.path(), &live);
    let actions: Vec<String> = changes(&plan)
        .iter()
        .map(|c| {
            format!(
                "{} {}",
                c["action"]["type"].as_str().unwrap(),
                c["addr"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        actions,
        [
            "forget permission.User Admin",
            "create role.Auditor",
            "adopt role.Tenant Admin"
        ]
    );
    let admin = change(&plan, "role.Tenant Admin");
    assert!(
        admin["warnings"][0]
            .as_str()
            .unwrap()
            .contains("loses the system-default permission(s) `Impersonate`, `SSO Admin`"),
        "{admin}"
    );
    assert_eq!(
        plan["plan"]["unmanaged"],
        json!([]),
        "preconfigured objects are not noise"
    );
    let text = plan_text(dir.path(), &live);
    assert!(
        !text.contains("destroy\n") && !text.contains("will be destroyed"),
        "{text}"
    );
}

#[test]
fn prevent_destroy_added_to_an_in_sync_resource_guards_its_later_removal() {
    let live = Live::start();
    live.call(
        "/v1/mgmt/tenant/create",
        json!({"id": "acme", "name": "Acme"}),
    );
    let dir = project("tenants:\n  - {id: acme, name: Acme, prevent_destroy: true}\n");
    live.record_state(dir.path(), ENV, &["tenant.acme"], |_, _| {}, &[]);
    assert!(plan_text(dir.path(), &live).starts_with("No changes."));

    let out = live.run(dir.path(), &["refresh", "-e", ENV]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        state(dir.path())["resources"]["tenant.acme"]["prevent_destroy"],
        true
    );

    configure(dir.path(), "tenants: []\n");
    let text = plan_text(dir.path(), &live);
    assert!(
        text.contains("# tenant.acme will be destroyed\n  # (refused without --allow-delete: prevent_destroy is set)"),
        "{text}"
    );
}

#[test]
fn an_apply_records_what_it_read_so_the_next_plan_shows_no_drift_already_seen() {
    let live = Live::start();
    let dir = project("tenants:\n  - {id: acme, name: Acme}\n  - {id: gone, name: Gone}\n");
    let out = live.run(dir.path(), &["apply", "-e", ENV, "--auto-approve"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // `gone` leaves the configuration and is deleted by hand; `acme` is renamed by hand.
    configure(
        dir.path(),
        "tenants:\n  - {id: acme, name: Acme}\n  - {id: new, name: New}\n",
    );
    live.call("/v1/mgmt/tenant/delete", json!({"id": "gone"}));
    live.call(
        "/v1/mgmt/tenant/update",
        json!({"id": "acme", "name": "Acme (console)"}),
    );
    let out = live.run(dir.path(), &["apply", "-e", ENV, "--auto-approve"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("has been deleted outside dmgmt"),
        "{}",
        stdout(&out)
    );
    let text = plan_text(dir.path(), &live);
    assert!(
        text.starts_with("No changes."),
        "no drift shown twice:\n{text}"
    );
    assert!(state(dir.path())["resources"].get("tenant.gone").is_none());
}
