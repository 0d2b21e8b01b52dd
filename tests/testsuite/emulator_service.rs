//! The emulator over raw HTTP, beyond single objects: flow and theme routes (v1 and v2), rate
//! limiting, persistence across restarts and the request log file, and what a new project holds.

use dmgmt::emulator::{EmulatorConfig, EmulatorRateLimit};
use serde_json::{Value, json};

use crate::support::{auth, call, get, post, raw, start, start_default};

#[tokio::test]
async fn flow_list_accepts_no_body_empty_and_ids() {
    let emu = start_default().await;
    for id in ["a", "b"] {
        let body = json!({"flowId": id, "flow": {"name": id.to_uppercase()}, "screens": []});
        post(&emu, "/v1/mgmt/flow/import", body).await.assert_ok();
    }
    let auth = auth();
    let none = raw(&emu, "POST", "/v1/mgmt/flow/list", None, Some(&auth)).await;
    assert_eq!(none.assert_ok()["total"], 2);
    assert_eq!(
        post(&emu, "/v1/mgmt/flow/list", json!({}))
            .await
            .assert_ok()["total"],
        2
    );
    let some = post(&emu, "/v1/mgmt/flow/list", json!({"ids": ["b"]})).await;
    assert_eq!(
        some.assert_ok()["flows"],
        json!([{"id": "b", "name": "B", "description": "", "disabled": false}])
    );
    post(&emu, "/v1/mgmt/flow/export", json!({"flowId": "zzz"}))
        .await
        .assert_error(404, "E011404");
    post(&emu, "/v1/mgmt/flow/delete", json!({"ids": ["a", "zzz"]}))
        .await
        .assert_error(404, "E011404");
    post(&emu, "/v1/mgmt/flow/import", json!({"flowId": "c"}))
        .await
        .assert_error(400, "E011002");
    post(&emu, "/v1/mgmt/theme/import", json!({"theme": "dark"}))
        .await
        .assert_error(400, "E011003");
    post(&emu, "/v1/mgmt/theme/export", json!({"x": 1}))
        .await
        .assert_error(400, "E011003");
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after_and_descope_body() {
    let rate_limit = Some(EmulatorRateLimit {
        requests: 1,
        per_seconds: 30,
    });
    let emu = start(EmulatorConfig {
        rate_limit,
        ..EmulatorConfig::default()
    })
    .await;
    get(&emu, "/v1/mgmt/license").await.assert_ok();
    let limited = get(&emu, "/v1/mgmt/license").await;
    limited.assert_error(429, "E130429");
    assert_eq!(
        limited.body,
        json!({"errorCode": "E130429", "errorDescription": "https://docs.descope.com/rate-limit", "errorMessage": "API rate limit exceeded."})
    );
    let seconds: u64 = limited.retry_after.as_deref().unwrap().parse().unwrap();
    assert!((1..=30).contains(&seconds), "{seconds}");
}

#[tokio::test]
async fn data_survives_a_restart_and_the_request_log_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("emulator/local.json");
    let log = dir.path().join("requests.jsonl");
    let config = EmulatorConfig {
        data: Some(data.clone()),
        request_log: Some(log.clone()),
        ..EmulatorConfig::default()
    };
    let emu = start(config.clone()).await;
    post(
        &emu,
        "/v1/mgmt/tenant/create",
        json!({"id": "acme", "name": "Acme"}),
    )
    .await
    .assert_ok();
    post(&emu, "/v1/mgmt/permission/create", json!({"name": "p"}))
        .await
        .assert_ok();
    let generated = post(&emu, "/v1/mgmt/tenant/create", json!({"name": "Gen"})).await;
    let generated = generated.assert_ok()["id"].as_str().unwrap().to_owned();
    emu.shutdown().await.unwrap();
    assert!(data.exists());

    let emu = start(config).await;
    let t = get(&emu, "/v1/mgmt/tenant?id=acme").await;
    assert_eq!(t.assert_ok()["name"], "Acme");
    assert_eq!(
        get(&emu, "/v1/mgmt/permission/all").await.assert_ok()["permissions"][3]["name"],
        "p",
        "after the three system-default permissions"
    );
    let again = post(&emu, "/v1/mgmt/tenant/create", json!({"name": "Gen2"})).await;
    assert_ne!(
        again.assert_ok()["id"].as_str().unwrap(),
        generated,
        "ids stay unique across restarts"
    );
    emu.shutdown().await.unwrap();

    let lines: Vec<Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 6);
    assert_eq!(
        lines[0],
        json!({"method": "POST", "path": "/v1/mgmt/tenant/create", "status": 200, "body": {"id": "acme", "name": "Acme"}})
    );
    assert_eq!(
        lines[3],
        json!({"method": "GET", "path": "/v1/mgmt/tenant", "status": 200, "body": null})
    );
}

