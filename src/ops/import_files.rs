//! What `dmgmt import` writes: the canonical generated file that declares the imported objects
//! (`environments/shared/<env>-imported.yaml`), one template per imported flow
//! (`environments/flows/<id>.json`) and the theme's (`environments/flows/theme.json`).
//!
//! Pure: live objects and the current text of the files in, the texts to write out. The caller
//! reads and writes files.
//!
//! Canonical: entries sorted by kind, then key (permission name; role tenant then name, project
//! roles first; tenant id; flow id); fields in a fixed order; a field at Descope's default (an
//! empty description, no domains, no custom attributes, `enforce_sso: false`, `disabled: false`,
//! no default roles) left out, so it stays unmanaged until written; `${` written `$${` so
//! interpolation gives the live text back. No timestamp: the same live project gives the same
//! bytes.

use serde_json::{Map, Value, json};

use crate::config::emit;
use crate::model::attrs::VOLATILE_FIELDS;
use crate::model::{ResourceAddr, ResourceKind};

/// The generated file of `environment`, relative to `environments/`.
pub(crate) fn generated_path(environment: &str) -> String {
    format!("shared/{environment}-imported.yaml")
}

/// A live object to import: its address, its attributes (config terms) and raw body.
pub(crate) struct Imported<'a> {
    pub(crate) addr: &'a ResourceAddr,
    pub(crate) attributes: &'a Value,
    pub(crate) raw: Value,
}

/// The text of a template file for a flow or theme export: the body as Descope gave it (keys
/// sorted), without the volatile metadata of the flow, its screens and the theme, with `${`
/// escaped, as indented JSON ending with a newline.
pub(crate) fn template_text(raw: &Value) -> String {
    let mut doc = raw.clone();
    if let Some(top) = doc.as_object_mut() {
        for key in ["flow", "theme"] {
            if let Some(obj) = top.get_mut(key).and_then(Value::as_object_mut) {
                drop_volatile(obj);
            }
        }
        if let Some(screens) = top.get_mut("screens").and_then(Value::as_array_mut) {
            for screen in screens.iter_mut().filter_map(Value::as_object_mut) {
                drop_volatile(screen);
            }
        }
    }
    let mut doc = escape_all(&doc);
    crate::model::attrs::sort_keys(&mut doc);
    serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
}

fn drop_volatile(object: &mut Map<String, Value>) {
    object.retain(|k, _| !VOLATILE_FIELDS.contains(&k.as_str()));
}

