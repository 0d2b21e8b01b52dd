//! Role routes of the emulator (`docs/descope-api.md` §4): create, update (replace, rename via
//! `newName`), delete, load all, search, and the batch endpoints.
//!
//! A role is identified by `id`, else by `(name, tenantId)` (`""` = project role). Rules enforced:
//! `(name, tenantId)` is unique (409, renames included), every permission must exist and the tenant
//! of a tenant-scoped role must exist (400 `E011004`), a missing role is 404. Batches are atomic: they
//! run on a copy of the store that replaces it only if every item succeeded. A batch delete with an
//! empty filter deletes every role, as Descope does. Renames and deletes keep tenants' default roles
//! consistent. This module never persists or logs.

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use super::errors::{Body, EmuError, Reply, given, required};
use super::server::Emu;
use super::store::{Store, now_epoch};
use crate::api::wire::{
    Role, RoleCreate, RoleCreateBatch, RoleDelete, RoleDeleteBatch, RoleList, RoleSearchRequest,
    RoleUpdate, RoleUpdateBatch,
};

pub(crate) fn routes() -> Router<Emu> {
    Router::new()
        .route("/v1/mgmt/role/create", post(create))
        .route("/v1/mgmt/role/update", post(update))
        .route("/v1/mgmt/role/delete", post(delete))
        .route("/v1/mgmt/role/all", get(load_all))
        .route("/v1/mgmt/role/search", post(search))
        .route("/v1/mgmt/role/create/batch", post(create_batch))
        .route("/v1/mgmt/role/update/batch", post(update_batch))
        .route("/v1/mgmt/role/delete/batch", post(delete_batch))
}

fn scope(tenant: &str) -> String {
    if tenant.is_empty() {
        "the project".to_owned()
    } else {
        format!("tenant `{tenant}`")
    }
}

fn check_refs(store: &Store, permissions: &[String], tenant: &str) -> Result<(), EmuError> {
    if !tenant.is_empty() && !store.tenants.contains_key(tenant) {
        return Err(EmuError::invalid(format!(
            "tenant `{tenant}` does not exist"
        )));
    }
    for p in permissions {
        if store.permission_id_by_name(p).is_none() {
            return Err(EmuError::invalid(format!(
                "permission `{p}` does not exist"
            )));
        }
    }
    Ok(())
}

/// The id of the role a request names: by `id`, else by `(name, tenantId)`.
fn find(
    store: &Store,
    id: &Option<String>,
    name: &Option<String>,
    tenant: &str,
) -> Result<String, EmuError> {
    if let Some(id) = given(id) {
        let role = store
            .roles
            .get(id)
            .ok_or_else(|| EmuError::not_found(format!("role id `{id}` not found")))?;
        if !tenant.is_empty() && role.tenant_id != tenant {
            return Err(EmuError::invalid(format!(
                "role `{id}` does not belong to tenant `{tenant}`"
            )));
        }
        return Ok(id.to_owned());
    }
    let name = required(name, "name")?;
    store
        .role_id_by_name(name, tenant)
        .ok_or_else(|| EmuError::not_found(format!("role `{name}` not found in {}", scope(tenant))))
}

fn create_one(store: &mut Store, req: RoleCreate) -> Result<Role, EmuError> {
    let name = required(&req.name, "name")?.to_owned();
    let tenant_id = given(&req.tenant_id).unwrap_or_default().to_owned();
    let permission_names = req.permission_names.unwrap_or_default();
    check_refs(store, &permission_names, &tenant_id)?;
    if store.role_id_by_name(&name, &tenant_id).is_some() {
        return Err(EmuError::conflict(format!(
            "role `{name}` already exists in {}",
            scope(&tenant_id)
        )));
    }
    let role = Role {
        id: store.generate_id("ROL"),
        name,
        description: req.description.unwrap_or_default(),
        permission_names,
        created_time: now_epoch(),
        tenant_id,
        default: req.default.unwrap_or_default(),
        private: req.private.unwrap_or_default(),
    };
    store.roles.insert(role.id.clone(), role.clone());
    Ok(role)
}

fn update_one(store: &mut Store, req: RoleUpdate) -> Result<Role, EmuError> {
    let tenant_hint = given(&req.tenant_id).unwrap_or_default().to_owned();
    let id = find(store, &req.id, &req.name, &tenant_hint)?;
    let new_name = required(&req.new_name, "newName")?.to_owned();
    let Some(current) = store.roles.get(&id).cloned() else {
        return Err(EmuError::not_found(format!("role id `{id}` not found")));
    };
    let permission_names = req.permission_names.unwrap_or_default();
    check_refs(store, &permission_names, &current.tenant_id)?;
    if let Some(other) = store.role_id_by_name(&new_name, &current.tenant_id)
        && other != id
    {
        return Err(EmuError::conflict(format!(
            "cannot rename role `{}` to `{new_name}`: that name is taken in {}",
            current.name,
            scope(&current.tenant_id)
        )));
    }
    if new_name != current.name {
        for t in store.tenants.values_mut() {
            if current.tenant_id.is_empty() || t.id == current.tenant_id {
                for r in t.default_roles.iter_mut().filter(|r| **r == current.name) {
                    r.clone_from(&new_name);
                }
            }
        }
    }
    let role = Role {
        name: new_name,
        description: req.description.unwrap_or_default(),
        permission_names,
        default: req.default.unwrap_or_default(),
        private: req.private.unwrap_or_default(),
        ..current
    };
    store.roles.insert(id, role.clone());
    Ok(role)
}

