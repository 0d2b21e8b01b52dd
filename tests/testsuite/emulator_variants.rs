//! The emulator's `DescopeVariant`s through raw HTTP: each other answer is what it says — the
//! statuses, bodies and headers of `emulator/variant.rs`, and the rules the area modules apply
//! (a permission's delete left in roles, roles outliving their tenant, tenant updates keeping
//! absent keys). That dmgmt copes with them is `descope_variants.rs`.

use serde_json::{Value, json};

use crate::descope_variants::everything_unusual;
use dmgmt::emulator::{DescopeVariant, EmulatorConfig, ErrorBodies, NewTheme};

/// One raw exchange: status, `Retry-After`, content type and the body's text.
async fn exchange(
    emu: &dmgmt::emulator::EmulatorHandle,
    method: &str,
    path: &str,
    body: Option<Value>,
    key: &str,
) -> (u16, Option<String>, String, String) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = reqwest::Client::new()
        .request(method, format!("{}{path}", emu.base_url()))
        .header(
            "Authorization",
            format!("Bearer {}:{key}", dmgmt::emulator::LOCAL_PROJECT_ID),
        );
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let header = |name| {
        resp.headers()
            .get(name)
            .map(|v: &reqwest::header::HeaderValue| v.to_str().unwrap().to_owned())
    };
    let (retry_after, content_type) = (header("retry-after"), header("content-type"));
    let status = resp.status().as_u16();
    (
        status,
        retry_after,
        content_type.unwrap_or_default(),
        resp.text().await.unwrap(),
    )
}

async fn emulator(variant: DescopeVariant) -> dmgmt::emulator::EmulatorHandle {
    crate::support::start(EmulatorConfig {
        variant,
        rate_limit: Some(dmgmt::emulator::EmulatorRateLimit {
            requests: 6,
            per_seconds: 60,
        }),
        ..EmulatorConfig::default()
    })
    .await
}

#[tokio::test]
async fn each_variant_answers_as_it_says() {
    use dmgmt::emulator::{LOCAL_MANAGEMENT_KEY as KEY, RetryAfter};
    let json = |text: &str| serde_json::from_str::<Value>(text).unwrap();

    let emu = emulator(everything_unusual()).await;
    let created = json!({"id": "acme", "name": "Acme"});
    let (status, _, _, body) = exchange(
        &emu,
        "POST",
        "/v1/mgmt/tenant/create",
        Some(created.clone()),
        KEY,
    )
    .await;
    assert_eq!((status, body.as_str()), (200, ""), "an empty reply");
    let (status, _, kind, body) =
        exchange(&emu, "POST", "/v1/mgmt/tenant/create", Some(created), KEY).await;
    assert_eq!(status, 400, "already exists: {body}");
    assert!(
        kind.starts_with("text/plain") && body.contains("already exists"),
        "{kind}: {body}"
    );
    let (status, _, _, body) = exchange(&emu, "GET", "/v1/mgmt/tenant?id=nope", None, KEY).await;
    assert_eq!(status, 400, "not found: {body}");
    let (status, _, _, body) = exchange(&emu, "GET", "/v1/mgmt/tenant?id=acme", None, KEY).await;
    let loaded = json(&body);
    assert_eq!(
        (status, &loaded["tenant"]["name"]),
        (200, &json!("Acme")),
        "wrapped"
    );
    assert_eq!(
        loaded["tenant"]["selfProvisioningDomains"],
        Value::Null,
        "sparse"
    );
    assert!(
        loaded["tenant"].get("disabled").is_none(),
        "sparse: {loaded}"
    );
    let (status, _, _, body) =
        exchange(&emu, "POST", "/v1/mgmt/theme/export", Some(json!({})), KEY).await;
    assert_eq!(
        (status, json(&body)),
        (200, json!({})),
        "a new project's theme"
    );
    let (status, ..) = exchange(&emu, "GET", "/v1/mgmt/tenant/all", None, "wrong").await;
    assert_eq!(status, 403);
    let (status, retry_after, _, body) =
        exchange(&emu, "GET", "/v1/mgmt/tenant/all", None, KEY).await;
    assert_eq!(
        (status, retry_after.as_deref(), body.as_str()),
        (429, Some("0"), "error code: 1015")
    );

    let emu = emulator(DescopeVariant {
        error_bodies: ErrorBodies::EmptyCode,
        retry_after: RetryAfter::HttpDate,
        new_theme: NewTheme::Empty,
        ..DescopeVariant::default()
    })
    .await;
    let (status, _, _, body) = exchange(&emu, "GET", "/v1/mgmt/tenant?id=nope", None, KEY).await;
    let error = json(&body);
    assert_eq!((status, &error["errorCode"]), (404, &json!("")), "{error}");
    assert!(
        error["errorDescription"]
            .as_str()
            .is_some_and(|d| d.contains("nope"))
    );
    let (_, _, _, body) =
        exchange(&emu, "POST", "/v1/mgmt/theme/export", Some(json!({})), KEY).await;
    assert_eq!(json(&body), json!({"theme": {}}));
    for _ in 0..4 {
        exchange(&emu, "GET", "/v1/mgmt/role/all", None, KEY).await;
    }
    let (status, retry_after, _, _) = exchange(&emu, "GET", "/v1/mgmt/role/all", None, KEY).await;
    assert_eq!(status, 429);
    assert!(
        retry_after.as_deref().is_some_and(|d| d.ends_with(" GMT")),
        "{retry_after:?}"
    );
}

#[tokio::test]
async fn each_rule_variant_does_what_it_says() {
    use crate::support::{get, post};
    let emu = crate::support::start(EmulatorConfig {
        variant: DescopeVariant {
            permission_delete_keeps_in_roles: true,
            tenant_delete_keeps_roles: true,
            tenant_update_keeps_absent: true,
            ..DescopeVariant::default()
        },
        ..EmulatorConfig::default()
    })
    .await;
    let tenant = json!({"id": "acme", "name": "Acme", "selfProvisioningDomains": ["acme.com"]});
    post(&emu, "/v1/mgmt/tenant/create", tenant)
        .await
        .assert_ok();
    post(&emu, "/v1/mgmt/permission/create", json!({"name": "p"}))
        .await
        .assert_ok();
    let role = json!({"name": "R", "tenantId": "acme", "permissionNames": ["p"]});
    post(&emu, "/v1/mgmt/role/create", role).await.assert_ok();

    let update = json!({"id": "acme", "name": "Acme Corp"});
    post(&emu, "/v1/mgmt/tenant/update", update)
        .await
        .assert_ok();
    let loaded = get(&emu, "/v1/mgmt/tenant?id=acme").await;
    assert_eq!(loaded.body["name"], "Acme Corp");
    assert_eq!(
        loaded.body["selfProvisioningDomains"],
        json!(["acme.com"]),
        "kept"
    );

    post(&emu, "/v1/mgmt/permission/delete", json!({"name": "p"}))
        .await
        .assert_ok();
    post(&emu, "/v1/mgmt/tenant/delete", json!({"id": "acme"}))
        .await
        .assert_ok();
    let roles = get(&emu, "/v1/mgmt/role/all").await;
    let left = roles.body["roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "R");
    let left = left.expect("the role outlives its tenant");
    assert_eq!(
        left["permissionNames"],
        json!(["p"]),
        "and names the deleted permission"
    );
}
