//! `restore` never destroys what it cannot know about: a pre-apply backup holds only what dmgmt
//! managed or changed when it was taken, so restoring one deletes nothing dmgmt does not manage,
//! whatever `--allow-delete` lifts; deleting unmanaged objects created since a complete backup
//! is its own flag.

use std::path::Path;

use serde_json::{Value, json};

use crate::apply::{ENV, assert_no_changes, project};
use crate::live::{Live, env_file};
use crate::support::{stderr, stdout};
use dmgmt::emulator::EmulatorConfig;

/// A small project dmgmt manages; `Tenant Admin` is left to Descope (not declared).
const SMALL: &str = "\
permissions:
  - {name: billing.read}
roles:
  - {name: Viewer, permissions: [billing.read]}
tenants:
  - {id: acme, name: Acme Corp}
";

/// The newest backup's id with the trigger it was taken for.
fn newest_backup(live: &Live, root: &Path, trigger: &str) -> String {
    let list: Value =
        serde_json::from_str(&live.run_ok(root, &["backups", "-e", ENV, "--json"])).unwrap();
    let newest = &list["backups"][0];
    assert_eq!(newest["trigger"], trigger, "{list}");
    newest["id"].as_str().unwrap().to_owned()
}

fn tenant_ids(live: &Live) -> Vec<String> {
    let mut ids: Vec<String> = live.get("/v1/mgmt/tenant/all")["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

/// Every role as `tenant/name` (`/name` for a project role).
fn role_names(live: &Live) -> Vec<String> {
    let all = live.call("/v1/mgmt/role/search", json!({}));
    let mut names: Vec<String> = all["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{}/{}",
                r["tenantId"].as_str().unwrap_or(""),
                r["name"].as_str().unwrap()
            )
        })
        .collect();
    names.sort();
    names
}

/// Customers' objects dmgmt does not manage: a tenant with its own role, and a project role.
fn add_customer_objects(live: &Live) {
    live.call(
        "/v1/mgmt/tenant/create",
        json!({"id": "customer", "name": "Customer"}),
    );
    live.call(
        "/v1/mgmt/role/create",
        json!({"name": "Local", "tenantId": "customer"}),
    );
    live.call("/v1/mgmt/role/create", json!({"name": "Support"}));
}

/// Undoing a bad apply in a protected environment needs `--allow-delete` to delete what the
/// apply created; before, the same flag also deleted every unmanaged tenant, tenant role, role
/// and `Tenant Admin`, none of which a pre-apply backup could have held.
#[test]
fn restoring_a_pre_apply_backup_with_allow_delete_keeps_every_unmanaged_object() {
    let live = Live::start();
    let dir = project(&format!("protected: true\n{SMALL}"));
    live.run_ok(dir.path(), &["apply", "-e", ENV, "--auto-approve"]);
    add_customer_objects(&live);
    let roles_before = role_names(&live);
    assert!(roles_before.contains(&"/Tenant Admin".to_owned()));

    // The bad apply: a tenant that should not exist.
    env_file(
        dir.path(),
        ENV,
        &format!("protected: true\n{SMALL}  - {{id: oops, name: Oops}}\n"),
    );
    live.run_ok(dir.path(), &["apply", "-e", ENV, "--auto-approve"]);
    let id = newest_backup(&live, dir.path(), "pre-apply");
    env_file(dir.path(), ENV, &format!("protected: true\n{SMALL}"));

    let text = live.run_ok(
        dir.path(),
        &[
            "restore",
            "-e",
            ENV,
            &id,
            "--auto-approve",
            "--allow-delete",
        ],
    );
    assert!(text.contains("# tenant.oops will be destroyed"), "{text}");
    assert!(
        text.contains("Objects dmgmt does not manage are kept"),
        "{text}"
    );
    assert_eq!(tenant_ids(&live), ["acme", "customer"]);
    assert_eq!(role_names(&live), roles_before);
    assert_no_changes(&live, dir.path());
}

