//! `backup` and `backups`: an on-demand backup of the whole live project (every tenant with its
//! settings, role, permission and flow, managed or not, and the theme), the list of an environment's backups, and
//! retention on demand. Never prints.

use super::apply::prune_backups;
use super::live::{self, RefreshObserver};
use super::{Connection, Context, tenant_settings};
use crate::error::{Error, Result};
use crate::model::{DesiredState, ResourceAddr, Snapshot};
use crate::state::backup::{self, BackupInfo, BackupObject, BackupSummary, Trigger};
use crate::state::{BackupCounts, StateStore};

/// What `dmgmt backup` wrote.
pub(crate) struct BackupOutcome {
    pub(crate) info: BackupInfo,
    /// Objects per kind, Descope's system-default permissions apart.
    pub(crate) counts: BackupCounts,
    /// Backups removed by retention afterwards.
    pub(crate) pruned: Vec<String>,
}

/// The raw body of every object of `snapshot`, for a backup of all of it.
pub(super) fn everything(snapshot: &Snapshot) -> Vec<BackupObject<'_>> {
    snapshot
        .objects
        .iter()
        .map(|(addr, o)| BackupObject { addr, body: &o.raw })
        .collect()
}

/// Takes the lock, reads the whole live project and writes it as a `manual` backup, then applies
/// the environment's retention.
pub(crate) async fn backup_environment(
    ctx: &Context<'_>,
    desired: &DesiredState,
    observer: &dyn RefreshObserver,
) -> Result<BackupOutcome> {
    let _lock = super::acquire_lock(
        &ctx.state_dir,
        &desired.environment,
        "backup",
        ctx.lock_timeout,
    )
    .await?;
    let connection = Connection::open(desired, ctx).await?;
    let snapshot = live::refresh_everything(
        &connection.client,
        desired.parallelism.max(1) as usize,
        observer,
    )
    .await?;
    // Every tenant's settings too: a manual backup holds the whole project.
    let tenants = snapshot
        .objects
        .keys()
        .filter(|a| matches!(a, ResourceAddr::Tenant(_)))
        .cloned()
        .collect();
    let bodies = tenant_settings::bodies_with_settings(
        &connection.client,
        &snapshot,
        &tenants,
        desired.parallelism.max(1) as usize,
    )
    .await?;
    let info = backup::write_backup(
        &ctx.state_dir,
        &desired.environment,
        &desired.project_id,
        Trigger::Manual,
        &tenant_settings::with_bodies(everything(&snapshot), &bodies),
    )?;
    // The lock is held and the read is fresh: the state records it, guards included, as any
    // such command does. A state that cannot be read does not stop a backup of the live project.
    let store = StateStore::new(&ctx.state_dir, &desired.environment);
    if let Ok(state) = store.load_for(&desired.project_id) {
        super::refresh::record_fresh(&store, state, &snapshot, desired)?;
    }
    let counts = BackupCounts::of(snapshot.objects.keys());
    let pruned = prune_backups(ctx, desired);
    Ok(BackupOutcome {
        info,
        counts,
        pruned,
    })
}

/// Every backup of `environment`, oldest first.
pub(crate) fn list_backups(ctx: &Context<'_>, environment: &str) -> Result<Vec<BackupSummary>> {
    Ok(backup::list(&ctx.state_dir, environment)?)
}

/// Applies the environment's retention now, under the state lock; returns the ids removed.
pub(crate) async fn prune_now(ctx: &Context<'_>, desired: &DesiredState) -> Result<Vec<String>> {
    let _lock = super::acquire_lock(
        &ctx.state_dir,
        &desired.environment,
        "backups --prune",
        ctx.lock_timeout,
    )
    .await?;
    backup::prune(
        &ctx.state_dir,
        &desired.environment,
        desired.backups,
        std::time::SystemTime::now(),
    )
    .map_err(|e| {
        Error::from(e).hint(format!(
            "backups already removed stay removed; run `dmgmt backups -e {} --prune` again",
            desired.environment
        ))
    })
}
