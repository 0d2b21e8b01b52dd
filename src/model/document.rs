//! Flow and theme documents in Descope's two export generations, told apart by their shape.
//!
//! - **v1** (Python and Node SDKs; `/v1/mgmt/flow/*`, `/v1/mgmt/theme/*`): a flow is
//!   `{"flow": {id, name, dsl, ...}, "screens": [{id, interactions, htmlTemplate, ...}]}` and the
//!   theme `{"theme": {id, cssTemplate, componentsVersion, ...}}`.
//! - **v2** (Go SDK and descopecli; `/v2/mgmt/flow/*`, `/v2/mgmt/theme/*`): a flow is one
//!   document `{"flow": {flowId, metadata, contents, screens: [{screenId, interactions,
//!   contents}], references}}` and the theme `{"theme": {styles, componentsVersion, references}}`.
//!
//! The rule ([`DocFormat::of_flow`], [`DocFormat::of_theme`]): a flow document with a top-level
//! `screens` list is v1; one without it whose `flow` object holds `flowId`, `metadata` or
//! `contents` is v2. A theme document whose `theme` object holds `styles` is v2; any other
//! `{"theme": {...}}` is v1. A document is always read and written through the routes of its own
//! generation, so live and desired are compared like with like.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::ResourceKind;

/// Which generation of Descope's export format a flow or theme document is in.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub(crate) enum DocFormat {
    #[default]
    V1,
    V2,
}

impl DocFormat {
    /// The generation of a flow document, `None` if it is neither shape.
    pub(crate) fn of_flow(doc: &Value) -> Option<DocFormat> {
        let top = doc.as_object()?;
        let flow = top.get("flow")?.as_object()?;
        if top.get("screens").is_some_and(Value::is_array) {
            return Some(DocFormat::V1);
        }
        let v2_keys = ["flowId", "metadata", "contents"];
        (!top.contains_key("screens") && v2_keys.iter().any(|k| flow.contains_key(*k)))
            .then_some(DocFormat::V2)
    }

    /// The generation of a theme document, `None` if it is not `{"theme": {...}}`.
    fn of_theme(doc: &Value) -> Option<DocFormat> {
        let theme = doc.as_object()?.get("theme")?.as_object()?;
        Some(if theme.contains_key("styles") {
            DocFormat::V2
        } else {
            DocFormat::V1
        })
    }

    /// The generation of a `kind` document (v1 when it is neither shape, or not a document).
    pub(crate) fn of(kind: ResourceKind, doc: &Value) -> DocFormat {
        match kind {
            ResourceKind::Flow => Self::of_flow(doc),
            ResourceKind::Theme => Self::of_theme(doc),
            _ => None,
        }
        .unwrap_or_default()
    }
}

/// The screens of a flow document and the key naming each: `screens` / `id` in v1,
/// `flow.screens` / `screenId` in v2.
pub(crate) fn screens(doc: &Value) -> (Option<&Vec<Value>>, &'static str) {
    match DocFormat::of_flow(doc) {
        Some(DocFormat::V2) => (
            doc.get("flow")
                .and_then(|f| f.get("screens"))
                .and_then(Value::as_array),
            "screenId",
        ),
        _ => (doc.get("screens").and_then(Value::as_array), "id"),
    }
}

/// Mutable access to the screens list of a flow document (see [`screens`]).
pub(crate) fn screens_mut(doc: &mut Value) -> (Option<&mut Vec<Value>>, &'static str) {
    match DocFormat::of_flow(doc) {
        Some(DocFormat::V2) => (
            doc.get_mut("flow")
                .and_then(|f| f.get_mut("screens"))
                .and_then(Value::as_array_mut),
            "screenId",
        ),
        _ => (doc.get_mut("screens").and_then(Value::as_array_mut), "id"),
    }
}

/// Writes the config's flow id into a flow document, as a Descope import does: `flow.id` in v1,
/// `flow.flowId` in v2.
pub(crate) fn set_flow_id(doc: &mut Value, id: &str) {
    let key = match DocFormat::of_flow(doc) {
        Some(DocFormat::V2) => "flowId",
        _ => "id",
    };
    if let Some(flow) = doc.get_mut("flow").and_then(Value::as_object_mut) {
        flow.insert(key.into(), Value::String(id.to_owned()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_format_follows_the_shape() {
        let v1 = json!({"flow": {"id": "f", "dsl": {}}, "screens": []});
        let v2 = json!({"flow": {"flowId": "f", "metadata": {"name": "F"}, "contents": {}, "screens": []}});
        assert_eq!(DocFormat::of_flow(&v1), Some(DocFormat::V1));
        assert_eq!(DocFormat::of_flow(&v2), Some(DocFormat::V2));
        assert_eq!(DocFormat::of_flow(&json!({"flow": {"id": "f"}})), None);
        assert_eq!(DocFormat::of_flow(&json!([])), None);
        assert_eq!(
            DocFormat::of_theme(&json!({"theme": {"cssTemplate": {}}})),
            Some(DocFormat::V1)
        );
        assert_eq!(
            DocFormat::of_theme(&json!({"theme": {"styles": {}}})),
            Some(DocFormat::V2)
        );
        assert_eq!(DocFormat::of_theme(&json!({"flow": {}})), None);
    }

    #[test]
    fn the_flow_id_goes_where_the_format_keeps_it() {
        let mut v1 = json!({"flow": {"id": "old"}, "screens": []});
        set_flow_id(&mut v1, "new");
        assert_eq!(v1["flow"]["id"], "new");
        let mut v2 = json!({"flow": {"flowId": "old", "metadata": {}}});
        set_flow_id(&mut v2, "new");
        assert_eq!(v2["flow"]["flowId"], "new");
        assert!(v2["flow"].get("id").is_none());
    }
}
