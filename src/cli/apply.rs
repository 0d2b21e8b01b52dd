//! `dmgmt apply -e ENV [PLAN_FILE]`: show the plan, have it approved, apply it, and say what
//! happened (DESIGN.md §5, §7).
//!
//! Ctrl-C while refreshing or at the prompt ends the command at once (exit 130; nothing was
//! applied, the lock is released). Once changes run, the first Ctrl-C stops scheduling and lets
//! the calls in flight finish (the state is written after each), the second exits at once: every
//! state write is atomic, so the state is valid either way.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use serde_json::json;

use super::args::ApplyArgs;
use super::render::{self, RenderOptions};
use super::shell::{Progress, Shell};
use super::{context, desired_state};
use crate::api::ApiError;
use crate::apply::{ApplyObserver, ApplyReport, Outcome};
use crate::config::Project;
use crate::error::{Error, ErrorKind, Result, exit};
use crate::model::DesiredState;
use crate::ops::{self, SavedPlan};
use crate::plan::Change;

pub fn run(project: &Project, args: &ApplyArgs, shell: &Shell) -> Result<i32> {
    let desired = desired_state(project, &args.env.env, shell)?;
    let saved = args
        .plan_file
        .as_deref()
        .map(ops::read_saved_plan)
        .transpose()?;
    let env_lookup = |v: &str| std::env::var(v).ok();
    let ctx = context(project, &env_lookup, args.lock.lock_timeout, shell);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::internal("cannot start the async runtime").caused_by(&e))?;
    let started = Instant::now();
    let result = runtime.block_on(apply(&ctx, &desired, args, saved, shell));
    // A prompt or lock wait still running on the blocking pool must not hold up the exit.
    runtime.shutdown_background();
    let (code, record) = match result {
        Ok(done) => (done.code, done.record),
        Err((err, record)) => {
            let code = err.exit_code();
            shell.error(&err);
            (code, record)
        }
    };
    if let Some(mut record) = record {
        record.exit_code = code;
        record.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        super::record_audit(shell, &ctx.state_dir, &record);
    }
    Ok(code)
}

/// How an apply ended, and its audit line (`None`: it never got the lock, so nothing to record).
struct Done {
    code: i32,
    record: Option<crate::state::audit::AuditRecord>,
}

