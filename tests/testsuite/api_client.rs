//! The Descope client against the in-process emulator: every call round-trips, errors are typed,
//! and the key never leaks. (429 pauses and 5xx retries are in `api_client_retries.rs`.)

use std::sync::Arc;

use dmgmt::api::wire::{
    FlowDocument, Permission, PermissionCreate, PermissionUpdate, Raw, Role, RoleCreate,
    RoleDelete, RoleUpdate, TenantRequest, ThemeDocument,
};
use dmgmt::api::{ApiError, Client, ClientConfig, ManagementKey, Provider, RateLimit};
use dmgmt::model::preconfigured::TENANT_ADMIN_ROLE;
use serde_json::{Value, json};

use crate::support::{client_for, config_for, start_default};

pub(crate) fn tenant(id: Option<&str>, name: &str) -> TenantRequest {
    TenantRequest {
        id: id.map(str::to_owned),
        name: Some(name.to_owned()),
        ..TenantRequest::default()
    }
}

fn role(name: &str, permissions: &[&str], tenant_id: Option<&str>) -> RoleCreate {
    RoleCreate {
        name: Some(name.to_owned()),
        description: Some(format!("{name} role")),
        permission_names: Some(permissions.iter().map(|p| p.to_string()).collect()),
        tenant_id: tenant_id.map(str::to_owned),
        ..RoleCreate::default()
    }
}

pub(crate) fn perm(name: &str) -> PermissionCreate {
    PermissionCreate {
        name: Some(name.to_owned()),
        description: Some(format!("{name} permission")),
    }
}

#[track_caller]
fn assert_not_found(err: &ApiError) {
    assert!(err.is_not_found(), "{err:?}");
    assert_eq!(err.status(), Some(404));
    assert!(err.error_code().is_some_and(|c| !c.is_empty()), "{err:?}");
}

#[tokio::test]
async fn license_handshake_returns_the_tier() {
    let emu = start_default().await;
    let client = client_for(&emu);
    assert_eq!(client.license().await.unwrap().rate_limit_tier, "tier1");
}

#[tokio::test]
async fn tenants_round_trip_update_replaces_and_delete_then_load_is_not_found() {
    let emu = start_default().await;
    let c = client_for(&emu);
    let mut acme = tenant(Some("acme"), "Acme Corp");
    acme.self_provisioning_domains = Some(vec!["acme.com".into()]);
    acme.custom_attributes = Some(json!({"plan": "enterprise"}).as_object().unwrap().clone());
    assert_eq!(c.create_tenant(&acme).await.unwrap(), "acme");
    let generated = c.create_tenant(&tenant(None, "Generated")).await.unwrap();
    assert!(generated.starts_with('T'), "{generated}");

    let loaded = c.load_tenant("acme").await.unwrap();
    assert_eq!(loaded.name, "Acme Corp");
    assert_eq!(loaded.self_provisioning_domains, ["acme.com"]);
    assert_eq!(loaded.custom_attributes["plan"], "enterprise");
    assert!(loaded.created_time > 0);
    let all = c.load_all_tenants().await.unwrap();
    assert_eq!(
        all.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(),
        ["acme", generated.as_str()]
    );

    // Update replaces: fields not sent are emptied.
    c.update_tenant(&tenant(Some("acme"), "Acme Inc"))
        .await
        .unwrap();
    let updated = c.load_tenant("acme").await.unwrap();
    assert_eq!(updated.name, "Acme Inc");
    assert!(updated.self_provisioning_domains.is_empty());
    assert!(updated.custom_attributes.is_empty());
    assert_eq!(updated.created_time, loaded.created_time);

    c.create_role(&role("Viewer", &[], None)).await.unwrap();
    c.update_tenant_default_roles("acme", &["Viewer".to_owned()])
        .await
        .unwrap();
    assert_eq!(
        c.load_tenant("acme").await.unwrap().default_roles,
        ["Viewer"]
    );

    c.delete_tenant("acme", false).await.unwrap();
    let err = c.load_tenant("acme").await.unwrap_err();
    assert_not_found(&err);
    assert_eq!(err.error_code(), Some("E011404"));
    assert_not_found(&c.delete_tenant("acme", true).await.unwrap_err());
    assert!(
        c.create_tenant(&tenant(Some(&generated), "Other"))
            .await
            .unwrap_err()
            .is_conflict()
    );
}

