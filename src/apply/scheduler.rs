//! The walk over the plan's dependency graph (after cargo's `dependency_queue` and terraform's
//! `dag/walk.go`): ready changes are dispatched in plan order as their dependencies succeed, up to
//! `parallelism` units (a single change or a batch) in flight; a failure skips everything that
//! depends on it, transitively, while independent branches go on; `stop` schedules nothing new.

use std::collections::{BTreeSet, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use serde_json::Value;

use super::fresh::TenantReads;
use super::request::BatchKey;
use super::{ApplyObserver, ApplyReport, ExecuteOptions, Outcome, batch, single};
use crate::api::{ApiError, Provider};
use crate::plan::{Action, Change, ChangeId, InvalidPlan, Plan};

/// What every unit of work shares.
pub(crate) struct Ctx<'a> {
    pub(crate) provider: &'a dyn Provider,
    pub(crate) options: ExecuteOptions,
    observer: &'a dyn ApplyObserver,
    calls: AtomicU64,
    /// The tenants the run's updates are rebased on.
    pub(crate) tenants: TenantReads,
}

impl Ctx<'_> {
    /// Counts a mutating call that left the client.
    pub(crate) fn count<T>(&self, result: &Result<T, ApiError>) {
        if result.as_ref().err().is_none_or(ApiError::was_sent) {
            self.calls.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn note(&self, message: String) {
        self.observer.note(&message);
    }
}

/// What one unit of work reports: the outcome of each change it settled, and the members of a
/// failed batch that must be sent one by one.
#[derive(Default)]
pub(crate) struct UnitDone {
    pub(crate) results: Vec<(ChangeId, Result<Option<Value>, ApiError>)>,
    pub(crate) singles: Vec<ChangeId>,
}

enum Unit {
    Single(ChangeId),
    Batch(BatchKey, Vec<ChangeId>),
}

/// The change `id` of `plan`, for the run: [`run`] refuses a plan that is not valid before
/// anything is scheduled, and hands out only the ids of its changes, so every id is in range.
pub(crate) fn scheduled(plan: &Plan, id: ChangeId) -> &Change {
    plan.change(id)
        .expect("the run schedules only the ids of a validated plan")
}

async fn run_unit(ctx: &Ctx<'_>, plan: &Plan, unit: Unit) -> UnitDone {
    match unit {
        Unit::Single(id) => UnitDone {
            results: vec![(id, single::apply(ctx, scheduled(plan, id)).await)],
            singles: Vec::new(),
        },
        Unit::Batch(key, members) => batch::apply(ctx, plan, &key, &members).await,
    }
}

/// The scheduler's bookkeeping, indexed by [`ChangeId::index`].
struct Walk<'a> {
    plan: &'a Plan,
    observer: &'a dyn ApplyObserver,
    outcomes: Vec<Option<Outcome>>,
    /// Dependencies of each change not yet applied.
    waiting: Vec<usize>,
    dependents: Vec<Vec<ChangeId>>,
    /// Changes that call Descope whose dependencies are all applied.
    ready: BTreeSet<ChangeId>,
    /// Changes that make no call whose dependencies are all applied (reported together).
    free: Vec<ChangeId>,
    /// Members of a failed batch: sent alone from now on.
    alone: HashSet<ChangeId>,
    started: Vec<bool>,
    /// Changes applied since the observer last settled: a change depending on one of them waits
    /// until they are durable.
    unsettled: HashSet<ChangeId>,
}

impl<'a> Walk<'a> {
    /// The walk over `plan`, which must be valid: a dependency that names no change of the plan
    /// is refused, never dropped (a dropped dependency would send a change before what it needs).
    fn new(plan: &'a Plan, observer: &'a dyn ApplyObserver) -> Result<Self, InvalidPlan> {
        plan.validate()?;
        let n = plan.changes.len();
        let mut waiting = vec![0; n];
        let mut dependents = vec![Vec::new(); n];
        for (id, change) in plan.iter() {
            let deps: BTreeSet<ChangeId> = change.depends_on.iter().copied().collect();
            waiting[id.index()] = deps.len();
            for d in deps {
                dependents[d.index()].push(id);
            }
        }
        let (ready, free): (Vec<ChangeId>, Vec<ChangeId>) = plan
            .iter()
            .filter(|(id, _)| waiting[id.index()] == 0)
            .map(|(id, _)| id)
            .partition(|id| scheduled(plan, *id).calls_api());
        let ready = ready.into_iter().collect();
        Ok(Walk {
            plan,
            observer,
            outcomes: vec![None; n],
            waiting,
            dependents,
            ready,
            free,
            alone: HashSet::new(),
            started: vec![false; n],
            unsettled: HashSet::new(),
        })
    }

    fn start(&mut self, id: ChangeId) {
        if !std::mem::replace(&mut self.started[id.index()], true) {
            self.observer.started(id, scheduled(self.plan, id));
        }
    }

    fn applied(&mut self, id: ChangeId, live: Option<&Value>) {
        self.observer.applied(id, scheduled(self.plan, id), live);
        self.mark_applied(id);
    }

