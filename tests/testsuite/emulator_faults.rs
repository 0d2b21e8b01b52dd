//! The emulator's injected faults and its request log: lost replies (the change is made, the
//! answer is a 502) beside `--fault-rate`, reproducible with a seed, never on reads; and the log
//! records every request's body but never the management key.

use dmgmt::emulator::{EmulatorConfig, LOCAL_MANAGEMENT_KEY};
use serde_json::{Value, json};

use crate::support::{auth, call, get, post, raw, start};

fn lossy(rate: f64, seed: u64) -> EmulatorConfig {
    EmulatorConfig {
        lost_reply_rate: rate,
        seed,
        ..EmulatorConfig::default()
    }
}

#[tokio::test]
async fn a_lost_reply_is_a_502_after_the_change_was_made_and_persisted() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("emulator.json");
    let emu = start(EmulatorConfig {
        data: Some(data.clone()),
        ..lossy(1.0, 1)
    })
    .await;
    let create = json!({"id": "acme", "name": "Acme"});
    post(&emu, "/v1/mgmt/tenant/create", create.clone())
        .await
        .assert_error(502, "E011502");
    // The reply was lost, not the change: a read finds it, and creating it again is a conflict
    // (a mutation that fails answers its own error, not a lost reply).
    let t = get(&emu, "/v1/mgmt/tenant?id=acme").await;
    assert_eq!(t.assert_ok()["name"], "Acme");
    post(&emu, "/v1/mgmt/tenant/create", create)
        .await
        .assert_error(409, "E011409");
    post(&emu, "/v1/mgmt/permission/create", json!({"name": "p"}))
        .await
        .assert_error(502, "E011502");
    emu.shutdown().await.unwrap();

    // Persisted before the reply was lost.
    let emu = start(EmulatorConfig {
        data: Some(data),
        ..EmulatorConfig::default()
    })
    .await;
    assert_eq!(
        get(&emu, "/v1/mgmt/tenant?id=acme").await.assert_ok()["name"],
        "Acme"
    );
    let perms = get(&emu, "/v1/mgmt/permission/all").await;
    let names: Vec<&str> = perms.assert_ok()["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert!(names.contains(&"p"), "{names:?}");
}

#[tokio::test]
async fn reads_are_never_lost() {
    let emu = start(lossy(1.0, 3)).await;
    post(
        &emu,
        "/v1/mgmt/flow/import",
        json!({"flowId": "f", "flow": {"id": "f"}, "screens": []}),
    )
    .await
    .assert_error(502, "E011502");
    for _ in 0..5 {
        get(&emu, "/v1/mgmt/license").await.assert_ok();
        get(&emu, "/v1/mgmt/tenant/all").await.assert_ok();
        get(&emu, "/v1/mgmt/role/all").await.assert_ok();
        get(&emu, "/v1/mgmt/permission/all").await.assert_ok();
        post(&emu, "/v1/mgmt/role/search", json!({}))
            .await
            .assert_ok();
        post(&emu, "/v1/mgmt/tenant/search", json!({}))
            .await
            .assert_ok();
        post(&emu, "/v1/mgmt/flow/list", json!({}))
            .await
            .assert_ok();
        post(&emu, "/v1/mgmt/flow/export", json!({"flowId": "f"}))
            .await
            .assert_ok();
        post(&emu, "/v1/mgmt/theme/export", json!({}))
            .await
            .assert_ok();
    }
    let log = emu.request_log();
    assert_eq!(log.iter().filter(|e| e.status == 502).count(), 1, "{log:?}");
    assert_eq!(log.len(), 46);
}