/// `--delete-unmanaged` is refused for a pre-apply backup before anything is called, and
/// deletes the unmanaged objects created since a complete backup.
#[test]
fn delete_unmanaged_is_refused_for_a_pre_apply_backup_and_works_for_a_complete_one() {
    let live = Live::start();
    let dir = project(SMALL);
    live.run_ok(dir.path(), &["apply", "-e", ENV, "--auto-approve"]);
    live.run_ok(dir.path(), &["backup", "-e", ENV]);
    let complete = newest_backup(&live, dir.path(), "manual");
    add_customer_objects(&live);
    env_file(
        dir.path(),
        ENV,
        &format!("{SMALL}  - {{id: oops, name: Oops}}\n"),
    );
    live.run_ok(dir.path(), &["apply", "-e", ENV, "--auto-approve"]);
    let pre_apply = newest_backup(&live, dir.path(), "pre-apply");
    env_file(dir.path(), ENV, SMALL);

    let before = live.requests().len();
    let out = live.run(
        dir.path(),
        &[
            "restore",
            "-e",
            ENV,
            &pre_apply,
            "--auto-approve",
            "--delete-unmanaged",
        ],
    );
    assert_eq!(out.status.code(), Some(64), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("`--delete-unmanaged` cannot be used with backup"),
        "{}",
        stderr(&out)
    );
    assert_eq!(live.requests().len(), before, "no call was made");

    let text = live.run_ok(
        dir.path(),
        &[
            "restore",
            "-e",
            ENV,
            &complete,
            "--auto-approve",
            "--delete-unmanaged",
        ],
    );
    assert!(
        text.contains("# tenant.customer will be destroyed"),
        "{text}"
    );
    assert!(text.contains("# tenant.oops will be destroyed"), "{text}");
    assert_eq!(tenant_ids(&live), ["acme"]);
    assert_eq!(role_names(&live), ["/Tenant Admin", "/Viewer"]);
    assert_no_changes(&live, dir.path());
}

