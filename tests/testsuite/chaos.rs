//! The whole life of an environment against an unreliable Descope, through the real binary: one
//! emulator that fails 20% of calls, loses 10% of replies after doing the work, answers slowly and
//! rate-limits tightly. plan -> apply -> changes by hand -> refresh -> apply -> backup -> damage ->
//! restore -> the plan is "No changes.", and nothing was lost or created twice.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use crate::apply::{CONFIG, ENV, assert_no_changes, project};
use crate::live::Live;
use crate::support::{stderr, stdout};
use dmgmt::emulator::{EmulatorConfig, EmulatorRateLimit};

/// A change made "in the console", resent until Descope has it: a 429 or 503 did nothing, a 502
/// lost the reply of a call that was done (so it is not resent: that would be a second create).
fn by_hand(live: &Live, path: &str, body: Value) {
    for _ in 0..50 {
        match live.try_call(path, &body) {
            (200..=299 | 502, _) => return,
            (429 | 503, _) => std::thread::sleep(Duration::from_millis(100)),
            (status, answer) => panic!("{path}: {status} {answer}"),
        }
    }
    panic!("{path}: never accepted");
}

fn ok(live: &Live, root: &Path, args: &[&str]) -> (String, String) {
    let out = live.run(root, args);
    let (o, e) = (stdout(&out), stderr(&out));
    assert_eq!(out.status.code(), Some(0), "{args:?}:\n{o}{e}");
    (o, e)
}

/// Every live object as `kind name` (with its tenant for a scoped role), read through the faults.
fn live_objects(live: &Live) -> Vec<String> {
    let read = |path: &str| -> Value {
        for _ in 0..50 {
            let url = format!("{}{path}", live.handle.base_url());
            let (status, body) = live.runtime.block_on(async {
                let resp = reqwest::Client::new()
                    .get(url)
                    .bearer_auth(format!(
                        "{}:{}",
                        dmgmt::emulator::LOCAL_PROJECT_ID,
                        dmgmt::emulator::LOCAL_MANAGEMENT_KEY
                    ))
                    .send()
                    .await
                    .unwrap();
                (resp.status().as_u16(), resp.json::<Value>().await.ok())
            });
            match (status, body) {
                (200, Some(body)) => return body,
                _ => std::thread::sleep(Duration::from_millis(100)),
            }
        }
        panic!("{path}: never answered");
    };
    let mut out = Vec::new();
    for p in read("/v1/mgmt/permission/all")["permissions"]
        .as_array()
        .unwrap()
    {
        out.push(format!("permission {}", p["name"].as_str().unwrap()));
    }
    for r in read("/v1/mgmt/role/all")["roles"].as_array().unwrap() {
        let tenant = r["tenantId"].as_str().unwrap_or("");
        out.push(format!("role {tenant}/{}", r["name"].as_str().unwrap()));
    }
    for t in read("/v1/mgmt/tenant/all")["tenants"].as_array().unwrap() {
        let roles = t["defaultRoles"].clone();
        out.push(format!(
            "tenant {} {} {roles}",
            t["id"].as_str().unwrap(),
            t["name"].as_str().unwrap()
        ));
    }
    out.sort();
    out
}

