//! Attributes: the one shape in which desired, live and last-known objects are compared.
//!
//! An object's attributes are a JSON object keyed by config field names (`self_provisioning_domains`,
//! not `selfProvisioningDomains`). Desired attributes hold only the fields the config writes — the
//! managed fields (docs/reference.md, `plan`). Order-free lists (a role's permissions, domains,
//! default roles) are sorted, and flow and theme documents are normalised, so that equal means
//! equal.
//!
//! The live side (`ops::live`) builds its attributes with the same normalisers, so the rules hold on
//! both sides: object keys sorted (custom attributes included), numbers that are equal written
//! alike (`500.0` is `500`), domains lowercased, and only a document's own metadata dropped (see
//! [`normalize_document`]).

use serde_json::{Map, Number, Value, json};

use super::{DesiredState, Flow, Permission, ResourceAddr, ResourceKind, Role, Tenant, Theme};

/// Metadata of a flow, of each of its screens and of the theme that changes on every save and
/// means nothing to a plan. Dropped only there: a component's own `version` deep inside a screen is
/// content, and a change to it is a change.
pub(crate) const VOLATILE_FIELDS: [&str; 5] = [
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

/// Fields of a tenant that Descope's update replaces, in Descope's names: every field of its
/// request except `parent` (set at create only) and `authType` (Descope's, from the SSO
/// configuration). `defaultRoles` is set by a call of its own.
pub(crate) const TENANT_UPDATE_FIELDS: [&str; 9] = [
    "id",
    "name",
    "selfProvisioningDomains",
    "customAttributes",
    "enforceSSO",
    "enforceSSOExclusions",
    "federatedAppIds",
    "disabled",
    "roleInheritance",
];
/// Fields of a role that a create or a (replacing) update sets, besides its name.
pub(crate) const ROLE_WRITE_FIELDS: [&str; 5] = [
    "description",
    "permissionNames",
    "tenantId",
    "default",
    "private",
];
/// Fields of a permission that a create or an update sets, besides its name.
pub(crate) const PERMISSION_WRITE_FIELDS: [&str; 1] = ["description"];

/// The name Descope's body gives the config field `field` of a `kind` object (`None`: not a field
/// of Descope's object, e.g. a flow's `document`, which is the whole body).
pub(crate) fn wire_field(kind: ResourceKind, field: &str) -> Option<&'static str> {
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

/// Descope's empty value: what it reports for a field it has no value for (`null`, `""`, `[]`,
/// `{}`, `false`). A missing field and an empty one are the same to Descope.
pub(crate) fn is_empty_value(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        Value::Bool(b) => !b,
        Value::Number(_) => false,
    }
}

/// Desired attributes of every declared resource.
pub(crate) fn desired(state: &DesiredState) -> Vec<(ResourceAddr, Value)> {
    let mut out = Vec::new();
    out.extend(state.permissions.iter().map(|p| (p.addr(), permission(p))));
    out.extend(state.roles.iter().map(|r| (r.addr(), role(r))));
    out.extend(state.tenants.iter().map(|t| (t.addr(), tenant(t))));
    out.extend(state.theme.iter().map(|t| (ResourceAddr::Theme, theme(t))));
    out.extend(state.flows.iter().map(|f| (f.addr(), flow(f))));
    out
}

fn insert_opt<T: Into<Value>>(map: &mut Map<String, Value>, key: &str, value: Option<T>) {
    if let Some(v) = value {
        map.insert(key.to_owned(), v.into());
    }
}

pub(crate) fn permission(p: &Permission) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), json!(p.name));
    insert_opt(&mut m, "description", p.description.clone());
    Value::Object(m)
}

pub(crate) fn role(r: &Role) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), json!(r.name));
    insert_opt(&mut m, "tenant", r.tenant.clone());
    insert_opt(&mut m, "description", r.description.clone());
    insert_opt(&mut m, "permissions", r.permissions.as_deref().map(sorted));
    Value::Object(m)
}

