//! The command line, as clap sees it. Parsing only: what each command does lives beside it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "dmgmt",
    version,
    about = "Declarative plan/apply for Descope projects: tenants, roles, permissions, flows and theme as code",
    propagate_version = true,
    disable_help_subcommand = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Project root (default: the current folder or the nearest parent holding `environments/`)
    #[arg(long, global = true, value_name = "PATH")]
    pub dir: Option<PathBuf>,
    /// When to colour output (`NO_COLOR` is honoured with `auto`)
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
    /// More detail on stderr (-vv for even more)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors on stderr
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the environments, their projects and what they declare
    Envs(EnvsArgs),
    /// Check configuration and templates offline (no credentials needed)
    Validate(ValidateArgs),
    /// Print the JSON Schema of environment files, for editor support
    Schema(SchemaArgs),
    /// Run the local Descope-compatible management API server
    Emulator(crate::emulator::EmulatorArgs),
    /// Print a shell completion script
    Completions(CompletionsArgs),
}

#[derive(Debug, Args)]
pub struct EnvsArgs {
    /// Print one versioned JSON document instead of a table
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("target").required(true).args(["env", "all"])))]
pub struct ValidateArgs {
    /// The environment to check
    #[arg(short = 'e', long = "env", value_name = "ENV")]
    pub env: Option<String>,
    /// Check every environment
    #[arg(long)]
    pub all: bool,
    /// Print one versioned JSON document instead of text
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// The schema of shared (included) files instead of environment files
    #[arg(long)]
    pub shared: bool,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to generate completions for
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
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
    fn validate_needs_an_environment_or_all() {
        assert!(Cli::try_parse_from(["dmgmt", "validate"]).is_err());
        assert!(Cli::try_parse_from(["dmgmt", "validate", "-e", "a", "--all"]).is_err());
        let cli = Cli::try_parse_from(["dmgmt", "--dir", "x", "validate", "-e", "dev"]).unwrap();
        assert!(
            matches!(cli.command, Command::Validate(ValidateArgs { env: Some(ref e), .. }) if e == "dev")
        );
    }
}
