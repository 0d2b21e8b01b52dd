//! Orchestration of one command: load, lock, connect, refresh, plan, write state, and the audit
//! line of every command that changes things (`session`, `change`). Wires the layers together
//! and returns values; never prints (the CLI renders what it gets back).

pub(crate) mod apply;
pub(crate) mod backup;
pub(crate) mod change;
mod connect;
pub(crate) mod diff;
mod forget;
pub(crate) mod import;
mod import_files;
pub(crate) mod init;
pub mod live;
mod plan;
mod recorder;
mod refresh;
pub(crate) mod restore;
mod saved;
pub(crate) mod session;
mod targets;
mod tenant_settings;
#[cfg(test)]
mod tests_plan_props;
#[cfg(test)]
mod tests_plan_props_gen;

pub(crate) use connect::Connection;
pub(crate) use forget::{forget_resource, no_state, not_managed};
pub use plan::prior_from_state;
pub(crate) use plan::{
    SavedPlan, Vanished, config_digest, load_config_and_state, plan_environment,
};
pub(crate) use refresh::refresh_environment;
pub(crate) use saved::{check_made_for, read_saved_plan, write_saved_plan};
pub(crate) use session::{Failed, Recorded, break_lock};

use std::path::PathBuf;
use std::time::Duration;

/// What every operation needs to know about where it runs.
pub(crate) struct Context<'a> {
    /// The project's `state/` folder.
    pub(crate) state_dir: PathBuf,
    /// Looks up process environment variables (the management key).
    pub(crate) env: &'a (dyn Fn(&str) -> Option<String> + Sync),
    /// How long to wait for a held lock.
    pub(crate) lock_timeout: Duration,
    /// Told about every HTTP request and 429 pause (the CLI prints them).
    pub(crate) http_log: Option<crate::api::HttpLog>,
}
