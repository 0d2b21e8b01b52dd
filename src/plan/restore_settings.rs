//! Restoring tenant settings: the session, refresh and step-up token expirations and their units,
//! inactivity, JIT, the SSO setup suite, `authType` and SSO `domains` — what a tenant's body does
//! not carry and its create or update cannot set. A backup holds each tenant's settings object as
//! Descope answered it (see `state::backup::TENANT_SETTINGS_KEY`); a restore puts it back with a
//! step of its own ([`Action::SetSettings`]), after the tenant's create or update, sending the
//! whole object as read, so that nothing the backup holds is reset to a default.
//!
//! Pure: the backup's settings and the live ones (read by the caller) in, steps out. A backup
//! written before settings were backed up holds none: its tenants get no settings step.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::restore::RestoreInput;
use super::types::{Action, AttrDiff, Change};
use crate::model::ResourceAddr;
use crate::model::attrs::canonical;

/// The tenant settings a restore compares, by tenant id.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct TenantSettings {
    /// The settings objects the backup holds.
    pub(crate) saved: BTreeMap<String, Map<String, Value>>,
    /// The live settings of the backup's tenants that exist now (absent: Descope has none).
    pub(crate) live: BTreeMap<String, Map<String, Value>>,
}

/// Adds a settings step for every tenant of the backup whose settings differ from what is live
/// (a tenant the restore creates has none yet). The step comes after the tenant's own change
/// (see `graph`).
pub(super) fn add_steps(changes: &mut Vec<Change>, input: &RestoreInput<'_>) {
    for (id, saved) in &input.tenant_settings.saved {
        let addr = ResourceAddr::Tenant(id.clone());
        if !input.backup.contains_key(&addr) {
            continue;
        }
        let created;
        let live = match input.snapshot.objects.contains_key(&addr) {
            true => input.tenant_settings.live.get(id),
            false => {
                created = new_tenant(input, &addr);
                Some(&created)
            }
        };
        let diffs = differences(saved, live);
        if diffs.is_empty() {
            continue;
        }
        let mut fields: Vec<String> = saved.keys().cloned().collect();
        fields.sort();
        let live = input
            .snapshot
            .objects
            .contains_key(&addr)
            .then_some(live)
            .flatten();
        changes.push(Change {
            addr: addr.clone(),
            action: Action::SetSettings,
            live_id: None,
            live_digest: None,
            before: live.map(|m| Value::Object(m.clone())),
            after: Some(Value::Object(saved.clone())),
            diffs,
            managed_fields: fields,
            guard: None,
            prevent_destroy: input.prior.get(&addr).is_some_and(|p| p.prevent_destroy),
            depends_on: Vec::new(),
            warnings: Vec::new(),
            moved_from: None,
            cascades: Vec::new(),
        });
    }
}

/// The settings a tenant the restore creates has at first: Descope's defaults — every value
/// empty, except `authType` `none` and the self-provisioning domains its create sets. Saved
/// settings that equal these need no step.
fn new_tenant(input: &RestoreInput<'_>, addr: &ResourceAddr) -> Map<String, Value> {
    let domains = input
        .backup
        .get(addr)
        .and_then(|o| o.raw.to_value().get("selfProvisioningDomains").cloned())
        .unwrap_or(Value::Null);
    let mut settings = Map::new();
    settings.insert("authType".to_owned(), Value::String("none".to_owned()));
    settings.insert("selfProvisioningDomains".to_owned(), domains);
    settings
}

/// Whether `live` holds every setting of `want` (what the executor's read-back asks of a
/// settings step).
pub(crate) fn settings_hold(want: &Map<String, Value>, live: Option<&Value>) -> bool {
    differences(want, live.and_then(Value::as_object)).is_empty()
}

/// Each key of `saved` whose live value differs (Descope's names, in key order).
fn differences(saved: &Map<String, Value>, live: Option<&Map<String, Value>>) -> Vec<AttrDiff> {
    let mut keys: Vec<&String> = saved.keys().collect();
    keys.sort();
    keys.into_iter()
        .filter_map(|key| {
            let want = &saved[key.as_str()];
            let have = live.and_then(|l| l.get(key.as_str()));
            (!same(want, have.unwrap_or(&Value::Null))).then(|| AttrDiff {
                field: key.clone(),
                before: have.cloned(),
                after: Some(want.clone()),
            })
        })
        .collect()
}

/// Equal as Descope means it: canonically, or both the empty value of their type (a setting
/// Descope leaves out reads as its default).
fn same(a: &Value, b: &Value) -> bool {
    canonical(a) == canonical(b) || (is_default(a) && is_default(b))
}

