//! Reading an object back to learn whether a change already took effect: after a reply was lost,
//! after a resend met an error (an "already exists" whatever its status), and after a failed batch.
//!
//! "Matches" means: the object exists (for a delete: no longer exists) and every managed field
//! that `after` sets has that value — lists of names compared as sets, custom attributes key by
//! key for the keys `after` sets, flows and the theme as normalised documents, read through the
//! routes of the generation (v1 or v2) the change's document is written in. A rename matches
//! when the object (found by its Descope id when known) carries the new name. Every other field
//! the change's call writes (`request::written_fields`: a restore writes a backup's whole body,
//! a role's `private` or a tenant's `federatedAppIds` included) must hold its value too: a
//! change whose call failed is never taken as done because the fields it does not manage
//! happened to match already.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::request::{current_name, doc_format, new_name, role_scope, written_fields};
use crate::api::{ApiError, Provider};
use crate::model::attrs::{
    canonical, is_empty_value, normalize_document, same_document, wire_field,
};
use crate::model::{DocFormat, ResourceAddr, ResourceKind};
use crate::plan::{Action, Change, settings_hold};

/// Config fields holding order-free lists of names.
const SET_FIELDS: [&str; 3] = ["permissions", "default_roles", "self_provisioning_domains"];
/// Config fields compared key by key.
const KEYED_FIELDS: [&str; 1] = ["custom_attributes"];

/// What a read-back found.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Found {
    /// Descope holds what the change asked for; the live body (`None`: deleted).
    Matches(Option<Value>),
    Differs,
}

/// The roles or the permissions as one load-all returned them (raw bodies), to check many changes
/// of that kind against one read.
pub(crate) struct Listing(Vec<Value>);

impl Listing {
    /// Everything of `kind` live; for roles, the scoped roles of the tenants `changes` concern
    /// are included even if `role/all` leaves tenant roles out (see `api::add_tenant_roles`).
    pub(crate) async fn load(
        provider: &dyn Provider,
        kind: ResourceKind,
        changes: &[&Change],
    ) -> Result<Listing, ApiError> {
        let bodies = match kind {
            ResourceKind::Permission => provider
                .load_all_permissions()
                .await?
                .into_iter()
                .map(|p| p.body.to_value())
                .collect(),
            ResourceKind::Role => {
                let tenants = changes
                    .iter()
                    .filter_map(|c| match &c.addr {
                        ResourceAddr::Role {
                            tenant: Some(t), ..
                        } => Some(t.clone()),
                        _ => None,
                    })
                    .collect();
                crate::api::load_roles(provider, &tenants).await?
            }
            .into_iter()
            .map(|r| r.body.to_value())
            .collect(),
            _ => Vec::new(),
        };
        Ok(Listing(bodies))
    }

    /// The live object `change` is about: by Descope id when known, else by name (and tenant).
    pub(crate) fn find(&self, change: &Change) -> Option<&Value> {
        let str_of = |v: &Value, f: &str| v.get(f).and_then(Value::as_str).unwrap_or("").to_owned();
        if let Some(id) = &change.live_id {
            return self.0.iter().find(|v| str_of(v, "id") == *id);
        }
        let name = match change.action {
            Action::Delete => current_name(change),
            _ => new_name(change),
        };
        let scope = role_scope(change).unwrap_or_default();
        self.0.iter().find(|v| {
            str_of(v, "name") == name
                && (change.kind() != ResourceKind::Role || str_of(v, "tenantId") == scope)
        })
    }

    pub(crate) fn check(&self, change: &Change) -> Found {
        judge(change, self.find(change))
    }
}

