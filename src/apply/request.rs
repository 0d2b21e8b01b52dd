//! What each change sends: the Descope call of every (kind, action) and its body, built from the
//! change's `after` (the whole object in Descope's field names) and `before` (the live object).
//!
//! Bodies carry every field the request type has, taken from `after`, so that Descope's
//! replace-everything updates blank nothing the configuration does not manage; fields Descope
//! computes itself (`createdTime`, `domains`, `successors`, `authType`...) are never sent.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use super::fresh::TenantReads;
use super::readback::Listing;
use crate::api::wire::{
    FlowDocument, FlowDocumentV2, PermissionCreate, PermissionUpdate, RoleCreate, RoleDelete,
    RoleUpdate, TenantRequest, ThemeDocument,
};
use crate::api::{ApiError, Endpoint, Provider, endpoints as ep};
use crate::model::{DocFormat, ResourceAddr, ResourceKind, attrs};
use crate::plan::{Action, Change};

use crate::model::attrs::{
    PERMISSION_WRITE_FIELDS, ROLE_WRITE_FIELDS as ROLE_FIELDS, TENANT_UPDATE_FIELDS,
};

/// What a successful call tells about what Descope holds.
pub(crate) enum Sent {
    /// This body (`None`: the object is gone).
    Holds(Option<Value>),
    /// A created role or permission: read it back for the id Descope gave it.
    Created,
}

/// The batch a change can join: one kind, one action (role deletes by tenant scope).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BatchKey {
    PermissionCreate,
    PermissionUpdate,
    PermissionDelete,
    RoleCreate,
    RoleUpdate,
    RoleDelete { tenant: Option<String> },
}

impl BatchKey {
    pub(crate) fn of(change: &Change) -> Option<BatchKey> {
        if !change.calls_api() {
            return None;
        }
        let kind = change.kind();
        Some(match (kind, &change.action) {
            (ResourceKind::Permission, Action::Create) => BatchKey::PermissionCreate,
            (ResourceKind::Permission, Action::Delete) => BatchKey::PermissionDelete,
            (ResourceKind::Permission, Action::Update | Action::Rename { .. } | Action::Adopt) => {
                BatchKey::PermissionUpdate
            }
            (ResourceKind::Role, Action::Create) => BatchKey::RoleCreate,
            (ResourceKind::Role, Action::Delete) => BatchKey::RoleDelete {
                tenant: role_scope(change),
            },
            (ResourceKind::Role, Action::Update | Action::Rename { .. } | Action::Adopt) => {
                BatchKey::RoleUpdate
            }
            _ => return None,
        })
    }

    pub(crate) fn kind(&self) -> ResourceKind {
        match self {
            BatchKey::PermissionCreate
            | BatchKey::PermissionUpdate
            | BatchKey::PermissionDelete => ResourceKind::Permission,
            _ => ResourceKind::Role,
        }
    }

    pub(crate) fn is_create(&self) -> bool {
        matches!(self, BatchKey::PermissionCreate | BatchKey::RoleCreate)
    }

    pub(crate) fn is_delete(&self) -> bool {
        matches!(
            self,
            BatchKey::PermissionDelete | BatchKey::RoleDelete { .. }
        )
    }

    pub(crate) fn verb(&self) -> &'static str {
        match (self.is_create(), self.is_delete()) {
            (true, _) => "create",
            (_, true) => "delete",
            _ => "update",
        }
    }
}

