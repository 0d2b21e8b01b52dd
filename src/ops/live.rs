//! Refresh: reading everything dmgmt models from Descope into a [`Snapshot`], in the attribute
//! shape the planner compares (see `model::attrs`). Only reads; never mutates.
//!
//! Calls: one load-all each for permissions, roles and tenants, one flow list, one export per
//! flow that the config or the state names (unmanaged flows are only listed), and the theme if
//! the config or the state manages it — all through the client's rate limiter, flows
//! concurrently.

use std::collections::{BTreeMap, BTreeSet};

use futures_util::StreamExt;
use serde_json::{Map, Value, json};

use crate::api::wire::{FlowDocument, Permission, Role, Tenant, ThemeDocument};
use crate::api::{ApiError, Provider};
use crate::model::attrs::{normalize_document, sorted};
use crate::model::{LiveObject, RawBody, ResourceAddr, ResourceKind, Snapshot};
use crate::state::canonical::{canonical_json, sha256_hex};

/// Reports refresh progress (the CLI draws it; tests ignore it).
pub trait RefreshObserver: Sync {
    fn flows_progress(&self, _done: usize, _total: usize) {}
}

/// No progress output.
pub struct Quiet;
impl RefreshObserver for Quiet {}

/// What to read beyond the load-alls: the flows and whether the theme are managed (declared or in
/// state).
pub struct RefreshScope {
    pub flows: BTreeSet<String>,
    pub theme: bool,
    /// Flow exports in flight at once.
    pub parallelism: usize,
}

/// Reads the live project.
pub async fn refresh(
    provider: &dyn Provider,
    scope: &RefreshScope,
    observer: &dyn RefreshObserver,
) -> Result<Snapshot, ApiError> {
    let managed = |id: &str| scope.flows.contains(id);
    read(provider, &managed, scope.theme, scope.parallelism, observer).await
}

/// Reads the whole live project, managed or not: every flow of the flow list exported, and the
/// theme (what `dmgmt backup` and a restore save).
pub async fn refresh_everything(
    provider: &dyn Provider,
    parallelism: usize,
    observer: &dyn RefreshObserver,
) -> Result<Snapshot, ApiError> {
    read(provider, &|_| true, true, parallelism, observer).await
}

/// Reads the load-alls, the flow list, exports the flows `export` picks, and the theme.
async fn read(
    provider: &dyn Provider,
    export: &(dyn Fn(&str) -> bool + Sync),
    theme: bool,
    parallelism: usize,
    observer: &dyn RefreshObserver,
) -> Result<Snapshot, ApiError> {
    let (permissions, roles, tenants, flows) = tokio::try_join!(
        provider.load_all_permissions(),
        provider.load_all_roles(),
        provider.load_all_tenants(),
        provider.list_flows(),
    )?;
    let mut objects: BTreeMap<ResourceAddr, LiveObject> = BTreeMap::new();
    for p in permissions {
        objects.insert(
            ResourceAddr::Permission(p.name.clone()),
            LiveObject {
                system_default: p.system_default,
                ..object(permission(&p), p.body, Some(p.value.id))
            },
        );
    }
    for r in roles {
        let tenant = (!r.tenant_id.is_empty()).then_some(r.tenant_id.as_str());
        let addr = ResourceAddr::role(tenant, &r.name);
        objects.insert(addr, object(role(&r), r.body, Some(r.value.id)));
    }
    for t in tenants {
        objects.insert(
            ResourceAddr::Tenant(t.id.clone()),
            object(tenant(&t), t.body, None),
        );
    }

    // Flows: the managed ones are exported (concurrently; the limiter paces them), the others only
    // listed, so an unmanaged flow costs no call of its own.
    let (managed, unmanaged): (Vec<_>, Vec<_>) = flows.iter().partition(|f| export(&f.id));
    let managed: Vec<String> = managed.into_iter().map(|f| f.id.clone()).collect();
    for summary in unmanaged {
        objects.insert(
            ResourceAddr::Flow(summary.id.clone()),
            object(
                json!({"name": summary.id}),
                RawBody::from_value(json!(summary)),
                None,
            ),
        );
    }
    let total = managed.len();
    let mut exports = futures_util::stream::iter(
        managed
            .iter()
            .map(|id| async move { (id, provider.export_flow(id).await) }),
    )
    .buffered(parallelism.max(1));
    let mut done = 0;
    while let Some((id, export)) = exports.next().await {
        let export = export?;
        let raw = RawBody::from_value(json!({"flow": export.flow, "screens": export.screens}));
        objects.insert(
            ResourceAddr::Flow(id.clone()),
            object(flow(&export), raw, None),
        );
        done += 1;
        observer.flows_progress(done, total);
    }
    if theme {
        let theme = provider.export_theme().await?;
        let raw = RawBody::from_value(json!({"theme": theme.theme}));
        objects.insert(ResourceAddr::Theme, object(theme_attrs(&theme), raw, None));
    }
    let digest = snapshot_digest(&objects);
    Ok(Snapshot { objects, digest })
}

