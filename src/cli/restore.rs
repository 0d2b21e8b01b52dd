//! `dmgmt restore -e ENV BACKUP_ID`: show the plan that returns the live project to the backup's
//! content, have it approved, run it, and say what happened. The prompt, Ctrl-C, progress and
//! the audit line work exactly as for `apply` (`changes.rs`).

use super::args::RestoreArgs;
use super::changes::{self, Ended, Running, ctrl_c};
use super::render::{self, RenderOptions};
use super::shell::{Progress, Shell};
use super::{context, desired_state};
use crate::config::Project;
use crate::error::Result;
use crate::model::DesiredState;
use crate::ops::change::Settled;
use crate::ops::restore::{RestorePlanner, RestoreRequest};
use crate::ops::{self, Recorded, SavedPlan};
use crate::state::backup::{Manifest, Trigger};

pub(crate) fn run(project: &Project, args: &RestoreArgs, shell: &Shell) -> Result<i32> {
    let desired = desired_state(project, &args.env.env, shell)?;
    let env_lookup = |v: &str| std::env::var(v).ok();
    let ctx = context(project, &env_lookup, args.lock.lock_timeout, shell);
    changes::run_audited(shell, restore(&ctx, &desired, args, shell))
}

async fn restore(
    ctx: &ops::Context<'_>,
    desired: &DesiredState,
    args: &RestoreArgs,
    shell: &Shell,
) -> Ended {
    shell.status(format!(
        "Checking backup {} of `{}`, then reading the whole live project {}...",
        args.backup_id, desired.environment, desired.project_id
    ));
    super::announce_lock_wait(shell, ctx, &desired.environment);
    let progress = Progress::new(shell, "flows");
    let request = RestoreRequest {
        backup_id: &args.backup_id,
        targets: &args.target,
        delete_unmanaged: args.delete_unmanaged,
    };
    let prepared = tokio::select! {
        biased;
        () = ctrl_c() => Err(changes::interrupted("restored")),
        prepared = async {
            let planner = RestorePlanner::load(ctx, desired, request)?;
            ops::change::prepare(ctx, desired, planner, &progress).await
        } => prepared,
    };
    progress.finish();
    let prepared = prepared?;
    let (saved, manifest) = (&prepared.saved, prepared.planner.manifest());
    shell.out(plan_text(desired, args, saved, manifest).trim_end());
    let total = saved.plan.changes.len();
    let pending = match prepared.settle(args.allow_delete) {
        Settled::Ended(ended) => return ended,
        Settled::Pending(pending) => pending,
    };
    let ask = "review the plan, then run again with --auto-approve";
    let pending =
        changes::approve(pending, desired, ask, args.auto_approve, "restored", None).await?;

    let running = Running::start(shell, total);
    let outcome = pending
        .run(args.parallelism, running.stop(), &running.progress)
        .await;
    running.finish();
    let Recorded { value: run, audit } = outcome?;
    let code = run.exit_code();
    shell.status(changes::summary(
        &run,
        &desired.environment,
        total,
        &changes::RESTORE,
    ));
    if let Some(e) = run.state_error {
        shell.error(&e);
    }
    Ok(Recorded { value: code, audit })
}

/// The plan shown before the restore: the backup, then the changes or that there are none.
fn plan_text(
    desired: &DesiredState,
    args: &RestoreArgs,
    saved: &SavedPlan,
    manifest: &Manifest,
) -> String {
    let mut text = format!(
        "Restoring `{}` to backup {} ({}, taken {}).\n\n",
        desired.environment, args.backup_id, manifest.trigger, manifest.created_at
    );
    if saved.plan.changes.is_empty() {
        text.push_str(&format!(
            "No changes. The live project of `{}` already holds what backup {} holds.\n",
            desired.environment, args.backup_id
        ));
        text.push_str(&render::unmanaged(
            &saved.plan.unmanaged,
            &Default::default(),
        ));
        return text;
    }
    text.push_str(&render::plan(
        saved,
        &RenderOptions {
            full_diff: false,
            flows: &desired.flows,
        },
    ));
    text.push_str(kept_note(&saved.plan, manifest, args));
    text
}

/// What the restore does with the live objects dmgmt does not manage that the backup lacks.
fn kept_note(plan: &crate::plan::Plan, manifest: &Manifest, args: &RestoreArgs) -> &'static str {
    if plan.unmanaged.is_empty() || args.delete_unmanaged {
        return "";
    }
    match manifest.trigger {
        Trigger::PreApply => {
            "Objects dmgmt does not manage are kept: a pre-apply backup holds only what dmgmt managed or changed when it was taken.\n"
        }
        _ => {
            "Objects created since the backup that dmgmt does not manage are kept; --delete-unmanaged deletes them too.\n"
        }
    }
}
