//! `dmgmt state rm ADDR`: stop managing one resource. Under the state lock, removes its entry from
//! the state and writes the state (keeping the previous one as `.backup`); the object itself stays
//! in Descope. Never prints; the CLI reports the outcome.

use super::Context;
use super::session::{Held, Recorded};
use crate::error::{Error, Result, exit};
use crate::model::ResourceAddr;
use crate::state::{AuditChange, WriteOutcome};

/// Removes `addr` from the state of `environment`, holding the lock (waiting up to the
/// context's timeout for it) from the read to the write; the audit line names it.
pub(crate) async fn forget_resource(
    ctx: &Context<'_>,
    environment: &str,
    addr: &ResourceAddr,
) -> Result<Recorded<WriteOutcome>> {
    // The project is the state's: `state rm` needs no configuration.
    let mut held = Held::take(ctx, environment, "", "state rm", true).await?;
    let mut state = held.store.load()?.ok_or_else(|| no_state(environment))?;
    if state.resources.remove(addr).is_none() {
        return Err(not_managed(environment, addr));
    }
    let value = held.store.write(&mut state)?;
    held.audit.project_id = state.project_id;
    let audit = held.finish(exit::SUCCESS, |r| {
        r.changes.push(AuditChange {
            addr: addr.to_string(),
            action: "forget".to_owned(),
            outcome: "applied".to_owned(),
            error: None,
        });
    });
    Ok(Recorded { value, audit })
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
