//! What a backup holds, through the real binary against an in-process emulator: the pre-apply
//! backup holds every object the apply can reach (the objects its cascades name, unmanaged ones
//! included), so a restore of it brings them back; and retention keeps the newest backup.

use std::path::Path;

use serde_json::{Value, json};

use crate::apply::{ENV, project};
use crate::live::{Live, env_file};
use crate::support::{stderr, stdout};
use dmgmt::emulator::LOCAL_PROJECT_ID;
use dmgmt::state::backup;

fn run_ok(live: &Live, root: &Path, args: &[&str]) -> String {
    let out = live.run(root, args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}:\n{}{}",
        stdout(&out),
        stderr(&out)
    );
    stdout(&out)
}

/// The newest backup's id and trigger (from `backups --json`, newest first).
fn newest_backup(live: &Live, root: &Path) -> (String, String) {
    let list: Value =
        serde_json::from_str(&run_ok(live, root, &["backups", "-e", ENV, "--json"])).unwrap();
    let newest = &list["backups"][0];
    (
        newest["id"].as_str().unwrap().to_owned(),
        newest["trigger"].as_str().unwrap().to_owned(),
    )
}

/// The live role `name` of `tenant` ("" for a project role).
fn live_role(live: &Live, tenant: &str, name: &str) -> Option<Value> {
    let mut roles = live.get("/v1/mgmt/role/all")["roles"]
        .as_array()
        .unwrap()
        .clone();
    if !tenant.is_empty() {
        let found = live.call("/v1/mgmt/role/search", json!({"tenantIds": [tenant]}));
        roles.extend(found["roles"].as_array().unwrap().iter().cloned());
    }
    roles
        .into_iter()
        .find(|r| r["name"] == name && r["tenantId"].as_str().unwrap_or("") == tenant)
}

const BEFORE: &str = "\
permissions:
  - {name: billing.read}
  - {name: doomed}
roles:
  - {name: Viewer, permissions: [billing.read]}
tenants:
  - {id: acme, name: Acme Corp}
";

const AFTER: &str = "\
permissions:
  - {name: billing.read}
";

#[test]
fn the_pre_apply_backup_holds_the_unmanaged_objects_cascades_reach_and_restore_brings_them_back() {
    let live = Live::start();
    let dir = project(BEFORE);
    run_ok(&live, dir.path(), &["apply", "-e", ENV, "--auto-approve"]);
    // By hand, objects dmgmt does not manage that the next apply reaches all the same: a role of
    // the tenant it deletes, a role granting the permission it deletes, a tenant naming the role
    // it deletes as a default role.
    live.call(
        "/v1/mgmt/role/create",
        json!({"name": "Local", "tenantId": "acme"}),
    );
    live.call(
        "/v1/mgmt/role/create",
        json!({"name": "Stranger", "permissionNames": ["doomed"]}),
    );
    live.call(
        "/v1/mgmt/tenant/create",
        json!({"id": "stranger", "name": "Stranger Co"}),
    );
    live.call(
        "/v1/mgmt/tenant/updateDefaultRoles",
        json!({"id": "stranger", "defaultRoles": ["Viewer"]}),
    );

    env_file(dir.path(), ENV, AFTER);
    let plan = run_ok(&live, dir.path(), &["plan", "-e", ENV]);
    assert!(
        plan.contains(
            "deleting `role.Viewer` may also remove it from the default roles of the tenant `tenant.stranger`, which dmgmt does not manage"
        ),
        "the default-roles cascade is warned:\n{plan}"
    );
    run_ok(&live, dir.path(), &["apply", "-e", ENV, "--auto-approve"]);
    assert!(live_role(&live, "acme", "Local").is_none());
    assert_eq!(
        live_role(&live, "", "Stranger").unwrap()["permissionNames"],
        json!([])
    );
    let stranger = live.get("/v1/mgmt/tenant?id=stranger");
    assert_eq!(stranger["defaultRoles"], json!([]));

    let (id, trigger) = newest_backup(&live, dir.path());
    assert_eq!(trigger, "pre-apply");
    let manifest = backup::verify(&dir.path().join("state"), ENV, &id, LOCAL_PROJECT_ID).unwrap();
    let held: Vec<String> = manifest
        .files
        .iter()
        .map(|f| f.address.to_string())
        .collect();
    for reached in ["role.acme/Local", "role.Stranger", "tenant.stranger"] {
        assert!(
            held.iter().any(|a| a == reached),
            "`{reached}` is in the pre-apply backup: {held:?}"
        );
    }

    run_ok(
        &live,
        dir.path(),
        &["restore", "-e", ENV, &id, "--auto-approve"],
    );
    assert!(
        live_role(&live, "acme", "Local").is_some(),
        "the tenant role is back"
    );
    assert_eq!(
        live_role(&live, "", "Stranger").unwrap()["permissionNames"],
        json!(["doomed"]),
        "the unmanaged role grants the permission again"
    );
    let stranger = live.get("/v1/mgmt/tenant?id=stranger");
    assert_eq!(stranger["defaultRoles"], json!(["Viewer"]));
}

#[test]
fn keep_min_0_is_refused_with_its_file_and_line() {
    let live = Live::start();
    let dir = project("backups: {retention_days: 0, keep_min: 0}\n");
    let out = live.run(dir.path(), &["validate", "-e", ENV]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(
        err.contains("`keep_min` must be between 1 and 100000, found 0"),
        "{err}"
    );
    assert!(err.contains(&format!("{ENV}.yaml:4")), "{err}");
}