/// Reads the object of `change` back and compares it with what the change asked for.
pub(crate) async fn check(provider: &dyn Provider, change: &Change) -> Result<Found, ApiError> {
    if let (ResourceAddr::Tenant(id), Action::SetSettings) = (&change.addr, &change.action) {
        // Every setting the change sends must be live; a tenant without settings holds none.
        let live = provider.load_tenant_settings(id).await?;
        let want = change.after.as_ref().and_then(Value::as_object);
        return Ok(
            match want.is_some_and(|w| settings_hold(w, live.as_ref())) {
                true => Found::Matches(live),
                false => Found::Differs,
            },
        );
    }
    let live = match &change.addr {
        ResourceAddr::Permission(_) | ResourceAddr::Role { .. } => {
            return Ok(Listing::load(provider, change.kind(), &[change])
                .await?
                .check(change));
        }
        // From the list, not `tenant?id=`: whether an object is absent must not hang on the
        // status Descope answers for a missing tenant (undocumented; 404 and 400 both plausible).
        ResourceAddr::Tenant(id) => provider
            .load_all_tenants()
            .await?
            .into_iter()
            .find(|t| t.id == *id)
            .map(|t| t.body.to_value()),
        // Read back through the routes of the document's own generation: like with like.
        ResourceAddr::Flow(id) => {
            // Absent means not in the flow list: Descope's status for exporting a missing flow
            // is undocumented, so absence never hangs on it.
            if !provider.list_flows().await?.iter().any(|f| f.id == *id) {
                return Ok(judge(change, None));
            }
            let read = match doc_format(change) {
                DocFormat::V1 => provider
                    .export_flow(id)
                    .await
                    .map(|doc| json!({"flow": doc.flow, "screens": doc.screens})),
                DocFormat::V2 => provider
                    .export_flow_v2(id)
                    .await
                    .map(|doc| json!({"flow": doc.flow})),
            };
            match read {
                Ok(doc) => Some(doc),
                Err(e) if e.is_not_found() => None,
                Err(e) => return Err(e),
            }
        }
        ResourceAddr::Theme => {
            let theme = match doc_format(change) {
                DocFormat::V1 => provider.export_theme().await?,
                DocFormat::V2 => provider.export_theme_v2().await?,
            };
            Some(json!({"theme": theme.theme}))
        }
    };
    Ok(judge(change, live.as_ref()))
}

fn judge(change: &Change, live: Option<&Value>) -> Found {
    match (change.action.is_delete(), live) {
        (true, None) => Found::Matches(None),
        (true, Some(_)) | (false, None) => Found::Differs,
        (false, Some(live)) if holds(change, live) => Found::Matches(Some(live.clone())),
        (false, Some(_)) => Found::Differs,
    }
}

/// Whether `live` holds every managed field the change sets.
fn holds(change: &Change, live: &Value) -> bool {
    let Some(after) = &change.after else {
        return true;
    };
    let kind = change.kind();
    if matches!(kind, ResourceKind::Flow | ResourceKind::Theme) {
        return same_document(&normalize_document(after), &normalize_document(live));
    }
    change.managed_fields.iter().all(|field| {
        // A tenant's default roles are the separate change that follows its create or update.
        if kind == ResourceKind::Tenant
            && field == "default_roles"
            && change.action != Action::SetDefaultRoles
        {
            return true;
        }
        let Some(wire) = wire_field(kind, field) else {
            return true;
        };
        let Some(want) = after.get(wire) else {
            return true;
        };
        same(field, want, live.get(wire))
    }) && written_fields(change)
        .into_iter()
        .all(|wire| match after.get(wire) {
            // A field the plan leaves as it was is sent as Descope holds it when the update goes
            // out (`rebase`): a colleague may have changed it since, and that is not this change.
            Some(want) if changes(change, kind, wire, want) => {
                same_written(kind, wire, want, live.get(wire))
            }
            _ => true,
        })
}

/// Whether the change sets the written field `wire` to something other than what the object held
/// when the plan was made (every field, for an object that did not exist).
fn changes(change: &Change, kind: ResourceKind, wire: &str, want: &Value) -> bool {
    match &change.before {
        None => true,
        Some(before) => !same_written(kind, wire, want, before.get(wire)),
    }
}

/// A written field (Descope's name) compared as its config field is when it is one, else as a
/// value, a list of strings being order-free (ids of users or apps).
fn same_written(kind: ResourceKind, wire: &str, want: &Value, have: Option<&Value>) -> bool {
    let modelled = SET_FIELDS
        .iter()
        .chain(&KEYED_FIELDS)
        .find(|f| wire_field(kind, f) == Some(wire));
    if let Some(field) = modelled {
        return same(field, want, have);
    }
    let strings = |v: &Value| v.as_array().is_some_and(|a| a.iter().all(Value::is_string));
    match (want, have) {
        (w, Some(h)) if strings(w) && strings(h) => set(w, wire) == set(h, wire),
        _ => same(wire, want, have),
    }
}

