//! The command line, as clap sees it. Parsing only: what each command does lives beside it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use clap_complete::engine::ArgValueCandidates;

/// `--parallelism`'s upper bound: the configuration's (`parallelism` at most 32).
const MAX_PARALLELISM: i64 = crate::model::DesiredState::MAX_PARALLELISM as i64;

#[derive(Debug, Parser)]
#[command(
    name = "dmgmt",
    version,
    about = "Declarative plan/apply for Descope projects: tenants, roles, permissions, flows and theme as code"
)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: GlobalArgs,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Shown under their own heading in every `--help`, apart from the command's own options.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub(crate) struct GlobalArgs {
    /// Project root (default: the current folder or the nearest parent holding `environments/`)
    #[arg(long, global = true, value_name = "PATH")]
    pub(crate) dir: Option<PathBuf>,
    /// When to colour output (`NO_COLOR` is honoured with `auto`)
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub(crate) color: ColorChoice,
    /// More detail on stderr (-vv for even more)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,
    /// Only errors on stderr
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub(crate) quiet: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Start a configuration repository: an example environment and a .gitignore
    Init(InitArgs),
    /// List the environments, their projects and what they declare
    Envs(EnvsArgs),
    /// Check configuration and templates offline (no credentials needed)
    Validate(ValidateArgs),
    /// Preview every change: refresh live state (without writing it) and diff it against the config
    Plan(PlanArgs),
    /// Apply the changes a plan shows, after confirmation (or a saved plan, which is its own)
    Apply(ApplyArgs),
    /// Read live state, report drift since the last state, and record it
    Refresh(RefreshArgs),
    /// Show what is live but unmanaged; with --write, add it to the configuration and adopt it
    Import(ImportArgs),
    /// Compare two environments: their configuration, or with --live their live projects
    Diff(DiffArgs),
    /// Back up the whole live project (every object, managed or not) into `state/backups/ENV/`
    Backup(BackupArgs),
    /// List an environment's backups, or prune them by its retention policy
    Backups(BackupsArgs),
    /// Return the live project to a backup's content, after showing the plan and confirmation
    Restore(RestoreArgs),
    /// Show the audit trail (`state/audit.jsonl`), newest first
    Audit(AuditArgs),
    /// Inspect or edit the state file (`list`, `show ADDR`, `rm ADDR`)
    #[command(subcommand)]
    State(StateCommand),
    /// Break a stale state lock, given its id
    Unlock(UnlockArgs),
    /// Print the JSON Schema of environment files, for editor support
    Schema(SchemaArgs),
    /// Run the local Descope-compatible management API server
    Emulator(super::emulator::EmulatorArgs),
    /// Print a shell completion script; it asks dmgmt at each Tab, so environments and backup
    /// ids are the project's as they are then
    Completions(CompletionsArgs),
}

#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    /// The folder to start in (created if needed; default: `--dir`, or the current folder)
    #[arg(value_name = "DIR")]
    pub(crate) dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct EnvsArgs {
    /// Print one versioned JSON document instead of a table
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("target").required(true).args(["env", "all"])))]
pub(crate) struct ValidateArgs {
    /// The environment to check
    #[arg(short = 'e', long = "env", value_name = "ENV", add = ArgValueCandidates::new(super::complete::environments))]
    pub(crate) env: Option<String>,
    /// Check every environment
    #[arg(long)]
    pub(crate) all: bool,
    /// Print one versioned JSON document instead of text
    #[arg(long)]
    pub(crate) json: bool,
}

/// `-e ENV`, shared by every command that works on one environment.
#[derive(Debug, Args)]
pub(crate) struct EnvArg {
    /// The environment (a file stem in `environments/`)
    #[arg(short = 'e', long = "env", value_name = "ENV", add = ArgValueCandidates::new(super::complete::environments))]
    pub(crate) env: String,
}

