//! Flows and the theme on the wire, v1 and v2 (`docs/descope-api.md` §5).
//!
//! Data only. Flow and theme documents stay `serde_json::Value`: dmgmt manages them as whole
//! documents and never interprets their contents.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::nullable;

/// An item of `flow/list`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FlowSummary {
    #[serde(default, deserialize_with = "nullable")]
    pub id: String,
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) description: String,
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) disabled: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub(crate) struct FlowListResponse {
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) flows: Vec<FlowSummary>,
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) total: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FlowListRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) ids: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FlowDeleteRequest {
    #[serde(default)]
    pub(crate) ids: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct FlowExportRequest {
    #[serde(default)]
    pub(crate) flow_id: Option<String>,
}

/// A v1 flow document: the answer of export and import. Kept as JSON: dmgmt manages flows as
/// whole documents and never interprets their contents.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct FlowDocument {
    #[serde(default, deserialize_with = "nullable")]
    pub flow: Value,
    #[serde(default, deserialize_with = "nullable")]
    pub screens: Vec<Value>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct FlowImportRequest {
    #[serde(default)]
    pub(crate) flow_id: Option<String>,
    #[serde(default)]
    pub(crate) flow: Option<Map<String, Value>>,
    #[serde(default)]
    pub(crate) screens: Option<Vec<Map<String, Value>>>,
}

/// A v2 flow document: `{"flow": {flowId, metadata, contents, screens, references}}`, the answer
/// of `/v2/mgmt/flow/export`. Kept as JSON, like v1.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct FlowDocumentV2 {
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) flow: Value,
}

/// Body of `/v2/mgmt/flow/import`: `{"flow": {<v2 flow>, "flowId": <id>}}`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FlowImportV2Request {
    #[serde(default)]
    pub(crate) flow: Option<Map<String, Value>>,
}

/// `{"theme": {...}}`: the body of theme import (v1 and v2) and the answer of export and import.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ThemeDocument {
    #[serde(default, deserialize_with = "nullable")]
    pub theme: Value,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ThemeImportRequest {
    #[serde(default)]
    pub(crate) theme: Option<Map<String, Value>>,
}

/// Body of `theme/export`: `{}`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Empty {}
