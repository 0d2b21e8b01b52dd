//! The executor against the in-process emulator, end to end through the library: refresh, the
//! real planner, execute, then refresh and plan again -> no changes (convergence), also with
//! injected faults and a rate limit tighter than the client's own pace.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::AtomicBool;

use dmgmt::api::{ApiError, Client};
use dmgmt::apply::{ApplyObserver, ApplyReport, ExecuteOptions, Outcome, execute};
use dmgmt::emulator::{EmulatorConfig, EmulatorRateLimit, LOCAL_PROJECT_ID};
use dmgmt::model::attrs::normalize_document;
use dmgmt::model::{DesiredState, ResourceAddr, Snapshot};
use dmgmt::ops::live::{Quiet, RefreshScope, refresh};
use dmgmt::plan::{Action, Change, ChangeId, Plan, PlanInput, Prior, plan};
use serde_json::{Value, json};

use crate::support::{client_for, start, start_default};

/// Collects what the executor reports.
#[derive(Default)]
struct Log {
    failed: Mutex<Vec<String>>,
    notes: Mutex<Vec<String>>,
}

impl ApplyObserver for Log {
    fn applied(&self, _: ChangeId, _: &Change, _: Option<&Value>) {}

    fn failed(&self, _: ChangeId, change: &Change, error: &ApiError) {
        let line = format!("{}: {error}", change.addr);
        self.failed.lock().unwrap().push(line);
    }

    fn skipped(&self, _: ChangeId, change: &Change, blocked_by: ChangeId) {
        let line = format!("{} skipped (blocked by {blocked_by})", change.addr);
        self.failed.lock().unwrap().push(line);
    }

    fn note(&self, message: &str) {
        self.notes.lock().unwrap().push(message.to_owned());
    }
}

/// A desired state: `resources` (permissions, roles, tenants, flows, theme) over empty defaults.
fn desired(resources: Value) -> DesiredState {
    let mut base = json!({
        "environment": "test", "project_id": LOCAL_PROJECT_ID, "management_key": null,
        "base_url": null, "emulator": false, "protected": false, "rate_limit": null,
        "parallelism": 4, "backups": {"retention_days": 30, "keep_min": 5},
        "permissions": [], "roles": [], "tenants": [], "flows": [], "theme": null,
    });
    for (key, value) in resources.as_object().unwrap() {
        base[key] = value.clone();
    }
    serde_json::from_value(base).unwrap()
}

fn flow(id: &str, label: &str) -> Value {
    let document = normalize_document(&json!({
        "flow": {"id": id, "name": id, "dsl": {"label": label}},
        "screens": [{"id": format!("{id}-s1"), "htmlTemplate": format!("<p>{label}</p>")}],
    }));
    json!({"id": id, "template": format!("flows/{id}.json"), "document": document})
}

async fn snapshot(client: &Client, desired: &DesiredState) -> Snapshot {
    let scope = RefreshScope {
        flows: desired.flows.iter().map(|f| f.id.clone()).collect(),
        theme: desired.theme.is_some(),
        v2: Default::default(),
        role_tenants: Default::default(),
        parallelism: 4,
    };
    refresh(client, &scope, &Quiet).await.unwrap()
}

fn plan_of(
    desired: &DesiredState,
    snapshot: &Snapshot,
    prior: &BTreeMap<ResourceAddr, Prior>,
) -> Plan {
    plan(&PlanInput {
        desired,
        snapshot,
        prior,
        targets: &[],
    })
    .unwrap()
}

