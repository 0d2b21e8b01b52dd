//! What an apply may be trusted with beyond the plan it shows: a saved plan is applied only when
//! it is exactly what its inputs produce, a guard added to an in-sync resource is recorded by an
//! apply that finds nothing to change, `--json` never asks for an approval of a plan it did not
//! show, and an update does not reset what a colleague changed in the console meanwhile. Through
//! the real binary against the emulator.

use std::path::Path;

use serde_json::{Value, json};

use crate::apply::{CONFIG, ENV, apply, assert_no_changes, mutations, project, state, state_text};
use crate::live::{Live, env_file};
use crate::support::{stderr, stdout};

/// `plan --out FILE`, read back as JSON.
fn saved_plan(live: &Live, root: &Path, file: &str) -> Value {
    let path = root.join(file);
    let out = live.run(root, &["plan", "-e", ENV, "--out", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = std::fs::read_to_string(&path).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn at(root: &Path, file: &str) -> String {
    root.join(file).to_string_lossy().into_owned()
}

fn write_plan(root: &Path, file: &str, plan: &Value) {
    std::fs::write(root.join(file), serde_json::to_string_pretty(plan).unwrap()).unwrap();
}

fn tenant(live: &Live, id: &str) -> Option<Value> {
    live.get("/v1/mgmt/tenant/all")["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id)
        .cloned()
}

#[test]
fn an_edited_saved_plan_is_refused_and_nothing_is_changed() {
    let live = Live::start();
    let dir = project(CONFIG);
    let out = apply(&live, dir.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    env_file(
        dir.path(),
        ENV,
        &CONFIG.replace("Acme Corp", "Acme Corporation"),
    );
    let plan = saved_plan(&live, dir.path(), "rename.json");
    let changes = plan["plan"]["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{plan:#}");
    assert_eq!(changes[0]["after"]["name"], "Acme Corporation");
    let before = state_text(dir.path());
    let calls = mutations(&live).len();

    // The body an approved update sends, edited.
    let mut edited = plan.clone();
    edited["plan"]["changes"][0]["after"]["name"] = json!("HACKED");
    write_plan(dir.path(), "edited.json", &edited);
    let out = live.run(
        dir.path(),
        &["apply", "-e", ENV, &at(dir.path(), "edited.json")],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("is not what dmgmt plans from its inputs"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("`tenant.acme`"), "{}", stderr(&out));

    // A delete of an object dmgmt does not manage, appended with its live body and digest.
    live.call(
        "/v1/mgmt/tenant/create",
        json!({"id": "customer", "name": "A Customer"}),
    );
    let plan = saved_plan(&live, dir.path(), "rename.json");
    let fresh = saved_plan_of_delete(&live);
    let mut forged = plan.clone();
    let mut delete = fresh;
    delete["depends_on"] = json!([]);
    forged["plan"]["changes"]
        .as_array_mut()
        .unwrap()
        .push(delete);
    write_plan(dir.path(), "forged.json", &forged);
    let out = live.run(
        dir.path(),
        &["apply", "-e", ENV, &at(dir.path(), "forged.json")],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("`tenant.customer`: dmgmt plans no such change"),
        "{}",
        stderr(&out)
    );
    assert!(
        tenant(&live, "customer").is_some(),
        "the unmanaged tenant is still there"
    );
    assert_eq!(tenant(&live, "acme").unwrap()["name"], "Acme Corp");
    assert_eq!(mutations(&live).len(), calls + 1, "only the seed was sent");
    assert_eq!(state_text(dir.path()), before);

    // A dependency that points nowhere is no plan dmgmt made either, and no panic.
    let mut broken = plan.clone();
    broken["plan"]["changes"][0]["depends_on"] = json!([7]);
    write_plan(dir.path(), "broken.json", &broken);
    let out = live.run(
        dir.path(),
        &["apply", "-e", ENV, &at(dir.path(), "broken.json")],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));

    // The untouched plan still applies, and unrelated live changes since do not stale it.
    live.call(
        "/v1/mgmt/tenant/create",
        json!({"id": "another", "name": "Another Customer"}),
    );
    let out = live.run(
        dir.path(),
        &["apply", "-e", ENV, &at(dir.path(), "rename.json")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(tenant(&live, "acme").unwrap()["name"], "Acme Corporation");
    assert!(tenant(&live, "customer").is_some());
    assert_no_changes(&live, dir.path());
}

#[test]
fn a_damaged_saved_plan_is_refused_before_anything_is_read_or_sent() {
    let live = Live::start();
    let dir = project(CONFIG);
    let out = apply(&live, dir.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    env_file(
        dir.path(),
        ENV,
        &CONFIG.replace("Acme Corp", "Acme Corporation"),
    );
    let plan = saved_plan(&live, dir.path(), "rename.json");
    assert_eq!(
        plan["plan"]["changes"][0]["addr"], "tenant.acme",
        "{plan:#}"
    );
    let before = state_text(dir.path());
    /// What is damaged, how, and what the refusal says.
    type Damage = (&'static str, fn(&mut Value), &'static str);
    let damages: [Damage; 4] = [
        (
            "waits for itself",
            |c| c["depends_on"] = json!([0]),
            "changes depend on each other in a cycle: 0 (`tenant.acme`)",
        ),
        (
            "waits for a change it does not have",
            |c| c["depends_on"] = json!([3]),
            "change 0 (`tenant.acme`) depends on change 3, which the plan does not have",
        ),
        (
            "renames a tenant",
            |c| c["action"] = json!({"type": "rename", "from": "Acme"}),
            "change 0 (`tenant.acme`): a tenant has no action `rename`",
        ),
        (
            "has lost its body",
            |c| c["after"] = Value::Null,
            "change 0 (`tenant.acme`): the update has no body to send",
        ),
    ];
    for (what, damage, why) in damages {
        let mut damaged = plan.clone();
        damage(&mut damaged["plan"]["changes"][0]);
        write_plan(dir.path(), "damaged.json", &damaged);
        let requests = live.requests().len();
        let out = live.run(
            dir.path(),
            &["apply", "-e", ENV, &at(dir.path(), "damaged.json")],
        );
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{what}: {err}");
        assert!(
            err.contains("cannot be carried out; nothing was applied") && err.contains(why),
            "{what}: {err}"
        );
        assert_eq!(
            live.requests().len(),
            requests,
            "{what}: nothing was read or sent"
        );
        assert_eq!(state_text(dir.path()), before, "{what}");
    }
}

/// The delete change dmgmt would plan for the live tenant `customer` if it managed it: its real
/// live body and digest, taken from a plan of a throwaway project that does manage it.
fn saved_plan_of_delete(live: &Live) -> Value {
    let other = tempfile::tempdir().unwrap();
    env_file(other.path(), ENV, CONFIG);
    live.record_state(other.path(), ENV, &["tenant.customer"], |_, _| {}, &[]);
    let plan = saved_plan(live, other.path(), "delete.json");
    plan["plan"]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["addr"] == "tenant.customer")
        .cloned()
        .expect("a delete of tenant.customer")
}

#[test]
fn a_guard_added_to_an_in_sync_resource_is_recorded_by_an_apply_without_changes() {
    let live = Live::start();
    let dir = project(CONFIG);
    let out = apply(&live, dir.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let guarded = CONFIG.replace(
        "{id: beta, name: Beta Inc, enforce_sso: true}",
        "{id: beta, name: Beta Inc, enforce_sso: true, prevent_destroy: true}",
    );
    env_file(dir.path(), ENV, &guarded);
    let out = apply(&live, dir.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("No changes."), "{}", stdout(&out));
    assert_eq!(
        state(dir.path())["resources"]["tenant.beta"]["prevent_destroy"],
        true
    );

    // Removed from the configuration later: the delete is guarded.
    let removed: String = guarded
        .lines()
        .filter(|l| !l.contains("id: beta"))
        .map(|l| format!("{l}\n"))
        .collect();
    env_file(dir.path(), ENV, &removed);
    let calls = mutations(&live).len();
    let out = apply(&live, dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("`tenant.beta`: prevent_destroy is set"),
        "{}",
        stderr(&out)
    );
    assert_eq!(mutations(&live).len(), calls);
    assert!(tenant(&live, "beta").is_some());
}

#[test]
fn a_backup_and_a_restore_without_changes_record_guards_too() {
    let live = Live::start();
    let dir = project(CONFIG);
    let out = apply(&live, dir.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let guard = |id: &str| {
        let config = CONFIG.replace(
            &format!("{{id: {id}, "),
            &format!("{{id: {id}, prevent_destroy: true, "),
        );
        env_file(dir.path(), ENV, &config);
    };
    let guarded = |id: &str| {
        state(dir.path())["resources"][format!("tenant.{id}")]["prevent_destroy"].clone()
    };

    guard("beta");
    let out = live.run(dir.path(), &["backup", "-e", ENV]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(guarded("beta"), true, "recorded by `backup`");

    let backups = live.run(dir.path(), &["backups", "-e", ENV, "--json"]);
    let doc: Value = serde_json::from_str(&stdout(&backups)).unwrap();
    let id = doc["backups"][0]["id"].as_str().unwrap().to_owned();
    guard("acme");
    let out = live.run(dir.path(), &["restore", "-e", ENV, &id, "--auto-approve"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("No changes."), "{}", stdout(&out));
    assert_eq!(
        guarded("acme"),
        true,
        "recorded by a restore without changes"
    );
}

#[test]
fn apply_json_needs_auto_approve_or_a_saved_plan_before_anything_is_read() {
    let live = Live::start();
    let dir = project(CONFIG);
    let out = live.run(dir.path(), &["apply", "-e", ENV, "--json"]);
    assert_eq!(out.status.code(), Some(64), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("`--json` cannot show the plan to approve"),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
    assert!(live.requests().is_empty(), "{:?}", live.requests());
    assert!(state_text(dir.path()).is_none());

    let out = live.run(
        dir.path(),
        &["apply", "-e", ENV, "--json", "--auto-approve"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(doc["format_version"], 1);
}

#[test]
fn a_console_edit_made_during_a_long_apply_is_not_reverted() {
    let live = Live::with(dmgmt::emulator::EmulatorConfig {
        latency: std::time::Duration::from_millis(150),
        ..dmgmt::emulator::EmulatorConfig::default()
    });
    let tenants = |plan: &str| -> String {
        let mut text = String::from("tenants:\n");
        for i in 1..=6 {
            text.push_str(&format!(
                "  - {{id: t{i}, name: Tenant {i}, custom_attributes: {{plan: {plan}}}}}\n"
            ));
        }
        text
    };
    let dir = project(&tenants("free"));
    let out = apply(&live, dir.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    env_file(dir.path(), ENV, &tenants("pro"));

    let updates = || {
        live.requests()
            .iter()
            .filter(|r| r.ends_with("/tenant/update"))
            .count()
    };
    let before = updates();
    let mut child = crate::process::spawn(
        dir.path(),
        &live,
        &["apply", "-e", ENV, "--auto-approve", "--parallelism", "1"],
    );
    let first_update = || updates() > before;
    assert!(
        crate::process::eventually(std::time::Duration::from_secs(60), first_update),
        "the apply never started updating"
    );
    // A colleague, in the console, while the apply is still busy with `t1`: SSO enforced on
    // `t6` and a custom attribute the configuration does not write.
    live.call(
        "/v1/mgmt/tenant/update",
        json!({"id": "t6", "name": "Tenant 6", "enforceSSO": true,
            "customAttributes": {"plan": "free", "region": "eu"}}),
    );
    let status = child.wait(std::time::Duration::from_secs(60));
    assert!(
        status.success(),
        "{}",
        std::fs::read_to_string(dir.path().join("child.err")).unwrap()
    );
    let t6 = tenant(&live, "t6").unwrap();
    assert_eq!(t6["customAttributes"]["plan"], "pro", "{t6}");
    assert_eq!(t6["customAttributes"]["region"], "eu", "{t6}");
    assert_eq!(t6["enforceSSO"], true, "{t6}");
}

#[test]
fn a_roles_flag_set_in_the_console_during_an_apply_is_not_reverted() {
    let live = Live::with(dmgmt::emulator::EmulatorConfig {
        latency: std::time::Duration::from_millis(200),
        ..dmgmt::emulator::EmulatorConfig::default()
    });
    let config = |permissions: &str| {
        format!(
            "permissions:\n  - {{name: read}}\n  - {{name: write}}\nroles:\n  - {{name: Editor, permissions: [{permissions}]}}\n"
        )
    };
    let dir = project(&config("read"));
    let out = apply(&live, dir.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // The role gains a permission that must be created first.
    env_file(
        dir.path(),
        ENV,
        &config("read, audit").replace("- {name: write}", "- {name: write}\n  - {name: audit}"),
    );
    let creates = || {
        live.requests()
            .iter()
            .filter(|r| r.contains("/permission/create"))
            .count()
    };
    let before = creates();
    let mut child = crate::process::spawn(
        dir.path(),
        &live,
        &["apply", "-e", ENV, "--auto-approve", "--parallelism", "1"],
    );
    assert!(
        crate::process::eventually(std::time::Duration::from_secs(60), || creates() > before),
        "the apply never created the permission"
    );
    // Meanwhile, in the console: the role made private.
    live.call(
        "/v1/mgmt/role/update",
        json!({"name": "Editor", "newName": "Editor", "permissionNames": ["read"], "private": true}),
    );
    let status = child.wait(std::time::Duration::from_secs(60));
    assert!(
        status.success(),
        "{}",
        std::fs::read_to_string(dir.path().join("child.err")).unwrap()
    );
    let roles = live.get("/v1/mgmt/role/all");
    let editor = roles["roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "Editor")
        .cloned()
        .unwrap();
    assert_eq!(editor["private"], true, "{editor}");
    let mut granted: Vec<&str> = editor["permissionNames"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    granted.sort();
    assert_eq!(granted, ["audit", "read"]);
}

#[test]
fn a_targeted_saved_plan_is_checked_against_a_plan_with_the_same_targets() {
    let live = Live::start();
    let dir = project(CONFIG);
    let out = apply(&live, dir.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    env_file(
        dir.path(),
        ENV,
        &CONFIG
            .replace("Acme Corp", "Acme Corporation")
            .replace("Beta Inc", "Beta Incorporated"),
    );
    let path = at(dir.path(), "acme.json");
    let out = live.run(
        dir.path(),
        &["plan", "-e", ENV, "--target", "tenant.acme", "--out", &path],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(saved["targets"], json!(["tenant.acme"]));

    let out = live.run(dir.path(), &["apply", "-e", ENV, &path]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(tenant(&live, "acme").unwrap()["name"], "Acme Corporation");
    assert_eq!(tenant(&live, "beta").unwrap()["name"], "Beta Inc");
}
