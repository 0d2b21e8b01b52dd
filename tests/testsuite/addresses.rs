//! Two objects whose names once printed alike: tenant `acme`'s role `Admin`, managed, and a
//! project role named `acme/Admin`, made in the console. Each has its own address
//! (`role.acme/Admin`, `role."acme/Admin"`) in plan notes, `--target`, `state`, backups and
//! import, so a manual backup restores and import adopts the project role.

use serde_json::{Value, json};

use crate::live::{Live, env_file};
use crate::support::stdout;

const ENV: &str = "app";
const CONFIG: &str = "tenants:\n  - {id: acme, name: Acme}\nroles:\n  - {name: Admin, tenant: acme, description: Tenant admins}\n";

/// Both roles live, the tenant's one managed; the project role made in the console.
fn both_roles() -> (Live, tempfile::TempDir) {
    let live = Live::start();
    let dir = tempfile::tempdir().unwrap();
    env_file(dir.path(), ENV, CONFIG);
    live.run_ok(dir.path(), &["apply", "-e", ENV, "--auto-approve"]);
    live.call(
        "/v1/mgmt/role/create",
        json!({"name": "acme/Admin", "description": "Project-wide"}),
    );
    (live, dir)
}

fn role_description(live: &Live, tenant: Option<&str>, name: &str) -> Value {
    let roles = live.get("/v1/mgmt/role/all")["roles"].clone();
    roles
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name && r["tenantId"].as_str().filter(|t| !t.is_empty()) == tenant)
        .unwrap_or_else(|| panic!("role {name} of {tenant:?} is live: {roles}"))["description"]
        .clone()
}

#[test]
fn the_plan_notes_the_project_role_under_its_own_address() {
    let (live, dir) = both_roles();
    let text = live.run_ok(dir.path(), &["plan", "-e", ENV]);
    assert!(text.contains("No changes."), "{text}");
    assert!(text.contains("`role.\"acme/Admin\"`"), "{text}");
    assert!(!text.contains("`role.acme/Admin`"), "{text}");

    // Each address names its own object in `state show` and `--target`.
    let shown = live.run_ok(dir.path(), &["state", "show", "role.acme/Admin", "-e", ENV]);
    assert!(shown.contains("Tenant admins"), "{shown}");
    let out = live.run(
        dir.path(),
        &["state", "show", "role.\"acme/Admin\"", "-e", ENV],
    );
    assert_ne!(out.status.code(), Some(0), "{}", stdout(&out));
    let planned = live.run_ok(
        dir.path(),
        &["plan", "-e", ENV, "--target", "role.\"acme/Admin\""],
    );
    assert!(planned.contains("No changes."), "{planned}");
}

#[test]
fn a_manual_backup_of_both_roles_restores() {
    let (live, dir) = both_roles();
    live.run_ok(dir.path(), &["backup", "-e", ENV]);
    let list: Value =
        serde_json::from_str(&live.run_ok(dir.path(), &["backups", "-e", ENV, "--json"])).unwrap();
    let id = list["backups"][0]["id"].as_str().unwrap().to_owned();
    let manifest = std::fs::read_to_string(
        dir.path()
            .join(format!("state/backups/{ENV}/{id}/manifest.json")),
    )
    .unwrap();
    assert!(manifest.contains(r#""role.\"acme/Admin\"""#), "{manifest}");
    assert!(manifest.contains(r#""role.acme/Admin""#), "{manifest}");

    // The managed role changed in the console; the restore puts it back.
    live.call(
        "/v1/mgmt/role/update",
        json!({"name": "Admin", "newName": "Admin", "tenantId": "acme", "description": "Changed"}),
    );
    let text = live.run_ok(dir.path(), &["restore", "-e", ENV, &id, "--auto-approve"]);
    assert!(text.contains("role.acme/Admin"), "{text}");
    assert_eq!(
        role_description(&live, Some("acme"), "Admin"),
        "Tenant admins"
    );
    assert_eq!(role_description(&live, None, "acme/Admin"), "Project-wide");
}

#[test]
fn import_adopts_the_project_role_beside_the_tenant_role() {
    let (live, dir) = both_roles();
    let text = live.run_ok(dir.path(), &["import", "-e", ENV, "--write"]);
    assert!(text.contains("role.\"acme/Admin\""), "{text}");
    let state: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join(format!("state/{ENV}.json"))).unwrap(),
    )
    .unwrap();
    let resources = state["resources"].as_object().unwrap();
    assert_eq!(resources["role.\"acme/Admin\""]["key"], "\"acme/Admin\"");
    assert_eq!(resources["role.acme/Admin"]["key"], "acme/Admin");
    let again = live.run_ok(dir.path(), &["plan", "-e", ENV]);
    assert!(again.contains("No changes."), "{again}");
    assert!(!again.contains("not managed"), "{again}");
}