/// Every string (object keys too: templates interpolate keys) with `${` escaped.
fn escape_all(value: &Value) -> Value {
    match value {
        Value::String(s) => Value::String(emit::escape_placeholders(s)),
        Value::Array(items) => Value::Array(items.iter().map(escape_all).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (emit::escape_placeholders(k), escape_all(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// A file name for a flow id: letters, digits, `-`, `_` and `.` kept, anything else `_`, never a
/// leading `.`.
pub(crate) fn file_stem(id: &str) -> String {
    let stem: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    match stem.strip_prefix('.') {
        Some(rest) => format!("_{rest}"),
        None if stem.is_empty() => "_".to_owned(),
        None => stem,
    }
}

fn text(s: &str) -> Value {
    Value::String(emit::escape_placeholders(s))
}

fn texts(v: Option<&Value>) -> Option<Value> {
    let items = v?.as_array()?;
    (!items.is_empty()).then(|| Value::Array(items.iter().map(escape_scalar).collect()))
}

fn escape_scalar(v: &Value) -> Value {
    match v {
        Value::String(s) => text(s),
        Value::Array(items) => Value::Array(items.iter().map(escape_scalar).collect()),
        other => other.clone(),
    }
}

fn non_empty_str(v: Option<&Value>) -> Option<Value> {
    v.and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(text)
}

/// The configuration entry of an imported permission, role or tenant (flows and the theme name
/// their template: see [`template_entry`]).
pub(crate) fn entry(object: &Imported<'_>) -> Option<Value> {
    let a = object.attributes;
    let mut m = Map::new();
    let mut put = |key: &str, value: Option<Value>| {
        if let Some(v) = value {
            m.insert(key.to_owned(), v);
        }
    };
    match object.addr {
        ResourceAddr::Permission(name) => {
            put("name", Some(text(name)));
            put("description", non_empty_str(a.get("description")));
        }
        ResourceAddr::Role { tenant, name } => {
            put("name", Some(text(name)));
            put("tenant", tenant.as_deref().map(text));
            put("description", non_empty_str(a.get("description")));
            put("permissions", texts(a.get("permissions")));
        }
        ResourceAddr::Tenant(id) => {
            put("id", Some(text(id)));
            put("name", a.get("name").and_then(Value::as_str).map(text));
            put(
                "self_provisioning_domains",
                texts(a.get("self_provisioning_domains")),
            );
            put(
                "custom_attributes",
                a.get("custom_attributes")
                    .and_then(Value::as_object)
                    .filter(|m| !m.is_empty())
                    .map(|m| {
                        Value::Object(
                            m.iter()
                                .map(|(k, v)| (k.clone(), escape_scalar(v)))
                                .collect(),
                        )
                    }),
            );
            put(
                "enforce_sso",
                a.get("enforce_sso").filter(|v| **v == json!(true)).cloned(),
            );
            put(
                "disabled",
                a.get("disabled").filter(|v| **v == json!(true)).cloned(),
            );
            put("default_roles", texts(a.get("default_roles")));
        }
        ResourceAddr::Flow(_) | ResourceAddr::Theme => return None,
    }
    Some(Value::Object(m))
}

/// The configuration entry of an imported flow (`id`, `template`) or the theme (`template`).
pub(crate) fn template_entry(addr: &ResourceAddr, template: &str) -> Value {
    match addr {
        ResourceAddr::Flow(id) => json!({"id": text(id), "template": template}),
        _ => json!({"template": template}),
    }
}

/// The list each kind is declared under.
fn list_key(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::Permission => "permissions",
        ResourceKind::Role => "roles",
        ResourceKind::Tenant => "tenants",
        ResourceKind::Flow => "flows",
        ResourceKind::Theme => "theme",
    }
}

/// The key an entry of `list` is merged and sorted by (as the loader merges includes).
fn entry_key(list: &str, entry: &Value) -> (String, String) {
    let s = |k: &str| {
        entry
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    match list {
        "permissions" => (String::new(), s("name")),
        // Project roles (no tenant) first.
        "roles" => (s("tenant"), s("name")),
        "tenants" => (String::new(), s("id")),
        _ => (String::new(), s("id")),
    }
}

/// The generated file: what it already declares (`existing`, as read back from it; entries of
/// the same key are replaced) plus `entries` (address and entry), canonical.
pub(crate) fn generated_file(
    header: &[String],
    existing: Option<&Value>,
    entries: &[(ResourceAddr, Value)],
) -> String {
    let mut lists: Map<String, Value> = Map::new();
    let mut others: Map<String, Value> = Map::new();
    for (key, value) in existing.and_then(Value::as_object).into_iter().flatten() {
        if ["permissions", "roles", "tenants", "flows", "theme"].contains(&key.as_str()) {
            lists.insert(key.clone(), value.clone());
        } else {
            others.insert(key.clone(), value.clone());
        }
    }
    for (addr, entry) in entries {
        let list = list_key(addr.kind());
        if list == "theme" {
            lists.insert(list.to_owned(), entry.clone());
            continue;
        }
        let items = lists
            .entry(list.to_owned())
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(items) = items {
            let key = entry_key(list, entry);
            items.retain(|e| entry_key(list, e) != key);
            items.push(entry.clone());
        }
    }
    let mut out = Map::new();
    for kind in ResourceKind::ALL {
        let list = list_key(kind);
        let Some(mut value) = lists.remove(list) else {
            continue;
        };
        if let Value::Array(items) = &mut value {
            items.sort_by_cached_key(|e| entry_key(list, e));
        }
        out.insert(list.to_owned(), value);
    }
    out.extend(others);
    emit::document(header, &Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_drop_volatile_metadata_and_escape_placeholders() {
        let raw = json!({"flow": {"id": "f", "version": 3, "etag": "e", "dsl": {"version": 1}},
            "screens": [{"id": "s", "modifiedTime": 5, "text": "Pay ${amount}"}]});
        assert_eq!(
            template_text(&raw),
            "{\n  \"flow\": {\n    \"dsl\": {\n      \"version\": 1\n    },\n    \"id\": \"f\"\n  },\n  \"screens\": [\n    {\n      \"id\": \"s\",\n      \"text\": \"Pay $${amount}\"\n    }\n  ]\n}\n"
        );
    }

    #[test]
    fn file_stems_stay_inside_the_folder() {
        assert_eq!(file_stem("sign-up-or-in"), "sign-up-or-in");
        assert_eq!(file_stem("../x y"), "_._x_y");
        assert_eq!(file_stem(""), "_");
    }

    #[test]
    fn the_generated_file_is_sorted_by_kind_then_key_and_merges_by_key() {
        let role = |tenant: Option<&str>, name: &str| {
            let addr = ResourceAddr::role(tenant, name);
            let attrs = json!({"name": name, "tenant": tenant, "description": "", "permissions": ["b", "a"]});
            let e = entry(&Imported {
                addr: &addr,
                attributes: &attrs,
                raw: Value::Null,
            })
            .unwrap();
            (addr, e)
        };
        let existing =
            json!({"roles": [{"name": "Zed"}, {"name": "Viewer", "description": "old"}]});
        let text = generated_file(
            &["header".into()],
            Some(&existing),
            &[
                role(Some("acme"), "Auditor"),
                role(None, "Viewer"),
                (
                    ResourceAddr::Flow("f".into()),
                    template_entry(&ResourceAddr::Flow("f".into()), "flows/f.json"),
                ),
                (
                    ResourceAddr::Theme,
                    template_entry(&ResourceAddr::Theme, "flows/theme.json"),
                ),
            ],
        );
        assert_eq!(
            text,
            "# header\nroles:\n  - name: Viewer\n    permissions: [b, a]\n  - name: Zed\n  - name: Auditor\n    tenant: acme\n    permissions: [b, a]\ntheme:\n  template: flows/theme.json\nflows:\n  - id: f\n    template: flows/f.json\n"
        );
    }
}
