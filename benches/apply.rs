//! Apply throughput (DESIGN.md §10): N independent changes against an emulator that allows R
//! requests per second and answers after a latency L, applied by the executor with parallelism P
//! through a real client whose own rate limit is R too (the environment's configured limit). The
//! wall time of `execute` is compared with the ideal max(N/R, N·L/P); the emulator's request log
//! gives the 429s it answered. Then batching: independent permission creates cost one mutating
//! call per batch.
//!
//! The plan comes from the real planner (a desired state against a refreshed snapshot), as
//! `dmgmt apply` builds it; the refresh goes through the same client, so its calls count against
//! the same limits.
//!
//! Run: `cargo bench --bench apply` (prints Markdown tables for the README).

use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use dmgmt::api::{ApiError, Client, ClientConfig, Endpoint, ManagementKey, RateLimit, endpoints};
use dmgmt::apply::{ApplyObserver, ApplyReport, ExecuteOptions, Outcome, execute};
use dmgmt::emulator::{
    EmulatorConfig, EmulatorHandle, EmulatorRateLimit, LOCAL_MANAGEMENT_KEY, LOCAL_PROJECT_ID,
};
use dmgmt::model::{DesiredState, Snapshot};
use dmgmt::ops::live::{Quiet, RefreshScope, refresh};
use dmgmt::plan::{Change, ChangeId, Plan, PlanInput, plan};
use serde_json::{Value, json};

/// Independent changes of the throughput runs: tenant creates (one call each; tenants have no
/// batch endpoint).
const N: usize = 1_000;
/// Independent permission creates of the batching run.
const PERMISSIONS: usize = 500;

/// One throughput run: the limit R (requests per second, the emulator's and the client's), the
/// latency L the emulator adds to every answer, and the executor's parallelism P.
struct Run {
    name: &'static str,
    rate: u32,
    latency_ms: u64,
    parallelism: usize,
}

const RUNS: [Run; 3] = [
    Run {
        name: "both bound",
        rate: 100,
        latency_ms: 40,
        parallelism: 4,
    },
    Run {
        name: "rate-bound",
        rate: 100,
        latency_ms: 10,
        parallelism: 8,
    },
    Run {
        name: "latency-bound",
        rate: 400,
        latency_ms: 40,
        parallelism: 4,
    },
];

/// Collects failed and skipped changes; persisting state is not this bench's concern.
#[derive(Default)]
struct Tally {
    failed: std::sync::Mutex<Vec<String>>,
}

impl ApplyObserver for Tally {
    fn applied(&self, _: ChangeId, _: &Change, _: Option<&Value>) {}

    fn failed(&self, _: ChangeId, change: &Change, error: &ApiError) {
        let line = format!("{}: {error}", change.addr);
        self.failed.lock().expect("tally").push(line);
    }

