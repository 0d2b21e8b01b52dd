//! Apply at scale, through the command a user runs: the release `dmgmt apply` (lock, state load
//! with its journal, refresh, plan, pre-apply backup, the executor, one synced journal line per
//! change, the state written once at the end, the audit line) against an in-process emulator
//! seeded with a project of 10,000 tenants, 1,000 roles, 200 permissions and 50 flows (the shipped
//! templates). Each run is timed by `/usr/bin/time` (wall, dmgmt's own user + system CPU, peak
//! memory); the emulator's request log (each answer's time) gives how the calls spread.
//!
//! Cases:
//! - the first apply of the project (no state: adopts every object and renames 100 tenants);
//! - dmgmt's CPU per applied change, for states of about 1k, 10k (and with `BENCH_SCALE=100k`,
//!   100k) objects: the CPU of an apply of 1,000 renames minus that of an apply of 100 renames,
//!   over the 900 changes between them (the refresh, plan, backup and final write cancel out);
//! - 1,000 tenant renames at a server limit of 100 requests per second;
//! - 1,000 tenant creates into the managed 10k project at a rate limit R and latency L with
//!   parallelism P: the command's wall time against the ideal max(N/R, N·L/P);
//! - 500 permission creates: mutating calls with the default batch size.
//!
//! Run: `cargo bench --bench apply` (prints Markdown tables for the README; about 3 minutes).
//! `BENCH_BIN=/path/to/dmgmt` measures another build; `BENCH_SCALE=100k` adds the 100k state.

mod support;

use std::ops::Range;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use dmgmt::emulator::{
    EmulatorConfig, EmulatorHandle, EmulatorRateLimit, LOCAL_MANAGEMENT_KEY, LOCAL_PROJECT_ID,
    RequestLogEntry,
};
use serde_json::{Value, json};

/// A project's size.
#[derive(Clone, Copy)]
struct Scale {
    name: &'static str,
    tenants: usize,
    roles: usize,
    permissions: usize,
    flows: usize,
}

impl Scale {
    fn objects(&self) -> usize {
        self.tenants + self.roles + self.permissions + self.flows + 1
    }
}

const SCALE_1K: Scale = Scale {
    name: "1k",
    tenants: 1_000,
    roles: 100,
    permissions: 50,
    flows: 10,
};
const SCALE_10K: Scale = Scale {
    name: "10k",
    tenants: 10_000,
    roles: 1_000,
    permissions: 200,
    flows: 50,
};
const SCALE_100K: Scale = Scale {
    name: "100k",
    tenants: 100_000,
    roles: 10_000,
    permissions: 200,
    flows: 50,
};

/// What the environment file declares beyond the seeded project.
#[derive(Clone, Default)]
struct Config {
    /// Tenants whose name the configuration changes (`Renamed Tenant i`).
    renamed: Range<usize>,
    /// New tenants the configuration adds (`new-i`).
    new_tenants: usize,
    /// New permissions the configuration adds (`new.perm.i`).
    new_permissions: usize,
    /// The environment's `rate_limit` (requests per second; none: 100,000).
    rate: Option<u32>,
    parallelism: Option<usize>,
}

/// One project: an emulator seeded at a scale, and a project folder whose configuration declares
/// all of it.
struct Bench {
    runtime: tokio::runtime::Runtime,
    emulator: EmulatorHandle,
    scale: Scale,
    dir: tempfile::TempDir,
    bin: String,
}

/// What `/usr/bin/time` said of one `dmgmt` run.
struct Measured {
    wall: f64,
    cpu: f64,
    /// dmgmt's CPU while the changes ran, per change, as `apply -v` reports it (ms).
    per_change_ms: Option<f64>,
    rss_mb: f64,
    code: Option<i32>,
    stdout: String,
    stderr: String,
    /// The emulator's log of the calls this run made.
    calls: Vec<RequestLogEntry>,
}

