//! `dmgmt diff`: two environments' configuration compared offline (no key needed), with a golden
//! rendering of every kind of difference, and two live projects compared through the emulator.
//! Re-bless the golden file with `DMGMT_BLESS=1 cargo test`.

use std::path::Path;

use crate::support::{dmgmt, project, stderr, stdout, write};

const ALPHA: &str = "\
project_id: P2alphaExampleProjectId0001
management_key: ${env.DESCOPE_MANAGEMENT_KEY_ALPHA}
vars:
  app_url: https://alpha.example.com
  brand: Alpha
permissions:
  - name: billing.read
    description: Read invoices
  - name: legacy.export
roles:
  - name: Viewer
    description: Reads
    permissions: [billing.read]
tenants:
  - id: acme
    name: Acme (${var.brand})
    custom_attributes: {plan: pro, seats: 10}
    enforce_sso: false
flows:
  - id: sign-in
    template: flows/sign-in.json
    vars: {redirect_url: \"${var.app_url}/done\"}
  - id: step-up
    template: flows/step-up.json
";

const BETA: &str = "\
project_id: P2betaExampleProjectId00001
management_key: ${env.DESCOPE_MANAGEMENT_KEY_BETA}
vars:
  app_url: https://beta.example.com
  brand: Beta
permissions:
  - name: billing.read
    description: Read invoices
  - name: billing.write
    description: Pay invoices
roles:
  - name: Viewer
    description: Reads
    permissions: [billing.read]
tenants:
  - id: acme
    name: Acme (${var.brand})
    custom_attributes: {plan: pro, seats: 20}
    enforce_sso: true
  - id: globex
    name: Globex
flows:
  - id: sign-in
    template: flows/sign-in.json
    vars: {redirect_url: \"${var.app_url}/done\"}
  - id: step-up
    template: flows/step-up-v2.json
";

const SIGN_IN: &str = r#"{"flow": {"id": "sign-in", "name": "Sign in", "dsl": {"redirect": "${var.redirect_url}"}},
 "screens": [{"id": "s1", "htmlTemplate": {"title": "Welcome"}}]}"#;
const STEP_UP: &str = r#"{"flow": {"id": "step-up", "name": "Step up"},
 "screens": [{"id": "s1", "htmlTemplate": {"title": "Verify"}}, {"id": "s2", "htmlTemplate": {"title": "Done"}}]}"#;
const STEP_UP_V2: &str = r#"{"flow": {"id": "step-up", "name": "Step up (v2)"},
 "screens": [{"id": "s1", "htmlTemplate": {"title": "Verify it is you"}}, {"id": "s2", "htmlTemplate": {"title": "Done"}},
  {"id": "s3", "htmlTemplate": {"title": "Locked out"}}]}"#;

fn two_environments() -> tempfile::TempDir {
    project(&[
        ("environments/alpha.yaml", ALPHA),
        ("environments/beta.yaml", BETA),
        ("environments/flows/sign-in.json", SIGN_IN),
        ("environments/flows/step-up.json", STEP_UP),
        ("environments/flows/step-up-v2.json", STEP_UP_V2),
    ])
}

fn diff(dir: &Path, args: &[&str]) -> std::process::Output {
    dmgmt()
        .arg("--dir")
        .arg(dir)
        .arg("diff")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn the_configuration_of_two_environments_is_compared_offline_with_every_kind_of_difference() {
    let dir = two_environments();
    // No key variable is set: comparing configuration needs none.
    let out = diff(dir.path(), &["alpha", "beta", "--detailed-exitcode"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(!stderr(&out).contains("error"), "{}", stderr(&out));
    crate::plan::golden("diff.txt", &stdout(&out));

    let out = diff(dir.path(), &["alpha", "alpha", "--detailed-exitcode"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "Comparing the configuration of `alpha` with `alpha`:\n\nNo differences: `alpha` and `alpha` declare the same 6 objects.\n"
    );
    // Without --detailed-exitcode a difference is still a success.
    assert_eq!(diff(dir.path(), &["alpha", "beta"]).status.code(), Some(0));
}

#[test]
fn the_json_comparison_is_versioned_and_says_what_differs_only_by_a_variable() {
    let dir = two_environments();
    let out = diff(dir.path(), &["alpha", "beta", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["format_version"], 1);
    assert_eq!(doc["source"], "configuration");
    assert_eq!(doc["equal"], false);
    assert_eq!(doc["a"]["environment"], "alpha");
    let by_addr = |addr: &str| {
        doc["differences"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["addr"] == addr)
            .cloned()
            .unwrap_or_else(|| panic!("{addr} missing: {doc:#}"))
    };
    assert_eq!(by_addr("permission.legacy.export")["presence"], "only_in_a");
    assert_eq!(by_addr("tenant.globex")["presence"], "only_in_b");
    let sign_in = by_addr("flow.sign-in");
    assert_eq!(sign_in["only_variables"], true);
    assert_eq!(
        sign_in["document_leaves"][0]["template"],
        "${var.app_url}/done"
    );
    assert_eq!(
        sign_in["document_leaves"][0]["b"],
        "https://beta.example.com/done"
    );
    let acme = by_addr("tenant.acme");
    assert_eq!(acme["only_variables"], false);
    let name = acme["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["field"] == "name")
        .unwrap();
    assert_eq!(name["template"], "Acme (${var.brand})");
    assert_eq!(
        by_addr("flow.step-up")["document_summary"][0],
        "screens: 1 added (`s3`), 1 changed (`s1`)"
    );
}

#[test]
fn two_live_projects_are_compared_through_their_own_emulators() {
    let env = |name: &str, extra: &str| {
        format!(
            "project_id: P2{name}ExampleProjectId00001\nemulator: true\npermissions:\n  - name: shared.read\n  - name: {name}.only\ntenants:\n  - id: acme\n    name: Acme {name}\n{extra}"
        )
    };
    let dir = project(&[
        ("environments/left.yaml", &env("left", "")),
        (
            "environments/right.yaml",
            &env("right", "    enforce_sso: true\n"),
        ),
    ]);
    for name in ["left", "right"] {
        let out = dmgmt()
            .arg("--dir")
            .arg(dir.path())
            .args(["apply", "-e", name, "--auto-approve"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    }
    // The configuration of `right` now drops its own permission; live, it is still there.
    write(
        dir.path(),
        "environments/right.yaml",
        env("right", "    enforce_sso: true\n")
            .replace("  - name: right.only\n", "")
            .as_bytes(),
    );

    let out = diff(
        dir.path(),
        &["left", "right", "--live", "--detailed-exitcode"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("Comparing the live projects of `left` (project P2leftExampleProjectId00001) and `right` (project P2rightExampleProjectId00001):\n"), "{text}");
    for expected in [
        "  # permission.left.only is only in `left`\n",
        "  # permission.right.only is only in `right`\n",
        "  ~ tenant \"acme\" {\n      ~ enforce_sso = false -> true\n      ~ name        = \"Acme left\" -> \"Acme right\"\n    }\n",
        "`left` and `right` differ: 1 only in `left`, 1 only in `right`, 1 differ, ",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    // Descope's own objects are alike in both projects.
    assert!(
        !text.contains("Tenant Admin") && !text.contains("User Admin"),
        "{text}"
    );

    let out = diff(
        dir.path(),
        &["left", "left", "--live", "--detailed-exitcode"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("No differences: `left` and `left` hold the same"),
        "{}",
        stdout(&out)
    );
}