    /// Every ready change that makes no call (an adoption without differences, a forget),
    /// reported to the observer together, round after round while they make others ready.
    fn apply_without_calls(&mut self) {
        while !self.free.is_empty() {
            let plan = self.plan;
            let mut ids = std::mem::take(&mut self.free);
            ids.sort();
            let done: Vec<(ChangeId, &Change, Option<&Value>)> = ids
                .iter()
                .map(|&id| {
                    self.start(id);
                    let change = scheduled(plan, id);
                    let live = match change.action {
                        Action::Forget => None,
                        _ => change.before.as_ref(),
                    };
                    (id, change, live)
                })
                .collect();
            self.observer.applied_together(&done);
            ids.into_iter().for_each(|id| self.mark_applied(id));
        }
    }

    fn mark_applied(&mut self, id: ChangeId) {
        self.outcomes[id.index()] = Some(Outcome::Applied);
        self.unsettled.insert(id);
        for k in 0..self.dependents[id.index()].len() {
            let d = self.dependents[id.index()][k];
            self.waiting[d.index()] -= 1;
            if self.waiting[d.index()] == 0 && self.outcomes[d.index()].is_none() {
                match scheduled(self.plan, d).calls_api() {
                    true => self.ready.insert(d),
                    false => {
                        self.free.push(d);
                        true
                    }
                };
            }
        }
    }

    fn failed(&mut self, id: ChangeId, error: &ApiError) {
        self.observer.failed(id, scheduled(self.plan, id), error);
        self.outcomes[id.index()] = Some(Outcome::Failed(error.to_string()));
        let mut blocked = vec![id];
        while let Some(b) = blocked.pop() {
            for k in 0..self.dependents[b.index()].len() {
                let d = self.dependents[b.index()][k];
                if self.outcomes[d.index()].is_none() {
                    self.outcomes[d.index()] = Some(Outcome::Skipped { blocked_by: b });
                    self.ready.remove(&d);
                    self.observer.skipped(d, scheduled(self.plan, d), b);
                    blocked.push(d);
                }
            }
        }
    }

    /// Whether `unit` depends on a change whose recording may not be durable yet.
    fn needs_settle(&self, unit: &Unit) -> bool {
        let members = match unit {
            Unit::Single(id) => std::slice::from_ref(id),
            Unit::Batch(_, members) => members.as_slice(),
        };
        members.iter().any(|m| {
            let deps = &scheduled(self.plan, *m).depends_on;
            deps.iter().any(|d| self.unsettled.contains(d))
        })
    }

    /// The next unit to send, or `None` when nothing that calls Descope is ready. Changes that
    /// make no call (an adoption without differences, a forget) succeed on the way.
    fn next_unit(&mut self, batch_size: usize) -> Option<Unit> {
        self.apply_without_calls();
        let first = self.ready.pop_first()?;
        let change = scheduled(self.plan, first);
        let key = BatchKey::of(change).filter(|_| batch_size > 1 && !self.alone.contains(&first));
        let Some(key) = key else {
            self.start(first);
            return Some(Unit::Single(first));
        };
        let mut members = vec![first];
        members.extend(
            self.ready
                .iter()
                .copied()
                .filter(|j| {
                    !self.alone.contains(j)
                        && BatchKey::of(scheduled(self.plan, *j)).as_ref() == Some(&key)
                })
                .take(batch_size - 1),
        );
        for &m in &members {
            self.ready.remove(&m);
            self.start(m);
        }
        Some(match members.len() {
            1 => Unit::Single(first),
            _ => Unit::Batch(key, members),
        })
    }
}

pub(crate) async fn run(
    provider: &dyn Provider,
    plan: &Plan,
    options: &ExecuteOptions,
    stop: &AtomicBool,
    observer: &dyn ApplyObserver,
) -> Result<ApplyReport, InvalidPlan> {
    let mut walk = Walk::new(plan, observer)?;
    let options = ExecuteOptions {
        parallelism: options.parallelism.max(1),
        batch_size: options.batch_size.max(1),
        attempts: options.attempts,
    };
    let ctx = Ctx {
        provider,
        options: options.clone(),
        observer,
        calls: AtomicU64::new(0),
        tenants: TenantReads::of(plan),
    };
    let mut in_flight = FuturesUnordered::new();
    loop {
        while in_flight.len() < options.parallelism && !stop.load(Ordering::SeqCst) {
            let Some(unit) = walk.next_unit(options.batch_size) else {
                break;
            };
            // What was recorded of the changes a unit depends on is durable before it is sent;
            // independent changes go on while the journal syncs (its group commit).
            if walk.needs_settle(&unit) {
                observer.settle().await;
                walk.unsettled.clear();
            }
            in_flight.push(run_unit(&ctx, plan, unit));
        }
        let Some(done) = in_flight.next().await else {
            break;
        };
        for (id, result) in done.results {
            match result {
                Ok(live) => walk.applied(id, live.as_ref()),
                Err(error) => walk.failed(id, &error),
            }
        }
        for id in done.singles {
            walk.alone.insert(id);
            walk.ready.insert(id);
        }
    }
    let outcomes: Vec<Outcome> = walk
        .outcomes
        .into_iter()
        .map(|o| o.unwrap_or(Outcome::NotStarted))
        .collect();
    let interrupted = stop.load(Ordering::SeqCst) && outcomes.contains(&Outcome::NotStarted);
    Ok(ApplyReport {
        outcomes,
        interrupted,
        calls: ctx.calls.load(Ordering::Relaxed),
    })
}