type Failed = (Error, Option<crate::state::audit::AuditRecord>);

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
        if args.json {
            shell.out(report_json(
                desired,
                &prepared.saved,
                None,
                None,
                exit::SUCCESS,
            ));
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
        let approved = tokio::select! {
            biased;
            () = ctrl_c() => Err(ops::apply::interrupted_before_applying()),
            answer = confirm(desired) => answer,
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

    let stop = Arc::new(AtomicBool::new(false));
    let listener = tokio::spawn(watch_interrupts(stop.clone(), shell.quiet()));
    let observer = ApplyProgress::new(shell, prepared.saved.plan.changes.len());
    let options = ops::apply::ApplyOptions {
        allow_delete: args.allow_delete,
        parallelism: args.parallelism,
    };
    let outcome = ops::apply::run(prepared, desired, ctx, &options, &stop, &observer).await;
    listener.abort();
    observer.finish();
    let outcome = outcome.map_err(|e| (e, audit(None)))?;
    let code = outcome.exit_code();
    let record = Some(ops::apply::audit_record(
        desired,
        Some(&saved),
        Some(&outcome.report),
        outcome.duration,
        code,
    ));
    if args.json {
        shell.out(report_json(
            desired,
            &saved,
            Some(&outcome.report),
            outcome.backup.as_ref().map(|b| b.id.as_str()),
            code,
        ));
    } else {
        shell.status(summary(&outcome, &saved));
    }
    if let Some(e) = outcome.state_error {
        shell.error(&e);
    }
    Ok(Done { code, record })
}

/// The closing lines: counts, duration, the backup and the state's serial.
fn summary(outcome: &ops::apply::ApplyOutcome, saved: &SavedPlan) -> String {
    let counts = Counts::of(&outcome.report);
    let mut text = String::new();
    let head = if outcome.report.interrupted {
        "Apply interrupted!"
    } else if counts.failed + counts.skipped > 0 {
        "Apply finished with errors."
    } else {
        "Apply complete!"
    };
    text.push_str(&format!(
        "\n{head} {} applied, {} failed, {} skipped{} ({} changes, {:.1} s).",
        counts.applied,
        counts.failed,
        counts.skipped,
        if counts.not_started > 0 {
            format!(", {} not started", counts.not_started)
        } else {
            String::new()
        },
        saved.plan.changes.len(),
        outcome.duration.as_secs_f64()
    ));
    if let Some(backup) = &outcome.backup {
        text.push_str(&format!(
            "\nPre-apply backup: {} ({}).",
            backup.path.display(),
            super::plural(backup.files, "object")
        ));
    }
    text.push_str(&format!(
        "\nState of `{}` at serial {}.",
        saved.environment, outcome.serial
    ));
    if counts.failed + counts.skipped + counts.not_started > 0 {
        text.push_str(&format!(
            "\nThe state holds every change that succeeded: `dmgmt plan -e {}` shows what remains.",
            saved.environment
        ));
    }
    text
}

#[derive(Default)]
struct Counts {
    applied: usize,
    failed: usize,
    skipped: usize,
    not_started: usize,
}

impl Counts {
    fn of(report: &ApplyReport) -> Self {
        let mut c = Counts::default();
        for o in &report.outcomes {
            match o {
                Outcome::Applied => c.applied += 1,
                Outcome::Failed(_) => c.failed += 1,
                Outcome::Skipped { .. } => c.skipped += 1,
                Outcome::NotStarted => c.not_started += 1,
            }
        }
        c
    }
}

/// The `--json` document: the plan applied and what each change came to.
fn report_json(
    desired: &DesiredState,
    saved: &SavedPlan,
    report: Option<&ApplyReport>,
    backup: Option<&str>,
    code: i32,
) -> String {
    let record = ops::apply::audit_record(desired, Some(saved), report, Default::default(), code);
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

/// Asks for approval on the terminal: `yes`, or the environment's name when it is protected.
/// Without a terminal there is no one to ask: refused.
async fn confirm(desired: &DesiredState) -> Result<bool> {
    if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        return Err(Error::config(
            "refusing to apply without confirmation: there is no terminal to ask on",
        )
        .hint("review the plan, then run again with --auto-approve, or apply a saved plan (`dmgmt plan --out FILE`, then `dmgmt apply -e ENV FILE`)"));
    }
    let (prompt, expected) = if desired.protected {
        (
            format!(
                "`{}` is protected. Type its name to apply these changes",
                desired.environment
            ),
            desired.environment.clone(),
        )
    } else {
        (
            "Do you want to apply these changes? Only 'yes' will be accepted".to_owned(),
            "yes".to_owned(),
        )
    };
    let answer = tokio::task::spawn_blocking(move || {
        dialoguer::Input::<String>::new()
            .with_prompt(prompt)
            .allow_empty(true)
            .interact_text()
    })
    .await
    .map_err(|e| Error::internal("the confirmation prompt failed").caused_by(&e))?
    .map_err(|e| Error::new(ErrorKind::Io, "cannot read the confirmation").caused_by(&e))?;
    Ok(answer.trim() == expected)
}

/// Ctrl-C as a future that never resolves when no handler can be installed.
async fn ctrl_c() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// First Ctrl-C: stop scheduling (in-flight calls finish, the state is written after each).
/// Second: exit at once.
async fn watch_interrupts(stop: Arc<AtomicBool>, quiet: bool) {
    ctrl_c().await;
    stop.store(true, Ordering::SeqCst);
    if !quiet {
        eprintln!(
            "\nStopping: no new change will start; waiting for the calls in flight. Press Ctrl-C again to quit at once (the state is saved after every change)."
        );
    }
    ctrl_c().await;
    std::process::exit(exit::INTERRUPTED);
}

/// Progress of the changes: a bar (count, rate, ETA) on a terminal, plain lines otherwise; a line
/// for every failure and skip either way.
struct ApplyProgress {
    bar: Option<indicatif::ProgressBar>,
    quiet: bool,
}

impl ApplyProgress {
    fn new(shell: &Shell, total: usize) -> Self {
        let bar = (shell.is_terminal() && !shell.quiet()).then(|| {
            let bar = indicatif::ProgressBar::with_draw_target(
                Some(total as u64),
                indicatif::ProgressDrawTarget::stderr(),
            );
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "  applying {bar:30} {pos}/{len} ({per_sec}, ETA {eta})",
            ) {
                bar.set_style(style);
            }
            bar
        });
        ApplyProgress {
            bar,
            quiet: shell.quiet(),
        }
    }

    fn line(&self, text: String) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None if !self.quiet => eprintln!("{text}"),
            None => {}
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl ApplyObserver for ApplyProgress {
    fn applied(&self, _index: usize, change: &Change, _live: Option<&serde_json::Value>) {
        match &self.bar {
            Some(bar) => bar.inc(1),
            None => self.line(format!("  {}: {}", change.addr, done_verb(change))),
        }
    }

    fn failed(&self, _index: usize, change: &Change, error: &ApiError) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
        // Errors always show, even with -q.
        let text = format!("  {}: failed: {error}", change.addr);
        match &self.bar {
            Some(bar) => bar.println(text),
            None => eprintln!("{text}"),
        }
    }

    fn skipped(&self, _index: usize, change: &Change, _blocked_by: usize) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
        self.line(format!(
            "  {}: skipped (a change it depends on did not succeed)",
            change.addr
        ));
    }

    fn note(&self, message: &str) {
        self.line(format!("  {message}"));
    }
}

fn done_verb(change: &Change) -> &'static str {
    use crate::plan::Action;
    match change.action {
        Action::Create => "created",
        Action::Update => "updated",
        Action::Rename { .. } => "renamed",
        Action::Delete => "destroyed",
        Action::Adopt if change.calls_api() => "adopted and updated",
        Action::Adopt => "adopted",
        Action::SetDefaultRoles => "default roles set",
        Action::Forget => "no longer managed",
    }
}
