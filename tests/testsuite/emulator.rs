//! The emulator over raw HTTP: strictness (auth, routes, methods, fields, types, nulls), tenant
//! rules, settings and search filters. (Roles and batches are in `emulator_roles.rs`; flows and
//! the theme, rate limiting, persistence, the request log and a new project's preconfigured
//! objects in `emulator_service.rs`.)

use serde_json::{Value, json};

use crate::support::{auth, call, get, post, raw, start_default};

#[tokio::test]
async fn authorization_must_name_this_project_and_key() {
    let emu = start_default().await;
    raw(&emu, "GET", "/v1/mgmt/license", None, None)
        .await
        .assert_error(401, "E011401");
    let wrong = "Bearer P2dmgmtLocalEmulatorProject:K2wrong";
    raw(&emu, "GET", "/v1/mgmt/tenant/all", None, Some(wrong))
        .await
        .assert_error(401, "E011401");
    raw(&emu, "GET", "/v1/mgmt/tenant/all", None, Some("Basic xyz"))
        .await
        .assert_error(401, "E011401");
    let ok = raw(&emu, "GET", "/v1/mgmt/license", None, Some(&auth())).await;
    assert_eq!(ok.assert_ok(), &json!({"rateLimitTier": "tier1"}));
}

#[tokio::test]
async fn unknown_routes_and_wrong_methods_are_descope_errors() {
    let emu = start_default().await;
    get(&emu, "/v1/mgmt/nothing")
        .await
        .assert_error(404, "E011400");
    post(&emu, "/v2/mgmt/tenant/create", json!({}))
        .await
        .assert_error(404, "E011400");
    get(&emu, "/v1/mgmt/tenant/create")
        .await
        .assert_error(405, "E011405");
    post(&emu, "/v1/mgmt/tenant/all", json!({}))
        .await
        .assert_error(405, "E011405");
    post(&emu, "/v1/mgmt/tenant/patch", json!({"id": "x"}))
        .await
        .assert_error(405, "E011405");
}

#[tokio::test]
async fn bad_bodies_and_queries_are_rejected() {
    let emu = start_default().await;
    let unknown = post(
        &emu,
        "/v1/mgmt/tenant/create",
        json!({"name": "A", "nmae": "typo"}),
    )
    .await;
    unknown.assert_error(400, "E011003");
    assert!(
        unknown.body["errorDescription"]
            .as_str()
            .unwrap()
            .contains("nmae")
    );
    post(
        &emu,
        "/v1/mgmt/role/create",
        json!({"name": "r", "permissionNames": "p"}),
    )
    .await
    .assert_error(400, "E011003");
    post(
        &emu,
        "/v1/mgmt/tenant/create",
        json!({"name": "A", "enforceSSO": "yes"}),
    )
    .await
    .assert_error(400, "E011003");
    let auth = auth();
    raw(
        &emu,
        "POST",
        "/v1/mgmt/tenant/create",
        Some("{"),
        Some(&auth),
    )
    .await
    .assert_error(400, "E011001");
    raw(
        &emu,
        "POST",
        "/v1/mgmt/tenant/create",
        Some("[]"),
        Some(&auth),
    )
    .await
    .assert_error(400, "E011001");
    post(&emu, "/v1/mgmt/tenant/create", json!({}))
        .await
        .assert_error(400, "E011002");
    get(&emu, "/v1/mgmt/tenant?tenant=x")
        .await
        .assert_error(400, "E011003");
    get(&emu, "/v1/mgmt/tenant")
        .await
        .assert_error(400, "E011002");
    post(
        &emu,
        "/v1/mgmt/tenant/create",
        json!({"name": "A", "roleInheritance": "all"}),
    )
    .await
    .assert_error(400, "E011004");
}