#[test]
fn plan_apply_drift_refresh_apply_backup_damage_restore_converges_through_faults() {
    let live = Live::with(EmulatorConfig {
        fault_rate: 0.2,
        lost_reply_rate: 0.1,
        latency: Duration::from_millis(5),
        // `DMGMT_CHAOS_SEED=N cargo test --locked chaos::` replays the cycle with other faults.
        seed: std::env::var("DMGMT_CHAOS_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(2026),
        rate_limit: Some(EmulatorRateLimit {
            requests: 20,
            per_seconds: 1,
        }),
        ..EmulatorConfig::default()
    });
    // The client paces itself faster than the emulator allows: its 429s must pause, never fail.
    // Thirty more tenants: a tenant is created, and restored, by a call of its own: enough
    // mutations for every kind of failure to happen whatever the seed.
    let extra: String = (0..30)
        .map(|i| format!("  - {{id: t{i}, name: Tenant {i}}}\n"))
        .collect();
    let dir = project(&format!(
        "rate_limit: {{requests: 1000, per_seconds: 1}}\n{CONFIG}{extra}"
    ));
    let root = dir.path();

    let (plan, _) = ok(&live, root, &["plan", "-e", ENV]);
    assert!(plan.contains("Plan: "), "{plan}");
    let (_, err) = ok(&live, root, &["apply", "-e", ENV, "--auto-approve"]);
    assert!(err.contains(" 0 failed, 0 skipped"), "{err}");
    assert_no_changes(&live, root);
    let converged = live_objects(&live);

    // Changes by hand: a managed tenant renamed, a managed role deleted, a description edited,
    // and two objects dmgmt does not manage created.
    by_hand(
        &live,
        "/v1/mgmt/tenant/update",
        json!({"id": "beta", "name": "Beta by hand"}),
    );
    by_hand(&live, "/v1/mgmt/role/delete", json!({"name": "Viewer"}));
    by_hand(
        &live,
        "/v1/mgmt/permission/update",
        json!({"name": "billing.read", "newName": "billing.read", "description": "edited"}),
    );
    by_hand(
        &live,
        "/v1/mgmt/tenant/create",
        json!({"id": "gamma", "name": "Gamma"}),
    );
    by_hand(
        &live,
        "/v1/mgmt/permission/create",
        json!({"name": "hand.made"}),
    );

    let (refreshed, _) = ok(&live, root, &["refresh", "-e", ENV]);
    assert!(refreshed.contains("tenant.beta"), "{refreshed}");
    assert!(refreshed.contains("role.Viewer"), "{refreshed}");
    let (_, err) = ok(&live, root, &["apply", "-e", ENV, "--auto-approve"]);
    assert!(err.contains(" 0 failed, 0 skipped"), "{err}");
    assert_no_changes(&live, root);
    let mut expected = converged.clone();
    expected.extend([
        "permission hand.made".to_owned(),
        "tenant gamma Gamma []".to_owned(),
    ]);
    expected.sort();
    assert_eq!(
        live_objects(&live),
        expected,
        "the drift is undone, the unmanaged objects kept"
    );

    // Backup, then damage: tenants deleted (one with its roles), a permission deleted, a role's
    // permissions changed, and a tenant created since.
    ok(&live, root, &["backup", "-e", ENV]);
    let (list, _) = ok(&live, root, &["backups", "-e", ENV, "--json"]);
    let list: Value = serde_json::from_str(&list).unwrap();
    let id = list["backups"][0]["id"].as_str().unwrap().to_owned();
    for tenant in ["acme", "t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7"] {
        by_hand(
            &live,
            "/v1/mgmt/tenant/delete",
            json!({"id": tenant, "cascade": true}),
        );
    }
    by_hand(
        &live,
        "/v1/mgmt/permission/delete",
        json!({"name": "billing.write"}),
    );
    by_hand(
        &live,
        "/v1/mgmt/role/update",
        json!({"name": "Tenant Admin", "newName": "Tenant Admin", "permissionNames": ["User Admin"]}),
    );
    by_hand(
        &live,
        "/v1/mgmt/tenant/create",
        json!({"id": "delta", "name": "Delta"}),
    );
    assert_ne!(live_objects(&live), expected);

    let (_, err) = ok(
        &live,
        root,
        &[
            "restore",
            "-e",
            ENV,
            &id,
            "--auto-approve",
            "--delete-unmanaged",
        ],
    );
    assert!(err.contains(" 0 failed"), "{err}");
    let (plan, _) = ok(&live, root, &["plan", "-e", ENV]);
    assert!(plan.contains("No changes."), "{plan}");
    assert_no_changes(&live, root);
    assert_eq!(
        live_objects(&live),
        expected,
        "the backup's content, exactly, once each"
    );

    let log = live.handle.request_log();
    let count = |status: u16| log.iter().filter(|e| e.status == status).count();
    assert!(count(503) > 0, "faults were injected");
    assert!(count(502) > 0, "replies were lost");
    assert!(count(429) > 0, "the rate limit was hit");
    let duplicates: Vec<&str> = log
        .iter()
        .filter(|e| e.status == 409)
        .map(|e| e.path.as_str())
        .collect();
    assert_eq!(
        duplicates,
        Vec::<&str>::new(),
        "no create met an object that already existed"
    );
    // Each object once: a second role or permission of the same name would be listed twice.
    let once: BTreeSet<&String> = expected.iter().collect();
    assert_eq!(once.len(), expected.len(), "{expected:?}");
}