/// The live role and tenant, with the fields no configuration models that a restore puts back.
fn unmodelled(live: &Live) -> (Value, Value, Value) {
    let roles = live.call("/v1/mgmt/role/search", json!({}));
    let viewer = roles["roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "Viewer")
        .unwrap()
        .clone();
    let acme = live.get("/v1/mgmt/tenant?id=acme");
    (
        viewer["private"].clone(),
        acme["enforceSSOExclusions"].clone(),
        acme["federatedAppIds"].clone(),
    )
}

/// Restore's read-back after a failed call compared only the modelled fields: when only
/// unmodelled ones (a role's `private`, a tenant's `enforceSSOExclusions`/`federatedAppIds`)
/// differed, a change that never reached Descope was taken as done ("2 applied", every rerun
/// alike). With every write failing, nothing is applied and the restore says so.
#[test]
fn a_restore_whose_writes_all_fail_applies_nothing_even_when_only_unmodelled_fields_differ() {
    let dir = project(SMALL);
    let data = dir.path().join("emulator.json");
    let live = Live::with(EmulatorConfig {
        data: Some(data.clone()),
        ..EmulatorConfig::default()
    });
    live.run_ok(dir.path(), &["apply", "-e", ENV, "--auto-approve"]);
    let viewer =
        json!({"name": "Viewer", "newName": "Viewer", "permissionNames": ["billing.read"]});
    let mut private = viewer.clone();
    private["private"] = json!(true);
    live.call("/v1/mgmt/role/update", private);
    live.call(
        "/v1/mgmt/tenant/update",
        json!({"id": "acme", "name": "Acme Corp", "enforceSSOExclusions": ["U1"],
            "federatedAppIds": ["app1"]}),
    );
    let saved = unmodelled(&live);
    assert_eq!(saved, (json!(true), json!(["U1"]), json!(["app1"])));
    live.run_ok(dir.path(), &["backup", "-e", ENV]);
    let id = newest_backup(&live, dir.path(), "manual");
    // Changed in the console since: only fields no configuration models.
    live.call("/v1/mgmt/role/update", viewer);
    live.call(
        "/v1/mgmt/tenant/update",
        json!({"id": "acme", "name": "Acme Corp"}),
    );
    let changed = unmodelled(&live);
    assert_ne!(changed, saved);
    let Live {
        runtime, handle, ..
    } = live;
    runtime.block_on(handle.shutdown()).unwrap();

    // Every write now fails (503, nothing done).
    let live = Live::with(EmulatorConfig {
        data: Some(data.clone()),
        fault_rate: 1.0,
        ..EmulatorConfig::default()
    });
    for _ in 0..2 {
        let out = live.run(dir.path(), &["restore", "-e", ENV, &id, "--auto-approve"]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{}{err}", stdout(&out));
        assert!(err.contains("0 applied"), "{err}");
        assert!(!err.contains("Restore complete"), "{err}");
        assert_eq!(unmodelled(&live), changed);
    }
    let Live {
        runtime, handle, ..
    } = live;
    runtime.block_on(handle.shutdown()).unwrap();

    // Without faults the same restore puts them back, and a second one has nothing to do.
    let live = Live::with(EmulatorConfig {
        data: Some(data),
        ..EmulatorConfig::default()
    });
    live.run_ok(dir.path(), &["restore", "-e", ENV, &id, "--auto-approve"]);
    assert_eq!(unmodelled(&live), saved);
    let again = live.run_ok(dir.path(), &["restore", "-e", ENV, &id, "--auto-approve"]);
    assert!(again.contains("No changes."), "{again}");
}

const DEFAULT_ROLE: &str = "\
permissions:
  - {name: billing.read}
roles:
  - {name: Viewer, permissions: [billing.read]}
tenants:
  - {id: acme, name: Acme Corp, default_roles: [Viewer]}
";

/// The Descope id of the role or permission named `name`.
fn id_of(live: &Live, kind: &str, name: &str) -> Option<String> {
    let all = live.get(&format!("/v1/mgmt/{kind}/all"));
    all[format!("{kind}s")]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == name)
        .map(|o| o["id"].as_str().unwrap().to_owned())
}

/// Role `Viewer` (a tenant's default role) and permission `billing.read` renamed in the console,
/// and new ones created under the old names. Before, `apply` silently took the new ones over
/// (the renamed ones left unlisted) and `restore` overwrote the new ones and destroyed the
/// renamed ones with their users' assignments. Now both refuse, naming both ids, and change
/// nothing; once the new ones are out of the way, restore renames the old ones back by id.
#[test]
fn an_object_renamed_in_the_console_whose_name_was_reused_is_never_destroyed_or_rebound() {
    let live = Live::start();
    let dir = project(DEFAULT_ROLE);
    live.run_ok(dir.path(), &["apply", "-e", ENV, "--auto-approve"]);
    live.run_ok(dir.path(), &["backup", "-e", ENV]);
    let backup = newest_backup(&live, dir.path(), "manual");
    let role1 = id_of(&live, "role", "Viewer").unwrap();
    let perm1 = id_of(&live, "permission", "billing.read").unwrap();

    live.call(
        "/v1/mgmt/permission/update",
        json!({"name": "billing.read", "newName": "billing.old"}),
    );
    live.call(
        "/v1/mgmt/role/update",
        json!({"name": "Viewer", "newName": "Reader", "permissionNames": ["billing.old"]}),
    );
    live.call(
        "/v1/mgmt/permission/create",
        json!({"name": "billing.read"}),
    );
    live.call("/v1/mgmt/role/create", json!({"name": "Viewer"}));
    let role2 = id_of(&live, "role", "Viewer").unwrap();
    let perm2 = id_of(&live, "permission", "billing.read").unwrap();
    assert_ne!(role1, role2);

    let calls = crate::apply::mutations(&live).len();
    for args in [
        vec!["apply", "-e", ENV, "--auto-approve"],
        vec!["restore", "-e", ENV, &backup, "--auto-approve"],
    ] {
        let out = live.run(dir.path(), &args);
        let err = stderr(&out);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{args:?}: {}{err}",
            stdout(&out)
        );
        assert!(
            err.contains(&format!("`{perm1}`")) && err.contains(&format!("`{perm2}`")),
            "{args:?}: {err}"
        );
        assert!(err.contains("rename or delete"), "{args:?}: {err}");
        assert_eq!(
            crate::apply::mutations(&live).len(),
            calls,
            "{args:?}: no call"
        );
    }
    assert_eq!(id_of(&live, "role", "Reader"), Some(role1.clone()));
    assert_eq!(
        id_of(&live, "permission", "billing.old"),
        Some(perm1.clone())
    );

    // The way out: the new ones deleted in the console, then the restore renames back by id.
    live.call("/v1/mgmt/role/delete", json!({"name": "Viewer"}));
    live.call(
        "/v1/mgmt/permission/delete",
        json!({"name": "billing.read"}),
    );
    live.run_ok(
        dir.path(),
        &["restore", "-e", ENV, &backup, "--auto-approve"],
    );
    assert_eq!(id_of(&live, "role", "Viewer"), Some(role1));
    assert_eq!(id_of(&live, "permission", "billing.read"), Some(perm1));
    assert_eq!(
        live.get("/v1/mgmt/tenant?id=acme")["defaultRoles"],
        json!(["Viewer"])
    );
    assert_no_changes(&live, dir.path());
}

