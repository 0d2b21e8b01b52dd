//! Running approved changes, for every command that changes Descope (`apply`, `restore`): the
//! confirmation prompt, Ctrl-C while the changes run, progress, and the closing summary.
//!
//! Ctrl-C while refreshing or at the prompt ends the command at once (nothing was changed, the
//! lock is released). Once changes run, the first Ctrl-C stops scheduling and lets the calls in
//! flight finish (the state is written after each), the second exits at once: every state write
//! is atomic, so the state is valid either way.

use std::future::Future;
use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::shell::Shell;
use crate::api::ApiError;
use crate::apply::{ApplyObserver, ApplyReport, Outcome};
use crate::error::{Error, ErrorKind, Result, exit};
use crate::model::DesiredState;
use crate::ops;
use crate::ops::change::{Pending, Planner};
use crate::plan::{Change, ChangeId};

/// How a changing command ended: its exit code, or its error; each with why its audit line is
/// missing if it could not be written.
pub(super) type Ended = std::result::Result<ops::Recorded<i32>, ops::Failed>;

/// Runs a changing command's async work on its own runtime, prints its error, and says so when
/// its audit line (appended by the work) could not be written.
pub(super) fn run_audited(shell: &Shell, work: impl Future<Output = Ended>) -> Result<i32> {
    Ok(match super::block_on(work)? {
        Ok(done) => super::audited(shell, done),
        Err(ops::Failed { error, audit }) => {
            shell.error(&error);
            let value = error.exit_code();
            super::audited(shell, ops::Recorded { value, audit })
        }
    })
}

/// What the closing summary is about: `Apply` or `Restore`, and its backup's trigger.
pub(super) struct Wording {
    pub(crate) title: &'static str,
    pub(crate) backup: &'static str,
}

pub(super) const APPLY: Wording = Wording {
    title: "Apply",
    backup: "Pre-apply",
};

pub(super) const RESTORE: Wording = Wording {
    title: "Restore",
    backup: "Pre-restore",
};

/// The closing lines: counts, duration, the backup, the backups pruned and the state's serial.
pub(super) fn summary(
    outcome: &ops::change::ApplyOutcome,
    environment: &str,
    total: usize,
    wording: &Wording,
) -> String {
    let counts = Counts::of(&outcome.report);
    let mut text = String::new();
    let title = wording.title;
    let head = if outcome.report.interrupted {
        format!("{title} interrupted!")
    } else if counts.failed + counts.skipped + counts.not_started > 0
        || outcome.state_error.is_some()
    {
        format!("{title} finished with errors.")
    } else {
        format!("{title} complete!")
    };
    text.push_str(&format!(
        "\n{head} {} applied, {} failed, {} skipped{} ({total} change{}, {:.1} s).",
        counts.applied,
        counts.failed,
        counts.skipped,
        if counts.not_started > 0 {
            format!(", {} not started", counts.not_started)
        } else {
            String::new()
        },
        if total == 1 { "" } else { "s" },
        outcome.duration.as_secs_f64()
    ));
    if let Some(backup) = &outcome.backup {
        text.push_str(&format!(
            "\n{} backup: {} ({}).",
            wording.backup,
            backup.path.display(),
            super::plural(backup.files, "object")
        ));
    }
    if !outcome.pruned.is_empty() {
        text.push_str(&format!(
            "\nRetention removed {}: {}.",
            super::plural(outcome.pruned.len(), "old backup"),
            outcome.pruned.join(", ")
        ));
    }
    text.push_str(&format!(
        "\nState of `{environment}` at serial {}.",
        outcome.serial
    ));
    if counts.failed + counts.skipped + counts.not_started > 0 {
        text.push_str(&format!(
            "\nThe state holds every change that succeeded: `dmgmt plan -e {environment}` shows what remains."
        ));
    }
    text
}

#[derive(Default)]
pub(super) struct Counts {
    pub(crate) applied: usize,
    pub(crate) failed: usize,
    pub(crate) skipped: usize,
    pub(crate) not_started: usize,
}

impl Counts {
    pub(crate) fn of(report: &ApplyReport) -> Self {
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

/// Ctrl-C during the refresh or at the prompt: nothing changed in Descope, nothing was `done`
/// (`applied`, `restored`).
pub(super) fn interrupted(done: &str) -> Error {
    let message = format!("interrupted by Ctrl-C; nothing was {done}");
    Error::new(ErrorKind::Interrupted, message)
}

/// Has `pending` approved, unless it needs no approval (a saved plan) or `auto_approve`: a no,
/// a prompt that fails or Ctrl-C (nothing was `done`) ends the command, its audit line appended.
/// `no_terminal`: what to do instead when there is no terminal to ask on. `insist`: why the
/// question is asked even so (a plan that re-creates most of a protected project): the error
/// that refuses the command when there is no terminal.
pub(super) async fn approve<'c, P: Planner>(
    pending: Pending<'c, P>,
    desired: &DesiredState,
    no_terminal: &str,
    auto_approve: bool,
    done: &str,
    insist: Option<Error>,
) -> std::result::Result<Pending<'c, P>, ops::Failed> {
    if insist.is_none() && (auto_approve || !pending.needs_approval()) {
        return Ok(pending);
    }
    let approved = tokio::select! {
        biased;
        () = ctrl_c() => Err(interrupted(done)),
        answer = confirm(desired, P::COMMAND, no_terminal, insist) => answer,
    };
    match approved {
        Ok(Answer::Approved) => Ok(pending),
        Ok(Answer::Declined(why)) => Err(pending.cancel(why)),
        Ok(Answer::Refused(e)) => Err(pending.refuse(e)),
        Err(e) => Err(pending.abandon(e)),
    }
}

