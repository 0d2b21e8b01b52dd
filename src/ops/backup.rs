//! `backup` and `backups`: an on-demand backup of the whole live project (every tenant with its
//! settings, role, permission and flow, managed or not, and the theme), the list of an environment's backups, and
//! retention on demand. Never prints.

use super::change::prune_backups;
use super::live::RefreshObserver;
use super::session::{Access, Held, Recorded, Scope, Session};
use super::{Context, tenant_settings};
use crate::error::{Error, Result, exit};
use crate::model::{DesiredState, ResourceAddr, Snapshot};
use crate::state::BackupCounts;
use crate::state::backup::{self, BackupInfo, BackupObject, BackupSummary, Trigger};

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
/// the environment's retention; the audit line names the backup.
pub(crate) async fn backup_environment(
    ctx: &Context<'_>,
    desired: &DesiredState,
    observer: &dyn RefreshObserver,
) -> Result<Recorded<BackupOutcome>> {
    // A state that cannot be read does not stop a backup of the live project.
    let opening = ("backup", Scope::Everything, Access::WriteIfReadable);
    let mut session = Session::open(ctx, desired, opening, observer).await?;
    // Every tenant's settings too: a manual backup holds the whole project.
    let snapshot = &session.snapshot;
    let tenants = snapshot
        .objects
        .keys()
        .filter(|a| matches!(a, ResourceAddr::Tenant(_)))
        .cloned()
        .collect();
    let client = &session.connection.client;
    let parallelism = desired.parallelism.max(1) as usize;
    let bodies =
        tenant_settings::bodies_with_settings(client, snapshot, &tenants, parallelism).await?;
    let info = backup::write_backup(
        &ctx.state_dir,
        &desired.environment,
        &desired.project_id,
        Trigger::Manual,
        &tenant_settings::with_bodies(everything(snapshot), &bodies),
    )?;
    let counts = BackupCounts::of(snapshot.objects.keys());
    // The lock is held and the read is fresh: the state records it, guards included, as any
    // such command does.
    session.record_fresh()?;
    let pruned = prune_backups(ctx, desired);
    let id = Some(info.id.clone());
    let audit = session.held.finish(exit::SUCCESS, |r| r.backup = id);
    let value = BackupOutcome {
        info,
        counts,
        pruned,
    };
    Ok(Recorded { value, audit })
}

/// Every backup of `environment`, oldest first.
pub(crate) fn list_backups(ctx: &Context<'_>, environment: &str) -> Result<Vec<BackupSummary>> {
    Ok(backup::list(&ctx.state_dir, environment)?)
}

/// Applies the environment's retention now, under the state lock; returns the ids removed.
pub(crate) async fn prune_now(
    ctx: &Context<'_>,
    desired: &DesiredState,
) -> Result<Recorded<Vec<String>>> {
    let env = &desired.environment;
    let held = Held::take(ctx, env, &desired.project_id, "backups --prune", true).await?;
    let value = backup::prune(
        &ctx.state_dir,
        env,
        desired.backups,
        std::time::SystemTime::now(),
    )
    .map_err(|e| {
        Error::from(e).hint(format!(
            "backups already removed stay removed; run `dmgmt backups -e {env} --prune` again"
        ))
    })?;
    let audit = held.finish(exit::SUCCESS, |_| {});
    Ok(Recorded { value, audit })
}