    fn skipped(&self, _: ChangeId, change: &Change, blocked_by: ChangeId) {
        let line = format!("{} skipped (blocked by {blocked_by})", change.addr);
        self.failed.lock().expect("tally").push(line);
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    println!(
        "| {N} tenant creates | R | L | P | ideal max(N/R, N·L/P) | `execute` wall time | ratio (target ≤ 1.1×) | 429s answered | changes failed (target 0) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for run in &RUNS {
        let m = runtime.block_on(throughput(run));
        println!(
            "| {} | {}/s | {} ms | {} | {:.2} s | {:.2} s | {:.3}× | {} | {} |",
            run.name,
            run.rate,
            run.latency_ms,
            run.parallelism,
            m.ideal.as_secs_f64(),
            m.wall.as_secs_f64(),
            m.wall.as_secs_f64() / m.ideal.as_secs_f64(),
            m.rate_limited,
            m.failed,
        );
    }
    println!();
    let b = runtime.block_on(batching());
    let default_batch = ExecuteOptions::default().batch_size;
    println!("| {PERMISSIONS} permission creates (batch size {default_batch}) | figure | target |");
    println!("|---|---|---|");
    println!(
        "| mutating calls (emulator log; executor's count) | {} ({}) | ⌈{PERMISSIONS} / {default_batch}⌉ = {} |",
        b.mutating,
        b.report.calls,
        PERMISSIONS.div_ceil(default_batch)
    );
    println!(
        "| read calls (read-backs of the created ids) | {} | |",
        b.reads
    );
    println!(
        "| changes failed | {} | 0 |",
        b.report
            .outcomes
            .iter()
            .filter(|o| **o != Outcome::Applied)
            .count()
    );
    println!();
    println!(
        "{} cores; one run each; a 429 pauses every call for its `Retry-After` (at least 1 s)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
}

struct Throughput {
    ideal: Duration,
    wall: Duration,
    rate_limited: usize,
    failed: usize,
}

async fn throughput(run: &Run) -> Throughput {
    let latency = Duration::from_millis(run.latency_ms);
    let emulator = dmgmt::emulator::start(EmulatorConfig {
        rate_limit: Some(EmulatorRateLimit {
            requests: run.rate,
            per_seconds: 1,
        }),
        latency,
        ..EmulatorConfig::default()
    })
    .await
    .expect("emulator");
    let client = client(&emulator, run.rate);
    let tenants: Vec<Value> = (0..N)
        .map(|i| json!({"id": format!("tenant-{i:04}"), "name": format!("Tenant {i}")}))
        .collect();
    let wanted = desired(json!({ "tenants": tenants }));
    let planned = plan_for(&client, &wanted).await;
    assert_eq!(planned.changes.len(), N, "one create per tenant");

    let before = emulator.request_log().len();
    let options = ExecuteOptions {
        parallelism: run.parallelism,
        ..ExecuteOptions::default()
    };
    let tally = Tally::default();
    eprintln!(
        "{}: applying {N} tenant creates (R = {}/s, L = {} ms, P = {})",
        run.name, run.rate, run.latency_ms, run.parallelism
    );
    let started = Instant::now();
    let report = execute(&client, &planned, &options, &AtomicBool::new(false), &tally).await;
    let wall = started.elapsed();
    let log = emulator.request_log();
    let rate_limited = log[before..].iter().filter(|e| e.status == 429).count();
    let failed = failures(&report);
    if let Some(first) = tally.failed.lock().expect("tally").first() {
        eprintln!("  first failure: {first}");
    }
    eprintln!(
        "  {:.2} s, {} requests, {rate_limited} answered 429",
        wall.as_secs_f64(),
        log.len() - before
    );
    let rate_term = Duration::from_secs_f64(N as f64 / f64::from(run.rate));
    let latency_term = latency * N as u32 / run.parallelism as u32;
    Throughput {
        ideal: rate_term.max(latency_term),
        wall,
        rate_limited,
        failed,
    }
}

struct Batching {
    report: ApplyReport,
    mutating: usize,
    reads: usize,
}

async fn batching() -> Batching {
    let emulator = dmgmt::emulator::start(EmulatorConfig::default())
        .await
        .expect("emulator");
    let client = client(&emulator, 100_000);
    let permissions: Vec<Value> = (0..PERMISSIONS)
        .map(|i| json!({"name": format!("perm.{i:03}"), "description": format!("Permission {i}")}))
        .collect();
    let wanted = desired(json!({ "permissions": permissions }));
    let planned = plan_for(&client, &wanted).await;
    assert_eq!(
        planned.changes.len(),
        PERMISSIONS,
        "one create per permission"
    );
    let before = emulator.request_log().len();
    let tally = Tally::default();
    let report = execute(
        &client,
        &planned,
        &ExecuteOptions::default(),
        &AtomicBool::new(false),
        &tally,
    )
    .await;
    let log = emulator.request_log();
    let mutating = log[before..]
        .iter()
        .filter(|e| endpoint(&e.path).is_none_or(|ep| ep.mutating))
        .count();
    Batching {
        mutating,
        reads: log.len() - before - mutating,
        report,
    }
}

fn failures(report: &ApplyReport) -> usize {
    report
        .outcomes
        .iter()
        .filter(|o| **o != Outcome::Applied)
        .count()
}

/// The endpoint a logged path belongs to (an unknown path counts as mutating: the worst case).
fn endpoint(path: &str) -> Option<Endpoint> {
    use endpoints::*;
    [
        LICENSE,
        TENANT_CREATE,
        TENANT_UPDATE,
        TENANT_DELETE,
        TENANT_LOAD,
        TENANT_LOAD_ALL,
        TENANT_DEFAULT_ROLES,
        PERMISSION_CREATE,
        PERMISSION_UPDATE,
        PERMISSION_DELETE,
        PERMISSION_LOAD_ALL,
        PERMISSION_CREATE_BATCH,
        PERMISSION_UPDATE_BATCH,
        PERMISSION_DELETE_BATCH,
        ROLE_CREATE,
        ROLE_UPDATE,
        ROLE_DELETE,
        ROLE_LOAD_ALL,
        ROLE_CREATE_BATCH,
        ROLE_UPDATE_BATCH,
        ROLE_DELETE_BATCH,
        FLOW_LIST,
        FLOW_EXPORT,
        FLOW_IMPORT,
        FLOW_DELETE,
        THEME_EXPORT,
        THEME_IMPORT,
    ]
    .into_iter()
    .find(|e| e.path == path)
}

/// A client of the emulator whose own limit is `rate` requests per second.
fn client(emulator: &EmulatorHandle, rate: u32) -> Client {
    let mut config = ClientConfig::new(LOCAL_PROJECT_ID, ManagementKey::new(LOCAL_MANAGEMENT_KEY));
    config.base_url = Some(emulator.base_url());
    config.rate_limit = RateLimit {
        requests: rate,
        per_seconds: 1,
    };
    Client::new(config).expect("client")
}

/// A desired state: `resources` over an otherwise empty environment.
fn desired(resources: Value) -> DesiredState {
    let mut base = json!({
        "environment": "bench", "project_id": LOCAL_PROJECT_ID, "management_key": null,
        "base_url": null, "emulator": false, "protected": false, "rate_limit": null,
        "parallelism": 4, "backups": {"retention_days": 30, "keep_min": 5},
        "permissions": [], "roles": [], "tenants": [], "flows": [], "theme": null,
    });
    for (key, value) in resources.as_object().expect("an object") {
        base[key] = value.clone();
    }
    serde_json::from_value(base).expect("a desired state")
}

/// Refresh (through `client`, as `dmgmt apply` does) and the real planner, nothing in state.
async fn plan_for(client: &Client, wanted: &DesiredState) -> Plan {
    let scope = RefreshScope {
        flows: Default::default(),
        theme: false,
        v2: Default::default(),
        role_tenants: Default::default(),
        parallelism: 4,
    };
    let snapshot: Snapshot = refresh(client, &scope, &Quiet).await.expect("refresh");
    plan(&PlanInput {
        desired: wanted,
        snapshot: &snapshot,
        prior: &BTreeMap::new(),
        targets: &[],
    })
    .expect("plan")
}