fn delete_one(store: &mut Store, id: &str) {
    if let Some(role) = store.roles.shift_remove(id) {
        for t in store.tenants.values_mut() {
            if role.tenant_id.is_empty() || t.id == role.tenant_id {
                t.default_roles.retain(|r| *r != role.name);
            }
        }
    }
}

async fn create(State(emu): State<Emu>, Body(req): Body<RoleCreate>) -> Reply {
    emu.mutate(|store| create_one(store, req).map(|_| Json(json!({}))))
}

async fn update(State(emu): State<Emu>, Body(req): Body<RoleUpdate>) -> Reply {
    emu.mutate(|store| update_one(store, req).map(|_| Json(json!({}))))
}

async fn delete(State(emu): State<Emu>, Body(req): Body<RoleDelete>) -> Reply {
    let tenant = given(&req.tenant_id).unwrap_or_default().to_owned();
    emu.mutate(|store| {
        let id = find(store, &req.id, &req.name, &tenant)?;
        delete_one(store, &id);
        Ok(Json(json!({})))
    })
}

async fn load_all(State(emu): State<Emu>) -> Reply {
    let project_only = emu.variant.role_all_project_only;
    emu.read(|store| {
        Ok(Json(json!(RoleList {
            roles: store
                .roles
                .values()
                .filter(|r| !project_only || r.tenant_id.is_empty())
                .cloned()
                .collect()
        })))
    })
}

fn matches(req: &RoleSearchRequest, r: &Role) -> bool {
    let listed = |f: &Option<Vec<String>>, v: &str| {
        f.as_ref()
            .is_none_or(|f| f.is_empty() || f.iter().any(|x| x == v))
    };
    let tenants_ok = match req.tenant_ids.as_ref().filter(|t| !t.is_empty()) {
        None => true,
        Some(ids) => {
            ids.contains(&r.tenant_id)
                || (r.tenant_id.is_empty() && req.include_project_roles == Some(true))
        }
    };
    let like = |needle: &str, hay: &str| hay.to_lowercase().contains(&needle.to_lowercase());
    tenants_ok
        && listed(&req.role_names, &r.name)
        && listed(&req.role_ids, &r.id)
        && given(&req.role_name_like).is_none_or(|n| like(n, &r.name))
        && given(&req.text).is_none_or(|n| like(n, &r.name) || like(n, &r.description))
        && req
            .permission_names
            .as_ref()
            .is_none_or(|p| p.is_empty() || p.iter().any(|x| r.permission_names.contains(x)))
}

async fn search(State(emu): State<Emu>, Body(req): Body<RoleSearchRequest>) -> Reply {
    emu.read(|store| {
        let mut roles: Vec<Role> = store
            .roles
            .values()
            .filter(|r| matches(&req, r))
            .cloned()
            .collect();
        for spec in req.sort.iter().flatten().rev() {
            let desc = spec.desc.unwrap_or_default();
            match spec.field.as_deref().unwrap_or_default() {
                "name" => roles.sort_by(|a, b| a.name.cmp(&b.name)),
                "description" => roles.sort_by(|a, b| a.description.cmp(&b.description)),
                "createdTime" => roles.sort_by_key(|r| r.created_time),
                "" => continue,
                other => return Err(EmuError::invalid(format!("cannot sort roles by `{other}`"))),
            }
            if desc {
                roles.reverse();
            }
        }
        Ok(Json(json!(RoleList { roles })))
    })
}

/// Runs `f` on a copy of the store and keeps the copy only if it succeeded.
fn atomically<R>(
    store: &mut Store,
    f: impl FnOnce(&mut Store) -> Result<R, EmuError>,
) -> Result<R, EmuError> {
    let mut draft = store.clone();
    let out = f(&mut draft)?;
    *store = draft;
    Ok(out)
}

async fn create_batch(State(emu): State<Emu>, Body(req): Body<RoleCreateBatch>) -> Reply {
    let items = req.roles.unwrap_or_default();
    emu.mutate(|store| {
        atomically(store, |draft| {
            let roles = items
                .into_iter()
                .map(|r| create_one(draft, r))
                .collect::<Result<_, _>>()?;
            Ok(Json(json!(RoleList { roles })))
        })
    })
}

async fn update_batch(State(emu): State<Emu>, Body(req): Body<RoleUpdateBatch>) -> Reply {
    let items = req.roles.unwrap_or_default();
    emu.mutate(|store| {
        atomically(store, |draft| {
            let roles = items
                .into_iter()
                .map(|r| update_one(draft, r))
                .collect::<Result<_, _>>()?;
            Ok(Json(json!(RoleList { roles })))
        })
    })
}

async fn delete_batch(State(emu): State<Emu>, Body(req): Body<RoleDeleteBatch>) -> Reply {
    let tenant = given(&req.tenant_id).unwrap_or_default().to_owned();
    let names = req.role_names.unwrap_or_default();
    let ids = req.role_ids.unwrap_or_default();
    emu.mutate(|store| {
        if names.is_empty() && ids.is_empty() {
            // Descope's documented hazard: an empty filter matches every role.
            let all: Vec<String> = store.roles.keys().cloned().collect();
            all.iter().for_each(|id| delete_one(store, id));
            return Ok(Json(json!({})));
        }
        let mut doomed = Vec::new();
        for name in &names {
            doomed.push(find(store, &None, &Some(name.clone()), &tenant)?);
        }
        for id in &ids {
            doomed.push(find(store, &Some(id.clone()), &None, "")?);
        }
        doomed.iter().for_each(|id| delete_one(store, id));
        Ok(Json(json!({})))
    })
}
