//! Permission routes of the emulator (`docs/descope-api.md` §4): create, update (rename via
//! `newName`), delete, load all, and the batch endpoints.
//!
//! A permission is identified by `id`, else by `name`; names are unique (409, renames included); a
//! missing permission is 404; a system-default one cannot be updated or deleted (400). What a
//! rename or a delete does to the roles that grant the permission is undocumented
//! (docs/descope-api.md §4: UNSURE): by default a rename is carried into them and a delete removes
//! it from them, so roles never name a permission that does not exist; the variants
//! `permission_rename_drops_from_roles` and `permission_delete_keeps_in_roles` (see
//! [`super::variant`]) play the other answers. Batches are atomic. This module never persists or
//! logs.

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use super::errors::{Body, EmuError, Reply, given, required};
use super::server::Emu;
use super::store::Store;
use crate::api::wire::{
    Permission, PermissionCreate, PermissionCreateBatch, PermissionDelete, PermissionDeleteBatch,
    PermissionList, PermissionUpdate, PermissionUpdateBatch,
};

pub(crate) fn routes() -> Router<Emu> {
    Router::new()
        .route("/v1/mgmt/permission/create", post(create))
        .route("/v1/mgmt/permission/update", post(update))
        .route("/v1/mgmt/permission/delete", post(delete))
        .route("/v1/mgmt/permission/all", get(load_all))
        .route("/v1/mgmt/permission/create/batch", post(create_batch))
        .route("/v1/mgmt/permission/update/batch", post(update_batch))
        .route("/v1/mgmt/permission/delete/batch", post(delete_batch))
}

fn find(store: &Store, id: &Option<String>, name: &Option<String>) -> Result<String, EmuError> {
    if let Some(id) = given(id) {
        return match store.permissions.contains_key(id) {
            true => Ok(id.to_owned()),
            false => Err(EmuError::not_found(format!(
                "permission id `{id}` not found"
            ))),
        };
    }
    let name = required(name, "name")?;
    store
        .permission_id_by_name(name)
        .ok_or_else(|| EmuError::not_found(format!("permission `{name}` not found")))
}

fn create_one(store: &mut Store, req: PermissionCreate) -> Result<(), EmuError> {
    let name = required(&req.name, "name")?.to_owned();
    if store.permission_id_by_name(&name).is_some() {
        return Err(EmuError::conflict(format!(
            "permission `{name}` already exists"
        )));
    }
    let id = store.generate_id("PERM");
    let permission = Permission {
        id: id.clone(),
        name,
        description: req.description.unwrap_or_default(),
        system_default: false,
    };
    store.permissions.insert(id, permission);
    Ok(())
}

/// Descope's own permissions cannot be changed, renamed or deleted (docs/descope-api.md §4; the
/// exact answer is UNSURE, a validation failure is assumed).
fn refuse_system_default(store: &Store, id: &str, verb: &str) -> Result<(), EmuError> {
    match store.permissions.get(id) {
        Some(p) if p.system_default => Err(EmuError::validation(format!(
            "cannot {verb} system-default permission `{}`",
            p.name
        ))),
        _ => Ok(()),
    }
}

/// What a permission's rename does to the roles that grant it.
#[derive(Clone, Copy)]
enum InRoles {
    Renamed,
    Dropped,
}

impl InRoles {
    fn of(emu: &Emu) -> InRoles {
        match emu.variant.permission_rename_drops_from_roles {
            true => InRoles::Dropped,
            false => InRoles::Renamed,
        }
    }
}

