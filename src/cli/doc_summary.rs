//! The summary shown above a flow's or the theme's unified diff in a plan: what changed, by name,
//! so a change to a flow of hundreds of KB reads at a glance. Pure: documents in, lines out.
//!
//! For a flow (either generation): screens added, removed and changed (by screen id);
//! interactions added, removed and changed (`screen/interaction`); connectors added and removed
//! (string values under `connector` or `connectorId`); the flow's own fields that changed (v2:
//! `metadata.*` by name); and the roles and tenants the desired flow references (`Flow::refs`).
//! For the theme: the style paths that changed, three levels deep. Long lists name the first
//! [`NAMED`] and count the rest.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::model::document::screens;
use crate::model::text::printable;
use crate::model::{DocFormat, FlowRefs};

/// How many names a summary line lists before counting the rest.
const NAMED: usize = 10;
/// Keys whose string values name a connector.
const CONNECTOR_KEYS: [&str; 2] = ["connector", "connectorId"];

/// The summary lines of a document change (`before` `None`: created; `after` `None`: deleted).
/// Both documents are normalised.
pub(crate) fn summary(
    before: Option<&Value>,
    after: Option<&Value>,
    refs: Option<&FlowRefs>,
) -> Vec<String> {
    let mut out = Vec::new();
    let is_theme = after.or(before).is_some_and(|d| d.get("theme").is_some());
    match (before, after) {
        (Some(b), Some(a)) if is_theme => theme_lines(b, a, &mut out),
        (Some(b), Some(a)) => flow_lines(b, a, &mut out),
        (None, None) => {}
        (b, a) => {
            let doc = a.or(b).unwrap_or(&Value::Null);
            let count = screens(doc).0.map_or(0, Vec::len);
            if count > 0 {
                out.push(format!("screens: {count}"));
            } else {
                out.push("document".to_owned());
            }
        }
    }
    if let Some(refs) = refs {
        for (what, names) in [("roles", refs.role_names()), ("tenants", refs.tenant_ids())] {
            if !names.is_empty() {
                out.push(format!("references {what}: {}", named(names.into_iter())));
            }
        }
    }
    out
}

/// `` `a`, `b` `` and, past [`NAMED`], `and N more`.
fn named<'a>(items: impl ExactSizeIterator<Item = &'a str>) -> String {
    let total = items.len();
    let mut parts: Vec<String> = items
        .take(NAMED)
        .map(|s| format!("`{}`", printable(s)))
        .collect();
    if total > NAMED {
        parts.push(format!("and {} more", total - NAMED));
    }
    parts.join(", ")
}

/// `2 added (`a`, `b`), 1 removed (`c`)`: the parts that are not empty.
fn counted(added: &[&str], removed: &[&str], changed: &[&str]) -> Option<String> {
    let parts: Vec<String> = [("added", added), ("removed", removed), ("changed", changed)]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(what, v)| format!("{} {what} ({})", v.len(), named(v.iter().copied())))
        .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// Items keyed by their `key` field (by position when they have none).
fn keyed<'a>(items: Option<&'a Vec<Value>>, key: &str) -> BTreeMap<String, &'a Value> {
    items
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(i, item)| {
            let id = item
                .get(key)
                .and_then(Value::as_str)
                .map_or_else(|| format!("#{i}"), str::to_owned);
            (id, item)
        })
        .collect()
}

/// Added, removed and changed keys between two keyed maps.
fn compare<'a, V: PartialEq>(
    before: &'a BTreeMap<String, V>,
    after: &'a BTreeMap<String, V>,
) -> (Vec<&'a str>, Vec<&'a str>, Vec<&'a str>) {
    let added = after
        .keys()
        .filter(|k| !before.contains_key(*k))
        .map(String::as_str)
        .collect();
    let removed = before
        .keys()
        .filter(|k| !after.contains_key(*k))
        .map(String::as_str)
        .collect();
    let changed = after
        .iter()
        .filter(|(k, v)| before.get(*k).is_some_and(|old| old != *v))
        .map(|(k, _)| k.as_str())
        .collect();
    (added, removed, changed)
}

fn flow_lines(before: &Value, after: &Value, out: &mut Vec<String>) {
    let (b_screens, id_key) = screens(before);
    let (a_screens, _) = screens(after);
    let (b, a) = (keyed(b_screens, id_key), keyed(a_screens, id_key));
    let (added, removed, changed) = compare(&b, &a);
    if let Some(line) = counted(&added, &removed, &changed) {
        out.push(format!("screens: {line}"));
    }

    // Interactions of the screens on both sides, as `screen/interaction`.
    let interactions = |screens: &BTreeMap<String, &Value>| -> BTreeMap<String, Value> {
        let mut all = BTreeMap::new();
        for (screen, body) in screens {
            if !b.contains_key(screen) || !a.contains_key(screen) {
                continue;
            }
            let list = body.get("interactions").and_then(Value::as_array);
            for (id, item) in keyed(list, "id") {
                all.insert(format!("{screen}/{id}"), item.clone());
            }
        }
        all
    };
    let (bi, ai) = (interactions(&b), interactions(&a));
    let (added, removed, changed) = compare(&bi, &ai);
    if let Some(line) = counted(&added, &removed, &changed) {
        out.push(format!("interactions: {line}"));
    }

    let (bc, ac) = (connectors(before), connectors(after));
    let added: Vec<&str> = ac.difference(&bc).map(String::as_str).collect();
    let removed: Vec<&str> = bc.difference(&ac).map(String::as_str).collect();
    if let Some(line) = counted(&added, &removed, &[]) {
        out.push(format!("connectors: {line}"));
    }

    // The flow's own fields; v2 metadata by name, its screens already summarised.
    let (Some(bf), Some(af)) = (before.get("flow"), after.get("flow")) else {
        return;
    };
    let v2 = DocFormat::of_flow(after) == Some(DocFormat::V2);
    let mut fields = changed_keys(bf, af, "");
    if v2 {
        fields.retain(|k| k != "screens" && k != "metadata");
        if let (Some(bm), Some(am)) = (bf.get("metadata"), af.get("metadata")) {
            fields.extend(changed_keys(bm, am, "metadata."));
        }
    }
    if !fields.is_empty() {
        out.push(format!(
            "flow: {} changed",
            named(fields.iter().map(String::as_str))
        ));
    }
}

