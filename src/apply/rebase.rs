//! A tenant's or a role's update, made against the object as Descope holds it when the update is
//! sent, not as the refresh read it.
//!
//! Descope's tenant and role updates replace the whole object, and at Descope's rate limits an
//! apply can run for many minutes: a body computed at the refresh would reset whatever a colleague
//! changed in the console meanwhile (a tenant's SSO enforcement, a role's `private` flag). So the
//! executor reads the object again just before its update (a tenant by its id, a batch of roles
//! with one listing), and sends what it holds now with only what the plan changes written over it:
//!
//! - a field the change manages is the plan's value (what the plan showed, and what a read-back
//!   of the change compares);
//! - any other field the update sends is the plan's value where the plan changes it (a restore
//!   puts back unmodelled fields), and Descope's current value otherwise;
//! - custom attributes are owned key by key: a key the plan changes is the plan's, every other
//!   key keeps its current value.
//!
//! Pure: the read is the caller's (`request::send`).

use serde_json::{Map, Value};

use crate::model::ResourceKind;
use crate::model::attrs::{ROLE_WRITE_FIELDS, TENANT_UPDATE_FIELDS, is_empty_value, wire_field};
use crate::plan::Change;

/// Descope's name of a tenant's custom attributes.
const CUSTOM_ATTRIBUTES: &str = "customAttributes";

/// The body of `change`'s tenant update against `current`, the tenant as Descope holds it now
/// (in Descope's field names). Fields the update does not send are `current`'s.
pub(crate) fn rebase_tenant(change: &Change, current: &Value) -> Value {
    rebase(change, current, ResourceKind::Tenant, &TENANT_UPDATE_FIELDS)
}

/// The body of `change`'s role update against `current`, the role as Descope holds it now (its
/// `name` the plan's: the request renames with `newName`).
pub(crate) fn rebase_role(change: &Change, current: &Value) -> Value {
    let fields: Vec<&str> = std::iter::once("name").chain(ROLE_WRITE_FIELDS).collect();
    rebase(change, current, ResourceKind::Role, &fields)
}

/// `current` with the update's `fields` chosen one by one (see the module's rules).
fn rebase(change: &Change, current: &Value, kind: ResourceKind, fields: &[&str]) -> Value {
    let empty = Map::new();
    let after = change
        .after
        .as_ref()
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let before = change
        .before
        .as_ref()
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let mut out = current.as_object().cloned().unwrap_or_default();
    let managed: Vec<&str> = change
        .managed_fields
        .iter()
        .filter_map(|f| wire_field(kind, f))
        .collect();
    for &field in fields {
        if field == CUSTOM_ATTRIBUTES {
            let merged = merge_keys(after.get(field), before.get(field), out.get(field));
            set(&mut out, field, merged, after.contains_key(field));
            continue;
        }
        let planned = after.get(field);
        let take_plan = managed.contains(&field) || !same(planned, before.get(field));
        let value = match take_plan {
            true => planned.cloned(),
            false => out.get(field).cloned(),
        };
        set(&mut out, field, value, after.contains_key(field));
    }
    Value::Object(out)
}

/// Custom attributes key by key: the plan's value for every key it changes, the current value
/// for every other key.
fn merge_keys(
    after: Option<&Value>,
    before: Option<&Value>,
    current: Option<&Value>,
) -> Option<Value> {
    if after.is_none() && current.is_none() {
        return None;
    }
    let empty = Map::new();
    let after = after.and_then(Value::as_object).unwrap_or(&empty);
    let before = before.and_then(Value::as_object).unwrap_or(&empty);
    let mut out = current
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for (key, value) in after {
        if before.get(key) != Some(value) {
            out.insert(key.clone(), value.clone());
        }
    }
    for key in before.keys().filter(|k| !after.contains_key(*k)) {
        out.remove(key);
    }
    Some(Value::Object(out))
}

/// Sets `field`, or leaves it out when there is no value, or when the value is empty and the
/// plan's body did not send the field either (Descope's typed answer fills empty values in).
fn set(out: &mut Map<String, Value>, field: &str, value: Option<Value>, planned: bool) {
    match value {
        Some(v) if planned || !is_empty_value(&v) => {
            out.insert(field.to_owned(), v);
        }
        _ => {
            out.remove(field);
        }
    }
}