/// Sends the one call of `change` (not a batch).
pub(crate) async fn send(
    provider: &dyn Provider,
    tenants: &TenantReads,
    change: &Change,
) -> Result<Sent, ApiError> {
    let after = || change.after.clone();
    match (&change.addr, &change.action) {
        (ResourceAddr::Permission(_), Action::Create) => {
            provider
                .create_permission(&permission_create(change)?)
                .await?;
            Ok(Sent::Created)
        }
        (ResourceAddr::Permission(_), Action::Delete) => {
            provider
                .delete_permission(&permission_delete_name(change))
                .await?;
            Ok(Sent::Holds(None))
        }
        (ResourceAddr::Permission(_), Action::Update | Action::Rename { .. } | Action::Adopt) => {
            provider
                .update_permission(&permission_update(change)?)
                .await?;
            Ok(Sent::Holds(after()))
        }
        (ResourceAddr::Role { .. }, Action::Create) => {
            provider.create_role(&role_create(change)?).await?;
            Ok(Sent::Created)
        }
        (ResourceAddr::Role { .. }, Action::Delete) => {
            provider.delete_role(&role_delete(change)).await?;
            Ok(Sent::Holds(None))
        }
        (ResourceAddr::Role { .. }, Action::Update | Action::Rename { .. } | Action::Adopt) => {
            update_role(provider, change).await
        }
        (ResourceAddr::Tenant(_), Action::Create) => {
            provider
                .create_tenant(&tenant_request(change, change.after.as_ref(), true)?)
                .await?;
            Ok(Sent::Holds(after()))
        }
        (ResourceAddr::Tenant(id), Action::SetDefaultRoles) => {
            let wire =
                attrs::wire_field(ResourceKind::Tenant, "default_roles").unwrap_or("defaultRoles");
            let roles = strings(change.after.as_ref(), wire);
            provider.update_tenant_default_roles(id, &roles).await?;
            Ok(Sent::Holds(after()))
        }
        (ResourceAddr::Tenant(id), Action::SetSettings) => {
            tenant_settings(provider, id, change).await
        }
        (ResourceAddr::Tenant(id), Action::Delete) => {
            provider.delete_tenant(id, false).await?;
            Ok(Sent::Holds(None))
        }
        (ResourceAddr::Tenant(id), Action::Update | Action::Adopt) => {
            let body = current_tenant_body(provider, tenants, change, id).await?;
            let request = tenant_request(change, Some(&body), false)?;
            provider.update_tenant(&request).await?;
            Ok(Sent::Holds(Some(body)))
        }
        (ResourceAddr::Flow(id), Action::Delete) => {
            provider.delete_flows(std::slice::from_ref(id)).await?;
            Ok(Sent::Holds(None))
        }
        // A document goes through the routes of its own generation (`model::document`).
        (ResourceAddr::Flow(id), Action::Create | Action::Update | Action::Adopt) => {
            import_flow(provider, id, change).await
        }
        (ResourceAddr::Theme, Action::Create | Action::Update | Action::Adopt) => {
            import_theme(provider, change).await
        }
        (_, Action::Forget) => Ok(Sent::Holds(None)),
        (addr, action) => Err(ApiError::Refused {
            endpoint: endpoint_of(addr.kind()),
            reason: format!("`{addr}` cannot be changed with `{action:?}`"),
        }),
    }
}

/// A role's (replacing) update, made against the role as Descope holds it now (`rebase`).
async fn update_role(provider: &dyn Provider, change: &Change) -> Result<Sent, ApiError> {
    let listing = Listing::load(provider, ResourceKind::Role, &[change]).await?;
    let body = listing
        .find(change)
        .map(|now| super::rebase::rebase_role(change, now))
        .or_else(|| change.after.clone());
    provider
        .update_role(&role_update_from(change, body.as_ref())?)
        .await?;
    Ok(Sent::Holds(body))
}

/// A flow's import, through the routes of its document's generation.
async fn import_flow(provider: &dyn Provider, id: &str, change: &Change) -> Result<Sent, ApiError> {
    let after = || change.after.clone();
    match doc_format(change) {
        DocFormat::V1 => {
            let document: FlowDocument = document(change, "flow", ep::FLOW_IMPORT)?;
            let stored = provider.import_flow(id, &document).await?;
            // Descope answers the stored document, or nothing (then it holds what was sent:
            // recording the empty answer would show as drift on the next plan).
            Ok(Sent::Holds(match stored.flow.is_object() {
                true => Some(json!({"flow": stored.flow, "screens": stored.screens})),
                false => after(),
            }))
        }
        DocFormat::V2 => {
            let document: FlowDocumentV2 = document(change, "flow", ep::FLOW_IMPORT_V2)?;
            provider.import_flow_v2(id, &document).await?;
            // v2 answers nothing: Descope holds what was sent.
            Ok(Sent::Holds(after()))
        }
    }
}

/// The theme's import, through the routes of its document's generation.
async fn import_theme(provider: &dyn Provider, change: &Change) -> Result<Sent, ApiError> {
    let after = || change.after.clone();
    match doc_format(change) {
        DocFormat::V1 => {
            let document: ThemeDocument = document(change, "theme", ep::THEME_IMPORT)?;
            let stored = provider.import_theme(&document).await?;
            Ok(Sent::Holds(match stored.theme.is_object() {
                true => Some(json!({"theme": stored.theme})),
                false => after(),
            }))
        }
        DocFormat::V2 => {
            let document: ThemeDocument = document(change, "theme", ep::THEME_IMPORT_V2)?;
            provider.import_theme_v2(&document).await?;
            Ok(Sent::Holds(after()))
        }
    }
}

