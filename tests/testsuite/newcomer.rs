//! Small things a new user trips over, through the real binary: how to recover a corrupt state,
//! `plan --out -`, settings an emulated environment ignores, `.yml` files, completing `-e`, `--help` headings, the
//! hint of a refused key, and README references that must exist.

use crate::support::{dmgmt, project, stderr, stdout, write};

const LOCAL: &str = "project_id: P2testExampleProjectId00001\nemulator: true\n";

#[test]
fn a_corrupt_state_hints_at_its_backup_with_the_exact_command_not_at_git() {
    let dir = project(&[("environments/dev.yaml", LOCAL)]);
    write(dir.path(), "state/dev.json", b"{ not json");
    let out = dmgmt()
        .args(["--dir"])
        .arg(dir.path())
        .args(["state", "list", "-e", "dev"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(!err.contains("git checkout"), "state/ is not in git: {err}");
    assert!(
        err.contains("hint: there is no `") && err.contains("dev.json.backup` to restore from"),
        "{err}"
    );

    write(dir.path(), "state/dev.json.backup", b"{}");
    let out = dmgmt()
        .args(["--dir"])
        .arg(dir.path())
        .args(["state", "list", "-e", "dev"])
        .output()
        .unwrap();
    let err = stderr(&out);
    let state = dir.path().join("state/dev.json");
    let backup = dir.path().join("state/dev.json.backup");
    assert!(
        err.contains(&format!("`cp {} {}`", backup.display(), state.display())),
        "{err}"
    );
    assert!(!err.contains("git checkout"), "{err}");
}
