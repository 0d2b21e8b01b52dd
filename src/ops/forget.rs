//! `dmgmt state rm ADDR`: stop managing one resource. Under the state lock, removes its entry from
//! the state and writes the state (keeping the previous one as `.backup`); the object itself stays
//! in Descope. Never prints; the CLI reports the outcome and appends the audit line.

use std::path::Path;
use std::time::Duration;

use super::acquire_lock;
use crate::error::{Error, Result};
use crate::model::ResourceAddr;
use crate::state::{StateStore, WriteOutcome};

/// What [`forget_resource`] did.
#[derive(Debug)]
pub(crate) struct Forgotten {
    pub(crate) outcome: WriteOutcome,
    /// The project the state belongs to, for the audit line.
    pub(crate) project_id: String,
}

/// Removes `addr` from the state of `environment` in `state_dir`, holding the lock (waiting up
/// to `lock_timeout` for it) from the read to the write.
pub(crate) async fn forget_resource(
    state_dir: &Path,
    environment: &str,
    addr: &ResourceAddr,
    lock_timeout: Duration,
) -> Result<Forgotten> {
    let _lock = acquire_lock(state_dir, environment, "state rm", lock_timeout).await?;
    let store = StateStore::new(state_dir.to_owned(), environment);
    let mut state = store.load()?.ok_or_else(|| no_state(environment))?;
    if state.resources.remove(addr).is_none() {
        return Err(not_managed(environment, addr));
    }
    let outcome = store.write(&mut state)?;
    Ok(Forgotten {
        outcome,
        project_id: state.project_id,
    })
}

/// The environment has no state file yet.
pub(crate) fn no_state(environment: &str) -> Error {
    Error::new(
        crate::ErrorKind::State,
        format!("`{environment}` has no state yet"),
    )
    .hint(format!(
        "run `dmgmt refresh -e {environment}` or `dmgmt apply -e {environment}` first"
    ))
}

/// `addr` is not in the state of `environment`.
pub(crate) fn not_managed(environment: &str, addr: &ResourceAddr) -> Error {
    Error::new(
        crate::ErrorKind::State,
        format!("`{addr}` is not in the state of `{environment}`"),
    )
    .hint(format!(
        "`dmgmt state list -e {environment}` lists what is managed"
    ))
}
