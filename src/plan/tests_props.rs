//! Planner properties over random inputs (proptest): random desired states, live snapshots and
//! prior states drawn from a small universe of names (so that declared, live and recorded objects
//! meet), checked for the rules every plan must keep whatever the input:
//!
//! - determinism: the same plan, byte for byte, when the config's lists (and the lists and maps
//!   inside each entry) are given in another order;
//! - an unmanaged object (live, neither declared, nor named by a `renamed_from`, nor in the state)
//!   is never the subject of a change;
//! - no update changes a field of Descope's body that dmgmt does not model: `after` carries every
//!   such field of `before` unchanged.
//!
//! 64 cases per property by default (about a second); `PROPTEST_CASES=5000 cargo test --locked
//! plan::tests_props` runs more. A failure is shrunk and its seed saved under
//! `proptest-regressions/` (commit it: it is replayed first from then on).

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use serde_json::{Map, Value, json};

use super::test_fixtures::desired;
use super::*;
use crate::model::preconfigured::{SYSTEM_DEFAULT_PERMISSIONS, TENANT_ADMIN_ROLE};
use crate::model::{DesiredState, LiveObject, RawBody, ResourceAddr, ResourceKind, Snapshot};

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
struct Case {
    config: Value,
    live: Vec<(ResourceAddr, Value)>,
    prior: BTreeMap<ResourceAddr, Prior>,
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

fn case(genes: &[u8]) -> Case {
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
            let attributes = crate::ops::live::attributes_of(addr.kind(), body).unwrap();
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
                Some(b) => crate::ops::live::attributes_of(addr.kind(), b).unwrap(),
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

fn snapshot(live: &[(ResourceAddr, Value)]) -> Snapshot {
    let objects: BTreeMap<ResourceAddr, LiveObject> = live
        .iter()
        .map(|(addr, body)| {
            let attrs = crate::ops::live::attributes_of(addr.kind(), body).unwrap();
            let id = body["id"].as_str().map(str::to_owned);
            let id = id.filter(|_| addr.kind() != ResourceKind::Tenant);
            let object = LiveObject {
                system_default: body["systemDefault"] == json!(true),
                ..crate::ops::live::object(attrs, RawBody::from_value(body.clone()), id)
            };
            (addr.clone(), object)
        })
        .collect();
    let digest = crate::ops::live::snapshot_digest(&objects);
    Snapshot { objects, digest }
}

/// The plan as JSON, or the planner's refusal: both must be the same for the same input.
fn outcome(d: &DesiredState, s: &Snapshot, p: &BTreeMap<ResourceAddr, Prior>) -> String {
    match plan(&PlanInput {
        desired: d,
        snapshot: s,
        prior: p,
        targets: &[],
    }) {
        Ok(plan) => serde_json::to_string_pretty(&plan).unwrap(),
        Err(e) => format!("refused: {e}"),
    }
}

/// A permutation by Fisher–Yates from a small generator seeded by proptest.
fn shuffle<T>(items: &mut [T], seed: &mut u64) {
    for i in (1..items.len()).rev() {
        *seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let j = ((*seed >> 33) as usize) % (i + 1);
        items.swap(i, j);
    }
}

/// Every list of the config, and every list and map inside its entries, in another order.
fn permuted(value: &Value, seed: &mut u64) -> Value {
    match value {
        Value::Array(items) => {
            let mut items: Vec<Value> = items.iter().map(|v| permuted(v, seed)).collect();
            shuffle(&mut items, seed);
            Value::Array(items)
        }
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map
                .iter()
                .map(|(k, v)| (k.clone(), permuted(v, seed)))
                .collect();
            shuffle(&mut entries, seed);
            Value::Object(entries.into_iter().collect())
        }
        other => other.clone(),
    }
}

/// The addresses a declared resource names: its own and the one it is renamed from.
fn declared(config: &Value) -> BTreeSet<ResourceAddr> {
    let mut out = BTreeSet::new();
    for p in config["permissions"].as_array().unwrap() {
        for key in ["name", "renamed_from"] {
            if let Some(name) = p[key].as_str() {
                out.insert(ResourceAddr::Permission(name.into()));
            }
        }
    }
    for r in config["roles"].as_array().unwrap() {
        for key in ["name", "renamed_from"] {
            if let Some(name) = r[key].as_str() {
                out.insert(ResourceAddr::role(r["tenant"].as_str(), name));
            }
        }
    }
    for t in config["tenants"].as_array().unwrap() {
        out.insert(ResourceAddr::Tenant(t["id"].as_str().unwrap().into()));
    }
    out
}

/// Descope's names of the fields dmgmt models, per kind.
fn modelled(kind: ResourceKind) -> Vec<&'static str> {
    let fields: &[&str] = match kind {
        ResourceKind::Tenant => &[
            "id",
            "name",
            "self_provisioning_domains",
            "custom_attributes",
            "enforce_sso",
            "disabled",
            "default_roles",
        ],
        ResourceKind::Role => &["name", "description", "permissions", "tenant"],
        ResourceKind::Permission => &["name", "description"],
        ResourceKind::Flow | ResourceKind::Theme => &[],
    };
    fields
        .iter()
        .filter_map(|f| crate::model::attrs::wire_field(kind, f))
        .collect()
}