/// The state an apply writes: every applied change's object as it is now live, managed.
fn record(
    prior: &mut BTreeMap<ResourceAddr, Prior>,
    plan: &Plan,
    report: &ApplyReport,
    live: &Snapshot,
) {
    for (change, outcome) in plan.changes.iter().zip(&report.outcomes) {
        assert_eq!(*outcome, Outcome::Applied, "{}", change.addr);
        if let Some(old) = &change.moved_from {
            prior.remove(old);
        }
        if matches!(change.action, Action::Delete | Action::Forget) {
            prior.remove(&change.addr);
            continue;
        }
        let object = live.get(&change.addr).expect("applied objects are live");
        prior.insert(
            change.addr.clone(),
            Prior {
                attributes: object.attributes.clone(),
                managed_fields: change.managed_fields.clone(),
                prevent_destroy: change.prevent_destroy,
                digest: None,
                id: object.id.clone(),
            },
        );
    }
}

/// Plans, executes, refreshes, records and plans again: the second plan must be empty.
async fn apply_and_converge(
    client: &Client,
    desired: &DesiredState,
    prior: &mut BTreeMap<ResourceAddr, Prior>,
    options: &ExecuteOptions,
) -> (Plan, ApplyReport, Log) {
    let before = snapshot(client, desired).await;
    let planned = plan_of(desired, &before, prior);
    assert!(!planned.is_empty());
    let log = Log::default();
    let report = execute(client, &planned, options, &AtomicBool::new(false), &log)
        .await
        .expect("a valid plan");
    assert_eq!(*log.failed.lock().unwrap(), Vec::<String>::new());
    assert!(report.is_success() && !report.interrupted, "{report:?}");
    let after = snapshot(client, desired).await;
    record(prior, &planned, &report, &after);
    let again = plan_of(desired, &after, prior);
    assert!(
        again.is_empty(),
        "plan again -> no changes: {:#?}",
        again.changes
    );
    (planned, report, log)
}

fn role_id(snapshot: &Snapshot, name: &str) -> String {
    snapshot
        .get(&ResourceAddr::role(None, name))
        .unwrap()
        .id
        .clone()
        .unwrap()
}

#[tokio::test]
async fn creates_then_updates_renames_and_deletes_converge() {
    let emu = start_default().await;
    let client = client_for(&emu);
    let mut prior = BTreeMap::new();
    let options = ExecuteOptions::default();
    let first = desired(json!({
        "permissions": [{"name": "billing.read"}, {"name": "billing.write", "description": "Write"},
            {"name": "users.read"}],
        "roles": [{"name": "Billing Manager", "permissions": ["billing.read", "billing.write"]},
            {"name": "Auditor", "tenant": "acme", "permissions": ["users.read"]}],
        "tenants": [{"id": "acme", "name": "Acme", "self_provisioning_domains": ["acme.com"],
            "custom_attributes": {"plan": "pro"}, "default_roles": ["Billing Manager"]},
            {"id": "globex", "name": "Globex"}],
        "flows": [flow("sign-in", "v1")],
        "theme": {"template": "flows/theme.json",
            "document": normalize_document(&json!({"theme": {"cssTemplate": {"primary": "#123"}}}))},
    }));
    let (planned, report, _) = apply_and_converge(&client, &first, &mut prior, &options).await;
    assert!(
        report.calls > 0 && report.calls < planned.changes.len() as u64,
        "batched: {report:?}"
    );
    let live = snapshot(&client, &first).await;
    let manager_id = role_id(&live, "Billing Manager");
    assert!(manager_id.starts_with("ROL"));
    assert!(
        prior[&ResourceAddr::Permission("users.read".into())]
            .id
            .as_deref()
            .is_some_and(|id| id.starts_with("PERM"))
    );

    let second = desired(json!({
        "permissions": [{"name": "billing.read"}, {"name": "billing.write", "description": "Write invoices"}],
        "roles": [{"name": "Billing Admin", "renamed_from": "Billing Manager",
            "permissions": ["billing.read", "billing.write"], "description": "Billing"}],
        "tenants": [{"id": "acme", "name": "Acme Corp", "default_roles": ["Billing Admin"]}],
        "flows": [flow("sign-in", "v2")],
        "theme": {"template": "flows/theme.json",
            "document": normalize_document(&json!({"theme": {"cssTemplate": {"primary": "#456"}}}))},
    }));
    let (planned, _, _) = apply_and_converge(&client, &second, &mut prior, &options).await;
    let actions: Vec<String> = planned
        .changes
        .iter()
        .map(|c| format!("{} {:?}", c.addr, c.action))
        .collect();
    for expected in [
        "role.acme/Auditor Delete",
        "permission.users.read Delete",
        "tenant.globex Delete",
    ] {
        assert!(actions.contains(&expected.to_owned()), "{actions:?}");
    }
    let live = snapshot(&client, &second).await;
    assert_eq!(
        role_id(&live, "Billing Admin"),
        manager_id,
        "the rename kept the role's id"
    );
    let acme = live.get(&ResourceAddr::Tenant("acme".into())).unwrap();
    assert_eq!(
        acme.attributes["custom_attributes"],
        json!({"plan": "pro"}),
        "unmanaged now, kept"
    );
    assert_eq!(
        acme.attributes["self_provisioning_domains"],
        json!(["acme.com"])
    );
}

