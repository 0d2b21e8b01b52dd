//! `dmgmt import`: show what is live but unmanaged; with `--write`, add it to the configuration
//! and adopt it into the state.

use std::collections::BTreeMap;

use super::args::ImportArgs;
use super::shell::{Progress, Shell};
use super::{context, desired_state, interruptible, plural};
use crate::config::Project;
use crate::error::{Result, exit};
use crate::model::text::printable;
use crate::ops::import::{self, FileAction, ImportOutcome};
use crate::state::WriteOutcome;

pub(crate) fn run(project: &Project, args: &ImportArgs, shell: &Shell) -> Result<i32> {
    let desired = desired_state(project, &args.env.env, shell)?;
    let env_lookup = |v: &str| std::env::var(v).ok();
    let ctx = context(project, &env_lookup, args.lock.lock_timeout, shell);
    shell.status(format!(
        "Reading the whole live project of `{}` (project {})...",
        desired.environment, desired.project_id
    ));
    if args.write {
        super::announce_lock_wait(shell, &ctx, &desired.environment);
    }
    let progress = Progress::new(shell, "flows");
    let outcome = interruptible(import::import_environment(
        &ctx, project, &desired, args.write, &progress,
    ));
    progress.finish();
    let outcome = super::audited(shell, outcome?);
    shell.out(report(&desired.environment, &outcome).trim_end());
    Ok(exit::SUCCESS)
}

fn report(env: &str, outcome: &ImportOutcome) -> String {
    if outcome.objects.is_empty() {
        return format!(
            "Nothing to import: every live object of `{env}` is declared in its configuration or managed by dmgmt.\n"
        );
    }
    let mut by_kind: BTreeMap<_, usize> = BTreeMap::new();
    for a in &outcome.objects {
        *by_kind.entry(a.kind()).or_default() += 1;
    }
    let counts: Vec<String> = by_kind
        .iter()
        .map(|(k, n)| plural(*n, k.as_str()))
        .collect();
    let mut out = format!(
        "{} in Descope {} not managed by dmgmt ({}):\n",
        plural(outcome.objects.len(), "object"),
        if outcome.objects.len() == 1 {
            "is"
        } else {
            "are"
        },
        counts.join(", ")
    );
    for a in &outcome.objects {
        out.push_str(&format!("  + {}\n", printable(&a.to_string())));
    }
    out.push('\n');
    out.push_str(if outcome.written {
        "Wrote:\n"
    } else {
        "Import would write:\n"
    });
    for f in &outcome.files {
        let line = match f.action {
            FileAction::Create => format!("  create {}\n", f.path),
            FileAction::Update => format!("  update {}\n", f.path),
            FileAction::Include => {
                format!("  edit   {} (include: {})\n", f.path, outcome.generated)
            }
        };
        out.push_str(&line);
    }
    out.push('\n');
    match (&outcome.state, outcome.serial) {
        (Some(WriteOutcome::Written { serial }), _) => out.push_str(&format!(
            "Adopted {} into the state of `{env}` (serial {serial}). `dmgmt plan -e {env}` now shows them managed, with no changes.\n",
            plural(outcome.objects.len(), "object")
        )),
        (Some(WriteOutcome::Unchanged), serial) => out.push_str(&format!(
            "The state of `{env}` already held them (serial {}).\n",
            serial.unwrap_or(0)
        )),
        (None, _) => out.push_str(&format!(
            "Nothing was written. Run `dmgmt import -e {env} --write` to write these files and adopt the objects into the state of `{env}`.\n"
        )),
    }
    out
}
