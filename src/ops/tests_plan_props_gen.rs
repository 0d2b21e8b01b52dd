//! The random inputs of the planner's properties (`tests_plan_props.rs`): a config, live bodies in
//! Descope's shape and a prior state, all read from proptest's bytes and drawn from a small
//! universe of names, so that declared, live and recorded objects meet.

use std::collections::BTreeMap;

use proptest::prelude::*;
use serde_json::{Map, Value, json};

use crate::model::preconfigured::{SYSTEM_DEFAULT_PERMISSIONS, TENANT_ADMIN_ROLE};
use crate::model::{LiveObject, RawBody, ResourceAddr, ResourceKind, Snapshot};
use crate::plan::*;

const PERMISSIONS: [&str; 3] = ["p0", "p1", "p2"];
const ROLES: [&str; 3] = ["r0", "r1", TENANT_ADMIN_ROLE];
const TENANTS: [&str; 2] = ["t0", "t1"];
const SCOPED: [&str; 2] = ["s0", "s1"];

/// Reads choices from proptest's bytes: a byte past the end reads 0, and 0 always means "absent"
/// or "the first option", so shrinking the bytes shrinks the case.
struct Genes<'a>(std::slice::Iter<'a, u8>);

impl Genes<'_> {
    fn byte(&mut self) -> u8 {
        self.0.next().copied().unwrap_or(0)
    }

    fn odds(&mut self, one_in: u8) -> bool {
        self.byte() % one_in == 1
    }

    fn pick<'v, T>(&mut self, options: &'v [T]) -> &'v T {
        &options[usize::from(self.byte()) % options.len()]
    }

    fn subset(&mut self, options: &[String]) -> Vec<String> {
        options.iter().filter(|_| self.odds(2)).cloned().collect()
    }
}

/// One random case: the config (as JSON), the live bodies in Descope's shape, and the state.
pub(super) struct Case {
    pub(super) config: Value,
    pub(super) live: Vec<(ResourceAddr, Value)>,
    pub(super) prior: BTreeMap<ResourceAddr, Prior>,
}

fn description(g: &mut Genes<'_>) -> Option<&'static str> {
    *g.pick(&[None, Some(""), Some("first"), Some("second")])
}

fn insert_some(map: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(v) = value {
        map.insert(key.into(), v);
    }
}

fn config(g: &mut Genes<'_>) -> Value {
    let mut permissions = Vec::new();
    let mut declared_perms: Vec<String> = SYSTEM_DEFAULT_PERMISSIONS.map(String::from).to_vec();
    for name in PERMISSIONS {
        if g.odds(2) {
            let mut p = Map::new();
            p.insert("name".into(), json!(name));
            insert_some(&mut p, "description", description(g).map(Value::from));
            if g.odds(4) {
                p.insert("renamed_from".into(), json!(format!("old-{name}")));
            }
            permissions.push(Value::Object(p));
            declared_perms.push(name.into());
        }
    }
    if g.odds(4) {
        // A system-default permission declared exactly as Descope has it.
        permissions.push(json!({"name": SYSTEM_DEFAULT_PERMISSIONS[0], "description": ""}));
    }
    let role = |g: &mut Genes<'_>, name: &str, tenant: Option<&str>| {
        let mut r = Map::new();
        r.insert("name".into(), json!(name));
        insert_some(&mut r, "tenant", tenant.map(Value::from));
        insert_some(&mut r, "description", description(g).map(Value::from));
        if g.odds(2) {
            r.insert("permissions".into(), json!(g.subset(&declared_perms)));
        }
        if name != TENANT_ADMIN_ROLE && g.odds(4) {
            r.insert("renamed_from".into(), json!(format!("old-{name}")));
        }
        Value::Object(r)
    };
    let mut roles = Vec::new();
    let mut project_roles = Vec::new();
    for name in ROLES {
        if g.odds(2) {
            roles.push(role(g, name, None));
            project_roles.push(name.to_owned());
        }
    }
    let mut tenants = Vec::new();
    for id in TENANTS {
        if !g.odds(2) {
            continue;
        }
        let mut t = Map::new();
        t.insert("id".into(), json!(id));
        t.insert(
            "name".into(),
            json!(format!("{id} {}", g.pick(&["A", "B"]))),
        );
        if g.odds(2) {
            let domains = [format!("{id}.example.com"), format!("{id}.test")];
            t.insert(
                "self_provisioning_domains".into(),
                json!(g.subset(&domains)),
            );
        }
        if g.odds(2) {
            let mut attrs = Map::new();
            insert_some(
                &mut attrs,
                "plan",
                g.odds(2).then(|| json!(g.pick(&["free", "pro"]))),
            );
            insert_some(&mut attrs, "seats", g.odds(2).then(|| json!(g.byte() % 3)));
            t.insert("custom_attributes".into(), Value::Object(attrs));
        }
        insert_some(&mut t, "enforce_sso", g.odds(3).then(|| json!(g.odds(2))));
        insert_some(&mut t, "disabled", g.odds(3).then(|| json!(g.odds(2))));
        if g.odds(2) {
            t.insert("default_roles".into(), json!(g.subset(&project_roles)));
        }
        tenants.push(Value::Object(t));
        for name in SCOPED {
            if g.odds(2) {
                roles.push(role(g, name, Some(id)));
            }
        }
    }
    json!({"permissions": permissions, "roles": roles, "tenants": tenants})
}