pub(crate) fn tenant(t: &Tenant) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(t.id));
    m.insert("name".into(), json!(t.name));
    insert_opt(
        &mut m,
        "self_provisioning_domains",
        t.self_provisioning_domains.as_deref().map(domains),
    );
    insert_opt(
        &mut m,
        "custom_attributes",
        t.custom_attributes.as_ref().map(attribute_map),
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
pub(crate) fn flow(f: &Flow) -> Value {
    json!({ "document": f.document })
}

/// The config loader has already normalised the document.
pub(crate) fn theme(t: &Theme) -> Value {
    json!({ "document": t.document })
}

/// Sorts the keys of every object in `value`, in place. Descope gives key order no meaning, so raw
/// bodies are kept key-sorted: the same object is then the same bytes in a plan, whatever order
/// Descope (or a console edit) happened to list its keys in.
pub(crate) fn sort_keys(value: &mut Value) {
    match value {
        Value::Object(map) => {
            // Sorting rebuilds the map's index even when the keys are in order already.
            if !map.keys().is_sorted() {
                map.sort_keys();
            }
            map.values_mut().for_each(sort_keys);
        }
        Value::Array(items) => items.iter_mut().for_each(sort_keys),
        _ => {}
    }
}

/// A sorted, de-duplicated JSON list of strings.
pub(crate) fn sorted(items: &[String]) -> Value {
    let mut items: Vec<&String> = items.iter().collect();
    items.sort();
    items.dedup();
    json!(items)
}

/// Email domains as Descope compares them: case-insensitively. Lowercased, sorted, de-duplicated.
pub(crate) fn domains(items: &[String]) -> Value {
    let lower: Vec<String> = items.iter().map(|d| d.to_lowercase()).collect();
    sorted(&lower)
}

/// Custom attributes with their keys sorted and their values normalised (see [`canonical`]), so
/// neither the order they are written in nor the order Descope keeps them in shows in a plan.
pub(crate) fn attribute_map<'a>(
    entries: impl IntoIterator<Item = (&'a String, &'a Value)>,
) -> Value {
    let mut entries: Vec<(&String, &Value)> = entries.into_iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    Value::Object(
        entries
            .into_iter()
            .map(|(k, v)| (k.clone(), canonical(v)))
            .collect(),
    )
}

/// A flow or theme export, in either generation (see [`super::document`]), as it is compared, so
/// that two exports of the same content are equal and a diff that an apply cannot settle never
/// shows:
///
/// - [`VOLATILE_FIELDS`] are dropped from a document's own metadata and nowhere else: the top
///   level of the `flow` object, of its v2 `metadata`, of each screen, and of the `theme` object;
/// - each v1 screen names its flow: `flowId` is set to the flow's `id` (Descope stores it on every
///   screen; a template need not write it);
/// - screens are sorted by their id (`id` in v1, `screenId` in v2: Descope does not keep their
///   order);
/// - the theme's `id` is dropped (a project has one theme; Descope's v1 export calls it `"theme"`,
///   and a template need not write it);
/// - then [`canonical`]: keys sorted at every depth, equal numbers written alike. Every other list
///   keeps its order.
pub fn normalize_document(doc: &Value) -> Value {
    let mut doc = doc.clone();
    let mut flow_id = None;
    if let Some(top) = doc.as_object_mut() {
        if let Some(flow) = top.get_mut("flow").and_then(Value::as_object_mut) {
            drop_volatile(flow);
            if let Some(meta) = flow.get_mut("metadata").and_then(Value::as_object_mut) {
                drop_volatile(meta);
            }
            flow_id = flow.get("id").filter(|id| id.is_string()).cloned();
        }
        if let Some(theme) = top.get_mut("theme").and_then(Value::as_object_mut) {
            drop_volatile(theme);
            theme.remove("id");
        }
    }
    let (screens, id_key) = super::document::screens_mut(&mut doc);
    if let Some(screens) = screens {
        for screen in screens.iter_mut().filter_map(Value::as_object_mut) {
            drop_volatile(screen);
            // v1 only: a v2 screen lives inside its flow and names it nowhere.
            if let (Some(id), "id") = (&flow_id, id_key) {
                screen.insert("flowId".into(), id.clone());
            }
        }
        // Stable: screens without an id keep their order among themselves.
        screens.sort_by(|a, b| screen_id(a, id_key).cmp(&screen_id(b, id_key)));
    }
    canonical(&doc)
}

/// Fields of a flow's own metadata (the v1 `flow` object, the v2 `metadata`) that Descope fills in
/// on import when the document leaves them out: a flow imported without a `name` is exported
/// with one.
const FILLED_IN_ON_IMPORT: [&str; 1] = ["name"];

