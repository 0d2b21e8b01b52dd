//! The executor against the in-memory fake: batches, dependency skips and stopping, and the
//! helpers its sibling tests share. Lost replies and resends are in `tests_faults.rs`, the
//! request each kind and action sends in `tests_requests.rs`.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{Value, json};

use super::fake::{Fake, Fault};
use super::{ApplyObserver, ApplyReport, ExecuteOptions, Outcome, execute};
use crate::api::ApiError;
use crate::plan::{Action, Change, ChangeId, Plan, Summary};

/// Records every observer call; sets `stop` when the change `stop_at` starts.
#[derive(Default)]
pub(super) struct Recorder {
    pub(super) events: Mutex<Vec<String>>,
    pub(super) live: Mutex<Vec<(ChangeId, Option<Value>)>>,
    pub(super) notes: Mutex<Vec<String>>,
    pub(super) stop_at: Option<ChangeId>,
    pub(super) stop: AtomicBool,
    /// For each settle: how many events had happened before it.
    pub(super) settles: Mutex<Vec<usize>>,
    /// The size of each group of changes reported together.
    pub(super) together: Mutex<Vec<usize>>,
}

impl Recorder {
    pub(super) fn events(&self) -> Vec<String> {
        self.events.lock().unwrap().clone()
    }

    pub(super) fn notes(&self) -> Vec<String> {
        self.notes.lock().unwrap().clone()
    }

    pub(super) fn live(&self, index: usize) -> Option<Value> {
        let live = self.live.lock().unwrap();
        let found = live.iter().find(|(id, _)| id.index() == index);
        found.expect("applied").1.clone()
    }
}

impl ApplyObserver for Recorder {
    fn started(&self, index: ChangeId, _change: &Change) {
        self.events.lock().unwrap().push(format!("started {index}"));
        if self.stop_at == Some(index) {
            self.stop.store(true, Ordering::SeqCst);
        }
    }

    fn applied(&self, index: ChangeId, _change: &Change, live: Option<&Value>) {
        self.events.lock().unwrap().push(format!("applied {index}"));
        self.live.lock().unwrap().push((index, live.cloned()));
    }

    fn failed(&self, index: ChangeId, _change: &Change, error: &ApiError) {
        self.events
            .lock()
            .unwrap()
            .push(format!("failed {index}: {error}"));
    }

    fn skipped(&self, index: ChangeId, _change: &Change, blocked_by: ChangeId) {
        self.events
            .lock()
            .unwrap()
            .push(format!("skipped {index} by {blocked_by}"));
    }

    fn note(&self, message: &str) {
        self.notes.lock().unwrap().push(message.to_owned());
    }

    fn applied_together(&self, changes: &[(ChangeId, &Change, Option<&Value>)]) {
        self.together.lock().unwrap().push(changes.len());
        for &(id, change, live) in changes {
            self.applied(id, change, live);
        }
    }

    fn settle(&self) -> futures_util::future::BoxFuture<'_, ()> {
        let events = self.events.lock().unwrap().len();
        self.settles.lock().unwrap().push(events);
        Box::pin(std::future::ready(()))
    }
}

