//! Flow routes of the emulator, v1 (`descope-api.md` §5): list, export, import, delete.
//!
//! Flows are opaque JSON documents keyed by the caller's flow id. Import overwrites (forcing the
//! document's `id` to the flow id and bumping `version`); export and delete of a missing flow are
//! 404. List accepts no body, `{}` or `{"ids": [...]}`. This module never persists or logs.

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::errors::{Body, EmuError, Reply, required};
use super::server::Emu;
use super::store::StoredFlow;
use crate::api::wire::{
    FlowDeleteRequest, FlowExportRequest, FlowImportRequest, FlowListRequest, FlowListResponse,
    FlowSummary,
};

pub(crate) fn routes() -> Router<Emu> {
    Router::new()
        .route("/v1/mgmt/flow/list", post(list))
        .route("/v1/mgmt/flow/export", post(export))
        .route("/v1/mgmt/flow/import", post(import))
        .route("/v1/mgmt/flow/delete", post(delete))
}

fn missing(id: &str) -> EmuError {
    EmuError::not_found(format!("flow `{id}` not found"))
}

fn document(flow: &StoredFlow) -> Value {
    json!({"flow": flow.flow, "screens": flow.screens})
}

fn summary(id: &str, flow: &StoredFlow) -> FlowSummary {
    let text = |key: &str| {
        flow.flow
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    FlowSummary {
        id: id.to_owned(),
        name: text("name"),
        description: text("description"),
        disabled: flow
            .flow
            .get("disabled")
            .and_then(Value::as_bool)
            .unwrap_or_default(),
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
        let previous = store
            .flows
            .get(&id)
            .and_then(|f| f.flow.get("version"))
            .and_then(Value::as_i64);
        let version = previous.map_or(1, |v| v + 1);
        flow.insert("id".to_owned(), json!(id));
        flow.insert("version".to_owned(), json!(version));
        let stored = StoredFlow { flow, screens };
        let answer = document(&stored);
        store.flows.insert(id, stored);
        Ok(Json(answer))
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
