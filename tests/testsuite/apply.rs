//! `apply` through the real binary against an in-process emulator: convergence and idempotence,
//! field ownership, partial failure, guards, saved plans, the pre-apply backup, and Descope's
//! preconfigured objects. Assertions are on the emulator's request log, the live objects and the
//! state, never on timing. (Faults, crashes, Ctrl-C and concurrency are in `apply_faults.rs`;
//! the confirmation prompt in `apply_prompts.rs`.)

use std::path::Path;

use serde_json::{Value, json};

use crate::live::{Live, env_file};
use crate::support::{stderr, stdout};

pub(crate) const ENV: &str = "app";

/// Two permissions, project and tenant roles, `Tenant Admin` extended, two tenants.
pub(crate) const CONFIG: &str = "\
permissions:
  - {name: billing.read, description: Read invoices}
  - {name: billing.write}
roles:
  - {name: Viewer, description: Read-only, permissions: [billing.read]}
  - {name: Auditor, tenant: acme, permissions: [billing.read, billing.write]}
  - {name: Tenant Admin, permissions: [User Admin, SSO Admin, Impersonate, billing.write]}
tenants:
  - {id: acme, name: Acme Corp, self_provisioning_domains: [acme.com], custom_attributes: {plan: pro}, default_roles: [Viewer]}
  - {id: beta, name: Beta Inc, enforce_sso: true}
";

pub(crate) fn project(config: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    env_file(dir.path(), ENV, config);
    dir
}

/// The calls that change something, as `METHOD path`.
pub(crate) fn mutations(live: &Live) -> Vec<String> {
    live.requests()
        .into_iter()
        .filter(|r| {
            !r.starts_with("GET ")
                && ![
                    "/flow/list",
                    "/flow/export",
                    "/theme/export",
                    "/role/search",
                ]
                .iter()
                .any(|p| r.ends_with(p))
        })
        .collect()
}

pub(crate) fn state_text(root: &Path) -> Option<String> {
    std::fs::read_to_string(root.join(format!("state/{ENV}.json"))).ok()
}

pub(crate) fn state(root: &Path) -> Value {
    serde_json::from_str(&state_text(root).expect("a state file")).unwrap()
}

pub(crate) fn apply(live: &Live, root: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["apply", "-e", ENV, "--auto-approve"];
    args.extend_from_slice(extra);
    live.run(root, &args)
}