#[derive(Debug, Args)]
pub(crate) struct PlanArgs {
    #[command(flatten)]
    pub(crate) env: EnvArg,
    /// Save the plan to FILE, for `apply` or review (`-`: print it on stdout, the plan text on stderr)
    #[arg(long, value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,
    /// Only this change and what it depends on (repeatable), e.g. `tenant.acme`
    #[arg(long, value_name = "ADDR")]
    pub(crate) target: Vec<crate::model::ResourceAddr>,
    /// Only show drift since the last state; plan no change
    #[arg(long)]
    pub(crate) refresh_only: bool,
    /// Exit 2 when there are changes (0: none, 1: error)
    #[arg(long)]
    pub(crate) detailed_exitcode: bool,
    /// Print the plan as one versioned JSON document
    #[arg(long)]
    pub(crate) json: bool,
    /// Show the whole diff of flows and the theme, not the first lines
    #[arg(long)]
    pub(crate) full_diff: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ApplyArgs {
    #[command(flatten)]
    pub(crate) env: EnvArg,
    /// A plan saved with `dmgmt plan --out FILE`: applied exactly, without asking again, and
    /// refused if anything it was computed from changed since
    #[arg(value_name = "PLAN_FILE")]
    pub(crate) plan_file: Option<PathBuf>,
    /// Apply without asking for confirmation
    #[arg(long)]
    pub(crate) auto_approve: bool,
    /// Allow deletes in a protected environment and of `prevent_destroy` resources
    #[arg(long)]
    pub(crate) allow_delete: bool,
    /// In a protected environment, apply a plan that re-creates most managed objects (gone from
    /// the live project) without asking for the environment's name
    #[arg(long)]
    pub(crate) allow_mass_recreate: bool,
    /// Only this change and what it depends on (repeatable), e.g. `tenant.acme`
    #[arg(long, value_name = "ADDR", conflicts_with = "plan_file")]
    pub(crate) target: Vec<crate::model::ResourceAddr>,
    /// Calls in flight at once (default: the environment's `parallelism`)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=MAX_PARALLELISM))]
    pub(crate) parallelism: Option<u32>,
    /// Print what was applied as one versioned JSON document
    #[arg(long)]
    pub(crate) json: bool,
    #[command(flatten)]
    pub(crate) lock: LockArgs,
}

#[derive(Debug, Args)]
pub(crate) struct RefreshArgs {
    #[command(flatten)]
    pub(crate) env: EnvArg,
    /// Exit 2 when drift was found (0: none, 1: error)
    #[arg(long)]
    pub(crate) detailed_exitcode: bool,
    /// Print the drift report as one versioned JSON document
    #[arg(long)]
    pub(crate) json: bool,
    /// Record that most of the managed objects are gone (refused without it: a wrong
    /// `project_id` or `base_url` looks the same)
    #[arg(long)]
    pub(crate) allow_mass_forget: bool,
    #[command(flatten)]
    pub(crate) lock: LockArgs,
}

#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    #[command(flatten)]
    pub(crate) env: EnvArg,
    /// Write the configuration (a generated included file and templates) and adopt the objects
    /// into the state; without it, only show what would be imported
    #[arg(long)]
    pub(crate) write: bool,
    #[command(flatten)]
    pub(crate) lock: LockArgs,
}

#[derive(Debug, Args)]
pub(crate) struct DiffArgs {
    /// The first environment
    #[arg(value_name = "ENV_A", add = ArgValueCandidates::new(super::complete::environments))]
    pub(crate) a: String,
    /// The second environment
    #[arg(value_name = "ENV_B", add = ArgValueCandidates::new(super::complete::environments))]
    pub(crate) b: String,
    /// Compare the live projects (each through its own credentials) instead of the configuration
    #[arg(long)]
    pub(crate) live: bool,
    /// Exit 2 when the environments differ (0: equal, 1: error)
    #[arg(long)]
    pub(crate) detailed_exitcode: bool,
    /// Print the differences as one versioned JSON document
    #[arg(long)]
    pub(crate) json: bool,
    /// Show the whole diff of flows and the theme, not the first lines
    #[arg(long)]
    pub(crate) full_diff: bool,
}