/// Statuses of `n` sequential permission creates.
async fn create_statuses(config: EmulatorConfig, n: usize) -> Vec<u16> {
    let emu = start(config).await;
    let mut statuses = Vec::new();
    for i in 0..n {
        let answer = post(
            &emu,
            "/v1/mgmt/permission/create",
            json!({"name": format!("p{i}")}),
        )
        .await;
        if answer.status != 200 {
            assert!(!answer.code().is_empty(), "{}", answer.body);
        }
        statuses.push(answer.status);
    }
    // Every create that was not faulted with 503 was made, whatever its answer said.
    let all = get(&emu, "/v1/mgmt/permission/all").await;
    let made = all.assert_ok()["permissions"].as_array().unwrap().len() - 3;
    assert_eq!(made, statuses.iter().filter(|s| **s != 503).count());
    statuses
}

#[tokio::test]
async fn lost_replies_are_reproducible_with_a_seed_and_independent_of_faults() {
    let first = create_statuses(lossy(0.5, 7), 40).await;
    assert_eq!(first, create_statuses(lossy(0.5, 7), 40).await);
    let lost = first.iter().filter(|s| **s == 502).count();
    assert!((8..=32).contains(&lost), "about half lost: {first:?}");
    assert!(first.iter().all(|s| *s == 200 || *s == 502), "{first:?}");
    assert_ne!(first, create_statuses(lossy(0.5, 8), 40).await);

    // Turning lost replies on does not move which calls fault with 503.
    let faults = |lost_reply_rate| EmulatorConfig {
        fault_rate: 0.3,
        lost_reply_rate,
        seed: 7,
        ..EmulatorConfig::default()
    };
    let without = create_statuses(faults(0.0), 40).await;
    let with = create_statuses(faults(0.5), 40).await;
    let faulted = |statuses: &[u16]| -> Vec<bool> { statuses.iter().map(|s| *s == 503).collect() };
    assert_eq!(faulted(&without), faulted(&with));
    assert!(
        with.contains(&503) && with.contains(&502) && with.contains(&200),
        "{with:?}"
    );
}

#[tokio::test]
async fn the_request_log_holds_each_body_and_never_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("requests.jsonl");
    let emu = start(EmulatorConfig {
        request_log: Some(file.clone()),
        ..EmulatorConfig::default()
    })
    .await;
    let role =
        json!({"name": "Auditor", "description": "reads é", "permissionNames": ["User Admin"]});
    post(&emu, "/v1/mgmt/role/create", role.clone())
        .await
        .assert_ok();
    get(&emu, "/v1/mgmt/role/all").await.assert_ok();
    raw(
        &emu,
        "POST",
        "/v1/mgmt/tenant/create",
        Some("{not json"),
        Some(&auth()),
    )
    .await
    .assert_error(400, "E011001");
    // Rejected before any handler: the body is still logged, the header never.
    raw(
        &emu,
        "POST",
        "/v1/mgmt/permission/create",
        Some(r#"{"name":"x"}"#),
        None,
    )
    .await
    .assert_error(401, "E011401");
    call(&emu, "POST", "/v1/mgmt/flow/list", None)
        .await
        .assert_ok();

    let log = emu.request_log();
    let bodies: Vec<(&str, u16, &Value)> = log
        .iter()
        .map(|e| (e.path.as_str(), e.status, &e.body))
        .collect();
    assert_eq!(
        bodies,
        vec![
            ("/v1/mgmt/role/create", 200, &role),
            ("/v1/mgmt/role/all", 200, &Value::Null),
            ("/v1/mgmt/tenant/create", 400, &json!("{not json")),
            ("/v1/mgmt/permission/create", 401, &json!({"name": "x"})),
            ("/v1/mgmt/flow/list", 200, &Value::Null),
        ]
    );
    emu.shutdown().await.unwrap();

    let text = std::fs::read_to_string(&file).unwrap();
    assert!(!text.contains(LOCAL_MANAGEMENT_KEY), "{text}");
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 5);
    assert_eq!(
        lines[0],
        json!({"method": "POST", "path": "/v1/mgmt/role/create", "status": 200, "body": role})
    );
    assert_eq!(lines[1]["body"], Value::Null);
}
