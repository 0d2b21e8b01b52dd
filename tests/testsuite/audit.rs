//! The audit trail through the real binary: every writing command leaves exactly one line with the
//! right fields, read-only commands none; `dmgmt audit` shows them newest first, filters and
//! limits them, reports a damaged line without failing; no line ever holds a management key.

use std::path::Path;

use serde_json::Value;

use crate::apply::{CONFIG, ENV, project};
use crate::live::Live;
use crate::support::{stderr, stdout};
use dmgmt::emulator::{EmulatorConfig, LOCAL_MANAGEMENT_KEY, LOCAL_PROJECT_ID};

fn lines(root: &Path) -> Vec<Value> {
    std::fs::read_to_string(root.join("state/audit.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn run(live: &Live, root: &Path, args: &[&str]) -> std::process::Output {
    live.run(root, args)
}

/// Takes a lock as a crashed process would leave it and returns its id.
fn stale_lock(root: &Path) -> String {
    crate::support::crashed_lock(&root.join("state"), ENV)
}

#[test]
fn every_writing_command_leaves_exactly_one_line_and_reading_ones_none() {
    let live = Live::start();
    let dir = project(CONFIG);
    let root = dir.path();
    let backup_id = || {
        let v: Value =
            serde_json::from_slice(&run(&live, root, &["backups", "-e", ENV, "--json"]).stdout)
                .unwrap();
        v["backups"][0]["id"].as_str().unwrap().to_owned()
    };
    // (args, command recorded, expected exit code); `None`: a reading command, no line.
    let steps: Vec<(Vec<String>, Option<&str>, i32)> = vec![
        (vec!["plan".into()], None, 0),
        (
            vec!["apply".into(), "--auto-approve".into()],
            Some("apply"),
            0,
        ),
        (vec!["backup".into()], Some("backup"), 0),
        (vec!["backups".into()], None, 0),
        (vec!["refresh".into()], Some("refresh"), 0),
        (vec!["state".into(), "list".into()], None, 0),
        (
            vec!["restore".into(), "BACKUP".into(), "--auto-approve".into()],
            Some("restore"),
            0,
        ),
        (
            vec!["backups".into(), "--prune".into()],
            Some("backups --prune"),
            0,
        ),
        (
            vec!["state".into(), "rm".into(), "tenant.beta".into()],
            Some("state rm"),
            0,
        ),
        (vec!["unlock".into(), "LOCK".into()], Some("unlock"), 0),
        (vec!["audit".into()], None, 0),
    ];
    for (args, command, code) in steps {
        let mut full: Vec<String> = match args[0].as_str() {
            "state" => vec!["state".into(), args[1].clone(), "-e".into(), ENV.into()],
            "audit" => vec!["audit".into()],
            first => vec![first.into(), "-e".into(), ENV.into()],
        };
        let rest = if args[0] == "state" {
            &args[2..]
        } else {
            &args[1..]
        };
        for a in rest {
            full.push(match a.as_str() {
                "BACKUP" => backup_id(),
                "LOCK" => stale_lock(root),
                other => other.to_owned(),
            });
        }
        let before = lines(root).len();
        let argv: Vec<&str> = full.iter().map(String::as_str).collect();
        let out = run(&live, root, &argv);
        assert_eq!(out.status.code(), Some(code), "{full:?}: {}", stderr(&out));
        let after = lines(root);
        match command {
            None => assert_eq!(after.len(), before, "{full:?} wrote an audit line"),
            Some(command) => {
                assert_eq!(after.len(), before + 1, "{full:?}: exactly one line");
                let line = after.last().unwrap();
                assert_eq!(line["command"], command, "{line}");
                assert_eq!(line["environment"], ENV);
                assert_eq!(line["project_id"], LOCAL_PROJECT_ID);
                assert_eq!(line["exit_code"], code);
                assert!(!line["user"].as_str().unwrap().is_empty());
                assert!(!line["host"].as_str().unwrap().is_empty());
                assert!(line["time"].as_str().unwrap().ends_with('Z'));
            }
        }
    }
    let all = lines(root);
    let apply = &all[0];
    assert!(apply["changes"].as_array().unwrap().len() > 5);
    assert!(
        apply["changes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["outcome"] == "applied")
    );
    assert!(apply["backup"].is_string(), "the pre-apply backup is named");
    assert_eq!(apply["outcome"], "applied");
    assert!(
        all.iter().all(|r| r["outcome"].is_string()),
        "every line has an outcome"
    );
    assert!(all[1]["backup"].is_string(), "the manual backup is named");
    assert_eq!(
        all[3]["backup"], all[1]["backup"],
        "restore names its backup"
    );
    assert_eq!(all[5]["changes"][0]["addr"], "tenant.beta");
    let text = std::fs::read_to_string(root.join("state/audit.jsonl")).unwrap();
    assert!(!text.contains(LOCAL_MANAGEMENT_KEY));

    // The table: newest first, who, where, what, how it ended.
    let out = run(&live, root, &["audit"]);
    let table = stdout(&out);
    let rows: Vec<&str> = table.lines().collect();
    assert!(
        rows[0].starts_with("TIME (UTC)") && rows[0].contains("COMMAND"),
        "{table}"
    );
    assert_eq!(rows.len(), all.len() + 1, "{table}");
    assert!(rows[1].contains(" unlock "), "newest first: {table}");
    assert!(rows.last().unwrap().contains(" apply ("), "{table}");
    assert!(
        rows.last()
            .unwrap()
            .contains(" applied, 0 failed  applied "),
        "the outcome column: {table}"
    );
    assert!(rows[0].contains(" OUTCOME "), "{table}");
    assert!(rows[1].contains(" succeeded "), "{table}");

    let limited = stdout(&run(&live, root, &["audit", "--limit", "2"]));
    assert_eq!(limited.lines().count(), 3, "{limited}");
    let other = run(&live, root, &["audit", "-e", "nowhere"]);
    assert_eq!(
        other.status.code(),
        Some(1),
        "an unknown environment is an error"
    );
    let recent: Value =
        serde_json::from_slice(&run(&live, root, &["audit", "--since", "1h", "--json"]).stdout)
            .unwrap();
    assert_eq!(recent["format_version"], 1);
    assert_eq!(recent["records"].as_array().unwrap().len(), all.len());
}

#[test]
fn since_filters_by_age_and_a_damaged_line_is_reported_not_fatal() {
    let live = Live::start();
    let dir = project(CONFIG);
    let root = dir.path();
    assert_eq!(
        run(&live, root, &["refresh", "-e", ENV]).status.code(),
        Some(0)
    );
    let path = root.join("state/audit.jsonl");
    let fresh = std::fs::read_to_string(&path).unwrap();
    let mut old: Value = serde_json::from_str(fresh.trim()).unwrap();
    old["time"] = "2020-01-01T00:00:00Z".into();
    old["command"] = "apply".into();
    std::fs::write(&path, format!("{old}\n{{\"time\": torn\n{fresh}")).unwrap();

    let out = run(&live, root, &["audit", "--since", "3d"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let table = stdout(&out);
    assert_eq!(table.lines().count(), 2, "only the recent line: {table}");
    assert!(table.contains(" refresh "), "{table}");
    assert!(
        stderr(&out).contains("line 2 cannot be read"),
        "{}",
        stderr(&out)
    );

    let all = stdout(&run(&live, root, &["audit", "-e", ENV]));
    assert_eq!(all.lines().count(), 3, "{all}");
    assert!(
        all.lines()
            .nth(2)
            .unwrap()
            .starts_with("2020-01-01T00:00:00Z"),
        "{all}"
    );
    let json: Value =
        serde_json::from_slice(&run(&live, root, &["audit", "--json"]).stdout).unwrap();
    assert_eq!(json["unreadable_lines"][0]["line"], 2);
}

#[test]
fn a_real_looking_management_key_is_in_no_audit_line_and_no_file_under_state() {
    const KEY: &str = "K2fakeRecognisableManagementKeyDoNotLeak0001";
    let live = Live::with(EmulatorConfig {
        management_key: KEY.to_owned(),
        ..EmulatorConfig::default()
    });
    let dir = project(CONFIG);
    let root = dir.path();
    let run_with_key = |args: &[&str]| {
        let out = live
            .command(root)
            .env("DMGMT_TEST_KEY", KEY)
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        let text = format!("{}{}", stdout(&out), stderr(&out));
        assert!(!text.contains(KEY), "{args:?} printed the key: {text}");
        out
    };
    run_with_key(&["-vv", "apply", "-e", ENV, "--auto-approve"]);
    run_with_key(&["backup", "-e", ENV]);
    run_with_key(&["refresh", "-e", ENV]);
    let list: Value =
        serde_json::from_slice(&run_with_key(&["backups", "-e", ENV, "--json"]).stdout).unwrap();
    let id = list["backups"][0]["id"].as_str().unwrap().to_owned();
    run_with_key(&["-vv", "restore", "-e", ENV, &id, "--auto-approve"]);
    run_with_key(&["audit", "--json"]);
    assert_eq!(lines(root).len(), 4);

    let files = crate::support::assert_no_file_holds(&root.join("state"), KEY);
    // Positive control: the state, the backups (bundle and manifest of the manual and the
    // pre-restore one at least) and the audit log were among the files checked.
    let checked = crate::support::files_under(&root.join("state"));
    assert_eq!(files, checked.len());
    let count = |name: &str| {
        checked
            .iter()
            .filter(|p| p.file_name().is_some_and(|n| n == name))
            .count()
    };
    assert!(
        count(&format!("{ENV}.json")) == 1
            && count("audit.jsonl") == 1
            && count("objects.jsonl") >= 2
            && count("manifest.json") == count("objects.jsonl"),
        "state, backups and the audit log were checked: {checked:?}"
    );
}

/// An apply ended after its plan was shown leaves one line saying how it ended — refused by a
/// guard: exit 1, its delete not started, no backup —; one stopped before it had a plan (the
/// lock is held) leaves none.
#[test]
fn a_refused_apply_leaves_one_line_and_an_apply_stopped_before_its_plan_none() {
    let live = Live::start();
    let dir = project("tenants:\n  - {id: old, name: Old Co, prevent_destroy: true}\n");
    let root = dir.path();
    let apply = |extra: &[&str]| crate::apply::apply(&live, root, extra);
    assert_eq!(apply(&[]).status.code(), Some(0));
    crate::live::env_file(root, ENV, "");

    let out = apply(&[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let all = lines(root);
    assert_eq!(all.len(), 2, "{all:?}");
    let refused = &all[1];
    assert_eq!(refused["command"], "apply");
    assert_eq!(refused["exit_code"], 1);
    assert_eq!(
        refused["changes"],
        serde_json::json!([{"addr": "tenant.old", "action": "delete", "outcome": "not_started"}])
    );
    assert!(refused.get("backup").is_none(), "{refused}");

    let lock = stale_lock(root);
    let out = apply(&["--allow-delete"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("locked"), "{}", stderr(&out));
    assert_eq!(lines(root).len(), 2, "no line without a plan");
    assert_eq!(
        run(&live, root, &["unlock", "-e", ENV, &lock])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(lines(root).len(), 3);
}
