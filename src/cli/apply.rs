//! `dmgmt apply -e ENV [PLAN_FILE]`: show the plan, have it approved, apply it, and say what
//! happened. The prompt, Ctrl-C and progress are `changes.rs`'s, shared with `restore`.

use serde_json::json;

use super::args::ApplyArgs;
use super::changes::{self, Counts, Ended, Running, ctrl_c};
use super::render::{self, RenderOptions};
use super::shell::{Progress, Shell};
use super::{context, desired_state};
use crate::apply::ApplyReport;
use crate::config::Project;
use crate::error::{Error, ErrorKind, Result, exit};
use crate::model::DesiredState;
use crate::ops::apply::ApplyPlanner;
use crate::ops::change::Settled;
use crate::ops::{self, Recorded, SavedPlan};

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
        .map(|path| {
            let saved = ops::read_saved_plan(path)?;
            ops::check_made_for(&saved, path, &desired.environment, &desired.project_id)?;
            Ok::<_, Error>(saved)
        })
        .transpose()?;
    let env_lookup = |v: &str| std::env::var(v).ok();
    let ctx = context(project, &env_lookup, args.lock.lock_timeout, shell);
    changes::run_audited(shell, apply(&ctx, &desired, args, saved, shell))
}

async fn apply(
    ctx: &ops::Context<'_>,
    desired: &DesiredState,
    args: &ApplyArgs,
    saved: Option<SavedPlan>,
    shell: &Shell,
) -> Ended {
    super::announce_lock_wait(shell, ctx, &desired.environment);
    let refreshing = format!(
        "Refreshing `{}` (project {})...",
        desired.environment, desired.project_id
    );
    let progress = Progress::announcing(shell, "flows", refreshing);
    let planner = ApplyPlanner::new(&args.target, saved);
    let prepared = tokio::select! {
        biased;
        () = ctrl_c() => Err(changes::interrupted("applied")),
        prepared = ops::change::prepare(ctx, desired, planner, &progress) => prepared,
    };
    progress.finish();
    let prepared = prepared?;
    let saved = prepared.saved.clone();
    if !args.json {
        let options = RenderOptions {
            full_diff: false,
            flows: &desired.flows,
        };
        shell.out(render::plan(&saved, &options).trim_end());
    }
    let pending = match prepared.settle(args.allow_delete) {
        Settled::Ended(ended) => {
            let done = ended?;
            if args.json {
                shell.out(report_json(desired, &saved, None, None, exit::SUCCESS));
            }
            return Ok(done);
        }
        Settled::Pending(pending) => pending,
    };
    let ask = "review the plan, then run again with --auto-approve, or apply a saved plan (`dmgmt plan --out FILE`, then `dmgmt apply -e ENV FILE`)";
    let insist = mass_recreate(&saved, desired, args.allow_mass_recreate);
    let pending =
        changes::approve(pending, desired, ask, args.auto_approve, "applied", insist).await?;

    let running = Running::start(shell, saved.plan.changes.len());
    let outcome = pending
        .run(args.parallelism, running.stop(), &running.progress)
        .await;
    running.finish();
    let Recorded { value: run, audit } = outcome?;
    let code = run.exit_code();
    if args.json {
        shell.out(report_json(
            desired,
            &saved,
            Some(&run.report),
            run.backup.as_ref().map(|b| b.id.as_str()),
            code,
        ));
    } else {
        shell.status(changes::summary(
            &run,
            &saved.environment,
            saved.plan.changes.len(),
            &changes::APPLY,
        ));
    }
    execution_cpu(shell, &run, saved.plan.changes.len());
    if let Some(e) = run.state_error {
        shell.error(&e);
    }
    Ok(Recorded { value: code, audit })
}

/// `-v`: the CPU the `changes` took while they ran (the apply bench reads this line).
fn execution_cpu(shell: &Shell, run: &ops::change::ApplyOutcome, changes: usize) {
    if let (Some(cpu), n) = (run.execution_cpu, changes)
        && n > 0
    {
        let ms = cpu.as_secs_f64() * 1000.0;
        shell.verbose(format!(
            "execution: {n} changes, {ms:.0} ms of CPU, {:.3} ms per change",
            ms / n as f64
        ));
    }
}

/// A plan that re-creates most of what a protected environment manages (its project came back
/// empty: a wrong `project_id` or `base_url`, or a wiped project) is asked for by name even with
/// `--auto-approve` or a saved plan, unless `--allow-mass-recreate`: the error refusing it when
/// there is no terminal to ask on.
fn mass_recreate(saved: &SavedPlan, desired: &DesiredState, allowed: bool) -> Option<Error> {
    let v = saved.vanished.filter(|_| desired.protected && !allowed)?;
    Some(
        Error::config(format!(
            "refusing to apply without confirmation: {} of the {} objects dmgmt manages in protected `{}` are gone from project {}, and this plan creates them again",
            v.gone, v.managed, desired.environment, desired.project_id
        ))
        .cause("--auto-approve and a saved plan do not cover this; there is no terminal to ask on")
        .hint("check `project_id` and `base_url` of the environment; if the project really is to be re-created, run the apply again with --allow-mass-recreate"),
    )
}

/// The `--json` document: the plan applied and what each change came to.
fn report_json(
    desired: &DesiredState,
    saved: &SavedPlan,
    report: Option<&ApplyReport>,
    backup: Option<&str>,
    code: i32,
) -> String {
    let counts = report.map(Counts::of).unwrap_or_default();
    let doc = json!({
        "format_version": 1,
        "environment": desired.environment,
        "project_id": desired.project_id,
        "changes": ops::change::outcomes(saved, report),
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
