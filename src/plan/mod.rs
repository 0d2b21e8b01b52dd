//! Planning: desired state vs live snapshot vs prior state -> an ordered [`Plan`].
//!
//! Pure: no tokio, no HTTP, no file system, no terminal. The same inputs give the same plan, byte
//! for byte. Rendering lives in the CLI; execution in `apply`.

mod cascade;
pub(crate) mod compare;
mod diff;
mod grants;
mod graph;
mod locate;
mod parents;
mod planner;
mod restore;
mod restore_settings;
mod tenant_names;
mod types;
mod unmanaged;
mod validate;
mod warning;

pub use planner::{PlanInput, Prior, plan};
pub(crate) use planner::{drift, summarize};
pub(crate) use restore::{RestoreInput, restore};
pub(crate) use restore_settings::{TenantSettings, settings_hold};
pub use types::{Action, Change, ChangeId, Plan};
pub(crate) use types::{AttrDiff, Drift, DriftKind, Guard};
pub(crate) use unmanaged::unmanaged;
pub use validate::InvalidPlan;

// Named only by unit tests; the rest of the crate meets these types through `plan` and `Plan`.
#[cfg(test)]
pub(crate) use {
    planner::PlanError,
    tenant_names::TenantRename,
    types::{Cascade, CascadeEffect, Summary},
    warning::Warning,
};

#[cfg(test)]
pub(crate) mod test_fixtures;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_cascades;
#[cfg(test)]
mod tests_parents;
#[cfg(test)]
mod tests_preconfigured;
#[cfg(test)]
mod tests_renames;
#[cfg(test)]
mod tests_tenant_names;
