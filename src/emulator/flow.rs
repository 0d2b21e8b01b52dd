//! Flow routes of the emulator (`docs/descope-api.md` §5): list, export, import and delete (v1),
//! and export and import (v2).
//!
//! Flows are opaque JSON documents keyed by the caller's flow id, one per id whichever route wrote
//! it: each is kept as written, in its generation, and exported through either (converted by
//! `super::convert` when the generations differ). v1 import overwrites (forcing `flow.id` and
//! bumping `flow.version`) and answers the stored document; v2 import overwrites (forcing
//! `flowId`, setting `metadata.fingerprint` anew) and answers `{}`. Either names a flow that has
//! no name after its id. Export and delete of a missing
//! flow are 404. List accepts no body, `{}` or `{"ids": [...]}`. This module never persists or
//! logs.

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Map, Value, json};

use super::convert;
use super::errors::{Body, EmuError, Reply, required};
use super::server::Emu;
use super::store::StoredFlow;
use crate::api::wire::{
    FlowDeleteRequest, FlowExportRequest, FlowImportRequest, FlowImportV2Request, FlowListRequest,
    FlowListResponse, FlowSummary,
};
use crate::model::DocFormat;

pub(crate) fn routes() -> Router<Emu> {
    Router::new()
        .route("/v1/mgmt/flow/list", post(list))
        .route("/v1/mgmt/flow/export", post(export))
        .route("/v1/mgmt/flow/import", post(import))
        .route("/v1/mgmt/flow/delete", post(delete))
        .route("/v2/mgmt/flow/export", post(export_v2))
        .route("/v2/mgmt/flow/import", post(import_v2))
}

fn missing(id: &str) -> EmuError {
    EmuError::not_found(format!("flow `{id}` not found"))
}

/// The v1 export of a stored flow.
fn document(flow: &StoredFlow) -> Value {
    match flow.format {
        DocFormat::V1 => json!({"flow": flow.flow, "screens": flow.screens}),
        DocFormat::V2 => {
            let (v1, screens) = convert::flow_v2_to_v1(&flow.flow);
            json!({"flow": v1, "screens": screens})
        }
    }
}

/// The v2 export of a stored flow.
fn document_v2(flow: &StoredFlow) -> Value {
    match flow.format {
        DocFormat::V2 => json!({"flow": flow.flow}),
        DocFormat::V1 => json!({"flow": convert::flow_v1_to_v2(&flow.flow, &flow.screens)}),
    }
}

