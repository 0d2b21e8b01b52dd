//! The executor against the in-memory fake: the request each kind and action sends (renames by
//! id, a tenant update's full body, every call of every kind). Scheduling is in `tests.rs`.

use serde_json::{Value, json};

use super::fake::Fake;
use super::tests::{change, create_tenant, plan, run_default, tenant_renames};
use crate::plan::{Action, ChangeId};

#[tokio::test]
async fn a_rename_is_sent_by_id_and_keeps_it() {
    let fake = Fake::new();
    let role = json!({"id": "ROL9", "name": "Billing Manager", "tenantId": "", "description": "d",
        "permissionNames": [], "default": true, "private": false, "createdTime": 7});
    let perm =
        json!({"id": "PERM8", "name": "bill.read", "description": "old", "systemDefault": false});
    fake.seed("role", role.clone());
    fake.seed("permission", perm.clone());
    let mut role_after = role.clone();
    role_after["name"] = json!("Billing Admin");
    let mut perm_after = perm.clone();
    perm_after["name"] = json!("billing.read");
    perm_after["description"] = json!("new");
    let plan = plan(vec![
        change(
            "permission.billing.read",
            Action::Rename {
                from: "bill.read".into(),
            },
            Some(perm),
            Some(perm_after.clone()),
        ),
        change(
            "role.Billing Admin",
            Action::Rename {
                from: "Billing Manager".into(),
            },
            Some(role),
            Some(role_after.clone()),
        ),
    ]);
    let (report, rec) = run_default(&fake, &plan).await;
    assert!(report.is_success(), "{:?}", rec.events());
    let sent = fake.requests("update_role");
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["id"], "ROL9");
    assert_eq!(sent[0]["newName"], "Billing Admin");
    assert!(
        sent[0].get("name").is_none(),
        "found by id, not by name: {}",
        sent[0]
    );
    assert_eq!(
        sent[0]["default"], true,
        "a full replacement keeps what the config does not manage"
    );
    let sent = fake.requests("update_permission");
    assert_eq!(
        sent[0],
        json!({"id": "PERM8", "newName": "billing.read", "description": "new"})
    );
    assert_eq!(fake.roles()[0]["id"], "ROL9");
    assert_eq!(fake.roles()[0]["name"], "Billing Admin");
    assert_eq!(fake.permissions()[0]["id"], "PERM8");
    assert_eq!(rec.live(1), Some(role_after));
    assert_eq!(rec.live(0), Some(perm_after));
}

#[tokio::test]
async fn a_tenant_update_sends_every_unmanaged_field_from_after_and_no_read_only_field() {
    let fake = Fake::new();
    let live = json!({"id": "acme", "name": "Acme", "selfProvisioningDomains": ["acme.com"],
        "customAttributes": {"plan": "free", "region": "eu"}, "enforceSSO": true,
        "enforceSSOExclusions": ["U1", "U2"], "federatedAppIds": ["app1"], "roleInheritance": "userOnly",
        "disabled": false, "defaultRoles": ["Viewer"], "parent": "root", "successors": ["child"],
        "domains": ["sso.acme.com"], "authType": "saml", "createdTime": 1700000000});
    fake.seed("tenant", live.clone());
    let mut after = live.clone();
    after["name"] = json!("Acme Corp");
    after["customAttributes"]["plan"] = json!("pro");
    let plan = plan(vec![change(
        "tenant.acme",
        Action::Update,
        Some(live.clone()),
        Some(after.clone()),
    )]);
    let (report, rec) = run_default(&fake, &plan).await;
    assert!(report.is_success(), "{:?}", rec.events());
    let sent = fake.requests("update_tenant");
    assert_eq!(
        sent,
        [
            json!({"id": "acme", "name": "Acme Corp", "selfProvisioningDomains": ["acme.com"],
            "customAttributes": {"plan": "pro", "region": "eu"}, "enforceSSO": true,
            "enforceSSOExclusions": ["U1", "U2"], "federatedAppIds": ["app1"],
            "roleInheritance": "userOnly", "disabled": false})
        ],
        "every field of the request from `after`; never parent, authType or what Descope computes"
    );
    assert_eq!(
        fake.tenant("acme").unwrap()["enforceSSOExclusions"],
        json!(["U1", "U2"])
    );
    assert_eq!(rec.live(0), Some(after));
}