/// Equal as Descope means it: a missing field is its empty value.
fn same(a: Option<&Value>, b: Option<&Value>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a == b,
        (Some(v), None) | (None, Some(v)) => is_empty_value(v),
        (None, None) => true,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::plan::Action;

    fn update(before: Value, after: Value, managed: &[&str]) -> Change {
        Change {
            before: Some(before),
            after: Some(after),
            managed_fields: managed.iter().map(|f| (*f).to_owned()).collect(),
            ..Change::bare("tenant.acme", Action::Update)
        }
    }

    #[test]
    fn what_a_colleague_changed_since_the_refresh_is_kept_and_the_plan_is_written_over_it() {
        let before = json!({
            "id": "acme", "name": "Acme", "disabled": false, "enforceSSO": false,
            "federatedAppIds": ["app1"], "customAttributes": {"plan": "free", "region": "eu"},
        });
        let after = json!({
            "id": "acme", "name": "Acme Corp", "disabled": false, "enforceSSO": false,
            "federatedAppIds": ["app1"], "customAttributes": {"plan": "pro", "region": "eu"},
        });
        let change = update(
            before,
            after,
            &["id", "name", "custom_attributes", "disabled"],
        );
        // Since the refresh: SSO enforced, an app federated, the region moved, a key added; and
        // `disabled` (managed, unchanged by the plan) flipped.
        let current = json!({
            "id": "acme", "name": "Acme", "disabled": true, "enforceSSO": true,
            "federatedAppIds": ["app1", "app2"], "createdTime": 5,
            "customAttributes": {"plan": "free", "region": "us", "tier": 3},
        });
        assert_eq!(
            rebase_tenant(&change, &current),
            json!({
                "id": "acme", "name": "Acme Corp", "disabled": false, "enforceSSO": true,
                "federatedAppIds": ["app1", "app2"], "createdTime": 5,
                "customAttributes": {"plan": "pro", "region": "us", "tier": 3},
            })
        );
    }

    #[test]
    fn a_field_the_plan_changes_is_written_even_when_not_modelled() {
        // A restore puts back `roleInheritance` and `enforceSSOExclusions`.
        let before = json!({"id": "acme", "name": "Acme", "roleInheritance": "none"});
        let after = json!({
            "id": "acme", "name": "Acme", "roleInheritance": "userOnly",
            "enforceSSOExclusions": ["u1"],
        });
        let change = update(before, after, &["name"]);
        let current = json!({"id": "acme", "name": "Acme", "roleInheritance": "none",
            "enforceSSOExclusions": [], "selfProvisioningDomains": []});
        assert_eq!(
            rebase_tenant(&change, &current),
            json!({"id": "acme", "name": "Acme", "roleInheritance": "userOnly",
                "enforceSSOExclusions": ["u1"]})
        );
    }

    #[test]
    fn unchanged_since_the_refresh_sends_exactly_the_plans_body() {
        let before = json!({"id": "acme", "name": "Acme", "customAttributes": {"a": 1}});
        let after = json!({"id": "acme", "name": "Acme Corp", "customAttributes": {"a": 1}});
        let change = update(before.clone(), after.clone(), &["name"]);
        assert_eq!(rebase_tenant(&change, &before), after);
    }

    #[test]
    fn a_roles_flags_set_in_the_console_since_the_refresh_are_kept() {
        let before = json!({"id": "R1", "name": "Viewer", "description": "old",
            "permissionNames": ["a"], "private": false});
        let after = json!({"id": "R1", "name": "Viewer", "description": "new",
            "permissionNames": ["a", "b"], "private": false});
        let change = Change {
            addr: "role.Viewer".parse().unwrap(),
            ..update(before, after, &["name", "description", "permissions"])
        };
        let current = json!({"id": "R1", "name": "Viewer", "description": "old",
            "permissionNames": ["a"], "private": true, "default": true, "tenantId": ""});
        assert_eq!(
            rebase_role(&change, &current),
            json!({"id": "R1", "name": "Viewer", "description": "new",
                "permissionNames": ["a", "b"], "private": true, "default": true})
        );
    }
}