fn genes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..160)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn the_plan_does_not_depend_on_the_order_of_the_config(genes in genes(), seed in any::<u64>()) {
        let c = case(&genes);
        let s = snapshot(&c.live);
        let first = outcome(&desired(c.config.clone()), &s, &c.prior);
        let mut seed = seed;
        let shuffled = desired(permuted(&c.config, &mut seed));
        prop_assert_eq!(&first, &outcome(&shuffled, &s, &c.prior));
        // Live objects read in another order (the snapshot is keyed, so only its build order).
        let mut live = c.live.clone();
        shuffle(&mut live, &mut seed);
        prop_assert_eq!(&first, &outcome(&desired(c.config), &snapshot(&live), &c.prior));
    }

    #[test]
    fn an_unmanaged_object_is_never_changed_or_deleted(genes in genes()) {
        let c = case(&genes);
        let s = snapshot(&c.live);
        let Ok(planned) = plan(&PlanInput {
            desired: &desired(c.config.clone()),
            snapshot: &s,
            prior: &c.prior,
            targets: &[],
        }) else {
            return Ok(());
        };
        let declared = declared(&c.config);
        let recorded_ids: BTreeSet<&str> =
            c.prior.values().filter_map(|p| p.id.as_deref()).collect();
        for (addr, object) in &s.objects {
            let by_id = object.id.as_deref().is_some_and(|id| recorded_ids.contains(id));
            if declared.contains(addr) || c.prior.contains_key(addr) || by_id {
                continue;
            }
            for change in &planned.changes {
                let touches = change.addr == *addr
                    || change.moved_from.as_ref() == Some(addr)
                    || (change.live_id.is_some() && change.live_id == object.id);
                prop_assert!(!touches, "unmanaged `{}` touched by {:?} {}", addr, change.action, change.addr);
            }
            // Descope's preconfigured objects are every project's: never listed (planner.rs).
            if !object.system_default && *addr != ResourceAddr::role(None, TENANT_ADMIN_ROLE) {
                prop_assert!(planned.unmanaged.contains(addr), "`{}` not listed as unmanaged", addr);
            }
        }
    }

    #[test]
    fn an_update_keeps_every_unmodelled_field_of_descopes_body(genes in genes()) {
        let c = case(&genes);
        let Ok(planned) = plan(&PlanInput {
            desired: &desired(c.config.clone()),
            snapshot: &snapshot(&c.live),
            prior: &c.prior,
            targets: &[],
        }) else {
            return Ok(());
        };
        for change in &planned.changes {
            let (Some(Value::Object(before)), Some(Value::Object(after))) = (&change.before, &change.after) else {
                continue;
            };
            let modelled = modelled(change.kind());
            for (field, value) in before.iter().filter(|(f, _)| !modelled.contains(&f.as_str())) {
                prop_assert_eq!(after.get(field), Some(value), "{:?} {}: `{}`", change.action, change.addr, field);
            }
        }
    }
}

/// A positive control: the generator does produce the situations the properties are about.
#[test]
fn the_generated_cases_cover_every_kind_of_change() {
    let mut seen = BTreeSet::new();
    let mut refused = 0;
    for n in 0..400u32 {
        let genes: Vec<u8> = (0..160u32)
            .map(|i| {
                (i.wrapping_mul(2_654_435_761)
                    .wrapping_add(n.wrapping_mul(40_503))
                    >> 7) as u8
            })
            .collect();
        let c = case(&genes);
        let s = snapshot(&c.live);
        match plan(&PlanInput {
            desired: &desired(c.config),
            snapshot: &s,
            prior: &c.prior,
            targets: &[],
        }) {
            Ok(p) => {
                seen.extend(p.changes.iter().map(|ch| {
                    format!("{:?}", ch.action)
                        .split([' ', '{'])
                        .next()
                        .unwrap()
                        .to_owned()
                }));
                if !p.unmanaged.is_empty() {
                    seen.insert("unmanaged".into());
                }
                if !p.drift.is_empty() {
                    seen.insert("drift".into());
                }
            }
            Err(_) => refused += 1,
        }
    }
    for kind in [
        "Create",
        "Update",
        "Rename",
        "Delete",
        "Adopt",
        "SetDefaultRoles",
        "Forget",
        "unmanaged",
        "drift",
    ] {
        assert!(seen.contains(kind), "no `{kind}` in 400 cases: {seen:?}");
    }
    assert!(refused < 200, "{refused} of 400 cases refused");
}
