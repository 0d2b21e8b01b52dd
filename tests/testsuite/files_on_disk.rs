//! What dmgmt leaves on disk, through the real binary: `state/` kept out of git and readable only
//! by its owner, and an emulator data file that only one process uses at a time and that holds
//! the whole project once its emulator has stopped.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use crate::apply::{CONFIG, ENV, apply, project};
use crate::live::Live;
use crate::process::{Reap, wait_bounded};
use crate::support::{dmgmt, files_under, stderr, write};

const LOCAL: &str = "project_id: P2testExampleProjectId00001\nemulator: true\ntenants:\n  - {id: acme, name: Acme}\n";

/// `dmgmt emulator --data DATA` in the background, once it listens.
fn standalone_emulator(data: &Path) -> Reap {
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("dmgmt"))
        .args(["emulator", "--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.starts_with("listening on "), "{first:?}");
    Reap(child)
}

#[test]
fn an_emulator_data_file_is_used_by_one_process_at_a_time() {
    let dir = crate::support::project(&[("environments/local.yaml", LOCAL)]);
    let data = dir.path().join("state/emulator/local.json");
    let mut running = standalone_emulator(&data);

    // `apply -e local` would run its own emulator on the same file: refused, naming it.
    let out = dmgmt()
        .arg("--dir")
        .arg(dir.path())
        .args(["apply", "-e", "local", "--auto-approve"])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("emulator data `{}` is in use", data.display())),
        "{err}"
    );
    // So is a second standalone emulator.
    let mut second = std::process::Command::new(assert_cmd::cargo::cargo_bin("dmgmt"))
        .args(["emulator", "--listen", "127.0.0.1:0", "--data"])
        .arg(&data)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = wait_bounded(&mut second, Duration::from_secs(20));
    let mut err = String::new();
    std::io::Read::read_to_string(&mut second.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(err.contains("is in use"), "{err}");

    // Once the emulator has stopped, the environment's own emulator may use the file.
    running.signal("TERM");
    assert!(running.wait(Duration::from_secs(10)).success());
    let out = dmgmt()
        .arg("--dir")
        .arg(dir.path())
        .args(["apply", "-e", "local", "--auto-approve"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[cfg(unix)]
#[test]
fn state_is_kept_out_of_git_and_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let live = Live::start();
    let dir = project(CONFIG);
    let root = dir.path();
    write(root, "environments/local.yaml", LOCAL.as_bytes());
    let out = apply(&live, root, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // A second apply that changes something: the state's `.backup` and a second backup.
    crate::live::env_file(
        root,
        ENV,
        &format!("{CONFIG}  - {{id: gamma, name: Gamma}}\n"),
    );
    let out = apply(&live, root, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = live.run(root, &["apply", "-e", "local", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let plan = root.join("state/app.plan");
    let out = live.run(root, &["plan", "-e", ENV, "--out", plan.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let state = root.join("state");
    let ignore = std::fs::read_to_string(state.join(".gitignore")).unwrap();
    assert!(ignore.lines().any(|l| l.starts_with('#')), "{ignore:?}");
    assert!(ignore.lines().any(|l| l.trim() == "*"), "{ignore:?}");

    let files = files_under(&state);
    let rel = |p: &Path| p.strip_prefix(&state).unwrap().display().to_string();
    let names: Vec<String> = files.iter().map(|p| rel(p)).collect();
    for expected in [
        "app.json",
        "app.json.backup",
        "audit.jsonl",
        "app.plan",
        "emulator/local.json",
    ] {
        assert!(names.iter().any(|n| n == expected), "{expected}: {names:?}");
    }
    assert!(
        names
            .iter()
            .filter(|n| n.ends_with("manifest.json"))
            .count()
            >= 2,
        "{names:?}"
    );
    let mut open = Vec::new();
    for path in files {
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            open.push(format!("{} {mode:o}", rel(&path)));
        }
        let mut folder = path.parent();
        while let Some(f) = folder.filter(|f| f.starts_with(&state)) {
            let mode = std::fs::metadata(f).unwrap().permissions().mode() & 0o777;
            if mode != 0o700 {
                open.push(format!("{}/ {mode:o}", f.display()));
            }
            folder = f.parent();
        }
    }
    open.sort();
    open.dedup();
    assert_eq!(open, Vec::<String>::new(), "readable by others");
}

/// Once an emulator has stopped — a command's embedded one when the command ends, `dmgmt
/// emulator` on SIGTERM — its data file alone holds every change: a copy of it, without its
/// journal, is the same project (the README's adoption walkthrough copies it so).
#[test]
fn an_emulator_data_file_alone_holds_the_project_once_the_emulator_has_stopped() {
    const ID: &str = "P2testExampleProjectId00001";
    let copy_env = format!("project_id: {ID}\nemulator: true\n");
    let dir = crate::support::project(&[
        ("environments/local.yaml", LOCAL),
        ("environments/copy.yaml", &copy_env),
        ("environments/again.yaml", &copy_env),
    ]);
    let root = dir.path();
    let emulator = root.join("state/emulator");
    let run = |args: &[&str]| {
        dmgmt()
            .arg("--dir")
            .arg(root)
            .args(args)
            .env(
                "DMGMT_TEST_EMULATOR_KEY",
                dmgmt::emulator::LOCAL_MANAGEMENT_KEY,
            )
            .output()
            .unwrap()
    };
    let unmanaged = |env: &str| {
        let out = run(&["import", "-e", env]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        crate::support::stdout(&out)
    };

    // The embedded emulator of `apply -e local`.
    let out = run(&["apply", "-e", "local", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    std::fs::copy(emulator.join("local.json"), emulator.join("copy.json")).unwrap();
    assert!(unmanaged("copy").contains("+ tenant.acme"));

    // `dmgmt emulator --data` serving the same file, a change made through it, then SIGTERM.
    let mut served = std::process::Command::new(assert_cmd::cargo::cargo_bin("dmgmt"))
        .args([
            "emulator",
            "--listen",
            "127.0.0.1:0",
            "--project-id",
            ID,
            "--data",
        ])
        .arg(emulator.join("local.json"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(served.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let url = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_owned();
    let mut served = Reap(served);
    write(
        root,
        "environments/served.yaml",
        format!(
            "project_id: {ID}\nbase_url: {url}\nmanagement_key: ${{env.DMGMT_TEST_EMULATOR_KEY}}\ntenants:\n  - {{id: acme, name: Acme}}\n  - {{id: beta, name: Beta}}\n"
        )
        .as_bytes(),
    );
    let out = run(&["apply", "-e", "served", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    served.signal("TERM");
    assert!(served.wait(Duration::from_secs(10)).success());
    std::fs::copy(emulator.join("local.json"), emulator.join("again.json")).unwrap();
    assert!(unmanaged("again").contains("+ tenant.beta"));
}