fn is_default(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.values().all(is_default),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::{Map, Value, json};

    use super::*;
    use crate::model::{RawBody, Snapshot};
    use crate::ops::live::{attributes_of, object};
    use crate::plan::{Plan, restore};

    fn tenant(id: &str) -> (ResourceAddr, Value) {
        let body = json!({"id": id, "name": id, "selfProvisioningDomains": [], "customAttributes": {},
            "enforceSSO": false, "disabled": false, "defaultRoles": []});
        (ResourceAddr::Tenant(id.to_owned()), body)
    }

    fn objects(ids: &[&str]) -> BTreeMap<ResourceAddr, crate::model::LiveObject> {
        ids.iter()
            .map(|id| {
                let (addr, body) = tenant(id);
                let attrs = attributes_of(addr.kind(), &body).unwrap();
                (addr, object(attrs, RawBody::from_value(body), None))
            })
            .collect()
    }

    fn settings(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn plan(backup: &[&str], live: &[&str], tenant_settings: &TenantSettings) -> Plan {
        let backup = objects(backup);
        let snapshot = Snapshot {
            objects: objects(live),
            digest: "snap".into(),
        };
        restore(&RestoreInput {
            backup: &backup,
            complete: true,
            snapshot: &snapshot,
            prior: &BTreeMap::new(),
            protected: false,
            delete_unmanaged: false,
            targets: &[],
            tenant_settings,
        })
        .unwrap()
    }

    fn steps(plan: &Plan) -> Vec<String> {
        plan.changes
            .iter()
            .map(|c| format!("{:?} {}", c.action, c.addr))
            .collect()
    }

    const SAVED: &str = r#"{"authType": "saml", "domains": ["acme.com"], "enabled": true,
        "sessionTokenExpiration": 3, "sessionTokenExpirationUnit": "hours",
        "inactivityTime": 0, "JITDisabled": false}"#;

    #[test]
    fn a_recreated_tenant_gets_its_saved_settings_after_its_create() {
        let saved: Value = serde_json::from_str(SAVED).unwrap();
        let input = TenantSettings {
            saved: BTreeMap::from([("acme".to_owned(), settings(saved.clone()))]),
            live: BTreeMap::new(),
        };
        let plan = plan(&["acme"], &[], &input);
        assert_eq!(
            steps(&plan),
            ["Create tenant.acme", "SetSettings tenant.acme"]
        );
        let step = &plan.changes[1];
        assert_eq!(
            step.after.as_ref(),
            Some(&saved),
            "the whole object as read"
        );
        assert_eq!(step.depends_on, crate::plan::ChangeId::list(&[0]));
        let fields: Vec<&str> = step.diffs.iter().map(|d| d.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "authType",
                "domains",
                "enabled",
                "sessionTokenExpiration",
                "sessionTokenExpirationUnit"
            ],
            "defaults that equal what a new tenant has are no difference"
        );
        assert_eq!(plan.summary.change, 1);
    }

    #[test]
    fn live_settings_that_differ_are_put_back_and_equal_ones_are_not() {
        let saved: Value = serde_json::from_str(SAVED).unwrap();
        let mut changed = saved.clone();
        changed["sessionTokenExpiration"] = json!(10);
        let input = TenantSettings {
            saved: BTreeMap::from([
                ("acme".to_owned(), settings(saved.clone())),
                ("beta".to_owned(), settings(saved.clone())),
            ]),
            live: BTreeMap::from([
                ("acme".to_owned(), settings(changed)),
                // Descope left out keys the backup holds at their default: the same.
                (
                    "beta".to_owned(),
                    settings(
                        json!({"authType": "saml", "domains": ["acme.com"], "enabled": true,
                        "sessionTokenExpiration": 3, "sessionTokenExpirationUnit": "hours"}),
                    ),
                ),
            ]),
        };
        let plan = plan(&["acme", "beta"], &["acme", "beta"], &input);
        assert_eq!(steps(&plan), ["SetSettings tenant.acme"]);
        assert_eq!(
            plan.changes[0].diffs,
            [AttrDiff {
                field: "sessionTokenExpiration".into(),
                before: Some(json!(10)),
                after: Some(json!(3)),
            }]
        );
    }

    #[test]
    fn a_recreated_tenant_whose_saved_settings_are_a_new_tenants_gets_no_step() {
        let defaults = json!({"authType": "none", "domains": [], "selfProvisioningDomains": [],
            "enabled": false, "sessionTokenExpiration": 0, "sessionTokenExpirationUnit": "",
            "ssoSetupSuiteSettings": {"enabled": false, "styleId": "",
                "disabledFeatures": {"saml": false}}});
        let input = TenantSettings {
            saved: BTreeMap::from([("acme".to_owned(), settings(defaults))]),
            live: BTreeMap::new(),
        };
        assert_eq!(steps(&plan(&["acme"], &[], &input)), ["Create tenant.acme"]);
    }

    #[test]
    fn a_backup_without_settings_plans_no_settings_step() {
        let plan = plan(&["acme"], &[], &TenantSettings::default());
        assert_eq!(steps(&plan), ["Create tenant.acme"]);
    }
}