#[tokio::test]
async fn permissions_and_roles_round_trip_and_rename_keeps_the_role_id() {
    let emu = start_default().await;
    let c = client_for(&emu);
    c.create_permission(&perm("billing.read")).await.unwrap();
    c.create_permissions(&[perm("billing.write"), perm("users.read")])
        .await
        .unwrap();
    let names: Vec<_> = created_permissions(c.load_all_permissions().await.unwrap())
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(names, ["billing.read", "billing.write", "users.read"]);
    let update = PermissionUpdate {
        name: Some("users.read".into()),
        new_name: Some("users.view".into()),
        ..Default::default()
    };
    c.update_permission(&update).await.unwrap();
    let perms = created_permissions(c.load_all_permissions().await.unwrap());
    assert_eq!(perms[2].name, "users.view");
    assert_eq!(perms[2].description, "", "update replaces the description");
    assert!(perms[2].id.starts_with("PERM"));

    c.create_role(&role("Billing Manager", &["billing.read"], None))
        .await
        .unwrap();
    let before = created_roles(c.load_all_roles().await.unwrap());
    assert_eq!(before.len(), 1);
    assert!(before[0].id.starts_with("ROL"));
    let rename = RoleUpdate {
        name: Some("Billing Manager".into()),
        new_name: Some("Billing Admin".into()),
        description: Some("Manages billing".into()),
        permission_names: Some(vec!["billing.read".into(), "billing.write".into()]),
        ..Default::default()
    };
    c.update_role(&rename).await.unwrap();
    let after = created_roles(c.load_all_roles().await.unwrap());
    assert_eq!(after[0].id, before[0].id, "a rename keeps the role's id");
    assert_eq!(after[0].name, "Billing Admin");
    assert_eq!(after[0].permission_names, ["billing.read", "billing.write"]);

    c.create_roles(&[role("A", &[], None), role("B", &["users.view"], None)])
        .await
        .unwrap();
    let batch_update = [RoleUpdate {
        id: Some(after[0].id.clone()),
        new_name: Some("Billing".into()),
        ..Default::default()
    }];
    c.update_roles(&batch_update).await.unwrap();
    c.delete_roles(&["A".to_owned(), "B".to_owned()], None)
        .await
        .unwrap();
    let roles = created_roles(c.load_all_roles().await.unwrap());
    assert_eq!(
        roles.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
        ["Billing"]
    );

    let del = RoleDelete {
        name: Some("Billing".into()),
        ..Default::default()
    };
    c.delete_role(&del).await.unwrap();
    assert_not_found(&c.delete_role(&del).await.unwrap_err());
    c.delete_permission("billing.read").await.unwrap();
    c.delete_permissions(&["billing.write".to_owned()])
        .await
        .unwrap();
    assert_not_found(&c.delete_permission("billing.read").await.unwrap_err());
    assert_eq!(
        created_permissions(c.load_all_permissions().await.unwrap()).len(),
        1
    );
}

#[tokio::test]
async fn empty_batch_deletes_are_refused_without_a_request() {
    let emu = start_default().await;
    let c = client_for(&emu);
    c.create_role(&role("Keep", &[], None)).await.unwrap();
    assert!(matches!(
        c.delete_roles(&[], None).await,
        Err(ApiError::Refused { .. })
    ));
    assert!(matches!(
        c.delete_permissions(&[]).await,
        Err(ApiError::Refused { .. })
    ));
    assert!(matches!(
        c.delete_flows(&[]).await,
        Err(ApiError::Refused { .. })
    ));
    assert_eq!(
        emu.request_log().len(),
        1,
        "only the create reached the server"
    );
    assert_eq!(created_roles(c.load_all_roles().await.unwrap()).len(), 1);
}

#[tokio::test]
async fn tenant_scoped_roles_need_their_tenant() {
    let emu = start_default().await;
    let c = client_for(&emu);
    let err = c
        .create_role(&role("Admin", &[], Some("acme")))
        .await
        .unwrap_err();
    assert_eq!(
        (err.status(), err.error_code()),
        (Some(400), Some("E011004"))
    );
    c.create_tenant(&tenant(Some("acme"), "Acme"))
        .await
        .unwrap();
    c.create_role(&role("Admin", &[], Some("acme")))
        .await
        .unwrap();
    c.create_role(&role("Admin", &[], None)).await.unwrap();
    assert_eq!(
        created_roles(c.load_all_roles().await.unwrap()).len(),
        2,
        "same name in two scopes"
    );
    c.delete_roles(&["Admin".to_owned()], Some("acme"))
        .await
        .unwrap();
    let left = created_roles(c.load_all_roles().await.unwrap());
    assert_eq!((left.len(), left[0].tenant_id.as_str()), (1, ""));
}

