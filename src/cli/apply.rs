//! `dmgmt apply -e ENV [PLAN_FILE]`: show the plan, have it approved, apply it, and say what
//! happened (DESIGN.md §5, §7). The prompt, Ctrl-C and progress are `changes.rs`'s, shared with
//! `restore`.

use serde_json::json;

use super::args::ApplyArgs;
use super::changes::{self, Approval, Counts, Done, Failed, Running, ctrl_c};
use super::render::{self, RenderOptions};
use super::shell::{Progress, Shell};
use super::{context, desired_state};
use crate::apply::ApplyReport;
use crate::config::Project;
use crate::error::{Error, ErrorKind, Result, exit};
use crate::model::DesiredState;
use crate::ops::{self, SavedPlan};

pub(crate) fn run(project: &Project, args: &ApplyArgs, shell: &Shell) -> Result<i32> {
    if args.json && !args.auto_approve && args.plan_file.is_none() {
        // The document is printed after the apply: there would be no plan shown to approve.
        return Err(Error::new(
            ErrorKind::Usage,
            "`--json` cannot show the plan to approve before applying it",
        )
        .hint("review `dmgmt plan -e ENV --out FILE`, then `dmgmt apply -e ENV FILE --json`, or add --auto-approve"));
    }
    let desired = desired_state(project, &args.env.env, shell)?;
    let saved = args
        .plan_file
        .as_deref()
        .map(ops::read_saved_plan)
        .transpose()?;
    let env_lookup = |v: &str| std::env::var(v).ok();
    let ctx = context(project, &env_lookup, args.lock.lock_timeout, shell);
    changes::run_audited(
        &ctx.state_dir,
        shell,
        apply(&ctx, &desired, args, saved, shell),
    )
}

async fn apply(
    ctx: &ops::Context<'_>,
    desired: &DesiredState,
    args: &ApplyArgs,
    saved: Option<SavedPlan>,
    shell: &Shell,
) -> std::result::Result<Done, Failed> {
    shell.status(format!(
        "Refreshing `{}` (project {})...",
        desired.environment, desired.project_id
    ));
    super::announce_lock_wait(shell, ctx, &desired.environment);
    let progress = Progress::new(shell, "flows");
    let prepared = tokio::select! {
        biased;
        () = ctrl_c() => Err(ops::apply::interrupted_before_applying()),
        prepared = ops::apply::prepare(ctx, desired, &args.target, saved, &progress) => prepared,
    };
    progress.finish();
    let prepared = prepared.map_err(|e| (e, None))?;
    let saved = prepared.saved.clone();
    let audit = |report: Option<&ApplyReport>| {
        Some(ops::apply::audit_record(
            "apply",
            desired,
            Some(&saved),
            report,
            std::time::Duration::ZERO,
            exit::SUCCESS,
        ))
    };

    if !args.json {
        let text = render::plan(
            &prepared.saved,
            &RenderOptions {
                full_diff: false,
                flows: &desired.flows,
            },
        );
        shell.out(text.trim_end());
    }
    if prepared.saved.plan.changes.is_empty() {
        if let Err(e) = ops::apply::record_unchanged(prepared, desired) {
            return Err((e, audit(None)));
        }
        if args.json {
            shell.out(report_json(desired, &saved, None, None, exit::SUCCESS));
        }
        return Ok(Done {
            code: exit::SUCCESS,
            record: audit(None),
        });
    }
    if let Err(e) = ops::apply::check_guards(&prepared.saved, args.allow_delete) {
        return Err((e, audit(None)));
    }
    if !prepared.from_file && !args.auto_approve {
        let approval = Approval {
            verb: "apply",
            no_terminal_hint: "review the plan, then run again with --auto-approve, or apply a saved plan (`dmgmt plan --out FILE`, then `dmgmt apply -e ENV FILE`)".to_owned(),
        };
        let approved = tokio::select! {
            biased;
            () = ctrl_c() => Err(ops::apply::interrupted_before_applying()),
            answer = changes::confirm(desired, &approval) => answer,
        };
        match approved {
            Ok(true) => {}
            Ok(false) => {
                return Err((
                    Error::new(ErrorKind::Config, "apply cancelled; nothing was changed"),
                    audit(None),
                ));
            }
            Err(e) => return Err((e, audit(None))),
        }
    }

    let running = Running::start(shell, prepared.saved.plan.changes.len());
    let options = ops::apply::ApplyOptions {
        allow_delete: args.allow_delete,
        parallelism: args.parallelism,
    };
    let outcome = ops::apply::run(
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
    let mut record = ops::apply::audit_record(
        "apply",
        desired,
        Some(&saved),
        Some(&outcome.report),
        outcome.duration,
        code,
    );
    record.backup = outcome.backup.as_ref().map(|b| b.id.clone());
    let record = Some(record);
    if args.json {
        shell.out(report_json(
            desired,
            &saved,
            Some(&outcome.report),
            outcome.backup.as_ref().map(|b| b.id.as_str()),
            code,
        ));
    } else {
        shell.status(changes::summary(
            &outcome,
            &saved.environment,
            saved.plan.changes.len(),
            &changes::APPLY,
        ));
    }
    if let Some(e) = outcome.state_error {
        shell.error(&e);
    }
    Ok(Done { code, record })
}

/// The `--json` document: the plan applied and what each change came to.
fn report_json(
    desired: &DesiredState,
    saved: &SavedPlan,
    report: Option<&ApplyReport>,
    backup: Option<&str>,
    code: i32,
) -> String {
    let record = ops::apply::audit_record(
        "apply",
        desired,
        Some(saved),
        report,
        Default::default(),
        code,
    );
    let counts = report.map(Counts::of).unwrap_or_default();
    let doc = json!({
        "format_version": 1,
        "environment": desired.environment,
        "project_id": desired.project_id,
        "changes": record.changes,
        "summary": {
            "applied": counts.applied,
            "failed": counts.failed,
            "skipped": counts.skipped,
            "not_started": counts.not_started,
        },
        "interrupted": report.is_some_and(|r| r.interrupted),
        "backup": backup,
        "exit_code": code,
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}
