//! Tenant routes of the emulator (`docs/descope-api.md` §3): create, update (replace), patch
//! (merge), delete, load, load all, search, settings and default roles.
//!
//! Rules enforced: ids and names are unique (409), a caller id is kept and a missing one generated
//! (`T…`), the parent of a sub-tenant must exist, a tenant with sub-tenants cannot be deleted (409
//! "Already exists", message "tenant has sub-tenants", as Descope answers), default roles must
//! name existing roles, and loads, updates and deletes of a missing tenant are 404. Deleting a tenant removes its tenant-scoped
//! roles, and an update empties the fields its body leaves out, unless the variants
//! `tenant_delete_keeps_roles` or `tenant_update_keeps_absent` (see [`super::variant`]) say
//! otherwise. This module never persists or logs: [`Shared::mutate`](super::server) does.

use axum::extract::State;
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::errors::{Body, EmuError, Params, Reply, given, required};
use super::server::Emu;
use super::store::{Store, now_epoch};
use super::variant::UnsetSettings;
use crate::api::wire::{
    DefaultRolesRequest, Tenant, TenantDeleteRequest, TenantList, TenantRequest,
    TenantSearchRequest, TenantSettings, TenantSettingsRequest,
};

pub(crate) fn routes() -> Router<Emu> {
    Router::new()
        .route("/v1/mgmt/tenant", get(load))
        .route("/v1/mgmt/tenant/create", post(create))
        .route("/v1/mgmt/tenant/update", post(update))
        .route("/v1/mgmt/tenant/patch", patch(patch_tenant))
        .route("/v1/mgmt/tenant/delete", post(delete))
        .route("/v1/mgmt/tenant/all", get(load_all))
        .route("/v1/mgmt/tenant/search", post(search))
        .route(
            "/v1/mgmt/tenant/settings",
            get(load_settings).post(set_settings),
        )
        .route("/v1/mgmt/tenant/updateDefaultRoles", post(default_roles))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IdQuery {
    #[serde(default)]
    id: Option<String>,
}

fn missing(id: &str) -> EmuError {
    EmuError::not_found(format!("tenant `{id}` not found"))
}

fn one_of(value: &Option<String>, field: &str, allowed: &[&str]) -> Result<(), EmuError> {
    match value.as_deref() {
        Some(v) if !allowed.contains(&v) => Err(EmuError::invalid(format!(
            "`{field}` must be one of {allowed:?}, got `{v}`"
        ))),
        _ => Ok(()),
    }
}

/// Checks the value-level rules of a create/update/patch body.
fn check_values(req: &TenantRequest) -> Result<(), EmuError> {
    one_of(
        &req.role_inheritance,
        "roleInheritance",
        &["", "none", "userOnly"],
    )?;
    one_of(&req.auth_type, "authType", &["", "none", "saml", "oidc"])?;
    for (key, value) in req.custom_attributes.iter().flatten() {
        let ok = match value {
            Value::String(_) | Value::Number(_) | Value::Bool(_) => true,
            Value::Array(items) => items.iter().all(Value::is_string),
            _ => false,
        };
        if !ok {
            return Err(EmuError::invalid(format!(
                "custom attribute `{key}` must be a string, number, boolean or list of strings"
            )));
        }
    }
    Ok(())
}

fn check_name_free(store: &Store, name: &str, own_id: &str) -> Result<(), EmuError> {
    match store.tenant_by_name(name) {
        Some(other) if other.id != own_id => Err(EmuError::conflict(format!(
            "a tenant named `{name}` already exists"
        ))),
        _ => Ok(()),
    }
}

/// Overwrites every replaceable field of `t` from `req` (absent or null = empty).
fn replace_fields(t: &mut Tenant, req: TenantRequest, name: String) {
    t.name = name;
    t.self_provisioning_domains = req.self_provisioning_domains.unwrap_or_default();
    t.custom_attributes = req.custom_attributes.unwrap_or_default();
    t.enforce_sso = req.enforce_sso.unwrap_or_default();
    t.enforce_sso_exclusions = req.enforce_sso_exclusions.unwrap_or_default();
    t.federated_app_ids = req.federated_app_ids.unwrap_or_default();
    t.disabled = req.disabled.unwrap_or_default();
    t.role_inheritance = req.role_inheritance.unwrap_or_default();
    if let Some(auth_type) = req.auth_type.filter(|a| !a.is_empty()) {
        t.auth_type = auth_type;
    }
}

/// Puts `tenants` into the store as a `tenant/create` and a `tenant/updateDefaultRoles` each
/// would leave them (a new tenant's `createdTime` and `authType` when unset), checking what those
/// check: ids given and unused, names unused, parents existing, default roles existing. Either all
/// go in or, at the first refused, none.
pub(crate) fn insert_all(store: &mut Store, tenants: Vec<Tenant>) -> Result<(), EmuError> {
    let mut ids: std::collections::HashSet<String> = store.tenants.keys().cloned().collect();
    let mut names: std::collections::HashSet<String> =
        store.tenants.values().map(|t| t.name.clone()).collect();
    let roles: std::collections::HashSet<(&str, &str)> = store
        .roles
        .values()
        .map(|r| (r.tenant_id.as_str(), r.name.as_str()))
        .collect();
    for t in &tenants {
        if t.id.is_empty() || !ids.insert(t.id.clone()) {
            return Err(EmuError::conflict(format!(
                "a tenant with id `{}` already exists (or none is given)",
                t.id
            )));
        }
        if t.name.is_empty() || !names.insert(t.name.clone()) {
            return Err(EmuError::conflict(format!(
                "a tenant named `{}` already exists (or none is given)",
                t.name
            )));
        }
        if !t.parent.is_empty() && !ids.contains(&t.parent) {
            return Err(EmuError::invalid(format!(
                "parent tenant `{}` does not exist",
                t.parent
            )));
        }
        let known = |name: &String| {
            roles.contains(&(t.id.as_str(), name.as_str())) || roles.contains(&("", name.as_str()))
        };
        if let Some(name) = t.default_roles.iter().find(|n| !known(n)) {
            return Err(EmuError::invalid(format!(
                "default role `{name}` is neither a project role nor a role of tenant `{}`",
                t.id
            )));
        }
    }
    let now = now_epoch();
    for mut t in tenants {
        if t.created_time == 0 {
            t.created_time = now;
        }
        if t.auth_type.is_empty() {
            t.auth_type = "none".to_owned();
        }
        t.successors.clear();
        store.tenants.insert(t.id.clone(), t);
    }
    Ok(())
}

async fn create(State(emu): State<Emu>, Body(req): Body<TenantRequest>) -> Reply {
    check_values(&req)?;
    let name = required(&req.name, "name")?.to_owned();
    emu.mutate(|store| {
        let id = match given(&req.id) {
            Some(id) if store.tenants.contains_key(id) => {
                return Err(EmuError::conflict(format!(
                    "a tenant with id `{id}` already exists"
                )));
            }
            Some(id) => id.to_owned(),
            None => store.generate_id("T"),
        };
        check_name_free(store, &name, &id)?;
        let parent = given(&req.parent).map(str::to_owned).unwrap_or_default();
        if !parent.is_empty() && !store.tenants.contains_key(&parent) {
            return Err(EmuError::invalid(format!(
                "parent tenant `{parent}` does not exist"
            )));
        }
        let mut tenant = Tenant {
            id: id.clone(),
            created_time: now_epoch(),
            auth_type: "none".to_owned(),
            parent,
            ..Tenant::default()
        };
        replace_fields(&mut tenant, req, name);
        store.tenants.insert(id.clone(), tenant);
        Ok(Json(json!({ "id": id })))
    })
}

async fn update(State(emu): State<Emu>, Body(req): Body<TenantRequest>) -> Reply {
    check_values(&req)?;
    let id = required(&req.id, "id")?.to_owned();
    let name = required(&req.name, "name")?.to_owned();
    let keep_absent = emu.variant.tenant_update_keeps_absent;
    emu.mutate(|store| {
        if !store.tenants.contains_key(&id) {
            return Err(missing(&id));
        }
        check_name_free(store, &name, &id)?;
        if let Some(t) = store.tenants.get_mut(&id) {
            match keep_absent {
                true => merge_fields(t, req),
                false => replace_fields(t, req, name),
            }
        }
        Ok(Json(json!({})))
    })
}

/// Overwrites the fields of `t` that `req` holds (not `null`), keeping the others.
fn merge_fields(t: &mut Tenant, req: TenantRequest) {
    if let Some(name) = given(&req.name) {
        t.name = name.to_owned();
    }
    if let Some(v) = req.self_provisioning_domains {
        t.self_provisioning_domains = v;
    }
    if let Some(v) = req.custom_attributes {
        t.custom_attributes = v;
    }
    if let Some(v) = req.enforce_sso {
        t.enforce_sso = v;
    }
    if let Some(v) = req.enforce_sso_exclusions {
        t.enforce_sso_exclusions = v;
    }
    if let Some(v) = req.federated_app_ids {
        t.federated_app_ids = v;
    }
    if let Some(v) = req.disabled {
        t.disabled = v;
    }
    if let Some(v) = req.role_inheritance {
        t.role_inheritance = v;
    }
}

async fn patch_tenant(State(emu): State<Emu>, Body(req): Body<TenantRequest>) -> Reply {
    check_values(&req)?;
    let id = required(&req.id, "id")?.to_owned();
    emu.mutate(|store| {
        if !store.tenants.contains_key(&id) {
            return Err(missing(&id));
        }
        if let Some(name) = given(&req.name) {
            check_name_free(store, name, &id)?;
        }
        let Some(t) = store.tenants.get_mut(&id) else {
            return Err(missing(&id));
        };
        merge_fields(t, req);
        Ok(Json(json!({})))
    })
}

async fn delete(State(emu): State<Emu>, Body(req): Body<TenantDeleteRequest>) -> Reply {
    let id = required(&req.id, "id")?.to_owned();
    let keep_roles = emu.variant.tenant_delete_keeps_roles;
    emu.mutate(|store| {
        if !store.tenants.contains_key(&id) {
            return Err(missing(&id));
        }
        if store.tenants.values().any(|t| t.parent == id) {
            // What Descope answers: "Already exists", its message saying why.
            let mut refused = EmuError::conflict("Already exists");
            refused.message = "tenant has sub-tenants".to_owned();
            return Err(refused);
        }
        store.tenants.shift_remove(&id);
        store.settings.shift_remove(&id);
        if !keep_roles {
            store.roles.retain(|_, r| r.tenant_id != id);
        }
        Ok(Json(json!({})))
    })
}

async fn load(State(emu): State<Emu>, Params(q): Params<IdQuery>) -> Reply {
    let id = required(&q.id, "id")?.to_owned();
    emu.read(|store| {
        let t = store.tenants.get(&id).ok_or_else(|| missing(&id))?;
        Ok(Json(json!(store.tenant_view(t))))
    })
}

fn list(store: &Store, keep: impl Fn(&Tenant) -> bool) -> Reply {
    // Each tenant's successors from one pass over the store (asking the store tenant by tenant
    // would scan every tenant for each: quadratic, minutes at 100,000 tenants).
    let mut successors: std::collections::HashMap<&str, Vec<String>> =
        std::collections::HashMap::new();
    for child in store.tenants.values().filter(|c| !c.parent.is_empty()) {
        successors
            .entry(child.parent.as_str())
            .or_default()
            .push(child.id.clone());
    }
    let tenants: Vec<Tenant> = store
        .tenants
        .values()
        .filter(|t| keep(t))
        .map(|t| Tenant {
            successors: successors.remove(t.id.as_str()).unwrap_or_default(),
            ..t.clone()
        })
        .collect();
    Ok(Json(json!(TenantList { tenants })))
}

async fn load_all(State(emu): State<Emu>) -> Reply {
    emu.read(|store| list(store, |_| true))
}

async fn search(State(emu): State<Emu>, Body(req): Body<TenantSearchRequest>) -> Reply {
    let any = |filter: &Option<Vec<String>>, value: &str| {
        filter
            .as_ref()
            .is_none_or(|f| f.is_empty() || f.iter().any(|x| x == value))
    };
    emu.read(|store| {
        list(store, |t| {
            any(&req.tenant_ids, &t.id)
                && any(&req.tenant_names, &t.name)
                && req
                    .tenant_self_provisioning_domains
                    .as_ref()
                    .is_none_or(|f| {
                        f.is_empty() || f.iter().any(|d| t.self_provisioning_domains.contains(d))
                    })
                && req
                    .custom_attributes
                    .iter()
                    .flatten()
                    .all(|(k, v)| t.custom_attributes.get(k) == Some(v))
                && given(&req.auth_type).is_none_or(|a| t.auth_type == a)
                && given(&req.parent_tenant_id).is_none_or(|p| t.parent == p)
        })
    })
}

async fn load_settings(State(emu): State<Emu>, Params(q): Params<IdQuery>) -> Reply {
    let id = required(&q.id, "id")?.to_owned();
    let unset = emu.variant.unset_settings;
    emu.read(|store| {
        let t = store.tenants.get(&id).ok_or_else(|| missing(&id))?;
        let mut settings = match (store.settings.get(&id), unset) {
            (Some(settings), _) => settings.clone(),
            (None, UnsetSettings::Defaults) => TenantSettings::default(),
            (None, UnsetSettings::NotFound) => {
                return Err(EmuError::not_found(format!(
                    "tenant `{id}` has no settings"
                )));
            }
            (None, UnsetSettings::Empty) => return Ok(Json(json!({}))),
        };
        settings.domains = t.domains.clone();
        settings.self_provisioning_domains = t.self_provisioning_domains.clone();
        settings.auth_type = t.auth_type.clone();
        Ok(Json(json!(settings)))
    })
}

/// The units and the `authType` of a settings request are ones Descope knows.
fn check_settings(req: &TenantSettingsRequest) -> Result<(), EmuError> {
    const UNITS: &[&str] = &["", "minutes", "hours", "days", "weeks"];
    for (unit, field) in [
        (
            &req.refresh_token_expiration_unit,
            "refreshTokenExpirationUnit",
        ),
        (
            &req.session_token_expiration_unit,
            "sessionTokenExpirationUnit",
        ),
        (
            &req.stepup_token_expiration_unit,
            "stepupTokenExpirationUnit",
        ),
        (&req.inactivity_time_unit, "inactivityTimeUnit"),
    ] {
        one_of(unit, field, UNITS)?;
    }
    one_of(&req.auth_type, "authType", &["", "none", "saml", "oidc"])
}

async fn set_settings(State(emu): State<Emu>, Body(req): Body<TenantSettingsRequest>) -> Reply {
    let id = required(&req.tenant_id, "tenantId")?.to_owned();
    check_settings(&req)?;
    emu.mutate(|store| {
        let Some(t) = store.tenants.get_mut(&id) else {
            return Err(missing(&id));
        };
        let r = req;
        if let Some(v) = r.domains {
            t.domains = v;
        }
        if let Some(v) = r.self_provisioning_domains {
            t.self_provisioning_domains = v;
        }
        if let Some(v) = r.auth_type.filter(|a| !a.is_empty()) {
            t.auth_type = v;
        }
        if let Some(v) = r.enforce_sso {
            t.enforce_sso = v;
        }
        if let Some(v) = r.enforce_sso_exclusions {
            t.enforce_sso_exclusions = v;
        }
        if let Some(v) = r.federated_app_ids {
            t.federated_app_ids = v;
        }
        let s = store.settings.entry(id).or_default();
        let set = |slot: &mut i64, v: Option<i64>| {
            if let Some(v) = v {
                *slot = v;
            }
        };
        let set_s = |slot: &mut String, v: Option<String>| {
            if let Some(v) = v {
                *slot = v;
            }
        };
        s.enabled = r.enabled.unwrap_or(s.enabled);
        set(&mut s.refresh_token_expiration, r.refresh_token_expiration);
        set_s(
            &mut s.refresh_token_expiration_unit,
            r.refresh_token_expiration_unit,
        );
        set(&mut s.session_token_expiration, r.session_token_expiration);
        set_s(
            &mut s.session_token_expiration_unit,
            r.session_token_expiration_unit,
        );
        set(&mut s.stepup_token_expiration, r.stepup_token_expiration);
        set_s(
            &mut s.stepup_token_expiration_unit,
            r.stepup_token_expiration_unit,
        );
        s.enable_inactivity = r.enable_inactivity.unwrap_or(s.enable_inactivity);
        set(&mut s.inactivity_time, r.inactivity_time);
        set_s(&mut s.inactivity_time_unit, r.inactivity_time_unit);
        s.jit_disabled = r.jit_disabled.unwrap_or(s.jit_disabled);
        if let Some(v) = r.sso_setup_suite_settings {
            s.sso_setup_suite_settings = v;
        }
        Ok(Json(json!({})))
    })
}

async fn default_roles(State(emu): State<Emu>, Body(req): Body<DefaultRolesRequest>) -> Reply {
    let id = required(&req.id, "id")?.to_owned();
    let roles = req.default_roles.unwrap_or_default();
    emu.mutate(|store| {
        if !store.tenants.contains_key(&id) {
            return Err(missing(&id));
        }
        for name in &roles {
            let exists = store.role_id_by_name(name, &id).is_some()
                || store.role_id_by_name(name, "").is_some();
            if !exists {
                return Err(EmuError::invalid(format!(
                    "default role `{name}` is neither a project role nor a role of tenant `{id}`"
                )));
            }
        }
        if let Some(t) = store.tenants.get_mut(&id) {
            t.default_roles = roles;
        }
        Ok(Json(json!({})))
    })
}
