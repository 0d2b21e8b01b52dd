//! The restore planner on small backups and live projects: what it creates, updates, renames back
//! and deletes, in which order, and what it leaves alone.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::*;
use crate::model::{LiveObject, RawBody, ResourceAddr, Snapshot};
use crate::ops::live::{attributes_of, object};
use crate::plan::ChangeId;

fn addr(s: &str) -> ResourceAddr {
    s.parse().unwrap()
}

/// Objects as refresh reads them, from Descope's bodies.
fn objects(list: &[(&str, Value)]) -> BTreeMap<ResourceAddr, LiveObject> {
    list.iter()
        .map(|(a, body)| {
            let a = addr(a);
            let attributes = attributes_of(a.kind(), body).unwrap();
            let id = body.get("id").and_then(Value::as_str).map(str::to_owned);
            let id =
                id.filter(|_| matches!(a, ResourceAddr::Role { .. } | ResourceAddr::Permission(_)));
            let mut o = object(attributes, RawBody::from_value(body.clone()), id);
            o.system_default = body.get("systemDefault") == Some(&json!(true));
            (a, o)
        })
        .collect()
}

fn snapshot(list: &[(&str, Value)]) -> Snapshot {
    Snapshot {
        objects: objects(list),
        digest: "snap".into(),
    }
}

fn prior(addrs: &[&str]) -> BTreeMap<ResourceAddr, Prior> {
    addrs
        .iter()
        .map(|a| {
            (
                addr(a),
                Prior {
                    attributes: json!({}),
                    managed_fields: vec!["name".into()],
                    prevent_destroy: false,
                    digest: None,
                    id: None,
                },
            )
        })
        .collect()
}

fn tenant(id: &str, name: &str, extra: Value) -> Value {
    let mut t = json!({"id": id, "name": name, "createdTime": 1, "defaultRoles": [],
        "customAttributes": {}, "selfProvisioningDomains": [], "enforceSSO": false,
        "enforceSSOExclusions": [], "federatedAppIds": [], "disabled": false,
        "roleInheritance": "", "parent": "", "authType": "none", "domains": [], "successors": []});
    for (k, v) in extra.as_object().unwrap() {
        t[k] = v.clone();
    }
    t
}

fn role(id: &str, name: &str, tenant: &str, perms: &[&str], extra: Value) -> Value {
    let mut r = json!({"id": id, "name": name, "tenantId": tenant, "description": "",
        "permissionNames": perms, "createdTime": 1, "default": false, "private": false});
    for (k, v) in extra.as_object().unwrap() {
        r[k] = v.clone();
    }
    r
}

fn permission(id: &str, name: &str, description: &str) -> Value {
    json!({"id": id, "name": name, "description": description, "systemDefault": false})
}

