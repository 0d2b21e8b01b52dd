//! Theme routes of the emulator, v1 and v2 (`docs/descope-api.md` §5): export and import of the
//! project's one theme, an opaque JSON document wrapped as `{"theme": {...}}`.
//!
//! The theme is kept as the last import wrote it, with its generation, and exported through
//! either (converted by `super::convert` when they differ). v1 import overwrites, bumps `version`
//! and answers the theme; v2 import overwrites and answers `{}`; v2 export takes no body. This
//! module never persists or logs.

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::convert;
use super::errors::{Body, EmuError, Reply};
use super::server::Emu;
use super::store::Store;
use super::variant::NewTheme;
use crate::api::wire::{Empty, ThemeImportRequest};
use crate::model::DocFormat;

pub(crate) fn routes() -> Router<Emu> {
    Router::new()
        .route("/v1/mgmt/theme/export", post(export))
        .route("/v1/mgmt/theme/import", post(import))
        .route("/v2/mgmt/theme/export", post(export_v2))
        .route("/v2/mgmt/theme/import", post(import_v2))
}

fn v1(store: &Store) -> Value {
    match store.theme_format {
        DocFormat::V1 => Value::Object(store.theme.clone()),
        DocFormat::V2 => convert::theme_v2_to_v1(&store.theme, store.theme_version),
    }
}

/// The export of a new project's theme (none imported yet) when the variant answers it otherwise
/// than with the default theme (see [`super::variant::NewTheme`]).
fn new_theme(emu: &Emu, store: &Store) -> Option<Value> {
    if store.theme_version > 1 {
        return None;
    }
    match emu.variant.new_theme {
        NewTheme::Default => None,
        NewTheme::Absent => Some(json!({})),
        NewTheme::Empty => Some(json!({"theme": {}})),
    }
}

async fn export(State(emu): State<Emu>, Body(_): Body<Empty>) -> Reply {
    emu.read(|store| {
        Ok(Json(
            new_theme(&emu, store).unwrap_or_else(|| json!({"theme": v1(store)})),
        ))
    })
}

async fn export_v2(State(emu): State<Emu>, Body(_): Body<Empty>) -> Reply {
    emu.read(|store| {
        if let Some(theme) = new_theme(&emu, store) {
            return Ok(Json(theme));
        }
        let theme = match store.theme_format {
            DocFormat::V2 => Value::Object(store.theme.clone()),
            DocFormat::V1 => convert::theme_v1_to_v2(&store.theme),
        };
        Ok(Json(json!({"theme": theme})))
    })
}

async fn import_v2(State(emu): State<Emu>, Body(req): Body<ThemeImportRequest>) -> Reply {
    let theme = req.theme.ok_or_else(|| EmuError::missing("theme"))?;
    if theme.get("styles").is_some_and(|v| !v.is_object()) {
        return Err(EmuError::validation("`theme.styles` must be an object"));
    }
    emu.mutate(|store| {
        store.theme_version += 1;
        store.theme = theme;
        store.theme_format = DocFormat::V2;
        Ok(Json(json!({})))
    })
}

async fn import(State(emu): State<Emu>, Body(req): Body<ThemeImportRequest>) -> Reply {
    let mut theme = req.theme.ok_or_else(|| EmuError::missing("theme"))?;
    emu.mutate(|store| {
        let version = store.theme_version.max(
            v1(store)
                .get("version")
                .and_then(Value::as_i64)
                .unwrap_or(0),
        ) + 1;
        store.theme_version = version;
        theme.insert("version".to_owned(), json!(version));
        store.theme = theme;
        store.theme_format = DocFormat::V1;
        Ok(Json(json!({"theme": store.theme})))
    })
}