fn same(field: &str, want: &Value, have: Option<&Value>) -> bool {
    let have_or_null = have.unwrap_or(&Value::Null);
    if KEYED_FIELDS.contains(&field) {
        let Some(want) = want.as_object() else {
            return canonical(want) == canonical(have_or_null);
        };
        return want.iter().all(|(key, value)| {
            have.and_then(|h| h.get(key)).map(canonical) == Some(canonical(value))
        });
    }
    if SET_FIELDS.contains(&field) {
        return set(want, field) == set(have_or_null, field);
    }
    canonical(want) == canonical(have_or_null)
        || (is_empty_value(want) && is_empty_value(have_or_null))
}

/// A list of names as a set (domains case-insensitively: Descope compares them so).
fn set(list: &Value, field: &str) -> BTreeSet<String> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|s| match field {
            "self_provisioning_domains" => s.to_lowercase(),
            _ => s.to_owned(),
        })
        .collect()
}

/// For notes: how a change names its object.
pub(crate) fn describe(change: &Change) -> String {
    match &change.action {
        Action::Rename { from } => format!("`{}` (renamed from `{from}`)", change.addr),
        _ => format!("`{}`", change.addr),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn change(addr: &str, action: Action, managed: &[&str], after: Value) -> Change {
        let mut c = Change::bare(addr, action);
        c.managed_fields = managed.iter().map(|f| (*f).to_owned()).collect();
        c.after = Some(after);
        c
    }

    /// A restore writes the backup's whole body: a field it writes that no configuration models
    /// (a role's `private`, a tenant's `federatedAppIds`) must be found in Descope too before the
    /// change counts as done; before, only the modelled fields were compared.
    #[test]
    fn every_field_the_change_writes_is_compared_not_only_the_managed_ones() {
        let role = json!({"name": "Viewer", "description": "", "permissionNames": ["p"],
            "tenantId": "", "default": false, "private": true});
        let c = change(
            "role.Viewer",
            Action::Update,
            &["description", "name", "permissions"],
            role.clone(),
        );
        assert_eq!(judge(&c, Some(&role)), Found::Matches(Some(role.clone())));
        let mut live = role.clone();
        live["private"] = json!(false);
        assert_eq!(judge(&c, Some(&live)), Found::Differs);

        let tenant = json!({"id": "acme", "name": "Acme", "selfProvisioningDomains": [],
            "customAttributes": {}, "enforceSSO": false, "enforceSSOExclusions": ["U1", "U2"],
            "federatedAppIds": ["app"], "disabled": false, "roleInheritance": "userOnly"});
        let c = change("tenant.acme", Action::Update, &["name"], tenant.clone());
        let mut live = tenant.clone();
        live["enforceSSOExclusions"] = json!(["U2", "U1"]);
        live["createdTime"] = json!(5);
        assert!(
            matches!(judge(&c, Some(&live)), Found::Matches(_)),
            "order-free lists"
        );
        for (field, other) in [
            ("enforceSSOExclusions", json!([])),
            ("federatedAppIds", json!(null)),
            ("roleInheritance", json!("")),
        ] {
            let mut live = tenant.clone();
            live[field] = other;
            assert_eq!(judge(&c, Some(&live)), Found::Differs, "{field}");
        }
        // Absent and empty are the same to Descope.
        let mut sparse = tenant.clone();
        sparse["federatedAppIds"] = json!([]);
        let c = change("tenant.acme", Action::Update, &["name"], sparse);
        let mut live = tenant.clone();
        live.as_object_mut().unwrap().remove("federatedAppIds");
        assert!(matches!(judge(&c, Some(&live)), Found::Matches(_)));

        // A tenant's default roles are their own call: its update is not judged by them.
        let mut with_roles = tenant.clone();
        with_roles["defaultRoles"] = json!(["Viewer"]);
        let c = change("tenant.acme", Action::Update, &["name"], with_roles);
        assert!(matches!(judge(&c, Some(&tenant)), Found::Matches(_)));
    }
}
