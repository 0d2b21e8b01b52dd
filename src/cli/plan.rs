//! `dmgmt plan`: refresh (read only) and show what an apply would do.

use super::args::PlanArgs;
use super::render::{self, RenderOptions};
use super::shell::{Progress, Shell};
use super::{context, desired_state, interruptible};
use crate::config::Project;
use crate::error::{Error, Result, exit};
use crate::ops;

pub(crate) fn run(project: &Project, args: &PlanArgs, shell: &Shell) -> Result<i32> {
    let env_lookup = |v: &str| std::env::var(v).ok();
    let ctx = context(project, &env_lookup, std::time::Duration::ZERO, shell);
    project.require_environment(&args.env.env)?;
    let started = std::time::Instant::now();
    let (desired, state) = ops::load_config_and_state(&ctx, &args.env.env, || {
        desired_state(project, &args.env.env, shell)
    });
    // A configuration error comes first: it is what the user has to fix.
    let desired = desired?;
    let state = state?;
    let load_time = started.elapsed();
    shell.status(format!(
        "Refreshing `{}` (project {})...",
        desired.environment, desired.project_id
    ));
    let progress = Progress::new(shell, "flows");
    let outcome = interruptible(ops::plan_environment(
        &ctx,
        &desired,
        state,
        &args.target,
        args.refresh_only,
        &progress,
    ));
    progress.finish();
    let outcome = outcome?;
    shell.verbose(format!(
        "config and state {:.0} ms, refresh {:.0} ms, planning {:.1} ms, {} live objects",
        load_time.as_secs_f64() * 1000.0,
        outcome.refresh_time.as_secs_f64() * 1000.0,
        outcome.plan_time.as_secs_f64() * 1000.0,
        outcome.snapshot.objects.len()
    ));

    let saved = &outcome.saved;
    show(saved, args, &desired, shell)?;
    let pending = if args.refresh_only {
        !saved.plan.drift.is_empty()
    } else {
        !saved.plan.changes.is_empty()
    };
    // At scale, freeing the inputs and the plan value by value takes longer than planning; a
    // thread frees them while the process exits (it is not waited for).
    std::thread::spawn(move || drop((outcome, desired)));
    Ok(if args.detailed_exitcode && pending {
        exit::CHANGES
    } else {
        exit::SUCCESS
    })
}

/// Writes the plan where `args` say (a file, stdout as JSON) and shows it.
fn show(
    saved: &ops::SavedPlan,
    args: &PlanArgs,
    desired: &crate::model::DesiredState,
    shell: &Shell,
) -> Result<()> {
    let json = serde_json::to_string_pretty(saved)
        .map_err(|e| Error::internal("cannot encode the plan").caused_by(&e))?;
    // `--out -` is the saved plan on stdout, for a pipe; the rendering then goes to stderr.
    let out_file = args
        .out
        .as_deref()
        .filter(|p| *p != std::path::Path::new("-"));
    let out_stdout = args.out.is_some() && out_file.is_none();
    if let Some(path) = out_file {
        ops::write_saved_plan(path, &json)?;
    }
    if args.json || out_stdout {
        shell.out(&json);
    }
    if !args.json {
        let text = render::plan(
            saved,
            &RenderOptions {
                full_diff: args.full_diff,
                flows: &desired.flows,
            },
        );
        if out_stdout {
            shell.status(text.trim_end());
        } else {
            shell.out(text.trim_end());
        }
        if !args.target.is_empty() {
            shell.status("\nNote: this plan is limited by --target; other changes may be pending.");
        }
    }
    if let Some(path) = out_file {
        // A guarded delete is refused without the flag, so the command offered carries it.
        let guarded = saved.plan.changes.iter().any(|c| c.guard.is_some());
        shell.status(format!(
            "\nSaved the plan to `{}`. Apply exactly this plan with:\n  dmgmt apply -e {}{} {}",
            path.display(),
            desired.environment,
            if guarded { " --allow-delete" } else { "" },
            path.display()
        ));
    }
    Ok(())
}