#[tokio::test]
async fn every_kind_and_action_sends_its_call() {
    let fake = Fake::new();
    fake.seed("tenant", json!({"id": "old", "name": "Old"}));
    fake.seed(
        "role",
        json!({"id": "ROL1", "name": "Gone", "tenantId": "acme"}),
    );
    fake.seed(
        "role",
        json!({"id": "ROL2", "name": "Gone too", "tenantId": "acme"}),
    );
    fake.seed(
        "role",
        json!({"id": "ROL3", "name": "Project gone", "tenantId": ""}),
    );
    fake.seed("permission", json!({"id": "PERM1", "name": "gone"}));
    fake.seed("flow", json!({"flow": {"id": "old-flow"}, "screens": []}));
    let delete = |addr: &str, before: Value| change(addr, Action::Delete, Some(before), None);
    let flow = json!({"flow": {"id": "sign-in", "dsl": {"a": 1}}, "screens": [{"id": "s1", "flowId": "sign-in"}]});
    let theme = json!({"theme": {"cssTemplate": {"primary": "#123"}}});
    let plan = plan(vec![
        create_tenant("acme"),
        change(
            "role.acme/Admin",
            Action::Create,
            None,
            Some(json!({"name": "Admin", "tenantId": "acme", "permissionNames": []})),
        ),
        change(
            "tenant.acme",
            Action::SetDefaultRoles,
            None,
            Some(json!({"id": "acme", "name": "Tenant acme", "defaultRoles": ["Admin"]})),
        ),
        change("flow.sign-in", Action::Create, None, Some(flow.clone())),
        change(
            "theme",
            Action::Update,
            Some(json!({"theme": {}})),
            Some(theme.clone()),
        ),
        delete(
            "role.acme/Gone",
            json!({"id": "ROL1", "name": "Gone", "tenantId": "acme"}),
        ),
        delete(
            "role.acme/Gone too",
            json!({"id": "ROL2", "name": "Gone too", "tenantId": "acme"}),
        ),
        delete(
            "role.Project gone",
            json!({"id": "ROL3", "name": "Project gone", "tenantId": ""}),
        ),
        delete("permission.gone", json!({"id": "PERM1", "name": "gone"})),
        delete("tenant.old", json!({"id": "old", "name": "Old"})),
        delete(
            "flow.old-flow",
            json!({"flow": {"id": "old-flow"}, "screens": []}),
        ),
        change("theme", Action::Forget, Some(json!({"theme": {}})), None),
        change(
            "tenant.seen",
            Action::Adopt,
            Some(json!({"id": "seen"})),
            Some(json!({"id": "seen"})),
        ),
    ]);
    let mut plan = plan;
    plan.changes[1].depends_on = ChangeId::list(&[0]);
    plan.changes[2].depends_on = ChangeId::list(&[0, 1]);
    let (report, rec) = run_default(&fake, &plan).await;
    assert!(report.is_success(), "{:?}", rec.events());
    assert_eq!(
        fake.requests("update_tenant_default_roles"),
        [json!({"id": "acme", "defaultRoles": ["Admin"]})]
    );
    assert_eq!(
        fake.requests("delete_roles"),
        [json!({"roleNames": ["Gone", "Gone too"], "tenantId": "acme"})],
        "role deletes batched by tenant scope"
    );
    assert_eq!(
        fake.requests("delete_role"),
        [json!({"id": "ROL3", "tenantId": null})]
    );
    assert_eq!(
        fake.requests("delete_permission"),
        [json!({"name": "gone"})]
    );
    assert_eq!(
        fake.requests("delete_tenant"),
        [json!({"id": "old", "cascade": false})]
    );
    assert_eq!(
        fake.requests("delete_flows"),
        [json!({"ids": ["old-flow"]})]
    );
    assert_eq!(fake.calls("import_theme"), 1);
    assert_eq!(
        fake.flow("sign-in").unwrap()["flow"]["dsl"],
        json!({"a": 1})
    );
    // The flow is reported as Descope stored it; deletes and the forget with no body; an adoption
    // without differences makes no call and reports the live body.
    assert_eq!(rec.live(3).unwrap()["flow"]["version"], 2);
    assert_eq!(rec.live(9), None);
    assert_eq!(rec.live(11), None);
    assert_eq!(rec.live(12), Some(json!({"id": "seen"})));
    assert_eq!(report.calls, 10);
}

#[tokio::test]
async fn many_tenant_updates_read_their_tenants_a_few_at_a_time_and_keep_console_edits() {
    let fake = Fake::new();
    let ids: Vec<String> = (0..120).map(|i| format!("t{i:03}")).collect();
    for id in &ids {
        // Set in the console after the plan was made: the plan's bodies do not have it.
        fake.seed(
            "tenant",
            json!({"id": id, "name": "Old", "enforceSSO": true}),
        );
    }
    let plan = tenant_renames(&ids);
    let (report, rec) = run_default(&fake, &plan).await;
    assert!(report.is_success(), "{:?}", rec.events());
    let sent = fake.requests("update_tenant");
    assert_eq!(sent.len(), 120);
    assert!(
        sent.iter()
            .all(|b| b["name"] == "New" && b["enforceSSO"] == true),
        "{sent:?}"
    );
    // As the pace picks up, each search reads the next tenants: far fewer reads than updates.
    let reads = fake.calls("search_tenants") + fake.calls("load_tenant");
    assert!(reads <= 20, "{reads} reads for 120 updates");
}
