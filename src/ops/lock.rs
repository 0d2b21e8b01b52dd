//! Taking the state lock from async work without blocking it: a wait for a held lock
//! (`--lock-timeout`) runs on the blocking pool, so Ctrl-C can end the command meanwhile.

use std::path::Path;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::state::{Lock, LockGuard};

/// [`Lock::acquire`] as a future. Dropped while waiting (Ctrl-C), a lock taken afterwards is
/// released at once: the guard is dropped with the result nobody awaits.
pub(crate) async fn acquire_lock(
    state_dir: &Path,
    environment: &str,
    operation: &str,
    timeout: Duration,
) -> Result<LockGuard> {
    if timeout.is_zero() {
        // No wait: nothing to hand to another thread.
        return Ok(Lock::acquire(state_dir, environment, operation, timeout)?);
    }
    let (dir, env, op) = (
        state_dir.to_owned(),
        environment.to_owned(),
        operation.to_owned(),
    );
    tokio::task::spawn_blocking(move || Lock::acquire(&dir, &env, &op, timeout))
        .await
        .map_err(|e| Error::internal("the wait for the state lock failed").caused_by(&e))?
        .map_err(Error::from)
}
