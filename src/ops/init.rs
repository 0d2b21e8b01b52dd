//! `dmgmt init`: the files a new configuration repository starts from — an example environment
//! and a `.gitignore` — written only where nothing exists yet. Never prints: the CLI renders what
//! was written and what to do next.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind, Result};

/// The example environment's name (`environments/dev.yaml`).
pub(crate) const EXAMPLE_ENV: &str = "dev";

/// The example environment: valid as it is (`dmgmt validate -e dev` passes), commented.
pub(crate) const EXAMPLE: &str = include_str!("init_example.yaml");

/// The key variable the example's `management_key` names.
pub(crate) const EXAMPLE_KEY_VAR: &str = "DESCOPE_MANAGEMENT_KEY_DEV";

/// What `init` writes to `.gitignore`: the per-checkout `state/` and saved plans.
pub(crate) const GITIGNORE: &str = "\
# dmgmt: state, locks, backups, the audit log and emulator data belong to one checkout.
/state/
# Saved plans (`dmgmt plan --out NAME.plan`): they hold tenants' names, domains and attributes.
*.plan
";

/// The files `init` writes, relative to the project folder.
pub(crate) fn files() -> [(PathBuf, &'static str); 2] {
    [
        (
            Path::new("environments").join(format!("{EXAMPLE_ENV}.yaml")),
            EXAMPLE,
        ),
        (PathBuf::from(".gitignore"), GITIGNORE),
    ]
}

/// Writes the starting files into `dir` (created if needed) and returns their paths, relative
/// to `dir`. Refuses, writing nothing, when any of them exists or `environments/` already holds
/// an environment.
pub(crate) fn init(dir: &Path) -> Result<Vec<PathBuf>> {
    let env_dir = dir.join("environments");
    let mut existing: Vec<PathBuf> = files()
        .iter()
        .map(|(rel, _)| rel.clone())
        .filter(|rel| dir.join(rel).symlink_metadata().is_ok())
        .collect();
    if let Ok(entries) = std::fs::read_dir(&env_dir) {
        let mut envs: Vec<PathBuf> = entries
            .flatten()
            .map(|e| Path::new("environments").join(e.file_name()))
            .filter(|p| {
                matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"))
                    && !existing.contains(p)
            })
            .collect();
        envs.sort();
        existing.extend(envs);
    }
    if !existing.is_empty() {
        let names: Vec<String> = existing
            .iter()
            .map(|p| format!("`{}`", p.display()))
            .collect();
        return Err(Error::new(
            ErrorKind::Io,
            format!(
                "`{}` already holds {}: `dmgmt init` never overwrites a file",
                dir.display(),
                names.join(", ")
            ),
        )
        .hint("run it in a new folder (`dmgmt init DIR`), or move those files aside first"));
    }
    let io = |path: &Path| {
        let path = path.to_owned();
        move |e: std::io::Error| {
            Error::new(ErrorKind::Io, format!("cannot write `{}`", path.display())).caused_by(&e)
        }
    };
    std::fs::create_dir_all(&env_dir).map_err(io(&env_dir))?;
    let mut written = Vec::new();
    for (rel, text) in files() {
        let path = dir.join(&rel);
        // `create_new`: a file that appeared since the check is not overwritten either.
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .and_then(|mut f| f.write_all(text.as_bytes()))
            .map_err(io(&path))?;
        written.push(rel);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_the_files_once_and_then_refuses_naming_them() {
        let dir = tempfile::tempdir().unwrap();
        let written = init(dir.path()).unwrap();
        assert_eq!(written.len(), 2);
        let example = std::fs::read_to_string(dir.path().join("environments/dev.yaml")).unwrap();
        assert_eq!(example, EXAMPLE);
        assert!(example.contains(EXAMPLE_KEY_VAR));
        std::fs::write(dir.path().join(".gitignore"), "mine\n").unwrap();

        let err = init(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("`environments/dev.yaml`") && err.contains("`.gitignore`"),
            "{err}"
        );
        let kept = std::fs::read_to_string(dir.path().join(".gitignore")).unwrap();
        assert_eq!(kept, "mine\n", "nothing is overwritten");
    }

    #[test]
    fn refuses_a_folder_that_already_has_environments() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("environments")).unwrap();
        std::fs::write(dir.path().join("environments/prod.yaml"), "x: 1\n").unwrap();
        let err = init(dir.path()).unwrap_err().to_string();
        assert!(err.contains("`environments/prod.yaml`"), "{err}");
        assert!(
            !dir.path().join(".gitignore").exists(),
            "nothing is written"
        );
    }
}
