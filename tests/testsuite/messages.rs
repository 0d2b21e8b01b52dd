//! Messages that help: a saved plan made for another environment, a project that comes back
//! empty, through the real binary against in-process emulators.

use serde_json::Value;

use crate::apply::{CONFIG, ENV, mutations, project};
use crate::live::{Live, env_file};
use crate::support::{stderr, stdout};

#[test]
fn a_saved_plan_made_for_another_environment_is_refused_before_any_call() {
    let live = Live::start();
    let dir = project(CONFIG);
    env_file(dir.path(), "staging", CONFIG);
    let file = dir.path().join("staging.plan");
    let file = file.to_str().unwrap();
    live.run_ok(dir.path(), &["plan", "-e", "staging", "--out", file]);
    let calls = live.requests().len();

    let out = live.run(dir.path(), &["apply", "-e", ENV, file]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("was made for `staging` (project"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("dmgmt plan -e app --out FILE"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        live.requests()[calls..],
        [] as [String; 0],
        "no request reached the emulator"
    );
}

#[test]
fn a_project_that_comes_back_empty_is_said_loudly_and_asked_for_when_protected() {
    let live = Live::start();
    let dir = project(CONFIG);
    live.run_ok(dir.path(), &["apply", "-e", ENV, "--auto-approve"]);
    let managed = {
        let text = std::fs::read_to_string(dir.path().join("state/app.json")).unwrap();
        let state: Value = serde_json::from_str(&text).unwrap();
        state["resources"].as_object().unwrap().len()
    };
    assert!(managed >= 3, "{managed}");

    // Another, empty project at the same address: a wrong `base_url`, or a wiped project.
    let empty = Live::start();
    let text = empty.run_ok(dir.path(), &["plan", "-e", ENV]);
    // Every managed object but the preconfigured `Tenant Admin` role, which every project has.
    let gone = managed - 1;
    assert!(
        text.starts_with(&format!(
            "Warning: {gone} of the {managed} objects dmgmt manages in `app` are gone from project"
        )),
        "{text}"
    );
    assert!(
        text.contains("Is `project_id` or `base_url` wrong"),
        "{text}"
    );
    let json: Value =
        serde_json::from_str(&empty.run_ok(dir.path(), &["plan", "-e", ENV, "--json"])).unwrap();
    assert_eq!(
        json["vanished"],
        serde_json::json!({"managed": managed, "gone": gone})
    );
    // The live project of the first apply is whole: no warning there.
    let text = live.run_ok(dir.path(), &["plan", "-e", ENV]);
    assert!(!text.contains("Warning"), "{text}");
    let json: Value =
        serde_json::from_str(&live.run_ok(dir.path(), &["plan", "-e", ENV, "--json"])).unwrap();
    assert!(json.get("vanished").is_none(), "{json}");

    // Protected: --auto-approve does not cover it, and there is no terminal to ask on.
    env_file(dir.path(), ENV, &format!("protected: true\n{CONFIG}"));
    let out = empty.run(dir.path(), &["apply", "-e", ENV, "--auto-approve"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("are gone from project"),
        "{}",
        stdout(&out)
    );
    let err = stderr(&out);
    assert!(
        err.contains("refusing to apply without confirmation"),
        "{err}"
    );
    assert!(err.contains("--allow-mass-recreate"), "{err}");
    assert_eq!(mutations(&empty), Vec::<String>::new());
    let audit = std::fs::read_to_string(dir.path().join("state/audit.jsonl")).unwrap();
    let last: Value = serde_json::from_str(audit.lines().last().unwrap()).unwrap();
    assert_eq!(last["outcome"], "refused", "{last}");

    // A saved plan is no way around it.
    let file = dir.path().join("app.plan");
    let file = file.to_str().unwrap();
    empty.run_ok(dir.path(), &["plan", "-e", ENV, "--out", file]);
    let out = empty.run(dir.path(), &["apply", "-e", ENV, file]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--allow-mass-recreate"),
        "{}",
        stderr(&out)
    );
    assert_eq!(mutations(&empty), Vec::<String>::new());

    let out = empty.run(
        dir.path(),
        &[
            "apply",
            "-e",
            ENV,
            "--auto-approve",
            "--allow-mass-recreate",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!mutations(&empty).is_empty());
}

/// A refresh (and a backup, which records its fresh read) against a project that came back empty
/// leaves the state alone: recording it would empty the state, and the next plan would create
/// everything again without a word. `--allow-mass-forget` records it.
#[test]
fn a_refresh_of_a_project_that_came_back_empty_records_nothing_unless_told() {
    let live = Live::start();
    let dir = project(CONFIG);
    live.run_ok(dir.path(), &["apply", "-e", ENV, "--auto-approve"]);
    let state_path = dir.path().join("state/app.json");
    let before = std::fs::read(&state_path).unwrap();

    let empty = Live::start();
    let out = empty.run(dir.path(), &["refresh", "-e", ENV]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(err.contains("refusing to record the refresh"), "{err}");
    assert!(err.contains("--allow-mass-forget"), "{err}");
    assert_eq!(
        std::fs::read(&state_path).unwrap(),
        before,
        "nothing written"
    );
    let audit = std::fs::read_to_string(dir.path().join("state/audit.jsonl")).unwrap();
    let last: Value = serde_json::from_str(audit.lines().last().unwrap()).unwrap();
    assert_eq!(last["command"], "refresh", "{last}");
    assert_eq!(last["outcome"], "refused", "{last}");
    let out = empty.run(dir.path(), &["refresh", "-e", ENV, "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let json: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert!(
        json["refused"]["vanished"]["gone"].as_u64().unwrap() >= 2,
        "{json}"
    );
    assert_eq!(json["state_written"], false);

    // A backup reads the project whole and records what it read: not this.
    empty.run_ok(dir.path(), &["backup", "-e", ENV]);
    assert_eq!(
        std::fs::read(&state_path).unwrap(),
        before,
        "nothing written"
    );
    // So the next plan still says loudly what happened.
    let text = empty.run_ok(dir.path(), &["plan", "-e", ENV]);
    assert!(text.starts_with("Warning: "), "{text}");

    let out = empty.run(dir.path(), &["refresh", "-e", ENV, "--allow-mass-forget"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_ne!(std::fs::read(&state_path).unwrap(), before);
}

#[test]
fn a_few_objects_gone_are_plain_drift() {
    let live = Live::start();
    let dir = project(CONFIG);
    live.run_ok(dir.path(), &["apply", "-e", ENV, "--auto-approve"]);
    live.call("/v1/mgmt/tenant/delete", serde_json::json!({"id": "beta"}));
    let text = live.run_ok(dir.path(), &["plan", "-e", ENV]);
    assert!(text.contains("tenant.beta"), "{text}");
    assert!(!text.contains("Warning"), "{text}");
}

#[test]
fn state_rm_of_a_declared_resource_warns_that_the_next_plan_adopts_it_again() {
    let live = Live::start();
    let dir = project(CONFIG);
    live.run_ok(dir.path(), &["apply", "-e", ENV, "--auto-approve"]);
    let out = live.run(dir.path(), &["state", "rm", "-e", ENV, "tenant.beta"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(
            "warning: `tenant.beta` is still declared in the configuration of `app`: the next plan adopts it again"
        ),
        "{}",
        stderr(&out)
    );
    let plan = live.run_ok(dir.path(), &["plan", "-e", ENV]);
    assert!(plan.contains("tenant.beta will be adopted"), "{plan}");
}

/// A v1 flow with `n` screens titled `title N`.
fn flow_with_screens(n: usize, title: &str) -> String {
    let screens: Vec<Value> = (0..n)
        .map(|i| serde_json::json!({"id": format!("s{i}"), "htmlTemplate": {"title": format!("{title} {i}")}}))
        .collect();
    serde_json::to_string_pretty(&serde_json::json!({
        "flow": {"id": "sign-in", "name": "Sign in"},
        "screens": screens,
    }))
    .unwrap()
}

#[test]
fn flow_drift_shows_the_flow_summary_and_diff_as_the_plan_does() {
    let live = Live::start();
    let dir = project(&format!(
        "{CONFIG}flows:\n  - {{id: sign-in, template: flows/sign-in.json}}\n"
    ));
    crate::support::write(
        dir.path(),
        "environments/flows/sign-in.json",
        flow_with_screens(2, "Welcome").as_bytes(),
    );
    live.run_ok(dir.path(), &["apply", "-e", ENV, "--auto-approve"]);
    // Edited in the console: one screen's title.
    live.call(
        "/v1/mgmt/flow/import",
        serde_json::json!({
            "flowId": "sign-in",
            "flow": {"id": "sign-in", "name": "Sign in"},
            "screens": [
                {"id": "s0", "htmlTemplate": {"title": "Welcome 0"}},
                {"id": "s1", "htmlTemplate": {"title": "Hello 1"}},
            ],
        }),
    );
    let text = live.run_ok(dir.path(), &["plan", "-e", ENV]);
    let drift = text
        .split("dmgmt will perform")
        .next()
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        drift.contains("# flow.sign-in has changed outside dmgmt"),
        "{text}"
    );
    assert!(!drift.contains("(document changed)"), "{text}");
    assert!(drift.contains("screens: 1 changed (`s1`)"), "{text}");
    assert!(drift.contains("--- last state"), "{text}");
    assert!(
        drift.contains("-        \"title\": \"Welcome 1\""),
        "{text}"
    );
    assert!(drift.contains("+        \"title\": \"Hello 1\""), "{text}");
}

#[test]
fn diff_shows_a_flows_diff_cut_unless_full_diff() {
    let dir = crate::support::project(&[
        (
            "environments/alpha.yaml",
            "project_id: P2alphaExampleProjectId0001\nmanagement_key: ${env.DESCOPE_MANAGEMENT_KEY_ALPHA}\nflows:\n  - {id: sign-in, template: flows/a.json}\n",
        ),
        (
            "environments/beta.yaml",
            "project_id: P2betaExampleProjectId00001\nmanagement_key: ${env.DESCOPE_MANAGEMENT_KEY_BETA}\nflows:\n  - {id: sign-in, template: flows/b.json}\n",
        ),
        (
            "environments/flows/a.json",
            &flow_with_screens(30, "Welcome"),
        ),
        ("environments/flows/b.json", &flow_with_screens(30, "Hello")),
    ]);
    let diff = |extra: &[&str]| {
        let out = crate::support::dmgmt()
            .arg("--dir")
            .arg(dir.path())
            .args(["diff", "alpha", "beta"])
            .args(extra)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        stdout(&out)
    };
    let cut = diff(&[]);
    assert!(cut.contains("screens: 30 changed"), "{cut}");
    assert!(cut.contains("--- alpha"), "{cut}");
    assert!(cut.contains("+++ beta"), "{cut}");
    assert!(
        cut.contains("more diff lines (--full-diff shows them all)"),
        "{cut}"
    );
    let full = diff(&["--full-diff"]);
    assert!(!full.contains("more diff lines"), "{full}");
    assert!(full.contains("+        \"title\": \"Hello 29\""), "{full}");
    assert!(!cut.contains("\"Hello 29\""), "{cut}");
}

/// What a shell gets for the last word of `words` (`COMPLETE=fish dmgmt -- dmgmt WORDS...`, as
/// the registration script asks), run in `dir`: one candidate a line, its help after a tab.
/// Options (offered beside a positional argument) are left out.
fn complete(dir: &std::path::Path, words: &[&str]) -> Vec<String> {
    let out = crate::support::dmgmt()
        .current_dir(dir)
        .env("COMPLETE", "fish")
        .arg("--")
        .arg("dmgmt")
        .args(words)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    stdout(&out)
        .lines()
        .map(|l| l.split('\t').next().unwrap_or_default().to_owned())
        .filter(|c| !c.starts_with('-'))
        .collect()
}

#[test]
fn completion_asks_dmgmt_for_environments_and_backup_ids_as_they_are_now() {
    let live = Live::start();
    let dir = project(CONFIG);
    env_file(dir.path(), "staging", CONFIG);
    assert_eq!(
        complete(dir.path(), &["plan", "-e", ""]),
        ["app", "staging"]
    );
    assert_eq!(complete(dir.path(), &["diff", ""]), ["app", "staging"]);
    assert_eq!(complete(dir.path(), &["diff", "app", "st"]), ["staging"]);
    // An environment added after the script was made is offered too.
    env_file(dir.path(), "dev", CONFIG);
    assert_eq!(
        complete(dir.path(), &["apply", "--env", ""]),
        ["app", "dev", "staging"]
    );

    assert_eq!(
        complete(dir.path(), &["restore", "-e", "app", ""]),
        Vec::<String>::new()
    );
    live.run_ok(dir.path(), &["backup", "-e", ENV]);
    let backups = std::fs::read_dir(dir.path().join("state/backups/app"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect::<Vec<_>>();
    assert_eq!(backups.len(), 1, "{backups:?}");
    assert_eq!(complete(dir.path(), &["restore", "-e", "app", ""]), backups);
}

#[test]
fn a_command_without_its_environment_lists_the_projects_environments() {
    let dir = project(CONFIG);
    env_file(dir.path(), "staging", CONFIG);
    let out = crate::support::dmgmt()
        .arg("--dir")
        .arg(dir.path())
        .arg("plan")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(
            "The environments of this project: app, staging (`dmgmt envs` shows their projects)."
        ),
        "{}",
        stderr(&out)
    );
    // Outside a project there is nothing to list.
    let empty = tempfile::tempdir().unwrap();
    let out = crate::support::dmgmt()
        .current_dir(empty.path())
        .arg("plan")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    assert!(!stderr(&out).contains("environments of this project"));
}

#[test]
fn the_rust_version_of_cargo_toml_is_the_minimum_the_guide_states() {
    let root = crate::support::repo_root();
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let declared = manifest
        .lines()
        .find_map(|l| l.strip_prefix("rust-version = \""))
        .and_then(|v| v.strip_suffix('"'))
        .expect("Cargo.toml declares rust-version");
    let guide = std::fs::read_to_string(root.join("docs/getting-started.md")).unwrap();
    assert!(
        guide.contains(&format!("Rust {declared} or newer")),
        "docs/getting-started.md states another minimum than rust-version {declared}"
    );
}

/// `apply -v` says what CPU its changes took, apart from the run's once-only work (the apply
/// bench reads it as the CPU per change).
#[test]
fn a_verbose_apply_reports_the_cpu_its_changes_took() {
    let live = Live::start();
    let dir = project(CONFIG);
    let out = live.run(dir.path(), &["-v", "apply", "-e", ENV, "--auto-approve"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    let line = err
        .lines()
        .find_map(|l| l.strip_prefix("execution: "))
        .unwrap_or_else(|| panic!("no execution line:\n{err}"));
    let parts: Vec<&str> = line.split(", ").collect();
    assert!(
        parts[0].ends_with(" changes") && parts[0] != "0 changes",
        "{line}"
    );
    assert!(parts[1].ends_with(" ms of CPU"), "{line}");
    let per_change: f64 = parts[2]
        .strip_suffix(" ms per change")
        .unwrap()
        .parse()
        .unwrap();
    assert!(per_change > 0.0, "{line}");
}
