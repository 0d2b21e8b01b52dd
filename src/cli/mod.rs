//! The command line: arguments, one file per command, and all printing. Commands are thin: they
//! resolve settings, call the layer that does the work, and render its result.

mod apply;
mod args;
mod audit;
mod backup;
mod changes;
mod complete;
mod diff;
mod doc_summary;
mod emulator;
mod envs;
mod import;
mod init;
mod plan;
mod refresh;
mod render;
mod restore;
mod shell;
mod state;
mod validate;

use std::ffi::OsString;

use clap::Parser;

pub(crate) use args::Cli;
use args::Command;
pub use complete::complete_if_asked;
use shell::Shell;

use crate::config::{Loaded, Project};
use crate::error::{Error, Result, exit};

/// Parses `args` and runs the command; returns the process exit code (docs/reference.md, "Exit
/// codes").
pub fn run<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            if let Some(hint) = missing_env_hint(&err, &args) {
                eprintln!("{hint}");
            }
            // Help and version go to stdout and succeed; anything else is a usage error.
            return if err.use_stderr() {
                exit::USAGE
            } else {
                exit::SUCCESS
            };
        }
    };
    let shell = Shell::new(cli.global.color, cli.global.quiet, cli.global.verbose);
    let result = execute(cli, &shell);
    // What reading the state ignored of a journal a stopped run left (a torn last line).
    for note in crate::state::journal::take_notes() {
        shell.warn(note);
    }
    match result {
        Ok(code) => code,
        Err(err) => {
            shell.error(&err);
            err.exit_code()
        }
    }
}

/// A command run without its `-e ENV`: the environments it could be given, when a project is
/// found (from `--dir`, else the current folder).
fn missing_env_hint(err: &clap::Error, args: &[OsString]) -> Option<String> {
    if err.kind() != clap::error::ErrorKind::MissingRequiredArgument
        || !err.to_string().contains("--env <ENV>")
    {
        return None;
    }
    let dir = args.iter().enumerate().find_map(|(i, a)| {
        let a = a.to_str()?;
        match a.strip_prefix("--dir=") {
            Some(d) => Some(std::path::PathBuf::from(d)),
            None if a == "--dir" => args.get(i + 1).map(std::path::PathBuf::from),
            None => None,
        }
    });
    let cwd = std::env::current_dir().ok()?;
    let envs = Project::discover(dir.as_deref(), &cwd)
        .ok()?
        .environments()
        .ok()?;
    (!envs.is_empty()).then(|| {
        format!(
            "The environments of this project: {} (`dmgmt envs` shows their projects).",
            envs.join(", ")
        )
    })
}

fn execute(cli: Cli, shell: &Shell) -> Result<i32> {
    match cli.command {
        Command::Init(args) => init::run(&args, cli.global.dir.as_deref(), shell),
        Command::Envs(args) => envs::run(&project(&cli.global)?, &args, shell),
        Command::Validate(args) => validate::run(&project(&cli.global)?, &args, shell),
        Command::Plan(args) => plan::run(&project(&cli.global)?, &args, shell),
        Command::Apply(args) => apply::run(&project(&cli.global)?, &args, shell),
        Command::Refresh(args) => refresh::run(&project(&cli.global)?, &args, shell),
        Command::Import(args) => import::run(&project(&cli.global)?, &args, shell),
        Command::Diff(args) => diff::run(&project(&cli.global)?, &args, shell),
        Command::Backup(args) => backup::backup(&project(&cli.global)?, &args, shell),
        Command::Backups(args) => backup::backups(&project(&cli.global)?, &args, shell),
        Command::Restore(args) => restore::run(&project(&cli.global)?, &args, shell),
        Command::Audit(args) => audit::run(&project(&cli.global)?, &args, shell),
        Command::State(command) => state::run(&project(&cli.global)?, &command, shell),
        Command::Unlock(args) => state::unlock_cmd(&project(&cli.global)?, &args, shell),
        Command::Schema(args) => {
            let role = if args.shared {
                crate::config::schema::FileRole::Shared
            } else {
                crate::config::schema::FileRole::Environment
            };
            let schema = crate::config::schema::json_schema(role);
            let text = serde_json::to_string_pretty(&schema)
                .map_err(|e| Error::internal("cannot print the schema").caused_by(&e))?;
            shell.out(text);
            Ok(exit::SUCCESS)
        }
        Command::Emulator(args) => {
            emulator::run(args)?;
            Ok(exit::SUCCESS)
        }
        Command::Completions(args) => {
            let script = complete::registration(args.shell)
                .map_err(|e| Error::internal("cannot write the completion script").caused_by(&e))?;
            shell.out(script.trim_end());
            Ok(exit::SUCCESS)
        }
    }
}

