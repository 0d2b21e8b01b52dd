//! The executor: runs a [`Plan`] against Descope through the [`Provider`] trait and reports every
//! change's outcome through an [`ApplyObserver`] (docs/architecture.md).
//!
//! It makes no choices the plan did not make: it sends what each change says, in dependency order,
//! up to `parallelism` calls at once (every call paced by the client's one rate limiter), coalesces
//! independent role and permission changes into batch calls, and skips what depends on a failure
//! while independent branches go on. Its one judgement is about lost replies: a mutation that
//! failed in a way that may have been applied is read back before it is resent, and accepted when
//! Descope already holds what it asked for (see `single.rs`).
//!
//! It must not read files, write state or print: the caller persists state in
//! [`ApplyObserver::applied`] and the CLI draws progress from the same calls.

mod batch;
mod fresh;
mod readback;
mod rebase;
mod request;
mod scheduler;
mod single;

#[cfg(test)]
mod fake;
#[cfg(test)]
mod fake_data;
#[cfg(test)]
mod fake_provider;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_faults;
#[cfg(test)]
mod tests_requests;

use std::sync::atomic::AtomicBool;

use serde::Serialize;
use serde_json::Value;

use crate::api::{ApiError, Provider};
use crate::plan::{Change, ChangeId, Plan};

/// How the executor runs a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecuteOptions {
    /// Calls in flight at once (a batch counts once). At least 1.
    pub parallelism: usize,
    /// Most changes coalesced into one batch call. Default 100; 1 turns batching off.
    pub batch_size: usize,
    /// Resends of one change after a failure that may have been applied (a 5xx, a lost
    /// connection), each after reading the object back. Default 4.
    pub attempts: u32,
}

impl Default for ExecuteOptions {
    fn default() -> Self {
        ExecuteOptions {
            parallelism: 4,
            batch_size: 100,
            attempts: 4,
        }
    }
}

/// What the executor reports while it runs (the orchestration persists state, the CLI draws).
pub trait ApplyObserver: Sync {
    /// The change is about to be sent (alone or in a batch).
    fn started(&self, _id: ChangeId, _change: &Change) {}
    /// Called once per change that succeeded, as soon as it did (the caller records it here,
    /// without waiting for the disk: see [`settle`](Self::settle)). `live` is what Descope holds now: the body read back, or the body
    /// sent when that is provably what Descope holds; `None` for a delete or a forget.
    fn applied(&self, id: ChangeId, change: &Change, live: Option<&Value>);
    /// Several changes that make no call (adoptions without differences, forgets) succeeded at
    /// once: the caller may record them in one write. Each is as [`applied`](Self::applied).
    fn applied_together(&self, changes: &[(ChangeId, &Change, Option<&Value>)]) {
        for &(id, change, live) in changes {
            self.applied(id, change, live);
        }
    }
    /// The change failed for good, with Descope's error.
    fn failed(&self, id: ChangeId, change: &Change, error: &ApiError);
    /// `blocked_by`: the failed (or skipped) change it depends on.
    fn skipped(&self, id: ChangeId, change: &Change, blocked_by: ChangeId);
    /// A 429 pause, a resend after a lost reply, a fallback from a batch to single calls.
    fn note(&self, _message: &str) {}
    /// Awaited before more changes are sent: resolves once what [`applied`](Self::applied)
    /// recorded so far is durable (the caller may record in the background, as long as the run
    /// goes on with dependents only after this).
    fn settle(&self) -> futures_util::future::BoxFuture<'_, ()> {
        Box::pin(std::future::ready(()))
    }
}

/// What became of one change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", content = "detail", rename_all = "snake_case")]
pub enum Outcome {
    Applied,
    /// Failed for good; Descope's error (status, `errorCode`, `errorDescription`).
    Failed(String),
    /// Not sent because a change it depends on failed or was skipped.
    Skipped {
        blocked_by: ChangeId,
    },
    /// Not sent because the run was stopped first.
    NotStarted,
}

/// The result of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApplyReport {
    /// One per change of the plan, in the same order (see [`ApplyReport::outcome`]).
    pub outcomes: Vec<Outcome>,
    /// Stopped before every change was started (`stop` was set).
    pub interrupted: bool,
    /// Mutating calls sent, resends included; a batch counts once.
    pub calls: u64,
}

impl ApplyReport {
    /// What became of change `id` (`None` when the report is of another plan).
    pub(crate) fn outcome(&self, id: ChangeId) -> Option<&Outcome> {
        self.outcomes.get(id.index())
    }

    /// Every change applied.
    pub fn is_success(&self) -> bool {
        self.outcomes.iter().all(|o| *o == Outcome::Applied)
    }
}

/// Runs `plan` (ordered, `depends_on` filled, guards already checked by the caller). A plan that
/// is not valid ([`Plan::validate`]) is refused before anything is sent.
///
/// `stop` set (the first Ctrl-C): nothing new is scheduled, calls in flight finish and are
/// reported, every change not started is [`Outcome::NotStarted`] and the report is `interrupted`.
pub async fn execute(
    provider: &dyn Provider,
    plan: &Plan,
    options: &ExecuteOptions,
    stop: &AtomicBool,
    observer: &dyn ApplyObserver,
) -> Result<ApplyReport, crate::plan::InvalidPlan> {
    scheduler::run(provider, plan, options, stop, observer).await
}
