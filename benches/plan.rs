//! Plan at scale (docs/dev/benchmarks.md): an emulator holding 10,000 tenants, 1,000 roles, 200
//! permissions and 50 realistic flows (the shipped templates), all managed in state, with a few
//! config changes and some drift. Measures the release `dmgmt plan` (refresh + plan + render:
//! wall time, CPU time and peak memory via `/usr/bin/time`), the pure planning step in-process,
//! and the API calls of one refresh.
//!
//! Run: `cargo bench --bench plan` (prints a Markdown table for the README);
//! `BENCH_SCALE=100k cargo bench --bench plan` for 100,000 tenants and 10,000 roles (about two
//! minutes more: opt-in).

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use dmgmt::api::{Client, ClientConfig, ManagementKey, RateLimit};
use dmgmt::emulator::{
    EmulatorConfig, EmulatorHandle, LOCAL_MANAGEMENT_KEY, LOCAL_PROJECT_ID, RequestLogEntry,
};
use dmgmt::model::ResourceAddr;
use dmgmt::state::{ResourceState, StateFile, StateStore};
use serde_json::{Value, json};

const PERMISSIONS: usize = 200;
const FLOWS: usize = 50;
const RUNS: usize = 5;

/// How many tenants and roles the project holds (`BENCH_SCALE`), and the targets of that size.
#[derive(Clone, Copy)]
struct Scale {
    tenants: usize,
    roles: usize,
    /// `dmgmt plan`'s own CPU time (user + sys), seconds.
    cpu_target: f64,
    /// `dmgmt plan`'s peak memory, MB.
    rss_target: f64,
}

impl Scale {
    fn from_env() -> Scale {
        match std::env::var("BENCH_SCALE").as_deref() {
            Ok("100k") => Scale {
                tenants: 100_000,
                roles: 10_000,
                cpu_target: 2.5,
                rss_target: 600.0,
            },
            Ok("10k") | Err(_) => Scale {
                tenants: 10_000,
                roles: 1_000,
                cpu_target: 0.35,
                rss_target: 120.0,
            },
            Ok(other) => panic!("BENCH_SCALE is `10k` (the default) or `100k`, not `{other}`"),
        }
    }
}