/// Puts a tenant's settings back: the whole settings object `after` holds, as a backup read it, so
/// that no setting is reset to a default.
async fn tenant_settings(
    provider: &dyn Provider,
    id: &str,
    change: &Change,
) -> Result<Sent, ApiError> {
    let Some(settings) = change.after.as_ref().and_then(Value::as_object) else {
        return Err(refused(
            ep::TENANT_SETTINGS_UPDATE,
            change,
            "has no settings object".into(),
        ));
    };
    provider.update_tenant_settings(id, settings).await?;
    Ok(Sent::Holds(change.after.clone()))
}

/// The fields of `after` (Descope's names) that the call of `change` writes, besides the name:
/// what a read-back must find in Descope before it takes the change as done. Keep it in step
/// with the bodies built below.
pub(crate) fn written_fields(change: &Change) -> Vec<&'static str> {
    match (change.kind(), &change.action) {
        (_, Action::Delete | Action::Forget) => Vec::new(),
        (ResourceKind::Tenant, Action::SetDefaultRoles) => vec!["defaultRoles"],
        (ResourceKind::Tenant, Action::Create) => TENANT_UPDATE_FIELDS
            .iter()
            .chain(&["parent"])
            .copied()
            .collect(),
        (ResourceKind::Tenant, _) => TENANT_UPDATE_FIELDS.to_vec(),
        (ResourceKind::Role, _) => ROLE_FIELDS.to_vec(),
        (ResourceKind::Permission, _) => PERMISSION_WRITE_FIELDS.to_vec(),
        (ResourceKind::Flow | ResourceKind::Theme, _) => Vec::new(),
    }
}

/// The endpoint an error about a `kind` change names when no call was made.
fn endpoint_of(kind: ResourceKind) -> Endpoint {
    match kind {
        ResourceKind::Permission => ep::PERMISSION_UPDATE,
        ResourceKind::Role => ep::ROLE_UPDATE,
        ResourceKind::Tenant => ep::TENANT_UPDATE,
        ResourceKind::Flow => ep::FLOW_IMPORT,
        ResourceKind::Theme => ep::THEME_IMPORT,
    }
}

fn refused(endpoint: Endpoint, change: &Change, what: String) -> ApiError {
    ApiError::Refused {
        endpoint,
        reason: format!("the body of `{}` {what}", change.addr),
    }
}

/// The `fields` of `from` as a request body of type `T`.
fn pick<T: DeserializeOwned>(
    change: &Change,
    from: Option<&Value>,
    fields: &[&str],
    endpoint: Endpoint,
) -> Result<T, ApiError> {
    let Some(source) = from.and_then(Value::as_object) else {
        return Err(refused(endpoint, change, "is missing".into()));
    };
    let picked: Map<String, Value> = fields
        .iter()
        .filter_map(|f| source.get(*f).map(|v| ((*f).to_owned(), v.clone())))
        .collect();
    serde_json::from_value(Value::Object(picked))
        .map_err(|e| refused(endpoint, change, format!("does not fit the request: {e}")))
}

/// The generation of the document a flow or theme change imports.
pub(crate) fn doc_format(change: &Change) -> DocFormat {
    change
        .after
        .as_ref()
        .map_or(DocFormat::V1, |doc| DocFormat::of(change.kind(), doc))
}

fn document<T: DeserializeOwned>(
    change: &Change,
    top: &str,
    endpoint: Endpoint,
) -> Result<T, ApiError> {
    let after = change.after.as_ref();
    if !after.and_then(|a| a.get(top)).is_some_and(Value::is_object) {
        return Err(refused(endpoint, change, format!("has no `{top}` object")));
    }
    let fields: &[&str] = match (top, doc_format(change)) {
        ("flow", DocFormat::V1) => &["flow", "screens"],
        _ => &[top],
    };
    pick(change, after, fields, endpoint)
}

