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

/// The newest backup's id and trigger (from `backups --json`, newest first).
fn newest_backup(live: &Live, root: &Path) -> (String, String) {
    let list: Value =
        serde_json::from_str(&live.run_ok(root, &["backups", "-e", ENV, "--json"])).unwrap();
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
    live.run_ok(dir.path(), &["apply", "-e", ENV, "--auto-approve"]);
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
    let plan = live.run_ok(dir.path(), &["plan", "-e", ENV]);
    assert!(
        plan.contains(
            "deleting `role.Viewer` may also remove it from the default roles of the tenant `tenant.stranger`, which dmgmt does not manage"
        ),
        "the default-roles cascade is warned:\n{plan}"
    );
    live.run_ok(dir.path(), &["apply", "-e", ENV, "--auto-approve"]);
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

    live.run_ok(dir.path(), &["restore", "-e", ENV, &id, "--auto-approve"]);
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

/// A tenant's settings as the Node SDK sends them (`InactivityTime` with a capital I).
fn set_settings(live: &Live, id: &str, session_hours: i64) {
    live.call(
        "/v1/mgmt/tenant/settings",
        json!({
            "tenantId": id,
            "selfProvisioningDomains": ["acme.com"],
            "domains": ["sso.acme.com"],
            "authType": "saml",
            "enabled": true,
            "sessionTokenExpiration": session_hours,
            "sessionTokenExpirationUnit": "hours",
            "refreshTokenExpiration": 4,
            "refreshTokenExpirationUnit": "weeks",
            "stepupTokenExpiration": 5,
            "stepupTokenExpirationUnit": "minutes",
            "enableInactivity": true,
            "InactivityTime": 30,
            "InactivityTimeUnit": "minutes",
            "JITDisabled": true,
            "ssoSetupSuiteSettings": {"enabled": true, "styleId": "s1",
                "disabledFeatures": {"saml": false, "oidc": true}}
        }),
    );
}

/// The settings a backup's body of tenant `id` holds.
fn backed_up_settings(root: &Path, backup_id: &str, id: &str) -> Value {
    let folder = root.join(format!("state/backups/{ENV}/{backup_id}"));
    let bytes = crate::support::backup_body(&folder, &format!("tenant.{id}"));
    let body: Value = serde_json::from_slice(&bytes).unwrap();
    body["dmgmt:tenantSettings"].clone()
}

#[test]
fn backups_hold_tenant_settings_and_a_restore_puts_them_back() {
    let live = Live::start();
    let dir =
        project("tenants:\n  - {id: acme, name: Acme Corp}\n  - {id: beta, name: Beta Inc}\n");
    live.run_ok(dir.path(), &["apply", "-e", ENV, "--auto-approve"]);
    set_settings(&live, "acme", 3);
    let original = live.get("/v1/mgmt/tenant/settings?id=acme");
    assert_eq!(original["inactivityTime"], 30, "{original}");
    assert_eq!(original["authType"], "saml");

    live.run_ok(dir.path(), &["backup", "-e", ENV]);
    let (manual, _) = newest_backup(&live, dir.path());
    assert_eq!(backed_up_settings(dir.path(), &manual, "acme"), original);

    // In the console, a setting changed; then an apply deletes the tenant: its settings, as they
    // were just before, are in the pre-apply backup.
    set_settings(&live, "acme", 10);
    let edited = live.get("/v1/mgmt/tenant/settings?id=acme");
    env_file(
        dir.path(),
        ENV,
        "tenants:\n  - {id: beta, name: Beta Inc}\n",
    );
    live.run_ok(dir.path(), &["apply", "-e", ENV, "--auto-approve"]);
    let (pre_apply, trigger) = newest_backup(&live, dir.path());
    assert_eq!(trigger, "pre-apply");
    assert_eq!(backed_up_settings(dir.path(), &pre_apply, "acme"), edited);

    // The manual backup brings the tenant back with every setting it held, not Descope's defaults.
    let shown = live.run_ok(
        dir.path(),
        &["restore", "-e", ENV, &manual, "--auto-approve"],
    );
    assert!(
        shown.contains("tenant.acme will get its settings back"),
        "{shown}"
    );
    assert_eq!(live.get("/v1/mgmt/tenant/settings?id=acme"), original);
    let again = live.run_ok(
        dir.path(),
        &["restore", "-e", ENV, &manual, "--auto-approve"],
    );
    assert!(
        !again.contains("settings back"),
        "a second restore has nothing to do:\n{again}"
    );
}

/// Whether Descope answers 404 or `{}` for a tenant whose settings were never set is
/// undocumented: either way backup, apply and restore work, and such a tenant gets no settings
/// step; a tenant with settings still gets them back.
#[test]
fn a_tenant_without_settings_is_backed_up_and_restored_whether_descope_answers_404_or_empty() {
    use dmgmt::emulator::{DescopeVariant, EmulatorConfig, UnsetSettings};
    for unset_settings in [UnsetSettings::NotFound, UnsetSettings::Empty] {
        let live = Live::with(EmulatorConfig {
            variant: DescopeVariant {
                unset_settings,
                ..DescopeVariant::default()
            },
            ..EmulatorConfig::default()
        });
        let dir =
            project("tenants:\n  - {id: acme, name: Acme Corp}\n  - {id: plain, name: Plain}\n");
        live.run_ok(dir.path(), &["apply", "-e", ENV, "--auto-approve"]);
        set_settings(&live, "acme", 3);
        let original = live.get("/v1/mgmt/tenant/settings?id=acme");
        live.run_ok(dir.path(), &["backup", "-e", ENV]);
        let (manual, _) = newest_backup(&live, dir.path());
        assert_eq!(
            backed_up_settings(dir.path(), &manual, "plain"),
            Value::Null
        );

        env_file(dir.path(), ENV, "tenants: []\n");
        live.run_ok(dir.path(), &["apply", "-e", ENV, "--auto-approve"]);
        let shown = live.run_ok(
            dir.path(),
            &["restore", "-e", ENV, &manual, "--auto-approve"],
        );
        assert!(
            shown.contains("tenant.acme will get its settings back")
                && !shown.contains("tenant.plain will get its settings back"),
            "{unset_settings:?}:\n{shown}"
        );
        assert_eq!(live.get("/v1/mgmt/tenant/settings?id=acme"), original);
        assert_eq!(live.get("/v1/mgmt/tenant?id=plain")["name"], "Plain");
    }
}
