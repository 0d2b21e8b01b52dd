//! The management calls of [`Provider`] on the real [`Client`]: each is one endpoint of
//! `docs/descope-api.md` with its exact path, method and body.
//!
//! Thin by design: shaping bodies and unwrapping answers only. Pacing, retries and errors are the
//! client's; the guards against destructive empty filters are here.

use serde_json::{Map, Value, json};

use super::client::Client;
use super::endpoint::Endpoint;
use super::error::ApiError;
use super::wire::{
    FlowDocument, FlowDocumentV2, FlowListResponse, FlowSummary, License, LoadedTenant, Permission,
    PermissionCreate, PermissionUpdate, Raw, Role, RoleCreate, RoleDelete, RoleDeleteBatch,
    RoleUpdate, Tenant, TenantCreated, TenantRequest, ThemeDocument,
};
use super::{ApiFuture, Pause, Provider};

/// Every endpoint the client calls. Those that change the project are `Endpoint::mutation`: the
/// client never resends them after a 5xx or a transport error (see [`Endpoint::mutating`]).
pub mod endpoints {
    use super::Endpoint;

    pub const LICENSE: Endpoint = Endpoint::get("/v1/mgmt/license");
    pub const TENANT_CREATE: Endpoint = Endpoint::mutation("/v1/mgmt/tenant/create");
    pub const TENANT_UPDATE: Endpoint = Endpoint::mutation("/v1/mgmt/tenant/update");
    pub const TENANT_DELETE: Endpoint = Endpoint::mutation("/v1/mgmt/tenant/delete");
    pub const TENANT_LOAD: Endpoint = Endpoint::get("/v1/mgmt/tenant");
    pub const TENANT_LOAD_ALL: Endpoint = Endpoint::get("/v1/mgmt/tenant/all");
    pub const TENANT_SEARCH: Endpoint = Endpoint::post("/v1/mgmt/tenant/search");
    pub const TENANT_DEFAULT_ROLES: Endpoint =
        Endpoint::mutation("/v1/mgmt/tenant/updateDefaultRoles");
    pub const TENANT_SETTINGS_LOAD: Endpoint = Endpoint::get("/v1/mgmt/tenant/settings");
    pub const TENANT_SETTINGS_UPDATE: Endpoint = Endpoint::mutation("/v1/mgmt/tenant/settings");
    pub const PERMISSION_CREATE: Endpoint = Endpoint::mutation("/v1/mgmt/permission/create");
    pub const PERMISSION_UPDATE: Endpoint = Endpoint::mutation("/v1/mgmt/permission/update");
    pub const PERMISSION_DELETE: Endpoint = Endpoint::mutation("/v1/mgmt/permission/delete");
    pub const PERMISSION_LOAD_ALL: Endpoint = Endpoint::get("/v1/mgmt/permission/all");
    pub const PERMISSION_CREATE_BATCH: Endpoint =
        Endpoint::mutation("/v1/mgmt/permission/create/batch");
    pub const PERMISSION_UPDATE_BATCH: Endpoint =
        Endpoint::mutation("/v1/mgmt/permission/update/batch");
    pub const PERMISSION_DELETE_BATCH: Endpoint =
        Endpoint::mutation("/v1/mgmt/permission/delete/batch");
    pub const ROLE_CREATE: Endpoint = Endpoint::mutation("/v1/mgmt/role/create");
    pub const ROLE_UPDATE: Endpoint = Endpoint::mutation("/v1/mgmt/role/update");
    pub const ROLE_DELETE: Endpoint = Endpoint::mutation("/v1/mgmt/role/delete");
    pub const ROLE_LOAD_ALL: Endpoint = Endpoint::get("/v1/mgmt/role/all");
    pub const ROLE_SEARCH: Endpoint = Endpoint::post("/v1/mgmt/role/search");
    pub const ROLE_CREATE_BATCH: Endpoint = Endpoint::mutation("/v1/mgmt/role/create/batch");
    pub const ROLE_UPDATE_BATCH: Endpoint = Endpoint::mutation("/v1/mgmt/role/update/batch");
    pub const ROLE_DELETE_BATCH: Endpoint = Endpoint::mutation("/v1/mgmt/role/delete/batch");
    pub const FLOW_LIST: Endpoint = Endpoint::post("/v1/mgmt/flow/list");
    pub const FLOW_EXPORT: Endpoint = Endpoint::post("/v1/mgmt/flow/export");
    pub const FLOW_IMPORT: Endpoint = Endpoint::mutation("/v1/mgmt/flow/import");
    pub const FLOW_DELETE: Endpoint = Endpoint::mutation("/v1/mgmt/flow/delete");
    pub const THEME_EXPORT: Endpoint = Endpoint::post("/v1/mgmt/theme/export");
    pub const THEME_IMPORT: Endpoint = Endpoint::mutation("/v1/mgmt/theme/import");
    pub const FLOW_EXPORT_V2: Endpoint = Endpoint::post("/v2/mgmt/flow/export");
    pub const FLOW_IMPORT_V2: Endpoint = Endpoint::mutation("/v2/mgmt/flow/import");
    pub const THEME_EXPORT_V2: Endpoint = Endpoint::post("/v2/mgmt/theme/export");
    pub const THEME_IMPORT_V2: Endpoint = Endpoint::mutation("/v2/mgmt/theme/import");
}