/// What came of the confirmation prompt.
enum Answer {
    Approved,
    /// Anything but the expected answer; with what was expected when the answer looks like a
    /// mistake (`yes` where the environment's name was asked for).
    Declined(Option<String>),
    /// There is no terminal to ask on.
    Refused(Error),
}

/// Asks for approval on the terminal: `yes`, or the environment's name when it is protected.
/// Without a terminal there is no one to ask: refused (with `insist`, if given).
async fn confirm(
    desired: &DesiredState,
    verb: &str,
    no_terminal: &str,
    insist: Option<Error>,
) -> Result<Answer> {
    if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        return Ok(Answer::Refused(insist.unwrap_or_else(|| {
            Error::config(format!(
                "refusing to {verb} without confirmation: there is no terminal to ask on"
            ))
            .hint(no_terminal)
        })));
    }
    let (prompt, expected) = if desired.protected {
        (
            format!(
                "`{}` is protected. Type its name to {verb} these changes",
                desired.environment
            ),
            desired.environment.clone(),
        )
    } else {
        (
            format!("Do you want to {verb} these changes? Only 'yes' will be accepted"),
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
    let answer = answer.trim();
    Ok(if answer == expected {
        Answer::Approved
    } else if desired.protected && answer.eq_ignore_ascii_case("yes") {
        Answer::Declined(Some(format!(
            "`{env}` is protected, so the prompt expected its name, `{env}`, not `yes`",
            env = desired.environment
        )))
    } else {
        Answer::Declined(None)
    })
}

/// The approved changes running: Ctrl-C watched (first: stop scheduling; second: exit at once)
/// and progress drawn. [`Running::finish`] ends both.
pub(super) struct Running {
    stop: Arc<AtomicBool>,
    listener: tokio::task::JoinHandle<()>,
    pub(crate) progress: ApplyProgress,
}

impl Running {
    pub(crate) fn start(shell: &Shell, total: usize) -> Running {
        let stop = Arc::new(AtomicBool::new(false));
        let listener = tokio::spawn(watch_interrupts(stop.clone(), shell.quiet()));
        Running {
            stop,
            listener,
            progress: ApplyProgress::new(shell, total),
        }
    }

    pub(crate) fn stop(&self) -> &AtomicBool {
        &self.stop
    }

    pub(crate) fn finish(self) {
        self.listener.abort();
        self.progress.finish();
    }
}

/// Ctrl-C as a future that never resolves when no handler can be installed.
pub(super) async fn ctrl_c() {
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
pub(super) struct ApplyProgress {
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
                "  applying {bar:30} {pos}/{len} ({rate}, ETA {eta})",
            ) {
                let style = style.with_key(
                    "rate",
                    |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                        let _ = w.write_str(&rate(state.per_sec()));
                    },
                );
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

/// Changes per second as the progress bar shows it: whole numbers (`59/s`, not indicatif's
/// `58.796/s`), one decimal below 10.
fn rate(per_sec: f64) -> String {
    if !per_sec.is_finite() || per_sec <= 0.0 {
        "0/s".to_owned()
    } else if per_sec < 10.0 {
        format!("{per_sec:.1}/s")
    } else {
        format!("{per_sec:.0}/s")
    }
}

impl ApplyObserver for ApplyProgress {
    fn applied(&self, _id: ChangeId, change: &Change, _live: Option<&serde_json::Value>) {
        match &self.bar {
            Some(bar) => bar.inc(1),
            None => self.line(format!("  {}: {}", change.addr, done_verb(change))),
        }
    }

    fn failed(&self, _id: ChangeId, change: &Change, error: &ApiError) {
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

    fn skipped(&self, _id: ChangeId, change: &Change, _blocked_by: ChangeId) {
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
        Action::SetSettings => "settings set",
        Action::Forget => "no longer managed",
    }
}

#[cfg(test)]
mod tests {
    use super::rate;

    #[test]
    fn the_rate_is_rounded() {
        assert_eq!(rate(58.796), "59/s");
        assert_eq!(rate(4.26), "4.3/s");
        assert_eq!(rate(0.0), "0/s");
        assert_eq!(rate(f64::NAN), "0/s");
    }
}
