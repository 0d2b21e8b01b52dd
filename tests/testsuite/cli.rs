//! The commands of the foundation, end to end through the real binary: `validate`, `envs`,
//! `schema`, `completions`, exit codes and project discovery.

use serde_json::Value;

use crate::support::{MINIMAL_ENV, dmgmt, project, repo_root, shipped_project, stderr, stdout};

const SHIPPED: [&str; 6] = ["dev", "devtest", "local", "prod", "staging", "test"];

#[test]
fn the_shipped_environments_are_all_valid() {
    let dir = shipped_project();
    let out = dmgmt()
        .arg("--dir")
        .arg(dir.path())
        .args(["validate", "--all"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    for env in SHIPPED {
        assert!(
            text.contains(&format!("Success! `{env}` is valid")),
            "{env} missing in:\n{text}"
        );
    }
    // No credentials are needed to validate: the unset key variables are only notes.
    assert!(
        stderr(&out)
            .contains("note: management key variable `DESCOPE_MANAGEMENT_KEY_PROD` is not set")
    );
    assert!(!stderr(&out).contains("error"));
}

#[test]
fn envs_lists_every_environment_with_its_project() {
    let dir = shipped_project();
    let out = dmgmt()
        .arg("--dir")
        .arg(dir.path())
        .arg("envs")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("ENVIRONMENT  PROJECT"), "{text}");
    assert_eq!(lines.len(), 1 + SHIPPED.len(), "{text}");
    let row = |env: &str| {
        lines
            .iter()
            .find(|l| l.starts_with(&format!("{env} ")))
            .copied()
            .unwrap_or_default()
    };
    assert!(
        row("prod").contains("yes") && row("prod").contains("P2pR0dLx7KqWv3NmZ9cYt4BhJs1a"),
        "{text}"
    );
    let local: Vec<&str> = row("local").split_whitespace().collect();
    assert_eq!(
        &local[..4],
        ["local", "PlocalEmulatorProject00001", "no", "yes"],
        "{text}"
    );

    let out = dmgmt()
        .arg("--dir")
        .arg(dir.path())
        .args(["envs", "--json"])
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["format_version"], 1);
    let envs = json["environments"].as_array().unwrap();
    assert_eq!(
        envs.iter()
            .map(|e| e["name"].as_str().unwrap())
            .collect::<Vec<_>>(),
        SHIPPED
    );
    let prod = &envs[3];
    assert_eq!(
        (prod["protected"].as_bool(), prod["emulator"].as_bool()),
        (Some(true), Some(false))
    );
    assert_eq!(prod["resources"]["tenants"], 6);
    assert_eq!(prod["state"], Value::Null, "no state yet");
}

#[test]
fn envs_marks_an_invalid_environment_without_hiding_the_others() {
    let dir = project(&[
        ("environments/good.yaml", MINIMAL_ENV),
        ("environments/bad.yaml", "project_id: 12\n"),
    ]);
    let out = dmgmt()
        .arg("--dir")
        .arg(dir.path())
        .arg("envs")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(
        text.lines()
            .any(|l| l.starts_with("bad") && l.contains("invalid (")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("good") && l.contains("P2testExampleProjectId00001")),
        "{text}"
    );
    assert!(stderr(&out).contains("run `dmgmt validate -e bad`"));
}

