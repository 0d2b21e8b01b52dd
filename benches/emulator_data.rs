//! The emulator's persistence (`--data FILE`): N tenant creates, one at a time, against a
//! standalone `dmgmt emulator --data` process; then the process is killed (SIGKILL, no shutdown)
//! and restarted on the same file, and every tenant must be there.
//!
//! Run: `cargo bench --bench emulator_data` (N = `BENCH_TENANTS`, 5,000 by default).
//! `EMULATOR_BIN=/path/to/dmgmt` measures another build (e.g. one from before a change).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use dmgmt::emulator::{LOCAL_MANAGEMENT_KEY, LOCAL_PROJECT_ID};
use serde_json::{Value, json};

fn spawn(bin: &str, data: &std::path::Path) -> (Child, String) {
    let mut command = Command::new(bin);
    command.arg("emulator");
    // BENCH_NO_DATA=1: the same creates in memory, for the cost of the requests alone.
    if std::env::var_os("BENCH_NO_DATA").is_none() {
        command.arg("--data").arg(data);
    }
    let mut child = command
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the emulator");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("address line");
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .expect("`listening on URL`")
        .to_owned();
    (child, url)
}

fn main() {
    let n: usize = std::env::var("BENCH_TENANTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5_000);
    let bin = std::env::var("EMULATOR_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_dmgmt").into());
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("emulator.json");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let auth = format!("Bearer {LOCAL_PROJECT_ID}:{LOCAL_MANAGEMENT_KEY}");
    let http = reqwest::Client::new();

    let (mut child, url) = spawn(&bin, &data);
    let started = Instant::now();
    runtime.block_on(async {
        for i in 0..n {
            let resp = http
                .post(format!("{url}/v1/mgmt/tenant/create"))
                .header("Authorization", &auth)
                .json(
                    &json!({"id": format!("tenant-{i:05}"), "name": format!("Tenant {i}"),
                    "selfProvisioningDomains": [format!("t{i}.example.com")],
                    "customAttributes": {"plan": "pro", "seats": i % 50}}),
                )
                .send()
                .await
                .expect("create");
            assert!(resp.status().is_success(), "{}", resp.status());
        }
    });
    let took = started.elapsed().as_secs_f64();
    child.kill().expect("kill");
    let _ = child.wait();
    if std::env::var_os("BENCH_NO_DATA").is_some() {
        println!("{n} tenant creates in memory: {took:.2} s");
        return;
    }

    let restarted = Instant::now();
    let (mut child, url) = spawn(&bin, &data);
    let start_s = restarted.elapsed().as_secs_f64();
    // A new client: a pooled connection to the killed process could be picked for the same port.
    let http = reqwest::Client::new();
    let count = runtime.block_on(async {
        let all: Value = http
            .get(format!("{url}/v1/mgmt/tenant/all"))
            .header("Authorization", &auth)
            .send()
            .await
            .expect("load all")
            .json()
            .await
            .expect("json");
        all["tenants"].as_array().map_or(0, Vec::len)
    });
    child.kill().expect("kill");
    let _ = child.wait();
    assert_eq!(count, n, "tenants after a kill and a restart");
    let size = |p: &std::path::Path| std::fs::metadata(p).map_or(0, |m| m.len());
    println!("| {n} tenant creates against `--data` | figure |");
    println!("|---|---|");
    println!(
        "| wall time | {took:.2} s ({:.2} ms a create) |",
        took * 1000.0 / n as f64
    );
    println!("| restart after SIGKILL (load + replay), to the address line | {start_s:.2} s |");
    println!("| tenants found after the restart | {count} |");
    println!(
        "| data file / journal after the restart | {} KiB / {} B |",
        size(&data) / 1024,
        size(&dir.path().join("emulator.json.journal"))
    );
}