fn theme_lines(before: &Value, after: &Value, out: &mut Vec<String>) {
    let mut paths = Vec::new();
    changed_paths(
        &before["theme"],
        &after["theme"],
        String::new(),
        3,
        &mut paths,
    );
    if !paths.is_empty() {
        out.push(format!(
            "theme: {} changed",
            named(paths.iter().map(String::as_str))
        ));
    }
}

/// Keys of two objects whose values differ, each with `prefix`.
fn changed_keys(before: &Value, after: &Value, prefix: &str) -> Vec<String> {
    let keys: BTreeSet<&String> = before
        .as_object()
        .into_iter()
        .chain(after.as_object())
        .flat_map(|m| m.keys())
        .collect();
    keys.into_iter()
        .filter(|k| before.get(*k) != after.get(*k))
        .map(|k| format!("{prefix}{k}"))
        .collect()
}

/// Dotted paths (at most `depth` keys deep) where two values differ.
fn changed_paths(before: &Value, after: &Value, at: String, depth: usize, out: &mut Vec<String>) {
    if before == after {
        return;
    }
    match (before.as_object(), after.as_object()) {
        (Some(b), Some(a)) if depth > 0 => {
            let keys: BTreeSet<&String> = b.keys().chain(a.keys()).collect();
            for k in keys {
                let path = if at.is_empty() {
                    k.clone()
                } else {
                    format!("{at}.{k}")
                };
                let null = Value::Null;
                changed_paths(
                    b.get(k).unwrap_or(&null),
                    a.get(k).unwrap_or(&null),
                    path,
                    depth - 1,
                    out,
                );
            }
        }
        _ => out.push(at),
    }
}

/// Connector names anywhere in a document.
fn connectors(doc: &Value) -> BTreeSet<String> {
    fn walk(v: &Value, out: &mut BTreeSet<String>) {
        match v {
            Value::Object(map) => {
                for (k, v) in map {
                    match v {
                        Value::String(s) if CONNECTOR_KEYS.contains(&k.as_str()) => {
                            if !s.is_empty() {
                                out.insert(s.clone());
                            }
                        }
                        _ => walk(v, out),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            _ => {}
        }
    }
    let mut out = BTreeSet::new();
    walk(doc, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::NamedRef;
    use serde_json::json;

    #[test]
    fn a_v1_flow_change_is_named_screen_interaction_connector_and_field() {
        let before = json!({"flow": {"id": "f", "name": "F", "dsl": {"tasks": {"1": {"connectorId": "crm"}}}},
            "screens": [
                {"id": "s1", "interactions": [{"id": "go", "label": "Go"}, {"id": "back"}]},
                {"id": "s2", "interactions": []}]});
        let after = json!({"flow": {"id": "f", "name": "F2", "dsl": {"tasks": {"1": {"connectorId": "erp"}}}},
            "screens": [
                {"id": "s1", "interactions": [{"id": "go", "label": "Continue"}, {"id": "new"}]},
                {"id": "s3"}]});
        let refs = FlowRefs {
            roles: vec![NamedRef {
                name: "Admin".into(),
                json_path: "$.x".into(),
            }],
            tenants: vec![],
        };
        assert_eq!(
            summary(Some(&before), Some(&after), Some(&refs)),
            [
                "screens: 1 added (`s3`), 1 removed (`s2`), 1 changed (`s1`)",
                "interactions: 1 added (`s1/new`), 1 removed (`s1/back`), 1 changed (`s1/go`)",
                "connectors: 1 added (`erp`), 1 removed (`crm`)",
                "flow: `dsl`, `name` changed",
                "references roles: `Admin`",
            ]
        );
    }

    #[test]
    fn a_v2_flow_names_metadata_fields_and_screens_by_screen_id() {
        let before = json!({"flow": {"flowId": "f", "metadata": {"name": "A"}, "contents": {},
            "screens": [{"screenId": "s1", "contents": {"x": 1}}]}});
        let after = json!({"flow": {"flowId": "f", "metadata": {"name": "B"}, "contents": {},
            "screens": [{"screenId": "s1", "contents": {"x": 2}}]}});
        assert_eq!(
            summary(Some(&before), Some(&after), None),
            ["screens: 1 changed (`s1`)", "flow: `metadata.name` changed"]
        );
    }

    #[test]
    fn a_theme_names_the_style_paths_that_changed() {
        let before =
            json!({"theme": {"styles": {"light": {"button": {"c": 1}, "link": {"c": 1}}}}});
        let after = json!({"theme": {"styles": {"light": {"button": {"c": 2}, "link": {"c": 1}}}}});
        assert_eq!(
            summary(Some(&before), Some(&after), None),
            ["theme: `styles.light.button` changed"]
        );
    }

    #[test]
    fn long_lists_name_the_first_few_and_count_the_rest() {
        let names: Vec<String> = (0..13).map(|i| format!("s{i:02}")).collect();
        let line = named(names.iter().map(String::as_str));
        assert!(line.ends_with("`s09`, and 3 more"), "{line}");
    }
}
