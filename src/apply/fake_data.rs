//! The fake's project: what it stores and Descope's rules where the executor relies on them
//! (unique names, replacing updates, atomic batches, 404 for missing objects). No faults here:
//! those are `fake.rs`'s.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::api::wire::{PermissionCreate, PermissionUpdate, RoleCreate, RoleUpdate, TenantRequest};
use crate::api::{ApiError, ApiFuture, DescopeError, Endpoint, endpoints as ep};

#[derive(Clone, Default)]
pub(super) struct Data {
    pub(super) tenants: BTreeMap<String, Value>,
    /// Tenant settings by tenant id; a tenant never given any has none (answered 404).
    pub(super) settings: BTreeMap<String, Value>,
    pub(super) roles: Vec<Value>,
    pub(super) permissions: Vec<Value>,
    pub(super) flows: BTreeMap<String, Value>,
    pub(super) theme: Value,
    pub(super) next_id: u64,
}

pub(super) fn error(endpoint: Endpoint, status: u16, code: &str, description: &str) -> ApiError {
    ApiError::Descope(Box::new(DescopeError {
        endpoint,
        status,
        error_code: code.to_owned(),
        error_description: description.to_owned(),
        error_message: description.to_owned(),
        key_env: None,
    }))
}

pub(super) fn missing(endpoint: Endpoint, what: &str) -> ApiError {
    error(endpoint, 404, "E011404", &format!("{what} not found"))
}

pub(super) fn str_of<'a>(v: &'a Value, field: &str) -> &'a str {
    v.get(field).and_then(Value::as_str).unwrap_or("")
}

pub(super) fn ready<'a, T: Send + 'a>(result: Result<T, ApiError>) -> ApiFuture<'a, T> {
    Box::pin(std::future::ready(result))
}

pub(super) fn to<T: DeserializeOwned>(v: &Value) -> T {
    serde_json::from_value(v.clone()).expect("the fake stores wire objects")
}