fn main() {
    let bin = std::env::var("BENCH_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_dmgmt").into());
    // BENCH_ONLY=first, 1k, 10k or 100k: that case alone (a quick look, e.g. with a BENCH_BIN
    // that wraps `perf record`; 1k, 10k, 100k: the CPU per change at that many objects).
    let only = std::env::var("BENCH_ONLY").ok();
    let mut cpu_rows = Vec::new();
    if only.as_deref() == Some("10k") {
        cpu_rows.push(cpu_per_change(&Bench::seeded(SCALE_10K, &bin)));
    }
    if only.as_deref().is_none_or(|o| o == "first") {
        let bench = Bench::seeded(SCALE_10K, &bin);
        first_apply(&bench);
        if only.is_some() {
            return;
        }
        cpu_rows.push(cpu_per_change(&bench));
        renames_at_rate(&bench);
        throughput(&bench);
        batching(&bench);
    }
    if only.as_deref().is_none_or(|o| o == "1k") {
        cpu_rows.insert(0, cpu_per_change(&Bench::seeded(SCALE_1K, &bin)));
    }
    if std::env::var("BENCH_SCALE").as_deref() == Ok("100k") || only.as_deref() == Some("100k") {
        cpu_rows.push(cpu_per_change(&Bench::seeded(SCALE_100K, &bin)));
    }
    println!(
        "| dmgmt CPU per applied change | objects in state | apply of 100 renames (median of 3) | apply of 1,000 renames (median of 3) | per change: the difference / 900 | per change: while the 1,000 ran (`apply -v`) | "
    );
    println!("|---|---|---|---|---|---|");
    for row in cpu_rows {
        println!("{row}");
    }
    println!();
    println!(
        "{} cores; one run of each case (CPU per change: medians of three); CPU is dmgmt's own (user + system), not the emulator's",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
}

/// The first apply: no state, every object adopted, 100 tenants renamed.
fn first_apply(bench: &Bench) {
    bench.configure(&Config {
        renamed: 0..100,
        ..Config::default()
    });
    let m = bench.apply(&[]);
    let mutating = m.calls.iter().filter(|c| mutating(c)).count();
    println!("| first apply of the 10k project | figure | target |");
    println!("|---|---|---|");
    println!("| wall time | {:.2} s | ≤ 3 s |", m.wall);
    println!("| dmgmt CPU (user + system) | {:.2} s | |", m.cpu);
    println!("| peak memory | {:.0} MB | |", m.rss_mb);
    println!(
        "| objects adopted; mutating calls | {}; {mutating} | {}; 100 |",
        adopted(&m.stdout),
        bench.scale.objects() - 100
    );
    bench.converged();
    println!();
}

/// The marginal CPU of an applied change: (CPU of 1,000 renames − CPU of 100) / 900, each the
/// median of three applies (each renamed back afterwards).
fn cpu_per_change(bench: &Bench) -> String {
    let base = Config::default();
    bench.configure(&base);
    bench.apply(&[]);
    let median_of_three = |renamed: Range<usize>| {
        let mut runs: Vec<Measured> = (0..3)
            .map(|_| {
                bench.configure(&Config {
                    renamed: renamed.clone(),
                    ..base.clone()
                });
                let m = bench.apply(&[]);
                bench.configure(&base);
                bench.apply(&[]);
                m
            })
            .collect();
        runs.sort_by(|a, b| a.cpu.total_cmp(&b.cpu));
        runs.swap_remove(1)
    };
    let small = median_of_three(0..100);
    let large = median_of_three(0..1_000);
    let per_change_ms = (large.cpu - small.cpu) / 900.0 * 1000.0;
    let in_execution = large
        .per_change_ms
        .map_or_else(|| "-".to_owned(), |ms| format!("{ms:.3} ms"));
    format!(
        "| {} | {} | {:.2} s CPU, {:.2} s wall | {:.2} s CPU, {:.2} s wall | {per_change_ms:.2} ms | {in_execution} |",
        bench.scale.name,
        bench.scale.objects(),
        small.cpu,
        small.wall,
        large.cpu,
        large.wall
    )
}

/// 1,000 renames against a server that allows 100 requests per second.
fn renames_at_rate(bench: &Bench) {
    let rate = 100;
    bench.limit(Some(rate), Duration::ZERO);
    bench.configure(&Config {
        renamed: 2_000..3_000,
        rate: Some(rate),
        ..Config::default()
    });
    let m = bench.apply(&[]);
    bench.limit(None, Duration::ZERO);
    let span = span(&m.calls, |c| c.path.ends_with("/tenant/update"));
    let ideal = 1_000.0 / f64::from(rate);
    println!("| 1,000 tenant renames at R = {rate}/s | figure | target |");
    println!("|---|---|---|");
    println!(
        "| the updates' span (first to last answer) | {span:.2} s | ≤ 1.15 × {ideal:.0} s = {:.1} s |",
        1.15 * ideal
    );
    println!(
        "| the command's wall time | {:.2} s | ≤ span + 5 s = {:.1} s |",
        m.wall,
        span + 5.0
    );
    println!(
        "| calls: all; answered 429 | {}; {} | |",
        m.calls.len(),
        m.calls.iter().filter(|c| c.status == 429).count()
    );
    println!("| dmgmt CPU | {:.2} s | |", m.cpu);
    println!();
    bench.configure(&Config::default());
    bench.apply(&[]);
}

