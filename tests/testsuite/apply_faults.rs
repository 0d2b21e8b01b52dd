//! `apply` when things go wrong, through the real binary: an emulator that fails, loses replies and
//! rate-limits; the process killed or interrupted mid-apply; two applies at once; and the
//! management key nowhere in `state/` or in any output, `-vv` included.

use std::time::Duration;

use serde_json::Value;

use crate::apply::{CONFIG, ENV, apply, assert_no_changes, mutations, project, state_text};
use crate::live::{Live, env_file};
use crate::process::{eventually, spawn};
use crate::support::{stderr, stdout};
use dmgmt::emulator::{DescopeVariant, EmulatorConfig, EmulatorRateLimit, LOCAL_MANAGEMENT_KEY};

/// Twelve tenants: enough independent changes to be caught in the middle.
fn many_tenants() -> String {
    let mut text = String::from("tenants:\n");
    for i in 0..12 {
        text.push_str(&format!("  - {{id: t{i:02}, name: Tenant {i:02}}}\n"));
    }
    text
}

fn slow() -> Live {
    Live::with(EmulatorConfig {
        latency: Duration::from_millis(250),
        ..EmulatorConfig::default()
    })
}

/// An approved apply in the background, one call at a time against a slow emulator: slow enough
/// to be caught in the middle.
fn one_at_a_time(root: &std::path::Path, live: &Live) -> crate::process::Reap {
    spawn(
        root,
        live,
        &["apply", "-e", ENV, "--auto-approve", "--parallelism", "1"],
    )
}

fn serial(root: &std::path::Path) -> u64 {
    state_text(root)
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .and_then(|s| s["serial"].as_u64())
        .unwrap_or(0)
}

/// Complete lines in the state journal: changes a running apply recorded so far (the state file
/// itself is written once, at the end of the run).
fn journaled(root: &std::path::Path) -> usize {
    std::fs::read(root.join(format!("state/{ENV}.json.journal")))
        .map(|b| b.iter().filter(|c| **c == b'\n').count())
        .unwrap_or(0)
}

