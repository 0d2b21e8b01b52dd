//! `dmgmt import`: a project configured by hand in the console (the emulator, seeded with raw
//! calls) is imported into an environment that declares nothing; the written configuration
//! validates, plans "No changes." with no drift, and a second import writes nothing.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::json;

use crate::live::{Live, env_file};
use crate::support::{stderr, stdout};

/// A project built by hand: permissions, project and tenant-scoped roles, tenants with custom
/// attributes and settings, three flows (one with a literal `${` in its text) and a theme.
fn hand_built() -> Live {
    let live = Live::start();
    for (name, description) in [
        ("billing.read", "Read invoices"),
        ("reports.export", ""),
        (
            "yes",
            "A permission named like a YAML 1.1 boolean: key: value # not a comment",
        ),
    ] {
        live.call(
            "/v1/mgmt/permission/create",
            json!({"name": name, "description": description}),
        );
    }
    live.call(
        "/v1/mgmt/role/create",
        json!({"name": "Viewer", "description": "Reads", "permissionNames": ["billing.read", "User Admin"]}),
    );
    live.call(
        "/v1/mgmt/role/create",
        json!({"name": "Exporter", "permissionNames": ["reports.export"]}),
    );
    live.call("/v1/mgmt/tenant/create", json!({
        "id": "acme", "name": "Acme Corp", "selfProvisioningDomains": ["acme.com", "Acme.io"],
        "customAttributes": {"plan": "enterprise", "seats": 500, "ratio": 0.5, "sso": true, "tags": ["a", "b"], "code": "007"},
        "enforceSSO": true,
    }));
    live.call(
        "/v1/mgmt/tenant/create",
        json!({"id": "globex", "name": "null", "disabled": true}),
    );
    live.call(
        "/v1/mgmt/role/create",
        json!({"name": "Auditor", "tenantId": "acme", "description": "Acme's auditors", "permissionNames": ["billing.read"]}),
    );
    live.call(
        "/v1/mgmt/tenant/updateDefaultRoles",
        json!({"id": "acme", "defaultRoles": ["Viewer", "Auditor"]}),
    );
    for (id, title) in [
        ("sign-in", "Welcome"),
        ("step-up", "Verify it is you"),
        ("invite", "Pay ${amount} now"),
    ] {
        live.call("/v1/mgmt/flow/import", json!({
            "flowId": id,
            "flow": {"id": id, "name": id, "version": 3, "dsl": {"start": "s1", "version": 2}},
            "screens": [{"id": "s1", "version": 1, "htmlTemplate": {"title": title}}, {"id": "s2", "htmlTemplate": {"title": "Done"}}],
        }));
    }
    live.call(
        "/v1/mgmt/theme/import",
        json!({"theme": {"id": "theme", "cssTemplate": {"light": {"primary": "#123456"}}}}),
    );
    live
}

/// Every file under `environments/`, by path.
fn files(root: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(dir: &Path, root: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, root, out);
            } else {
                let rel = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(&root.join("environments"), root, &mut out);
    out
}