#[tokio::test]
async fn nulls_are_accepted_and_every_success_has_a_json_body() {
    let emu = start_default().await;
    // The Python SDK's create body, unset fields as null.
    let created = post(
        &emu,
        "/v1/mgmt/tenant/create",
        json!({"name": "Py", "id": null, "selfProvisioningDomains": [], "enforceSSO": false, "disabled": false}),
    )
    .await;
    let id = created.assert_ok()["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with('T'));
    let empty_id = post(
        &emu,
        "/v1/mgmt/tenant/create",
        json!({"name": "Go", "id": ""}),
    )
    .await;
    assert_ne!(empty_id.assert_ok()["id"], "");
    let role = json!({"name": "r", "description": null, "permissionNames": [], "tenantId": null, "default": null, "private": null});
    assert_eq!(
        post(&emu, "/v1/mgmt/role/create", role).await.assert_ok(),
        &json!({})
    );
    let perm = json!({"name": "p", "description": null});
    assert_eq!(
        post(&emu, "/v1/mgmt/permission/create", perm)
            .await
            .assert_ok(),
        &json!({})
    );
    let del = json!({"id": id, "cascade": null});
    assert_eq!(
        post(&emu, "/v1/mgmt/tenant/delete", del).await.assert_ok(),
        &json!({})
    );
}

#[tokio::test]
async fn tenant_ids_and_names_are_unique_and_missing_tenants_are_404() {
    let emu = start_default().await;
    post(
        &emu,
        "/v1/mgmt/tenant/create",
        json!({"id": "acme", "name": "Acme"}),
    )
    .await
    .assert_ok();
    post(
        &emu,
        "/v1/mgmt/tenant/create",
        json!({"id": "acme", "name": "Other"}),
    )
    .await
    .assert_error(409, "E011409");
    post(
        &emu,
        "/v1/mgmt/tenant/create",
        json!({"id": "acme2", "name": "Acme"}),
    )
    .await
    .assert_error(409, "E011409");
    post(
        &emu,
        "/v1/mgmt/tenant/create",
        json!({"id": "b", "name": "B"}),
    )
    .await
    .assert_ok();
    post(
        &emu,
        "/v1/mgmt/tenant/update",
        json!({"id": "b", "name": "Acme"}),
    )
    .await
    .assert_error(409, "E011409");
    post(
        &emu,
        "/v1/mgmt/tenant/update",
        json!({"id": "nope", "name": "N"}),
    )
    .await
    .assert_error(404, "E011404");
    post(&emu, "/v1/mgmt/tenant/delete", json!({"id": "nope"}))
        .await
        .assert_error(404, "E011404");
    get(&emu, "/v1/mgmt/tenant?id=nope")
        .await
        .assert_error(404, "E011404");
    call(
        &emu,
        "PATCH",
        "/v1/mgmt/tenant/patch",
        Some(json!({"id": "nope", "name": "x"})),
    )
    .await
    .assert_error(404, "E011404");
    post(
        &emu,
        "/v1/mgmt/tenant/create",
        json!({"id": "child", "name": "C", "parent": "ghost"}),
    )
    .await
    .assert_error(400, "E011004");
}

#[tokio::test]
async fn patch_merges_settings_round_trip_and_search_filters() {
    let emu = start_default().await;
    let acme = json!({"id": "acme", "name": "Acme", "selfProvisioningDomains": ["acme.com"], "customAttributes": {"plan": "gold"}});
    post(&emu, "/v1/mgmt/tenant/create", acme).await.assert_ok();
    post(
        &emu,
        "/v1/mgmt/tenant/create",
        json!({"id": "beta", "name": "Beta", "parent": "acme"}),
    )
    .await
    .assert_ok();
    call(
        &emu,
        "PATCH",
        "/v1/mgmt/tenant/patch",
        Some(json!({"id": "acme", "disabled": true, "roleInheritance": "none"})),
    )
    .await
    .assert_ok();
    let t = get(&emu, "/v1/mgmt/tenant?id=acme").await;
    let t = t.assert_ok();
    assert_eq!(
        (t["name"].as_str(), t["disabled"].as_bool()),
        (Some("Acme"), Some(true))
    );
    assert_eq!(
        t["selfProvisioningDomains"],
        json!(["acme.com"]),
        "patch keeps unsent fields"
    );
    assert_eq!(t["successors"], json!(["beta"]));
    assert_eq!(t["roleInheritance"], "none");

    let settings = json!({"tenantId": "acme", "enabled": true, "sessionTokenExpiration": 30,
        "sessionTokenExpirationUnit": "minutes", "domains": ["acme.io"], "JITDisabled": true});
    post(&emu, "/v1/mgmt/tenant/settings", settings)
        .await
        .assert_ok();
    let s = get(&emu, "/v1/mgmt/tenant/settings?id=acme").await;
    let s = s.assert_ok();
    assert_eq!(
        (s["enabled"].as_bool(), s["sessionTokenExpiration"].as_i64()),
        (Some(true), Some(30))
    );
    assert_eq!(
        (s["domains"].clone(), s["JITDisabled"].clone()),
        (json!(["acme.io"]), json!(true))
    );
    assert_eq!(s["selfProvisioningDomains"], json!(["acme.com"]));
    post(
        &emu,
        "/v1/mgmt/tenant/settings",
        json!({"tenantId": "acme", "inactivityTimeUnit": "years"}),
    )
    .await
    .assert_error(400, "E011004");

    let ids = |r: &Value| -> Vec<String> {
        r["tenants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let all = post(&emu, "/v1/mgmt/tenant/search", json!({})).await;
    assert_eq!(ids(all.assert_ok()), ["acme", "beta"]);
    let py = json!({"tenantIds": null, "tenantNames": ["Beta"], "tenantSelfProvisioningDomains": null, "customAttributes": null});
    assert_eq!(
        ids(post(&emu, "/v1/mgmt/tenant/search", py).await.assert_ok()),
        ["beta"]
    );
    let by_attr = json!({"customAttributes": {"plan": "gold"}, "tenantSelfProvisioningDomains": ["acme.com"]});
    assert_eq!(
        ids(post(&emu, "/v1/mgmt/tenant/search", by_attr)
            .await
            .assert_ok()),
        ["acme"]
    );
    let by_parent = json!({"parentTenantId": "acme"});
    assert_eq!(
        ids(post(&emu, "/v1/mgmt/tenant/search", by_parent)
            .await
            .assert_ok()),
        ["beta"]
    );
    // A tenant with a sub-tenant cannot be deleted: Descope's "Already exists".
    let refused = post(&emu, "/v1/mgmt/tenant/delete", json!({"id": "acme"})).await;
    refused.assert_error(409, "E011409");
    assert_eq!(refused.body["errorMessage"], "tenant has sub-tenants");
}

#[tokio::test]
async fn tenants_inserted_at_once_are_what_creates_leave_and_list_with_their_successors() {
    let emu = start_default().await;
    let tenant = |v: Value| serde_json::from_value::<dmgmt::api::wire::Tenant>(v).unwrap();
    let batch = vec![
        tenant(json!({"id": "acme", "name": "Acme", "defaultRoles": ["Tenant Admin"]})),
        tenant(json!({"id": "beta", "name": "Beta", "parent": "acme"})),
        tenant(json!({"id": "gamma", "name": "Gamma", "parent": "acme"})),
    ];
    emu.insert_tenants(batch).unwrap();
    let all = get(&emu, "/v1/mgmt/tenant/all").await;
    let all = all.assert_ok();
    let tenants = all["tenants"].as_array().unwrap();
    let ids: Vec<&str> = tenants.iter().filter_map(|t| t["id"].as_str()).collect();
    assert_eq!(ids, ["acme", "beta", "gamma"]);
    assert_eq!(tenants[0]["successors"], json!(["beta", "gamma"]));
    assert_eq!(tenants[0]["authType"], "none");
    assert_eq!(tenants[0]["defaultRoles"], json!(["Tenant Admin"]));
    assert!(tenants[0]["createdTime"].as_i64().unwrap() > 0);
    assert_eq!(tenants[1]["successors"], json!([]));
    // A single load shows the same successors as the list.
    let one = get(&emu, "/v1/mgmt/tenant?id=acme").await;
    assert_eq!(one.assert_ok()["successors"], json!(["beta", "gamma"]));

    // Refused as a create would be, and then nothing of the batch goes in.
    let refused = [
        (json!({"id": "delta", "name": "Acme"}), "named `Acme`"),
        (json!({"id": "acme", "name": "Other"}), "id `acme`"),
        (
            json!({"id": "delta", "name": "D", "parent": "nope"}),
            "`nope`",
        ),
        (
            json!({"id": "delta", "name": "D", "defaultRoles": ["Nope"]}),
            "`Nope`",
        ),
    ];
    for (bad, expected) in refused {
        let batch = vec![tenant(json!({"id": "ok", "name": "Ok"})), tenant(bad)];
        let err = emu.insert_tenants(batch).unwrap_err();
        assert!(err.contains(expected), "{err}");
    }
    let all = get(&emu, "/v1/mgmt/tenant/all").await;
    assert_eq!(all.assert_ok()["tenants"].as_array().unwrap().len(), 3);
}