/// Whether two normalised documents (see [`normalize_document`]) hold the same content, a field of
/// [`FILLED_IN_ON_IMPORT`] that only one of them holds aside: a template that does not write a
/// flow's name does not manage it, so the name Descope gave the flow on import is no difference
/// (and re-importing would not remove it). Equal documents are not copied.
pub(crate) fn same_document(a: &Value, b: &Value) -> bool {
    if a == b {
        return true;
    }
    let (Some(meta_a), Some(meta_b)) = (flow_metadata(a), flow_metadata(b)) else {
        return false;
    };
    let one_sided: Vec<&str> = FILLED_IN_ON_IMPORT
        .into_iter()
        .filter(|f| meta_a.contains_key(*f) != meta_b.contains_key(*f))
        .collect();
    if one_sided.is_empty() {
        return false;
    }
    let without = |doc: &Value| {
        let mut doc = doc.clone();
        if let Some(meta) = flow_metadata_mut(&mut doc) {
            meta.retain(|k, _| !one_sided.contains(&k.as_str()));
        }
        doc
    };
    without(a) == without(b)
}

/// A flow document's own metadata: `flow.metadata` in v2, the `flow` object otherwise.
fn flow_metadata(doc: &Value) -> Option<&Map<String, Value>> {
    let flow = doc.get("flow")?;
    match super::DocFormat::of_flow(doc) {
        Some(super::DocFormat::V2) => flow.get("metadata")?.as_object(),
        _ => flow.as_object(),
    }
}

fn flow_metadata_mut(doc: &mut Value) -> Option<&mut Map<String, Value>> {
    let v2 = super::DocFormat::of_flow(doc) == Some(super::DocFormat::V2);
    let flow = doc.get_mut("flow")?;
    match v2 {
        true => flow.get_mut("metadata")?.as_object_mut(),
        false => flow.as_object_mut(),
    }
}

fn drop_volatile(object: &mut Map<String, Value>) {
    object.retain(|k, _| !VOLATILE_FIELDS.contains(&k.as_str()));
}

fn screen_id<'a>(screen: &'a Value, key: &str) -> Option<&'a str> {
    screen.get(key).and_then(Value::as_str)
}

/// `value` with object keys sorted at every depth and every number that equals an integer
/// written as that integer (`500.0` -> `500`), so equal values are equal as JSON and print alike.
pub(crate) fn canonical(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), canonical(&map[k])))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
        Value::Number(n) => Value::Number(integral(n).unwrap_or_else(|| n.clone())),
        other => other.clone(),
    }
}

