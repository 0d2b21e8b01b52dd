//! Shared helpers: a `dmgmt` command with stable output, and temporary projects.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// The real binary, with colours off and no inherited Descope variables.
pub fn dmgmt() -> Command {
    let mut cmd = Command::cargo_bin("dmgmt").expect("the dmgmt binary is built");
    cmd.env("NO_COLOR", "1");
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("DESCOPE_") {
            cmd.env_remove(key);
        }
    }
    cmd
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A temporary project holding `files` (path relative to the project root, content).
pub fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(dir.path().join("environments")).expect("environments dir");
    for (path, content) in files {
        write(dir.path(), path, content.as_bytes());
    }
    dir
}

/// A temporary copy of the shipped `environments/`.
pub fn shipped_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_dir(
        &repo_root().join("environments"),
        &dir.path().join("environments"),
    );
    dir
}

pub fn write(root: &Path, rel: &str, content: &[u8]) {
    let path = root.join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("parent dir");
    }
    std::fs::write(&path, content).expect("write file");
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("dir entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}

pub fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A small valid environment; tests add the defect they are about.
pub const MINIMAL_ENV: &str = "\
project_id: P2testExampleProjectId00001
management_key: ${env.DESCOPE_MANAGEMENT_KEY_TEST}
permissions:
  - name: billing.read
roles:
  - name: Viewer
    permissions: [billing.read]
tenants:
  - id: acme
    name: Acme Corp
    default_roles: [Viewer]
";
