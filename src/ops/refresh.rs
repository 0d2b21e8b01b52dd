//! `refresh`: read live state, report drift against the last state, and record it.

use std::collections::BTreeSet;

use super::live::{self, RefreshObserver};
use super::plan::{prior_from_state, scope};
use super::{Connection, Context};
use crate::error::Result;
use crate::model::{DesiredState, ResourceAddr};
use crate::plan::{Drift, drift};
use crate::state::{ResourceState, StateFile, StateStore, WriteOutcome};

/// What a refresh found and wrote.
pub struct RefreshOutcome {
    pub drift: Vec<Drift>,
    /// Live objects neither declared nor in state.
    pub unmanaged: Vec<ResourceAddr>,
    pub written: WriteOutcome,
    pub serial: u64,
    /// Whether a state existed before (without one there is nothing to have drifted from).
    pub had_state: bool,
}

/// Takes the lock, reads the live project, and writes what it found into the state: managed
/// objects get their live attributes, objects deleted outside dmgmt leave the state. Unmanaged
/// objects are reported, never added.
pub async fn refresh_environment(
    ctx: &Context<'_>,
    desired: &DesiredState,
    observer: &dyn RefreshObserver,
) -> Result<RefreshOutcome> {
    let _lock = super::acquire_lock(
        &ctx.state_dir,
        &desired.environment,
        "refresh",
        ctx.lock_timeout,
    )
    .await?;
    let store = StateStore::new(&ctx.state_dir, &desired.environment);
    let loaded = store.load_for(&desired.project_id)?;
    let had_state = loaded.is_some();
    let mut state =
        loaded.unwrap_or_else(|| StateFile::new(&desired.environment, &desired.project_id));
    let connection = Connection::open(desired, &ctx.state_dir, ctx.env).await?;
    let snapshot =
        live::refresh(&connection.client, &scope(desired, Some(&state)), observer).await?;

    let prior = prior_from_state(state.resources.clone());
    let found = drift(&prior, &snapshot);
    let declared: BTreeSet<ResourceAddr> = desired.addresses().into_iter().collect();
    let unmanaged = snapshot
        .objects
        .keys()
        .filter(|a| {
            **a != ResourceAddr::Theme
                && !declared.contains(*a)
                && !state.resources.contains_key(*a)
        })
        .cloned()
        .collect();

    let addrs: Vec<ResourceAddr> = state.resources.keys().cloned().collect();
    for addr in addrs {
        match snapshot.get(&addr) {
            Some(live) => {
                if let Some(entry) = state.resources.get_mut(&addr) {
                    let mut updated = ResourceState::new(
                        &addr,
                        entry.managed_fields.clone(),
                        live.attributes.clone(),
                    );
                    updated.prevent_destroy = entry.prevent_destroy;
                    *entry = updated;
                }
            }
            None => {
                state.resources.remove(&addr);
            }
        }
    }
    let written = store.write(&mut state)?;
    Ok(RefreshOutcome {
        drift: found,
        unmanaged,
        written,
        serial: state.serial,
        had_state,
    })
}