use endpoints as ep;

const NO_QUERY: &[(&str, &str)] = &[];

impl Client {
    /// A call whose answer is ignored (Descope answers `{}` or nothing).
    async fn send(&self, endpoint: Endpoint, body: &Value) -> Result<(), ApiError> {
        self.call::<Value, Value>(endpoint, NO_QUERY, Some(body))
            .await
            .map(drop)
    }

    async fn get<R: serde::de::DeserializeOwned>(
        &self,
        endpoint: Endpoint,
        query: &[(&str, &str)],
    ) -> Result<R, ApiError> {
        self.call::<Value, R>(endpoint, query, None).await
    }
}

/// Every role: `role/all`, completed by [`add_tenant_roles`].
pub(crate) async fn load_roles(
    provider: &dyn Provider,
    tenants: &std::collections::BTreeSet<String>,
) -> Result<Vec<Raw<Role>>, ApiError> {
    let roles = provider.load_all_roles().await?;
    add_tenant_roles(provider, roles, tenants).await
}

/// `roles` as `role/all` answered, plus — when it lists no tenant-scoped role at all — the roles
/// a `role/search` by `tenants` (the tenants whose roles the caller cares about) finds, merged by
/// id. Whether `role/all` includes tenant-scoped roles is undocumented (`docs/descope-api.md` §4,
/// UNSURE): a `role/all` listing one does; one listing none may leave them out. This way both
/// answers give the same list, and the search costs calls only when it can matter.
pub(crate) async fn add_tenant_roles(
    provider: &dyn Provider,
    mut roles: Vec<Raw<Role>>,
    tenants: &std::collections::BTreeSet<String>,
) -> Result<Vec<Raw<Role>>, ApiError> {
    if tenants.is_empty() || roles.iter().any(|r| !r.tenant_id.is_empty()) {
        return Ok(roles);
    }
    let ids: Vec<String> = tenants.iter().cloned().collect();
    let known: std::collections::HashSet<String> = roles.iter().map(|r| r.id.clone()).collect();
    for chunk in ids.chunks(100) {
        let found = provider.search_tenant_roles(chunk).await?;
        roles.extend(found.into_iter().filter(|r| !known.contains(&r.id)));
    }
    Ok(roles)
}

/// A load-all answer (`{"tenants": [...]}`, `{"roles": [...]}`, ...) with each item's whole body
/// kept. `null` or a missing list reads as empty; other keys of the answer are ignored.
struct RawList<T>(Vec<Raw<T>>);

/// The key under which a load-all answer lists its objects.
trait Listed {
    const KEY: &'static str;
}

impl Listed for Tenant {
    const KEY: &'static str = "tenants";
}