fn string(body: Option<&Value>, field: &str) -> Option<String> {
    body.and_then(|b| b.get(field))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

fn strings(body: Option<&Value>, field: &str) -> Vec<String> {
    body.and_then(|b| b.get(field))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

/// The name of a role or permission in its address.
fn addr_name(addr: &ResourceAddr) -> &str {
    match addr {
        ResourceAddr::Permission(n) | ResourceAddr::Tenant(n) | ResourceAddr::Flow(n) => n,
        ResourceAddr::Role { name, .. } => name,
        ResourceAddr::Theme => "theme",
    }
}

/// The name the object has in Descope before the change: the old name of a rename.
pub(crate) fn current_name(change: &Change) -> String {
    match &change.action {
        Action::Rename { from } => from.clone(),
        _ => string(change.before.as_ref(), "name")
            .unwrap_or_else(|| addr_name(&change.addr).to_owned()),
    }
}

/// The name the object has once the change is done.
pub(crate) fn new_name(change: &Change) -> String {
    string(change.after.as_ref(), "name").unwrap_or_else(|| addr_name(&change.addr).to_owned())
}

/// The tenant of a role (`None`: a project role), as Descope holds it.
pub(crate) fn role_scope(change: &Change) -> Option<String> {
    let body = if change.action.is_delete() {
        change.before.as_ref()
    } else {
        change.after.as_ref()
    };
    string(body, "tenantId")
        .or_else(|| match &change.addr {
            ResourceAddr::Role { tenant, .. } => tenant.clone(),
            _ => None,
        })
        .filter(|t| !t.is_empty())
}

pub(crate) fn permission_create(change: &Change) -> Result<PermissionCreate, ApiError> {
    let mut body: PermissionCreate = pick(
        change,
        change.after.as_ref(),
        &PERMISSION_WRITE_FIELDS,
        ep::PERMISSION_CREATE,
    )?;
    body.name = Some(new_name(change));
    Ok(body)
}

pub(crate) fn permission_update(change: &Change) -> Result<PermissionUpdate, ApiError> {
    let mut body: PermissionUpdate = pick(
        change,
        change.after.as_ref(),
        &PERMISSION_WRITE_FIELDS,
        ep::PERMISSION_UPDATE,
    )?;
    match &change.live_id {
        Some(id) => body.id = Some(id.clone()),
        None => body.name = Some(current_name(change)),
    }
    body.new_name = Some(new_name(change));
    Ok(body)
}

fn permission_delete_name(change: &Change) -> String {
    current_name(change)
}

pub(crate) fn role_create(change: &Change) -> Result<RoleCreate, ApiError> {
    let mut body: RoleCreate = pick(change, change.after.as_ref(), &ROLE_FIELDS, ep::ROLE_CREATE)?;
    body.name = Some(new_name(change));
    Ok(body)
}

/// A full replacement: every field from `body` (the plan's `after`, or the role as Descope holds
/// it now with the plan's changes written over it); found by id (else by its current name and
/// tenant); `newName` renames it in place, keeping its id and its users.
pub(crate) fn role_update_from(
    change: &Change,
    body: Option<&Value>,
) -> Result<RoleUpdate, ApiError> {
    let mut body: RoleUpdate = pick(change, body, &ROLE_FIELDS, ep::ROLE_UPDATE)?;
    match &change.live_id {
        Some(id) => body.id = Some(id.clone()),
        None => body.name = Some(current_name(change)),
    }
    body.new_name = Some(new_name(change));
    Ok(body)
}

fn role_delete(change: &Change) -> RoleDelete {
    RoleDelete {
        id: change.live_id.clone(),
        name: change.live_id.is_none().then(|| current_name(change)),
        tenant_id: role_scope(change),
    }
}

/// The body of a tenant's (replacing) update: the tenant as Descope holds it now (read just now,
/// or read ahead within seconds: `fresh.rs`) with what the plan changes written over it
/// (`rebase`), so a console edit made since the refresh is not reset. A tenant gone since is sent
/// the plan's body (Descope then answers that it does not exist).
async fn current_tenant_body(
    provider: &dyn Provider,
    tenants: &TenantReads,
    change: &Change,
    id: &str,
) -> Result<Value, ApiError> {
    match tenants.current(provider, id).await? {
        Some(tenant) => {
            let current = serde_json::to_value(tenant).unwrap_or(Value::Null);
            Ok(super::rebase::rebase_tenant(change, &current))
        }
        None => Ok(change.after.clone().unwrap_or(Value::Null)),
    }
}

/// A tenant's create or (replacing) update body: every field `TenantRequest` has, from `body`;
/// `parent` only on create.
fn tenant_request(
    change: &Change,
    body: Option<&Value>,
    create: bool,
) -> Result<TenantRequest, ApiError> {
    let (endpoint, parent) = match create {
        true => (ep::TENANT_CREATE, &["parent"][..]),
        false => (ep::TENANT_UPDATE, &[][..]),
    };
    let fields: Vec<&str> = TENANT_UPDATE_FIELDS.iter().chain(parent).copied().collect();
    let mut body: TenantRequest = pick(change, body, &fields, endpoint)?;
    body.id = Some(addr_name(&change.addr).to_owned());
    if body.parent.as_deref() == Some("") {
        body.parent = None;
    }
    Ok(body)
}
