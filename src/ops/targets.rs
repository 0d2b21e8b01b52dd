//! Checking `--target` addresses once config, state and the live project are all known: a target
//! that names none of them is a typo, and planning it would print "No changes." while changes are
//! pending. A target that names a known resource without changes is fine. Pure; never prints.

use std::collections::BTreeMap;

use crate::config::source::did_you_mean;
use crate::error::{Error, Result};
use crate::model::{DesiredState, ResourceAddr, Snapshot};
use crate::plan::Prior;

/// Fails naming every target that is neither declared, in state, nor live, with a "did you mean"
/// for each that resembles a known address.
pub(super) fn check(
    targets: &[ResourceAddr],
    desired: &DesiredState,
    prior: &BTreeMap<ResourceAddr, Prior>,
    snapshot: &Snapshot,
) -> Result<()> {
    if targets.is_empty() {
        return Ok(());
    }
    let declared = desired.addresses();
    let known = |a: &ResourceAddr| {
        declared.contains(a) || prior.contains_key(a) || snapshot.objects.contains_key(a)
    };
    let unknown: Vec<&ResourceAddr> = targets.iter().filter(|t| !known(t)).collect();
    if unknown.is_empty() {
        return Ok(());
    }
    let mut all: Vec<&ResourceAddr> = declared
        .iter()
        .chain(prior.keys())
        .chain(snapshot.objects.keys())
        .collect();
    all.sort();
    all.dedup();
    let env = &desired.environment;
    let names = unknown
        .iter()
        .map(|a| format!("`{a}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let message = if unknown.len() == 1 {
        format!(
            "--target {names} matches nothing in `{env}`: not declared, not in the state, not live"
        )
    } else {
        format!(
            "--target {names} match nothing in `{env}`: not declared, not in the state, not live"
        )
    };
    let mut err = Error::config(message);
    for addr in unknown {
        if let Some(best) = suggestion(addr, &all) {
            err = err.hint(format!("for `{addr}`, did you mean `{best}`?"));
        }
    }
    Err(err.hint(format!("`dmgmt state list -e {env}` lists what is managed")))
}

/// The closest known address of the same kind (by name), else one of another kind with the very
/// same name (`role.acme` for `tenant.acme`).
fn suggestion(addr: &ResourceAddr, known: &[&ResourceAddr]) -> Option<String> {
    let name_of = |a: &ResourceAddr| {
        a.to_string()
            .split_once('.')
            .map(|(_, n)| n.to_owned())
            .unwrap_or_default()
    };
    let name = name_of(addr);
    let same_kind: Vec<(String, &ResourceAddr)> = known
        .iter()
        .filter(|k| k.kind() == addr.kind())
        .map(|k| (name_of(k), *k))
        .collect();
    if let Some(best) = did_you_mean(&name, same_kind.iter().map(|(n, _)| n.as_str())) {
        return same_kind
            .iter()
            .find(|(n, _)| n == best)
            .map(|(_, a)| a.to_string());
    }
    known
        .iter()
        .find(|k| !name.is_empty() && name_of(k) == name)
        .map(|k| k.to_string())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::model::LiveObject;

    fn addr(s: &str) -> ResourceAddr {
        s.parse().unwrap()
    }

    fn desired() -> DesiredState {
        serde_json::from_value(json!({
            "environment": "dev", "project_id": "P2testExampleProjectId00001",
            "management_key": null, "base_url": null, "emulator": true, "protected": false,
            "rate_limit": null, "parallelism": 4, "backups": {"retention_days": 30, "keep_min": 5},
            "permissions": [], "roles": [{"name": "Viewer"}],
            "tenants": [{"id": "acme", "name": "Acme"}], "flows": [], "theme": null
        }))
        .unwrap()
    }

    fn snapshot(addrs: &[&str]) -> Snapshot {
        Snapshot {
            objects: addrs
                .iter()
                .map(|a| {
                    let obj = LiveObject {
                        attributes: json!({}),
                        raw: crate::model::RawBody::from_value(json!({})),
                        system_default: false,
                        id: None,
                        digest: String::new(),
                        attributes_digest: String::new(),
                    };
                    (addr(a), obj)
                })
                .collect(),
            digest: String::new(),
        }
    }

    fn prior(addrs: &[&str]) -> BTreeMap<ResourceAddr, Prior> {
        addrs
            .iter()
            .map(|a| {
                let p = Prior {
                    attributes: json!({}),
                    managed_fields: Vec::new(),
                    prevent_destroy: false,
                    digest: None,
                    id: None,
                };
                (addr(a), p)
            })
            .collect()
    }

    fn run(targets: &[&str], state: &[&str], live: &[&str]) -> Result<()> {
        let targets: Vec<ResourceAddr> = targets.iter().map(|t| addr(t)).collect();
        check(&targets, &desired(), &prior(state), &snapshot(live))
    }

    #[test]
    fn targets_known_to_config_state_or_live_are_accepted() {
        run(&[], &[], &[]).unwrap();
        run(&["tenant.acme", "role.Viewer"], &[], &[]).unwrap();
        run(&["tenant.old"], &["tenant.old"], &[]).unwrap();
        run(&["tenant.stranger"], &[], &["tenant.stranger"]).unwrap();
    }

    #[test]
    fn an_unknown_target_is_an_error_with_a_suggestion() {
        let err = run(&["tenant.acm"], &[], &["tenant.stranger"]).unwrap_err();
        assert_eq!(err.exit_code(), 1);
        assert_eq!(
            err.message(),
            "--target `tenant.acm` matches nothing in `dev`: not declared, not in the state, not live"
        );
        assert_eq!(
            err.hints()[0],
            "for `tenant.acm`, did you mean `tenant.acme`?"
        );
        assert!(err.hints()[1].contains("dmgmt state list -e dev"));
    }

    #[test]
    fn a_wrong_kind_suggests_the_same_name_and_every_unknown_is_named() {
        let err = run(&["role.acme", "flow.zzz", "tenant.acme"], &[], &[]).unwrap_err();
        assert_eq!(
            err.message(),
            "--target `role.acme`, `flow.zzz` match nothing in `dev`: not declared, not in the state, not live"
        );
        assert_eq!(
            err.hints()[0],
            "for `role.acme`, did you mean `tenant.acme`?"
        );
        assert_eq!(
            err.hints().len(),
            2,
            "no guess for `flow.zzz`: {:?}",
            err.hints()
        );
    }
}