fn summary(id: &str, flow: &StoredFlow) -> FlowSummary {
    // Name, description and disabled live in `metadata` in v2.
    let holder = match flow.format {
        DocFormat::V1 => Some(&flow.flow),
        DocFormat::V2 => flow.flow.get("metadata").and_then(Value::as_object),
    };
    let field = |key: &str| holder.and_then(|h| h.get(key));
    let text = |key: &str| {
        field(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    FlowSummary {
        id: id.to_owned(),
        name: text("name"),
        description: text("description"),
        disabled: field("disabled")
            .and_then(Value::as_bool)
            .unwrap_or_default(),
    }
}

/// A flow imported without a name is named after its id, as Descope names it: an export then
/// holds a `name` its template does not.
fn fill_in_name(metadata: &mut Map<String, Value>, id: &str) {
    if metadata.get("name").is_none_or(Value::is_null) {
        metadata.insert("name".to_owned(), json!(id));
    }
}

/// How many times flow `id` was imported before (either route).
fn previous_version(flow: Option<&StoredFlow>) -> Option<i64> {
    let flow = flow?;
    match flow.format {
        DocFormat::V1 => flow.flow.get("version").and_then(Value::as_i64),
        DocFormat::V2 => flow
            .flow
            .get("metadata")
            .and_then(|m| m.get("fingerprint"))
            .and_then(Value::as_str)
            .and_then(|f| f.strip_prefix("fp"))
            .and_then(|n| i64::from_str_radix(n, 16).ok()),
    }
}

async fn list(State(emu): State<Emu>, Body(req): Body<FlowListRequest>) -> Reply {
    emu.read(|store| {
        let wanted = |id: &String| {
            req.ids
                .as_ref()
                .is_none_or(|ids| ids.is_empty() || ids.contains(id))
        };
        let flows: Vec<FlowSummary> = store
            .flows
            .iter()
            .filter(|(id, _)| wanted(id))
            .map(|(id, f)| summary(id, f))
            .collect();
        let total = flows.len() as u64;
        Ok(Json(json!(FlowListResponse { flows, total })))
    })
}

async fn export(State(emu): State<Emu>, Body(req): Body<FlowExportRequest>) -> Reply {
    let id = required(&req.flow_id, "flowId")?.to_owned();
    emu.read(|store| {
        store
            .flows
            .get(&id)
            .map(|f| Json(document(f)))
            .ok_or_else(|| missing(&id))
    })
}

async fn import(State(emu): State<Emu>, Body(req): Body<FlowImportRequest>) -> Reply {
    let id = required(&req.flow_id, "flowId")?.to_owned();
    let mut flow = req.flow.ok_or_else(|| EmuError::missing("flow"))?;
    let screens = req.screens.unwrap_or_default();
    emu.mutate(|store| {
        let version = previous_version(store.flows.get(&id)).map_or(1, |v| v + 1);
        flow.insert("id".to_owned(), json!(id));
        flow.insert("version".to_owned(), json!(version));
        fill_in_name(&mut flow, &id);
        let stored = StoredFlow {
            format: DocFormat::V1,
            flow,
            screens,
        };
        let answer = document(&stored);
        store.flows.insert(id, stored);
        Ok(Json(answer))
    })
}

async fn export_v2(State(emu): State<Emu>, Body(req): Body<FlowExportRequest>) -> Reply {
    let id = required(&req.flow_id, "flowId")?.to_owned();
    emu.read(|store| {
        store
            .flows
            .get(&id)
            .map(|f| Json(document_v2(f)))
            .ok_or_else(|| missing(&id))
    })
}

/// Checks the shape of a v2 flow as Descope's typed handler would: `flowId` a non-empty string,
/// `metadata`, `contents` and `references` objects, `screens` a list of objects.
fn check_v2(flow: &Map<String, Value>) -> Result<String, EmuError> {
    let id = match flow.get("flowId") {
        Some(Value::String(id)) if !id.is_empty() => id.clone(),
        None | Some(Value::Null) | Some(Value::String(_)) => {
            return Err(EmuError::missing("flow.flowId"));
        }
        Some(_) => return Err(EmuError::validation("`flow.flowId` must be a string")),
    };
    for key in ["metadata", "contents", "references"] {
        if flow
            .get(key)
            .is_some_and(|v| !v.is_object() && !v.is_null())
        {
            return Err(EmuError::validation(format!(
                "`flow.{key}` must be an object"
            )));
        }
    }
    match flow.get("screens") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) if items.iter().all(Value::is_object) => {}
        Some(_) => {
            return Err(EmuError::validation(
                "`flow.screens` must be a list of objects",
            ));
        }
    }
    Ok(id)
}

async fn import_v2(State(emu): State<Emu>, Body(req): Body<FlowImportV2Request>) -> Reply {
    let mut flow = req.flow.ok_or_else(|| EmuError::missing("flow"))?;
    let id = check_v2(&flow)?;
    emu.mutate(|store| {
        let version = previous_version(store.flows.get(&id)).map_or(1, |v| v + 1);
        let mut metadata = flow
            .get("metadata")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        metadata.insert("fingerprint".to_owned(), json!(format!("fp{version:x}")));
        fill_in_name(&mut metadata, &id);
        flow.insert("metadata".to_owned(), Value::Object(metadata));
        let stored = StoredFlow {
            format: DocFormat::V2,
            flow,
            screens: Vec::new(),
        };
        store.flows.insert(id, stored);
        Ok(Json(json!({})))
    })
}

async fn delete(State(emu): State<Emu>, Body(req): Body<FlowDeleteRequest>) -> Reply {
    let ids = req
        .ids
        .filter(|i| !i.is_empty())
        .ok_or_else(|| EmuError::missing("ids"))?;
    emu.mutate(|store| {
        if let Some(id) = ids.iter().find(|id| !store.flows.contains_key(*id)) {
            return Err(missing(id));
        }
        for id in &ids {
            store.flows.shift_remove(id);
        }
        Ok(Json(json!({})))
    })
}