fn project(global: &args::GlobalArgs) -> Result<Project> {
    let cwd = std::env::current_dir()
        .map_err(|e| Error::config("cannot read the current folder").caused_by(&e))?;
    Ok(Project::discover(global.dir.as_deref(), &cwd)?)
}

/// Loads environments with the real process environment.
fn load(project: &Project, name: &str) -> Loaded {
    let lookup = |var: &str| std::env::var(var).ok();
    crate::config::load(project, name, &lookup)
}

/// Loads one environment for a command that talks to Descope: every problem is printed and the
/// command stops before any call.
fn desired_state(
    project: &Project,
    name: &str,
    shell: &Shell,
) -> Result<crate::model::DesiredState> {
    project.require_environment(name)?;
    let loaded = load(project, name);
    let problems: Vec<_> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.severity != crate::config::Severity::Note)
        .cloned()
        .collect();
    shell.diagnostics(&loaded.sources, &problems);
    let errors = loaded.error_count();
    loaded.desired.ok_or_else(|| {
        Error::config(format!(
            "environment `{name}` is invalid: {}",
            plural(errors, "error")
        ))
        .hint("fix the problems above; nothing was sent to Descope")
    })
}

/// Where operations run: the project's `state/` folder, the environment lookup, the lock timeout.
fn context<'a>(
    project: &Project,
    env: &'a (dyn Fn(&str) -> Option<String> + Sync),
    lock_timeout: std::time::Duration,
    shell: &Shell,
) -> crate::ops::Context<'a> {
    crate::ops::Context {
        state_dir: project.state_dir(),
        env,
        lock_timeout,
        http_log: Some(shell.http_log()),
    }
}

/// Runs async work to its end on a runtime of its own. A prompt or lock wait still running on the
/// blocking pool does not hold up the exit.
fn block_on<T>(work: impl std::future::Future<Output = T>) -> Result<T> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::internal("cannot start the async runtime").caused_by(&e))?;
    let result = runtime.block_on(work);
    runtime.shutdown_background();
    Ok(result)
}

/// Runs one command's async work to its end, or until Ctrl-C (exit 130). On Ctrl-C the work is
/// dropped, and with it any state lock guard it holds, which removes the lock file; a state write
/// is synchronous, so it is either done or not begun. Ctrl-C is watched before the
/// work starts, so from then on it never kills the process outright with a lock held.
fn interruptible<T>(work: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    block_on(async {
        tokio::select! {
            biased;
            () = changes::ctrl_c() => Err(Error::new(
                crate::ErrorKind::Interrupted,
                "interrupted by Ctrl-C; nothing was written",
            )),
            result = work => result,
        }
    })?
}

/// Says so on stderr when the command is about to wait (`--lock-timeout`) for a lock someone
/// holds, so a wait never looks like a hang.
fn announce_lock_wait(shell: &Shell, ctx: &crate::ops::Context<'_>, environment: &str) {
    if ctx.lock_timeout.is_zero() {
        return;
    }
    let path = crate::state::lock_path(&ctx.state_dir, environment);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return;
    };
    let holder = serde_json::from_str::<crate::state::LockInfo>(&text)
        .map_or_else(|_| "another process".to_owned(), |info| info.describe());
    shell.status(format!(
        "The state of `{environment}` is locked by {holder}; waiting up to {} s for it...",
        ctx.lock_timeout.as_secs()
    ));
}

/// A command's outcome, once it is said when its audit line could not be appended (not fatal:
/// the command itself is done).
fn audited<T>(shell: &Shell, recorded: crate::ops::Recorded<T>) -> T {
    if let Some(e) = recorded.audit {
        shell.error(&e);
    }
    recorded.value
}

/// "1 error", "3 errors".
fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}
