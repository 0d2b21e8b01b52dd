//! `backup`, `backups` and `restore` through the real binary against an in-process emulator: a
//! restore returns every object to the backup's exact body; a backup that cannot be trusted is
//! refused before any call; a restore killed midway is finished by the next one without
//! duplicates; retention prunes by age but keeps the newest `keep_min`.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use crate::apply::{CONFIG, ENV, assert_no_changes, project};
use crate::live::{Live, env_file};
use crate::process::{eventually, spawn};
use crate::support::{stderr, stdout, write};
use dmgmt::emulator::{EmulatorConfig, LOCAL_MANAGEMENT_KEY, LOCAL_PROJECT_ID};
use dmgmt::model::{ResourceAddr, Snapshot};
use dmgmt::state::backup;

const FLOW: &str = r#"{"flow": {"id": "sign-in", "name": "Sign In", "dsl": {"start": "s1"}},
 "screens": [{"id": "s1", "htmlTemplate": {"title": "Welcome"}}]}"#;
const THEME: &str = r##"{"theme": {"cssTemplate": {"light": {"primary": "#0a0"}}}}"##;

/// `CONFIG` with a flow and the theme.
fn full_project() -> tempfile::TempDir {
    let dir = project(&format!(
        "{CONFIG}flows:\n  - {{id: sign-in, template: flows/sign-in.json}}\ntheme:\n  template: flows/theme.json\n"
    ));
    write(
        dir.path(),
        "environments/flows/sign-in.json",
        FLOW.as_bytes(),
    );
    write(
        dir.path(),
        "environments/flows/theme.json",
        THEME.as_bytes(),
    );
    dir
}

/// Takes a manual backup and returns its id (from `backups --json`, newest first).
fn take_backup(live: &Live, root: &Path) -> String {
    live.run_ok(root, &["backup", "-e", ENV]);
    let list: Value =
        serde_json::from_str(&live.run_ok(root, &["backups", "-e", ENV, "--json"])).unwrap();
    assert_eq!(list["format_version"], 1);
    assert_eq!(list["backups"][0]["trigger"], "manual");
    list["backups"][0]["id"].as_str().unwrap().to_owned()
}

/// The whole live project, as a fresh refresh reads it.
fn everything(live: &Live) -> Snapshot {
    let mut config = dmgmt::api::ClientConfig::new(
        LOCAL_PROJECT_ID,
        dmgmt::api::ManagementKey::new(LOCAL_MANAGEMENT_KEY),
    );
    config.base_url = Some(live.handle.base_url());
    let client = dmgmt::api::Client::new(config).unwrap();
    live.runtime
        .block_on(dmgmt::ops::live::refresh_everything(
            &client,
            2,
            &dmgmt::ops::live::Quiet,
        ))
        .unwrap()
}

fn without(mut body: Value, fields: &[&str]) -> Value {
    for f in fields {
        body.as_object_mut().unwrap().remove(*f);
    }
    body
}