pub(super) fn change(
    addr: &str,
    action: Action,
    before: Option<Value>,
    after: Option<Value>,
) -> Change {
    let managed = after
        .as_ref()
        .or(before.as_ref())
        .and_then(Value::as_object)
        .map(|m| {
            m.keys()
                .filter_map(|k| match k.as_str() {
                    "name" => Some("name"),
                    "description" => Some("description"),
                    "permissionNames" => Some("permissions"),
                    "selfProvisioningDomains" => Some("self_provisioning_domains"),
                    "customAttributes" => Some("custom_attributes"),
                    "enforceSSO" => Some("enforce_sso"),
                    "disabled" => Some("disabled"),
                    "defaultRoles" => Some("default_roles"),
                    _ => None,
                })
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let diffs = match action {
        Action::Adopt => Vec::new(),
        _ => vec![crate::plan::AttrDiff {
            field: "name".into(),
            before: None,
            after: None,
        }],
    };
    Change {
        live_id: before
            .as_ref()
            .and_then(|b| b.get("id"))
            .and_then(Value::as_str)
            .filter(|id| id.starts_with("ROL") || id.starts_with("PERM"))
            .map(str::to_owned),
        live_digest: None,
        before,
        after,
        diffs,
        managed_fields: managed,
        ..Change::bare(addr, action)
    }
}

pub(super) fn create_permission(name: &str) -> Change {
    let after = json!({"name": name, "description": format!("{name} permission")});
    change(
        &format!("permission.{name}"),
        Action::Create,
        None,
        Some(after),
    )
}

pub(super) fn create_tenant(id: &str) -> Change {
    let after = json!({"id": id, "name": format!("Tenant {id}"), "selfProvisioningDomains": [format!("{id}.com")]});
    change(&format!("tenant.{id}"), Action::Create, None, Some(after))
}

/// Renames of tenants `ids` from `Old` to `New`, none depending on another.
pub(super) fn tenant_renames<S: AsRef<str>>(ids: &[S]) -> Plan {
    plan(
        ids.iter()
            .map(|id| {
                let id = id.as_ref();
                let before = json!({"id": id, "name": "Old"});
                let after = json!({"id": id, "name": "New"});
                change(
                    &format!("tenant.{id}"),
                    Action::Update,
                    Some(before),
                    Some(after),
                )
            })
            .collect(),
    )
}

pub(super) fn plan(changes: Vec<Change>) -> Plan {
    Plan {
        changes,
        drift: Vec::new(),
        unmanaged: Vec::new(),
        summary: Summary::default(),
    }
}

pub(super) async fn run(
    fake: &Fake,
    plan: &Plan,
    options: ExecuteOptions,
) -> (ApplyReport, Recorder) {
    let recorder = Recorder::default();
    let report = execute(fake, plan, &options, &recorder.stop, &recorder)
        .await
        .expect("a valid plan");
    (report, recorder)
}

pub(super) async fn run_default(fake: &Fake, plan: &Plan) -> (ApplyReport, Recorder) {
    run(fake, plan, ExecuteOptions::default()).await
}

#[tokio::test]
async fn independent_permission_creates_go_out_in_batches_of_batch_size() {
    let fake = Fake::new();
    let plan = plan(
        (0..500)
            .map(|i| create_permission(&format!("p{i:03}")))
            .collect(),
    );
    let (report, rec) = run_default(&fake, &plan).await;
    assert!(report.is_success(), "{:?}", rec.events());
    assert_eq!(fake.calls("create_permissions"), 5);
    assert_eq!(fake.calls("create_permission"), 0);
    assert_eq!(report.calls, 5, "a batch counts once");
    assert_eq!(
        fake.calls("load_all_permissions"),
        5,
        "one read-back per batch"
    );
    assert_eq!(fake.permissions().len(), 500);
    // Each is reported with the body Descope holds, its id included (the state needs it).
    for i in [0, 250, 499] {
        let live = rec.live(i).unwrap();
        assert_eq!(live["name"], format!("p{i:03}"));
        assert!(live["id"].as_str().unwrap().starts_with("PERM"), "{live}");
    }
}

#[tokio::test]
async fn a_failing_batch_falls_back_to_single_calls_and_only_the_bad_member_fails() {
    let fake = Fake::new();
    // Descope refuses `bad`, alone or in a batch (batches are atomic: nothing of it applied).
    fake.fault(
        None,
        Some("bad"),
        Fault::Refuse {
            status: 400,
            code: "E011003",
        },
        usize::MAX,
    );
    let mut changes: Vec<Change> = (0..149)
        .map(|i| create_permission(&format!("p{i:03}")))
        .collect();
    changes.insert(10, create_permission("bad"));
    let plan = plan(changes);
    let (report, rec) = run_default(&fake, &plan).await;
    assert_eq!(
        fake.calls("create_permissions"),
        2,
        "the failed batch and the second one"
    );
    assert_eq!(
        fake.calls("create_permission"),
        100,
        "the failed batch's members, one by one"
    );
    for (i, outcome) in report.outcomes.iter().enumerate() {
        match i {
            10 => assert!(
                matches!(outcome, Outcome::Failed(e) if e.contains("HTTP 400") && e.contains("E011003")),
                "{outcome:?}"
            ),
            _ => assert_eq!(*outcome, Outcome::Applied, "change {i}"),
        }
    }
    assert_eq!(fake.permissions().len(), 149);
    assert!(
        rec.live(0).unwrap()["id"]
            .as_str()
            .unwrap()
            .starts_with("PERM")
    );
    assert!(
        rec.notes()
            .iter()
            .any(|n| n.contains("a batch of 100 permission creates failed")),
        "{:?}",
        rec.notes()
    );
}

#[tokio::test]
async fn a_real_refusal_fails_the_change_skips_its_dependents_and_independent_branches_go_on() {
    let fake = Fake::new();
    fake.fault(
        Some("create_permission"),
        Some("bad"),
        Fault::Refuse {
            status: 400,
            code: "E011003",
        },
        usize::MAX,
    );
    let mut role = change(
        "role.Reader",
        Action::Create,
        None,
        Some(json!({"name": "Reader", "permissionNames": ["bad"]})),
    );
    role.depends_on = ChangeId::list(&[0]);
    let mut defaults = change(
        "tenant.acme",
        Action::SetDefaultRoles,
        None,
        Some(json!({"id": "acme", "name": "Tenant acme", "defaultRoles": ["Reader"]})),
    );
    defaults.depends_on = ChangeId::list(&[1, 3]);
    let plan = plan(vec![
        create_permission("bad"),
        role,
        defaults,
        create_tenant("acme"),
        create_permission("good"),
    ]);
    let options = ExecuteOptions {
        batch_size: 1,
        ..ExecuteOptions::default()
    };
    let (report, rec) = run(&fake, &plan, options).await;
    assert!(matches!(&report.outcomes[0], Outcome::Failed(e)
        if e == "`POST /v1/mgmt/permission/create` failed with HTTP 400 `E011003`: refused by the test"));
    assert_eq!(
        report.outcomes[1],
        Outcome::Skipped {
            blocked_by: ChangeId::new(0)
        }
    );
    assert_eq!(
        report.outcomes[2],
        Outcome::Skipped {
            blocked_by: ChangeId::new(1)
        }
    );
    assert_eq!(report.outcomes[3], Outcome::Applied);
    assert_eq!(report.outcomes[4], Outcome::Applied);
    assert!(!report.interrupted);
    let events = rec.events();
    assert!(events.contains(&"skipped 1 by 0".to_owned()), "{events:?}");
    assert!(events.contains(&"skipped 2 by 1".to_owned()), "{events:?}");
    assert_eq!(
        fake.calls("create_role") + fake.calls("update_tenant_default_roles"),
        0
    );
    assert!(fake.tenant("acme").is_some());
}

#[tokio::test]
async fn stop_lets_in_flight_changes_finish_and_leaves_the_rest_not_started() {
    let fake = Fake::new();
    let plan = plan((0..6).map(|i| create_tenant(&format!("t{i}"))).collect());
    let recorder = Recorder {
        stop_at: Some(ChangeId::new(1)),
        ..Recorder::default()
    };
    let options = ExecuteOptions {
        parallelism: 2,
        ..ExecuteOptions::default()
    };
    let report = execute(&fake, &plan, &options, &recorder.stop, &recorder)
        .await
        .expect("a valid plan");
    assert!(report.interrupted);
    assert_eq!(
        report.outcomes,
        [
            Outcome::Applied,
            Outcome::Applied,
            Outcome::NotStarted,
            Outcome::NotStarted,
            Outcome::NotStarted,
            Outcome::NotStarted
        ]
    );
    assert_eq!(
        recorder.events(),
        ["started 0", "started 1", "applied 0", "applied 1"]
    );
    assert_eq!(fake.calls("create_tenant"), 2);
    assert_eq!(report.calls, 2);
}

#[tokio::test]
async fn a_dependency_on_a_change_the_plan_does_not_have_is_refused_not_dropped() {
    // Dropped, the role would be created without the permission it needs having been made.
    let fake = Fake::new();
    let mut role = change(
        "role.Reader",
        Action::Create,
        None,
        Some(json!({"name": "Reader", "permissionNames": ["p"]})),
    );
    role.depends_on = ChangeId::list(&[5]);
    let plan = plan(vec![create_permission("p"), role]);
    let recorder = Recorder::default();
    let result = execute(
        &fake,
        &plan,
        &ExecuteOptions::default(),
        &recorder.stop,
        &recorder,
    )
    .await;
    assert_eq!(
        result,
        Err(crate::plan::InvalidPlan::UnknownDependency {
            change: ChangeId::new(1),
            addr: "role.Reader".parse().unwrap(),
            on: ChangeId::new(5),
        })
    );
    assert!(recorder.events().is_empty(), "{:?}", recorder.events());
    assert_eq!(
        fake.calls("create_permission") + fake.calls("create_role"),
        0
    );
}

#[test]
fn execute_can_run_on_any_runtime_thread() {
    fn assert_send<T: Send>(_: &T) {}
    let fake = Fake::new();
    let plan = plan(Vec::new());
    let recorder = Recorder::default();
    let options = ExecuteOptions::default();
    let future = execute(&fake, &plan, &options, &recorder.stop, &recorder);
    assert_send(&future);
}

#[tokio::test]
async fn only_a_change_depending_on_one_just_applied_waits_for_the_recording_to_settle() {
    let fake = Fake::new();
    let mut dependent = create_tenant("b");
    dependent.depends_on = vec![ChangeId::new(0)];
    let plan = plan(vec![create_tenant("a"), dependent, create_tenant("c")]);
    let options = ExecuteOptions {
        parallelism: 1,
        ..ExecuteOptions::default()
    };
    let (report, rec) = run(&fake, &plan, options).await;
    assert!(report.is_success(), "{:?}", rec.events());
    assert_eq!(
        rec.events(),
        [
            "started 0",
            "applied 0",
            "started 1",
            "applied 1",
            "started 2",
            "applied 2"
        ]
    );
    // Once, after `a` was applied and `b` taken up, before `b`'s call; `c` did not wait.
    assert_eq!(*rec.settles.lock().unwrap(), [3]);
}

#[tokio::test]
async fn changes_that_make_no_call_are_reported_together() {
    let fake = Fake::new();
    let adopt = |id: &str| {
        let body = json!({"id": id, "name": format!("Tenant {id}")});
        change(
            &format!("tenant.{id}"),
            Action::Adopt,
            Some(body.clone()),
            Some(body),
        )
    };
    let forget = change("tenant.old", Action::Forget, None, None);
    let plan = plan(vec![adopt("a"), create_tenant("c"), adopt("b"), forget]);
    let (report, rec) = run_default(&fake, &plan).await;
    assert!(report.is_success(), "{:?}", rec.events());
    assert_eq!(*rec.together.lock().unwrap(), [3]);
    assert_eq!(fake.calls("create_tenant"), 1);
}
