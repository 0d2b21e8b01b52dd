//! What a new user meets first, through the real binary against an in-process emulator: a
//! mistyped `--target`, a refresh-only plan before any state, colour on stdout, and Ctrl-C while
//! the state lock is held.

use std::time::Duration;

use serde_json::json;

use crate::live::{Live, env_file};
use crate::process::{eventually, spawn, wait_bounded};
use crate::support::{stderr, stdout};
use dmgmt::emulator::{EmulatorConfig, LOCAL_MANAGEMENT_KEY, LOCAL_PROJECT_ID};

/// A project whose environment `dev` declares tenant `acme` and points at `live`; live holds an
/// unmanaged tenant `stranger`.
fn project(live: &Live) -> tempfile::TempDir {
    live.call(
        "/v1/mgmt/tenant/create",
        json!({"id": "stranger", "name": "Stranger Inc"}),
    );
    let dir = tempfile::tempdir().unwrap();
    env_file(
        dir.path(),
        "dev",
        "permissions:\n  - {name: billing.read, description: Read invoices}\ntenants:\n  - {id: acme, name: Acme Corp}\n",
    );
    dir
}

#[test]
fn a_target_that_names_nothing_is_an_error_with_a_suggestion() {
    let live = Live::start();
    let dir = project(&live);
    let out = live.run(dir.path(), &["plan", "-e", "dev", "--target", "tenant.acm"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(
        err.contains(
            "error: --target `tenant.acm` matches nothing in `dev`: not declared, not in the state, not live"
        ),
        "{err}"
    );
    assert!(
        err.contains("hint: for `tenant.acm`, did you mean `tenant.acme`?"),
        "{err}"
    );
    assert!(!stdout(&out).contains("No changes"), "{}", stdout(&out));
}

#[test]
fn a_target_that_names_a_known_resource_without_changes_plans_no_changes() {
    let live = Live::start();
    let dir = project(&live);
    // Live only (unmanaged): known, and nothing to do.
    let out = live.run(
        dir.path(),
        &["plan", "-e", "dev", "--target", "tenant.stranger"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("No changes."), "{}", stdout(&out));
    // Declared: planned as usual.
    let out = live.run(
        dir.path(),
        &["plan", "-e", "dev", "--target", "tenant.acme"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("# tenant.acme will be created"),
        "{}",
        stdout(&out)
    );
}
#[test]
fn a_refresh_only_plan_without_state_says_there_is_no_state_yet() {
    let live = Live::start();
    let dir = project(&live);
    let out = live.run(
        dir.path(),
        &["plan", "-e", "dev", "--refresh-only", "--detailed-exitcode"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with(
            "No state yet for `dev`: nothing to compare drift against; run `dmgmt refresh -e dev` or apply first."
        ),
        "{text}"
    );
    assert!(!text.contains("matches the last state"), "{text}");
    assert!(!dir.path().join("state/dev.json").exists());
}

#[test]
fn a_first_refresh_says_there_was_no_state_to_drift_from() {
    let live = Live::start();
    let dir = project(&live);
    let out = live.run(dir.path(), &["refresh", "-e", "dev"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with(
            "No state yet for `dev`: nothing to compare drift against; this refresh records the first state."
        ),
        "{text}"
    );
    assert!(!text.contains("matches the last state"), "{text}");
    assert!(
        text.ends_with("State of `dev` written (serial 1).\n"),
        "{text}"
    );
    // The second refresh has a state to compare with.
    let again = stdout(&live.run(dir.path(), &["refresh", "-e", "dev"]));
    assert!(
        again.starts_with("No drift: the live project of `dev` matches the last state."),
        "{again}"
    );
}

const ESC: &str = "\u{1b}[";

#[test]
fn color_always_colours_stdout_and_stderr() {
    let live = Live::start();
    let dir = project(&live);
    let out = live.run(dir.path(), &["--color", "always", "plan", "-e", "dev"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains(ESC), "{}", stdout(&out));
    let out = live.run(
        dir.path(),
        &[
            "--color",
            "always",
            "plan",
            "-e",
            "dev",
            "--target",
            "tenant.acm",
        ],
    );
    assert!(stderr(&out).contains(ESC), "{}", stderr(&out));
}

#[test]
fn color_auto_writes_no_escape_codes_into_pipes() {
    let live = Live::start();
    let dir = project(&live);
    for args in [
        &["plan", "-e", "dev"][..],
        &["plan", "-e", "dev", "--target", "tenant.acm"],
    ] {
        let out = live
            .command(dir.path())
            .env_remove("NO_COLOR")
            .args(["--color", "auto"])
            .args(args)
            .output()
            .unwrap();
        assert!(!stdout(&out).contains(ESC), "{args:?}: {}", stdout(&out));
        assert!(!stderr(&out).contains(ESC), "{args:?}: {}", stderr(&out));
    }
}

/// `dmgmt plan > file` with stderr on a real terminal (a pty from util-linux `script`): the file
/// gets no escape codes, while errors on the terminal are still coloured.
#[test]
fn plan_redirected_to_a_file_from_a_terminal_has_no_escape_codes() {
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: util-linux `script` is not installed to provide a terminal");
        return;
    }
    let live = Live::start();
    let dir = project(&live);
    let bin = assert_cmd::cargo::cargo_bin("dmgmt");
    let file = dir.path().join("plan.txt");
    let pty_log = dir.path().join("terminal.txt");
    let shell_line = |extra: &str| {
        format!(
            "'{}' --dir '{}' plan -e dev {extra} > '{}'",
            bin.display(),
            dir.path().display(),
            file.display()
        )
    };
    let in_terminal = |line: String| {
        let mut child = std::process::Command::new("script")
            .args(["-qec", &line, "/dev/null"])
            .env_remove("NO_COLOR")
            .env("DMGMT_TEST_KEY", LOCAL_MANAGEMENT_KEY)
            .env("DMGMT_TEST_URL", live.handle.base_url())
            .stdin(std::process::Stdio::null())
            .stdout(std::fs::File::create(&pty_log).unwrap())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let status = wait_bounded(&mut child, Duration::from_secs(60));
        (status.code(), std::fs::read_to_string(&pty_log).unwrap())
    };

    let (code, _) = in_terminal(shell_line(""));
    assert_eq!(code, Some(0));
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("# tenant.acme will be created"), "{text}");
    assert!(
        !text.contains(ESC),
        "escape codes in the redirected plan:\n{text:?}"
    );

    let (code, terminal) = in_terminal(shell_line("--target tenant.acm"));
    assert_eq!(code, Some(1), "{terminal}");
    assert!(terminal.contains("did you mean"), "{terminal}");
    assert!(
        terminal.contains(ESC),
        "errors on a terminal are coloured: {terminal:?}"
    );
}

#[test]
fn ctrl_c_during_refresh_releases_the_lock_and_exits_130() {
    // Every answer takes a second: the refresh is still reading when Ctrl-C arrives.
    let live = Live::with(EmulatorConfig {
        latency: Duration::from_millis(1000),
        ..EmulatorConfig::default()
    });
    let dir = project(&live);
    let store = dmgmt::state::StateStore::new(dir.path().join("state"), "dev");
    store
        .write(&mut dmgmt::state::StateFile::new("dev", LOCAL_PROJECT_ID))
        .unwrap();
    let state_path = dir.path().join("state/dev.json");
    let before = std::fs::read(&state_path).unwrap();
    let lock = dir.path().join("state/dev.lock");

    let mut child = spawn(dir.path(), &live, &["refresh", "-e", "dev"]);
    assert!(
        eventually(Duration::from_secs(20), || lock.exists()),
        "the refresh never took the lock"
    );
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(child.0.try_wait().unwrap(), None, "the refresh ended early");
    child.signal("INT");
    let status = child.wait(Duration::from_secs(10));
    let err = std::fs::read_to_string(dir.path().join("child.err")).unwrap();
    assert_eq!(status.code(), Some(130), "{err}");
    assert!(err.contains("interrupted"), "{err}");
    assert!(!lock.exists(), "the lock file was left behind");
    assert_eq!(
        std::fs::read(&state_path).unwrap(),
        before,
        "the state is untouched"
    );
    assert!(store.load().unwrap().is_some());
    // And the next refresh can take the lock.
    assert_eq!(
        live.run(dir.path(), &["refresh", "-e", "dev"])
            .status
            .code(),
        Some(0)
    );
}

#[test]
fn ctrl_c_while_waiting_for_the_lock_exits_130_and_leaves_the_holders_lock() {
    let live = Live::start();
    let dir = project(&live);
    let state_dir = dir.path().join("state");
    let guard = dmgmt::state::Lock::acquire(&state_dir, "dev", "apply", Duration::ZERO).unwrap();
    let holder = std::fs::read(guard.path()).unwrap();
    for args in [
        &["refresh", "-e", "dev", "--lock-timeout", "60s"][..],
        &[
            "state",
            "rm",
            "-e",
            "dev",
            "tenant.acme",
            "--lock-timeout",
            "60s",
        ],
    ] {
        let mut child = spawn(dir.path(), &live, args);
        // It says that it waits, then waits: interrupted from then on, whenever it comes.
        let err_path = dir.path().join("child.err");
        assert!(
            eventually(Duration::from_secs(20), || {
                std::fs::read_to_string(&err_path).is_ok_and(|e| e.contains("waiting up to 60 s"))
            }),
            "{args:?} never said it waits for the lock"
        );
        assert_eq!(child.0.try_wait().unwrap(), None, "{args:?} ended early");
        child.signal("INT");
        let status = child.wait(Duration::from_secs(10));
        let err = std::fs::read_to_string(dir.path().join("child.err")).unwrap();
        assert_eq!(status.code(), Some(130), "{args:?}: {err}");
        assert_eq!(
            std::fs::read(guard.path()).unwrap(),
            holder,
            "{args:?}: the holder's lock is untouched"
        );
    }
    drop(guard);
}