#[tokio::test]
async fn flows_and_theme_round_trip() {
    let emu = start_default().await;
    let c = client_for(&emu);
    let doc = FlowDocument {
        flow: json!({"name": "Sign up", "description": "d", "dsl": {"start": 1}}),
        screens: vec![json!({"id": "s1", "htmlTemplate": "<div/>"})],
    };
    let stored = c.import_flow("sign-up", &doc).await.unwrap();
    assert_eq!(stored.flow["id"], "sign-up");
    let exported = c.export_flow("sign-up").await.unwrap();
    assert_eq!(exported, stored);
    assert_eq!(exported.flow["dsl"], json!({"start": 1}));
    assert_eq!(exported.screens, doc.screens);
    let list = c.list_flows().await.unwrap();
    assert_eq!(
        (list.len(), list[0].id.as_str(), list[0].name.as_str()),
        (1, "sign-up", "Sign up")
    );
    c.delete_flows(&["sign-up".to_owned()]).await.unwrap();
    assert_not_found(&c.export_flow("sign-up").await.unwrap_err());
    assert!(c.list_flows().await.unwrap().is_empty());

    let theme = c.export_theme().await.unwrap();
    assert!(theme.theme.is_object());
    let new = ThemeDocument {
        theme: json!({"id": "theme", "cssTemplate": {"light": {"primary": "#123"}}}),
    };
    let imported = c.import_theme(&new).await.unwrap();
    assert_eq!(imported.theme["cssTemplate"], new.theme["cssTemplate"]);
    assert_eq!(c.export_theme().await.unwrap(), imported);
}

#[tokio::test]
async fn the_key_never_appears_in_debug_or_errors() {
    let emu = start_default().await;
    let secret = "K2ThisIsAVerySecretManagementKey";
    let mut config = config_for(&emu);
    config.management_key = ManagementKey::new(secret);
    config.key_env = Some("DESCOPE_MANAGEMENT_KEY_LOCAL".into());
    config.rate_limit = RateLimit::default();
    let c = Client::new(config.clone()).unwrap();
    let err = c.load_all_tenants().await.unwrap_err();
    assert_eq!(
        (err.status(), err.error_code()),
        (Some(401), Some("E011401"))
    );
    let shown = [
        format!("{c:?}"),
        format!("{config:?}"),
        format!("{err}"),
        format!("{err:?}"),
        dmgmt::Error::from(err).to_string(),
    ];
    for text in &shown {
        assert!(!text.contains(secret), "key leaked: {text}");
    }
    assert!(
        shown[4].contains("`GET /v1/mgmt/tenant/all`") && shown[4].contains("401"),
        "{}",
        shown[4]
    );
    assert!(
        shown[4]
            .contains("hint: check the management key in env var `DESCOPE_MANAGEMENT_KEY_LOCAL`")
    );
}

