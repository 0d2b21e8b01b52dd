//! The tenants the run's updates are rebased on (`rebase.rs`), read a few at a time when the run
//! goes fast.
//!
//! A tenant update is sent as the tenant Descope holds when it is sent, with the plan's changes
//! written over it. Reading each tenant alone just before its update doubled the calls of an
//! apply (1,000 renames cost 2,000 calls: 20 s at 100 requests per second instead of 10). So a
//! read fetches, with one `tenant/search` by ids, the tenant wanted and the next tenants the plan
//! updates, as many as the run sends updates in [`HORIZON`] (at most [`READ_AHEAD`]; one, a plain
//! load by id, while the run is slow). A body read ahead is used only within [`FRESH_FOR`] of its
//! read and only once, and otherwise read again: a console edit made more than that before a
//! tenant's update is kept, as it was when every tenant was read alone. A tenant the search does
//! not answer is loaded alone, and after a failed search every tenant is (a Descope that does not
//! filter by ids, or does not know the route, costs calls, never correctness).

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::Duration;

use tokio::time::Instant;

use crate::api::wire::Tenant;
use crate::api::{ApiError, Provider};
use crate::model::ResourceAddr;
use crate::plan::{Action, Plan};

/// Tenants read with one search, at most.
pub(crate) const READ_AHEAD: usize = 50;
/// A search reads the tenants the run will update within this time, at its recent pace.
pub(crate) const HORIZON: Duration = Duration::from_millis(250);
/// How long a tenant read ahead may wait for its update before it is read again: more than one
/// window of a rate limit that counts per second (a client at its limit sends a window's calls
/// together, then waits for the next window).
pub(crate) const FRESH_FOR: Duration = Duration::from_millis(1_500);
/// The window the run's pace is measured over.
const PACE_WINDOW: Duration = Duration::from_secs(1);

/// The tenants of the run's updates: which are still to be sent, and what was read ahead.
pub(crate) struct TenantReads {
    state: tokio::sync::Mutex<Reads>,
}

#[derive(Default)]
struct Reads {
    /// Ids of tenant updates not yet read, in the plan's order (the order they become ready in,
    /// mostly).
    pending: VecDeque<String>,
    /// Ids read (or being read) since they left `pending`.
    taken: HashSet<String>,
    read: HashMap<String, (Instant, Tenant)>,
    /// Set once a search failed (after the client's retries): Descope may not know the route;
    /// every tenant is then loaded alone.
    no_search: bool,
    /// When each of the last [`PACE_WINDOW`]'s reads was asked for.
    asked: VecDeque<Instant>,
}

impl TenantReads {
    /// The tenants `plan` updates (every other change reads nothing from here).
    pub(crate) fn of(plan: &Plan) -> TenantReads {
        let pending = plan
            .changes
            .iter()
            .filter(|c| matches!(c.action, Action::Update | Action::Adopt) && c.calls_api())
            .filter_map(|c| match &c.addr {
                ResourceAddr::Tenant(id) => Some(id.clone()),
                _ => None,
            })
            .collect();
        TenantReads {
            state: tokio::sync::Mutex::new(Reads {
                pending,
                ..Reads::default()
            }),
        }
    }

