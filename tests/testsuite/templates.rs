//! Flow and theme templates end to end, through the real binary against an in-process emulator:
//! both export generations apply through their own routes and round-trip to "No changes.", and a
//! flow promoted between two environments with different `vars` plans only the values that
//! depend on them.

use serde_json::json;

use crate::apply::{ENV, apply, assert_no_changes, project};
use crate::live::{Live, env_file};
use crate::support::{stderr, stdout, write};

const ROLES: &str = "\
roles:
  - {name: Member}
tenants:
  - {id: acme, name: Acme Corp}
";

/// A v1 flow export (as the Python and Node SDKs write it), assigning a role.
const FLOW_V1: &str = r#"{
  "flow": {"id": "template-id", "name": "Sign Up", "version": 4, "etag": "e1",
    "dsl": {"tasks": {"3": {"action": "add-roles", "arguments": {
      "roles": {"type": "inline", "value": ["Member"]},
      "redirectUrl": {"type": "inline", "value": "${var.app_url}/done"}}}}}},
  "screens": [
    {"id": "SC2", "version": 1, "interactions": [{"id": "go", "label": "Go"}],
     "htmlTemplate": {"title": "Welcome to ${var.brand}"}},
    {"id": "SC1", "interactions": [], "htmlTemplate": {"title": "Bye"}}
  ]
}"#;

/// A v2 flow export (as the Go SDK and descopecli write it), naming a tenant.
const FLOW_V2: &str = r#"{"flow": {
  "flowId": "template-id",
  "metadata": {"name": "Step Up", "description": "for ${var.brand}", "disabled": false, "fingerprint": "abc"},
  "contents": {"dsl": {"tasks": {"1": {"arguments": {"tenantId": {"type": "inline", "value": "acme"}}}}}},
  "screens": [
    {"screenId": "SC9", "interactions": [{"id": "ok"}], "contents": {"title": "Verify at ${var.app_url}"}},
    {"screenId": "SC8", "interactions": [], "contents": {"title": "Done"}}
  ],
  "references": {}
}}"#;

const THEME_V1: &str = r##"{"theme": {"id": "theme", "version": 3, "codeMode": false, "componentsVersion": "1.2.0",
  "cssTemplate": {"light": {"button": {"color": "${var.accent}"}}}}}"##;

const THEME_V2: &str = r##"{"theme": {"componentsVersion": "1.2.0", "references": {},
  "styles": {"light": {"button": {"color": "${var.accent}"}}}}}"##;

fn templated(flow: &str, theme: &str) -> tempfile::TempDir {
    let dir = project(&format!(
        "vars: {{brand: Ledgerly, app_url: 'https://app.test', accent: '#C026D3'}}\n{ROLES}flows:\n  - {{id: sign-up, template: flows/sign-up.json}}\ntheme:\n  template: flows/theme.json\n"
    ));
    write(
        dir.path(),
        "environments/flows/sign-up.json",
        flow.as_bytes(),
    );
    write(
        dir.path(),
        "environments/flows/theme.json",
        theme.as_bytes(),
    );
    dir
}

fn document_routes(live: &Live) -> Vec<String> {
    live.requests()
        .into_iter()
        .filter(|r| r.contains("/flow/import") || r.contains("/theme/import"))
        .collect()
}

#[test]
fn a_v1_and_a_v2_template_each_apply_through_their_routes_and_round_trip() {
    for (generation, flow, theme) in [("v1", FLOW_V1, THEME_V1), ("v2", FLOW_V2, THEME_V2)] {
        let live = Live::start();
        let dir = templated(flow, theme);
        let out = apply(&live, dir.path(), &[]);
        assert!(
            out.status.success(),
            "{generation}: {}{}",
            stdout(&out),
            stderr(&out)
        );
        assert_eq!(
            document_routes(&live),
            [
                format!("POST /{generation}/mgmt/theme/import"),
                format!("POST /{generation}/mgmt/flow/import")
            ],
            "{generation}"
        );
        // The flow id of the config won over the template's, placeholders were filled.
        let v1 = live.call("/v1/mgmt/flow/export", json!({"flowId": "sign-up"}));
        assert_eq!(v1["flow"]["id"], "sign-up", "{generation}");
        let v2 = live.call("/v2/mgmt/flow/export", json!({"flowId": "sign-up"}));
        assert_eq!(v2["flow"]["flowId"], "sign-up", "{generation}");
        assert!(
            v2.to_string().contains("https://app.test"),
            "{generation}: {v2}"
        );
        let seen = live.requests().len();
        assert_no_changes(&live, dir.path());
        // The plan read each document back through its own generation only.
        let other = if generation == "v1" { "v2" } else { "v1" };
        // The theme is read beside the flows: the order of the two calls means nothing.
        let mut exports: Vec<String> = live.requests()[seen..]
            .iter()
            .filter(|r| r.ends_with("/export"))
            .cloned()
            .collect();
        exports.sort();
        assert_eq!(
            exports,
            [
                format!("POST /{generation}/mgmt/flow/export"),
                format!("POST /{generation}/mgmt/theme/export")
            ],
            "{generation} (not {other})"
        );
    }
}

