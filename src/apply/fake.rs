//! An in-memory Descope for the executor's tests: tenants, roles, permissions, flows and the
//! theme, Descope's rules where the executor relies on them (unique names, replacing updates,
//! atomic batches, 404 for missing objects), a log of every call with its body, and faults on
//! demand: refuse a call without applying it, apply it and lose the reply (502), or lose the reply
//! and apply it only later (a write a read-back right after does not see yet).

use std::sync::{Mutex, MutexGuard};

use serde::Serialize;
use serde_json::{Value, json};

use super::fake_data::{Data, atomic, error, missing, ready, str_of, to};

use crate::api::wire::{
    FlowDocument, FlowDocumentV2, FlowSummary, License, Permission, PermissionCreate,
    PermissionUpdate, Raw, Role, RoleCreate, RoleDelete, RoleUpdate, Tenant, TenantRequest,
    ThemeDocument,
};
use crate::api::{ApiError, ApiFuture, Endpoint, Provider, endpoints as ep};

/// What a rule does to the call it matches.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Fault {
    /// Answers this error and applies nothing.
    Refuse { status: u16, code: &'static str },
    /// Applies the call, then answers 502: the reply is lost.
    Lost,
    /// Answers 502 and applies the call only when the next mutation arrives.
    LostLate,
}

struct Rule {
    /// `None`: any mutation.
    op: Option<&'static str>,
    /// Only calls whose body holds this string value.
    key: Option<String>,
    fault: Fault,
    times: usize,
}

type Late = Box<dyn FnOnce(&mut Data) + Send>;

struct Inner {
    data: Data,
    rules: Vec<Rule>,
    duplicate_status: u16,
    log: Vec<(String, Value)>,
    late: Vec<Late>,
}

pub(crate) struct Fake {
    inner: Mutex<Inner>,
}

impl Fake {
    pub(crate) fn new() -> Fake {
        Fake {
            inner: Mutex::new(Inner {
                data: Data {
                    theme: json!({"id": "theme", "cssTemplate": {}}),
                    ..Data::default()
                },
                rules: Vec::new(),
                duplicate_status: 409,
                log: Vec::new(),
                late: Vec::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Applies `fault` to the next `times` calls of `op` (`None`: any mutation) whose body holds
    /// the string `key`.
    pub(crate) fn fault(
        &self,
        op: Option<&'static str>,
        key: Option<&str>,
        fault: Fault,
        times: usize,
    ) {
        self.lock().rules.push(Rule {
            op,
            key: key.map(str::to_owned),
            fault,
            times,
        });
    }

    /// The status of an "already exists" answer (Descope's is undocumented: 409 or 400).
    pub(crate) fn duplicate_status(&self, status: u16) {
        self.lock().duplicate_status = status;
    }

    /// How many calls of `op` were made.
    pub(crate) fn calls(&self, op: &str) -> usize {
        self.lock().log.iter().filter(|(o, _)| o == op).count()
    }

    /// The bodies of the calls of `op`.
    pub(crate) fn requests(&self, op: &str) -> Vec<Value> {
        self.lock()
            .log
            .iter()
            .filter(|(o, _)| o == op)
            .map(|(_, b)| b.clone())
            .collect()
    }

    pub(crate) fn permissions(&self) -> Vec<Value> {
        self.lock().data.permissions.clone()
    }

    pub(crate) fn roles(&self) -> Vec<Value> {
        self.lock().data.roles.clone()
    }

    pub(crate) fn tenant(&self, id: &str) -> Option<Value> {
        self.lock().data.tenants.get(id).cloned()
    }

    pub(crate) fn flow(&self, id: &str) -> Option<Value> {
        self.lock().data.flows.get(id).cloned()
    }

    /// Stores a live object as it is (seeding the project before a test).
    pub(crate) fn seed(&self, kind: &str, body: Value) {
        let mut inner = self.lock();
        let data = &mut inner.data;
        match kind {
            "permission" => data.permissions.push(body),
            "role" => data.roles.push(body),
            "tenant" => {
                data.tenants.insert(str_of(&body, "id").to_owned(), body);
            }
            "flow" => {
                let id = str_of(&body["flow"], "id").to_owned();
                data.flows.insert(id, body);
            }
            _ => panic!("unknown kind {kind}"),
        }
    }

    fn read<R>(
        &self,
        op: &str,
        f: impl FnOnce(&Data) -> Result<R, ApiError>,
    ) -> Result<R, ApiError> {
        let mut inner = self.lock();
        inner.log.push((op.to_owned(), Value::Null));
        f(&inner.data)
    }

    /// Runs a mutation through the fault rules. `apply` must change nothing when it fails.
    fn mutate<R: Send + 'static>(
        &self,
        op: &'static str,
        endpoint: Endpoint,
        body: &impl Serialize,
        apply: impl FnOnce(&mut Data, u16) -> Result<R, ApiError> + Send + 'static,
    ) -> Result<R, ApiError> {
        let mut inner = self.lock();
        for late in std::mem::take(&mut inner.late) {
            late(&mut inner.data);
        }
        let body = json!(body);
        let text = body.to_string();
        inner.log.push((op.to_owned(), body));
        let dup = inner.duplicate_status;
        let rule = inner.rules.iter_mut().find(|r| {
            r.times > 0
                && r.op.is_none_or(|o| o == op)
                && r.key
                    .as_ref()
                    .is_none_or(|k| text.contains(&format!("\"{k}\"")))
        });
        let fault = rule.map(|r| {
            r.times -= 1;
            r.fault
        });
        let lost = || error(endpoint, 502, "E011502", "bad gateway");
        match fault {
            None => apply(&mut inner.data, dup),
            Some(Fault::Refuse { status, code }) => {
                Err(error(endpoint, status, code, "refused by the test"))
            }
            Some(Fault::Lost) => apply(&mut inner.data, dup).and_then(|_| Err(lost())),
            Some(Fault::LostLate) => {
                inner
                    .late
                    .push(Box::new(move |data| drop(apply(data, dup))));
                Err(lost())
            }
        }
    }
}

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