impl Listed for Role {
    const KEY: &'static str = "roles";
}

impl Listed for Permission {
    const KEY: &'static str = "permissions";
}

/// Where the items of a load-all answer go as they are read.
trait Sink<T> {
    /// The answer's list starts (again, for an answer that repeats its key).
    fn restart(&mut self) -> Result<(), String>;
    fn keep(&mut self, item: Raw<T>);
}

/// Collected: the last of duplicate keys wins, as in a JSON object read into a map.
impl<T> Sink<T> for Vec<Raw<T>> {
    fn restart(&mut self) -> Result<(), String> {
        self.clear();
        Ok(())
    }

    fn keep(&mut self, item: Raw<T>) {
        self.push(item);
    }
}

/// Handed on one by one: what was handed on cannot be taken back, so a repeated list is an error.
struct Each<'a, T> {
    keep: &'a mut (dyn FnMut(Raw<T>) + Send),
    started: bool,
}

impl<T: Listed> Sink<T> for Each<'_, T> {
    fn restart(&mut self) -> Result<(), String> {
        if std::mem::replace(&mut self.started, true) {
            return Err(format!("the answer lists `{}` twice", T::KEY));
        }
        Ok(())
    }

    fn keep(&mut self, item: Raw<T>) {
        (self.keep)(item);
    }
}

// Read straight from the reply's bytes: the list is decoded item by item as it is parsed, other
// keys are skipped unparsed. (Parsing the whole reply into a JSON tree first, then the list out of
// it, built every object twice: at scale, 10,000 tenants, that was most of a refresh's own time.)
struct Answer<'s, T, S>(&'s mut S, std::marker::PhantomData<T>);

impl<'de, T: serde::de::DeserializeOwned + Listed, S: Sink<T>> serde::de::DeserializeSeed<'de>
    for Answer<'_, T, S>
{
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_map(self)
    }
}

impl<'de, T: serde::de::DeserializeOwned + Listed, S: Sink<T>> serde::de::Visitor<'de>
    for Answer<'_, T, S>
{
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "an object with a `{}` list", T::KEY)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key == T::KEY {
                self.0.restart().map_err(serde::de::Error::custom)?;
                map.next_value_seed(Items::<T, S>(&mut *self.0, std::marker::PhantomData))?;
            } else {
                map.next_value::<serde::de::IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

/// The list itself (or `null`), each item handed to the sink.
struct Items<'s, T, S>(&'s mut S, std::marker::PhantomData<T>);

impl<'de, T: serde::de::DeserializeOwned + Listed, S: Sink<T>> serde::de::DeserializeSeed<'de>
    for Items<'_, T, S>
{
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_option(self)
    }
}

impl<'de, T: serde::de::DeserializeOwned + Listed, S: Sink<T>> serde::de::Visitor<'de>
    for Items<'_, T, S>
{
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "a list of {}", T::KEY)
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_some<D: serde::Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_seq(self)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(item) = seq.next_element::<Raw<T>>()? {
            self.0.keep(item);
        }
        Ok(())
    }
}

impl<'de, T: serde::de::DeserializeOwned + Listed> serde::Deserialize<'de> for RawList<T> {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        use serde::de::DeserializeSeed;
        let mut list = Vec::new();
        Answer::<T, _>(&mut list, std::marker::PhantomData).deserialize(de)?;
        Ok(RawList(list))
    }
}

/// Reads a load-all answer's `bytes`, handing each item to `sink` as it is parsed.
fn read_list<T: serde::de::DeserializeOwned + Listed>(
    bytes: &[u8],
    sink: &mut impl Sink<T>,
) -> Result<(), serde_json::Error> {
    use serde::de::DeserializeSeed;
    let mut de = serde_json::Deserializer::from_slice(bytes);
    Answer::<T, _>(sink, std::marker::PhantomData).deserialize(&mut de)?;
    de.end()
}

