//! The secrets audit (docs/dev/README.md, "What the tests hold"): every command, with and without
//! `-vv`, run against an emulator whose management key is a recognisable fake that reaches dmgmt
//! only through an environment variable (`management_key: ${env.DMGMT_TEST_KEY}`). Afterwards the
//! key — whole, base64-encoded, or its first 12 characters (a truncated echo) — is in no output and
//! in no file of the project: the state, its backup and audit trail, backups, saved plans and
//! generated configuration.

use serde_json::json;

use crate::apply::{CONFIG, ENV};
use crate::live::{Live, env_file};
use crate::support::{files_under, stderr, stdout, write};
use dmgmt::emulator::{EmulatorConfig, LOCAL_PROJECT_ID};

const KEY: &str = "K2FakeKeyForTheSecretsAudit0000000000";

/// Standard base64 (with padding), enough to recognise an encoded key.
fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// What must appear nowhere: the key, its first 12 characters, and base64 of the key and of the
/// `project:key` pair the Authorization header carries (padding dropped: it depends on the
/// length around it).
fn needles() -> Vec<String> {
    vec![
        KEY.to_owned(),
        KEY[..12].to_owned(),
        base64(KEY.as_bytes()).trim_end_matches('=').to_owned(),
        base64(format!("{LOCAL_PROJECT_ID}:{KEY}").as_bytes())
            .trim_end_matches('=')
            .to_owned(),
    ]
}

#[test]
fn base64_is_the_standard_encoding() {
    assert_eq!(base64(b"Man"), "TWFu");
    assert_eq!(base64(b"Ma"), "TWE=");
    assert_eq!(base64(b"M"), "TQ==");
}

#[test]
fn the_management_key_is_in_no_output_and_no_file_after_every_command() {
    let live = Live::with(EmulatorConfig {
        management_key: KEY.to_owned(),
        ..EmulatorConfig::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    env_file(root, ENV, CONFIG);
    env_file(root, "other", "tenants:\n  - {id: other, name: Other}\n");
    // An object no environment declares, for `import`.
    live.call(
        "/v1/mgmt/permission/create",
        json!({"name": "console.made"}),
    );
    // A stale lock, for `unlock`.
    let lock_id = "0123456789abcdef0123456789abcdef";
    let lock = json!({"id": lock_id, "operation": "apply", "user": "someone", "host": "elsewhere",
        "pid": 1, "created_at": "2026-01-01T00:00:00Z", "dmgmt_version": "0.1.0"});
    write(
        root,
        &format!("state/{ENV}.lock"),
        lock.to_string().as_bytes(),
    );
    let saved = root.join("saved.plan");
    let saved = saved.to_str().unwrap();

    let commands: Vec<Vec<&str>> = vec![
        vec!["unlock", "-e", ENV, lock_id],
        vec!["envs"],
        vec!["envs", "--json"],
        vec!["validate", "-e", ENV],
        vec!["validate", "--all", "--json"],
        vec!["plan", "-e", ENV],
        vec!["plan", "-e", ENV, "--json"],
        vec!["plan", "-e", ENV, "--out", saved],
        vec!["apply", "-e", ENV, saved],
        vec!["plan", "-e", "other", "--out", saved],
        vec!["apply", "-e", "other", "--auto-approve", "--json"],
        vec!["apply", "-e", ENV, "--auto-approve"],
        vec!["refresh", "-e", ENV],
        vec!["refresh", "-e", ENV, "--json"],
        vec!["state", "list", "-e", ENV],
        vec!["state", "show", "-e", ENV, "tenant.acme"],
        vec!["state", "rm", "-e", ENV, "tenant.beta"],
        vec!["backup", "-e", ENV],
        vec!["backups", "-e", ENV],
        vec!["backups", "-e", ENV, "--json"],
        vec!["import", "-e", ENV],
        vec!["import", "-e", ENV, "--write"],
        vec!["diff", ENV, "other"],
        vec!["diff", ENV, "other", "--live"],
        vec!["audit"],
        vec!["audit", "--json"],
    ];
    let mut outputs: Vec<(String, String)> = Vec::new();
    let mut failed = Vec::new();
    for verbose in [false, true] {
        for args in &commands {
            let mut args = args.clone();
            if verbose {
                args.insert(0, "-vv");
            }
            let out = live.run(root, &args);
            // Some commands rightly refuse the second time (the lock is gone, the saved plan is
            // stale): their errors are scanned too. Only the first round must succeed.
            if !verbose && !matches!(out.status.code(), Some(0 | 2)) {
                failed.push(format!("{args:?}: {}", stderr(&out)));
            }
            outputs.push((
                args.join(" "),
                format!("{}\n{}", stdout(&out), stderr(&out)),
            ));
        }
        // A restore of the newest backup.
        let list = live.run(root, &["backups", "-e", ENV, "--json"]);
        let list: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
        let id = list["backups"][0]["id"].as_str().unwrap().to_owned();
        let mut args = vec![
            "restore",
            "-e",
            ENV,
            id.as_str(),
            "--auto-approve",
            "--allow-delete",
        ];
        if verbose {
            args.insert(0, "-vv");
        }
        let out = live.run(root, &args);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        outputs.push((
            args.join(" "),
            format!("{}\n{}", stdout(&out), stderr(&out)),
        ));
    }
    assert_eq!(failed, Vec::<String>::new());
    // A call that fails: nothing listens at the URL, and the error names where it went.
    let out = live
        .command(root)
        .env("DMGMT_TEST_URL", "http://127.0.0.1:9")
        .args(["-vv", "plan", "-e", ENV])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    outputs.push((
        "plan (unreachable)".into(),
        format!("{}\n{}", stdout(&out), stderr(&out)),
    ));

    let mut leaks = Vec::new();
    for needle in needles() {
        for (command, text) in &outputs {
            if text.contains(&needle) {
                leaks.push(format!("`{needle}` in the output of `{command}`"));
            }
        }
        for path in files_under(root) {
            let bytes = std::fs::read(&path).unwrap();
            if String::from_utf8_lossy(&bytes).contains(&needle) {
                leaks.push(format!("`{needle}` in {}", path.display()));
            }
        }
    }
    assert_eq!(leaks, Vec::<String>::new());

    // Positive controls: the scan saw what it should have seen.
    let all = files_under(root);
    let has = |part: &str| all.iter().any(|p| p.to_string_lossy().contains(part));
    for part in [
        "saved.plan",
        "state/app.json",
        "state/audit.jsonl",
        "state/backups/app/",
    ] {
        assert!(has(part), "no `{part}` among {all:?}");
    }
    assert!(all.len() >= 10, "{all:?}");
    let verbose = outputs
        .iter()
        .find(|(c, _)| c.starts_with("-vv apply -e"))
        .unwrap();
    assert!(verbose.1.contains("http: POST /v1/mgmt/"), "{}", verbose.1);
    // The emulator did see the key: it is the one the commands authenticated with.
    assert!(live.requests().len() > 50);
}