#[derive(Debug, Args)]
pub(crate) struct BackupArgs {
    #[command(flatten)]
    pub(crate) env: EnvArg,
    #[command(flatten)]
    pub(crate) lock: LockArgs,
}

#[derive(Debug, Args)]
pub(crate) struct BackupsArgs {
    #[command(flatten)]
    pub(crate) env: EnvArg,
    /// Remove the backups the environment's retention policy (`backups:`) no longer keeps
    #[arg(long)]
    pub(crate) prune: bool,
    /// Print one versioned JSON document instead of a table
    #[arg(long)]
    pub(crate) json: bool,
    #[command(flatten)]
    pub(crate) lock: LockArgs,
}

#[derive(Debug, Args)]
pub(crate) struct RestoreArgs {
    #[command(flatten)]
    pub(crate) env: EnvArg,
    /// The backup to restore, as `dmgmt backups -e ENV` lists it (e.g. `20261129T152000Z`)
    #[arg(value_name = "BACKUP_ID", add = ArgValueCandidates::new(super::complete::backups))]
    pub(crate) backup_id: String,
    /// Restore without asking for confirmation
    #[arg(long)]
    pub(crate) auto_approve: bool,
    /// Allow deletes in a protected environment and of `prevent_destroy` resources
    #[arg(long)]
    pub(crate) allow_delete: bool,
    /// Also delete objects created since the backup that dmgmt does not manage (complete backups
    /// only: `dmgmt backup` or `pre-restore`, never a `pre-apply` one)
    #[arg(long)]
    pub(crate) delete_unmanaged: bool,
    /// Only this object and what it depends on (repeatable), e.g. `tenant.acme`
    #[arg(long, value_name = "ADDR")]
    pub(crate) target: Vec<crate::model::ResourceAddr>,
    /// Calls in flight at once (default: the environment's `parallelism`)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=MAX_PARALLELISM))]
    pub(crate) parallelism: Option<u32>,
    #[command(flatten)]
    pub(crate) lock: LockArgs,
}

#[derive(Debug, Args)]
pub(crate) struct AuditArgs {
    /// Only this environment's lines
    #[arg(short = 'e', long = "env", value_name = "ENV", add = ArgValueCandidates::new(super::complete::environments))]
    pub(crate) env: Option<String>,
    /// Only lines newer than this, e.g. `2h`, `3d`, `1w` (units: ms, s, m, h, d, w)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub(crate) since: Option<std::time::Duration>,
    /// At most N lines (the newest)
    #[arg(long, value_name = "N")]
    pub(crate) limit: Option<usize>,
    /// Print one versioned JSON document instead of a table
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct LockArgs {
    /// How long to wait for a held state lock, e.g. `30s`, `2m` (units: ms, s, m, h, d, w;
    /// default: fail at once)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "0s")]
    pub(crate) lock_timeout: std::time::Duration,
}

#[derive(Debug, Subcommand)]
pub(crate) enum StateCommand {
    /// List the managed objects
    List(EnvArg),
    /// Show what the state records for one object
    Show {
        #[command(flatten)]
        env: EnvArg,
        /// The address, e.g. `tenant.acme`
        addr: crate::model::ResourceAddr,
    },
    /// Forget an object: dmgmt stops managing it; nothing is deleted in Descope
    Rm {
        #[command(flatten)]
        env: EnvArg,
        /// The address, e.g. `tenant.acme`
        addr: crate::model::ResourceAddr,
        #[command(flatten)]
        lock: LockArgs,
    },
}

#[derive(Debug, Args)]
pub(crate) struct UnlockArgs {
    #[command(flatten)]
    pub(crate) env: EnvArg,
    /// The lock id, as the lock error shows it
    pub(crate) lock_id: String,
    /// Break the lock even though its holder's pid still runs on this host (a pid reused by
    /// another program)
    #[arg(long)]
    pub(crate) force: bool,
}

/// A duration, the same for every flag that takes one (`--lock-timeout`, `--since`): `500ms`,
/// `30s` (or plain seconds), `2m`, `1h`, `3d`, `1w`.
fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("expected a duration like `30s`, `2m` or `3d`, got `{s}`"))?;
    let millis: u64 = match unit {
        "ms" => 1,
        "" | "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 604_800_000,
        _ => return Err(format!("unknown unit `{unit}`: use ms, s, m, h, d or w")),
    };
    Ok(std::time::Duration::from_millis(n.saturating_mul(millis)))
}

