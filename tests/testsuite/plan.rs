//! `plan` through the real binary against an emulator: a rich scenario rendered as golden files,
//! determinism, no mutating call, `--out` and `--target`, tenant deletes and name swaps. `refresh`,
//! `state` and the lock on the same scenario are in `refresh_state.rs`.
//!
//! Golden files live in `tests/golden/`; re-bless them with `DMGMT_BLESS=1 cargo test`.

use serde_json::{Value, json};

use crate::live::Live;
use crate::support::{dmgmt, stderr, stdout, write};
use dmgmt::emulator::LOCAL_PROJECT_ID;

const FLOW_LIVE: &str = r#"{"flow": {"id": "sign-in", "name": "Sign In", "dsl": {"start": "s1"}, "version": 7, "etag": "abc"},
 "screens": [{"id": "s1", "flowId": "sign-in", "htmlTemplate": {"title": "Welcome"}}, {"id": "s2", "flowId": "sign-in", "htmlTemplate": {"title": "Code"}}]}"#;

const FLOW_DESIRED: &str = r#"{"flow": {"id": "sign-in", "name": "Sign In", "dsl": {"start": "s1", "roles": ["Viewer"]}, "version": 9},
 "screens": [{"id": "s1", "flowId": "sign-in", "htmlTemplate": {"title": "Welcome to ${var.brand}"}}, {"id": "s2", "flowId": "sign-in", "htmlTemplate": {"title": "Code"}},
  {"id": "s3", "flowId": "sign-in", "htmlTemplate": {"title": "Done"}}]}"#;

fn config(reversed: bool) -> String {
    let mut permissions = [
        "  - {name: billing.read, description: Read invoices}",
        "  - {name: billing.write, description: Write invoices}",
        "  - {name: reports.read, description: Read reports}",
    ];
    let mut roles = [
        "  - {name: Billing Admin, renamed_from: Billing Manager, permissions: [billing.read]}",
        "  - {name: Viewer, description: Read-only, permissions: [reports.read]}",
    ];
    let mut tenants = [
        "  - {id: acme, name: Acme Corp, default_roles: [Viewer]}",
        "  - {id: gone, name: Gone Ltd}",
    ];
    if reversed {
        permissions.reverse();
        roles.reverse();
        tenants.reverse();
    }
    format!(
        "project_id: {LOCAL_PROJECT_ID}\nmanagement_key: ${{env.DMGMT_TEST_KEY}}\nbase_url: ${{env.DMGMT_TEST_URL}}\nvars: {{brand: Ledgerly}}\npermissions:\n{}\nroles:\n{}\ntenants:\n{}\nflows:\n  - {{id: sign-in, template: flows/sign-in.json}}\n",
        permissions.join("\n"),
        roles.join("\n"),
        tenants.join("\n")
    )
}

/// The rich scenario: every kind of change, drift and an unmanaged object.
pub(crate) fn scenario() -> (tempfile::TempDir, Live) {
    let live = Live::start();
    for (name, description) in [
        ("billing.read", "Read invoices"),
        ("billing.write", "old text"),
        ("legacy.perm", "Unused"),
    ] {
        live.call(
            "/v1/mgmt/permission/create",
            json!({"name": name, "description": description}),
        );
    }
    live.call(
        "/v1/mgmt/role/create",
        json!({"name": "Billing Manager", "permissionNames": ["billing.read"]}),
    );
    live.call(
        "/v1/mgmt/role/create",
        json!({"name": "Viewer", "description": "Old viewer"}),
    );
    live.call("/v1/mgmt/tenant/create", json!({"id": "acme", "name": "Acme", "enforceSSO": true, "selfProvisioningDomains": ["acme.com"]}));
    live.call(
        "/v1/mgmt/tenant/create",
        json!({"id": "old-co", "name": "Old Co"}),
    );
    live.call(
        "/v1/mgmt/tenant/create",
        json!({"id": "stranger", "name": "Stranger Inc"}),
    );
    let flow: Value = serde_json::from_str(FLOW_LIVE).unwrap();
    live.call(
        "/v1/mgmt/flow/import",
        json!({"flowId": "sign-in", "flow": flow["flow"], "screens": flow["screens"]}),
    );

    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "environments/golden.yaml",
        config(false).as_bytes(),
    );
    write(
        dir.path(),
        "environments/flows/sign-in.json",
        FLOW_DESIRED.as_bytes(),
    );
    live.record_state(
        dir.path(),
        "golden",
        &[
            "permission.billing.read",
            "permission.billing.write",
            "permission.legacy.perm",
            "role.Billing Manager",
            "tenant.acme",
            "tenant.old-co",
            "tenant.gone",
            "flow.sign-in",
        ],
        // The last apply saw acme without enforced SSO: someone changed it in the console since;
        // and gone-ltd was deleted there.
        |addr, attrs| match addr {
            "tenant.acme" => attrs["enforce_sso"] = json!(false),
            "tenant.gone" => *attrs = json!({"id": "gone", "name": "Gone Ltd"}),
            _ => {}
        },
        &["tenant.old-co"],
    );
    (dir, live)
}