/// Two tenants that swapped names since the backup: Descope keeps tenant names unique, so the two
/// updates that swap them back would both fail (before, the restore planned exactly those). The
/// restore is refused before any write, saying how to get there; after the way out it succeeds.
#[test]
fn tenants_that_swapped_names_since_the_backup_are_refused_with_the_way_out() {
    let config = "tenants:\n  - {id: a, name: Alpha}\n  - {id: b, name: Beta}\n";
    let live = Live::start();
    let dir = project(config);
    live.run_ok(dir.path(), &["apply", "-e", ENV, "--auto-approve"]);
    live.run_ok(dir.path(), &["backup", "-e", ENV]);
    let backup = newest_backup(&live, dir.path(), "manual");
    for (id, name) in [("a", "Temp"), ("b", "Alpha"), ("a", "Beta")] {
        live.call("/v1/mgmt/tenant/update", json!({"id": id, "name": name}));
    }

    let calls = crate::apply::mutations(&live).len();
    let out = live.run(
        dir.path(),
        &["restore", "-e", ENV, &backup, "--auto-approve"],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{}{err}", stdout(&out));
    assert!(
        err.contains("`tenant.a` from `Beta` to `Alpha`, `tenant.b` from `Alpha` to `Beta`"),
        "{err}"
    );
    assert!(
        err.contains("hint: Descope refuses a second tenant"),
        "{err}"
    );
    assert_eq!(crate::apply::mutations(&live).len(), calls, "no call");

    // The way out the error gives: one of them to a temporary name, then restore again.
    live.call(
        "/v1/mgmt/tenant/update",
        json!({"id": "a", "name": "Beta (restoring)"}),
    );
    live.run_ok(
        dir.path(),
        &["restore", "-e", ENV, &backup, "--auto-approve"],
    );
    let names: Vec<(String, String)> = live.get("/v1/mgmt/tenant/all")["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["id"].as_str().unwrap().into(),
                t["name"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert!(names.contains(&("a".into(), "Alpha".into())), "{names:?}");
    assert!(names.contains(&("b".into(), "Beta".into())), "{names:?}");
    assert_no_changes(&live, dir.path());
}
