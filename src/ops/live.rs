//! Refresh: reading everything dmgmt models from Descope into a [`Snapshot`], in the attribute
//! shape the planner compares (see `model::attrs`). Only reads; never mutates.
//!
//! Calls: one load-all each for permissions, roles and tenants, one flow list, one export per
//! flow that the config or the state names (unmanaged flows are only listed), and the theme if
//! the config or the state manages it (an export without a theme, or with an empty one, is no
//! theme) — all through the client's rate limiter, flows concurrently. Each document is exported
//! through the routes of its template's generation (v1 or v2), so that the plan compares like
//! with like.

use std::collections::{BTreeMap, BTreeSet};

use futures_util::StreamExt;
use serde_json::{Map, Value, json};

use crate::api::wire::{FlowSummary, Permission, Raw, Role, Tenant};
use crate::api::{ApiError, Provider};
use crate::model::attrs::{normalize_document, sorted};
use crate::model::{LiveObject, RawBody, ResourceAddr, ResourceKind, Snapshot};
use crate::state::canonical::{canonical_json, sha256_hex};

/// Reports refresh progress (the CLI draws it; tests ignore it).
pub trait RefreshObserver: Sync {
    /// The live project is about to be read: a writing command holds the state lock by then, so
    /// "Refreshing" is said only once nothing (a held lock, an unreadable state) stops it first.
    fn reading(&self) {}
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
    /// The managed documents (flows, the theme) read through the v2 routes, because their
    /// templates are v2 exports: live and desired are then compared like with like. The rest
    /// are read through v1.
    pub v2: BTreeSet<ResourceAddr>,
    /// Tenants whose scoped roles the configuration or the state manages, and tenants the plan
    /// may delete: if `role/all` lists none of their roles, they are searched for (see
    /// [`crate::api::add_tenant_roles`]).
    pub role_tenants: BTreeSet<String>,
    /// Flow exports in flight at once.
    pub parallelism: usize,
}

/// Reads the live project.
pub async fn refresh(
    provider: &dyn Provider,
    scope: &RefreshScope,
    observer: &dyn RefreshObserver,
) -> Result<Snapshot, ApiError> {
    read(provider, scope, false, observer).await
}

/// Reads the whole live project, managed or not: every flow of the flow list exported, and the
/// theme (what `dmgmt backup` and a restore save).
pub async fn refresh_everything(
    provider: &dyn Provider,
    parallelism: usize,
    observer: &dyn RefreshObserver,
) -> Result<Snapshot, ApiError> {
    let scope = RefreshScope {
        flows: BTreeSet::new(),
        theme: true,
        parallelism,
        v2: BTreeSet::new(),
        role_tenants: BTreeSet::new(),
    };
    read(provider, &scope, true, observer).await
}

/// Reads the load-alls and the flow list, exports the flows of `scope` (every listed flow with
/// `everything`), and the theme if `scope` (or `everything`) asks for it.
async fn read(
    provider: &dyn Provider,
    scope: &RefreshScope,
    everything: bool,
    observer: &dyn RefreshObserver,
) -> Result<Snapshot, ApiError> {
    // The flow list, then the exports of the flows it holds, and the theme run beside the
    // load-alls: the documents are on their way while the tenants are decoded.
    let documents = async {
        let flows = provider.list_flows().await?;
        let (managed, unmanaged): (Vec<_>, Vec<_>) = flows
            .into_iter()
            .partition(|f| everything || scope.flows.contains(&f.id));
        // Managed flows are exported (concurrently; the limiter paces them), the others only
        // listed, so an unmanaged flow costs no call of its own.
        let total = managed.len();
        let mut exports = futures_util::stream::iter(
            managed
                .iter()
                .map(|f| async move { (f.id.clone(), export_flow(provider, scope, &f.id).await) }),
        )
        .buffered(scope.parallelism.max(1));
        let mut exported = Vec::with_capacity(total);
        while let Some((id, body)) = exports.next().await {
            exported.push((id, body?));
            observer.flows_progress(exported.len(), total);
        }
        Ok::<_, ApiError>((unmanaged, exported))
    };
    let theme = read_theme(provider, scope, everything);
    // Each tenant becomes its live object as soon as it is read (see `load_all_tenants_into`).
    let mut tenants: Vec<(ResourceAddr, LiveObject)> = Vec::new();
    let mut keep = |t: Raw<Tenant>| tenants.push(tenant_object(t));
    let (permissions, roles, (), (unmanaged, exported), theme) = tokio::try_join!(
        provider.load_all_permissions(),
        provider.load_all_roles(),
        provider.load_all_tenants_into(&mut keep),
        documents,
        theme,
    )?;
    let role_tenants = role_tenants(&tenants, scope, everything);
    let roles = crate::api::add_tenant_roles(provider, roles, &role_tenants).await?;
    // Built in one go from the tenants (most of the objects): a map built that way packs its
    // nodes, where inserting one by one leaves them about half full.
    let mut objects: BTreeMap<ResourceAddr, LiveObject> = tenants.into_iter().collect();
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
    add_documents(&mut objects, unmanaged, exported, theme);
    let digest = snapshot_digest(&objects);
    Ok(Snapshot { objects, digest })
}

