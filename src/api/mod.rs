//! The Descope management API: wire types, and a client behind the [`Provider`] trait.
//!
//! [`Client`] paces every call through one rate limiter, honours 429 `Retry-After` by pausing all of
//! its callers, retries reads after 5xx and connection errors with bounded jittered backoff, and
//! maps Descope's error answers to [`ApiError`]. It never resends a mutation whose reply may have
//! been lost: the executor reads the object back first ([`Provider::resend_pause`]). The executor depends on [`Provider`] only, so tests can swap in a
//! fake. This module knows HTTP and Descope's wire format, nothing about plans, state or files.

mod calls;
mod client;
mod endpoint;
mod error;
mod limiter;
mod retry;
mod secret;
pub mod wire;

use std::future::Future;
use std::pin::Pin;

pub use calls::endpoints;
pub(crate) use calls::{add_tenant_roles, load_roles};
pub use client::{Client, ClientConfig};
pub(crate) use client::{HttpEvent, HttpLog};
pub use endpoint::Endpoint;
pub use error::ApiError;
pub use retry::{RateLimit, RetryPolicy, Sleeper};
pub use secret::ManagementKey;

// Named only by unit tests (fake Descope errors); the crate meets it inside `ApiError`.
#[cfg(test)]
pub(crate) use error::DescopeError;

use wire::{
    FlowDocument, FlowDocumentV2, FlowSummary, License, Permission, PermissionCreate,
    PermissionUpdate, Raw, Role, RoleCreate, RoleDelete, RoleUpdate, Tenant, TenantRequest,
    ThemeDocument,
};

/// The future every [`Provider`] call returns (boxed so `dyn Provider` works and it is `Send`).
pub type ApiFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, ApiError>> + Send + 'a>>;

/// The management calls dmgmt makes. Implemented by [`Client`]; tests implement fakes.
pub trait Provider: Send + Sync {
    /// `GET /v1/mgmt/license`; afterwards the tier is sent as `x-descope-license`.
    fn license(&self) -> ApiFuture<'_, License>;