/// The same template, two environments with different `vars`, one Descope project: after
/// applying `dev`, planning `staging` shows exactly the values its vars change.
#[test]
fn a_flow_promoted_to_another_environment_plans_only_its_var_dependent_values() {
    let live = Live::start();
    let dir = tempfile::tempdir().unwrap();
    for (env, brand, url) in [
        ("dev", "Ledgerly Dev", "https://dev.test"),
        ("staging", "Ledgerly", "https://staging.test"),
    ] {
        env_file(
            dir.path(),
            env,
            &format!(
                "vars: {{brand: '{brand}', app_url: '{url}'}}\n{ROLES}flows:\n  - {{id: sign-up, template: flows/sign-up.json}}\n"
            ),
        );
    }
    write(
        dir.path(),
        "environments/flows/sign-up.json",
        FLOW_V1.as_bytes(),
    );
    let out = live.run(dir.path(), &["apply", "-e", "dev", "--auto-approve"]);
    assert!(out.status.success(), "{}", stderr(&out));

    let out = live.run(dir.path(), &["--color", "never", "plan", "-e", "staging"]);
    let text = stdout(&out);
    assert!(out.status.success(), "{}", stderr(&out));
    let changed: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| {
            (l.starts_with('+') || l.starts_with('-'))
                && !l.starts_with("+++")
                && !l.starts_with("---")
        })
        .collect();
    assert_eq!(
        changed,
        [
            "-              \"value\": \"https://dev.test/done\"",
            "+              \"value\": \"https://staging.test/done\"",
            "-        \"title\": \"Welcome to Ledgerly Dev\"",
            "+        \"title\": \"Welcome to Ledgerly\"",
        ],
        "{text}"
    );
    assert!(text.contains("screens: 1 changed (`SC2`)"), "{text}");
    assert!(text.contains("flow: `dsl` changed"), "{text}");
    assert!(text.contains("references roles: `Member`"), "{text}");
    assert!(
        text.contains("Plan: 3 to adopt, 0 to add, 1 to change, 0 to destroy."),
        "{text}"
    );
    // Roles and tenants already exist (one project): only the flow is taken over and updated.
    assert!(
        text.contains(
            "flow.sign-up will be adopted (it already exists in Descope) and updated in place"
        ),
        "{text}"
    );

    let out = live.run(dir.path(), &["apply", "-e", "staging", "--auto-approve"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = live.run(
        dir.path(),
        &["plan", "-e", "staging", "--detailed-exitcode"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

#[test]
fn a_flow_referencing_an_undeclared_role_is_refused_before_any_call() {
    let live = Live::start();
    let dir = project(&format!(
        "vars: {{brand: B, app_url: 'https://a.test'}}\n{}flows:\n  - {{id: sign-up, template: flows/sign-up.json}}\n",
        ROLES.replace("Member", "Members")
    ));
    write(
        dir.path(),
        "environments/flows/sign-up.json",
        FLOW_V1.as_bytes(),
    );
    let out = live.run(dir.path(), &["--color", "never", "plan", "-e", ENV]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("--> environments/flows/sign-up.json:4:45"),
        "{err}"
    );
    assert!(
        err.contains("$.flow.dsl.tasks[\"3\"].arguments.roles.value[0]: role `Member` is not declared in `app` (did you mean `Members`?)"),
        "{err}"
    );
    assert!(live.requests().is_empty(), "{:?}", live.requests());
}
