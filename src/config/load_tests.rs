//! Loading whole environments: merging, filling, references, templates, the management key.

use std::path::Path;

use super::*;
use crate::model::BackupPolicy;

/// A project in a temp folder holding `files` under `environments/`.
fn project(files: &[(&str, &str)]) -> (tempfile::TempDir, Project) {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let path = dir.path().join("environments").join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let project = Project::discover(Some(dir.path()), Path::new("/")).unwrap();
    (dir, project)
}

fn no_env(_: &str) -> Option<String> {
    None
}

fn errors(loaded: &Loaded) -> Vec<String> {
    loaded
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| {
            format!(
                "{}:{}: {}",
                loaded.sources.display(d.span.file),
                d.span.line,
                d.message
            )
        })
        .collect()
}

const HEAD: &str = "project_id: P2testExampleProjectId00001\nemulator: true\n";
const FLOW: &str = r#"{"flow": {"id": "template-id", "url": "${var.redirect}", "brand": "${var.brand}", "lit": "$${x}"}, "screens": []}"#;

#[test]
fn a_full_environment_loads_merged_and_filled() {
    let (_dir, project) = project(&[
        (
            "shared/common.yaml",
            "vars: {brand: Ledgerly, app: https://old}\npermissions:\n  - {name: a, description: shared}\nroles:\n  - {name: V, permissions: [a]}\n",
        ),
        (
            "dev.yaml",
            &format!(
                "{HEAD}include: [shared/common.yaml]\nvars: {{app: https://dev}}\npermissions:\n  - {{name: a, description: dev}}\n  - {{name: b}}\ntenants:\n  - {{id: t, name: \"T ${{var.brand}}\", default_roles: [V]}}\nflows:\n  - id: f\n    template: flows/f.json\n    vars: {{redirect: \"${{var.app}}/done\"}}\n"
            ),
        ),
        ("flows/f.json", FLOW),
    ]);
    let loaded = load(&project, "dev", &no_env);
    assert_eq!(errors(&loaded), Vec::<String>::new());
    let d = loaded.desired.unwrap();
    assert!(d.emulator && d.management_key.is_none());
    let perms: Vec<_> = d
        .permissions
        .iter()
        .map(|p| (p.name.as_str(), p.description.as_deref()))
        .collect();
    assert_eq!(
        perms,
        [("a", Some("dev")), ("b", None)],
        "the environment's definition replaces the shared one"
    );
    assert_eq!(d.tenants[0].name, "T Ledgerly");
    assert_eq!(
        d.tenants[0].enforce_sso, None,
        "unwritten fields stay unmanaged"
    );
    let flow = &d.flows[0].document["flow"];
    assert_eq!(flow["url"], "https://dev/done");
    assert_eq!(flow["brand"], "Ledgerly");
    assert_eq!(flow["lit"], "${x}");
    let shared = &d.flows[0].document;
    assert_eq!(
        shared["flow"]["id"], "f",
        "the config's flow id wins over the template's"
    );
    assert_eq!(d.parallelism, 4);
    assert_eq!(
        d.backups,
        BackupPolicy {
            retention_days: 30,
            keep_min: 5
        }
    );
}

#[test]
fn include_cycles_are_named_and_missing_includes_pointed_at() {
    let (_dir, project) = project(&[
        (
            "dev.yaml",
            &format!("{HEAD}include:\n  - shared/a.yaml\n  - shared/nope.yaml\n"),
        ),
        ("shared/a.yaml", "include: [shared/b.yaml]\n"),
        ("shared/b.yaml", "include: [shared/a.yaml]\n"),
    ]);
    let loaded = load(&project, "dev", &no_env);
    assert_eq!(
        errors(&loaded),
        [
            "environments/shared/b.yaml:1: include cycle: environments/shared/a.yaml -> environments/shared/b.yaml -> environments/shared/a.yaml",
            "environments/dev.yaml:5: included file `shared/nope.yaml` not found",
        ]
    );
    assert!(loaded.desired.is_none());
}