/// The embedded emulator of an `emulator: true` environment is dropped with its command, not
/// shut down: the data file alone (copied without its journal) must still hold every change.
#[tokio::test]
async fn a_dropped_emulator_leaves_every_change_in_the_data_file_alone() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("emulator/local.json");
    let emu = start(EmulatorConfig {
        data: Some(data.clone()),
        ..EmulatorConfig::default()
    })
    .await;
    post(
        &emu,
        "/v1/mgmt/tenant/create",
        json!({"id": "acme", "name": "Acme"}),
    )
    .await
    .assert_ok();
    drop(emu);

    // The data file, copied as a reader would copy it: without `local.json.journal`.
    let copy = dir.path().join("emulator/copy.json");
    std::fs::copy(&data, &copy).unwrap();
    let emu = start(EmulatorConfig {
        data: Some(copy),
        ..EmulatorConfig::default()
    })
    .await;
    let t = get(&emu, "/v1/mgmt/tenant?id=acme").await;
    assert_eq!(t.assert_ok()["name"], "Acme");
    emu.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_new_project_holds_descopes_preconfigured_role_and_permissions() {
    let emu = start_default().await;
    let perms = get(&emu, "/v1/mgmt/permission/all").await;
    let perms = perms.assert_ok()["permissions"].as_array().unwrap().clone();
    let system: Vec<(&str, bool)> = perms
        .iter()
        .map(|p| (p["name"].as_str().unwrap(), p["systemDefault"] == true))
        .collect();
    assert_eq!(
        system,
        [
            ("User Admin", true),
            ("SSO Admin", true),
            ("Impersonate", true)
        ]
    );
    let roles = get(&emu, "/v1/mgmt/role/all").await;
    let roles = roles.assert_ok()["roles"].clone();
    assert_eq!(roles[0]["name"], "Tenant Admin");
    assert_eq!(
        roles[0]["permissionNames"],
        json!(["User Admin", "SSO Admin", "Impersonate"])
    );

    // Tenant Admin is editable; the system-default permissions are not.
    let edit = json!({"name": "Tenant Admin", "newName": "Tenant Admin", "permissionNames": ["User Admin"]});
    post(&emu, "/v1/mgmt/role/update", edit).await.assert_ok();
    for (path, body) in [
        (
            "/v1/mgmt/permission/update",
            json!({"name": "User Admin", "newName": "Users"}),
        ),
        ("/v1/mgmt/permission/delete", json!({"name": "SSO Admin"})),
        (
            "/v1/mgmt/permission/delete/batch",
            json!({"names": ["Impersonate"]}),
        ),
    ] {
        post(&emu, path, body).await.assert_error(400, "E011003");
    }
    let after = get(&emu, "/v1/mgmt/permission/all").await;
    assert_eq!(
        after.assert_ok()["permissions"].as_array().unwrap().len(),
        3
    );
}

#[tokio::test]
async fn v2_flow_and_theme_routes_are_strict_and_share_one_stored_document_with_v1() {
    let emu = start_default().await;
    post(
        &emu,
        "/v2/mgmt/flow/import",
        json!({"flow": {"metadata": {}}}),
    )
    .await
    .assert_error(400, "E011002");
    post(
        &emu,
        "/v2/mgmt/flow/import",
        json!({"flow": {"flowId": "f"}, "x": 1}),
    )
    .await
    .assert_error(400, "E011003");
    post(
        &emu,
        "/v2/mgmt/flow/import",
        json!({"flow": {"flowId": "f", "screens": [1]}}),
    )
    .await
    .assert_error(400, "E011003");
    post(&emu, "/v2/mgmt/flow/export", json!({"flowId": "f"}))
        .await
        .assert_error(404, "E011404");

    let v2 = json!({"flowId": "f", "metadata": {"name": "F"}, "contents": {"dsl": {}},
        "screens": [{"screenId": "s", "interactions": [], "contents": {"title": "T"}}], "references": {}});
    let answer = post(&emu, "/v2/mgmt/flow/import", json!({"flow": v2})).await;
    assert_eq!(answer.assert_ok(), &json!({}));
    let back = post(&emu, "/v2/mgmt/flow/export", json!({"flowId": "f"})).await;
    let back = back.assert_ok();
    assert_eq!(back["flow"]["contents"], json!({"dsl": {}}));
    assert!(back["flow"]["metadata"]["fingerprint"].is_string());
    // The same stored flow, through v1 (converted) and in the v1 list.
    let v1 = post(&emu, "/v1/mgmt/flow/export", json!({"flowId": "f"})).await;
    let v1 = v1.assert_ok();
    assert_eq!(v1["flow"]["name"], "F");
    assert_eq!(v1["screens"][0]["id"], "s");
    assert_eq!(v1["screens"][0]["title"], "T");
    let list = post(&emu, "/v1/mgmt/flow/list", json!({})).await;
    assert_eq!(list.assert_ok()["flows"][0]["name"], "F");

    // Theme v2: export takes no body; import answers `{}`; v1 sees the styles as `cssTemplate`.
    let theme = call(&emu, "POST", "/v2/mgmt/theme/export", None).await;
    assert!(theme.assert_ok()["theme"]["styles"].is_object());
    let styles = json!({"light": {"button": "#000"}});
    let answer = post(
        &emu,
        "/v2/mgmt/theme/import",
        json!({"theme": {"styles": styles}}),
    )
    .await;
    assert_eq!(answer.assert_ok(), &json!({}));
    let v1 = post(&emu, "/v1/mgmt/theme/export", json!({})).await;
    assert_eq!(v1.assert_ok()["theme"]["cssTemplate"], styles);
    post(
        &emu,
        "/v2/mgmt/theme/import",
        json!({"theme": {"styles": 1}}),
    )
    .await
    .assert_error(400, "E011003");
}
