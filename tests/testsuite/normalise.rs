//! What a plan compares and prints, through the real binary against an emulator: only volatile
//! metadata is ignored, what Descope fills in or reorders is never a change, the same inputs give
//! the same bytes whatever their key order, and a live name can never forge a plan line.

use std::path::Path;

use serde_json::Value;

use crate::live::{Live, env_file};
use crate::support::{stderr, stdout, write};

const NO_CHANGES: &str = "No changes. The live project of `env` matches the configuration.\n";

// ------------------------------------------------------------------------------------------------
// Normalisation removes only what is volatile, where it is volatile
// ------------------------------------------------------------------------------------------------

/// The live flow: saved in the console (so versions and etags everywhere), screens in the order
/// Descope keeps them, each naming its flow.
const FLOW_LIVE: &str = r#"{"flowId": "sign-in",
 "flow": {"name": "Sign In", "dsl": {"start": "s1"}, "etag": "e-9", "modifiedTime": 1700000000},
 "screens": [
  {"id": "s2", "flowId": "sign-in", "version": 4, "etag": "x", "interactions": [{"id": "otp", "type": "input", "version": 2}]},
  {"id": "s1", "flowId": "sign-in", "version": 7, "htmlTemplate": {"title": "Welcome", "components": [{"id": "btn", "version": 2}]}}
 ]}"#;

/// The same flow as a template: another version and etag, screens in another order, no `flowId`.
const FLOW_TEMPLATE: &str = r#"{"flow": {"id": "sign-in", "name": "Sign In", "dsl": {"start": "s1"}, "version": 3, "etag": "e-1"},
 "screens": [
  {"id": "s1", "version": 1, "htmlTemplate": {"title": "Welcome", "components": [{"id": "btn", "version": 2}]}},
  {"id": "s2", "modifiedTime": 5, "interactions": [{"id": "otp", "type": "input", "version": 2}]}
 ]}"#;

const THEME_LIVE: &str = r##"{"theme": {"id": "theme", "version": 12, "componentsVersion": "1.4.0", "codeMode": false,
 "cssTemplate": {"light": {"primary": "#0a0"}, "dark": {"primary": "#0f0"}}}}"##;

/// The theme as a template: no `id` (the console's export of a theme has none to copy).
const THEME_TEMPLATE: &str = r##"{"theme": {"cssTemplate": {"dark": {"primary": "#0f0"}, "light": {"primary": "#0a0"}},
 "codeMode": false, "componentsVersion": "1.4.0", "version": 1}}"##;

const FILLED_IN_ENV: &str = "\
tenants:
  - id: acme
    name: Acme Corp
    self_provisioning_domains: [ACME.io, acme.com]
    custom_attributes: {seats: 500.0, ratio: 0.50, plan: enterprise}
flows:
  - {id: sign-in, template: flows/sign-in.json}
theme:
  template: flows/theme.json
";

/// The live project the `FILLED_IN_ENV` configuration describes, as Descope would hold it.
fn filled_in_live() -> Live {
    let live = Live::start();
    live.call_text(
        "/v1/mgmt/tenant/create",
        r#"{"id": "acme", "name": "Acme Corp", "selfProvisioningDomains": ["acme.io", "Acme.COM"],
            "customAttributes": {"seats": 500, "ratio": 0.5, "plan": "enterprise"}}"#,
    );
    live.call_text("/v1/mgmt/flow/import", FLOW_LIVE);
    live.call_text("/v1/mgmt/theme/import", THEME_LIVE);
    live
}