#[test]
fn a_hand_built_project_is_imported_validates_and_plans_no_changes() {
    let live = hand_built();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    env_file(root, "hand", "# Configured by hand until now.\n");

    // Without --write: what would be imported, and nothing written.
    let before = files(root);
    let out = live.run(root, &["import", "-e", "hand"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for addr in [
        "permission.billing.read",
        "permission.yes",
        "role.Viewer",
        "role.Exporter",
        "role.acme/Auditor",
        "tenant.acme",
        "tenant.globex",
        "flow.sign-in",
        "flow.step-up",
        "flow.invite",
        "theme",
    ] {
        assert!(
            text.contains(&format!("  + {addr}\n")),
            "{addr} missing:\n{text}"
        );
    }
    // Descope's own objects are not imported: system-default permissions, an untouched Tenant Admin.
    for own in ["User Admin", "SSO Admin", "Impersonate", "Tenant Admin"] {
        assert!(!text.contains(own), "{own} imported:\n{text}");
    }
    assert!(text.contains("Nothing was written."), "{text}");
    assert_eq!(files(root), before, "import without --write wrote files");
    assert!(!root.join("state/hand.json").exists());

    let out = live.run(root, &["import", "-e", "hand", "--write"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("Adopted 12 objects into the state of `hand` (serial 1)"),
        "{}",
        stdout(&out)
    );

    let env = std::fs::read_to_string(root.join("environments/hand.yaml")).unwrap();
    assert!(
        env.starts_with("project_id: ")
            && env.ends_with("# Configured by hand until now.\n")
            && env.contains("\n\ninclude:\n  - shared/hand-imported.yaml\n"),
        "{env}"
    );
    let generated =
        std::fs::read_to_string(root.join("environments/shared/hand-imported.yaml")).unwrap();
    for expected in [
        "permissions:\n  - name: billing.read\n    description: Read invoices\n  - name: reports.export\n  - name: \"yes\"\n    description: \"A permission named like a YAML 1.1 boolean: key: value # not a comment\"\nroles:\n",
        "  - name: Viewer\n    description: Reads\n    permissions: [User Admin, billing.read]\n",
        "  - name: Auditor\n    tenant: acme\n    description: Acme's auditors\n    permissions: [billing.read]\ntenants:\n",
        "  - id: acme\n    name: Acme Corp\n    self_provisioning_domains: [acme.com, acme.io]\n    custom_attributes:\n      code: \"007\"\n      plan: enterprise\n      ratio: 0.5\n      seats: 500\n      sso: true\n      tags: [a, b]\n    enforce_sso: true\n    default_roles: [Auditor, Viewer]\n",
        "  - id: globex\n    name: \"null\"\n    disabled: true\ntheme:\n  template: flows/theme.json\nflows:\n  - id: invite\n    template: flows/invite.json\n  - id: sign-in\n",
    ] {
        assert!(
            generated.contains(expected),
            "missing {expected:?} in:\n{generated}"
        );
    }
    assert!(
        generated.starts_with("# Imported by `dmgmt import -e hand`"),
        "{generated}"
    );
    let invite = std::fs::read_to_string(root.join("environments/flows/invite.json")).unwrap();
    assert!(
        invite.contains("\"title\": \"Pay $${amount} now\""),
        "{invite}"
    );
    assert!(
        !invite.contains("\"version\": 3") && invite.contains("\"version\": 2"),
        "{invite}"
    );

    let out = live.run(root, &["validate", "-e", "hand"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));

    let out = live.run(root, &["plan", "-e", "hand", "--detailed-exitcode"]);
    let plan = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{plan}{}", stderr(&out));
    assert!(plan.starts_with("No changes."), "{plan}");
    assert!(!plan.contains("changed outside"), "{plan}");
    let out = live.run(
        root,
        &[
            "plan",
            "-e",
            "hand",
            "--refresh-only",
            "--detailed-exitcode",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("No drift"), "{}", stdout(&out));

    // A second import finds nothing and writes nothing.
    let written = files(root);
    let state = std::fs::read(root.join("state/hand.json")).unwrap();
    let out = live.run(root, &["import", "-e", "hand", "--write"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with("Nothing to import"),
        "{}",
        stdout(&out)
    );
    assert_eq!(files(root), written);
    assert_eq!(std::fs::read(root.join("state/hand.json")).unwrap(), state);

    let audit = std::fs::read_to_string(root.join("state/audit.jsonl")).unwrap();
    let imports: Vec<serde_json::Value> = audit
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|r: &serde_json::Value| r["command"] == "import")
        .collect();
    assert_eq!(imports.len(), 1, "{audit}");
    assert_eq!(imports[0]["changes"].as_array().unwrap().len(), 12);
}

#[test]
fn objects_added_later_are_merged_into_the_generated_file_and_a_changed_tenant_admin_is_adopted() {
    let live = hand_built();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    env_file(
        root,
        "hand",
        "include: [shared/base.yaml]  # shared definitions\npermissions:\n  - name: billing.read\n    description: Read invoices\n",
    );
    crate::support::write(root, "environments/shared/base.yaml", b"permissions: []\n");
    crate::support::write(
        root,
        "environments/flows/sign-in.json",
        b"{\"flow\": {}, \"screens\": []}\n",
    );
    let out = live.run(root, &["import", "-e", "hand", "--write"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let env = std::fs::read_to_string(root.join("environments/hand.yaml")).unwrap();
    assert!(
        env.starts_with("project_id: ")
            && env.contains(
                "\ninclude: [shared/base.yaml, shared/hand-imported.yaml]  # shared definitions\n"
            ),
        "{env}"
    );
    // A template file that holds something else is left alone.
    assert!(root.join("environments/flows/sign-in.hand.json").exists());
    assert!(
        !stdout(&out).contains("permission.billing.read"),
        "{}",
        stdout(&out)
    );

    // Someone extends Tenant Admin and adds a tenant in the console.
    live.call(
        "/v1/mgmt/role/update",
        json!({"name": "Tenant Admin", "newName": "Tenant Admin", "description": "Admins", "permissionNames": ["User Admin", "billing.read"]}),
    );
    live.call(
        "/v1/mgmt/tenant/create",
        json!({"id": "initech", "name": "Initech"}),
    );
    let out = live.run(root, &["import", "-e", "hand", "--write"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("2 objects in Descope are not managed by dmgmt (1 role, 1 tenant)"),
        "{text}"
    );
    assert!(
        text.contains("  update environments/shared/hand-imported.yaml"),
        "{text}"
    );
    let generated =
        std::fs::read_to_string(root.join("environments/shared/hand-imported.yaml")).unwrap();
    assert!(generated.contains("  - name: Tenant Admin\n    description: Admins\n    permissions: [User Admin, billing.read]\n"), "{generated}");
    assert!(generated.contains("  - id: globex\n    name: \"null\"\n    disabled: true\n  - id: initech\n    name: Initech\n"), "{generated}");
    // Only what the environment declared itself is left to adopt (import adopts what it writes).
    let out = live.run(root, &["plan", "-e", "hand"]);
    let plan = stdout(&out);
    assert!(
        plan.starts_with("dmgmt will perform the following actions")
            && plan.contains("# permission.billing.read will be adopted")
            && plan.ends_with("Plan: 1 to adopt, 0 to add, 0 to change, 0 to destroy.\n"),
        "{plan}{}",
        stderr(&out)
    );
}

#[test]
fn an_import_that_would_not_validate_puts_every_file_back_and_adopts_nothing() {
    let live = Live::start();
    live.call(
        "/v1/mgmt/tenant/create",
        json!({"id": "acme", "name": "Acme"}),
    );
    // A name the configuration cannot hold (control characters are refused in names).
    live.call(
        "/v1/mgmt/permission/create",
        json!({"name": "bad\u{7}name"}),
    );
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    env_file(root, "hand", "");
    let before = files(root);
    let out = live.run(root, &["import", "-e", "hand", "--write"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(
        err.contains("error: the imported configuration of `hand` does not validate")
            && err.contains("environments/shared/hand-imported.yaml:")
            && err.contains("put back as they were; nothing was adopted"),
        "{err}"
    );
    assert_eq!(files(root), before);
    assert!(!root.join("state/hand.json").exists());
}

/// Without `--write`, import takes no lock, so it writes nothing: a journal a stopped run left
/// beside the state is read, not folded into the state file, and is left for the next command
/// that holds the lock.
#[test]
fn an_import_without_write_leaves_a_stopped_runs_journal_to_the_next_writer() {
    let live = Live::start();
    let dir = crate::apply::project(crate::apply::CONFIG);
    let root = dir.path();
    let env = crate::apply::ENV;
    assert_eq!(crate::apply::apply(&live, root, &[]).status.code(), Some(0));
    let state = crate::apply::state(root);
    assert!(state["resources"].get("tenant.beta").is_some());
    // What a run stopped after removing `tenant.beta` from the state leaves: one journal line.
    let line = json!({
        "lineage": state["lineage"], "base": state["serial"], "project_id": state["project_id"],
        "seq": 0, "ops": [{"op": "remove", "addr": "tenant.beta"}],
    })
    .to_string();
    let journal = root.join(format!("state/{env}.json.journal"));
    let sum = dmgmt::state::sha256_hex(line.as_bytes());
    std::fs::write(&journal, format!("{sum} {line}\n")).unwrap();
    let before = crate::apply::state_text(root);

    let out = live.run(root, &["import", "-e", env]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        crate::apply::state_text(root),
        before,
        "the state file is untouched"
    );
    assert!(journal.exists(), "the journal is left");

    let out = live.run(root, &["refresh", "-e", env]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!journal.exists(), "folded in by a command holding the lock");
    let state = crate::apply::state(root);
    assert!(state["resources"].get("tenant.beta").is_none(), "{state}");
}
