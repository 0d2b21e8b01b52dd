//! A permission renamed through `renamed_from` while roles still grant it under its old name.
//! Whether Descope carries a permission's rename into the roles that grant it, or drops the name
//! from them, is undocumented (`docs/descope-api.md` §4: UNSURE): against an emulator giving either
//! answer the apply succeeds, every role dmgmt manages grants the permission under its new name,
//! and the next plan is empty. (Found by `props::`; its seed is in `proptest-regressions/`.)

use serde_json::{Value, json};

use crate::apply::{ENV, apply, assert_no_changes};
use crate::live::{Live, env_file};
use crate::support::{stderr, stdout};
use dmgmt::emulator::{DescopeVariant, EmulatorConfig};

/// `r1` changes its description, `r2` is declared as it is; neither writes its permissions.
/// `r3` is not declared: dmgmt does not manage it.
const CONFIG: &str = "\
permissions:
  - {name: p0, renamed_from: old-p0}
roles:
  - {name: r1, description: second}
  - {name: r2}
";

fn seed(live: &Live) {
    live.call(
        "/v1/mgmt/permission/create",
        json!({"name": "old-p0", "description": ""}),
    );
    for (name, description) in [("r1", "first"), ("r2", ""), ("r3", "")] {
        live.call(
            "/v1/mgmt/role/create",
            json!({"name": name, "description": description,
                "permissionNames": ["User Admin", "old-p0"], "tenantId": ""}),
        );
    }
}

fn grants(live: &Live, role: &str) -> Vec<String> {
    let roles = live.get("/v1/mgmt/role/all");
    let role = roles["roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == role)
        .unwrap_or_else(|| panic!("no role `{role}` in {roles}"));
    let mut names: Vec<String> = role["permissionNames"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect();
    names.sort();
    names
}

fn converges(config: EmulatorConfig) -> Live {
    let live = Live::with(config);
    seed(&live);
    let dir = tempfile::tempdir().unwrap();
    env_file(dir.path(), ENV, CONFIG);

    let plan = live.run(dir.path(), &["plan", "-e", ENV]);
    assert_eq!(plan.status.code(), Some(0), "{}", stderr(&plan));
    let shown = stdout(&plan);
    assert!(
        shown.contains("role.r3") && shown.contains("which dmgmt does not manage"),
        "the rename's effect on the unmanaged role is said:\n{shown}"
    );

    let out = apply(&live, dir.path(), &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    for role in ["r1", "r2"] {
        assert_eq!(grants(&live, role), ["User Admin", "p0"], "`{role}`");
    }
    assert_no_changes(&live, dir.path());
    let again = apply(&live, dir.path(), &[]);
    assert!(stdout(&again).contains("No changes."), "{}", stdout(&again));
    live
}

#[test]
fn a_permission_renamed_while_roles_grant_its_old_name_converges_when_descope_renames_it_in_them() {
    let live = converges(EmulatorConfig::default());
    assert_eq!(grants(&live, "r3"), ["User Admin", "p0"]);
}

#[test]
fn a_permission_renamed_while_roles_grant_its_old_name_converges_when_descope_drops_it_from_them() {
    let live = converges(EmulatorConfig {
        variant: DescopeVariant {
            permission_rename_drops_from_roles: true,
            ..DescopeVariant::default()
        },
        ..EmulatorConfig::default()
    });
    assert_eq!(
        grants(&live, "r3"),
        ["User Admin"],
        "the unmanaged role is left as Descope made it"
    );
}

/// A role renamed while a managed tenant that does not write its default roles names it there:
/// the tenant's default roles name the new name afterwards, and the state records them, so the
/// next plan shows neither a change nor drift.
#[test]
fn a_role_renamed_while_a_tenant_names_it_in_its_default_roles_converges() {
    let live = Live::start();
    live.call(
        "/v1/mgmt/role/create",
        json!({"name": "old-r1", "description": "", "permissionNames": [], "tenantId": ""}),
    );
    live.call(
        "/v1/mgmt/tenant/create",
        json!({"id": "t0", "name": "T0", "selfProvisioningDomains": []}),
    );
    live.call(
        "/v1/mgmt/tenant/updateDefaultRoles",
        json!({"id": "t0", "defaultRoles": ["old-r1"]}),
    );
    let dir = tempfile::tempdir().unwrap();
    env_file(
        dir.path(),
        ENV,
        "roles:\n  - {name: r1, renamed_from: old-r1}\ntenants:\n  - {id: t0, name: T0}\n",
    );
    let out = apply(&live, dir.path(), &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let tenants = live.get("/v1/mgmt/tenant/all");
    assert_eq!(tenants["tenants"][0]["defaultRoles"], json!(["r1"]));
    assert_no_changes(&live, dir.path());
}
