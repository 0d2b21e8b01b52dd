//! Between Descope's two export generations, for the emulator: one stored flow per id (and one
//! theme) whichever route wrote it, exported through either generation.
//!
//! The emulator keeps each document exactly as written, with the generation it was written in,
//! so exporting it through the same generation is faithful. Through the other generation it is
//! converted, best effort:
//!
//! - flow v1 -> v2: `flowId` = `flow.id`; `metadata` = the flow's `name`, `description`,
//!   `disabled`, and `componentsVersion` of its first screen; `contents` = every other field of
//!   `flow` (the `dsl`...) except the volatile ones; each screen becomes `{screenId: id,
//!   interactions, contents: <its other fields>}`; `references` is `{}`.
//! - flow v2 -> v1: `flow` = `{id: flowId, name, description, disabled}` from `metadata`, plus
//!   the fields of `contents`; each screen becomes `{id: screenId, flowId, interactions, <the
//!   fields of its contents>}`. Other `metadata` and `references` have no v1 place and are not
//!   exported.
//! - theme v1 -> v2: `styles` = `cssTemplate`, `componentsVersion`, `references: {}`.
//! - theme v2 -> v1: `id: "theme"`, `cssTemplate` = `styles`, `componentsVersion`, `codeMode:
//!   false`.
//!
//! Pure functions; no HTTP, no store.

use serde_json::{Map, Value, json};

use crate::model::attrs::VOLATILE_FIELDS;

type Object = Map<String, Value>;

const FLOW_METADATA: [&str; 3] = ["name", "description", "disabled"];

/// A v1 flow (`flow`, `screens`) as the `flow` object of a v2 export.
pub(crate) fn flow_v1_to_v2(flow: &Object, screens: &[Object]) -> Value {
    let mut metadata = Object::new();
    for key in FLOW_METADATA {
        if let Some(v) = flow.get(key) {
            metadata.insert(key.to_owned(), v.clone());
        }
    }
    if let Some(cv) = screens.first().and_then(|s| s.get("componentsVersion")) {
        metadata.insert("componentsVersion".to_owned(), cv.clone());
    }
    let contents: Object = flow
        .iter()
        .filter(|(k, _)| {
            k.as_str() != "id"
                && !FLOW_METADATA.contains(&k.as_str())
                && !VOLATILE_FIELDS.contains(&k.as_str())
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let screens: Vec<Value> = screens
        .iter()
        .map(|s| {
            let rest: Object = s
                .iter()
                .filter(|(k, _)| {
                    !["id", "flowId", "interactions"].contains(&k.as_str())
                        && !VOLATILE_FIELDS.contains(&k.as_str())
                })
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            json!({
                "screenId": s.get("id").cloned().unwrap_or(Value::Null),
                "interactions": s.get("interactions").cloned().unwrap_or(json!([])),
                "contents": rest,
            })
        })
        .collect();
    json!({
        "flowId": flow.get("id").cloned().unwrap_or(Value::Null),
        "metadata": metadata,
        "contents": contents,
        "screens": screens,
        "references": {},
    })
}

/// The `flow` object of a v2 export as a v1 flow and its screens.
pub(crate) fn flow_v2_to_v1(v2: &Object) -> (Object, Vec<Object>) {
    let id = v2.get("flowId").cloned().unwrap_or(Value::Null);
    let mut flow = Object::new();
    flow.insert("id".to_owned(), id.clone());
    if let Some(meta) = v2.get("metadata").and_then(Value::as_object) {
        for key in FLOW_METADATA {
            if let Some(v) = meta.get(key) {
                flow.insert(key.to_owned(), v.clone());
            }
        }
    }
    if let Some(contents) = v2.get("contents").and_then(Value::as_object) {
        for (k, v) in contents {
            flow.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    let screens = v2
        .get("screens")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .map(|s| {
            let mut out = Object::new();
            out.insert(
                "id".to_owned(),
                s.get("screenId").cloned().unwrap_or(Value::Null),
            );
            out.insert("flowId".to_owned(), id.clone());
            if let Some(i) = s.get("interactions") {
                out.insert("interactions".to_owned(), i.clone());
            }
            if let Some(contents) = s.get("contents").and_then(Value::as_object) {
                for (k, v) in contents {
                    out.entry(k.clone()).or_insert_with(|| v.clone());
                }
            }
            out
        })
        .collect();
    (flow, screens)
}

/// A v1 theme object as a v2 one.
pub(crate) fn theme_v1_to_v2(theme: &Object) -> Value {
    json!({
        "styles": theme.get("cssTemplate").cloned().unwrap_or(json!({})),
        "componentsVersion": theme.get("componentsVersion").cloned().unwrap_or(json!("")),
        "references": {},
    })
}

/// A v2 theme object as a v1 one (`version` is the emulator's count of imports).
pub(crate) fn theme_v2_to_v1(theme: &Object, version: i64) -> Value {
    json!({
        "id": "theme",
        "version": version,
        "cssTemplate": theme.get("styles").cloned().unwrap_or(json!({})),
        "componentsVersion": theme.get("componentsVersion").cloned().unwrap_or(json!("")),
        "codeMode": false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: Value) -> Object {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn a_flow_survives_both_ways_in_substance() {
        let flow = obj(
            json!({"id": "f", "name": "F", "disabled": false, "version": 3, "dsl": {"tasks": {}}}),
        );
        let screens = vec![obj(
            json!({"id": "s1", "flowId": "f", "version": 2, "interactions": [{"id": "i"}], "htmlTemplate": {"a": 1}, "componentsVersion": "1.2"}),
        )];
        let v2 = flow_v1_to_v2(&flow, &screens);
        assert_eq!(
            v2,
            json!({"flowId": "f", "metadata": {"name": "F", "disabled": false, "componentsVersion": "1.2"},
                "contents": {"dsl": {"tasks": {}}}, "references": {},
                "screens": [{"screenId": "s1", "interactions": [{"id": "i"}], "contents": {"htmlTemplate": {"a": 1}, "componentsVersion": "1.2"}}]})
        );
        let (back, back_screens) = flow_v2_to_v1(v2.as_object().unwrap());
        assert_eq!(
            Value::Object(back),
            json!({"id": "f", "name": "F", "disabled": false, "dsl": {"tasks": {}}})
        );
        assert_eq!(
            Value::Object(back_screens[0].clone()),
            json!({"id": "s1", "flowId": "f", "interactions": [{"id": "i"}], "htmlTemplate": {"a": 1}, "componentsVersion": "1.2"})
        );
    }

    #[test]
    fn a_theme_maps_its_styles() {
        let v1 =
            obj(json!({"id": "theme", "cssTemplate": {"light": {}}, "componentsVersion": "2"}));
        let v2 = theme_v1_to_v2(&v1);
        assert_eq!(v2["styles"], json!({"light": {}}));
        assert_eq!(
            theme_v2_to_v1(v2.as_object().unwrap(), 4)["cssTemplate"],
            json!({"light": {}})
        );
    }
}