/// The next plan has no change, and shows no drift: the state recorded what Descope holds.
pub(crate) fn assert_no_changes(live: &Live, root: &Path) {
    let out = live.run(root, &["plan", "-e", ENV, "--detailed-exitcode"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "the next plan is not empty:\n{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        !stdout(&out).contains("changed outside of dmgmt"),
        "false drift after the apply:\n{}",
        stdout(&out)
    );
}

#[test]
fn apply_converges_and_a_second_apply_makes_no_call() {
    let live = Live::start();
    let dir = project(CONFIG);
    let out = apply(&live, dir.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("# tenant.acme will be created"));
    assert!(stderr(&out).contains("Apply complete!"), "{}", stderr(&out));
    assert_no_changes(&live, dir.path());

    let state = state(dir.path());
    assert!(
        state["resources"]["role.Viewer"]["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("ROL")),
        "Descope's id is recorded"
    );
    assert_eq!(
        live.get("/v1/mgmt/tenant?id=acme")["defaultRoles"],
        json!(["Viewer"])
    );

    let before = mutations(&live).len();
    let again = apply(&live, dir.path(), &[]);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert!(stdout(&again).contains("No changes."));
    assert_eq!(
        mutations(&live).len(),
        before,
        "an idempotent apply calls nothing"
    );
}

#[test]
fn an_update_changes_only_the_managed_field_and_leaves_every_other_field_byte_identical() {
    let live = Live::start();
    live.call(
        "/v1/mgmt/tenant/create",
        json!({"id": "parent-co", "name": "Parent Co"}),
    );
    live.call(
        "/v1/mgmt/tenant/create",
        json!({
            "id": "acme", "name": "Acme", "selfProvisioningDomains": ["acme.com"],
            "customAttributes": {"plan": "free", "region": "eu"}, "enforceSSO": true,
            "enforceSSOExclusions": ["U1"], "federatedAppIds": ["app-1"], "disabled": false,
            "roleInheritance": "userOnly", "parent": "parent-co"
        }),
    );
    live.call(
        "/v1/mgmt/role/create",
        json!({"name": "Viewer", "description": "old", "default": true, "private": true}),
    );
    let tenant_before = live.get("/v1/mgmt/tenant?id=acme");
    let dir = project(
        "roles:\n  - {name: Viewer, description: Read-only}\ntenants:\n  - {id: acme, name: Acme Corp, custom_attributes: {plan: pro}}\n",
    );
    let out = apply(&live, dir.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let mut expected = tenant_before;
    expected["name"] = json!("Acme Corp");
    expected["customAttributes"]["plan"] = json!("pro");
    assert_eq!(live.get("/v1/mgmt/tenant?id=acme"), expected);
    let roles = live.get("/v1/mgmt/role/all");
    let viewer = roles["roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "Viewer")
        .unwrap();
    assert_eq!(
        (
            &viewer["description"],
            &viewer["default"],
            &viewer["private"]
        ),
        (&json!("Read-only"), &json!(true), &json!(true))
    );
    assert_no_changes(&live, dir.path());
}

#[test]
fn a_change_that_fails_for_good_skips_its_dependents_and_the_rest_is_applied() {
    let live = Live::start();
    // An unmanaged tenant already holds the name the new tenant wants: Descope refuses it.
    live.call(
        "/v1/mgmt/tenant/create",
        json!({"id": "stranger", "name": "Taken Name"}),
    );
    let dir = project(
        "permissions:\n  - {name: p}\nroles:\n  - {name: Viewer, permissions: [p]}\n  - {name: Local, tenant: clash}\ntenants:\n  - {id: acme, name: Acme}\n  - {id: clash, name: Taken Name}\n",
    );
    let out = apply(&live, dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(err.contains("tenant.clash: failed"), "{err}");
    assert!(err.contains("role.clash/Local: skipped"), "{err}");
    assert!(err.contains("Apply finished with errors."), "{err}");

    let state = state(dir.path());
    for addr in ["permission.p", "role.Viewer", "tenant.acme"] {
        assert!(state["resources"].get(addr).is_some(), "{addr} is recorded");
    }
    assert!(state["resources"].get("tenant.clash").is_none());

    let plan = live.run(dir.path(), &["plan", "-e", ENV, "--json"]);
    let plan: Value = serde_json::from_slice(&plan.stdout).unwrap();
    let remaining: Vec<&str> = plan["plan"]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["addr"].as_str().unwrap())
        .collect();
    assert_eq!(remaining, ["tenant.clash", "role.clash/Local"]);
}

#[test]
fn guarded_deletes_are_refused_without_allow_delete_and_applied_with_it() {
    let live = Live::start();
    let dir = project(
        "tenants:\n  - {id: old, name: Old Co, prevent_destroy: true}\n  - {id: keep, name: Keep}\n",
    );
    assert_eq!(apply(&live, dir.path(), &[]).status.code(), Some(0));
    env_file(dir.path(), ENV, "tenants:\n  - {id: keep, name: Keep}\n");

    let before = (mutations(&live).len(), state_text(dir.path()));
    let out = apply(&live, dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("refusing to destroy 1 guarded resource without --allow-delete"),
        "{}",
        stderr(&out)
    );
    assert_eq!((mutations(&live).len(), state_text(dir.path())), before);

    let out = apply(&live, dir.path(), &["--allow-delete"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(state(dir.path())["resources"].get("tenant.old").is_none());
    assert_no_changes(&live, dir.path());
}

#[test]
fn a_saved_plan_applies_as_approved_and_is_refused_once_stale() {
    let live = Live::start();
    let dir = project(CONFIG);
    let file = dir.path().join("app.plan");
    let file = file.to_str().unwrap();
    let plan = |dir: &Path| live.run(dir, &["plan", "-e", ENV, "--out", file]);
    let apply_file = |dir: &Path| live.run(dir, &["apply", "-e", ENV, file]);

    // State changed since: refused, nothing called.
    assert_eq!(plan(dir.path()).status.code(), Some(0));
    assert_eq!(
        live.run(dir.path(), &["refresh", "-e", ENV]).status.code(),
        Some(0)
    );
    let out = apply_file(dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("the saved plan is stale"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("the state was created since"),
        "{}",
        stderr(&out)
    );
    assert_eq!(mutations(&live), Vec::<String>::new());

    // Configuration changed since.
    assert_eq!(plan(dir.path()).status.code(), Some(0));
    env_file(dir.path(), ENV, &CONFIG.replace("Beta Inc", "Beta Ltd"));
    let out = apply_file(dir.path());
    assert!(
        stderr(&out).contains("the configuration changed since"),
        "{}",
        stderr(&out)
    );

    // A touched live object changed since.
    env_file(dir.path(), ENV, CONFIG);
    live.call(
        "/v1/mgmt/tenant/create",
        json!({"id": "beta", "name": "Beta Inc"}),
    );
    let out = live.run(dir.path(), &["plan", "-e", ENV, "--out", file]);
    assert_eq!(out.status.code(), Some(0));
    live.call(
        "/v1/mgmt/tenant/update",
        json!({"id": "beta", "name": "Beta Inc", "enforceSSOExclusions": ["U9"]}),
    );
    let out = apply_file(dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("`tenant.beta` changed in Descope since"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        mutations(&live).len(),
        2,
        "only the two calls this test made by hand"
    );

    // Fresh: applied without asking (no terminal, no --auto-approve), and it converges.
    assert_eq!(plan(dir.path()).status.code(), Some(0));
    let out = apply_file(dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_no_changes(&live, dir.path());
}

#[test]
fn the_pre_apply_backup_holds_the_live_bodies_from_before_the_first_change() {
    let live = Live::start();
    live.call(
        "/v1/mgmt/tenant/create",
        json!({"id": "acme", "name": "Acme"}),
    );
    let dir = project("tenants:\n  - {id: acme, name: Acme Corp}\n");
    let out = apply(&live, dir.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let root = dir.path().join(format!("state/backups/{ENV}"));
    let backups: Vec<_> = std::fs::read_dir(&root).unwrap().flatten().collect();
    assert_eq!(backups.len(), 1);
    let folder = backups[0].path();
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(folder.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["environment"], ENV);
    assert_eq!(manifest["trigger"], "pre-apply");
    let files = manifest["files"].as_array().expect("a list of files");
    assert!(!files.is_empty());
    let mut saw_acme = false;
    for file in files {
        let bytes = crate::support::backup_body(&folder, file["address"].as_str().unwrap());
        assert_eq!(
            file["sha256"].as_str().unwrap(),
            dmgmt::state::sha256_hex(&bytes),
            "{file}"
        );
        if file["address"] == "tenant.acme" {
            let body: Value = serde_json::from_slice(&bytes).unwrap();
            assert_eq!(body["name"], "Acme", "the body from before the update");
            saw_acme = true;
        }
    }
    assert!(saw_acme, "{manifest:#}");
}

#[test]
fn tenant_admin_is_adopted_and_extended_and_no_system_default_permission_is_written() {
    let live = Live::start();
    let dir = project(CONFIG);
    let out = apply(&live, dir.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let roles = live.get("/v1/mgmt/role/all");
    let admin = roles["roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "Tenant Admin")
        .unwrap();
    let mut perms: Vec<&str> = admin["permissionNames"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    perms.sort_unstable();
    assert_eq!(
        perms,
        ["Impersonate", "SSO Admin", "User Admin", "billing.write"]
    );
    assert!(
        state(dir.path())["resources"]
            .get("role.Tenant Admin")
            .is_some()
    );

    for entry in live.handle.request_log() {
        if entry.path.starts_with("/v1/mgmt/permission/") && entry.method == "POST" {
            let body = entry.body.to_string();
            for name in ["User Admin", "SSO Admin", "Impersonate"] {
                assert!(!body.contains(name), "{} sent {body}", entry.path);
            }
        }
    }
}

/// The README's quick start: apply the shipped `local` environment against the embedded
/// emulator, then plan: "No changes.".
#[test]
fn the_quick_start_applies_local_and_the_next_plan_has_no_changes() {
    let dir = crate::support::shipped_project();
    let run = |args: &[&str]| {
        crate::support::dmgmt()
            .arg("--dir")
            .arg(dir.path())
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&["apply", "-e", "local", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("Apply complete!"), "{}", stderr(&out));
    let out = run(&["plan", "-e", "local", "--detailed-exitcode"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_eq!(
        stdout(&out),
        "No changes. The live project of `local` matches the configuration.\n"
    );
    let audit = std::fs::read_to_string(dir.path().join("state/audit.jsonl")).unwrap();
    assert_eq!(
        audit.lines().count(),
        1,
        "one line for the apply; plan writes none"
    );
}