/// The attributes (config terms) of a body in Descope's shape — what apply read back or sent —
/// converted exactly as refresh converts what it reads, so the state after an apply shows no false
/// drift on the next plan. `None`: the body is not an object of that kind.
pub fn attributes_of(kind: ResourceKind, body: &Value) -> Option<Value> {
    use serde_json::from_value;
    let body = body.clone();
    Some(match kind {
        ResourceKind::Tenant => tenant(&from_value(body).ok()?),
        ResourceKind::Role => role(&from_value(body).ok()?),
        ResourceKind::Permission => permission(&from_value(body).ok()?),
        ResourceKind::Flow => flow(&from_value(body).ok()?),
        ResourceKind::Theme => theme_attrs(&from_value(body).ok()?),
    })
}

/// A live object: its modelled attributes, its raw body, and a digest of each.
pub fn object(attributes: Value, raw: RawBody, id: Option<String>) -> LiveObject {
    LiveObject {
        attributes_digest: sha256_hex(canonical_json(&attributes)),
        digest: sha256_hex(raw.as_str()),
        attributes,
        raw,
        system_default: false,
        id: id.filter(|i| !i.is_empty()),
    }
}

/// sha256 over every address and raw-body digest, in order.
pub fn snapshot_digest(objects: &BTreeMap<ResourceAddr, LiveObject>) -> String {
    let mut text = String::new();
    for (addr, obj) in objects {
        text.push_str(&format!("{addr}\t{}\n", obj.digest));
    }
    sha256_hex(text)
}

pub fn permission(p: &Permission) -> Value {
    json!({"name": p.name, "description": p.description})
}

pub fn role(r: &Role) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), json!(r.name));
    if !r.tenant_id.is_empty() {
        m.insert("tenant".into(), json!(r.tenant_id));
    }
    m.insert("description".into(), json!(r.description));
    m.insert("permissions".into(), sorted(&r.permission_names));
    Value::Object(m)
}

pub fn tenant(t: &Tenant) -> Value {
    // The same normalisers as the desired side: domains lowercased, attribute keys sorted.
    use crate::model::attrs::{attribute_map, domains};
    json!({
        "id": t.id,
        "name": t.name,
        "self_provisioning_domains": domains(&t.self_provisioning_domains),
        "custom_attributes": attribute_map(&t.custom_attributes),
        "enforce_sso": t.enforce_sso,
        "disabled": t.disabled,
        "default_roles": sorted(&t.default_roles),
    })
}

pub fn flow(doc: &FlowDocument) -> Value {
    json!({"document": normalize_document(&json!({"flow": doc.flow, "screens": doc.screens}))})
}

pub fn theme_attrs(doc: &ThemeDocument) -> Value {
    json!({"document": normalize_document(&json!({"theme": doc.theme}))})
}