#[test]
fn an_unknown_environment_lists_the_known_ones() {
    let dir = shipped_project();
    let out = dmgmt()
        .arg("--dir")
        .arg(dir.path())
        .args(["validate", "-e", "stagin"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "error: unknown environment `stagin`\nhint: did you mean `staging`?\nhint: known environments: dev, devtest, local, prod, staging, test\n"
    );
}

#[test]
fn usage_errors_exit_64_and_help_exits_0() {
    for args in [
        &["validate"][..],
        &["validate", "-e", "x", "--all"],
        &["--bogus"],
        &[],
        &["plan-everything"],
    ] {
        let out = dmgmt().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(64), "{args:?}: {}", stderr(&out));
    }
    let help = dmgmt().arg("--help").output().unwrap();
    assert_eq!(help.status.code(), Some(0));
    assert!(stdout(&help).contains("validate"));
    let version = dmgmt().arg("--version").output().unwrap();
    assert_eq!(
        stdout(&version).trim(),
        format!("dmgmt {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn the_project_is_found_from_a_subfolder_or_not_at_all() {
    let dir = shipped_project();
    let out = dmgmt()
        .current_dir(dir.path().join("environments/flows"))
        .args(["validate", "-e", "dev"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let empty = tempfile::tempdir().unwrap();
    let out = dmgmt()
        .current_dir(empty.path())
        .args(["validate", "--all"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no `environments/` folder in"));
    assert!(stderr(&out).contains("hint: run dmgmt inside a project, or pass `--dir PATH`"));
}

#[test]
fn every_problem_of_a_run_is_reported_across_included_files() {
    let dir = project(&[
        (
            "environments/bad.yaml",
            "project_id: P2testExampleProjectId00001\nmanagement_key: ${env.K}\ninclude: [shared/common.yaml]\ntenants:\n  - id: acme\n    name: Acme\n    enforce_sso: yes\n",
        ),
        (
            "environments/shared/common.yaml",
            "permissions:\n  - name: a\n    descripton: typo\nroles:\n  - name: R\n    permissions: [b]\n",
        ),
    ]);
    let out = dmgmt()
        .arg("--dir")
        .arg(dir.path())
        .args(["validate", "-e", "bad"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    for expected in [
        "error: unknown key `descripton` in permission\n --> environments/shared/common.yaml:3:5",
        "= hint: did you mean `description`?",
        "error: expected a boolean for `enforce_sso`, found a string (`yes`)\n --> environments/bad.yaml:7:18",
        "error: role `R` references unknown permission `b`\n --> environments/shared/common.yaml:6:19",
        "error: environment `bad` is invalid: 3 errors",
    ] {
        assert!(err.contains(expected), "missing {expected:?} in:\n{err}");
    }
    assert!(out.stdout.is_empty());
}

#[test]
fn validate_json_reports_diagnostics_with_positions() {
    let dir = project(&[(
        "environments/bad.yaml",
        &MINIMAL_ENV.replace("default_roles: [Viewer]", "default_roles: [Admin]"),
    )]);
    let out = dmgmt()
        .arg("--dir")
        .arg(dir.path())
        .args(["validate", "-e", "bad", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["format_version"], 1);
    assert_eq!(json["valid"], false);
    let diagnostics = json["environments"][0]["diagnostics"].as_array().unwrap();
    assert_eq!(diagnostics.len(), 2, "{diagnostics:?}");
    assert_eq!(diagnostics[0]["severity"], "note", "the unset key variable");
    let d = &diagnostics[1];
    assert_eq!(d["severity"], "error");
    assert_eq!(
        d["message"],
        "tenant `acme` lists unknown default role `Admin`"
    );
    assert_eq!(
        (d["file"].as_str(), d["line"].as_u64(), d["column"].as_u64()),
        (Some("environments/bad.yaml"), Some(11), Some(21))
    );
}

#[test]
fn an_inline_management_key_is_refused_and_never_echoed() {
    let secret = "K2zzInlineSecretValue0123456789";
    let env = MINIMAL_ENV.replace("${env.DESCOPE_MANAGEMENT_KEY_TEST}", secret);
    let dir = project(&[("environments/bad.yaml", &env)]);
    for extra in [&[][..], &["--json"]] {
        let out = dmgmt()
            .arg("--dir")
            .arg(dir.path())
            .args(["validate", "-e", "bad"])
            .args(extra)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        let all = format!("{}{}", stdout(&out), stderr(&out));
        assert!(all.contains("must be an `${env.NAME}` reference"), "{all}");
        assert!(!all.contains("K2zz"), "the key leaked:\n{all}");
    }
}

#[test]
fn env_placeholders_are_filled_from_the_process_environment() {
    let env = format!("{MINIMAL_ENV}vars:\n  region: ${{env.DMGMT_TEST_REGION}}\n");
    let dir = project(&[("environments/dev.yaml", &env)]);
    let ok = dmgmt()
        .arg("--dir")
        .arg(dir.path())
        .args(["validate", "-e", "dev"])
        .env("DMGMT_TEST_REGION", "eu")
        .output()
        .unwrap();
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    let missing = dmgmt()
        .arg("--dir")
        .arg(dir.path())
        .args(["validate", "-e", "dev"])
        .env_remove("DMGMT_TEST_REGION")
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
    assert!(stderr(&missing).contains("error: environment variable `DMGMT_TEST_REGION` is not set\n  --> environments/dev.yaml:13:11"), "{}", stderr(&missing));
}

/// Validates every shipped file against `dmgmt schema` with an independent JSON Schema validator,
/// the way an editor's YAML language server would.
#[test]
fn the_schema_accepts_the_shipped_files_and_rejects_mistakes() {
    let schema_of = |args: &[&str]| -> Value {
        let out = dmgmt().arg("schema").args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(0));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let env_schema = jsonschema::validator_for(&schema_of(&[])).expect("a valid JSON Schema");
    let shared_schema =
        jsonschema::validator_for(&schema_of(&["--shared"])).expect("a valid JSON Schema");

    let envs = repo_root().join("environments");
    let mut checked = 0;
    for (dir, validator) in [
        (envs.clone(), &env_schema),
        (envs.join("shared"), &shared_schema),
    ] {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
                continue;
            }
            let json = yaml_to_json(&std::fs::read_to_string(&path).unwrap());
            let errors: Vec<String> = validator
                .iter_errors(&json)
                .map(|e| e.to_string())
                .collect();
            assert!(errors.is_empty(), "{}: {errors:?}", path.display());
            checked += 1;
        }
    }
    assert_eq!(checked, 7);

    let bad = yaml_to_json(&MINIMAL_ENV.replace(
        "name: Acme Corp",
        "name: Acme Corp\n    enforce_sso: \"yes\"\n    tenat: x",
    ));
    let errors: Vec<String> = env_schema
        .iter_errors(&bad)
        .map(|e| e.to_string())
        .collect();
    assert_eq!(errors.len(), 2, "{errors:?}");
    let no_key = yaml_to_json("project_id: P2testExampleProjectId00001\n");
    assert!(
        !env_schema.is_valid(&no_key),
        "management_key is required unless emulator: true"
    );
    let local = yaml_to_json("project_id: P2testExampleProjectId00001\nemulator: true\n");
    assert!(env_schema.is_valid(&local));
    let shared_with_identity = yaml_to_json("project_id: P2testExampleProjectId00001\n");
    assert!(!shared_schema.is_valid(&shared_with_identity));
}

fn yaml_to_json(text: &str) -> Value {
    let mut sources = dmgmt::config::SourceMap::default();
    let file = sources.add("x.yaml".into(), "x.yaml".into(), text.into());
    let parsed = dmgmt::config::yaml::parse(file, text);
    assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
    parsed.root.unwrap().to_json()
}

#[test]
fn completions_are_generated_for_common_shells() {
    for shell in ["bash", "zsh", "fish"] {
        let out = dmgmt().args(["completions", shell]).output().unwrap();
        assert_eq!(out.status.code(), Some(0));
        let script = stdout(&out);
        // The script asks dmgmt at each Tab (see `completion_asks_dmgmt_for_...`).
        assert!(
            script.contains("dmgmt") && script.contains("COMPLETE"),
            "{shell}: {script}"
        );
    }
    assert_eq!(
        dmgmt()
            .args(["completions", "cmd.exe"])
            .output()
            .unwrap()
            .status
            .code(),
        Some(64)
    );
}

/// `dmgmt emulator` runs standalone: first line `listening on http://ADDR`, serves the license
/// handshake, logs requests, and stops on SIGTERM.
#[test]
fn the_emulator_runs_standalone_from_the_cli() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("requests.jsonl");
    let bin = assert_cmd::cargo::cargo_bin("dmgmt");
    let mut child = std::process::Command::new(bin)
        .args(["emulator", "--listen", "127.0.0.1:0", "--request-log"])
        .arg(&log)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let base = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("first line: {first:?}"))
        .to_owned();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    // Then the project and the header its clients (curl included) must send.
    let mut intro = String::new();
    for _ in 0..4 {
        stdout.read_line(&mut intro).unwrap();
    }
    let project = dmgmt::emulator::LOCAL_PROJECT_ID;
    let key = dmgmt::emulator::LOCAL_MANAGEMENT_KEY;
    assert!(intro.starts_with(&format!("project {project};")), "{intro}");
    assert!(
        intro.contains(&format!("  Authorization: Bearer {project}:{key}\n")),
        "{intro}"
    );
    assert!(
        intro.contains(&format!(
            "curl -s -H 'Authorization: Bearer {project}:{key}' {base}/"
        )),
        "{intro}"
    );

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (status, body) = runtime.block_on(async {
        let auth = format!(
            "Bearer {}:{}",
            dmgmt::emulator::LOCAL_PROJECT_ID,
            dmgmt::emulator::LOCAL_MANAGEMENT_KEY
        );
        let resp = reqwest::Client::new()
            .get(format!("{base}/v1/mgmt/license"))
            .header("Authorization", auth)
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    });

    // Stop it by its pid, as a user's Ctrl-C or a service manager would.
    std::process::Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    let exit = child.wait().unwrap();
    assert_eq!(
        (status, body.as_str()),
        (200, r#"{"rateLimitTier":"tier1"}"#)
    );
    assert!(exit.success(), "{exit:?}");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    assert_eq!(rest, "emulator stopped\n", "a line when it stops");
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains(r#""path":"/v1/mgmt/license""#) && logged.contains(r#""status":200"#),
        "{logged}"
    );
}

#[test]
fn the_emulator_refuses_a_project_id_no_environment_could_name() {
    let out = dmgmt()
        .args([
            "emulator",
            "--listen",
            "127.0.0.1:0",
            "--project-id",
            "my-project",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("is not a Descope project id"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_emulator_keeps_a_management_key_of_the_users_own_out_of_its_output() {
    use std::io::{BufRead, BufReader};
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("dmgmt"))
        .args([
            "emulator",
            "--listen",
            "127.0.0.1:0",
            "--management-key",
            "K2notForTheOutput",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut intro = String::new();
    for _ in 0..5 {
        stdout.read_line(&mut intro).unwrap();
    }
    std::process::Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    child.wait().unwrap();
    assert!(intro.contains("Authorization: Bearer"), "{intro}");
    assert!(!intro.contains("K2notForTheOutput"), "{intro}");
}

/// A SIGTERM sent the moment the address is printed stops the emulator gracefully: the signal
/// handlers are in place before the line is written.
#[test]
fn the_emulator_stops_cleanly_on_sigterm_sent_as_soon_as_it_listens() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    for _ in 0..5 {
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("dmgmt"))
            .args(["emulator", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        assert!(first.starts_with("listening on "), "{first:?}");
        std::process::Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status()
            .unwrap();
        let exit = child.wait().unwrap();
        assert!(exit.success(), "{exit:?}");
    }
}