/// The integer a floating-point number equals, if it is one that `f64` holds exactly.
fn integral(n: &Number) -> Option<Number> {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    let f = n.as_f64().filter(|_| n.is_f64())?;
    // `as` is exact here: the value is a whole number well inside i64.
    (f.fract() == 0.0 && f.abs() <= EXACT).then(|| Number::from(f as i64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_documents_normalise_their_own_metadata_and_screen_order() {
        let a = json!({"flow": {"flowId": "f", "etag": "1", "metadata": {"name": "F", "fingerprint": "abc"},
            "contents": {"version": 3}, "screens": [{"screenId": "b", "version": 1}, {"screenId": "a"}]}});
        let b = json!({"flow": {"flowId": "f", "metadata": {"name": "F", "fingerprint": "def"},
            "contents": {"version": 3}, "screens": [{"screenId": "a"}, {"screenId": "b", "version": 9}]}});
        assert_eq!(normalize_document(&a), normalize_document(&b));
        assert_eq!(
            serde_json::to_string(&normalize_document(&a)).unwrap(),
            r#"{"flow":{"contents":{"version":3},"flowId":"f","metadata":{"name":"F"},"screens":[{"screenId":"a"},{"screenId":"b"}]}}"#
        );
        let theme = json!({"theme": {"styles": {"light": {"version": 1}}, "version": 4, "componentsVersion": "1.2"}});
        assert_eq!(
            normalize_document(&theme),
            json!({"theme": {"componentsVersion": "1.2", "styles": {"light": {"version": 1}}}})
        );
    }

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

    #[test]
    fn volatile_fields_are_dropped_only_from_the_documents_own_metadata() {
        let doc = json!({
            "flow": {"id": "f", "version": 3, "dsl": {"version": 1, "etag": "kept"}},
            "screens": [{"id": "s", "version": 2, "components": [{"id": "b", "version": 4}]}],
        });
        assert_eq!(
            normalize_document(&doc),
            json!({
                "flow": {"dsl": {"etag": "kept", "version": 1}, "id": "f"},
                "screens": [{"components": [{"id": "b", "version": 4}], "flowId": "f", "id": "s"}],
            })
        );
        let theme = json!({"theme": {"id": "theme", "version": 7, "css": {"version": 1}}});
        assert_eq!(
            normalize_document(&theme),
            json!({"theme": {"css": {"version": 1}}})
        );
    }

    #[test]
    fn what_descope_fills_in_or_reorders_normalises_away() {
        // Live: screens in another order, each naming its flow, numbers written as floats.
        let live = json!({"flow": {"id": "f", "n": 2.0}, "screens": [
            {"id": "s2", "flowId": "f"}, {"id": "s1", "flowId": "f", "w": 1.5}]});
        let template =
            json!({"flow": {"id": "f", "n": 2}, "screens": [{"id": "s1", "w": 1.5}, {"id": "s2"}]});
        assert_eq!(normalize_document(&live), normalize_document(&template));
        assert_eq!(
            serde_json::to_string(&normalize_document(&template)).unwrap(),
            r#"{"flow":{"id":"f","n":2},"screens":[{"flowId":"f","id":"s1","w":1.5},{"flowId":"f","id":"s2"}]}"#
        );
        assert_eq!(
            normalize_document(&json!({"theme": {"a": 1}})),
            normalize_document(&json!({"theme": {"id": "theme", "a": 1.0}}))
        );
    }

    #[test]
    fn a_name_descope_filled_in_is_no_difference() {
        let named = json!({"flow": {"id": "f", "name": "f", "dsl": {}}, "screens": []});
        let unnamed = json!({"flow": {"id": "f", "dsl": {}}, "screens": []});
        assert!(same_document(&unnamed, &named));
        assert!(same_document(&named, &unnamed));
        // A name both sides hold is compared; so is everything else.
        let renamed = json!({"flow": {"id": "f", "name": "g", "dsl": {}}, "screens": []});
        assert!(!same_document(&renamed, &named));
        let other = json!({"flow": {"id": "f", "name": "f", "dsl": {"a": 1}}, "screens": []});
        assert!(!same_document(&unnamed, &other));
        // v2: the name lives in `metadata`.
        let v2 = |meta: Value| json!({"flow": {"flowId": "f", "metadata": meta, "contents": {}}});
        assert!(same_document(&v2(json!({})), &v2(json!({"name": "f"}))));
        assert!(!same_document(
            &v2(json!({"name": "x"})),
            &v2(json!({"name": "f"}))
        ));
        assert!(!same_document(
            &v2(json!({})),
            &v2(json!({"name": "f", "description": "d"}))
        ));
    }

    #[test]
    fn custom_attributes_sort_their_keys_and_equal_numbers_compare_equal() {
        let written: indexmap::IndexMap<String, Value> = [
            ("seats".to_owned(), json!(500.0)),
            ("plan".to_owned(), json!("pro")),
            ("ratio".to_owned(), json!(0.5)),
            ("huge".to_owned(), json!(1e300)),
        ]
        .into_iter()
        .collect();
        let attrs = attribute_map(&written);
        assert_eq!(
            serde_json::to_string(&attrs).unwrap(),
            r#"{"huge":1e+300,"plan":"pro","ratio":0.5,"seats":500}"#
        );
        let live: Map<String, Value> =
            serde_json::from_str(r#"{"ratio": 0.5, "seats": 500, "plan": "pro", "huge": 1e300}"#)
                .unwrap();
        assert_eq!(
            serde_json::to_string(&attribute_map(&live)).unwrap(),
            serde_json::to_string(&attrs).unwrap()
        );
    }

    #[test]
    fn domains_compare_case_insensitively() {
        assert_eq!(
            domains(&["Acme.COM".into(), "acme.io".into(), "ACME.com".into()]),
            json!(["acme.com", "acme.io"])
        );
    }
}
