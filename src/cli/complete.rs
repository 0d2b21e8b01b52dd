//! Shell completion, dynamic: the shell asks `dmgmt` itself at each Tab (clap_complete's
//! `CompleteEnv`, `COMPLETE=SHELL dmgmt -- WORDS...`), so environments and backup ids are those
//! of the project as it is now, not as it was when the script was generated. `dmgmt completions
//! SHELL` prints the registration script that does the asking.
//!
//! The project is found from the current folder (as without `--dir`): a completer sees the word
//! being completed, not the rest of the command line.

use clap::CommandFactory;
use clap_complete::engine::CompletionCandidate;
use clap_complete::env::{CompleteEnv, Shells};

use super::args::Cli;
use crate::config::Project;

/// The environment variable the registration scripts set to ask for completions.
const VAR: &str = "COMPLETE";

/// Answers a completion request (`COMPLETE` set) and exits; returns at once otherwise. Called
/// first thing in `main`, before anything is printed.
pub fn complete_if_asked() {
    CompleteEnv::with_factory(Cli::command).var(VAR).complete();
}

/// The registration script for `shell`: sourced from the shell's start-up file, it completes
/// every word by asking `dmgmt` (found on `PATH` then).
pub(super) fn registration(shell: clap_complete::Shell) -> Result<String, std::io::Error> {
    let name = shell.to_string();
    let shells = Shells::builtins();
    let completer = shells.completer(&name).ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            format!("no completion for {name}"),
        )
    })?;
    let mut out = Vec::new();
    completer.write_registration(VAR, "dmgmt", "dmgmt", "dmgmt", &mut out)?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

fn current_project() -> Option<Project> {
    let cwd = std::env::current_dir().ok()?;
    Project::discover(None, &cwd).ok()
}

/// The environments of the project: `-e`, and both arguments of `diff`.
pub(super) fn environments() -> Vec<CompletionCandidate> {
    current_project()
        .and_then(|p| p.environments().ok())
        .unwrap_or_default()
        .into_iter()
        .map(CompletionCandidate::new)
        .collect()
}

/// The backups of every environment, newest first, each with its environment and trigger as
/// help: `restore`'s `BACKUP_ID` (the `-e` given is not known to a completer).
pub(super) fn backups() -> Vec<CompletionCandidate> {
    let Some(project) = current_project() else {
        return Vec::new();
    };
    let state_dir = project.state_dir();
    let mut out = Vec::new();
    for env in project.environments().unwrap_or_default() {
        let list = crate::state::backup::list(&state_dir, &env).unwrap_or_default();
        for b in list.into_iter().rev() {
            let help = format!("{env}, {}", b.trigger);
            out.push(CompletionCandidate::new(b.id).help(Some(help.into())));
        }
    }
    out
}