fn remaining_changes(live: &Live, root: &std::path::Path) -> usize {
    let out = live.run(root, &["plan", "-e", ENV, "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    plan["plan"]["changes"].as_array().unwrap().len()
}

#[test]
fn apply_converges_through_faults_lost_replies_and_a_tight_rate_limit() {
    let live = Live::with(EmulatorConfig {
        fault_rate: 0.2,
        lost_reply_rate: 0.1,
        seed: 7,
        rate_limit: Some(EmulatorRateLimit {
            requests: 10,
            per_seconds: 1,
        }),
        ..EmulatorConfig::default()
    });
    // The client may go faster than the emulator allows: its 429s must pause, never fail.
    let dir = project(&format!(
        "rate_limit: {{requests: 1000, per_seconds: 1}}\n{CONFIG}{}",
        many_tenants().replace("tenants:\n", "")
    ));
    let out = apply(&live, dir.path(), &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("Apply complete! ") && err.contains(" 0 failed, 0 skipped"),
        "{err}"
    );

    let log = live.handle.request_log();
    assert!(log.iter().any(|e| e.status == 503), "faults were injected");
    assert!(log.iter().any(|e| e.status == 502), "replies were lost");
    assert!(
        log.iter().any(|e| e.status == 429),
        "the rate limit was hit"
    );
    let duplicates = log.iter().filter(|e| e.status == 409).count();
    assert_eq!(duplicates, 0, "no create was sent twice");
    assert_no_changes(&live, dir.path());
}

#[test]
fn a_killed_apply_leaves_a_valid_state_and_a_second_apply_finishes_the_job() {
    let live = slow();
    let dir = project(&many_tenants());
    let mut child = one_at_a_time(dir.path(), &live);
    assert!(
        eventually(Duration::from_secs(30), || journaled(dir.path()) >= 3),
        "the apply made progress"
    );
    child.signal("KILL");
    child.wait(Duration::from_secs(10));
    let journal = dir.path().join(format!("state/{ENV}.json.journal"));
    let lines = journaled(dir.path());
    assert!(lines >= 3, "the killed run left its journal");
    assert_eq!(serial(dir.path()), 0, "the killed run wrote no state file");

    // A line the kill tore is ignored, with a warning.
    let mut torn = std::fs::read(&journal).unwrap();
    torn.extend_from_slice(b"0123 {\"lineage\"");
    std::fs::write(&journal, torn).unwrap();
    // The state is valid and holds what was applied; the plan shows only the rest.
    let list = live.run(dir.path(), &["state", "list", "-e", ENV]);
    assert_eq!(list.status.code(), Some(0), "{}", stderr(&list));
    let warning = stderr(&list);
    assert!(
        warning.contains("warning: ignored line") && warning.contains("torn"),
        "{warning}"
    );
    let recorded = stdout(&list)
        .lines()
        .filter(|l| l.contains("tenant."))
        .count();
    let remaining = remaining_changes(&live, dir.path());
    assert!(
        recorded >= 2 && remaining >= 1,
        "{recorded} recorded, {remaining} left"
    );
    assert_eq!(recorded + remaining, 12);
    // Every journaled change is in the state read back; reading alone left the journal.
    assert_eq!(recorded, lines, "{recorded} recorded, {lines} journaled");
    assert!(journal.exists());

    // The killed apply could not release its lock: break it by its id, then finish.
    let lock: Value = serde_json::from_slice(
        &std::fs::read(dir.path().join(format!("state/{ENV}.lock"))).unwrap(),
    )
    .unwrap();
    let id = lock["id"].as_str().unwrap();
    assert_eq!(
        live.run(dir.path(), &["unlock", "-e", ENV, id])
            .status
            .code(),
        Some(0)
    );
    // The killed apply wrote no audit line; the unlock's says which run held the lock.
    let audit = std::fs::read_to_string(dir.path().join("state/audit.jsonl")).unwrap();
    let last: Value = serde_json::from_str(audit.lines().last().unwrap()).unwrap();
    let held = format!("(pid {}, apply)", lock["pid"]);
    assert_eq!(last["command"], "unlock", "{audit}");
    assert!(
        last["broke_lock"]
            .as_str()
            .is_some_and(|h| h.contains(&held)),
        "{last}"
    );
    let out = apply(&live, dir.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        live.handle
            .request_log()
            .iter()
            .filter(|e| e.status == 409)
            .count(),
        0,
        "nothing was created twice"
    );
    assert!(!journal.exists(), "the next apply folded the journal in");
    assert_no_changes(&live, dir.path());
}

/// A change appends one line to the journal, whose size does not grow with the state; the state
/// file is written once, at the end of the run, not after every change (1,000 of them here). Its
/// serial still moves as if it had been.
#[test]
fn an_apply_of_a_thousand_changes_writes_the_state_file_once_at_the_end() {
    const N: usize = 1_000;
    let live = Live::with(EmulatorConfig {
        latency: Duration::from_millis(4),
        ..EmulatorConfig::default()
    });
    // No rate limit in the way (the default is Descope's, 100 calls a minute).
    let mut text = String::from("rate_limit: {requests: 10000, per_seconds: 1}\ntenants:\n");
    for i in 0..N {
        text.push_str(&format!("  - {{id: t{i:04}, name: Tenant {i:04}}}\n"));
    }
    let dir = project(&text);
    let mut child = spawn(
        dir.path(),
        &live,
        &["apply", "-e", ENV, "--auto-approve", "--parallelism", "4"],
    );
    let journal = dir.path().join(format!("state/{ENV}.json.journal"));
    // Watched while it runs: the versions of the state file seen (one at most: the one written at
    // the end), and the journal as large as it got.
    let state = dir.path().join(format!("state/{ENV}.json"));
    let mut versions = std::collections::HashSet::new();
    let mut seen = Vec::new();
    let started = std::time::Instant::now();
    while child.try_wait().is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(240),
            "the apply ended"
        );
        if let Ok(meta) = std::fs::metadata(&state) {
            versions.insert((meta.modified().unwrap(), meta.len()));
        }
        if let Ok(bytes) = std::fs::read(&journal)
            && bytes.len() > seen.len()
        {
            seen = bytes;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let status = child.wait(Duration::from_secs(10));
    let err = std::fs::read_to_string(dir.path().join("child.err")).unwrap();
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(
        versions.len() <= 1,
        "the state was written during the run: {versions:?}"
    );
    let lines: Vec<&[u8]> = seen
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    assert!(
        lines.len() >= 100,
        "the journal was seen with {} lines",
        lines.len()
    );
    let (shortest, longest) = (
        lines.iter().map(|l| l.len()).min().unwrap(),
        lines.iter().map(|l| l.len()).max().unwrap(),
    );
    assert!(
        longest < 2 * shortest && longest < 1_000,
        "one change per line, whatever the state holds: {shortest}..{longest} bytes"
    );
    let state: Value = serde_json::from_str(&state_text(dir.path()).unwrap()).unwrap();
    let resources = &state["resources"];
    let count = resources.as_array().map(Vec::len);
    assert_eq!(count.or(resources.as_object().map(|m| m.len())), Some(N));
    assert_eq!(
        serial(dir.path()),
        N as u64,
        "one serial per change, as ever"
    );
    assert!(!journal.exists());
    assert_no_changes(&live, dir.path());
}

/// Killed after k recorded changes, for several k, with several calls in flight: the next command
/// folds the journal in, the state holds every change that was journaled, the plan shows exactly
/// the rest, and a second apply converges without creating anything twice.
#[test]
fn a_kill_after_k_changes_loses_no_recorded_change_whatever_k() {
    for k in [1, 4, 9] {
        let live = Live::with(EmulatorConfig {
            latency: Duration::from_millis(60),
            ..EmulatorConfig::default()
        });
        let dir = project(&many_tenants());
        let mut child = spawn(
            dir.path(),
            &live,
            &["apply", "-e", ENV, "--auto-approve", "--parallelism", "3"],
        );
        let caught = eventually(Duration::from_secs(60), || journaled(dir.path()) >= k);
        assert!(caught, "k = {k}: the apply made progress");
        child.signal("KILL");
        child.wait(Duration::from_secs(10));
        let lines = journaled(dir.path());
        let list = live.run(dir.path(), &["state", "list", "-e", ENV]);
        assert_eq!(list.status.code(), Some(0), "k = {k}: {}", stderr(&list));
        let recorded = stdout(&list)
            .lines()
            .filter(|l| l.contains("tenant."))
            .count();
        assert_eq!(
            recorded, lines,
            "k = {k}: every journaled change is in the state"
        );
        // Created in Descope but killed before its line: adopted by the next plan.
        let created = live
            .handle
            .request_log()
            .iter()
            .filter(|e| e.path.ends_with("/tenant/create") && e.status == 200)
            .count();
        assert!(
            recorded <= created && created <= recorded + 3,
            "k = {k}: {recorded} recorded, {created} created"
        );
        assert_eq!(
            recorded + remaining_changes(&live, dir.path()),
            12,
            "k = {k}"
        );
        let lock: Value = serde_json::from_slice(
            &std::fs::read(dir.path().join(format!("state/{ENV}.lock"))).unwrap(),
        )
        .unwrap();
        let unlock = live.run(
            dir.path(),
            &["unlock", "-e", ENV, lock["id"].as_str().unwrap()],
        );
        assert_eq!(
            unlock.status.code(),
            Some(0),
            "k = {k}: {}",
            stderr(&unlock)
        );
        let out = apply(&live, dir.path(), &[]);
        assert_eq!(out.status.code(), Some(0), "k = {k}: {}", stderr(&out));
        let duplicates = live
            .handle
            .request_log()
            .iter()
            .filter(|e| e.status == 409)
            .count();
        assert_eq!(duplicates, 0, "k = {k}: nothing was created twice");
        assert_no_changes(&live, dir.path());
    }
}

#[test]
fn ctrl_c_mid_apply_finishes_the_calls_in_flight_releases_the_lock_and_exits_130() {
    let live = slow();
    let dir = project(&many_tenants());
    let mut child = one_at_a_time(dir.path(), &live);
    assert!(eventually(Duration::from_secs(30), || journaled(
        dir.path()
    ) >= 2));
    child.signal("INT");
    let status = child.wait(Duration::from_secs(20));
    assert_eq!(status.code(), Some(130));
    assert!(!dir.path().join(format!("state/{ENV}.lock")).exists());
    let err = std::fs::read_to_string(dir.path().join("child.err")).unwrap();
    assert!(err.contains("Apply interrupted!"), "{err}");

    let list = live.run(dir.path(), &["state", "list", "-e", ENV]);
    let recorded = stdout(&list)
        .lines()
        .filter(|l| l.contains("tenant."))
        .count();
    let remaining = remaining_changes(&live, dir.path());
    assert!(remaining >= 1, "stopped before the end");
    assert_eq!(
        recorded + remaining,
        12,
        "every applied change is in the state"
    );
}

#[test]
fn two_applies_at_once_one_runs_and_the_other_names_the_holder() {
    let live = slow();
    let dir = project(&many_tenants());
    let mut first = one_at_a_time(dir.path(), &live);
    let lock = dir.path().join(format!("state/{ENV}.lock"));
    assert!(eventually(Duration::from_secs(30), || lock.exists()));
    let second = apply(&live, dir.path(), &[]);
    assert_eq!(second.status.code(), Some(1));
    let err = stderr(&second);
    assert!(err.contains("apply"), "{err}");
    assert!(err.contains("lock"), "{err}");
    let status = first.wait(Duration::from_secs(60));
    assert_eq!(status.code(), Some(0));
    assert_no_changes(&live, dir.path());
}

/// The lock file of `root`'s environment once it holds a complete lock.
fn held_lock(root: &std::path::Path) -> Value {
    let path = root.join(format!("state/{ENV}.lock"));
    let read = || {
        std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
    };
    assert!(eventually(Duration::from_secs(30), || read().is_some()));
    read().unwrap()
}

#[test]
fn unlock_refuses_to_break_the_lock_of_a_run_alive_on_this_host_unless_forced() {
    let live = slow();
    let dir = project(&many_tenants());
    let mut child = one_at_a_time(dir.path(), &live);
    assert!(eventually(Duration::from_secs(30), || journaled(
        dir.path()
    ) >= 1));
    let lock = held_lock(dir.path());
    let id = lock["id"].as_str().unwrap();
    let out = live.run(dir.path(), &["unlock", "-e", ENV, id]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "pid {} is still running on this host",
            lock["pid"]
        )),
        "{err}"
    );
    assert!(err.contains("--force"), "{err}");
    assert_eq!(held_lock(dir.path())["id"], lock["id"], "the lock stays");

    // Forced: the lock is broken, and the apply that held it stops with an error, not as if
    // interrupted by Ctrl-C.
    let out = live.run(dir.path(), &["unlock", "-e", ENV, id, "--force"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let status = child.wait(Duration::from_secs(60));
    let err = std::fs::read_to_string(dir.path().join("child.err")).unwrap();
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(
        err.contains("the lock of `app` was broken while this run held it"),
        "{err}"
    );
    assert!(!err.contains("interrupted"), "{err}");
    let out = apply(&live, dir.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_no_changes(&live, dir.path());
}

#[test]
fn an_apply_whose_lock_was_taken_over_stops_with_an_error_and_leaves_that_lock() {
    let live = slow();
    let dir = project(&many_tenants());
    let mut child = one_at_a_time(dir.path(), &live);
    assert!(eventually(Duration::from_secs(30), || journaled(
        dir.path()
    ) >= 2));
    // Broken by hand (or from another host) and taken by another run.
    let state_dir = dir.path().join("state");
    std::fs::remove_file(state_dir.join(format!("{ENV}.lock"))).unwrap();
    let other = dmgmt::state::Lock::acquire(&state_dir, ENV, "refresh", Duration::ZERO).unwrap();
    let status = child.wait(Duration::from_secs(60));
    let err = std::fs::read_to_string(dir.path().join("child.err")).unwrap();
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(
        err.contains("was broken while this run held it") && err.contains("(pid "),
        "{err}"
    );
    assert!(!err.contains("interrupted"), "{err}");
    assert_eq!(
        held_lock(dir.path())["id"],
        other.id(),
        "the other run's lock stays"
    );
    drop(other);
    let out = apply(&live, dir.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_no_changes(&live, dir.path());
}

#[test]
fn the_management_key_is_in_no_file_under_state_and_in_no_output() {
    let live = Live::start();
    let dir = project(CONFIG);
    let mut outputs = Vec::new();
    for args in [
        vec!["-vv", "plan", "-e", ENV],
        vec!["-vv", "apply", "-e", ENV, "--auto-approve"],
        vec!["-vv", "refresh", "-e", ENV],
        vec!["apply", "-e", ENV, "--auto-approve", "--json"],
    ] {
        let out = live.run(dir.path(), &args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        outputs.push(format!("{}{}", stdout(&out), stderr(&out)));
    }
    env_file(dir.path(), ENV, "tenants: []\n");
    let out = apply(&live, dir.path(), &["-vv"]);
    outputs.push(format!("{}{}", stdout(&out), stderr(&out)));
    for text in &outputs {
        assert!(!text.contains(LOCAL_MANAGEMENT_KEY), "{text}");
    }
    // -vv logs every request: method, path, status, duration, attempt.
    assert!(
        outputs[1].contains("http: POST /v1/mgmt/tenant/create -> 200 (")
            && outputs[1].contains("attempt 1)"),
        "{}",
        outputs[1]
    );
    let files =
        crate::support::assert_no_file_holds(&dir.path().join("state"), LOCAL_MANAGEMENT_KEY);
    assert!(
        files >= 4,
        "state, backup, audit and the backup manifest were checked"
    );
    assert!(mutations(&live).len() > 1);
}

/// Whether Descope's `role/all` lists tenant-scoped roles is undocumented: against an emulator
/// that leaves them out, tenant roles are still found (by `role/search`), so apply converges and
/// nothing is created twice.
#[test]
fn tenant_scoped_roles_converge_when_role_all_leaves_them_out() {
    let live = Live::with(EmulatorConfig {
        variant: DescopeVariant {
            role_all_project_only: true,
            ..DescopeVariant::default()
        },
        ..EmulatorConfig::default()
    });
    let dir = project(CONFIG);
    let out = apply(&live, dir.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_no_changes(&live, dir.path());
    let before = mutations(&live).len();
    let again = apply(&live, dir.path(), &[]);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert_eq!(mutations(&live).len(), before, "no role was created twice");
    let log = live.requests();
    assert!(
        log.iter().any(|r| r == "POST /v1/mgmt/role/search"),
        "{log:?}"
    );
    assert!(!live.handle.request_log().iter().any(|e| e.status == 409));
}