#[tokio::test]
async fn requests_identify_dmgmt_and_send_the_license_after_the_handshake() {
    use axum::extract::State;
    use axum::http::HeaderMap;
    use std::sync::Mutex;

    type Seen = Arc<Mutex<Vec<HeaderMap>>>;
    async fn capture(State(seen): State<Seen>, headers: HeaderMap) -> axum::Json<Value> {
        seen.lock().unwrap().push(headers);
        axum::Json(json!({"rateLimitTier": "tier2", "roles": []}))
    }
    let seen = Seen::default();
    let app = axum::Router::new()
        .route("/v1/mgmt/license", axum::routing::get(capture))
        .route("/v1/mgmt/role/all", axum::routing::get(capture))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let mut config = ClientConfig::new("P2headers", ManagementKey::new("K2key"));
    config.base_url = Some(format!("http://{addr}"));
    let c = Client::new(config).unwrap();
    created_roles(c.load_all_roles().await.unwrap());
    c.license().await.unwrap();
    created_roles(c.load_all_roles().await.unwrap());
    server.abort();

    let seen = seen.lock().unwrap();
    let h = |i: usize, name: &str| seen[i].get(name).map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(
        h(0, "authorization").as_deref(),
        Some("Bearer P2headers:K2key")
    );
    assert_eq!(h(0, "x-descope-sdk-name").as_deref(), Some("dmgmt"));
    assert_eq!(
        h(0, "x-descope-sdk-version").as_deref(),
        Some(env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(h(0, "x-descope-project-id").as_deref(), Some("P2headers"));
    assert_eq!(
        h(0, "x-descope-license"),
        None,
        "no licence before the handshake"
    );
    assert_eq!(h(2, "x-descope-license").as_deref(), Some("tier2"));
}

/// The permissions a test created: Descope's system-default ones left out.
pub(crate) fn created_permissions(all: Vec<Raw<Permission>>) -> Vec<Permission> {
    all.into_iter()
        .filter(|p| !p.system_default)
        .map(|p| p.value)
        .collect()
}

/// The roles a test created: Descope's preconfigured `Tenant Admin` left out.
pub(crate) fn created_roles(all: Vec<Raw<Role>>) -> Vec<Role> {
    all.into_iter()
        .filter(|r| r.name != TENANT_ADMIN_ROLE)
        .map(|r| r.value)
        .collect()
}

/// A server answering `GET /v1/mgmt/role/all` with `status`, `content_type` and `body`.
async fn answering(status: u16, content_type: &'static str, body: &'static str) -> String {
    use axum::http::{StatusCode, header};
    use axum::response::IntoResponse;
    let app = axum::Router::new().route(
        "/v1/mgmt/role/all",
        axum::routing::get(move || async move {
            let status = StatusCode::from_u16(status).unwrap();
            (status, [(header::CONTENT_TYPE, content_type)], body).into_response()
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

/// The error message dmgmt shows for the answer `status`, `content_type`, `body`.
async fn shown(status: u16, content_type: &'static str, body: &'static str) -> String {
    let mut config = ClientConfig::new("P2stub", ManagementKey::new("K2key"));
    config.base_url = Some(answering(status, content_type, body).await);
    config.retry = crate::support::fast_retry();
    let err = Client::new(config)
        .unwrap()
        .load_all_roles()
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(status), "{err:?}");
    dmgmt::Error::from(err).to_string()
}

#[tokio::test]
async fn errors_that_are_not_descopes_json_are_shown_readably() {
    let html = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n";
    assert_eq!(
        shown(502, "text/html", html).await,
        "error: `GET /v1/mgmt/role/all` failed with HTTP 502: 502 Bad Gateway"
    );
    assert_eq!(
        shown(403, "text/plain", "Forbidden:\n  bad key\n").await,
        "error: `GET /v1/mgmt/role/all` failed with HTTP 403: Forbidden: bad key\nhint: check the management key of this environment and its `project_id`: the key must belong to that project"
    );
    assert_eq!(
        shown(
            400,
            "application/json",
            r#"{"errorCode":"","errorDescription":"role not found"}"#
        )
        .await,
        "error: `GET /v1/mgmt/role/all` failed with HTTP 400: role not found"
    );
    assert_eq!(
        shown(
            404,
            "application/json",
            r#"{"errorCode":"E011404","errorMessage":"gone"}"#
        )
        .await,
        "error: `GET /v1/mgmt/role/all` failed with HTTP 404 `E011404`: gone"
    );
    // Descope's category and its specific reason are both shown when they differ.
    assert_eq!(
        shown(
            400,
            "application/json",
            r#"{"errorCode":"E011004","errorDescription":"Invalid arguments","errorMessage":"tenant has sub-tenants"}"#
        )
        .await,
        "error: `GET /v1/mgmt/role/all` failed with HTTP 400 `E011004`: Invalid arguments: tenant has sub-tenants"
    );
    assert_eq!(
        shown(
            409,
            "application/json",
            r#"{"errorCode":"E011409","errorDescription":"Already exists","errorMessage":"already exists"}"#
        )
        .await,
        "error: `GET /v1/mgmt/role/all` failed with HTTP 409 `E011409`: Already exists"
    );
    assert_eq!(
        shown(500, "text/plain", "").await,
        "error: `GET /v1/mgmt/role/all` failed with HTTP 500: no details (the answer was empty)"
    );
    let long: &'static str = Box::leak("x".repeat(500).into_boxed_str());
    let text = shown(400, "text/plain", long).await;
    assert!(text.ends_with("x…") && text.chars().count() < 300, "{text}");
}

#[tokio::test]
async fn a_tenant_load_reads_the_same_flat_or_wrapped() {
    for wrapped in [false, true] {
        let emu = crate::support::start(dmgmt::emulator::EmulatorConfig {
            variant: dmgmt::emulator::DescopeVariant {
                tenant_load_wrapped: wrapped,
                sparse_replies: wrapped,
                ..Default::default()
            },
            ..Default::default()
        })
        .await;
        let c = client_for(&emu);
        let mut acme = tenant(Some("acme"), "Acme Corp");
        acme.self_provisioning_domains = Some(vec!["acme.com".into()]);
        c.create_tenant(&acme).await.unwrap();
        let loaded = c.load_tenant("acme").await.unwrap();
        assert_eq!(
            (loaded.id.as_str(), loaded.name.as_str()),
            ("acme", "Acme Corp"),
            "wrapped: {wrapped}"
        );
        assert_eq!(loaded.self_provisioning_domains, ["acme.com"]);
    }
}
