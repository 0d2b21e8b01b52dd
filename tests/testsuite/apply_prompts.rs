//! `apply`'s confirmation through the real binary: without a terminal and without
//! `--auto-approve` nothing is applied; on a pseudo-terminal a declined prompt applies nothing and
//! a protected environment wants its name typed.

use std::path::Path;

use crate::apply::{CONFIG, ENV, assert_no_changes, mutations, project, state_text};
use crate::live::{Live, env_file};
use crate::support::stderr;

#[test]
fn without_a_terminal_and_without_auto_approve_nothing_is_applied() {
    let live = Live::start();
    let dir = project(CONFIG);
    assert_eq!(
        live.run(dir.path(), &["refresh", "-e", ENV]).status.code(),
        Some(0)
    );
    let before = state_text(dir.path()).expect("a state");
    let out = live.run(dir.path(), &["apply", "-e", ENV]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no terminal to ask on"),
        "{}",
        stderr(&out)
    );
    assert_eq!(mutations(&live), Vec::<String>::new());
    assert_eq!(
        state_text(dir.path()),
        Some(before),
        "the state is byte-identical"
    );
    assert_eq!(last_outcome(dir.path()), "refused");
}

/// The `outcome` of the audit trail's last line.
fn last_outcome(dir: &Path) -> String {
    let text = std::fs::read_to_string(dir.join("state/audit.jsonl")).expect("an audit trail");
    let last: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    last["outcome"].as_str().unwrap_or_default().to_owned()
}

/// Runs `dmgmt --dir DIR ARGS...` on a pseudo-terminal (util-linux `script`), types `answer` once
/// the prompt is shown, and returns the exit code and what the terminal showed.
fn answer_prompt(live: &Live, dir: &Path, args: &[&str], answer: &str) -> (Option<i32>, String) {
    answer_prompt_after(live, dir, args, answer, std::time::Duration::ZERO)
}

/// [`answer_prompt`], typing the answer `think` after the prompt is shown (a user reading the
/// plan).
fn answer_prompt_after(
    live: &Live,
    dir: &Path,
    args: &[&str],
    answer: &str,
    think: std::time::Duration,
) -> (Option<i32>, String) {
    use std::io::{Read, Write};
    use std::sync::{Arc, Mutex};
    let bin = assert_cmd::cargo::cargo_bin("dmgmt");
    let mut line = format!("'{}' --dir '{}'", bin.display(), dir.display());
    for arg in args {
        line.push_str(&format!(" '{arg}'"));
    }
    let mut child = std::process::Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .env("NO_COLOR", "1")
        .env("DMGMT_TEST_KEY", dmgmt::emulator::LOCAL_MANAGEMENT_KEY)
        .env("DMGMT_TEST_URL", live.handle.base_url())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("util-linux `script` provides the terminal");
    let shown = Arc::new(Mutex::new(String::new()));
    let reader = {
        let shown = shown.clone();
        let mut out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = out.read(&mut buf) {
                if n == 0 {
                    break;
                }
                shown
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        })
    };
    let asked = crate::process::eventually(std::time::Duration::from_secs(60), || {
        let text = shown.lock().unwrap();
        text.contains("Only 'yes' will be accepted") || text.contains("Type its name")
    });
    let mut stdin = child.stdin.take().unwrap();
    if asked {
        // The time a user spends at the prompt, which is what the test is about: no condition
        // to wait for.
        std::thread::sleep(think);
        stdin.write_all(format!("{answer}\r").as_bytes()).unwrap();
    }
    let status = crate::process::wait_bounded(&mut child, std::time::Duration::from_secs(60));
    drop(stdin);
    reader.join().unwrap();
    let text = shown.lock().unwrap().clone();
    assert!(asked, "no prompt was shown:\n{text}");
    (status.code(), text)
}

#[test]
fn a_declined_prompt_applies_nothing_and_a_protected_environment_wants_its_name() {
    let live = Live::start();
    let dir = project(CONFIG);
    assert_eq!(
        live.run(dir.path(), &["refresh", "-e", ENV]).status.code(),
        Some(0)
    );
    let before = state_text(dir.path()).expect("a state");
    let (code, shown) = answer_prompt(&live, dir.path(), &["apply", "-e", ENV], "no");
    assert_eq!(code, Some(1), "{shown}");
    assert!(
        shown.contains("apply cancelled; nothing was changed"),
        "{shown}"
    );
    assert!(!shown.contains("expected its name"), "{shown}");
    assert_eq!(mutations(&live), Vec::<String>::new());
    assert_eq!(last_outcome(dir.path()), "cancelled");
    assert_eq!(
        state_text(dir.path()),
        Some(before),
        "the state is byte-identical"
    );

    env_file(dir.path(), ENV, &format!("protected: true\n{CONFIG}"));
    let (code, shown) = answer_prompt(&live, dir.path(), &["apply", "-e", ENV], "yes");
    assert_eq!(code, Some(1), "`yes` is not the name: {shown}");
    assert!(
        shown.contains("`app` is protected, so the prompt expected its name, `app`, not `yes`"),
        "{shown}"
    );
    assert_eq!(mutations(&live), Vec::<String>::new());
    assert_eq!(last_outcome(dir.path()), "cancelled");

    let (code, shown) = answer_prompt(&live, dir.path(), &["apply", "-e", ENV], ENV);
    assert_eq!(code, Some(0), "{shown}");
    assert!(shown.contains("Apply complete!"), "{shown}");
    assert_eq!(last_outcome(dir.path()), "applied");
    assert_no_changes(&live, dir.path());
}

#[test]
fn the_apply_duration_counts_from_the_approval_not_the_prompt() {
    let live = Live::start();
    let dir = project(CONFIG);
    let think = std::time::Duration::from_secs(3);
    let (code, shown) = answer_prompt_after(&live, dir.path(), &["apply", "-e", ENV], "yes", think);
    assert_eq!(code, Some(0), "{shown}");
    // `Apply complete! 7 applied, 0 failed, 0 skipped (7 changes, 0.1 s).`
    let line = shown
        .lines()
        .find(|l| l.contains("Apply complete!"))
        .unwrap_or_else(|| panic!("{shown}"));
    let seconds: f64 = line
        .rsplit(", ")
        .next()
        .and_then(|t| t.strip_suffix(" s)."))
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("{line}"));
    assert!(
        seconds < think.as_secs_f64() - 1.0,
        "the time at the prompt is counted: {line}"
    );
}