#[test]
fn restore_returns_every_object_to_the_backups_exact_body_and_the_plan_is_empty() {
    let live = Live::start();
    let dir = full_project();
    live.run_ok(dir.path(), &["apply", "-e", ENV, "--auto-approve"]);
    // An unmanaged flow that exists when the backup is taken: a manual backup holds it too.
    live.call(
        "/v1/mgmt/flow/import",
        json!({"flowId": "legacy", "flow": {"name": "Legacy"}, "screens": []}),
    );
    let id = take_backup(&live, dir.path());
    let state_dir = dir.path().join("state");
    let manifest = backup::verify(&state_dir, ENV, &id, LOCAL_PROJECT_ID).unwrap();
    assert!(
        manifest
            .files
            .iter()
            .any(|f| f.address.to_string() == "flow.legacy"),
        "every flow of the flow list is backed up"
    );

    // By hand in the console: changes (an unmodelled field too), deletes and creates.
    live.call(
        "/v1/mgmt/tenant/update",
        json!({"id": "acme", "name": "Acme Edited", "roleInheritance": "userOnly"}),
    );
    live.call(
        "/v1/mgmt/role/update",
        // Only a field dmgmt does not model: restored all the same.
        json!({"name": "Viewer", "newName": "Viewer", "description": "Read-only", "permissionNames": ["billing.read"], "private": true}),
    );
    live.call(
        "/v1/mgmt/permission/delete",
        json!({"name": "billing.write"}),
    );
    live.call("/v1/mgmt/tenant/delete", json!({"id": "beta"}));
    live.call(
        "/v1/mgmt/tenant/create",
        json!({"id": "stray", "name": "Stray"}),
    );
    live.call("/v1/mgmt/role/create", json!({"name": "Extra"}));
    live.call(
        "/v1/mgmt/flow/import",
        json!({"flowId": "sign-in", "flow": {"name": "Hacked"}, "screens": []}),
    );
    live.call(
        "/v1/mgmt/flow/import",
        json!({"flowId": "stray-flow", "flow": {"name": "Stray"}, "screens": []}),
    );

    let out = live.run(
        dir.path(),
        &[
            "restore",
            "-e",
            ENV,
            &id,
            "--auto-approve",
            "--delete-unmanaged",
        ],
    );
    let (text, err) = (stdout(&out), stderr(&out));
    assert_eq!(out.status.code(), Some(0), "{text}{err}");
    assert!(text.contains("# tenant.beta will be created"), "{text}");
    assert!(text.contains("# tenant.stray will be destroyed"), "{text}");
    assert!(
        text.contains("roleInheritance"),
        "unmodelled fields are shown: {text}"
    );
    assert!(
        text.contains("# role.Viewer will be updated in place"),
        "{text}"
    );
    assert!(err.contains("Restore complete!"), "{err}");
    assert!(err.contains("Pre-restore backup: "), "{err}");

    // Every object of the backup is back, byte for byte; only what Descope computes itself
    // (ids and creation times of re-created objects, a flow's version) can differ.
    let now = everything(&live);
    let recreated = ["permission.billing.write", "tenant.beta"];
    for file in &manifest.files {
        let addr = file.address.to_string();
        let object = now
            .get(&file.address)
            .unwrap_or_else(|| panic!("{addr} is missing after the restore"));
        let saved: Value = serde_json::from_slice(&crate::support::backup_body(
            &state_dir.join(format!("backups/{ENV}/{id}")),
            &addr,
        ))
        .unwrap();
        match file.address {
            ResourceAddr::Flow(_) | ResourceAddr::Theme => assert_eq!(
                dmgmt::model::attrs::normalize_document(&object.raw.to_value()),
                dmgmt::model::attrs::normalize_document(&saved),
                "{addr}"
            ),
            _ if recreated.contains(&addr.as_str()) => assert_eq!(
                without(object.raw.to_value(), &["id", "createdTime"]),
                without(saved, &["id", "createdTime", "dmgmt:tenantSettings"]),
                "{addr}"
            ),
            // A tenant's file also holds its settings (checked in `backup_contents`); the rest
            // is the exact body.
            ResourceAddr::Tenant(_) => assert_eq!(
                object.raw.to_value(),
                without(saved, &["dmgmt:tenantSettings"]),
                "{addr}: the exact body"
            ),
            _ => assert_eq!(object.digest, file.sha256, "{addr}: the exact body"),
        }
    }
    for gone in ["tenant.stray", "role.Extra", "flow.stray-flow"] {
        assert!(
            now.get(&gone.parse().unwrap()).is_none(),
            "{gone} is deleted"
        );
    }
    assert_eq!(now.objects.len(), manifest.files.len());
    assert_no_changes(&live, dir.path());

    // Restoring again changes nothing.
    let again = live.run_ok(dir.path(), &["restore", "-e", ENV, &id, "--auto-approve"]);
    assert!(again.contains("No changes."), "{again}");
}

#[test]
fn objects_created_since_that_dmgmt_does_not_manage_are_kept_without_delete_unmanaged() {
    let live = Live::start();
    let dir = project(CONFIG);
    live.run_ok(dir.path(), &["apply", "-e", ENV, "--auto-approve"]);
    let id = take_backup(&live, dir.path());
    live.call(
        "/v1/mgmt/tenant/create",
        json!({"id": "stray", "name": "Stray"}),
    );
    env_file(
        dir.path(),
        ENV,
        &format!("{CONFIG}  - {{id: gamma, name: Gamma}}\n"),
    );
    live.run_ok(dir.path(), &["apply", "-e", ENV, "--auto-approve"]);

    let text = live.run_ok(dir.path(), &["restore", "-e", ENV, &id, "--auto-approve"]);
    assert!(text.contains("# tenant.gamma will be destroyed"), "{text}");
    assert!(text.contains("`tenant.stray`"), "{text}");
    assert!(
        text.contains("--delete-unmanaged deletes them too"),
        "{text}"
    );
    assert!(
        live.get("/v1/mgmt/tenant/all")["tenants"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["id"] == "stray")
    );
    // The managed tenant the restore deleted left the state.
    let state = crate::apply::state(dir.path());
    assert!(state["resources"].get("tenant.gamma").is_none());
    assert!(state["resources"].get("tenant.acme").is_some());
}

