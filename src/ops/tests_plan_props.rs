//! Planner properties over random inputs (proptest), with live objects read from random Descope
//! bodies as refresh reads them (hence in `ops`, above both the planner and `live`): random desired states, live snapshots and
//! prior states drawn from a small universe of names (so that declared, live and recorded objects
//! meet; the generator is `tests_plan_props_gen.rs`), checked for the rules every plan must keep
//! whatever the input:
//!
//! - determinism: the same plan, byte for byte, when the config's lists (and the lists and maps
//!   inside each entry) are given in another order;
//! - an unmanaged object (live, neither declared, nor named by a `renamed_from`, nor in the state)
//!   is never the subject of a change;
//! - no update changes a field of Descope's body that dmgmt does not model: `after` carries every
//!   such field of `before` unchanged.
//!
//! 64 cases per property by default (about a second); `PROPTEST_CASES=5000 cargo test --locked
//! ops::tests_plan_props` runs more. A failure is shrunk and its seed saved under
//! `proptest-regressions/` (commit it: it is replayed first from then on).

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use serde_json::Value;

use super::tests_plan_props_gen::{case, genes, snapshot};
use crate::model::preconfigured::TENANT_ADMIN_ROLE;
use crate::model::{DesiredState, ResourceAddr, ResourceKind, Snapshot};
use crate::plan::test_fixtures::desired;
use crate::plan::*;

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
