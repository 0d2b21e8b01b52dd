//! Planning: desired state vs live snapshot vs prior state -> an ordered [`Plan`].
//!
//! Pure: no tokio, no HTTP, no file system, no terminal. The same inputs give the same plan, byte
//! for byte. Rendering lives in the CLI; execution in `apply`.

mod diff;
mod graph;
mod planner;
mod types;

pub use planner::{PlanError, PlanInput, Prior, drift, plan, summarize, unmanaged};
pub use types::{Action, AttrDiff, Change, Drift, DriftKind, Guard, Plan, Summary};

#[cfg(test)]
mod tests;
