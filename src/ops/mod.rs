//! Orchestration of one command: load, lock, connect, refresh, plan, write state. Wires the
//! layers together and returns values; never prints (the CLI renders what it gets back).

pub mod apply;
pub mod backup;
mod connect;
pub mod diff;
mod forget;
pub mod import;
mod import_files;
pub mod live;
mod lock;
mod plan;
mod refresh;
pub mod restore;
mod saved;
mod targets;

pub use connect::Connection;
pub use forget::{Forgotten, forget_resource, no_state, not_managed};
pub use lock::acquire_lock;
pub use plan::{
    PlanOutcome, SavedPlan, StateRef, config_digest, plan_environment, prior_from_state,
    read_state_while,
};
pub use refresh::{RefreshOutcome, refresh_environment};
pub use saved::{Now, read_saved_plan, staleness, write_saved_plan};

use std::path::PathBuf;
use std::time::Duration;

/// What every operation needs to know about where it runs.
pub struct Context<'a> {
    /// The project's `state/` folder.
    pub state_dir: PathBuf,
    /// Looks up process environment variables (the management key).
    pub env: &'a (dyn Fn(&str) -> Option<String> + Sync),
    /// How long to wait for a held lock.
    pub lock_timeout: Duration,
    /// Told about every HTTP request and 429 pause (the CLI prints them).
    pub http_log: Option<crate::api::HttpLog>,
}
