//! The emulator's roles over raw HTTP: role rules, renames, tenant default roles and role search,
//! and atomic batches (an empty role-delete filter deletes every role, as Descope's does).
//! Strictness and tenants are in `emulator.rs`.

use serde_json::{Value, json};

use crate::support::{get, post, start_default};

#[tokio::test]
async fn role_rules_renames_default_roles_and_search() {
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
        "/v1/mgmt/role/create",
        json!({"name": "Viewer", "permissionNames": ["ghost"]}),
    )
    .await
    .assert_error(400, "E011004");
    post(
        &emu,
        "/v1/mgmt/role/create",
        json!({"name": "Viewer", "tenantId": "ghost"}),
    )
    .await
    .assert_error(400, "E011004");
    post(&emu, "/v1/mgmt/permission/create", json!({"name": "read"}))
        .await
        .assert_ok();
    post(
        &emu,
        "/v1/mgmt/role/create",
        json!({"name": "Viewer", "permissionNames": ["read"]}),
    )
    .await
    .assert_ok();
    post(&emu, "/v1/mgmt/role/create", json!({"name": "Editor"}))
        .await
        .assert_ok();
    post(
        &emu,
        "/v1/mgmt/role/create",
        json!({"name": "Viewer", "tenantId": "acme"}),
    )
    .await
    .assert_ok();
    post(&emu, "/v1/mgmt/role/create", json!({"name": "Viewer"}))
        .await
        .assert_error(409, "E011409");
    post(
        &emu,
        "/v1/mgmt/role/update",
        json!({"name": "Editor", "newName": "Viewer"}),
    )
    .await
    .assert_error(409, "E011409");
    post(
        &emu,
        "/v1/mgmt/role/update",
        json!({"name": "Ghost", "newName": "X"}),
    )
    .await
    .assert_error(404, "E011404");
    post(
        &emu,
        "/v1/mgmt/role/update",
        json!({"id": "ROLnope", "newName": "X"}),
    )
    .await
    .assert_error(404, "E011404");
    post(&emu, "/v1/mgmt/role/delete", json!({"name": "Ghost"}))
        .await
        .assert_error(404, "E011404");
    post(&emu, "/v1/mgmt/role/update", json!({"name": "Editor"}))
        .await
        .assert_error(400, "E011002");

    post(
        &emu,
        "/v1/mgmt/tenant/updateDefaultRoles",
        json!({"id": "acme", "defaultRoles": ["Ghost"]}),
    )
    .await
    .assert_error(400, "E011004");
    post(
        &emu,
        "/v1/mgmt/tenant/updateDefaultRoles",
        json!({"id": "acme", "defaultRoles": ["Editor"]}),
    )
    .await
    .assert_ok();
    post(
        &emu,
        "/v1/mgmt/role/update",
        json!({"name": "Editor", "newName": "Author"}),
    )
    .await
    .assert_ok();
    let t = get(&emu, "/v1/mgmt/tenant?id=acme").await;
    assert_eq!(
        t.assert_ok()["defaultRoles"],
        json!(["Author"]),
        "renames follow into default roles"
    );

    // Renaming a permission follows into roles; deleting removes it from them.
    post(
        &emu,
        "/v1/mgmt/permission/update",
        json!({"name": "read", "newName": "view"}),
    )
    .await
    .assert_ok();
    let search = json!({"permissionNames": ["view"]});
    let found = post(&emu, "/v1/mgmt/role/search", search).await;
    assert_eq!(
        found.assert_ok()["roles"][0]["permissionNames"],
        json!(["view"])
    );

    let names = |r: &Value| -> Vec<String> {
        r["roles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let tenant_only = post(&emu, "/v1/mgmt/role/search", json!({"tenantIds": ["acme"]})).await;
    assert_eq!(names(tenant_only.assert_ok()), ["Viewer"]);
    let with_project = json!({"tenantIds": ["acme"], "includeProjectRoles": true, "sort": [{"field": "name", "desc": false}]});
    assert_eq!(
        names(
            post(&emu, "/v1/mgmt/role/search", with_project)
                .await
                .assert_ok()
        ),
        ["Author", "Tenant Admin", "Viewer", "Viewer"]
    );
    let like = json!({"roleNameLike": "auth"});
    assert_eq!(
        names(post(&emu, "/v1/mgmt/role/search", like).await.assert_ok()),
        ["Author"]
    );
}

#[tokio::test]
async fn batches_are_atomic_and_an_empty_role_delete_filter_deletes_all() {
    let emu = start_default().await;
    let perms = json!({"permissions": [{"name": "a"}, {"name": "b", "description": "B"}]});
    post(&emu, "/v1/mgmt/permission/create/batch", perms)
        .await
        .assert_ok();
    let dup = json!({"permissions": [{"name": "c"}, {"name": "a"}]});
    post(&emu, "/v1/mgmt/permission/create/batch", dup)
        .await
        .assert_error(409, "E011409");
    let all = get(&emu, "/v1/mgmt/permission/all").await;
    assert_eq!(
        all.assert_ok()["permissions"].as_array().unwrap().len(),
        3 + 2,
        "nothing of a failed batch stays (beside the three system-default permissions)"
    );

    let roles = json!({"roles": [{"name": "R1", "permissionNames": ["a"]}, {"name": "R2"}, {"name": "R3"}]});
    let created = post(&emu, "/v1/mgmt/role/create/batch", roles).await;
    assert_eq!(created.assert_ok()["roles"].as_array().unwrap().len(), 3);
    let update =
        json!({"roles": [{"name": "R1", "newName": "R1x"}, {"name": "ghost", "newName": "g"}]});
    post(&emu, "/v1/mgmt/role/update/batch", update)
        .await
        .assert_error(404, "E011404");
    let update = json!({"roles": [{"name": "R1", "newName": "R1x", "permissionNames": ["b"]}]});
    post(&emu, "/v1/mgmt/role/update/batch", update)
        .await
        .assert_ok();
    post(
        &emu,
        "/v1/mgmt/role/delete/batch",
        json!({"roleNames": ["R1x"], "tenantId": null}),
    )
    .await
    .assert_ok();
    post(
        &emu,
        "/v1/mgmt/permission/delete/batch",
        json!({"names": ["a"]}),
    )
    .await
    .assert_ok();
    post(
        &emu,
        "/v1/mgmt/permission/update/batch",
        json!({"permissions": [{"name": "b", "newName": "bb"}]}),
    )
    .await
    .assert_ok();

    post(
        &emu,
        "/v1/mgmt/role/delete/batch",
        json!({"roleNames": [], "tenantId": null}),
    )
    .await
    .assert_ok();
    let left = get(&emu, "/v1/mgmt/role/all").await;
    assert_eq!(
        left.assert_ok()["roles"],
        json!([]),
        "empty filter deletes every role"
    );
}
