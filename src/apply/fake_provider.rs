//! The fake's [`Provider`] calls: each one logged, passed through the fault rules when it
//! mutates (`Fake::mutate`), and answered from the fake's project (`fake_data.rs`).

use serde_json::{Map, Value, json};

use super::fake::Fake;
use super::fake_data::{atomic, error, missing, ready, str_of, to};
use crate::api::wire::{
    FlowDocument, FlowDocumentV2, FlowSummary, License, Permission, PermissionCreate,
    PermissionUpdate, Raw, Role, RoleCreate, RoleDelete, RoleUpdate, Tenant, TenantRequest,
    ThemeDocument,
};
use crate::api::{ApiFuture, Provider, endpoints as ep};

impl Provider for Fake {
    fn license(&self) -> ApiFuture<'_, License> {
        ready(Ok(License::default()))
    }

    fn create_tenant<'a>(&'a self, tenant: &'a TenantRequest) -> ApiFuture<'a, String> {
        let req = tenant.clone();
        ready(
            self.mutate("create_tenant", ep::TENANT_CREATE, tenant, move |d, dup| {
                let id = req.id.clone().unwrap_or_default();
                let name = req.name.clone().unwrap_or_default();
                if d.tenants.contains_key(&id)
                    || d.tenants.values().any(|t| str_of(t, "name") == name)
                {
                    return Err(error(
                        ep::TENANT_CREATE,
                        dup,
                        "E011409",
                        "tenant already exists",
                    ));
                }
                d.write_tenant(&req, true).map(|()| id)
            }),
        )
    }

    fn update_tenant<'a>(&'a self, tenant: &'a TenantRequest) -> ApiFuture<'a, ()> {
        let req = tenant.clone();
        ready(
            self.mutate("update_tenant", ep::TENANT_UPDATE, tenant, move |d, _| {
                if !d
                    .tenants
                    .contains_key(req.id.as_deref().unwrap_or_default())
                {
                    return Err(missing(ep::TENANT_UPDATE, "tenant"));
                }
                d.write_tenant(&req, false)
            }),
        )
    }

    fn delete_tenant<'a>(&'a self, id: &'a str, cascade: bool) -> ApiFuture<'a, ()> {
        let owned = id.to_owned();
        let body = json!({"id": id, "cascade": cascade});
        ready(
            self.mutate("delete_tenant", ep::TENANT_DELETE, &body, move |d, _| {
                d.settings.remove(&owned);
                d.tenants
                    .remove(&owned)
                    .map(drop)
                    .ok_or_else(|| missing(ep::TENANT_DELETE, "tenant"))
            }),
        )
    }

    fn load_tenant<'a>(&'a self, id: &'a str) -> ApiFuture<'a, Tenant> {
        ready(self.read("load_tenant", |d| {
            d.tenants
                .get(id)
                .map(to)
                .ok_or_else(|| missing(ep::TENANT_LOAD, "tenant"))
        }))
    }

    fn load_tenant_settings<'a>(&'a self, id: &'a str) -> ApiFuture<'a, Option<Value>> {
        ready(self.read("load_tenant_settings", |d| {
            if !d.tenants.contains_key(id) {
                return Err(missing(ep::TENANT_SETTINGS_LOAD, "tenant"));
            }
            Ok(d.settings.get(id).cloned())
        }))
    }

    fn update_tenant_settings<'a>(
        &'a self,
        id: &'a str,
        settings: &'a Map<String, Value>,
    ) -> ApiFuture<'a, ()> {
        let owned = id.to_owned();
        let mut body = settings.clone();
        body.insert("tenantId".to_owned(), json!(id));
        let stored = settings.clone();
        ready(self.mutate(
            "update_tenant_settings",
            ep::TENANT_SETTINGS_UPDATE,
            &Value::Object(body),
            move |d, _| {
                if !d.tenants.contains_key(&owned) {
                    return Err(missing(ep::TENANT_SETTINGS_UPDATE, "tenant"));
                }
                d.settings
                    .insert(owned.clone(), Value::Object(stored.clone()));
                Ok(())
            },
        ))
    }

    fn search_tenants<'a>(&'a self, ids: &'a [String]) -> ApiFuture<'a, Vec<Tenant>> {
        ready(self.read("search_tenants", |d| {
            Ok(ids
                .iter()
                .filter_map(|id| d.tenants.get(id))
                .map(to)
                .collect())
        }))
    }

    fn load_all_tenants(&self) -> ApiFuture<'_, Vec<Raw<Tenant>>> {
        ready(self.read("load_all_tenants", |d| {
            Ok(d.tenants.values().map(to).collect())
        }))
    }

    fn update_tenant_default_roles<'a>(
        &'a self,
        id: &'a str,
        roles: &'a [String],
    ) -> ApiFuture<'a, ()> {
        let body = json!({"id": id, "defaultRoles": roles});
        let (id, roles) = (id.to_owned(), roles.to_vec());
        ready(self.mutate(
            "update_tenant_default_roles",
            ep::TENANT_DEFAULT_ROLES,
            &body,
            move |d, _| {
                let tenant = d
                    .tenants
                    .get_mut(&id)
                    .ok_or_else(|| missing(ep::TENANT_DEFAULT_ROLES, "tenant"))?;
                tenant["defaultRoles"] = json!(roles);
                Ok(())
            },
        ))
    }

    fn create_permission<'a>(&'a self, permission: &'a PermissionCreate) -> ApiFuture<'a, ()> {
        let p = permission.clone();
        ready(self.mutate(
            "create_permission",
            ep::PERMISSION_CREATE,
            permission,
            move |d, dup| d.create_permission(p, dup),
        ))
    }

    fn update_permission<'a>(&'a self, permission: &'a PermissionUpdate) -> ApiFuture<'a, ()> {
        let p = permission.clone();
        ready(self.mutate(
            "update_permission",
            ep::PERMISSION_UPDATE,
            permission,
            move |d, dup| d.update_permission(p, dup),
        ))
    }

    fn delete_permission<'a>(&'a self, name: &'a str) -> ApiFuture<'a, ()> {
        let n = name.to_owned();
        ready(self.mutate(
            "delete_permission",
            ep::PERMISSION_DELETE,
            &json!({"name": name}),
            move |d, _| d.delete_permission(&n),
        ))
    }

    fn load_all_permissions(&self) -> ApiFuture<'_, Vec<Raw<Permission>>> {
        ready(self.read("load_all_permissions", |d| {
            Ok(d.permissions.iter().map(to).collect())
        }))
    }

    fn create_permissions<'a>(&'a self, permissions: &'a [PermissionCreate]) -> ApiFuture<'a, ()> {
        let items = permissions.to_vec();
        let body = json!({"permissions": permissions});
        ready(self.mutate(
            "create_permissions",
            ep::PERMISSION_CREATE_BATCH,
            &body,
            move |d, dup| atomic(d, items, |d, p| d.create_permission(p, dup)),
        ))
    }

    fn update_permissions<'a>(&'a self, permissions: &'a [PermissionUpdate]) -> ApiFuture<'a, ()> {
        let items = permissions.to_vec();
        let body = json!({"permissions": permissions});
        ready(self.mutate(
            "update_permissions",
            ep::PERMISSION_UPDATE_BATCH,
            &body,
            move |d, dup| atomic(d, items, |d, p| d.update_permission(p, dup)),
        ))
    }

    fn delete_permissions<'a>(&'a self, names: &'a [String]) -> ApiFuture<'a, ()> {
        let items = names.to_vec();
        let body = json!({"names": names});
        ready(self.mutate(
            "delete_permissions",
            ep::PERMISSION_DELETE_BATCH,
            &body,
            move |d, _| atomic(d, items, |d, n| d.delete_permission(&n)),
        ))
    }

    fn create_role<'a>(&'a self, role: &'a RoleCreate) -> ApiFuture<'a, ()> {
        let r = role.clone();
        ready(
            self.mutate("create_role", ep::ROLE_CREATE, role, move |d, dup| {
                d.create_role(r, dup)
            }),
        )
    }

    fn update_role<'a>(&'a self, role: &'a RoleUpdate) -> ApiFuture<'a, ()> {
        let r = role.clone();
        ready(
            self.mutate("update_role", ep::ROLE_UPDATE, role, move |d, dup| {
                d.update_role(r, dup)
            }),
        )
    }

    fn delete_role<'a>(&'a self, role: &'a RoleDelete) -> ApiFuture<'a, ()> {
        let r = role.clone();
        ready(
            self.mutate("delete_role", ep::ROLE_DELETE, role, move |d, _| {
                d.delete_role(
                    r.id.as_deref(),
                    r.name.as_deref(),
                    r.tenant_id.as_deref().unwrap_or_default(),
                )
            }),
        )
    }

    fn load_all_roles(&self) -> ApiFuture<'_, Vec<Raw<Role>>> {
        ready(self.read("load_all_roles", |d| Ok(d.roles.iter().map(to).collect())))
    }

    fn search_tenant_roles<'a>(
        &'a self,
        tenant_ids: &'a [String],
    ) -> ApiFuture<'a, Vec<Raw<Role>>> {
        ready(self.read("search_tenant_roles", |d| {
            Ok(d.roles
                .iter()
                .filter(|r| {
                    let tenant = r.get("tenantId").and_then(Value::as_str).unwrap_or("");
                    tenant_ids.iter().any(|t| t == tenant)
                })
                .map(to)
                .collect())
        }))
    }

    fn create_roles<'a>(&'a self, roles: &'a [RoleCreate]) -> ApiFuture<'a, ()> {
        let items = roles.to_vec();
        let body = json!({"roles": roles});
        ready(self.mutate(
            "create_roles",
            ep::ROLE_CREATE_BATCH,
            &body,
            move |d, dup| atomic(d, items, |d, r| d.create_role(r, dup)),
        ))
    }

    fn update_roles<'a>(&'a self, roles: &'a [RoleUpdate]) -> ApiFuture<'a, ()> {
        let items = roles.to_vec();
        let body = json!({"roles": roles});
        ready(self.mutate(
            "update_roles",
            ep::ROLE_UPDATE_BATCH,
            &body,
            move |d, dup| atomic(d, items, |d, r| d.update_role(r, dup)),
        ))
    }

    fn delete_roles<'a>(
        &'a self,
        names: &'a [String],
        tenant_id: Option<&'a str>,
    ) -> ApiFuture<'a, ()> {
        let items = names.to_vec();
        let tenant = tenant_id.unwrap_or_default().to_owned();
        let body = json!({"roleNames": names, "tenantId": tenant_id});
        ready(
            self.mutate("delete_roles", ep::ROLE_DELETE_BATCH, &body, move |d, _| {
                atomic(d, items, |d, n| d.delete_role(None, Some(&n), &tenant))
            }),
        )
    }

    fn list_flows(&self) -> ApiFuture<'_, Vec<FlowSummary>> {
        ready(self.read("list_flows", |d| {
            Ok(d.flows
                .keys()
                .map(|id| FlowSummary {
                    id: id.clone(),
                    ..FlowSummary::default()
                })
                .collect())
        }))
    }

    fn export_flow<'a>(&'a self, flow_id: &'a str) -> ApiFuture<'a, FlowDocument> {
        ready(self.read("export_flow", |d| {
            d.flows
                .get(flow_id)
                .map(to)
                .ok_or_else(|| missing(ep::FLOW_EXPORT, "flow"))
        }))
    }

    fn import_flow<'a>(
        &'a self,
        flow_id: &'a str,
        document: &'a FlowDocument,
    ) -> ApiFuture<'a, FlowDocument> {
        let mut stored = json!({"flow": document.flow, "screens": document.screens});
        stored["flow"]["id"] = json!(flow_id);
        stored["flow"]["version"] = json!(2);
        let id = flow_id.to_owned();
        let body = json!({"flowId": flow_id, "flow": document.flow, "screens": document.screens});
        ready(
            self.mutate("import_flow", ep::FLOW_IMPORT, &body, move |d, _| {
                d.flows.insert(id, stored.clone());
                Ok(to(&stored))
            }),
        )
    }

    fn delete_flows<'a>(&'a self, flow_ids: &'a [String]) -> ApiFuture<'a, ()> {
        let ids = flow_ids.to_vec();
        ready(self.mutate(
            "delete_flows",
            ep::FLOW_DELETE,
            &json!({"ids": flow_ids}),
            move |d, _| {
                for id in &ids {
                    d.flows.remove(id);
                }
                Ok(())
            },
        ))
    }

    fn export_theme(&self) -> ApiFuture<'_, ThemeDocument> {
        ready(self.read("export_theme", |d| {
            Ok(ThemeDocument {
                theme: d.theme.clone(),
            })
        }))
    }

    fn import_theme<'a>(&'a self, theme: &'a ThemeDocument) -> ApiFuture<'a, ThemeDocument> {
        let stored = theme.theme.clone();
        ready(
            self.mutate("import_theme", ep::THEME_IMPORT, theme, move |d, _| {
                d.theme = stored.clone();
                Ok(ThemeDocument { theme: stored })
            }),
        )
    }

    // v2: stored in the same maps, as sent (the fake converts nothing between generations).
    fn export_flow_v2<'a>(&'a self, flow_id: &'a str) -> ApiFuture<'a, FlowDocumentV2> {
        ready(self.read("export_flow_v2", |d| {
            d.flows
                .get(flow_id)
                .map(to)
                .ok_or_else(|| missing(ep::FLOW_EXPORT_V2, "flow"))
        }))
    }

    fn import_flow_v2<'a>(
        &'a self,
        flow_id: &'a str,
        document: &'a FlowDocumentV2,
    ) -> ApiFuture<'a, ()> {
        let mut stored = json!({"flow": document.flow});
        stored["flow"]["flowId"] = json!(flow_id);
        let id = flow_id.to_owned();
        let body = stored.clone();
        ready(
            self.mutate("import_flow_v2", ep::FLOW_IMPORT_V2, &body, move |d, _| {
                d.flows.insert(id, stored.clone());
                Ok(())
            }),
        )
    }

    fn export_theme_v2(&self) -> ApiFuture<'_, ThemeDocument> {
        ready(self.read("export_theme_v2", |d| {
            Ok(ThemeDocument {
                theme: d.theme.clone(),
            })
        }))
    }

    fn import_theme_v2<'a>(&'a self, theme: &'a ThemeDocument) -> ApiFuture<'a, ()> {
        let stored = theme.theme.clone();
        ready(self.mutate(
            "import_theme_v2",
            ep::THEME_IMPORT_V2,
            theme,
            move |d, _| {
                d.theme = stored.clone();
                Ok(())
            },
        ))
    }
}
