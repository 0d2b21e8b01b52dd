//! Planning: desired state vs live snapshot vs prior state -> an ordered [`Plan`].
//!
//! Pure: no tokio, no HTTP, no file system, no terminal. The same inputs give the same plan, byte
//! for byte. Rendering lives in the CLI; execution in `apply`.

mod cascade;
pub mod compare;
mod diff;
mod grants;
mod graph;
mod locate;
mod planner;
mod restore;
mod tenant_names;
mod types;
mod unmanaged;

pub use planner::{PlanError, PlanInput, Prior, drift, plan, summarize};
pub use restore::{RestoreInput, modelled_fields, restore};
pub use tenant_names::TenantRename;
pub use types::{
    Action, AttrDiff, Cascade, CascadeEffect, Change, ChangeId, Drift, DriftKind, Guard, Plan,
    Summary,
};
pub use unmanaged::unmanaged;

#[cfg(test)]
mod test_fixtures;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_cascades;
#[cfg(test)]
mod tests_preconfigured;
#[cfg(test)]
mod tests_props;
#[cfg(test)]
mod tests_props_gen;
#[cfg(test)]
mod tests_renames;
#[cfg(test)]
mod tests_tenant_names;