    /// Creates a tenant; `id` `None` lets Descope generate it. Returns the id.
    fn create_tenant<'a>(&'a self, tenant: &'a TenantRequest) -> ApiFuture<'a, String>;
    /// Replaces the tenant named by `tenant.id` (absent fields become empty).
    fn update_tenant<'a>(&'a self, tenant: &'a TenantRequest) -> ApiFuture<'a, ()>;
    fn delete_tenant<'a>(&'a self, id: &'a str, cascade: bool) -> ApiFuture<'a, ()>;
    fn load_tenant<'a>(&'a self, id: &'a str) -> ApiFuture<'a, Tenant>;
    /// `POST /v1/mgmt/tenant/search` by ids: the tenants among `ids` that exist (a Descope that
    /// ignores the filter may answer more; callers pick theirs).
    fn search_tenants<'a>(&'a self, ids: &'a [String]) -> ApiFuture<'a, Vec<Tenant>>;
    /// Every tenant, each with its whole body as Descope sent it.
    fn load_all_tenants(&self) -> ApiFuture<'_, Vec<Raw<Tenant>>>;
    /// [`load_all_tenants`](Self::load_all_tenants), each tenant handed to `keep` as soon as it
    /// is read: the answer's tenants are then never all held at once, decoded, beside what
    /// `keep` makes of them (at 100,000 tenants that pair was the peak of a plan's memory).
    fn load_all_tenants_into<'a>(
        &'a self,
        keep: &'a mut (dyn FnMut(Raw<Tenant>) + Send),
    ) -> ApiFuture<'a, ()> {
        Box::pin(async move {
            self.load_all_tenants().await?.into_iter().for_each(keep);
            Ok(())
        })
    }
    fn update_tenant_default_roles<'a>(
        &'a self,
        id: &'a str,
        roles: &'a [String],
    ) -> ApiFuture<'a, ()>;
    /// `GET /v1/mgmt/tenant/settings?id=`: the tenant's settings object as Descope sent it (every
    /// key kept), `None` when Descope has none for it (a 404, or an empty answer).
    fn load_tenant_settings<'a>(&'a self, id: &'a str) -> ApiFuture<'a, Option<serde_json::Value>>;
    /// `POST /v1/mgmt/tenant/settings`: `settings` (a whole settings object as loaded, so that
    /// nothing is reset) with `tenantId` set to `id`.
    fn update_tenant_settings<'a>(
        &'a self,
        id: &'a str,
        settings: &'a serde_json::Map<String, serde_json::Value>,
    ) -> ApiFuture<'a, ()>;

    fn create_permission<'a>(&'a self, permission: &'a PermissionCreate) -> ApiFuture<'a, ()>;
    /// Replaces the description and renames via `new_name` (set it to the current name to keep it).
    fn update_permission<'a>(&'a self, permission: &'a PermissionUpdate) -> ApiFuture<'a, ()>;
    fn delete_permission<'a>(&'a self, name: &'a str) -> ApiFuture<'a, ()>;
    fn load_all_permissions(&self) -> ApiFuture<'_, Vec<Raw<Permission>>>;
    fn create_permissions<'a>(&'a self, permissions: &'a [PermissionCreate]) -> ApiFuture<'a, ()>;
    fn update_permissions<'a>(&'a self, permissions: &'a [PermissionUpdate]) -> ApiFuture<'a, ()>;
    /// Refuses an empty list (it must never turn into "delete everything").
    fn delete_permissions<'a>(&'a self, names: &'a [String]) -> ApiFuture<'a, ()>;

    fn create_role<'a>(&'a self, role: &'a RoleCreate) -> ApiFuture<'a, ()>;
    /// Replaces the role found by `id` or `(name, tenantId)`; `new_name` renames it (keeps its id).
    fn update_role<'a>(&'a self, role: &'a RoleUpdate) -> ApiFuture<'a, ()>;
    fn delete_role<'a>(&'a self, role: &'a RoleDelete) -> ApiFuture<'a, ()>;
    fn load_all_roles(&self) -> ApiFuture<'_, Vec<Raw<Role>>>;
    /// `role/search` for the roles of these tenants (`includeProjectRoles: false`).
    fn search_tenant_roles<'a>(&'a self, tenant_ids: &'a [String])
    -> ApiFuture<'a, Vec<Raw<Role>>>;
    fn create_roles<'a>(&'a self, roles: &'a [RoleCreate]) -> ApiFuture<'a, ()>;
    fn update_roles<'a>(&'a self, roles: &'a [RoleUpdate]) -> ApiFuture<'a, ()>;
    /// Deletes roles by name within one scope (`tenant_id` `None` = project roles). Refuses an
    /// empty list: Descope deletes every role when the filter is empty.
    fn delete_roles<'a>(
        &'a self,
        names: &'a [String],
        tenant_id: Option<&'a str>,
    ) -> ApiFuture<'a, ()>;

    fn list_flows(&self) -> ApiFuture<'_, Vec<FlowSummary>>;
    fn export_flow<'a>(&'a self, flow_id: &'a str) -> ApiFuture<'a, FlowDocument>;
    /// Overwrites the flow; returns the stored document.
    fn import_flow<'a>(
        &'a self,
        flow_id: &'a str,
        document: &'a FlowDocument,
    ) -> ApiFuture<'a, FlowDocument>;
    /// Refuses an empty list.
    fn delete_flows<'a>(&'a self, flow_ids: &'a [String]) -> ApiFuture<'a, ()>;
    fn export_theme(&self) -> ApiFuture<'_, ThemeDocument>;
    /// Overwrites the theme; returns the stored document.
    fn import_theme<'a>(&'a self, theme: &'a ThemeDocument) -> ApiFuture<'a, ThemeDocument>;

    /// `POST /v2/mgmt/flow/export`: the flow as one v2 document.
    fn export_flow_v2<'a>(&'a self, flow_id: &'a str) -> ApiFuture<'a, FlowDocumentV2>;
    /// `POST /v2/mgmt/flow/import`: overwrites the flow (its `flowId` set to `flow_id`); Descope
    /// answers nothing.
    fn import_flow_v2<'a>(
        &'a self,
        flow_id: &'a str,
        document: &'a FlowDocumentV2,
    ) -> ApiFuture<'a, ()>;
    /// `POST /v2/mgmt/theme/export` (no body): `{"theme": {styles, componentsVersion, ...}}`.
    fn export_theme_v2(&self) -> ApiFuture<'_, ThemeDocument>;
    /// `POST /v2/mgmt/theme/import`: overwrites the theme; Descope answers nothing.
    fn import_theme_v2<'a>(&'a self, theme: &'a ThemeDocument) -> ApiFuture<'a, ()>;

    /// Waits before the caller resends a mutation after its `failures`-th failure (1-based): the
    /// client's backoff with jitter. Fakes need not wait.
    fn resend_pause(&self, _failures: u32) -> Pause<'_> {
        Box::pin(std::future::ready(()))
    }
}

/// The future of [`Provider::resend_pause`].
pub type Pause<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;