#[tokio::test]
async fn faults_lost_replies_and_a_tight_rate_limit_still_converge_without_duplicate_creates() {
    // Faults (503) are answered before anything is applied, so they alone could never tempt a
    // resend into a duplicate; lost replies (502 after the change is committed) do.
    let emu = start(EmulatorConfig {
        fault_rate: 0.2,
        lost_reply_rate: 0.2,
        seed: 11,
        rate_limit: Some(EmulatorRateLimit {
            requests: 10,
            per_seconds: 1,
        }),
        ..EmulatorConfig::default()
    })
    .await;
    // The client paces itself at 1000/s: the emulator's 10/s answers 429 again and again.
    let client = client_for(&emu);
    let permissions: Vec<Value> = (0..30)
        .map(|i| json!({"name": format!("p{i:02}")}))
        .collect();
    let roles: Vec<Value> = (0..8)
        .map(|i| json!({"name": format!("r{i}"), "permissions": [format!("p{i:02}"), format!("p{:02}", i + 10)]}))
        .collect();
    let tenants: Vec<Value> = (0..8)
        .map(|i| json!({"id": format!("t{i}"), "name": format!("Tenant {i}"), "default_roles": [format!("r{i}")]}))
        .collect();
    let wanted = desired(
        json!({"permissions": permissions, "roles": roles, "tenants": tenants,
        "flows": [flow("sign-in", "v1")]}),
    );
    // Enough resends that a 20% fault rate cannot exhaust them (0.2^9 per change).
    let options = ExecuteOptions {
        parallelism: 4,
        batch_size: 10,
        attempts: 8,
    };
    let mut prior = BTreeMap::new();
    let (_, _, log) = apply_and_converge(&client, &wanted, &mut prior, &options).await;

    let requests = emu.request_log();
    let count = |status: u16| requests.iter().filter(|r| r.status == status).count();
    assert!(count(503) > 0, "faults were injected");
    assert!(count(502) > 0, "replies were lost");
    assert!(count(429) > 0, "the rate limit was hit");
    // A change whose reply was lost is in Descope already: only the read-back before a resend
    // keeps the resend from meeting its own earlier write. Any "already exists" (409 here; 400
    // is the other status Descope may use) would be a duplicate create. (404s are read-backs of
    // objects not created yet.)
    let refused: Vec<_> = requests
        .iter()
        .filter(|r| matches!(r.status, 400 | 409))
        .collect();
    assert!(refused.is_empty(), "{refused:?}");
    // Exactly one create per tenant took effect: answered (200) or with its reply lost (502).
    let created = requests
        .iter()
        .filter(|r| r.path == "/v1/mgmt/tenant/create" && matches!(r.status, 200 | 502))
        .count();
    assert_eq!(created, 8, "one applied create per tenant");
    assert!(
        log.notes
            .lock()
            .unwrap()
            .iter()
            .any(|n| n.contains("resending"))
    );
}