fn update_one(store: &mut Store, req: PermissionUpdate, in_roles: InRoles) -> Result<(), EmuError> {
    let id = find(store, &req.id, &req.name)?;
    refuse_system_default(store, &id, "update")?;
    let new_name = required(&req.new_name, "newName")?.to_owned();
    if let Some(other) = store.permission_id_by_name(&new_name)
        && other != id
    {
        return Err(EmuError::conflict(format!(
            "cannot rename to `{new_name}`: that permission exists"
        )));
    }
    let Some(p) = store.permissions.get_mut(&id) else {
        return Err(EmuError::not_found(format!(
            "permission id `{id}` not found"
        )));
    };
    let old = std::mem::replace(&mut p.name, new_name.clone());
    p.description = req.description.unwrap_or_default();
    if old != new_name {
        for role in store.roles.values_mut() {
            match in_roles {
                InRoles::Renamed => {
                    for n in role.permission_names.iter_mut().filter(|n| **n == old) {
                        n.clone_from(&new_name);
                    }
                }
                InRoles::Dropped => role.permission_names.retain(|n| *n != old),
            }
        }
    }
    Ok(())
}

/// Deletes a permission and, unless `keep_in_roles`, removes it from the roles that grant it.
fn delete_one(store: &mut Store, id: &str, keep_in_roles: bool) {
    if let Some(p) = store.permissions.shift_remove(id)
        && !keep_in_roles
    {
        for role in store.roles.values_mut() {
            role.permission_names.retain(|n| *n != p.name);
        }
    }
}

/// Runs `f` on a copy of the store and keeps the copy only if it succeeded.
fn atomically(store: &mut Store, f: impl FnOnce(&mut Store) -> Result<(), EmuError>) -> Reply {
    let mut draft = store.clone();
    f(&mut draft)?;
    *store = draft;
    Ok(Json(json!({})))
}

async fn create(State(emu): State<Emu>, Body(req): Body<PermissionCreate>) -> Reply {
    emu.mutate(|store| create_one(store, req).map(|()| Json(json!({}))))
}

async fn update(State(emu): State<Emu>, Body(req): Body<PermissionUpdate>) -> Reply {
    let in_roles = InRoles::of(&emu);
    emu.mutate(|store| update_one(store, req, in_roles).map(|()| Json(json!({}))))
}

async fn delete(State(emu): State<Emu>, Body(req): Body<PermissionDelete>) -> Reply {
    let keep = emu.variant.permission_delete_keeps_in_roles;
    emu.mutate(|store| {
        let id = find(store, &req.id, &req.name)?;
        refuse_system_default(store, &id, "delete")?;
        delete_one(store, &id, keep);
        Ok(Json(json!({})))
    })
}

async fn load_all(State(emu): State<Emu>) -> Reply {
    emu.read(|store| {
        let permissions = store.permissions.values().cloned().collect();
        Ok(Json(json!(PermissionList { permissions })))
    })
}

async fn create_batch(State(emu): State<Emu>, Body(req): Body<PermissionCreateBatch>) -> Reply {
    let items = req.permissions.unwrap_or_default();
    emu.mutate(|store| {
        atomically(store, |d| {
            items.into_iter().try_for_each(|p| create_one(d, p))
        })
    })
}

async fn update_batch(State(emu): State<Emu>, Body(req): Body<PermissionUpdateBatch>) -> Reply {
    let items = req.permissions.unwrap_or_default();
    let in_roles = InRoles::of(&emu);
    emu.mutate(|store| {
        atomically(store, |d| {
            items
                .into_iter()
                .try_for_each(|p| update_one(d, p, in_roles))
        })
    })
}

async fn delete_batch(State(emu): State<Emu>, Body(req): Body<PermissionDeleteBatch>) -> Reply {
    let names = req.names.unwrap_or_default();
    let ids = req.ids.unwrap_or_default();
    if names.is_empty() && ids.is_empty() {
        return Err(EmuError::missing("names"));
    }
    let keep = emu.variant.permission_delete_keeps_in_roles;
    emu.mutate(|store| {
        let mut doomed = Vec::new();
        for name in names {
            doomed.push(find(store, &None, &Some(name))?);
        }
        for id in ids {
            doomed.push(find(store, &Some(id), &None)?);
        }
        for id in &doomed {
            refuse_system_default(store, id, "delete")?;
        }
        doomed.iter().for_each(|id| delete_one(store, id, keep));
        Ok(Json(json!({})))
    })
}
