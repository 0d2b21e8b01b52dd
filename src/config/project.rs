//! Finding the project and its environments (docs/configuration.md).
//!
//! The project root is `--dir`, or the nearest folder from the current one upwards that holds
//! `environments/`. Every `environments/*.yaml` is an environment named after its file stem;
//! shared definitions live in `environments/shared/` and are never environments themselves.

use std::path::{Component, Path, PathBuf};

use crate::error::Error;

/// A dmgmt project on disk.
#[derive(Debug, Clone)]
pub struct Project {
    root: PathBuf,
}

/// Why the project or an environment could not be found.
#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    #[error("no `environments/` folder in `{}` or any folder above it", .0.display())]
    NotFound(PathBuf),
    #[error("`{}` has no `environments/` folder", .0.display())]
    NoEnvironments(PathBuf),
    #[error("cannot read `{}`", .path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("unknown environment `{name}`")]
    UnknownEnvironment {
        name: String,
        known: Vec<String>,
        /// `environments/NAME.yml` exists: the right name, the wrong extension.
        misnamed: Option<String>,
    },
}

impl From<ProjectError> for Error {
    fn from(err: ProjectError) -> Self {
        let base = Error::config(err.to_string());
        match &err {
            ProjectError::NotFound(_) => {
                base.hint("run dmgmt inside a project, or pass `--dir PATH`")
            }
            ProjectError::NoEnvironments(_) => {
                base.hint("create `environments/<name>.yaml`, or point `--dir` at a project")
            }
            ProjectError::Io { source, .. } => base.caused_by(source),
            ProjectError::UnknownEnvironment {
                name,
                known,
                misnamed,
            } => {
                if let Some(file) = misnamed {
                    return base.hint(yml_hint(file));
                }
                let base = match super::source::did_you_mean(name, known.iter().map(String::as_str))
                {
                    Some(best) => base.hint(format!("did you mean `{best}`?")),
                    None => base,
                };
                if known.is_empty() {
                    base.hint("there are no environments yet: create `environments/<name>.yaml`")
                } else {
                    base.hint(format!("known environments: {}", known.join(", ")))
                }
            }
        }
    }
}

/// What to say about `environments/NAME.yml` (which is never read).
pub(crate) fn yml_hint(file: &str) -> String {
    let yaml = file.strip_suffix(".yml").unwrap_or(file);
    format!(
        "`environments/{file}` is ignored: only `.yaml` files are environments; rename it to `environments/{yaml}.yaml`"
    )
}

impl Project {
    const ENV_DIR: &'static str = "environments";
    const STATE_DIR: &'static str = "state";

    /// Uses `dir` if given, else searches upwards from `cwd`.
    pub fn discover(dir: Option<&Path>, cwd: &Path) -> Result<Project, ProjectError> {
        if let Some(dir) = dir {
            let root = if dir.is_absolute() {
                dir.to_path_buf()
            } else {
                cwd.join(dir)
            };
            if !root.join(Self::ENV_DIR).is_dir() {
                return Err(ProjectError::NoEnvironments(root));
            }
            return Ok(Project { root });
        }
        cwd.ancestors()
            .find(|p| p.join(Self::ENV_DIR).is_dir())
            .map(|p| Project {
                root: p.to_path_buf(),
            })
            .ok_or_else(|| ProjectError::NotFound(cwd.to_path_buf()))
    }

    #[cfg(test)]
    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    pub(crate) fn env_dir(&self) -> PathBuf {
        self.root.join(Self::ENV_DIR)
    }

    /// `state/`: state files, locks, backups, the audit log and emulator data (docs/reference.md,
    /// "State and locking"). The one place its path is built.
    pub(crate) fn state_dir(&self) -> PathBuf {
        self.root.join(Self::STATE_DIR)
    }

    /// The file of environment `name` (which need not exist).
    pub(crate) fn env_file(&self, name: &str) -> PathBuf {
        self.env_dir().join(format!("{name}.yaml"))
    }

    /// Names of every environment, sorted.
    pub(crate) fn environments(&self) -> Result<Vec<String>, ProjectError> {
        let dir = self.env_dir();
        let read = std::fs::read_dir(&dir).map_err(|source| ProjectError::Io {
            path: dir.clone(),
            source,
        })?;
        let mut names = Vec::new();
        for entry in read {
            let entry = entry.map_err(|source| ProjectError::Io {
                path: dir.clone(),
                source,
            })?;
            let path = entry.path();
            if !path.is_file() || path.extension().and_then(|e| e.to_str()) != Some("yaml") {
                continue;
            }
            if let Some(stem) = path.file_stem().and_then(|s| s.to_str())
                && !stem.starts_with('.')
            {
                names.push(stem.to_owned());
            }
        }
        names.sort();
        Ok(names)
    }