fn main() {
    let scale = Scale::from_env();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let emulator = runtime
        .block_on(dmgmt::emulator::start(EmulatorConfig::default()))
        .expect("emulator");
    // BENCH_DIR keeps the generated project for a closer look (e.g. `dmgmt validate -e bench`).
    let dir = tempfile::tempdir().expect("temp dir");
    let kept = std::env::var_os("BENCH_DIR").map(std::path::PathBuf::from);
    let root = kept.as_deref().unwrap_or(dir.path());
    // A kept folder from an earlier run holds a state of another lineage: start afresh.
    let _ = std::fs::remove_dir_all(root.join("state"));
    eprintln!(
        "seeding the emulator and writing the project in {}",
        root.display()
    );
    let seeded = Instant::now();
    write_project(root, scale);
    runtime.block_on(seed(&emulator, scale));
    let client = client(&emulator);
    record_state(&runtime, &client, root);
    runtime.block_on(drift(&emulator, scale));
    eprintln!("seeded in {:.1} s", seeded.elapsed().as_secs_f64());
    // BENCH_HOLD=1 keeps the seeded emulator serving (with BENCH_DIR, to profile `dmgmt plan` by
    // hand against it) until the bench is stopped.
    if std::env::var_os("BENCH_HOLD").is_some() {
        eprintln!(
            "holding: BENCH_URL={} BENCH_KEY={LOCAL_MANAGEMENT_KEY}",
            emulator.base_url()
        );
        loop {
            std::thread::park();
        }
    }

    // BENCH_BIN=/path/to/dmgmt times another build (e.g. one from before a change).
    let bin_override = std::env::var("BENCH_BIN").ok();
    let bin = bin_override
        .as_deref()
        .unwrap_or(env!("CARGO_BIN_EXE_dmgmt"));
    // BENCH_PERF=FILE records one extra run with `perf record` (call graphs) for a closer look.
    if let Some(out) = std::env::var_os("BENCH_PERF") {
        let status = Command::new("perf")
            .args(["record", "-F", "4000", "--call-graph", "dwarf", "-o"])
            .arg(out)
            .args(["--", bin, "-v", "--dir"])
            .arg(root)
            .args(["plan", "-e", "bench", "--detailed-exitcode"])
            .env("BENCH_URL", emulator.base_url())
            .env("BENCH_KEY", LOCAL_MANAGEMENT_KEY)
            .env("NO_COLOR", "1")
            .stdout(std::process::Stdio::null())
            .status()
            .expect("run perf");
        eprintln!("perf record: {status}");
    }
    let mut walls = Vec::new();
    let mut cpus = Vec::new();
    let mut rss = Vec::new();
    let mut calls = Vec::new();
    let mut in_binary_planning = Vec::new();
    let mut refresh_calls = Vec::new();
    for _ in 0..RUNS {
        let before = emulator.request_log().len();
        let out = Command::new("/usr/bin/time")
            .args(["-f", "TIME %e %M %U %S", bin, "-v", "--dir"])
            .arg(root)
            .args(["plan", "-e", "bench", "--detailed-exitcode"])
            .env("BENCH_URL", emulator.base_url())
            .env("BENCH_KEY", LOCAL_MANAGEMENT_KEY)
            .env("NO_COLOR", "1")
            .output()
            .expect("run dmgmt (needs /usr/bin/time: apt-get install time)");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "plan failed:\n{stderr}");
        let time_line = stderr
            .lines()
            .find(|l| l.starts_with("TIME "))
            .expect("time output");
        let mut parts = time_line.split_whitespace().skip(1);
        walls.push(
            parts
                .next()
                .and_then(|s| s.parse::<f64>().ok())
                .expect("wall"),
        );
        rss.push(
            parts
                .next()
                .and_then(|s| s.parse::<f64>().ok())
                .expect("rss")
                / 1024.0,
        );
        // dmgmt's own CPU time, user + sys (the emulator runs in this process, not in dmgmt's).
        let cpu: f64 = parts.map(|s| s.parse::<f64>().expect("cpu seconds")).sum();
        cpus.push(cpu);
        let planning = stderr
            .lines()
            .find_map(|l| l.split("planning ").nth(1))
            .and_then(|s| s.split(' ').next())
            .and_then(|s| s.parse::<f64>().ok());
        in_binary_planning.push(planning.unwrap_or(f64::NAN));
        let log = emulator.request_log();
        calls.push(log.len() - before);
        if refresh_calls.is_empty() {
            refresh_calls = log[before..].to_vec();
        }
        if walls.len() == 1 {
            let stdout = String::from_utf8_lossy(&out.stdout);
            eprintln!("{}", stdout.lines().last().unwrap_or_default());
        }
    }

    // The pure planning step, in-process, on the same inputs.
    let project = dmgmt::config::Project::discover(Some(root), Path::new("/")).expect("project");
    let env = |v: &str| match v {
        "BENCH_URL" => Some(emulator.base_url()),
        "BENCH_KEY" => Some(LOCAL_MANAGEMENT_KEY.to_owned()),
        _ => None,
    };
    let desired = dmgmt::config::load(&project, "bench", &env)
        .desired
        .expect("valid bench config");
    let state = StateStore::new(root.join("state"), "bench")
        .load()
        .expect("state")
        .expect("state exists");
    let scope = dmgmt::ops::live::RefreshScope {
        flows: desired.flows.iter().map(|f| f.id.clone()).collect(),
        theme: true,
        v2: Default::default(),
        role_tenants: Default::default(),
        parallelism: 4,
    };
    let snapshot = runtime
        .block_on(dmgmt::ops::live::refresh(
            &client,
            &scope,
            &dmgmt::ops::live::Quiet,
        ))
        .expect("refresh");
    let prior = dmgmt::ops::prior_from_state(state.resources);
    let mut pure = Vec::new();
    let mut changes = 0;
    let iterations: usize = std::env::var("BENCH_PURE_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if scale.tenants > 10_000 { 5 } else { 20 });
    for _ in 0..iterations {
        let started = Instant::now();
        let plan = dmgmt::plan::plan(&dmgmt::plan::PlanInput {
            desired: &desired,
            snapshot: &snapshot,
            prior: &prior,
            targets: &[],
        })
        .expect("plan");
        pure.push(started.elapsed());
        changes = plan.changes.len();
    }

    // The floor: the same calls (replayed from the emulator's log of one plan run), made by a bare
    // HTTP client with the same parallelism, each body read but not parsed.
    let mut fetches: Vec<f64> = (0..RUNS)
        .map(|_| runtime.block_on(fetch(&emulator, &refresh_calls, 8)))
        .collect();

    // docs/dev/benchmarks.md: `dmgmt --version` starts within 20 ms (process start to exit).
    let mut version_ms: Vec<f64> = (0..50)
        .map(|_| {
            let started = Instant::now();
            let status = Command::new(bin)
                .arg("--version")
                .stdout(std::process::Stdio::null())
                .status()
                .expect("run dmgmt --version");
            assert!(status.success());
            started.elapsed().as_secs_f64() * 1000.0
        })
        .collect();

    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let mut pure_ms: Vec<f64> = pure
        .iter()
        .map(|d: &Duration| d.as_secs_f64() * 1000.0)
        .collect();
    println!("| measure (median of {RUNS} runs; pure plan: of {iterations}) | figure | target |");
    println!("|---|---|---|");
    let wall = median(&mut walls);
    let fetch_s = median(&mut fetches);
    println!("| `dmgmt plan` wall time (load + refresh + plan + render) | {wall:.2} s | ≤ 1.5 s |");
    println!(
        "| fetch floor: the same {} calls, bare HTTP client, bodies read not parsed | {:.2} s | |",
        refresh_calls.len(),
        fetch_s
    );
    println!(
        "| `dmgmt plan` wall time / fetch floor | {:.2}× | ≤ 1.3× |",
        wall / fetch_s
    );
    println!(
        "| `dmgmt plan` CPU time (user + sys, dmgmt's own) | {:.2} s | ≤ {} s |",
        median(&mut cpus),
        scale.cpu_target
    );
    println!(
        "| `dmgmt plan` peak memory (max RSS) | {:.0} MB | ≤ {} MB |",
        median(&mut rss),
        scale.rss_target
    );
    println!(
        "| pure planning step (in-process) | {:.1} ms | ≤ 100 ms |",
        median(&mut pure_ms)
    );
    println!(
        "| planning step inside the binary (`-v`) | {:.1} ms | |",
        median(&mut in_binary_planning)
    );
    println!(
        "| API calls of one refresh | {} | 3 load-alls + 1 flow list + {FLOWS} exports + 1 theme = {} |",
        calls[0],
        3 + 1 + FLOWS + 1
    );
    println!("| changes in the plan | {changes} | |");
    println!(
        "| `dmgmt --version` start to exit (median of 50) | {:.1} ms | ≤ 20 ms |",
        median(&mut version_ms)
    );
    println!();
    println!(
        "scale: {} tenants, {} roles, {PERMISSIONS} permissions, {FLOWS} flows; {} cores",
        scale.tenants,
        scale.roles,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
}

/// Seconds to make `calls` (method, path, JSON body as logged) with a fresh bare client, at most
/// `parallelism` in flight, reading every body as bytes.
async fn fetch(emulator: &EmulatorHandle, calls: &[RequestLogEntry], parallelism: usize) -> f64 {
    use futures_util::StreamExt;
    let started = Instant::now();
    let http = reqwest::Client::new();
    let auth = format!("Bearer {LOCAL_PROJECT_ID}:{LOCAL_MANAGEMENT_KEY}");
    let base = emulator.base_url();
    let mut bytes = 0;
    let mut replies = futures_util::stream::iter(calls.iter().map(|call| {
        let url = format!("{base}{}", call.path);
        let request = match call.method.as_str() {
            "GET" => http.get(url),
            _ if call.body.is_null() => http.post(url),
            _ => http.post(url).json(&call.body),
        };
        let request = request.header("Authorization", &auth);
        async move {
            let resp = request.send().await.expect("fetch");
            assert!(resp.status().is_success(), "{}", resp.status());
            resp.bytes().await.expect("body").len()
        }
    }))
    .buffer_unordered(parallelism);
    while let Some(n) = replies.next().await {
        bytes += n;
    }
    assert!(bytes > 0);
    started.elapsed().as_secs_f64()
}

fn client(emulator: &EmulatorHandle) -> Client {
    let mut config = ClientConfig::new(LOCAL_PROJECT_ID, ManagementKey::new(LOCAL_MANAGEMENT_KEY));
    config.base_url = Some(emulator.base_url());
    config.rate_limit = RateLimit {
        requests: 100_000,
        per_seconds: 1,
    };
    Client::new(config).expect("client")
}

fn tenant_id(i: usize) -> String {
    format!("tenant-{i:05}")
}

fn role_name(i: usize) -> String {
    format!("Role {i:04}")
}

fn perm_name(i: usize) -> String {
    format!("perm.{i:03}")
}

/// The environment file and the shipped templates. The config differs from live in a few places:
/// 10 tenants renamed, 5 role descriptions changed.
fn write_project(root: &Path, scale: Scale) {
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("environments");
    std::fs::create_dir_all(root.join("environments/flows")).expect("dirs");
    for f in ["sign-up-or-in.json", "step-up.json", "theme.json"] {
        std::fs::copy(
            shipped.join("flows").join(f),
            root.join("environments/flows").join(f),
        )
        .expect("copy template");
    }
    let mut y = format!(
        "project_id: {LOCAL_PROJECT_ID}\nmanagement_key: ${{env.BENCH_KEY}}\nbase_url: ${{env.BENCH_URL}}\nrate_limit: {{requests: 100000, per_seconds: 1}}\nparallelism: 8\n"
    );
    y.push_str("vars:\n  brand_name: Ledgerly\n  app_url: https://app.example.com\n  support_email: support@example.com\n  logo_url: https://cdn.example.com/logo.svg\n  terms_url: https://example.com/terms\n  privacy_url: https://example.com/privacy\n");
    y.push_str("permissions:\n");
    for i in 0..PERMISSIONS {
        y.push_str(&format!(
            "  - {{name: {}, description: Permission {i}}}\n",
            perm_name(i)
        ));
    }
    y.push_str("roles:\n");
    for i in 0..scale.roles {
        let description = if i < 5 {
            format!("Changed role {i}")
        } else {
            format!("Role number {i}")
        };
        y.push_str(&format!(
            "  - {{name: {}, description: {description}, permissions: [{}, {}, {}]}}\n",
            role_name(i),
            perm_name(i % PERMISSIONS),
            perm_name((i * 7 + 1) % PERMISSIONS),
            perm_name((i * 13 + 2) % PERMISSIONS)
        ));
    }
    y.push_str("tenants:\n");
    for i in 0..scale.tenants {
        let name = if i < 10 {
            format!("Renamed Tenant {i}")
        } else {
            format!("Tenant {i}")
        };
        y.push_str(&format!(
            "  - id: {}\n    name: {name}\n    self_provisioning_domains: [t{i}.example.com]\n    custom_attributes: {{plan: {}, seats: {}}}\n    default_roles: [{}]\n",
            tenant_id(i),
            support::PLANS[i % 3],
            (i % 50) * 10,
            role_name(i % scale.roles)
        ));
    }
    y.push_str("flows:\n");
    for i in 0..FLOWS {
        let template = if i % 2 == 0 {
            "sign-up-or-in.json"
        } else {
            "step-up.json"
        };
        y.push_str(&format!("  - id: flow-{i:02}\n    template: flows/{template}\n    vars: {{redirect_url: \"${{var.app_url}}/cb/{i}\"}}\n"));
    }
    y.push_str("theme:\n  template: flows/theme.json\n  vars: {accent_color: \"#C026D3\", accent_color_dark: \"#86198F\", accent_color_light: \"#F0ABFC\"}\n");
    std::fs::write(root.join("environments/bench.yaml"), y).expect("write config");
}

/// Live: what the config says before its changes (original names and descriptions), the flows as
/// the config fills them.
async fn seed(emulator: &EmulatorHandle, scale: Scale) {
    let http = reqwest::Client::new();
    let permissions: Vec<Value> = (0..PERMISSIONS)
        .map(|i| json!({"name": perm_name(i), "description": format!("Permission {i}")}))
        .collect();
    support::post(
        emulator,
        &http,
        "/v1/mgmt/permission/create/batch",
        json!({"permissions": permissions}),
    )
    .await;
    let roles: Vec<Value> = (0..scale.roles)
        .map(|i| {
            json!({"name": role_name(i), "description": format!("Role number {i}"),
                   "permissionNames": [perm_name(i % PERMISSIONS), perm_name((i * 7 + 1) % PERMISSIONS), perm_name((i * 13 + 2) % PERMISSIONS)]})
        })
        .collect();
    support::post(
        emulator,
        &http,
        "/v1/mgmt/role/create/batch",
        json!({"roles": roles}),
    )
    .await;
    support::seed_tenants(emulator, scale.tenants, tenant_id, |i| {
        role_name(i % scale.roles)
    });
}

/// Records everything live as managed (what an apply would have left), using the config's flow
/// documents and theme as the live ones.
fn record_state(runtime: &tokio::runtime::Runtime, client: &Client, root: &Path) {
    let env = |v: &str| match v {
        "BENCH_URL" => Some("http://127.0.0.1:1".to_owned()),
        "BENCH_KEY" => Some("unused".to_owned()),
        _ => None,
    };
    let desired = support::bench_desired(root, &env);
    runtime.block_on(support::import_documents(client, &desired));
    let scope = dmgmt::ops::live::RefreshScope {
        flows: desired
            .flows
            .iter()
            .map(|f| f.id.clone())
            .collect::<BTreeSet<_>>(),
        theme: true,
        v2: Default::default(),
        role_tenants: Default::default(),
        parallelism: 8,
    };
    let snapshot = runtime
        .block_on(dmgmt::ops::live::refresh(
            client,
            &scope,
            &dmgmt::ops::live::Quiet,
        ))
        .expect("refresh");
    let mut state = StateFile::new("bench", LOCAL_PROJECT_ID);
    let managed: BTreeSet<ResourceAddr> = desired.addresses().into_iter().collect();
    for (addr, obj) in &snapshot.objects {
        if managed.contains(addr) {
            let fields = obj
                .attributes
                .as_object()
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default();
            state.resources.insert(
                addr.clone(),
                ResourceState::new(addr, fields, obj.attributes.clone()),
            );
        }
    }
    StateStore::new(root.join("state"), "bench")
        .write(&mut state)
        .expect("write state");
}

/// Someone changed three tenants in the console since the last apply.
async fn drift(emulator: &EmulatorHandle, scale: Scale) {
    let http = reqwest::Client::new();
    for i in [100, 200, 300] {
        support::post(emulator, &http, "/v1/mgmt/tenant/update", json!({
            "id": tenant_id(i), "name": format!("Tenant {i}"), "selfProvisioningDomains": [format!("t{i}.example.com")],
            "customAttributes": {"plan": support::PLANS[i % 3], "seats": (i % 50) * 10}, "enforceSSO": true
        }))
        .await;
        support::post(
            emulator,
            &http,
            "/v1/mgmt/tenant/updateDefaultRoles",
            json!({"id": tenant_id(i), "defaultRoles": [role_name(i % scale.roles)]}),
        )
        .await;
    }
}