struct Case {
    backup: Vec<(&'static str, Value)>,
    live: Vec<(&'static str, Value)>,
    state: Vec<&'static str>,
    complete: bool,
    delete_unmanaged: bool,
    protected: bool,
    targets: Vec<ResourceAddr>,
}

impl Case {
    fn new(backup: Vec<(&'static str, Value)>, live: Vec<(&'static str, Value)>) -> Case {
        Case {
            backup,
            live,
            state: Vec::new(),
            complete: true,
            delete_unmanaged: false,
            protected: false,
            targets: Vec::new(),
        }
    }

    fn plan(&self) -> Plan {
        self.try_plan().unwrap()
    }

    fn try_plan(&self) -> Result<Plan, PlanError> {
        let backup = objects(&self.backup);
        let snapshot = snapshot(&self.live);
        let prior = prior(&self.state);
        restore(&RestoreInput {
            backup: &backup,
            complete: self.complete,
            snapshot: &snapshot,
            prior: &prior,
            protected: self.protected,
            delete_unmanaged: self.delete_unmanaged,
            targets: &self.targets,
            tenant_settings: &Default::default(),
        })
    }
}

/// `symbol addr` per change, in plan order.
fn steps(plan: &Plan) -> Vec<String> {
    plan.changes
        .iter()
        .map(|c| {
            let step = match &c.action {
                Action::SetDefaultRoles => "~roles".to_owned(),
                Action::Rename { from } => format!("~rename-from-{from}"),
                a => a.symbol().to_owned(),
            };
            format!("{step} {}", c.addr)
        })
        .collect()
}

#[test]
fn an_unchanged_project_needs_nothing_even_when_descope_computed_fields_differ() {
    let backup = vec![
        ("tenant.acme", tenant("acme", "Acme", json!({}))),
        ("permission.p", permission("PERM1", "p", "read")),
    ];
    let mut live = backup.clone();
    live[0].1["createdTime"] = json!(99);
    live[1].1["id"] = json!("PERM2");
    let plan = Case::new(backup, live).plan();
    assert!(plan.changes.is_empty(), "{:?}", steps(&plan));
}

#[test]
fn gone_objects_are_created_in_dependency_order_with_default_roles_last() {
    let backup = vec![
        ("permission.p", permission("PERM1", "p", "read")),
        (
            "role.acme/Auditor",
            role("ROL1", "Auditor", "acme", &["p"], json!({"private": true})),
        ),
        (
            "tenant.acme",
            tenant("acme", "Acme", json!({"defaultRoles": ["Auditor"]})),
        ),
    ];
    let plan = Case::new(backup, vec![]).plan();
    assert_eq!(
        steps(&plan),
        [
            "+ permission.p",
            "+ tenant.acme",
            "+ role.acme/Auditor",
            "~roles tenant.acme"
        ]
    );
    let role = &plan.changes[2];
    assert_eq!(role.depends_on, ChangeId::list(&[0, 1]));
    assert_eq!(role.after.as_ref().unwrap()["private"], json!(true));
    assert_eq!(plan.changes[3].depends_on, ChangeId::list(&[1, 2]));
}

#[test]
fn a_changed_object_is_updated_with_every_field_of_the_backup_unmodelled_ones_included() {
    let backup = vec![(
        "role.Viewer",
        role(
            "ROL1",
            "Viewer",
            "",
            &[],
            json!({"description": "Reads", "private": true}),
        ),
    )];
    let live = vec![(
        "role.Viewer",
        role("ROL1", "Viewer", "", &[], json!({"description": "Edited"})),
    )];
    let plan = Case::new(backup.clone(), live).plan();
    assert_eq!(steps(&plan), ["~ role.Viewer"]);
    let c = &plan.changes[0];
    assert_eq!(c.after.as_ref(), Some(&backup[0].1));
    assert_eq!(c.live_id.as_deref(), Some("ROL1"));
    let fields: Vec<&str> = c.diffs.iter().map(|d| d.field.as_str()).collect();
    assert_eq!(fields, ["description", "private"]);
    assert_eq!(c.managed_fields, ["description", "name", "permissions"]);

    // Only an unmodelled field differs: still restored.
    let live = vec![(
        "role.Viewer",
        role("ROL1", "Viewer", "", &[], json!({"description": "Reads"})),
    )];
    assert_eq!(steps(&Case::new(backup, live).plan()), ["~ role.Viewer"]);
}

#[test]
fn a_role_renamed_since_is_renamed_back_by_its_id() {
    let backup = vec![("role.Viewer", role("ROL1", "Viewer", "", &[], json!({})))];
    let live = vec![("role.Reader", role("ROL1", "Reader", "", &[], json!({})))];
    let mut case = Case::new(backup, live);
    case.state = vec!["role.Reader"];
    let plan = case.plan();
    assert_eq!(steps(&plan), ["~rename-from-Reader role.Viewer"]);
    assert_eq!(plan.changes[0].moved_from, Some(addr("role.Reader")));
}

#[test]
fn objects_created_since_are_deleted_when_managed_and_kept_unless_allowed_otherwise() {
    let backup = vec![("tenant.acme", tenant("acme", "Acme", json!({})))];
    let live = vec![
        ("tenant.acme", tenant("acme", "Acme", json!({}))),
        ("tenant.managed", tenant("managed", "M", json!({}))),
        ("tenant.other", tenant("other", "O", json!({}))),
        // A kind the backup does not hold: never touched.
        ("permission.p", permission("PERM1", "p", "")),
    ];
    let mut case = Case::new(backup, live);
    case.state = vec!["tenant.managed"];
    let plan = case.plan();
    assert_eq!(steps(&plan), ["- tenant.managed"]);
    assert_eq!(plan.unmanaged, vec![addr("tenant.other")]);
    assert_eq!(plan.changes[0].guard, None);

    case.delete_unmanaged = true;
    case.protected = true;
    let plan = case.plan();
    assert_eq!(steps(&plan), ["- tenant.managed", "- tenant.other"]);
    assert!(plan.unmanaged.is_empty());
    assert!(
        plan.changes
            .iter()
            .all(|c| c.guard == Some(Guard::Protected))
    );
}

#[test]
fn deletes_run_in_reverse_and_a_partial_backup_says_what_it_cannot_know() {
    let backup = vec![
        ("tenant.acme", tenant("acme", "Acme", json!({}))),
        ("permission.keep", permission("PERM0", "keep", "")),
        ("role.Keep", role("ROL0", "Keep", "", &[], json!({}))),
    ];
    let live = vec![
        ("tenant.acme", tenant("acme", "Acme", json!({}))),
        ("tenant.new", tenant("new", "New", json!({}))),
        ("permission.keep", permission("PERM0", "keep", "")),
        ("permission.p", permission("PERM1", "p", "")),
        ("role.Keep", role("ROL0", "Keep", "", &[], json!({}))),
        ("role.new/R", role("ROL1", "R", "new", &["p"], json!({}))),
    ];
    let mut case = Case::new(backup, live);
    case.state = vec!["tenant.new", "permission.p", "role.new/R"];
    case.complete = false;
    let plan = case.plan();
    assert_eq!(
        steps(&plan),
        ["- role.new/R", "- tenant.new", "- permission.p"]
    );
    assert!(
        plan.changes
            .iter()
            .all(|c| matches!(c.warnings[..], [Warning::NotInBackup]))
    );
}

#[test]
fn system_default_permissions_and_the_theme_are_never_deleted_and_targets_select() {
    let backup = vec![
        ("permission.p", permission("PERM1", "p", "old")),
        ("tenant.a", tenant("a", "A", json!({}))),
        ("tenant.b", tenant("b", "B", json!({}))),
    ];
    let mut admin = permission("PERM9", "User Admin", "");
    admin["systemDefault"] = json!(true);
    let live = vec![
        ("permission.p", permission("PERM1", "p", "new")),
        ("permission.User Admin", admin),
    ];
    let mut case = Case::new(backup, live);
    case.delete_unmanaged = true;
    assert_eq!(
        steps(&case.plan()),
        ["~ permission.p", "+ tenant.a", "+ tenant.b"]
    );
    case.targets = vec![addr("tenant.b")];
    assert_eq!(steps(&case.plan()), ["+ tenant.b"]);
}

#[test]
fn a_flow_is_compared_as_its_normalised_document() {
    let doc = |v: i64, title: &str| json!({"flow": {"id": "f", "version": v}, "screens": [{"id": "s", "title": title}]});
    let plan = Case::new(vec![("flow.f", doc(1, "a"))], vec![("flow.f", doc(7, "a"))]).plan();
    assert!(plan.changes.is_empty(), "a version bump is no difference");
    let plan = Case::new(vec![("flow.f", doc(1, "a"))], vec![("flow.f", doc(7, "b"))]).plan();
    assert_eq!(steps(&plan), ["~ flow.f"]);
    assert_eq!(plan.changes[0].diffs[0].field, "document");
}

/// A pre-apply backup holds only what dmgmt managed or changed: an object it lacks that dmgmt does
/// not manage may well have existed then, so it is never deleted, whatever the request says.
#[test]
fn a_pre_apply_backup_never_deletes_an_unmanaged_object_even_when_asked_to() {
    let backup = vec![("tenant.acme", tenant("acme", "Acme", json!({})))];
    let live = vec![
        ("tenant.acme", tenant("acme", "Acme", json!({}))),
        (
            "tenant.made",
            tenant("made", "Made by the apply", json!({})),
        ),
        ("tenant.customer", tenant("customer", "Customer", json!({}))),
        (
            "role.customer/Local",
            role("ROL1", "Local", "customer", &[], json!({})),
        ),
        ("role.Support", role("ROL2", "Support", "", &[], json!({}))),
        (
            "role.Tenant Admin",
            role("ROL3", "Tenant Admin", "", &[], json!({})),
        ),
    ];
    let mut case = Case::new(backup, live);
    case.backup
        .push(("role.Viewer", role("ROL4", "Viewer", "", &[], json!({}))));
    case.live
        .push(("role.Viewer", role("ROL4", "Viewer", "", &[], json!({}))));
    case.state = vec!["tenant.made"];
    case.complete = false;
    case.protected = true;
    case.delete_unmanaged = true;
    let plan = case.plan();
    assert_eq!(steps(&plan), ["- tenant.made"]);
    assert_eq!(
        plan.unmanaged,
        [
            addr("role.Support"),
            addr("role.Tenant Admin"),
            addr("role.customer/Local"),
            addr("tenant.customer"),
        ]
    );
}

/// Two tenants that swapped names since the backup: Descope keeps tenant names unique, so the two
/// updates that swap them back would both fail. Refused, saying how to get there.
#[test]
fn tenants_that_swapped_names_since_the_backup_are_refused_with_the_way_out() {
    let backup = vec![
        ("tenant.a", tenant("a", "Alpha", json!({}))),
        ("tenant.b", tenant("b", "Beta", json!({}))),
    ];
    let live = vec![
        ("tenant.a", tenant("a", "Beta", json!({}))),
        ("tenant.b", tenant("b", "Alpha", json!({}))),
    ];
    let err = Case::new(backup, live).try_plan().unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("`tenant.a` from `Beta` to `Alpha`, `tenant.b` from `Alpha` to `Beta`"),
        "{text}"
    );
    assert!(text.contains("run the restore again"), "{text}");
    assert!(!err.hints().is_empty());
}

/// A name handed from one tenant to another within the restore: the tenant giving it up (here
/// deleted, as dmgmt created it since) goes first; a name kept by a tenant the restore does not
/// change is said on the change Descope will refuse.
#[test]
fn a_tenant_name_freed_by_the_restore_is_taken_only_after_it_is_freed() {
    let backup = vec![("tenant.a", tenant("a", "Alpha", json!({})))];
    let live = vec![
        ("tenant.a", tenant("a", "Old", json!({}))),
        ("tenant.new", tenant("new", "Alpha", json!({}))),
    ];
    let mut case = Case::new(backup.clone(), live);
    case.state = vec!["tenant.new"];
    let plan = case.plan();
    assert_eq!(steps(&plan), ["- tenant.new", "~ tenant.a"]);
    assert_eq!(plan.changes[1].depends_on, ChangeId::list(&[0]));

    let live = vec![
        ("tenant.a", tenant("a", "Old", json!({}))),
        ("tenant.other", tenant("other", "Alpha", json!({}))),
    ];
    let plan = Case::new(backup, live).plan();
    assert_eq!(steps(&plan), ["~ tenant.a"]);
    assert!(
        matches!(
            &plan.changes[0].warnings[0],
            Warning::TenantNameTaken { holder, name, create: false }
                if *holder == addr("tenant.other") && name == "Alpha"
        ),
        "{:?}",
        plan.changes[0].warnings
    );
}

/// State entries that record Descope ids.
fn prior_with_ids(entries: &[(&str, &str)]) -> BTreeMap<ResourceAddr, Prior> {
    let mut out = prior(&entries.iter().map(|(a, _)| *a).collect::<Vec<_>>());
    for (a, id) in entries {
        if let Some(p) = out.get_mut(&addr(a)) {
            p.id = Some((*id).to_owned());
        }
    }
    out
}

/// Role `Viewer` (id `ROL1`, a tenant's default role) renamed to `Reader` in the console and a
/// new `Viewer` (`ROL2`) created; the same for a permission. Before, restore updated the new one
/// with the backup's body and destroyed `ROL1` (users' assignments gone). The backup's object is
/// `ROL1`: it is renamed back, never destroyed; the new one, which dmgmt does not manage, holds
/// the name, so the restore is refused naming both ids.
#[test]
fn an_object_renamed_since_whose_name_was_reused_is_matched_by_id_and_never_destroyed() {
    let backup = vec![
        ("permission.p", permission("PERM1", "p", "read")),
        ("role.Viewer", role("ROL1", "Viewer", "", &["p"], json!({}))),
        (
            "tenant.acme",
            tenant("acme", "Acme", json!({"defaultRoles": ["Viewer"]})),
        ),
    ];
    let live = vec![
        ("permission.q", permission("PERM1", "q", "read")),
        ("permission.p", permission("PERM2", "p", "new")),
        ("role.Reader", role("ROL1", "Reader", "", &["q"], json!({}))),
        ("role.Viewer", role("ROL2", "Viewer", "", &[], json!({}))),
        (
            "tenant.acme",
            tenant("acme", "Acme", json!({"defaultRoles": ["Reader"]})),
        ),
    ];
    let mut case = Case::new(backup, live);
    case.state = vec!["permission.p", "role.Viewer", "tenant.acme"];
    let prior = prior_with_ids(&[
        ("permission.p", "PERM1"),
        ("role.Viewer", "ROL1"),
        ("tenant.acme", "acme"),
    ]);
    let plan_with = |case: &Case, prior: &BTreeMap<ResourceAddr, Prior>| {
        restore(&RestoreInput {
            backup: &objects(&case.backup),
            complete: true,
            snapshot: &snapshot(&case.live),
            prior,
            protected: false,
            delete_unmanaged: false,
            targets: &[],
            tenant_settings: &Default::default(),
        })
    };
    let err = plan_with(&case, &prior).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("`permission.p`"), "{text}");
    assert!(
        text.contains("`PERM1`") && text.contains("`PERM2`"),
        "{text}"
    );
    assert!(text.contains("now named `q`"), "{text}");
    assert!(
        err.hints().join("\n").contains("rename or delete"),
        "{err:?}"
    );

    // Refused too when the new objects are dmgmt's (a plain apply took them over): the restore
    // neither destroys `ROL1` nor writes over the new one.
    let prior = prior_with_ids(&[
        ("permission.p", "PERM2"),
        ("role.Viewer", "ROL2"),
        ("tenant.acme", "acme"),
    ]);
    let err = plan_with(&case, &prior).unwrap_err();
    assert!(err.to_string().contains("`PERM2`"), "{err}");

    // Once the new objects are out of the way, the backup's are renamed back by their ids.
    case.live
        .retain(|(a, _)| !matches!(*a, "permission.p" | "role.Viewer"));
    let plan = plan_with(&case, &prior).unwrap();
    let renamed: Vec<_> = plan
        .changes
        .iter()
        .filter(|c| matches!(c.action, Action::Rename { .. }))
        .map(|c| c.live_id.clone().unwrap_or_default())
        .collect();
    assert_eq!(renamed, ["PERM1", "ROL1"]);
    assert!(
        plan.changes.iter().all(|c| !c.action.is_delete()),
        "{:?}",
        steps(&plan)
    );
}