    /// Checks that `name` is an environment, listing the known ones if not.
    pub(crate) fn require_environment(&self, name: &str) -> Result<(), ProjectError> {
        let known = self.environments()?;
        if known.iter().any(|k| k == name) {
            Ok(())
        } else {
            let yml = format!("{name}.yml");
            let misnamed = self.env_dir().join(&yml).is_file().then_some(yml);
            Err(ProjectError::UnknownEnvironment {
                name: name.to_owned(),
                known,
                misnamed,
            })
        }
    }

    /// File names of top-level `environments/*.yml` files, sorted: almost certainly meant as
    /// environments, but only `.yaml` is read (one rule, so `envs` and `-e` never disagree).
    pub(crate) fn ignored_yml_files(&self) -> Vec<String> {
        let Ok(read) = std::fs::read_dir(self.env_dir()) else {
            return Vec::new();
        };
        let mut names: Vec<String> = read
            .filter_map(|entry| entry.ok())
            .map(|entry| entry.path())
            .filter(|path| {
                path.is_file() && path.extension().and_then(|e| e.to_str()) == Some("yml")
            })
            .filter_map(|path| path.file_name()?.to_str().map(str::to_owned))
            .filter(|name| !name.starts_with('.'))
            .collect();
        names.sort();
        names
    }

    /// Resolves a path written in config (relative to `environments/`), refusing one that leaves
    /// the folder or is absolute.
    pub(crate) fn config_path(&self, written: &str) -> Option<PathBuf> {
        let rel = Path::new(written);
        let mut out = self.env_dir();
        for part in rel.components() {
            match part {
                Component::Normal(p) => out.push(p),
                Component::CurDir => {}
                Component::ParentDir | Component::RootDir | Component::Prefix(_) => return None,
            }
        }
        Some(out)
    }

    /// How a file is shown in messages: relative to the project root, `/`-separated.
    pub(crate) fn display(&self, path: &Path) -> String {
        let rel = path.strip_prefix(&self.root).unwrap_or(path);
        rel.components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project() -> (tempfile::TempDir, Project) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("environments/shared")).unwrap();
        for f in [
            "prod.yaml",
            "dev.yaml",
            "shared/common.yaml",
            "notes.md",
            ".hidden.yaml",
        ] {
            std::fs::write(dir.path().join("environments").join(f), "").unwrap();
        }
        let project = Project::discover(Some(dir.path()), Path::new("/")).unwrap();
        (dir, project)
    }

    #[test]
    fn environments_are_the_top_level_yaml_files() {
        let (_dir, project) = project();
        assert_eq!(project.environments().unwrap(), ["dev", "prod"]);
    }

    #[test]
    fn a_yml_file_is_not_an_environment_but_is_named_when_asked_for() {
        let (dir, project) = project();
        std::fs::write(dir.path().join("environments/qa.yml"), "").unwrap();
        assert_eq!(project.environments().unwrap(), ["dev", "prod"]);
        assert_eq!(project.ignored_yml_files(), ["qa.yml"]);
        let err = Error::from(project.require_environment("qa").unwrap_err());
        assert_eq!(
            err.hints(),
            [
                "`environments/qa.yml` is ignored: only `.yaml` files are environments; rename it to `environments/qa.yaml`"
            ]
        );
    }

    #[test]
    fn discovery_walks_up_to_the_folder_holding_environments() {
        let (dir, _) = project();
        let deep = dir.path().join("environments/shared");
        let found = Project::discover(None, &deep).unwrap();
        assert_eq!(found.root(), dir.path());
        let empty = tempfile::tempdir().unwrap();
        assert!(matches!(
            Project::discover(None, empty.path()),
            Err(ProjectError::NotFound(_))
        ));
        assert!(matches!(
            Project::discover(Some(empty.path()), Path::new("/")),
            Err(ProjectError::NoEnvironments(_))
        ));
    }

    #[test]
    fn unknown_environments_list_the_known_ones() {
        let (_dir, project) = project();
        let err: Error = project.require_environment("prd").unwrap_err().into();
        assert_eq!(err.message(), "unknown environment `prd`");
        assert_eq!(
            err.hints(),
            ["did you mean `prod`?", "known environments: dev, prod"]
        );
    }

    #[test]
    fn config_paths_stay_inside_environments() {
        let (_dir, project) = project();
        assert!(
            project
                .config_path("flows/a.json")
                .unwrap()
                .ends_with("environments/flows/a.json")
        );
        assert_eq!(project.config_path("../secrets.json"), None);
        assert_eq!(project.config_path("/etc/passwd"), None);
    }
}