/// Compares with `tests/golden/NAME`, or rewrites it when `DMGMT_BLESS` is set.
pub(crate) fn golden(name: &str, actual: &str) {
    let path = crate::support::repo_root().join("tests/golden").join(name);
    if std::env::var_os("DMGMT_BLESS").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "missing golden file {} (bless with DMGMT_BLESS=1)",
            path.display()
        )
    });
    assert!(
        expected == actual,
        "{name} differs from the golden file; diff:\n{}",
        similar::TextDiff::from_lines(expected.as_str(), actual).unified_diff()
    );
}

/// Replaces what depends on when the emulator created its objects: `createdTime` values, and the
/// live digests that cover them.
fn settle_times(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, item) in map.iter_mut() {
                match k.as_str() {
                    "createdTime" if item.is_number() => *item = json!("<time>"),
                    "live_digest" if item.is_string() => *item = json!("<live digest>"),
                    _ => settle_times(item),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(settle_times),
        _ => {}
    }
}

/// The only calls a plan may make: reads.
const READS: [&str; 7] = [
    "GET /v1/mgmt/permission/all",
    "GET /v1/mgmt/role/all",
    "POST /v1/mgmt/role/search",
    "GET /v1/mgmt/tenant/all",
    "POST /v1/mgmt/flow/list",
    "POST /v1/mgmt/flow/export",
    "POST /v1/mgmt/theme/export",
];

#[test]
fn a_rich_plan_renders_as_the_golden_files_and_makes_no_mutating_call() {
    let (dir, live) = scenario();
    let seeded = live.requests().len();

    let plain = live.run(dir.path(), &["plan", "-e", "golden", "--detailed-exitcode"]);
    assert_eq!(plain.status.code(), Some(2), "{}", stderr(&plain));
    golden("plan.txt", &stdout(&plain));

    let json_out = live.run(dir.path(), &["plan", "-e", "golden", "--json"]);
    assert_eq!(json_out.status.code(), Some(0), "{}", stderr(&json_out));
    let mut doc: Value = serde_json::from_slice(&json_out.stdout).unwrap();
    assert_eq!(doc["format_version"], 1);
    assert_eq!(doc["state"]["serial"], 1);
    // Random per state, and the config holds the emulator's ephemeral port.
    doc["state"]["lineage"] = json!("<lineage>");
    doc["config_digest"] = json!("<config digest>");
    // Live bodies carry the emulator's creation times, and their digests cover them.
    doc["snapshot_digest"] = json!("<snapshot digest>");
    settle_times(&mut doc);
    golden(
        "plan.json",
        &(serde_json::to_string_pretty(&doc).unwrap() + "\n"),
    );

    let calls = &live.requests()[seeded..];
    assert_eq!(
        calls.len(),
        2 * 6,
        "load-alls, flow list, one export per managed flow, and (role/all lists no tenant-scoped \
         role) a search for the roles of the tenant the plan deletes, twice: {calls:?}"
    );
    for call in calls {
        assert!(
            READS.contains(&call.as_str()),
            "a plan made a non-read call: {call}"
        );
    }
}

#[test]
fn plans_are_byte_identical_across_runs_and_input_orders() {
    let (dir, live) = scenario();
    let first = stdout(&live.run(dir.path(), &["plan", "-e", "golden", "--json"]));
    let second = stdout(&live.run(dir.path(), &["plan", "-e", "golden", "--json"]));
    assert_eq!(first, second);
    let text = stdout(&live.run(dir.path(), &["plan", "-e", "golden"]));
    write(
        dir.path(),
        "environments/golden.yaml",
        config(true).as_bytes(),
    );
    let shuffled = live.run(dir.path(), &["plan", "-e", "golden"]);
    assert_eq!(stdout(&shuffled), text);
    // The config digest is of the desired state, not of the file's bytes.
    assert_eq!(
        stdout(&live.run(dir.path(), &["plan", "-e", "golden", "--json"])),
        first
    );
}

#[test]
fn plan_out_saves_the_plan_and_target_limits_it() {
    let (dir, live) = scenario();
    let saved = dir.path().join("golden.plan");
    let out = live.run(
        dir.path(),
        &[
            "plan",
            "-e",
            "golden",
            "--out",
            saved.to_str().unwrap(),
            "--target",
            "role.Viewer",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("dmgmt apply -e golden"),
        "{}",
        stderr(&out)
    );
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&saved).unwrap()).unwrap();
    let addrs: Vec<&str> = doc["plan"]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["addr"].as_str().unwrap())
        .collect();
    assert_eq!(
        addrs,
        ["permission.reports.read", "role.Viewer"],
        "the target and what it depends on"
    );
    assert_eq!(doc["environment"], "golden");
    assert!(doc["plan"]["changes"][1]["live_digest"].is_string());
}