#[test]
fn an_environment_cannot_include_itself_or_leave_the_folder() {
    let (_dir, project) = project(&[(
        "dev.yaml",
        &format!("{HEAD}include: [dev.yaml, ../x.yaml]\n"),
    )]);
    let e = errors(&load(&project, "dev", &no_env));
    assert_eq!(e.len(), 2, "{e:?}");
    assert!(
        e[0].contains("include cycle: environments/dev.yaml -> environments/dev.yaml"),
        "{e:?}"
    );
    assert!(e[1].contains("leaves the environments/ folder"), "{e:?}");
}

#[test]
fn template_problems_point_at_the_template_or_its_reference() {
    let (_dir, project) = project(&[
        (
            "dev.yaml",
            &format!(
                "{HEAD}flows:\n  - {{id: a, template: flows/missing.json}}\n  - {{id: b, template: flows/bad.json}}\n  - {{id: c, template: flows/f.json}}\ntheme:\n  template: flows/f.json\n"
            ),
        ),
        ("flows/bad.json", "{\n  \"flow\": [\n"),
        ("flows/f.json", FLOW),
    ]);
    let e = errors(&load(&project, "dev", &no_env));
    assert_eq!(
        e,
        [
            "environments/dev.yaml:4: flow template `flows/missing.json` not found",
            "environments/flows/bad.json:3: flow template is not valid JSON: EOF while parsing a list",
            "environments/flows/f.json:1: $.flow.url: undefined variable `var.redirect`",
            "environments/flows/f.json:1: $.flow.brand: undefined variable `var.brand`",
            "environments/flows/f.json:1: theme template must be a Descope theme export: an object with `theme` (an object)",
        ]
    );
}

#[test]
fn the_management_key_is_required_unless_emulated_and_resolved_lazily() {
    let (_dir, project) = project(&[
        (
            "real.yaml",
            "project_id: P2testExampleProjectId00001\nmanagement_key: ${env.DMGMT_KEY}\n",
        ),
        ("nokey.yaml", "project_id: P2testExampleProjectId00001\n"),
    ]);
    let loaded = load(&project, "real", &no_env);
    assert_eq!(errors(&loaded), Vec::<String>::new());
    assert_eq!(
        loaded.note_count(),
        1,
        "an unset key variable is a note, not an error"
    );
    assert_eq!(
        loaded.desired.unwrap().management_key.unwrap().env_var,
        "DMGMT_KEY"
    );
    let set = |v: &str| (v == "DMGMT_KEY").then(|| "secret".to_owned());
    assert_eq!(load(&project, "real", &set).note_count(), 0);
    assert_eq!(
        errors(&load(&project, "nokey", &no_env)),
        ["environments/nokey.yaml:1: missing required key `management_key` in environment file"]
    );
}

#[test]
fn invalid_utf8_and_empty_files_name_their_line() {
    let (dir, project) = project(&[("empty.yaml", ""), ("bin.yaml", "")]);
    std::fs::write(
        dir.path().join("environments/bin.yaml"),
        b"project_id: x\nvars:\n  a: \xff\xfe\n",
    )
    .unwrap();
    assert_eq!(
        errors(&load(&project, "empty", &no_env)),
        ["environments/empty.yaml:1: file is empty"]
    );
    assert_eq!(
        errors(&load(&project, "bin", &no_env)),
        ["environments/bin.yaml:3: file is not valid UTF-8"]
    );
}

#[test]
fn loading_is_deterministic() {
    let (_dir, project) = project(&[(
        "dev.yaml",
        &format!("{HEAD}tenants:\n  - {{id: b, name: B}}\n  - {{id: a, name: A}}\n"),
    )]);
    let first = load(&project, "dev", &no_env).desired.unwrap();
    let second = load(&project, "dev", &no_env).desired.unwrap();
    assert_eq!(
        serde_json::to_string(&first).unwrap(),
        serde_json::to_string(&second).unwrap()
    );
}

#[test]
fn ids_are_checked_once_placeholders_are_filled() {
    let (_dir, project) = project(&[(
        "dev.yaml",
        &format!(
            "{HEAD}vars: {{tenant: globex/inc}}\ntenants:\n  - {{id: \"${{var.tenant}}\", name: G}}\n  - {{id: a/b, name: A}}\nroles:\n  - {{name: \"${{env.ROLE}}\"}}\n"
        ),
    )]);
    let env = |v: &str| (v == "ROLE").then(|| "acme/Admin".to_owned());
    assert_eq!(
        errors(&load(&project, "dev", &env)),
        [
            // Written out: the schema reports it, and the check after filling does not repeat it.
            "environments/dev.yaml:6: `id` may only hold letters, digits, `-`, `_` and `.`: `a/b`",
            "environments/dev.yaml:5: `id` may only hold letters, digits, `-`, `_` and `.`: `globex/inc`",
        ]
    );
}

