//! Theme routes of the emulator, v1 (`descope-api.md` §5): export and import of the project's one
//! theme, an opaque JSON document wrapped as `{"theme": {...}}`.
//!
//! Import overwrites and bumps `version`. This module never persists or logs.

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::errors::{Body, EmuError, Reply};
use super::server::Emu;
use crate::api::wire::{Empty, ThemeImportRequest};

pub(crate) fn routes() -> Router<Emu> {
    Router::new()
        .route("/v1/mgmt/theme/export", post(export))
        .route("/v1/mgmt/theme/import", post(import))
}

async fn export(State(emu): State<Emu>, Body(_): Body<Empty>) -> Reply {
    emu.read(|store| Ok(Json(json!({"theme": store.theme}))))
}

async fn import(State(emu): State<Emu>, Body(req): Body<ThemeImportRequest>) -> Reply {
    let mut theme = req.theme.ok_or_else(|| EmuError::missing("theme"))?;
    emu.mutate(|store| {
        let version = store
            .theme
            .get("version")
            .and_then(Value::as_i64)
            .unwrap_or(0)
            + 1;
        theme.insert("version".to_owned(), json!(version));
        store.theme = theme;
        Ok(Json(json!({"theme": store.theme})))
    })
}
