//! Attribute-level comparison: which managed fields differ, and what the object looks like with
//! the managed fields overlaid on the live one (field ownership, docs/reference.md).

use serde_json::{Map, Value};

use super::types::AttrDiff;
use crate::model::{ResourceKind, attrs};

/// Fields compared key by key: each key of the map is its own managed field, so keys the config
/// does not write keep their live values.
const KEYED_FIELDS: [&str; 1] = ["custom_attributes"];

/// The managed fields of `desired` that differ from `live` (`None`: not live).
pub(crate) fn managed_diffs(desired: &Value, live: Option<&Value>) -> Vec<AttrDiff> {
    let mut out = Vec::new();
    let empty = Map::new();
    let desired = desired.as_object().unwrap_or(&empty);
    let live = live.and_then(Value::as_object);
    for (field, want) in desired {
        let have = live.and_then(|l| l.get(field));
        if KEYED_FIELDS.contains(&field.as_str()) {
            let have_map = have.and_then(Value::as_object);
            for (key, want_value) in want.as_object().unwrap_or(&empty) {
                let have_value = have_map.and_then(|m| m.get(key));
                if have_value != Some(want_value) {
                    out.push(AttrDiff {
                        field: format!("{field}.{key}"),
                        before: have_value.cloned(),
                        after: Some(want_value.clone()),
                    });
                }
            }
        } else if have != Some(want) && !(have.is_none() && is_empty(want) && live.is_some()) {
            out.push(AttrDiff {
                field: field.clone(),
                before: have.cloned(),
                after: Some(want.clone()),
            });
        }
    }
    out
}

/// Every field of `before` that differs from `after` (for drift: nothing is "managed" there).
/// Documents compare with [`attrs::same_document`].
pub(crate) fn all_diffs(before: &Value, after: &Value) -> Vec<AttrDiff> {
    let empty = Map::new();
    let b = before.as_object().unwrap_or(&empty);
    let a = after.as_object().unwrap_or(&empty);
    let mut fields: Vec<&String> = b.keys().chain(a.keys()).collect();
    fields.sort();
    fields.dedup();
    fields
        .into_iter()
        .filter(|f| match (b.get(*f), a.get(*f)) {
            // What Descope fills in on import is no change (see `attrs::same_document`).
            (Some(b), Some(a)) if *f == "document" => !attrs::same_document(b, a),
            (b, a) => b != a,
        })
        .map(|f| AttrDiff {
            field: f.clone(),
            before: b.get(f).cloned(),
            after: a.get(f).cloned(),
        })
        .collect()
}

/// What Descope will hold once the managed fields of `desired` (config names) are written over the
/// live body `raw` (Descope's names; `None`: a new object) — exactly the body an update sends.
/// Every field the configuration does not manage keeps its live value, unmodelled ones included,
/// and custom attributes are owned key by key. A flow's or the theme's `document` is the whole
/// body.
pub(crate) fn overlay_body(kind: ResourceKind, raw: Option<&Value>, desired: &Value) -> Value {
    if let Some(document) = desired.get("document") {
        return document.clone();
    }
    let mut out = raw.and_then(Value::as_object).cloned().unwrap_or_default();
    for (field, want) in desired.as_object().into_iter().flatten() {
        let Some(wire) = attrs::wire_field(kind, field) else {
            continue;
        };
        match (
            KEYED_FIELDS.contains(&field.as_str()),
            out.get_mut(wire),
            want,
        ) {
            (true, Some(Value::Object(have)), Value::Object(want)) => {
                for (k, v) in want {
                    have.insert(k.clone(), v.clone());
                }
            }
            _ => {
                out.insert(wire.to_owned(), want.clone());
            }
        }
    }
    let mut body = Value::Object(out);
    attrs::sort_keys(&mut body);
    body
}

/// An empty string, list or map: what Descope reports for a field it has no value for.
fn is_empty(v: &Value) -> bool {
    match v {
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        Value::Bool(b) => !b,
        _ => false,
    }
}

/// The managed field names of desired attributes.
pub(crate) fn managed_fields(desired: &Value) -> Vec<String> {
    desired
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_managed_fields_are_compared() {
        let desired = json!({"id": "acme", "name": "Acme"});
        let live = json!({"id": "acme", "name": "Acme", "enforce_sso": true, "disabled": false});
        assert_eq!(managed_diffs(&desired, Some(&live)), vec![]);
        let desired = json!({"id": "acme", "name": "Acme Corp"});
        let d = managed_diffs(&desired, Some(&live));
        assert_eq!(
            d,
            vec![AttrDiff {
                field: "name".into(),
                before: Some(json!("Acme")),
                after: Some(json!("Acme Corp"))
            }]
        );
    }

    #[test]
    fn custom_attributes_are_owned_key_by_key() {
        let desired = json!({"custom_attributes": {"plan": "pro"}});
        let live = json!({"custom_attributes": {"plan": "free", "region": "eu"}});
        let d = managed_diffs(&desired, Some(&live));
        assert_eq!(d[0].field, "custom_attributes.plan");
        assert_eq!(d.len(), 1);
        let raw = json!({"id": "acme", "customAttributes": {"plan": "free", "region": "eu"}});
        assert_eq!(
            overlay_body(ResourceKind::Tenant, Some(&raw), &desired),
            json!({"id": "acme", "customAttributes": {"plan": "pro", "region": "eu"}})
        );
    }

    #[test]
    fn every_field_the_config_does_not_manage_survives_the_overlay() {
        let raw = json!({
            "id": "acme", "name": "Acme", "enforceSSO": true, "selfProvisioningDomains": ["acme.com"],
            "enforceSSOExclusions": ["U1"], "federatedAppIds": ["app"], "roleInheritance": "userOnly",
            "parent": "root", "futureField": {"x": 1}
        });
        let desired = json!({"id": "acme", "name": "Acme Corp", "disabled": true});
        let after = overlay_body(ResourceKind::Tenant, Some(&raw), &desired);
        let mut expected = raw.clone();
        expected["name"] = json!("Acme Corp");
        expected["disabled"] = json!(true);
        assert_eq!(after, expected);
    }

    #[test]
    fn role_fields_are_written_under_descope_names() {
        let raw = json!({"id": "ROL1", "name": "Viewer", "permissionNames": ["a"], "tenantId": "", "default": true, "private": false, "createdTime": 5});
        let desired = json!({"name": "Viewer", "permissions": ["a", "b"]});
        let after = overlay_body(ResourceKind::Role, Some(&raw), &desired);
        assert_eq!(
            after,
            json!({"id": "ROL1", "name": "Viewer", "permissionNames": ["a", "b"], "tenantId": "", "default": true, "private": false, "createdTime": 5})
        );
        let created = overlay_body(
            ResourceKind::Role,
            None,
            &json!({"name": "New", "tenant": "acme"}),
        );
        assert_eq!(created, json!({"name": "New", "tenantId": "acme"}));
    }

    #[test]
    fn writing_an_empty_value_that_descope_omits_is_no_change() {
        let desired = json!({"name": "a", "description": ""});
        let live = json!({"name": "a"});
        assert_eq!(managed_diffs(&desired, Some(&live)), vec![]);
    }

    #[test]
    fn drift_compares_every_field() {
        let d = all_diffs(&json!({"a": 1, "b": 2}), &json!({"a": 1, "b": 3, "c": 4}));
        assert_eq!(
            d.iter().map(|d| d.field.as_str()).collect::<Vec<_>>(),
            ["b", "c"]
        );
    }
}
