//! Tenant settings in backups and restores: a tenant's settings (session and token expirations,
//! inactivity, JIT, the SSO setup suite, `authType`, SSO `domains`) are not in its body, so a
//! backup reads them with one `GET /v1/mgmt/tenant/settings` per tenant and keeps them in the
//! tenant's backed-up body under [`TENANT_SETTINGS_KEY`]; a restore takes them out again and reads
//! the live ones to compare. Never prints.
//!
//! Which tenants: a manual backup, every tenant; a pre-apply or pre-restore backup, the tenants a
//! change deletes or whose settings it sets. That is one call per tenant: reading every tenant's
//! settings before every apply would cost a large project minutes of Descope's rate limit, while
//! a tenant that is only updated keeps its settings (no tenant update sends them).

use std::collections::{BTreeMap, BTreeSet};

use futures_util::StreamExt;
use serde_json::{Map, Value};

use crate::api::{ApiError, Provider};
use crate::model::{RawBody, ResourceAddr, Snapshot};
use crate::plan::{Action, Change};
use crate::state::backup::{BackupObject, TENANT_SETTINGS_KEY};

/// The tenants whose settings a change loses or overwrites: those it deletes, and those whose
/// settings a restore sets.
pub(super) fn touched(changes: &[Change]) -> BTreeSet<ResourceAddr> {
    changes
        .iter()
        .filter(|c| matches!(c.addr, ResourceAddr::Tenant(_)))
        .filter(|c| matches!(c.action, Action::Delete | Action::SetSettings))
        .map(|c| c.addr.clone())
        .collect()
}

/// The live settings of `ids` (a tenant Descope has none for is left out), `parallelism` reads
/// at once.
pub(super) async fn load(
    provider: &dyn Provider,
    ids: impl IntoIterator<Item = String>,
    parallelism: usize,
) -> Result<Saved, ApiError> {
    let mut reads = futures_util::stream::iter(ids.into_iter().map(|id| async move {
        let settings = provider.load_tenant_settings(&id).await;
        (id, settings)
    }))
    .buffered(parallelism.max(1));
    let mut out = BTreeMap::new();
    while let Some((id, settings)) = reads.next().await {
        if let Some(Value::Object(settings)) = settings? {
            out.insert(id, settings);
        }
    }
    Ok(out)
}

/// The bodies of `tenants` (those live in `snapshot`) with their live settings added, to be
/// written in place of the plain bodies (see [`with_bodies`]).
pub(super) async fn bodies_with_settings(
    provider: &dyn Provider,
    snapshot: &Snapshot,
    tenants: &BTreeSet<ResourceAddr>,
    parallelism: usize,
) -> Result<BTreeMap<ResourceAddr, RawBody>, ApiError> {
    let ids = tenants.iter().filter_map(|a| match a {
        ResourceAddr::Tenant(id) if snapshot.objects.contains_key(a) => Some(id.clone()),
        _ => None,
    });
    let settings = load(provider, ids, parallelism).await?;
    let mut out = BTreeMap::new();
    for (id, settings) in settings {
        let addr = ResourceAddr::Tenant(id);
        let Some(object) = snapshot.objects.get(&addr) else {
            continue;
        };
        let mut body = object.raw.to_value();
        if let Some(map) = body.as_object_mut() {
            map.insert(TENANT_SETTINGS_KEY.to_owned(), Value::Object(settings));
            out.insert(addr, RawBody::from_value(body));
        }
    }
    Ok(out)
}

/// `objects` with the bodies of `bodies` in place of theirs.
pub(super) fn with_bodies<'a>(
    objects: Vec<BackupObject<'a>>,
    bodies: &'a BTreeMap<ResourceAddr, RawBody>,
) -> Vec<BackupObject<'a>> {
    objects
        .into_iter()
        .map(|o| match bodies.get(o.addr) {
            Some(body) => BackupObject { addr: o.addr, body },
            None => o,
        })
        .collect()
}

/// Settings objects by tenant id.
pub(super) type Saved = BTreeMap<String, Map<String, Value>>;

/// Takes the settings out of a backup's tenant bodies: the bodies as Descope sent them, and the
/// settings by tenant id (a backup written before settings were backed up has none).
pub(super) fn split(bodies: Vec<(ResourceAddr, RawBody)>) -> (Vec<(ResourceAddr, RawBody)>, Saved) {
    let mut settings = BTreeMap::new();
    let bodies = bodies
        .into_iter()
        .map(|(addr, raw)| {
            let ResourceAddr::Tenant(id) = &addr else {
                return (addr, raw);
            };
            let mut body = raw.to_value();
            match body.as_object_mut().map(|m| m.remove(TENANT_SETTINGS_KEY)) {
                Some(Some(taken)) => {
                    // dmgmt writes an object there; anything else holds no settings.
                    if let Value::Object(saved) = taken {
                        settings.insert(id.clone(), saved);
                    }
                    (addr, RawBody::from_value(body))
                }
                _ => (addr, raw),
            }
        })
        .collect();
    (bodies, settings)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn split_takes_settings_out_of_tenant_bodies_and_leaves_old_backups_as_they_are() {
        let tenant = ResourceAddr::Tenant("acme".into());
        let old = ResourceAddr::Tenant("old".into());
        let role = ResourceAddr::role(None, "R");
        let plain = json!({"id": "acme", "name": "Acme"});
        let mut with = plain.clone();
        with[TENANT_SETTINGS_KEY] = json!({"authType": "saml"});
        let (bodies, saved) = split(vec![
            (tenant.clone(), RawBody::from_value(with)),
            (old.clone(), RawBody::from_value(json!({"id": "old"}))),
            (role.clone(), RawBody::from_value(json!({"name": "R"}))),
        ]);
        assert_eq!(
            bodies,
            [
                (tenant, RawBody::from_value(plain)),
                (old, RawBody::from_value(json!({"id": "old"}))),
                (role, RawBody::from_value(json!({"name": "R"}))),
            ],
            "the tenant's body is again exactly what Descope sent"
        );
        assert_eq!(
            saved,
            BTreeMap::from([(
                "acme".to_owned(),
                json!({"authType": "saml"}).as_object().unwrap().clone()
            )])
        );
    }
}