#[test]
fn a_tampered_truncated_or_foreign_backup_is_refused_before_any_call() {
    let live = Live::start();
    let dir = project(CONFIG);
    live.run_ok(dir.path(), &["apply", "-e", ENV, "--auto-approve"]);
    let id = take_backup(&live, dir.path());
    let folder = dir.path().join(format!("state/backups/{ENV}/{id}"));
    let pristine = tempfile::tempdir().unwrap();
    crate::support::copy_dir(&folder, pristine.path());
    let reset = || {
        std::fs::remove_dir_all(&folder).unwrap();
        crate::support::copy_dir(pristine.path(), &folder);
    };
    let bundle = folder.join("objects.jsonl");
    // Where tenant acme's body starts in the bundle, and its length.
    let acme = crate::support::backup_body(&folder, "tenant.acme");
    let text = std::fs::read(&bundle).unwrap();
    let start = text
        .windows(acme.len())
        .position(|w| w == acme.as_slice())
        .unwrap();

    type Damage<'a> = Box<dyn Fn() + 'a>;
    let cases: Vec<(&str, Damage, &str)> = vec![
        (
            "edited",
            Box::new(|| {
                let mut edited = text.clone();
                let evil = br#"{"id":"acme","name":"Evil"}"#;
                edited.splice(start..start + acme.len(), evil.iter().copied());
                std::fs::write(&bundle, edited).unwrap();
            }),
            "(tenant.acme) was changed",
        ),
        (
            "truncated",
            Box::new(|| std::fs::write(&bundle, &text[..start + acme.len() / 2]).unwrap()),
            "(tenant.acme) was changed",
        ),
        (
            "the last object missing",
            Box::new(|| {
                let cut = text[..text.len() - 1]
                    .iter()
                    .rposition(|b| *b == b'\n')
                    .map_or(0, |i| i + 1);
                std::fs::write(&bundle, &text[..cut]).unwrap();
            }),
            "is missing: `objects.jsonl` has",
        ),
        (
            "every object missing",
            Box::new(|| std::fs::remove_file(&bundle).unwrap()),
            "`objects.jsonl` (every object's body) is missing",
        ),
        (
            "an object added",
            Box::new(|| {
                let mut added = text.clone();
                added.extend_from_slice(b"{\"name\":\"Extra\"}\n");
                std::fs::write(&bundle, added).unwrap();
            }),
            "of `objects.jsonl` is not listed in the manifest",
        ),
        (
            "another project",
            Box::new(|| {
                let path = folder.join("manifest.json");
                let text = std::fs::read_to_string(&path).unwrap();
                std::fs::write(&path, text.replace(LOCAL_PROJECT_ID, "P2someOtherProject"))
                    .unwrap();
            }),
            "belongs to project `P2someOtherProject`",
        ),
    ];
    for (what, damage, expected) in cases {
        reset();
        damage();
        let calls = live.requests().len();
        let out = live.run(
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
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{what}: {err}");
        assert!(err.contains(expected), "{what}: {err}");
        assert_eq!(
            live.requests().len(),
            calls,
            "{what}: no call at all, not even a refresh"
        );
        assert!(!dir.path().join(format!("state/{ENV}.lock")).exists());
    }
    let out = live.run(
        dir.path(),
        &["restore", "-e", ENV, "20200101T000000Z", "--auto-approve"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("does not exist"), "{}", stderr(&out));
}

#[test]
fn a_restore_killed_midway_is_finished_by_the_next_without_duplicates() {
    let live = Live::with(EmulatorConfig {
        latency: Duration::from_millis(200),
        ..EmulatorConfig::default()
    });
    let mut config = String::from("tenants:\n");
    for i in 0..10 {
        config.push_str(&format!("  - {{id: t{i:02}, name: Tenant {i:02}}}\n"));
    }
    let dir = project(&config);
    live.run_ok(dir.path(), &["apply", "-e", ENV, "--auto-approve"]);
    let id = take_backup(&live, dir.path());
    for i in 0..10 {
        live.call("/v1/mgmt/tenant/delete", json!({"id": format!("t{i:02}")}));
    }
    let count = || {
        live.get("/v1/mgmt/tenant/all")["tenants"]
            .as_array()
            .unwrap()
            .len()
    };

    let mut child = spawn(
        dir.path(),
        &live,
        &[
            "restore",
            "-e",
            ENV,
            &id,
            "--auto-approve",
            "--parallelism",
            "1",
        ],
    );
    assert!(
        eventually(Duration::from_secs(30), || count() >= 3),
        "the restore made progress"
    );
    child.signal("KILL");
    child.wait(Duration::from_secs(10));
    let restored = count();
    assert!(restored < 10, "killed before the end ({restored} restored)");

    let lock: Value = serde_json::from_slice(
        &std::fs::read(dir.path().join(format!("state/{ENV}.lock"))).unwrap(),
    )
    .unwrap();
    live.run_ok(
        dir.path(),
        &["unlock", "-e", ENV, lock["id"].as_str().unwrap()],
    );
    let out = live.run_ok(dir.path(), &["restore", "-e", ENV, &id, "--auto-approve"]);
    assert!(
        out.contains(&format!("Plan: {} to add, 0 to change", 10 - restored)),
        "only what remains: {out}"
    );
    assert_eq!(count(), 10);
    let conflicts = live
        .handle
        .request_log()
        .iter()
        .filter(|e| e.status == 409)
        .count();
    assert_eq!(conflicts, 0, "nothing was created twice");
    assert_no_changes(&live, dir.path());
}

#[test]
fn retention_prunes_old_backups_but_keeps_the_newest_keep_min() {
    let live = Live::start();
    let dir = project(&format!(
        "backups: {{retention_days: 7, keep_min: 2}}\n{CONFIG}"
    ));
    live.run_ok(dir.path(), &["apply", "-e", ENV, "--auto-approve"]);
    let ids: Vec<String> = (0..3).map(|_| take_backup(&live, dir.path())).collect();
    let folder = dir.path().join(format!("state/backups/{ENV}"));
    let list = |root: &Path| -> Vec<String> {
        let v: Value =
            serde_json::from_str(&live.run_ok(root, &["backups", "-e", ENV, "--json"])).unwrap();
        v["backups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let all = list(dir.path());
    assert_eq!(
        all.len(),
        4,
        "the pre-apply backup and three manual ones: {all:?}"
    );
    let table = live.run_ok(dir.path(), &["backups", "-e", ENV]);
    assert!(table.starts_with("ID "), "{table}");
    assert!(
        table.contains("pre-apply") && table.contains("manual"),
        "{table}"
    );

    // Everything but the newest manual backup is made a month old.
    for (i, id) in all.iter().skip(1).enumerate() {
        let path = folder.join(id).join("manifest.json");
        let mut manifest: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        manifest["created_at"] = json!(format!("2020-01-0{}T00:00:00Z", 5 - i));
        std::fs::write(&path, manifest.to_string()).unwrap();
    }
    let out = live.run_ok(dir.path(), &["backups", "-e", ENV, "--prune"]);
    let doomed = [&all[2], &all[3]];
    for id in doomed {
        assert!(out.contains(id.as_str()), "{out}");
        assert!(!folder.join(id).exists());
    }
    assert_eq!(list(dir.path()), vec![all[0].clone(), all[1].clone()]);
    assert_eq!(ids[2], all[0]);
    let again = live.run_ok(dir.path(), &["backups", "-e", ENV, "--prune"]);
    assert!(again.contains("Nothing to prune"), "{again}");
}

/// Descope's system-default permissions are in a backup (it holds the whole project) but are
/// not the project's own: `backup` and `backups` count them apart.
#[test]
fn backups_count_descopes_system_default_permissions_apart() {
    let live = Live::start();
    let dir = project(
        "permissions:\n  - {name: billing.read}\nroles:\n  - {name: Viewer, permissions: [billing.read]}\n",
    );
    live.run_ok(dir.path(), &["apply", "-e", ENV, "--auto-approve"]);
    let out = live.run_ok(dir.path(), &["backup", "-e", ENV]);
    assert!(
        out.contains(": 1 permission (+3 system-default), 2 roles, 1 theme ("),
        "{out}"
    );
    let table = live.run_ok(dir.path(), &["backups", "-e", ENV]);
    assert!(
        table.contains("  1 permission (+3 system-default), 2 roles, 1 theme  "),
        "{table}"
    );
    let list: Value =
        serde_json::from_str(&live.run_ok(dir.path(), &["backups", "-e", ENV, "--json"])).unwrap();
    let newest = &list["backups"][0];
    assert_eq!(
        newest["counts"],
        json!({"permission": 1, "role": 2, "theme": 1})
    );
    assert_eq!(newest["system_default_permissions"], 3);
}