fn refuse_empty(endpoint: Endpoint, list: &[String], what: &str) -> Result<(), ApiError> {
    match list.is_empty() {
        true => Err(ApiError::Refused {
            endpoint,
            reason: format!("the list of {what} is empty"),
        }),
        false => Ok(()),
    }
}

impl Provider for Client {
    fn license(&self) -> ApiFuture<'_, License> {
        Box::pin(async move {
            let license: License = self.get(ep::LICENSE, NO_QUERY).await?;
            self.set_license(&license.rate_limit_tier);
            Ok(license)
        })
    }

    fn create_tenant<'a>(&'a self, tenant: &'a TenantRequest) -> ApiFuture<'a, String> {
        Box::pin(async move {
            let created: TenantCreated =
                self.call(ep::TENANT_CREATE, NO_QUERY, Some(tenant)).await?;
            Ok(created.id)
        })
    }

    fn update_tenant<'a>(&'a self, tenant: &'a TenantRequest) -> ApiFuture<'a, ()> {
        Box::pin(async move { self.send(ep::TENANT_UPDATE, &json!(tenant)).await })
    }

    fn delete_tenant<'a>(&'a self, id: &'a str, cascade: bool) -> ApiFuture<'a, ()> {
        Box::pin(async move {
            self.send(ep::TENANT_DELETE, &json!({"id": id, "cascade": cascade}))
                .await
        })
    }

    fn load_tenant<'a>(&'a self, id: &'a str) -> ApiFuture<'a, Tenant> {
        Box::pin(async move {
            let loaded: LoadedTenant = self.get(ep::TENANT_LOAD, &[("id", id)]).await?;
            Ok(loaded.0)
        })
    }

    fn search_tenants<'a>(&'a self, ids: &'a [String]) -> ApiFuture<'a, Vec<Tenant>> {
        Box::pin(async move {
            let body = json!({ "tenantIds": ids });
            let found = self
                .call::<Value, RawList<Tenant>>(ep::TENANT_SEARCH, NO_QUERY, Some(&body))
                .await?;
            Ok(found.0.into_iter().map(|t| t.value).collect())
        })
    }

    fn load_all_tenants(&self) -> ApiFuture<'_, Vec<Raw<Tenant>>> {
        Box::pin(async move {
            Ok(self
                .get::<RawList<Tenant>>(ep::TENANT_LOAD_ALL, NO_QUERY)
                .await?
                .0)
        })
    }

    fn load_all_tenants_into<'a>(
        &'a self,
        keep: &'a mut (dyn FnMut(Raw<Tenant>) + Send),
    ) -> ApiFuture<'a, ()> {
        Box::pin(async move {
            let mut each = Each {
                keep,
                started: false,
            };
            self.call_decoding::<Value, ()>(ep::TENANT_LOAD_ALL, NO_QUERY, None, |bytes| {
                read_list::<Tenant>(bytes, &mut each)
            })
            .await
        })
    }

    fn update_tenant_default_roles<'a>(
        &'a self,
        id: &'a str,
        roles: &'a [String],
    ) -> ApiFuture<'a, ()> {
        Box::pin(async move {
            self.send(
                ep::TENANT_DEFAULT_ROLES,
                &json!({"id": id, "defaultRoles": roles}),
            )
            .await
        })
    }

    fn load_tenant_settings<'a>(&'a self, id: &'a str) -> ApiFuture<'a, Option<Value>> {
        Box::pin(async move {
            // Whether Descope answers 404 or an empty object for a tenant without settings is
            // undocumented: both read as "no settings".
            match self
                .get::<Value>(ep::TENANT_SETTINGS_LOAD, &[("id", id)])
                .await
            {
                Ok(Value::Object(settings)) if !settings.is_empty() => {
                    Ok(Some(Value::Object(settings)))
                }
                Ok(Value::Object(_) | Value::Null) => Ok(None),
                Ok(other) => Err(ApiError::Decode {
                    endpoint: ep::TENANT_SETTINGS_LOAD,
                    status: 200,
                    detail: format!("expected the settings object, found `{other}`"),
                }),
                Err(e) if e.is_not_found() => Ok(None),
                Err(e) => Err(e),
            }
        })
    }

    fn update_tenant_settings<'a>(
        &'a self,
        id: &'a str,
        settings: &'a Map<String, Value>,
    ) -> ApiFuture<'a, ()> {
        Box::pin(async move {
            let mut body = settings.clone();
            body.insert("tenantId".to_owned(), json!(id));
            self.send(ep::TENANT_SETTINGS_UPDATE, &Value::Object(body))
                .await
        })
    }

    fn create_permission<'a>(&'a self, permission: &'a PermissionCreate) -> ApiFuture<'a, ()> {
        Box::pin(async move { self.send(ep::PERMISSION_CREATE, &json!(permission)).await })
    }

    fn update_permission<'a>(&'a self, permission: &'a PermissionUpdate) -> ApiFuture<'a, ()> {
        Box::pin(async move { self.send(ep::PERMISSION_UPDATE, &json!(permission)).await })
    }

    fn delete_permission<'a>(&'a self, name: &'a str) -> ApiFuture<'a, ()> {
        Box::pin(async move {
            self.send(ep::PERMISSION_DELETE, &json!({"name": name}))
                .await
        })
    }

    fn load_all_permissions(&self) -> ApiFuture<'_, Vec<Raw<Permission>>> {
        Box::pin(async move {
            Ok(self
                .get::<RawList<Permission>>(ep::PERMISSION_LOAD_ALL, NO_QUERY)
                .await?
                .0)
        })
    }

    fn create_permissions<'a>(&'a self, permissions: &'a [PermissionCreate]) -> ApiFuture<'a, ()> {
        Box::pin(async move {
            self.send(
                ep::PERMISSION_CREATE_BATCH,
                &json!({"permissions": permissions}),
            )
            .await
        })
    }

    fn update_permissions<'a>(&'a self, permissions: &'a [PermissionUpdate]) -> ApiFuture<'a, ()> {
        Box::pin(async move {
            self.send(
                ep::PERMISSION_UPDATE_BATCH,
                &json!({"permissions": permissions}),
            )
            .await
        })
    }

    fn delete_permissions<'a>(&'a self, names: &'a [String]) -> ApiFuture<'a, ()> {
        Box::pin(async move {
            refuse_empty(ep::PERMISSION_DELETE_BATCH, names, "permission names")?;
            self.send(ep::PERMISSION_DELETE_BATCH, &json!({"names": names}))
                .await
        })
    }

    fn create_role<'a>(&'a self, role: &'a RoleCreate) -> ApiFuture<'a, ()> {
        Box::pin(async move { self.send(ep::ROLE_CREATE, &json!(role)).await })
    }

    fn update_role<'a>(&'a self, role: &'a RoleUpdate) -> ApiFuture<'a, ()> {
        Box::pin(async move { self.send(ep::ROLE_UPDATE, &json!(role)).await })
    }

    fn delete_role<'a>(&'a self, role: &'a RoleDelete) -> ApiFuture<'a, ()> {
        Box::pin(async move {
            if role.id.as_deref().is_none_or(str::is_empty)
                && role.name.as_deref().is_none_or(str::is_empty)
            {
                return Err(ApiError::Refused {
                    endpoint: ep::ROLE_DELETE,
                    reason: "no role name or id".to_owned(),
                });
            }
            self.send(ep::ROLE_DELETE, &json!(role)).await
        })
    }

    fn load_all_roles(&self) -> ApiFuture<'_, Vec<Raw<Role>>> {
        Box::pin(async move {
            Ok(self
                .get::<RawList<Role>>(ep::ROLE_LOAD_ALL, NO_QUERY)
                .await?
                .0)
        })
    }

    fn search_tenant_roles<'a>(
        &'a self,
        tenant_ids: &'a [String],
    ) -> ApiFuture<'a, Vec<Raw<Role>>> {
        Box::pin(async move {
            let body = json!({"tenantIds": tenant_ids, "includeProjectRoles": false});
            Ok(self
                .call::<Value, RawList<Role>>(ep::ROLE_SEARCH, NO_QUERY, Some(&body))
                .await?
                .0)
        })
    }

    fn create_roles<'a>(&'a self, roles: &'a [RoleCreate]) -> ApiFuture<'a, ()> {
        Box::pin(async move {
            self.send(ep::ROLE_CREATE_BATCH, &json!({"roles": roles}))
                .await
        })
    }

    fn update_roles<'a>(&'a self, roles: &'a [RoleUpdate]) -> ApiFuture<'a, ()> {
        Box::pin(async move {
            self.send(ep::ROLE_UPDATE_BATCH, &json!({"roles": roles}))
                .await
        })
    }

    fn delete_roles<'a>(
        &'a self,
        names: &'a [String],
        tenant_id: Option<&'a str>,
    ) -> ApiFuture<'a, ()> {
        Box::pin(async move {
            refuse_empty(ep::ROLE_DELETE_BATCH, names, "role names")?;
            if names.iter().any(String::is_empty) {
                return Err(ApiError::Refused {
                    endpoint: ep::ROLE_DELETE_BATCH,
                    reason: "a role name is empty".to_owned(),
                });
            }
            let body = RoleDeleteBatch {
                role_names: Some(names.to_vec()),
                tenant_id: tenant_id.map(str::to_owned),
                role_ids: None,
            };
            self.send(ep::ROLE_DELETE_BATCH, &json!(body)).await
        })
    }

    fn list_flows(&self) -> ApiFuture<'_, Vec<FlowSummary>> {
        Box::pin(async move {
            let list: FlowListResponse =
                self.call(ep::FLOW_LIST, NO_QUERY, Some(&json!({}))).await?;
            Ok(list.flows)
        })
    }

    fn export_flow<'a>(&'a self, flow_id: &'a str) -> ApiFuture<'a, FlowDocument> {
        Box::pin(async move {
            self.call(ep::FLOW_EXPORT, NO_QUERY, Some(&json!({"flowId": flow_id})))
                .await
        })
    }

    fn import_flow<'a>(
        &'a self,
        flow_id: &'a str,
        document: &'a FlowDocument,
    ) -> ApiFuture<'a, FlowDocument> {
        Box::pin(async move {
            let body =
                json!({"flowId": flow_id, "flow": document.flow, "screens": document.screens});
            self.call(ep::FLOW_IMPORT, NO_QUERY, Some(&body)).await
        })
    }

    fn delete_flows<'a>(&'a self, flow_ids: &'a [String]) -> ApiFuture<'a, ()> {
        Box::pin(async move {
            refuse_empty(ep::FLOW_DELETE, flow_ids, "flow ids")?;
            self.send(ep::FLOW_DELETE, &json!({"ids": flow_ids})).await
        })
    }

    fn export_theme(&self) -> ApiFuture<'_, ThemeDocument> {
        Box::pin(async move {
            self.call(ep::THEME_EXPORT, NO_QUERY, Some(&json!({})))
                .await
        })
    }

    fn export_flow_v2<'a>(&'a self, flow_id: &'a str) -> ApiFuture<'a, FlowDocumentV2> {
        Box::pin(async move {
            self.call(
                ep::FLOW_EXPORT_V2,
                NO_QUERY,
                Some(&json!({"flowId": flow_id})),
            )
            .await
        })
    }

    fn import_flow_v2<'a>(
        &'a self,
        flow_id: &'a str,
        document: &'a FlowDocumentV2,
    ) -> ApiFuture<'a, ()> {
        Box::pin(async move {
            let Some(flow) = document.flow.as_object() else {
                return Err(ApiError::Refused {
                    endpoint: ep::FLOW_IMPORT_V2,
                    reason: format!("the v2 document of flow `{flow_id}` has no `flow` object"),
                });
            };
            // As the Go SDK does: the flow id of the call wins over the document's.
            let mut flow = flow.clone();
            flow.insert("flowId".to_owned(), json!(flow_id));
            self.send(ep::FLOW_IMPORT_V2, &json!({"flow": flow})).await
        })
    }

    fn export_theme_v2(&self) -> ApiFuture<'_, ThemeDocument> {
        Box::pin(async move {
            self.call::<Value, ThemeDocument>(ep::THEME_EXPORT_V2, NO_QUERY, None)
                .await
        })
    }

    fn import_theme_v2<'a>(&'a self, theme: &'a ThemeDocument) -> ApiFuture<'a, ()> {
        Box::pin(async move {
            self.send(ep::THEME_IMPORT_V2, &json!({"theme": theme.theme}))
                .await
        })
    }

    fn resend_pause(&self, failures: u32) -> Pause<'_> {
        Client::resend_pause(self, failures)
    }

    fn import_theme<'a>(&'a self, theme: &'a ThemeDocument) -> ApiFuture<'a, ThemeDocument> {
        Box::pin(async move {
            self.call(
                ep::THEME_IMPORT,
                NO_QUERY,
                Some(&json!({"theme": theme.theme})),
            )
            .await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenants(text: &str) -> Result<Vec<Raw<Tenant>>, serde_json::Error> {
        serde_json::from_str::<RawList<Tenant>>(text).map(|l| l.0)
    }

    #[test]
    fn a_load_all_answer_is_read_item_by_item_with_each_whole_body_kept() {
        let list = tenants(
            r#"{"total": 2, "tenants": [{"name": "B", "id": "b", "zeta": {"y": 1, "x": [2]}},
                {"id": "a", "name": "A", "selfProvisioningDomains": null}], "next": {"deep": [1]}}"#,
        )
        .unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!((list[0].id.as_str(), list[0].name.as_str()), ("b", "B"));
        // Unmodelled fields stay in the body, keys sorted at every depth.
        assert_eq!(
            list[0].body.as_str(),
            r#"{"id":"b","name":"B","zeta":{"x":[2],"y":1}}"#
        );
        assert!(list[1].self_provisioning_domains.is_empty());
    }

    #[test]
    fn items_handed_on_as_read_are_those_the_list_holds_and_a_repeated_list_is_refused() {
        let each = |text: &str| {
            let mut ids = Vec::new();
            let mut keep = |t: Raw<Tenant>| ids.push(t.value.id);
            let mut sink = Each {
                keep: &mut keep,
                started: false,
            };
            read_list::<Tenant>(text.as_bytes(), &mut sink).map(|()| ids)
        };
        let text = r#"{"total": 2, "tenants": [{"id": "b"}, {"id": "a", "x": 1}], "next": 1}"#;
        assert_eq!(each(text).unwrap(), ["b", "a"]);
        assert_eq!(
            tenants(text)
                .unwrap()
                .into_iter()
                .map(|t| t.value.id)
                .collect::<Vec<_>>(),
            ["b", "a"]
        );
        assert!(each(r#"{"tenants": null}"#).unwrap().is_empty());
        assert!(each(r#"{"tenants": [1]}"#).is_err());
        assert!(each(r#"{"tenants": []} x"#).is_err());
        // Collected, the last list wins; handed on, the first cannot be taken back.
        let twice = r#"{"tenants": [{"id": "a"}], "tenants": [{"id": "b"}]}"#;
        assert_eq!(tenants(twice).unwrap()[0].value.id, "b");
        let err = each(twice).unwrap_err();
        assert!(err.to_string().contains("lists `tenants` twice"), "{err}");
    }

    #[test]
    fn a_missing_or_null_list_is_empty_and_anything_else_is_an_error() {
        assert!(tenants(r#"{}"#).unwrap().is_empty());
        assert!(
            tenants(r#"{"tenants": null, "other": 1}"#)
                .unwrap()
                .is_empty()
        );
        assert!(tenants(r#"{"tenants": {}}"#).is_err());
        assert!(tenants(r#"[]"#).is_err());
        assert!(tenants(r#"{"tenants": [1]}"#).is_err());
    }
}