    /// Tenant `id` as Descope holds it now (`None`: it does not exist). Read ahead within
    /// [`FRESH_FOR`], or read now with the next tenants to update.
    pub(crate) async fn current(
        &self,
        provider: &dyn Provider,
        id: &str,
    ) -> Result<Option<Tenant>, ApiError> {
        let mut reads = self.state.lock().await;
        reads.pace(Instant::now());
        if let Some((at, tenant)) = reads.read.remove(id)
            && at.elapsed() <= FRESH_FOR
        {
            return Ok(Some(tenant));
        }
        let wanted = reads.next_batch(id);
        // Held across the search: a concurrent update of a tenant in this batch waits for it
        // rather than reading the same tenants again.
        let found = match wanted.len() > 1 && !reads.no_search {
            true => provider.search_tenants(&wanted).await.ok(),
            false => None,
        };
        reads.no_search |= found.is_none() && wanted.len() > 1;
        if let Some(found) = found {
            let now = Instant::now();
            for tenant in found {
                if wanted.contains(&tenant.id) {
                    reads.read.insert(tenant.id.clone(), (now, tenant));
                }
            }
            if let Some((_, tenant)) = reads.read.remove(id) {
                return Ok(Some(tenant));
            }
        }
        drop(reads);
        match provider.load_tenant(id).await {
            Ok(tenant) => Ok(Some(tenant)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }
}

impl Reads {
    /// Counts a read asked for `now`, forgetting those older than [`PACE_WINDOW`].
    fn pace(&mut self, now: Instant) {
        while self
            .asked
            .front()
            .is_some_and(|t| now.duration_since(*t) > PACE_WINDOW)
        {
            self.asked.pop_front();
        }
        self.asked.push_back(now);
    }

    /// `id` and the next pending tenants not read already: as many as the run reads in
    /// [`HORIZON`] at its pace over the last [`PACE_WINDOW`], at least one, at most
    /// [`READ_AHEAD`].
    fn next_batch(&mut self, id: &str) -> Vec<String> {
        let per_window = self.asked.len() as f64;
        let size = (per_window * HORIZON.as_secs_f64() / PACE_WINDOW.as_secs_f64()) as usize;
        let size = size.clamp(1, READ_AHEAD);
        self.taken.insert(id.to_owned());
        let mut wanted = vec![id.to_owned()];
        while wanted.len() < size {
            let Some(next) = self.pending.pop_front() else {
                break;
            };
            if self.taken.insert(next.clone()) {
                wanted.push(next);
            }
        }
        wanted
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::apply::fake::{Fake, Fault};
    use crate::apply::tests::tenant_renames as updates;

    /// Reads for `ids`, at a pace of 100 a second (a search reads the next 25).
    async fn fast(ids: &[&str]) -> TenantReads {
        let reads = TenantReads::of(&updates(ids));
        let mut state = reads.state.lock().await;
        (0..100).for_each(|_| state.pace(Instant::now()));
        drop(state);
        reads
    }

    fn seeded(ids: &[&str]) -> Fake {
        let fake = Fake::new();
        for id in ids {
            fake.seed(
                "tenant",
                json!({"id": id, "name": "Old", "enforceSSO": true}),
            );
        }
        fake
    }

    #[tokio::test(start_paused = true)]
    async fn one_search_reads_the_next_tenants_and_each_is_used_once_while_fresh() {
        let ids = ["a", "b", "c"];
        let fake = seeded(&ids);
        let reads = fast(&ids).await;
        let a = reads.current(&fake, "a").await.unwrap().unwrap();
        assert_eq!((a.id.as_str(), a.enforce_sso), ("a", true));
        assert_eq!(fake.calls("search_tenants"), 1);
        assert_eq!(reads.current(&fake, "b").await.unwrap().unwrap().id, "b");
        assert_eq!(fake.calls("search_tenants") + fake.calls("load_tenant"), 1);
        // Used once: a second update of `b` reads it again.
        reads.current(&fake, "b").await.unwrap();
        assert_eq!(fake.calls("load_tenant"), 1);
        // Read ahead longer ago than FRESH_FOR: read again.
        tokio::time::advance(FRESH_FOR + Duration::from_millis(1)).await;
        reads.current(&fake, "c").await.unwrap();
        assert_eq!(fake.calls("load_tenant"), 2);
        assert_eq!(fake.calls("search_tenants"), 1);
    }

    #[tokio::test]
    async fn after_a_failed_search_every_tenant_is_loaded_alone() {
        let ids = ["a", "b", "c"];
        let fake = seeded(&ids);
        let reads = fast(&ids).await;
        let refused = Fault::Refuse {
            status: 404,
            code: "E000404",
        };
        fake.fault(Some("search_tenants"), None, refused, 1);
        assert_eq!(reads.current(&fake, "a").await.unwrap().unwrap().id, "a");
        assert_eq!(reads.current(&fake, "b").await.unwrap().unwrap().id, "b");
        assert_eq!(reads.current(&fake, "c").await.unwrap().unwrap().id, "c");
        assert_eq!(
            (fake.calls("search_tenants"), fake.calls("load_tenant")),
            (1, 3)
        );
    }

    #[tokio::test]
    async fn a_tenant_the_search_did_not_answer_is_loaded_alone() {
        let ids = ["a", "gone", "b"];
        let fake = seeded(&["a", "b"]);
        let reads = fast(&ids).await;
        assert_eq!(reads.current(&fake, "a").await.unwrap().unwrap().id, "a");
        assert!(reads.current(&fake, "gone").await.unwrap().is_none());
        assert_eq!(reads.current(&fake, "b").await.unwrap().unwrap().id, "b");
        assert_eq!(
            (fake.calls("search_tenants"), fake.calls("load_tenant")),
            (1, 1)
        );
    }

    #[tokio::test]
    async fn a_lone_update_reads_its_tenant_by_id_as_before() {
        let fake = seeded(&["a"]);
        let reads = TenantReads::of(&updates(&["a"]));
        reads.current(&fake, "a").await.unwrap();
        assert_eq!(
            (fake.calls("search_tenants"), fake.calls("load_tenant")),
            (0, 1)
        );
    }
}