#[test]
fn the_main_job_plans_the_local_environment_against_the_embedded_emulator() {
    let dir = crate::support::shipped_project();
    let out = dmgmt()
        .arg("--dir")
        .arg(dir.path())
        .args(["plan", "-e", "local", "--detailed-exitcode"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("# tenant.acme will be created"), "{text}");
    assert!(
        text.trim_end()
            .ends_with("Plan: 2 to adopt, 25 to add, 6 to change, 0 to destroy."),
        "{text}"
    );
    // No credentials anywhere, and nothing written by a plan except the emulator's own data.
    assert!(!dir.path().join("state/local.json").exists());
}

#[test]
fn a_matching_configuration_plans_no_changes() {
    let live = Live::start();
    live.call(
        "/v1/mgmt/permission/create",
        json!({"name": "billing.read", "description": "Read invoices"}),
    );
    live.call(
        "/v1/mgmt/tenant/create",
        json!({"id": "acme", "name": "Acme", "enforceSSO": true}),
    );
    let dir = tempfile::tempdir().unwrap();
    let env = format!(
        "project_id: {LOCAL_PROJECT_ID}\nmanagement_key: ${{env.DMGMT_TEST_KEY}}\nbase_url: ${{env.DMGMT_TEST_URL}}\npermissions:\n  - {{name: billing.read, description: Read invoices}}\ntenants:\n  - {{id: acme, name: Acme}}\n"
    );
    write(dir.path(), "environments/golden.yaml", env.as_bytes());
    live.record_state(
        dir.path(),
        "golden",
        &["permission.billing.read", "tenant.acme"],
        |_, _| {},
        &[],
    );
    let before = live.requests().len();
    let out = live.run(dir.path(), &["plan", "-e", "golden", "--detailed-exitcode"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "No changes. The live project of `golden` matches the configuration.\n"
    );
    assert!(
        live.requests()[before..]
            .iter()
            .all(|c| READS.contains(&c.as_str()))
    );
}

/// A project holding `tenants` (id, name) live and in state, configured by `body`.
fn tenants_scenario(tenants: &[(&str, &str)], body: &str) -> (tempfile::TempDir, Live) {
    let live = Live::start();
    let mut managed = Vec::new();
    for (id, name) in tenants {
        live.call("/v1/mgmt/tenant/create", json!({"id": id, "name": name}));
        managed.push(format!("tenant.{id}"));
    }
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "project_id: {LOCAL_PROJECT_ID}\nmanagement_key: ${{env.DMGMT_TEST_KEY}}\nbase_url: ${{env.DMGMT_TEST_URL}}\n{body}"
    );
    write(dir.path(), "environments/golden.yaml", config.as_bytes());
    let managed: Vec<&str> = managed.iter().map(String::as_str).collect();
    live.record_state(dir.path(), "golden", &managed, |_, _| {}, &[]);
    (dir, live)
}

#[test]
fn deleting_a_tenant_shows_the_unmanaged_role_it_takes_along_and_drops_the_no_touch_promise() {
    let (dir, live) = tenants_scenario(&[("old", "Old Co")], "tenants: []\n");
    live.call(
        "/v1/mgmt/role/create",
        json!({"name": "Auditor", "tenantId": "old"}),
    );
    let out = live.run(dir.path(), &["plan", "-e", "golden"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("  # tenant.old will be destroyed\n  # warning: deleting `tenant.old` may also delete its role `role.old/Auditor`, which dmgmt does not manage\n"),
        "{text}"
    );
    assert!(
        text.contains("Note: 1 object in Descope is not managed by dmgmt; dmgmt changes it only through the cascade noted above (1 role): `role.old/Auditor`."),
        "{text}"
    );

    let json_out = live.run(dir.path(), &["plan", "-e", "golden", "--json"]);
    let doc: Value = serde_json::from_slice(&json_out.stdout).unwrap();
    assert_eq!(
        doc["plan"]["changes"][0]["cascades"],
        json!([{"addr": "role.old/Auditor", "effect": "deleted", "managed": false}])
    );
}

#[test]
fn a_tenant_name_swap_is_refused_with_the_two_apply_way_out() {
    let (dir, live) = tenants_scenario(
        &[("a", "Alpha"), ("b", "Beta")],
        "tenants:\n  - {id: a, name: Beta}\n  - {id: b, name: Alpha}\n",
    );
    let seeded = live.requests().len();
    let out = live.run(dir.path(), &["plan", "-e", "golden"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(
        err.contains("tenants `tenant.a` and `tenant.b` take each other's names")
            && err.contains("first rename `tenant.a` to a temporary name")
            && !err.contains("break the cycle"),
        "{err}"
    );
    for call in &live.requests()[seeded..] {
        assert!(READS.contains(&call.as_str()), "{call}");
    }
}