/// One throughput run: the limit R, the latency L the emulator adds to every answer, the
/// parallelism P.
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

/// 1,000 tenant creates into the managed project, per [`RUNS`]; each run's tenants are deleted
/// again afterwards (at full speed).
fn throughput(bench: &Bench) {
    const N: usize = 1_000;
    println!(
        "| {N} tenant creates into the 10k project | R | L | P | ideal max(N/R, N·L/P) | creates' span | command wall time | ratio (target ≤ 1.1×) | 429s answered |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for run in &RUNS {
        let latency = Duration::from_millis(run.latency_ms);
        bench.limit(Some(run.rate), latency);
        bench.configure(&Config {
            new_tenants: N,
            rate: Some(run.rate),
            parallelism: Some(run.parallelism),
            ..Config::default()
        });
        let m = bench.apply(&[]);
        bench.limit(None, Duration::ZERO);
        let ideal = (N as f64 / f64::from(run.rate))
            .max(N as f64 * latency.as_secs_f64() / run.parallelism as f64);
        let span = span(&m.calls, |c| c.path.ends_with("/tenant/create"));
        println!(
            "| {} | {}/s | {} ms | {} | {ideal:.2} s | {span:.2} s | {:.2} s | {:.3}× | {} |",
            run.name,
            run.rate,
            run.latency_ms,
            run.parallelism,
            m.wall,
            m.wall / ideal,
            m.calls.iter().filter(|c| c.status == 429).count()
        );
        bench.configure(&Config::default());
        bench.apply(&["--allow-delete"]);
    }
    println!();
}

/// 500 independent permission creates cost one mutating call per batch.
fn batching(bench: &Bench) {
    const PERMISSIONS: usize = 500;
    bench.configure(&Config {
        new_permissions: PERMISSIONS,
        ..Config::default()
    });
    let m = bench.apply(&[]);
    let creates = m
        .calls
        .iter()
        .filter(|c| c.path.contains("/permission/create"))
        .count();
    println!("| {PERMISSIONS} permission creates | figure | target |");
    println!("|---|---|---|");
    println!("| mutating calls | {creates} | ⌈{PERMISSIONS} / 100⌉ = 5 |");
    println!("| command wall time | {:.2} s | |", m.wall);
    println!();
    bench.configure(&Config::default());
    bench.apply(&["--allow-delete"]);
}

