//! Attributes: the one shape in which desired, live and last-known objects are compared.
//!
//! An object's attributes are a JSON object keyed by config field names (`self_provisioning_domains`,
//! not `selfProvisioningDomains`). Desired attributes hold only the fields the config writes — the
//! managed fields (DESIGN.md §3). Order-free lists (a role's permissions, domains, default roles) are
//! sorted, and flow and theme documents are normalised, so that equal means equal.

use serde_json::{Map, Value, json};

use super::{DesiredState, Flow, Permission, ResourceAddr, ResourceKind, Role, Tenant, Theme};

/// Fields of a flow or theme export that change on every save and mean nothing to a plan.
pub const VOLATILE_FIELDS: [&str; 5] = [
    "version",
    "etag",
    "modifiedTime",
    "fingerprint",
    "updatedTime",
];

/// Where each modelled field lives in Descope's body: (config name, Descope's name), per kind.
const TENANT_FIELDS: [(&str, &str); 7] = [
    ("id", "id"),
    ("name", "name"),
    ("self_provisioning_domains", "selfProvisioningDomains"),
    ("custom_attributes", "customAttributes"),
    ("enforce_sso", "enforceSSO"),
    ("disabled", "disabled"),
    ("default_roles", "defaultRoles"),
];
const ROLE_FIELDS: [(&str, &str); 4] = [
    ("name", "name"),
    ("description", "description"),
    ("permissions", "permissionNames"),
    ("tenant", "tenantId"),
];
const PERMISSION_FIELDS: [(&str, &str); 2] = [("name", "name"), ("description", "description")];

/// The name Descope's body gives the config field `field` of a `kind` object (`None`: not a field
/// of Descope's object, e.g. a flow's `document`, which is the whole body).
pub fn wire_field(kind: ResourceKind, field: &str) -> Option<&'static str> {
    let table: &[(&str, &'static str)] = match kind {
        ResourceKind::Tenant => &TENANT_FIELDS,
        ResourceKind::Role => &ROLE_FIELDS,
        ResourceKind::Permission => &PERMISSION_FIELDS,
        ResourceKind::Flow | ResourceKind::Theme => &[],
    };
    table
        .iter()
        .find(|(config, _)| *config == field)
        .map(|(_, wire)| *wire)
}

/// Desired attributes of every declared resource.
pub fn desired(state: &DesiredState) -> Vec<(ResourceAddr, Value)> {
    let mut out = Vec::new();
    out.extend(
        state
            .permissions
            .iter()
            .map(|p| (ResourceAddr::Permission(p.name.clone()), permission(p))),
    );
    out.extend(state.roles.iter().map(|r| (r.addr(), role(r))));
    out.extend(
        state
            .tenants
            .iter()
            .map(|t| (ResourceAddr::Tenant(t.id.clone()), tenant(t))),
    );
    out.extend(state.theme.iter().map(|t| (ResourceAddr::Theme, theme(t))));
    out.extend(
        state
            .flows
            .iter()
            .map(|f| (ResourceAddr::Flow(f.id.clone()), flow(f))),
    );
    out
}

fn insert_opt<T: Into<Value>>(map: &mut Map<String, Value>, key: &str, value: Option<T>) {
    if let Some(v) = value {
        map.insert(key.to_owned(), v.into());
    }
}

pub fn permission(p: &Permission) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), json!(p.name));
    insert_opt(&mut m, "description", p.description.clone());
    Value::Object(m)
}

pub fn role(r: &Role) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), json!(r.name));
    insert_opt(&mut m, "tenant", r.tenant.clone());
    insert_opt(&mut m, "description", r.description.clone());
    insert_opt(&mut m, "permissions", r.permissions.as_deref().map(sorted));
    Value::Object(m)
}

pub fn tenant(t: &Tenant) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(t.id));
    m.insert("name".into(), json!(t.name));
    insert_opt(
        &mut m,
        "self_provisioning_domains",
        t.self_provisioning_domains.as_deref().map(sorted),
    );
    insert_opt(
        &mut m,
        "custom_attributes",
        t.custom_attributes.as_ref().map(|attrs| {
            Value::Object(attrs.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        }),
    );
    insert_opt(&mut m, "enforce_sso", t.enforce_sso);
    insert_opt(&mut m, "disabled", t.disabled);
    insert_opt(
        &mut m,
        "default_roles",
        t.default_roles.as_deref().map(sorted),
    );
    Value::Object(m)
}

/// The config loader has already normalised the document.
pub fn flow(f: &Flow) -> Value {
    json!({ "document": f.document })
}

/// The config loader has already normalised the document.
pub fn theme(t: &Theme) -> Value {
    json!({ "document": t.document })
}

/// A sorted, de-duplicated JSON list of strings.
pub fn sorted(items: &[String]) -> Value {
    let mut items: Vec<&String> = items.iter().collect();
    items.sort();
    items.dedup();
    json!(items)
}

/// Drops volatile fields at any depth and sorts object keys, so two exports of the same flow
/// compare equal.
pub fn normalize_document(doc: &Value) -> Value {
    match doc {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map
                .keys()
                .filter(|k| !VOLATILE_FIELDS.contains(&k.as_str()))
                .collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), normalize_document(&map[k])))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(normalize_document).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_written_fields_become_attributes() {
        let r = Role {
            name: "Viewer".into(),
            description: None,
            permissions: Some(vec!["b".into(), "a".into(), "a".into()]),
            tenant: None,
            renamed_from: None,
            prevent_destroy: false,
        };
        assert_eq!(
            role(&r),
            json!({"name": "Viewer", "permissions": ["a", "b"]})
        );
    }

    #[test]
    fn documents_normalise_volatile_fields_and_key_order() {
        let a = json!({"flow": {"version": 3, "name": "x", "etag": "e1"}, "screens": [{"version": 1, "id": "s"}]});
        let b = json!({"screens": [{"id": "s", "version": 9}], "flow": {"name": "x", "modifiedTime": 5}});
        assert_eq!(normalize_document(&a), normalize_document(&b));
        assert_eq!(
            serde_json::to_string(&normalize_document(&a)).unwrap(),
            r#"{"flow":{"name":"x"},"screens":[{"id":"s"}]}"#
        );
    }
}
