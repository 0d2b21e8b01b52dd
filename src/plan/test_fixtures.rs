//! Builders shared by the planner's unit-test files: a desired state from JSON, a live snapshot,
//! a prior state, and a plan's steps as short text.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::*;
use crate::model::{DesiredState, LiveObject, RawBody, ResourceAddr, Snapshot};

pub(crate) fn desired(body: Value) -> DesiredState {
    let mut base = json!({
        "environment": "test", "project_id": "P2testExampleProjectId00001", "management_key": null,
        "base_url": null, "emulator": true, "protected": false, "rate_limit": null, "parallelism": 4,
        "backups": {"retention_days": 30, "keep_min": 5},
        "permissions": [], "roles": [], "tenants": [], "flows": [], "theme": null
    });
    for (k, v) in body.as_object().unwrap() {
        base[k] = v.clone();
    }
    serde_json::from_value(base).unwrap()
}

pub(crate) fn addr(s: &str) -> ResourceAddr {
    s.parse().unwrap()
}

pub(crate) fn snapshot(objects: &[(&str, Value)]) -> Snapshot {
    let objects = objects
        .iter()
        .map(|(a, attrs)| {
            let id = a.starts_with("role.").then(|| format!("ROL-{a}"));
            (
                addr(a),
                LiveObject {
                    attributes: attrs.clone(),
                    raw: RawBody::from_value(raw_body(&addr(a), attrs)),
                    system_default: attrs.get("systemDefault") == Some(&json!(true)),
                    id,
                    digest: format!("digest-of-{a}"),
                    attributes_digest: format!("attributes-digest-of-{a}"),
                },
            )
        })
        .collect();
    Snapshot {
        objects,
        digest: "snap".into(),
    }
}

/// The body Descope would send for an object with these attributes.
fn raw_body(addr: &ResourceAddr, attrs: &Value) -> Value {
    if let Some(doc) = attrs.get("document") {
        return doc.clone();
    }
    let mut body = serde_json::Map::new();
    for (field, value) in attrs.as_object().unwrap() {
        let wire = crate::model::attrs::wire_field(addr.kind(), field).unwrap_or(field);
        body.insert(wire.to_owned(), value.clone());
    }
    Value::Object(body)
}

/// A prior state holding exactly these objects, every written field managed.
pub(crate) fn prior(entries: &[(&str, Value)]) -> BTreeMap<ResourceAddr, Prior> {
    entries
        .iter()
        .map(|(a, attrs)| {
            let fields = attrs.as_object().unwrap().keys().cloned().collect();
            (
                addr(a),
                Prior {
                    attributes: attrs.clone(),
                    managed_fields: fields,
                    prevent_destroy: false,
                    digest: None,
                    id: None,
                },
            )
        })
        .collect()
}

pub(crate) fn try_run(
    d: &DesiredState,
    s: &Snapshot,
    p: &BTreeMap<ResourceAddr, Prior>,
) -> Result<Plan, PlanError> {
    plan(&PlanInput {
        desired: d,
        snapshot: s,
        prior: p,
        targets: &[],
    })
}

pub(crate) fn run(d: &DesiredState, s: &Snapshot, p: &BTreeMap<ResourceAddr, Prior>) -> Plan {
    try_run(d, s, p).unwrap()
}

/// `symbol addr` per change, in order.
pub(crate) fn steps(plan: &Plan) -> Vec<String> {
    plan.changes
        .iter()
        .map(|c| format!("{} {}", c.action.symbol(), c.addr))
        .collect()
}

/// The change to `addr` (not a default-roles step).
pub(crate) fn change<'a>(plan: &'a Plan, a: &str) -> &'a Change {
    plan.changes
        .iter()
        .find(|c| c.addr == addr(a) && c.action != Action::SetDefaultRoles)
        .unwrap_or_else(|| panic!("no change to `{a}` in {:?}", steps(plan)))
}