impl Bench {
    /// An emulator seeded with `scale`, and a project folder whose configuration declares it all.
    fn seeded(scale: Scale, bin: &str) -> Bench {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let emulator = runtime
            .block_on(dmgmt::emulator::start(EmulatorConfig::default()))
            .expect("emulator");
        let dir = tempfile::tempdir().expect("temp dir");
        let bench = Bench {
            runtime,
            emulator,
            scale,
            dir,
            bin: bin.to_owned(),
        };
        eprintln!("seeding {} objects", scale.objects());
        let started = std::time::Instant::now();
        bench.configure(&Config::default());
        bench.runtime.block_on(seed(&bench.emulator, scale));
        bench
            .runtime
            .block_on(seed_flows(&bench.emulator, bench.root()));
        eprintln!("seeded in {:.1} s", started.elapsed().as_secs_f64());
        bench
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn limit(&self, rate: Option<u32>, latency: Duration) {
        let limit = rate.map(|requests| EmulatorRateLimit {
            requests,
            per_seconds: 1,
        });
        self.emulator.set_limits(limit, latency);
    }

    /// Writes the environment file (the flow templates are the shipped ones).
    fn configure(&self, config: &Config) {
        write_config(self.root(), self.scale, config);
    }

    /// `dmgmt apply -e bench --auto-approve ARGS`, which must succeed.
    fn apply(&self, args: &[&str]) -> Measured {
        // `-v`: the run's own report of the CPU its changes took (`execution: …`).
        let mut all = vec!["-v", "apply", "-e", "bench", "--auto-approve"];
        all.extend_from_slice(args);
        let m = self.run(&all);
        assert_eq!(m.code, Some(0), "apply failed:\n{}", m.stderr);
        eprintln!(
            "  apply {args:?}: {:.2} s wall, {:.2} s CPU, {:.0} MB, {} calls",
            m.wall,
            m.cpu,
            m.rss_mb,
            m.calls.len()
        );
        m
    }

    /// A plan after an apply shows no change.
    fn converged(&self) {
        let m = self.run(&["plan", "-e", "bench", "--detailed-exitcode"]);
        assert_eq!(m.code, Some(0), "not converged:\n{}{}", m.stdout, m.stderr);
    }

    fn run(&self, args: &[&str]) -> Measured {
        let before = self.emulator.request_log().len();
        let out = Command::new("/usr/bin/time")
            .args(["-f", "TIME %e %U %S %M", &self.bin, "--dir"])
            .arg(self.root())
            .args(args)
            .env("BENCH_URL", self.emulator.base_url())
            .env("BENCH_KEY", LOCAL_MANAGEMENT_KEY)
            .env("NO_COLOR", "1")
            .output()
            .expect("run dmgmt (needs /usr/bin/time: apt-get install time)");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let figures: Vec<f64> = stderr
            .lines()
            .find_map(|l| l.strip_prefix("TIME "))
            .expect("time output")
            .split_whitespace()
            .map(|s| s.parse().expect("a figure"))
            .collect();
        // `execution: N changes, X ms of CPU, Y ms per change`
        let per_change_ms = stderr
            .lines()
            .find_map(|l| l.strip_prefix("execution: "))
            .and_then(|l| l.split(", ").nth(2))
            .and_then(|l| l.strip_suffix(" ms per change"))
            .and_then(|l| l.parse().ok());
        Measured {
            wall: figures[0],
            cpu: figures[1] + figures[2],
            per_change_ms,
            rss_mb: figures[3] / 1024.0,
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr,
            calls: self.emulator.request_log().split_off(before),
        }
    }
}

/// Whether a logged call changes something.
fn mutating(call: &RequestLogEntry) -> bool {
    call.method != "GET"
        && !["/all", "/search", "/list", "/export", "/load"]
            .iter()
            .any(|read| call.path.contains(read))
}

/// Seconds from the first to the last answer of the calls `which` picks.
fn span(calls: &[RequestLogEntry], which: impl Fn(&RequestLogEntry) -> bool) -> f64 {
    let times: Vec<u64> = calls.iter().filter(|c| which(c)).map(|c| c.at_us).collect();
    match (times.iter().min(), times.iter().max()) {
        (Some(first), Some(last)) => (last - first) as f64 / 1e6,
        _ => 0.0,
    }
}

/// N in the plan's summary line (`Plan: …, N to adopt, ….`), else 0.
fn adopted(stdout: &str) -> usize {
    stdout
        .lines()
        .find_map(|l| {
            let before = l.split(" to adopt").next().filter(|b| b.len() < l.len())?;
            before.rsplit(' ').next()?.parse().ok()
        })
        .unwrap_or(0)
}

fn tenant_id(i: usize) -> String {
    format!("tenant-{i:06}")
}

fn role_name(i: usize) -> String {
    format!("Role {i:05}")
}

fn perm_name(i: usize) -> String {
    format!("perm.{i:03}")
}

/// The permissions role `i` grants.
fn grants(scale: Scale, i: usize) -> [String; 2] {
    [
        perm_name(i % scale.permissions),
        perm_name((i * 7 + 1) % scale.permissions),
    ]
}

fn write_config(root: &Path, scale: Scale, config: &Config) {
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("environments/flows");
    let flows = root.join("environments/flows");
    std::fs::create_dir_all(&flows).expect("dirs");
    for f in ["sign-up-or-in.json", "step-up.json", "theme.json"] {
        std::fs::copy(shipped.join(f), flows.join(f)).expect("copy template");
    }
    let mut y = format!(
        "project_id: {LOCAL_PROJECT_ID}\nmanagement_key: ${{env.BENCH_KEY}}\nbase_url: ${{env.BENCH_URL}}\nrate_limit: {{requests: {}, per_seconds: 1}}\nparallelism: {}\n",
        config.rate.unwrap_or(100_000),
        config.parallelism.unwrap_or(8)
    );
    y.push_str("vars:\n  brand_name: Ledgerly\n  app_url: https://app.example.com\n  support_email: support@example.com\n  logo_url: https://cdn.example.com/logo.svg\n  terms_url: https://example.com/terms\n  privacy_url: https://example.com/privacy\n");
    y.push_str("permissions:\n");
    for i in 0..scale.permissions {
        y.push_str(&format!(
            "  - {{name: {}, description: Permission {i}}}\n",
            perm_name(i)
        ));
    }
    for i in 0..config.new_permissions {
        y.push_str(&format!("  - {{name: new.perm.{i:03}}}\n"));
    }
    y.push_str("roles:\n");
    for i in 0..scale.roles {
        let [a, b] = grants(scale, i);
        y.push_str(&format!(
            "  - {{name: {}, description: Role number {i}, permissions: [{a}, {b}]}}\n",
            role_name(i)
        ));
    }
    y.push_str("tenants:\n");
    for i in 0..scale.tenants {
        let renamed = config.renamed.contains(&i);
        let name = if renamed { "Renamed Tenant" } else { "Tenant" };
        y.push_str(&format!(
            "  - {{id: {}, name: {name} {i}, self_provisioning_domains: [t{i}.example.com], custom_attributes: {{plan: {}, seats: {}}}, default_roles: [\"{}\"]}}\n",
            tenant_id(i),
            support::PLANS[i % 3],
            (i % 50) * 10,
            role_name(i % scale.roles)
        ));
    }
    for i in 0..config.new_tenants {
        y.push_str(&format!("  - {{id: new-{i:04}, name: New Tenant {i}}}\n"));
    }
    y.push_str("flows:\n");
    for i in 0..scale.flows {
        let template = ["sign-up-or-in.json", "step-up.json"][i % 2];
        y.push_str(&format!("  - id: flow-{i:02}\n    template: flows/{template}\n    vars: {{redirect_url: \"${{var.app_url}}/cb/{i}\"}}\n"));
    }
    y.push_str("theme:\n  template: flows/theme.json\n  vars: {accent_color: \"#C026D3\", accent_color_dark: \"#86198F\", accent_color_light: \"#F0ABFC\"}\n");
    std::fs::write(root.join("environments/bench.yaml"), y).expect("write config");
}

/// Live: the configuration without its changes.
async fn seed(emulator: &EmulatorHandle, scale: Scale) {
    let http = reqwest::Client::new();
    let permissions: Vec<Value> = (0..scale.permissions)
        .map(|i| json!({"name": perm_name(i), "description": format!("Permission {i}")}))
        .collect();
    support::post(
        emulator,
        &http,
        "/v1/mgmt/permission/create/batch",
        json!({ "permissions": permissions }),
    )
    .await;
    for chunk in (0..scale.roles).collect::<Vec<_>>().chunks(1_000) {
        let roles: Vec<Value> = chunk
            .iter()
            .map(|&i| json!({"name": role_name(i), "description": format!("Role number {i}"), "permissionNames": grants(scale, i)}))
            .collect();
        support::post(
            emulator,
            &http,
            "/v1/mgmt/role/create/batch",
            json!({ "roles": roles }),
        )
        .await;
    }
    support::seed_tenants(emulator, scale.tenants, tenant_id, |i| {
        role_name(i % scale.roles)
    });
}

/// The flows and theme as the configuration fills them (imported through dmgmt's client).
async fn seed_flows(emulator: &EmulatorHandle, root: &Path) {
    let env = |v: &str| match v {
        "BENCH_URL" => Some(emulator.base_url()),
        "BENCH_KEY" => Some(LOCAL_MANAGEMENT_KEY.to_owned()),
        _ => None,
    };
    let desired = support::bench_desired(root, &env);
    let mut config = dmgmt::api::ClientConfig::new(
        LOCAL_PROJECT_ID,
        dmgmt::api::ManagementKey::new(LOCAL_MANAGEMENT_KEY),
    );
    config.base_url = Some(emulator.base_url());
    let client = dmgmt::api::Client::new(config).expect("client");
    support::import_documents(&client, &desired).await;
}
