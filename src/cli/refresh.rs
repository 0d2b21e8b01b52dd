//! `dmgmt refresh`: record drift into the state.

use serde_json::json;

use super::args::RefreshArgs;
use super::render;
use super::shell::{Progress, Shell};
use super::{context, desired_state, interruptible};
use crate::config::Project;
use crate::error::Result;
use crate::ops;
use crate::state::WriteOutcome;

pub(crate) fn run(project: &Project, args: &RefreshArgs, shell: &Shell) -> Result<i32> {
    let desired = desired_state(project, &args.env.env, shell)?;
    let env_lookup = |v: &str| std::env::var(v).ok();
    let ctx = context(project, &env_lookup, args.lock.lock_timeout, shell);
    super::announce_lock_wait(shell, &ctx, &desired.environment);
    let refreshing = format!(
        "Refreshing `{}` (project {})...",
        desired.environment, desired.project_id
    );
    let progress = Progress::announcing(shell, "flows", refreshing);
    let outcome = interruptible(ops::refresh_environment(
        &ctx,
        &desired,
        args.detailed_exitcode,
        args.allow_mass_forget,
        &progress,
    ));
    progress.finish();
    let outcome = super::audited(shell, outcome?);
    if let Some(v) = outcome.refused {
        if args.json {
            let doc = json!({
                "format_version": 1,
                "environment": desired.environment,
                "project_id": desired.project_id,
                "refused": {"vanished": v},
                "drift": outcome.drift,
                "state_written": false,
                "serial": outcome.serial,
            });
            shell.out(serde_json::to_string_pretty(&doc).unwrap_or_default());
        }
        shell.error(&mass_forget(&desired, v));
        return Ok(outcome.exit_code);
    }

    if args.json {
        let doc = json!({
            "format_version": 1,
            "environment": desired.environment,
            "project_id": desired.project_id,
            "drift": outcome.drift,
            "unmanaged": outcome.unmanaged,
            "state_written": matches!(outcome.written, WriteOutcome::Written { .. }),
            "serial": outcome.serial,
        });
        shell.out(serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else {
        let mut text = String::new();
        if !outcome.had_state {
            text.push_str(&format!(
                "No state yet for `{}`: nothing to compare drift against; this refresh records the first state.\n\n",
                desired.environment
            ));
        } else if outcome.drift.is_empty() {
            text.push_str(&format!(
                "No drift: the live project of `{}` matches the last state.\n\n",
                desired.environment
            ));
        } else {
            text.push_str("Objects have changed outside of dmgmt since the last state:\n\n");
            for d in &outcome.drift {
                text.push_str(&render::drift(d, false));
            }
        }
        text.push_str(&render::unmanaged(&outcome.unmanaged, &Default::default()));
        text.push_str(&match outcome.written {
            WriteOutcome::Written { serial } => format!(
                "State of `{}` written (serial {serial}).",
                desired.environment
            ),
            WriteOutcome::Unchanged => format!(
                "State of `{}` unchanged (serial {}).",
                desired.environment, outcome.serial
            ),
        });
        shell.out(text.trim_end());
    }
    Ok(outcome.exit_code)
}

/// Why a refresh that found most of the managed objects gone recorded nothing.
fn mass_forget(desired: &crate::model::DesiredState, v: ops::Vanished) -> crate::Error {
    crate::Error::config(format!(
        "refusing to record the refresh: {} of the {} objects dmgmt manages in `{}` are gone from project {}",
        v.gone, v.managed, desired.environment, desired.project_id
    ))
    .cause("recording it would empty the state, and the next plan would create everything again; nothing was written")
    .hint(format!(
        "check `project_id` and `base_url` of `{}`; if the objects really were deleted, run `dmgmt refresh -e {} --allow-mass-forget`",
        desired.environment, desired.environment
    ))
}
