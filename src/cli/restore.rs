//! `dmgmt restore -e ENV BACKUP_ID`: show the plan that returns the live project to the backup's
//! content, have it approved, run it, and say what happened. The prompt, Ctrl-C, progress and
//! the audit line work exactly as for `apply` (`changes.rs`).

use super::args::RestoreArgs;
use super::changes::{self, Approval, Done, Failed, Running, ctrl_c};
use super::render::{self, RenderOptions};
use super::shell::{Progress, Shell};
use super::{context, desired_state};
use crate::config::Project;
use crate::error::{Error, ErrorKind, Result, exit};
use crate::model::DesiredState;
use crate::ops;
use crate::ops::restore::RestoreRequest;
use crate::state::backup::{Manifest, Trigger};

pub(crate) fn run(project: &Project, args: &RestoreArgs, shell: &Shell) -> Result<i32> {
    let desired = desired_state(project, &args.env.env, shell)?;
    let env_lookup = |v: &str| std::env::var(v).ok();
    let ctx = context(project, &env_lookup, args.lock.lock_timeout, shell);
    changes::run_audited(&ctx.state_dir, shell, restore(&ctx, &desired, args, shell))
}

fn interrupted() -> Error {
    Error::new(
        ErrorKind::Interrupted,
        "interrupted by Ctrl-C; nothing was restored",
    )
}

async fn restore(
    ctx: &ops::Context<'_>,
    desired: &DesiredState,
    args: &RestoreArgs,
    shell: &Shell,
) -> std::result::Result<Done, Failed> {
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
        () = ctrl_c() => Err(interrupted()),
        prepared = ops::restore::prepare(ctx, desired, &request, &progress) => prepared,
    };
    progress.finish();
    let prepared = prepared.map_err(|e| (e, None))?;
    let saved = prepared.saved.clone();
    let audit = |report| {
        Some(ops::restore::audit_record(
            desired,
            &saved,
            &args.backup_id,
            report,
            exit::SUCCESS,
        ))
    };

    let manifest = &prepared.manifest;
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
        shell.out(text.trim_end());
        if let Err(e) = ops::restore::record_unchanged(prepared, desired) {
            return Err((e, audit(None)));
        }
        return Ok(Done {
            code: exit::SUCCESS,
            record: audit(None),
        });
    }
    text.push_str(&render::plan(
        &saved,
        &RenderOptions {
            full_diff: false,
            flows: &desired.flows,
        },
    ));
    text.push_str(kept_note(&saved.plan, manifest, args));
    shell.out(text.trim_end());

    if let Err(e) = ops::apply::check_guards(&saved, args.allow_delete) {
        return Err((e, audit(None)));
    }
    if !args.auto_approve {
        let approval = Approval {
            verb: "restore",
            no_terminal_hint: "review the plan, then run again with --auto-approve".to_owned(),
        };
        let approved = tokio::select! {
            biased;
            () = ctrl_c() => Err(interrupted()),
            answer = changes::confirm(desired, &approval) => answer,
        };
        match approved {
            Ok(true) => {}
            Ok(false) => {
                return Err((
                    Error::new(ErrorKind::Config, "restore cancelled; nothing was changed"),
                    audit(None),
                ));
            }
            Err(e) => return Err((e, audit(None))),
        }
    }

    let running = Running::start(shell, saved.plan.changes.len());
    let options = ops::apply::ApplyOptions {
        allow_delete: args.allow_delete,
        parallelism: args.parallelism,
    };
    let outcome = ops::restore::run(
        prepared,
        desired,
        ctx,
        &options,
        running.stop(),
        &running.progress,
    )
    .await;
    running.finish();
    let outcome = outcome.map_err(|e| (e, audit(None)))?;
    let code = outcome.exit_code();
    let record = Some(ops::restore::audit_record(
        desired,
        &saved,
        &args.backup_id,
        Some(&outcome.report),
        code,
    ));
    shell.status(changes::summary(
        &outcome,
        &saved.environment,
        saved.plan.changes.len(),
        &changes::RESTORE,
    ));
    if let Some(e) = outcome.state_error {
        shell.error(&e);
    }
    Ok(Done { code, record })
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