/// Descope's body for an object, with fields dmgmt does not model.
fn live_body(g: &mut Genes<'_>, addr: &ResourceAddr, perms: &[String]) -> Value {
    match addr {
        ResourceAddr::Permission(name) => {
            json!({"id": format!("PERM-{name}"), "name": name,
                "description": description(g).unwrap_or(""), "systemDefault": false})
        }
        ResourceAddr::Role { tenant, name } => json!({
            "id": format!("ROL-{}-{name}", tenant.as_deref().unwrap_or("")),
            "name": name, "description": description(g).unwrap_or(""),
            "permissionNames": g.subset(perms), "tenantId": tenant.as_deref().unwrap_or(""),
            "default": g.odds(2), "private": g.odds(2), "createdTime": 1_700_000_000,
        }),
        ResourceAddr::Tenant(id) => json!({
            "id": id, "name": format!("{id} {}", g.pick(&["A", "B", "C"])),
            "selfProvisioningDomains": g.subset(&[format!("{id}.example.com"), format!("{id}.test")]),
            "customAttributes": if g.odds(2) { json!({"plan": "free", "region": "eu"}) } else { json!({}) },
            "enforceSSO": g.odds(2), "disabled": g.odds(3),
            "enforceSSOExclusions": ["break-glass@example.com"], "roleInheritance": "userOnly",
            "createdTime": 1_700_000_000,
        }),
        _ => unreachable!("only permissions, roles and tenants are generated"),
    }
}

fn universe() -> Vec<ResourceAddr> {
    let mut out = Vec::new();
    for p in PERMISSIONS {
        out.push(ResourceAddr::Permission(p.into()));
        out.push(ResourceAddr::Permission(format!("old-{p}")));
    }
    for r in ROLES {
        out.push(ResourceAddr::role(None, r));
        out.push(ResourceAddr::role(None, &format!("old-{r}")));
    }
    for t in TENANTS {
        out.push(ResourceAddr::Tenant(t.into()));
        for s in SCOPED {
            out.push(ResourceAddr::role(Some(t), s));
            out.push(ResourceAddr::role(Some(t), &format!("old-{s}")));
        }
    }
    out
}

pub(super) fn case(genes: &[u8]) -> Case {
    let mut g = Genes(genes.iter());
    let config = config(&mut g);
    let mut live = Vec::new();
    let mut perms: Vec<String> = SYSTEM_DEFAULT_PERMISSIONS.map(String::from).to_vec();
    for p in SYSTEM_DEFAULT_PERMISSIONS {
        let body =
            json!({"id": format!("PERM-{p}"), "name": p, "description": "", "systemDefault": true});
        live.push((ResourceAddr::Permission(p.into()), body));
    }
    let admin = ResourceAddr::role(None, TENANT_ADMIN_ROLE);
    let mut prior = BTreeMap::new();
    for (addr, body) in &live {
        if g.odds(4) {
            // A system-default permission recorded by an older version: to be forgotten.
            let attributes = super::live::attributes_of(addr.kind(), body).unwrap();
            let managed_fields = attributes.as_object().unwrap().keys().cloned().collect();
            let entry = Prior {
                attributes,
                managed_fields,
                prevent_destroy: false,
                digest: None,
                id: None,
            };
            prior.insert(addr.clone(), entry);
        }
    }
    for addr in universe() {
        let tenant_live = match &addr {
            ResourceAddr::Role {
                tenant: Some(t), ..
            } => live
                .iter()
                .any(|(a, _)| *a == ResourceAddr::Tenant(t.clone())),
            _ => true,
        };
        let is_live = addr == admin || (tenant_live && g.odds(2));
        let body = is_live.then(|| live_body(&mut g, &addr, &perms));
        if let Some(body) = &body {
            if let ResourceAddr::Permission(p) = &addr {
                perms.push(p.clone());
            }
            live.push((addr.clone(), body.clone()));
        }
        if g.odds(2) {
            // In the state: as it is live, as it was before a change made by hand, or gone.
            let mut attributes = match &body {
                Some(b) => super::live::attributes_of(addr.kind(), b).unwrap(),
                None => json!({"name": addr.to_string()}),
            };
            if g.odds(3) {
                attributes["description"] = json!("recorded before a change by hand");
            }
            let managed_fields = attributes.as_object().unwrap().keys().cloned().collect();
            let id = body
                .as_ref()
                .and_then(|b| b["id"].as_str())
                .map(str::to_owned);
            let id = id.filter(|_| addr.kind() != ResourceKind::Tenant && g.odds(2));
            let entry = Prior {
                attributes,
                managed_fields,
                prevent_destroy: false,
                digest: None,
                id,
            };
            prior.insert(addr, entry);
        }
    }
    Case {
        config,
        live,
        prior,
    }
}

pub(super) fn snapshot(live: &[(ResourceAddr, Value)]) -> Snapshot {
    let objects: BTreeMap<ResourceAddr, LiveObject> = live
        .iter()
        .map(|(addr, body)| {
            let attrs = super::live::attributes_of(addr.kind(), body).unwrap();
            let id = body["id"].as_str().map(str::to_owned);
            let id = id.filter(|_| addr.kind() != ResourceKind::Tenant);
            let object = LiveObject {
                system_default: body["systemDefault"] == json!(true),
                ..super::live::object(attrs, RawBody::from_value(body.clone()), id)
            };
            (addr.clone(), object)
        })
        .collect();
    let digest = super::live::snapshot_digest(&objects);
    Snapshot { objects, digest }
}

pub(super) fn genes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..160)
}