/// The theme, if `scope` (or `everything`) asks for it.
async fn read_theme(
    provider: &dyn Provider,
    scope: &RefreshScope,
    everything: bool,
) -> Result<Option<Value>, ApiError> {
    if !(scope.theme || everything) {
        return Ok(None);
    }
    let theme = if scope.v2.contains(&ResourceAddr::Theme) {
        provider.export_theme_v2().await?
    } else {
        provider.export_theme().await?
    };
    // `{}` or `{"theme": {}}` (what a new project may answer) is no theme: nothing to
    // compare, import, back up or restore.
    let theme = theme.theme;
    let some = theme.as_object().is_some_and(|t| !t.is_empty());
    Ok(some.then_some(theme))
}

/// The flows (those only listed, those exported) and the theme, as live objects.
fn add_documents(
    objects: &mut BTreeMap<ResourceAddr, LiveObject>,
    unmanaged: Vec<FlowSummary>,
    exported: Vec<(String, Value)>,
    theme: Option<Value>,
) {
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
    for (id, body) in exported {
        let attrs = document_attrs(&body);
        objects.insert(
            ResourceAddr::Flow(id),
            object(attrs, RawBody::from_value(body), None),
        );
    }
    if let Some(theme) = theme {
        let body = json!({"theme": theme});
        let attrs = document_attrs(&body);
        objects.insert(
            ResourceAddr::Theme,
            object(attrs, RawBody::from_value(body), None),
        );
    }
}

/// The live tenants whose roles are searched for if `role/all` lists none of them: a whole-project
/// read cares about every tenant's roles; a plan's, about the ones it manages.
fn role_tenants(
    tenants: &[(ResourceAddr, LiveObject)],
    scope: &RefreshScope,
    everything: bool,
) -> BTreeSet<String> {
    tenants
        .iter()
        .filter_map(|(addr, _)| match addr {
            ResourceAddr::Tenant(id) => Some(id.clone()),
            _ => None,
        })
        .filter(|id| everything || scope.role_tenants.contains(id))
        .collect()
}

/// A tenant's live object.
fn tenant_object(t: Raw<Tenant>) -> (ResourceAddr, LiveObject) {
    let attributes = tenant(&t);
    (
        ResourceAddr::Tenant(t.value.id),
        object(attributes, t.body, None),
    )
}

/// One flow's export, through the routes of its template's generation.
async fn export_flow(
    provider: &dyn Provider,
    scope: &RefreshScope,
    id: &str,
) -> Result<Value, ApiError> {
    if scope.v2.contains(&ResourceAddr::Flow(id.to_owned())) {
        let doc = provider.export_flow_v2(id).await?;
        Ok(json!({"flow": doc.flow}))
    } else {
        let doc = provider.export_flow(id).await?;
        Ok(json!({"flow": doc.flow, "screens": doc.screens}))
    }
}

/// The attributes (config terms) of a body in Descope's shape — what apply read back or sent —
/// converted exactly as refresh converts what it reads, so the state after an apply shows no false
/// drift on the next plan. `None`: the body is not an object of that kind.
pub(crate) fn attributes_of(kind: ResourceKind, body: &Value) -> Option<Value> {
    use serde_json::from_value;
    let body = body.clone();
    Some(match kind {
        ResourceKind::Tenant => tenant(&from_value(body).ok()?),
        ResourceKind::Role => role(&from_value(body).ok()?),
        ResourceKind::Permission => permission(&from_value(body).ok()?),
        ResourceKind::Flow | ResourceKind::Theme => {
            body.as_object()?;
            document_attrs(&body)
        }
    })
}

/// A live object: its modelled attributes, its raw body, and a digest of each.
pub(crate) fn object(attributes: Value, raw: RawBody, id: Option<String>) -> LiveObject {
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
pub(crate) fn snapshot_digest(objects: &BTreeMap<ResourceAddr, LiveObject>) -> String {
    use sha2::Digest;
    use std::fmt::Write;
    // Hashed line by line: the text of every line at once is megabytes at scale.
    let mut hasher = sha2::Sha256::new();
    let mut line = String::new();
    for (addr, obj) in objects {
        line.clear();
        let _ = writeln!(line, "{addr}\t{}", obj.digest);
        hasher.update(&line);
    }
    crate::state::canonical::to_hex(&hasher.finalize())
}

pub(crate) fn permission(p: &Permission) -> Value {
    json!({"name": p.name, "description": p.description})
}

pub(crate) fn role(r: &Role) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), json!(r.name));
    if !r.tenant_id.is_empty() {
        m.insert("tenant".into(), json!(r.tenant_id));
    }
    m.insert("description".into(), json!(r.description));
    m.insert("permissions".into(), sorted(&r.permission_names));
    Value::Object(m)
}

pub(crate) fn tenant(t: &Tenant) -> Value {
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

/// A flow's or the theme's attributes: the whole document (either generation), normalised.
fn document_attrs(doc: &Value) -> Value {
    json!({"document": normalize_document(doc)})
}