#[test]
fn a_role_or_tenant_a_flow_assigns_must_be_declared_and_is_named_by_json_path() {
    let flow = "{\"flow\": {\"id\": \"f\", \"dsl\": {\"tasks\": {\"3\": {\"arguments\": {\n  \"roles\": {\"type\": \"inline\", \"value\": [\"Admn\", \"Tenant Admin\"]},\n  \"tenantId\": {\"type\": \"inline\", \"value\": \"acme\"}}}}}}, \"screens\": []}";
    let (_dir, staging) = project(&[
        (
            "staging.yaml",
            &format!(
                "{HEAD}roles:\n  - name: Admin\nflows:\n  - {{id: sign-up, template: flows/sign-up.json}}\n"
            ),
        ),
        ("flows/sign-up.json", flow),
    ]);
    let e = errors(&load(&staging, "staging", &no_env));
    assert_eq!(
        e,
        [
            "environments/flows/sign-up.json:2: $.flow.dsl.tasks[\"3\"].arguments.roles.value[0]: role `Admn` is not declared in `staging` (did you mean `Admin`?)",
            "environments/flows/sign-up.json:3: $.flow.dsl.tasks[\"3\"].arguments.tenantId.value: tenant `acme` is not declared in `staging`",
        ]
    );
    // Declared, the same flow loads, its references kept as typed data.
    let (_dir2, fixed) = project(&[
        (
            "staging.yaml",
            &format!(
                "{HEAD}roles:\n  - name: Admn\ntenants:\n  - {{id: acme, name: Acme}}\nflows:\n  - {{id: sign-up, template: flows/sign-up.json}}\n"
            ),
        ),
        ("flows/sign-up.json", flow),
    ]);
    let loaded = load(&fixed, "staging", &no_env);
    let desired = loaded.desired.expect("loads");
    let refs = &desired.flows[0].refs;
    assert_eq!(
        refs.role_names().into_iter().collect::<Vec<_>>(),
        ["Admn", "Tenant Admin"]
    );
    assert_eq!(refs.tenants[0].name, "acme");
}

#[test]
fn the_management_key_can_be_referenced_only_by_management_key() {
    const KEY: &str = "K2verySecretManagementKey";
    let env = |name: &str| match name {
        "DK" => Some(KEY.to_owned()),
        "SAME_AS_KEY" => Some(KEY.to_owned()),
        "HOME_URL" => Some("https://home".to_owned()),
        _ => None,
    };
    let flow = r#"{"flow": {"id": "f", "secret": "Bearer ${env.DK}", "ok": "${env.HOME_URL}"}, "screens": []}"#;
    let (_dir, project) = project(&[
        (
            "dev.yaml",
            "project_id: P2testExampleProjectId00001\nmanagement_key: ${env.DK}\nvars:\n  key: ${env.DK}\n  home: ${env.HOME_URL}\ntenants:\n  - id: t\n    name: T\n    custom_attributes: {token: \"${env.SAME_AS_KEY}\", home: \"${var.home}\"}\nflows:\n  - id: f\n    template: flows/f.json\n",
        ),
        ("flows/f.json", flow),
    ]);
    let loaded = load(&project, "dev", &env);
    assert_eq!(
        errors(&loaded),
        [
            "environments/dev.yaml:4: `${env.DK}` is the management key's variable: only `management_key` may use it",
            "environments/dev.yaml:9: environment variable `SAME_AS_KEY` holds the management key: only `management_key` may use it",
            "environments/flows/f.json:1: $.flow.secret: `${env.DK}` is the management key's variable: only `management_key` may use it",
        ]
    );
    assert!(loaded.desired.is_none());
    for d in &loaded.diagnostics {
        let text = format!("{} {:?}", d.message, d.hints);
        assert!(!text.contains(KEY), "the key is never shown: {text}");
    }
}