impl Data {
    pub(super) fn id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}{}", self.next_id)
    }

    pub(super) fn permission(&self, id: Option<&str>, name: Option<&str>) -> Option<usize> {
        self.permissions.iter().position(|p| match id {
            Some(id) if !id.is_empty() => str_of(p, "id") == id,
            _ => Some(str_of(p, "name")) == name,
        })
    }

    pub(super) fn role(&self, id: Option<&str>, name: Option<&str>, tenant: &str) -> Option<usize> {
        self.roles.iter().position(|r| match id {
            Some(id) if !id.is_empty() => str_of(r, "id") == id,
            _ => Some(str_of(r, "name")) == name && str_of(r, "tenantId") == tenant,
        })
    }

    pub(super) fn create_permission(
        &mut self,
        p: PermissionCreate,
        dup: u16,
    ) -> Result<(), ApiError> {
        let name = p.name.unwrap_or_default();
        if self.permission(None, Some(&name)).is_some() {
            let what = format!("permission `{name}` already exists");
            return Err(error(ep::PERMISSION_CREATE, dup, "E011409", &what));
        }
        let id = self.id("PERM");
        self.permissions.push(json!({"id": id, "name": name,
            "description": p.description.unwrap_or_default(), "systemDefault": false}));
        Ok(())
    }

    pub(super) fn update_permission(
        &mut self,
        p: PermissionUpdate,
        dup: u16,
    ) -> Result<(), ApiError> {
        let at = self
            .permission(p.id.as_deref(), p.name.as_deref())
            .ok_or_else(|| missing(ep::PERMISSION_UPDATE, "permission"))?;
        let new_name = p.new_name.unwrap_or_default();
        if self
            .permission(None, Some(&new_name))
            .is_some_and(|o| o != at)
        {
            return Err(error(ep::PERMISSION_UPDATE, dup, "E011409", "name taken"));
        }
        let stored = &mut self.permissions[at];
        stored["name"] = json!(new_name);
        stored["description"] = json!(p.description.unwrap_or_default());
        Ok(())
    }

    pub(super) fn delete_permission(&mut self, name: &str) -> Result<(), ApiError> {
        let at = self
            .permission(None, Some(name))
            .ok_or_else(|| missing(ep::PERMISSION_DELETE, name))?;
        self.permissions.remove(at);
        Ok(())
    }

    pub(super) fn create_role(&mut self, r: RoleCreate, dup: u16) -> Result<(), ApiError> {
        let name = r.name.unwrap_or_default();
        let tenant = r.tenant_id.unwrap_or_default();
        if self.role(None, Some(&name), &tenant).is_some() {
            let what = format!("role `{name}` already exists");
            return Err(error(ep::ROLE_CREATE, dup, "E011409", &what));
        }
        let id = self.id("ROL");
        self.roles
            .push(json!({"id": id, "name": name, "tenantId": tenant,
            "description": r.description.unwrap_or_default(),
            "permissionNames": r.permission_names.unwrap_or_default(),
            "default": r.default.unwrap_or_default(), "private": r.private.unwrap_or_default(),
            "createdTime": 7}));
        Ok(())
    }

    pub(super) fn update_role(&mut self, r: RoleUpdate, dup: u16) -> Result<(), ApiError> {
        let tenant = r.tenant_id.clone().unwrap_or_default();
        let at = self
            .role(r.id.as_deref(), r.name.as_deref(), &tenant)
            .ok_or_else(|| missing(ep::ROLE_UPDATE, "role"))?;
        let new_name = r.new_name.unwrap_or_default();
        let scope = str_of(&self.roles[at], "tenantId").to_owned();
        if self
            .role(None, Some(&new_name), &scope)
            .is_some_and(|o| o != at)
        {
            return Err(error(ep::ROLE_UPDATE, dup, "E011409", "name taken"));
        }
        let stored = &mut self.roles[at];
        stored["name"] = json!(new_name);
        stored["description"] = json!(r.description.unwrap_or_default());
        stored["permissionNames"] = json!(r.permission_names.unwrap_or_default());
        stored["default"] = json!(r.default.unwrap_or_default());
        stored["private"] = json!(r.private.unwrap_or_default());
        Ok(())
    }

    pub(super) fn delete_role(
        &mut self,
        id: Option<&str>,
        name: Option<&str>,
        tenant: &str,
    ) -> Result<(), ApiError> {
        let at = self
            .role(id, name, tenant)
            .ok_or_else(|| missing(ep::ROLE_DELETE, "role"))?;
        self.roles.remove(at);
        Ok(())
    }

    /// Descope's tenant update replaces every field the request has; what it computes stays.
    pub(super) fn write_tenant(
        &mut self,
        req: &TenantRequest,
        create: bool,
    ) -> Result<(), ApiError> {
        let id = req.id.clone().unwrap_or_default();
        let mut stored = self.tenants.get(&id).cloned().unwrap_or_else(|| {
            json!({"id": id, "createdTime": 7, "authType": "none", "domains": [], "successors": []})
        });
        let keep: Vec<(String, Value)> = [
            "createdTime",
            "authType",
            "domains",
            "successors",
            "parent",
            "defaultRoles",
        ]
        .iter()
        .filter_map(|k| stored.get(*k).map(|v| ((*k).to_owned(), v.clone())))
        .collect();
        stored = json!(req);
        for (k, v) in keep {
            stored[k] = v;
        }
        if create && let Some(parent) = &req.parent {
            stored["parent"] = json!(parent);
        }
        self.tenants.insert(id, stored);
        Ok(())
    }
}

/// Runs `f` on a copy of the data and keeps the copy only if every item succeeded (batches are
/// atomic).
pub(super) fn atomic<T>(
    data: &mut Data,
    items: Vec<T>,
    mut f: impl FnMut(&mut Data, T) -> Result<(), ApiError>,
) -> Result<(), ApiError> {
    let mut copy = data.clone();
    for item in items {
        f(&mut copy, item)?;
    }
    *data = copy;
    Ok(())
}
