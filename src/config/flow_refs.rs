//! The roles and tenants a flow document names, found once when its template is loaded and kept
//! as typed data on the desired flow ([`FlowRefs`]): the planner orders a flow after the roles it
//! assigns, the plan renders them, and validation checks each against the environment.
//!
//! How a reference is found: Descope's flow JSON names roles and tenants by plain string values
//! under a few keys. Every string under a key named `roles` or `roleNames` is a role; every string
//! under `tenant`, `tenantId`, `tenantIds` or `tenants` is a tenant id. The value may be a string,
//! a list of strings, or Descope's argument wrapper `{"type": "inline", "value": ...}` holding
//! either; other wrappers (`{"type": "context", "value": "user.userTenants"}`) name no object.
//! Objects inside such a value (`"tenants": [{"tenantId": "acme", "roleNames": [...]}]`) are
//! searched the same way. Empty strings and dynamic values (holding `{{`) are not references.

use serde_json::Value;

use crate::model::{FlowRefs, NamedRef};

const ROLE_KEYS: [&str; 2] = ["roles", "roleNames"];
const TENANT_KEYS: [&str; 4] = ["tenant", "tenantId", "tenantIds", "tenants"];

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Role,
    Tenant,
}

/// The references of a (filled) flow document, in document order.
pub(crate) fn find(doc: &Value) -> FlowRefs {
    let mut refs = FlowRefs::default();
    walk(doc, &mut "$".to_owned(), None, &mut refs);
    refs
}

fn walk(v: &Value, path: &mut String, under: Option<Kind>, out: &mut FlowRefs) {
    match v {
        Value::String(s) => {
            if let Some(kind) = under.filter(|_| !s.is_empty() && !s.contains("{{")) {
                let r = NamedRef {
                    name: s.clone(),
                    json_path: path.clone(),
                };
                match kind {
                    Kind::Role => out.roles.push(r),
                    Kind::Tenant => out.tenants.push(r),
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                walk(item, path, under, out);
                path.truncate(len);
            }
        }
        Value::Object(map) => {
            // Descope's argument wrapper: only an inline value is a name.
            let wrapper = map.get("type").and_then(Value::as_str);
            let keep = match (under, wrapper) {
                (Some(kind), Some("inline")) => Some(kind),
                _ => None,
            };
            for (key, value) in map {
                let next = if ROLE_KEYS.contains(&key.as_str()) {
                    Some(Kind::Role)
                } else if TENANT_KEYS.contains(&key.as_str()) {
                    Some(Kind::Tenant)
                } else if key == "value" {
                    keep
                } else {
                    None
                };
                let len = path.len();
                push_key(path, key);
                walk(value, path, next, out);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

/// `.key` for identifier-like keys, `["key"]` otherwise (JSON-escaped).
pub(crate) fn push_key(path: &mut String, key: &str) {
    let plain = key
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain {
        path.push('.');
        path.push_str(key);
    } else {
        path.push('[');
        path.push_str(&Value::String(key.to_owned()).to_string());
        path.push(']');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn roles_and_tenants_are_found_under_their_keys_with_their_paths() {
        let doc = json!({"flow": {"dsl": {"tasks": {"7": {"arguments": {
            "roles": {"type": "inline", "value": ["Admin", "Viewer"]},
            "tenant": {"type": "context", "value": "user.userTenants"},
            "tenantId": {"type": "inline", "value": "acme"},
        }}, "8": {"roleNames": "Billing Admin", "name": "Admin",
            "tenants": [{"tenantId": "globex", "roleNames": ["Auditor"]}], "role": "button"}}}},
            "screens": [{"id": "s", "roles": ["", "{{form.role}}"]}]});
        let refs = find(&doc);
        let roles: Vec<(&str, &str)> = refs
            .roles
            .iter()
            .map(|r| (r.name.as_str(), r.json_path.as_str()))
            .collect();
        assert_eq!(
            roles,
            [
                ("Admin", "$.flow.dsl.tasks[\"7\"].arguments.roles.value[0]"),
                ("Viewer", "$.flow.dsl.tasks[\"7\"].arguments.roles.value[1]"),
                ("Billing Admin", "$.flow.dsl.tasks[\"8\"].roleNames"),
                ("Auditor", "$.flow.dsl.tasks[\"8\"].tenants[0].roleNames[0]"),
            ]
        );
        let tenants: Vec<&str> = refs.tenants.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(tenants, ["acme", "globex"]);
        assert_eq!(
            refs.tenants[0].json_path,
            "$.flow.dsl.tasks[\"7\"].arguments.tenantId.value"
        );
    }
}