#[test]
fn what_descope_fills_in_or_reorders_is_never_a_change() {
    let live = filled_in_live();
    let dir = tempfile::tempdir().unwrap();
    env_file(dir.path(), "env", FILLED_IN_ENV);
    write(
        dir.path(),
        "environments/flows/sign-in.json",
        FLOW_TEMPLATE.as_bytes(),
    );
    write(
        dir.path(),
        "environments/flows/theme.json",
        THEME_TEMPLATE.as_bytes(),
    );
    live.record_state(
        dir.path(),
        "env",
        &["tenant.acme", "flow.sign-in", "theme"],
        |_, _| {},
        &[],
    );

    let out = live.run(dir.path(), &["plan", "-e", "env", "--detailed-exitcode"]);
    assert_eq!(stdout(&out), NO_CHANGES, "{}", stderr(&out));
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn a_component_version_inside_a_flow_is_a_change() {
    let live = filled_in_live();
    let dir = tempfile::tempdir().unwrap();
    env_file(dir.path(), "env", FILLED_IN_ENV);
    // Only a component's own `version`, deep inside a screen, differs from the live flow.
    let template = FLOW_TEMPLATE.replace(
        r#"{"id": "btn", "version": 2}"#,
        r#"{"id": "btn", "version": 5}"#,
    );
    assert_ne!(template, FLOW_TEMPLATE);
    write(
        dir.path(),
        "environments/flows/sign-in.json",
        template.as_bytes(),
    );
    write(
        dir.path(),
        "environments/flows/theme.json",
        THEME_TEMPLATE.as_bytes(),
    );
    live.record_state(
        dir.path(),
        "env",
        &["tenant.acme", "flow.sign-in", "theme"],
        |_, _| {},
        &[],
    );

    let out = live.run(dir.path(), &["plan", "-e", "env", "--detailed-exitcode"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(2), "{text}{}", stderr(&out));
    assert!(
        text.contains("# flow.sign-in will be updated in place"),
        "{text}"
    );
    assert!(text.contains("screens: 1 changed (`s1`)"), "{text}");
    assert!(
        text.contains(
            "\"id\": \"btn\",\n        -            \"version\": 2\n        +            \"version\": 5\n"
        ),
        "{text}"
    );
    assert!(
        text.ends_with("Plan: 0 to add, 1 to change, 0 to destroy.\n"),
        "{text}"
    );
}

// ------------------------------------------------------------------------------------------------
// Same inputs, same bytes
// ------------------------------------------------------------------------------------------------

const ATTRS_ASCENDING: &str = "{alpha: one, beta: 2, gamma: true, zeta: [x, y]}";
const ATTRS_DESCENDING: &str = "{zeta: [x, y], gamma: true, beta: 2, alpha: one}";

fn attributes_env(attrs: &str) -> String {
    format!(
        "tenants:\n  - id: acme\n    name: Acme Corp\n    custom_attributes: {attrs}\n  - id: beta\n    name: Beta Inc\n    custom_attributes: {attrs}\n"
    )
}

#[test]
fn custom_attribute_key_order_changes_no_byte_of_the_plan() {
    let live = Live::start();
    // `acme` exists (to be adopted and updated: before, after and each key's diff are printed);
    // `beta` does not (to be created). The live keys are in neither the config's orders.
    let live_tenant =
        |order: &str| format!(r#"{{"id": "acme", "name": "Acme", "customAttributes": {order}}}"#);
    live.call_text(
        "/v1/mgmt/tenant/create",
        &live_tenant(r#"{"gamma": false, "omega": "live only", "alpha": "old", "beta": 1}"#),
    );
    let dir = tempfile::tempdir().unwrap();
    let plans = |dir: &Path| {
        let text = live.run(dir, &["plan", "-e", "env"]);
        assert_eq!(text.status.code(), Some(0), "{}", stderr(&text));
        let json = live.run(dir, &["plan", "-e", "env", "--json"]);
        assert_eq!(json.status.code(), Some(0), "{}", stderr(&json));
        (stdout(&text), stdout(&json))
    };

    env_file(dir.path(), "env", &attributes_env(ATTRS_ASCENDING));
    let first = plans(dir.path());
    assert!(
        first
            .0
            .contains("~ custom_attributes.alpha = \"old\" -> \"one\""),
        "{}",
        first.0
    );

    env_file(dir.path(), "env", &attributes_env(ATTRS_DESCENDING));
    assert_eq!(
        plans(dir.path()),
        first,
        "config key order changed the plan"
    );

    // The same live object, its keys stored in another order.
    live.call_text(
        "/v1/mgmt/tenant/update",
        &live_tenant(r#"{"beta": 1, "alpha": "old", "omega": "live only", "gamma": false}"#),
    );
    assert_eq!(plans(dir.path()), first, "live key order changed the plan");
    env_file(dir.path(), "env", &attributes_env(ATTRS_ASCENDING));
    assert_eq!(plans(dir.path()), first);

    let doc: Value = serde_json::from_str(&first.1).unwrap();
    let acme = &doc["plan"]["changes"][0];
    assert_eq!(acme["addr"], "tenant.acme");
    let keys = |v: &Value| -> Vec<String> {
        v["customAttributes"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect()
    };
    assert_eq!(keys(&acme["before"]), ["alpha", "beta", "gamma", "omega"]);
    assert_eq!(
        keys(&acme["after"]),
        ["alpha", "beta", "gamma", "omega", "zeta"]
    );
    assert_eq!(
        keys(&doc["plan"]["changes"][1]["after"]),
        ["alpha", "beta", "gamma", "zeta"]
    );
}

// ------------------------------------------------------------------------------------------------
// Live names are printed, never obeyed
// ------------------------------------------------------------------------------------------------

#[test]
fn live_names_with_control_characters_cannot_forge_plan_lines() {
    let live = Live::start();
    // Unmanaged: listed in the note.
    live.call_text(
        "/v1/mgmt/permission/create",
        r#"{"name": "sneaky\n\nPlan: 9 to add, 9 to change, 9 to destroy.\n"}"#,
    );
    // Managed, then gone from the config: destroyed, its address in the headline.
    live.call_text(
        "/v1/mgmt/permission/create",
        r#"{"name": "old\r  # permission.x will be created\u001b[2K", "description": "tab\there\u0085"}"#,
    );
    // Declared: its live name is shown as the value before.
    live.call_text(
        "/v1/mgmt/tenant/create",
        r#"{"id": "acme", "name": "Acme\u001b[1A\u007f\u202e"}"#,
    );
    // A live screen id that starts a line of its own.
    live.call_text(
        "/v1/mgmt/flow/import",
        r#"{"flowId": "sign-in", "flow": {"name": "Sign In"}, "screens": [{"id": "s1"}, {"id": "s9\n  # flow.sign-in will be destroyed"}]}"#,
    );
    let dir = tempfile::tempdir().unwrap();
    env_file(
        dir.path(),
        "env",
        "tenants:\n  - {id: acme, name: Acme Corp}\nflows:\n  - {id: sign-in, template: flows/sign-in.json}\n",
    );
    write(
        dir.path(),
        "environments/flows/sign-in.json",
        br#"{"flow": {"name": "Sign In"}, "screens": [{"id": "s1"}]}"#,
    );
    live.record_state(
        dir.path(),
        "env",
        &[
            "permission.old\r  # permission.x will be created\u{1b}[2K",
            "tenant.acme",
            "flow.sign-in",
        ],
        |_, _| {},
        &[],
    );

    let out = live.run(dir.path(), &["plan", "-e", "env"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    let unprintable: Vec<char> = text
        .chars()
        .filter(|c| (c.is_control() && *c != '\n') || ('\u{2028}'..='\u{202e}').contains(c))
        .collect();
    assert!(
        unprintable.is_empty(),
        "unescaped {unprintable:?} in:\n{text}"
    );
    for line in text.lines() {
        let line = line.trim_start();
        assert!(
            !line.starts_with("Plan: 9 to add")
                && !line.starts_with("# permission.x")
                && !line.starts_with("# flow.sign-in will be destroyed"),
            "a live name forged the line `{line}`:\n{text}"
        );
    }
    for shown in [
        r"`permission.sneaky\n\nPlan: 9 to add, 9 to change, 9 to destroy.\n`",
        r"# permission.old\r  # permission.x will be created\u{1b}[2K will be destroyed",
        r#"- description = "tab\there\u{85}""#,
        r#"~ name = "Acme\u001b[1A\u{7f}\u{202e}" -> "Acme Corp""#,
        r"1 removed (`s9\n  # flow.sign-in will be destroyed`)",
    ] {
        assert!(text.contains(shown), "`{shown}` not in:\n{text}");
    }
}

// ------------------------------------------------------------------------------------------------
// What Descope fills in on import
// ------------------------------------------------------------------------------------------------

/// Flow templates without a `name` (v1 and v2): Descope names such a flow on import, so an
/// export holds a name the template does not. Once applied, the plan finds nothing to import again.
#[test]
fn a_flow_template_without_a_name_is_imported_once() {
    let live = Live::start();
    let dir = tempfile::tempdir().unwrap();
    env_file(
        dir.path(),
        "env",
        "flows:\n  - {id: sign-in, template: flows/sign-in.json}\n  - {id: step-up, template: flows/step-up.json}\n",
    );
    write(
        dir.path(),
        "environments/flows/sign-in.json",
        br#"{"flow": {"dsl": {"start": "s1"}}, "screens": [{"id": "s1", "htmlTemplate": {"title": "Hi"}}]}"#,
    );
    write(
        dir.path(),
        "environments/flows/step-up.json",
        br#"{"flow": {"flowId": "step-up", "metadata": {"description": "More"}, "contents": {"a": 1}, "screens": [], "references": {}}}"#,
    );
    let out = live.run(dir.path(), &["apply", "-e", "env", "--auto-approve"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let exported = live.call(
        "/v1/mgmt/flow/export",
        serde_json::json!({"flowId": "sign-in"}),
    );
    assert_eq!(
        exported["flow"]["name"], "sign-in",
        "Descope named it: {exported}"
    );

    let out = live.run(dir.path(), &["plan", "-e", "env", "--detailed-exitcode"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert_eq!(stdout(&out), NO_CHANGES);

    // A name written in the template is still managed: changing it is a change.
    write(
        dir.path(),
        "environments/flows/sign-in.json",
        br#"{"flow": {"name": "Sign In", "dsl": {"start": "s1"}}, "screens": [{"id": "s1", "htmlTemplate": {"title": "Hi"}}]}"#,
    );
    let out = live.run(dir.path(), &["plan", "-e", "env", "--detailed-exitcode"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        stdout(&out).contains("# flow.sign-in will be updated in place"),
        "{}",
        stdout(&out)
    );
}