#[derive(Debug, Args)]
pub(crate) struct SchemaArgs {
    /// The schema of shared (included) files instead of environment files
    #[arg(long)]
    pub(crate) shared: bool,
}

#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell to generate completions for
    #[arg(value_enum)]
    pub(crate) shell: clap_complete::Shell,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(
            parse_duration("30s"),
            Ok(std::time::Duration::from_secs(30))
        );
        assert_eq!(
            parse_duration("2m"),
            Ok(std::time::Duration::from_secs(120))
        );
        assert_eq!(
            parse_duration("250ms"),
            Ok(std::time::Duration::from_millis(250))
        );
        assert_eq!(parse_duration("5"), Ok(std::time::Duration::from_secs(5)));
        assert_eq!(
            parse_duration("3d"),
            Ok(std::time::Duration::from_secs(3 * 86_400))
        );
        assert_eq!(
            parse_duration("1w"),
            Ok(std::time::Duration::from_secs(604_800))
        );
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5y").is_err());
    }

    #[test]
    fn lock_timeout_and_since_accept_the_same_units() {
        for value in ["500ms", "30s", "30", "2m", "1h", "3d", "1w"] {
            let lock =
                Cli::try_parse_from(["dmgmt", "refresh", "-e", "x", "--lock-timeout", value]);
            let since = Cli::try_parse_from(["dmgmt", "audit", "--since", value]);
            assert!(lock.is_ok() && since.is_ok(), "{value}");
        }
    }

    #[test]
    fn parallelism_has_the_configurations_range() {
        let parse =
            |n: &str| Cli::try_parse_from(["dmgmt", "apply", "-e", "x", "--parallelism", n]);
        assert!(parse("32").is_ok());
        assert!(parse("33").is_err());
        assert!(parse("0").is_err());
        let parse =
            |n: &str| Cli::try_parse_from(["dmgmt", "restore", "-e", "x", "b", "--parallelism", n]);
        assert!(parse("32").is_ok());
        assert!(parse("33").is_err());
    }

    #[test]
    fn the_version_flag_is_the_top_commands_only_and_help_takes_a_command() {
        let top = Cli::command().render_help().to_string();
        assert!(top.contains("-V, --version"), "{top}");
        let mut cmd = Cli::command();
        let plan = cmd
            .find_subcommand_mut("plan")
            .unwrap()
            .render_help()
            .to_string();
        assert!(!plan.contains("--version"), "{plan}");
        let err = Cli::try_parse_from(["dmgmt", "help", "plan"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::DisplayHelp);
        assert!(err.to_string().contains("Usage: dmgmt plan"), "{err}");
    }

    #[test]
    fn targets_are_parsed_as_addresses() {
        assert!(Cli::try_parse_from(["dmgmt", "plan", "-e", "x", "--target", "nonsense"]).is_err());
        let cli =
            Cli::try_parse_from(["dmgmt", "plan", "-e", "x", "--target", "role.acme/Auditor"])
                .unwrap();
        let Command::Plan(args) = cli.command else {
            panic!("not plan")
        };
        assert_eq!(args.target[0].to_string(), "role.acme/Auditor");
    }

    #[test]
    fn validate_needs_an_environment_or_all() {
        assert!(Cli::try_parse_from(["dmgmt", "validate"]).is_err());
        assert!(Cli::try_parse_from(["dmgmt", "validate", "-e", "a", "--all"]).is_err());
        let cli = Cli::try_parse_from(["dmgmt", "--dir", "x", "validate", "-e", "dev"]).unwrap();
        assert!(
            matches!(cli.command, Command::Validate(ValidateArgs { env: Some(ref e), .. }) if e == "dev")
        );
    }
}
