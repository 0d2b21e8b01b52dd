//! Grants of permissions that no longer exist, in the body of a role the plan writes.
//!
//! Whether Descope takes a deleted permission out of the roles that grant it is undocumented
//! (docs/descope-api.md §4: UNSURE). If it does not, a role may go on naming a permission that is
//! gone; a role update sending that name back is then refused ("permission does not exist"). A role
//! whose grants the configuration writes names only permissions that exist or that the plan
//! creates; one whose grants it leaves alone is written with its live grants, so those are cleaned
//! here: names that are neither live, declared, nor Descope's own system-default ones are left out
//! of what is sent, and the change says so.
//!
//! Pure: reads the body and a test of existence, returns what it dropped.

use serde_json::Value;

use super::warning::Warning;
use crate::model::{ResourceKind, attrs};

/// Removes from the role body `after` (Descope's names) every granted permission for which
/// `exists` is false; returns the names removed, in the order they were granted.
pub(super) fn drop_missing(after: &mut Value, exists: impl Fn(&str) -> bool) -> Vec<String> {
    let wire = attrs::wire_field(ResourceKind::Role, "permissions").unwrap_or("permissionNames");
    match after.get_mut(wire) {
        Some(names) => retain_existing(names, exists),
        None => Vec::new(),
    }
}

/// Removes from the list of permission names `names` every one for which `exists` is false;
/// returns the names removed, in order.
pub(super) fn retain_existing(names: &mut Value, exists: impl Fn(&str) -> bool) -> Vec<String> {
    let Some(names) = names.as_array_mut() else {
        return Vec::new();
    };
    let mut dropped = Vec::new();
    names.retain(|name| match name.as_str() {
        Some(n) if !exists(n) => {
            dropped.push(n.to_owned());
            false
        }
        _ => true,
    });
    dropped
}

/// The warning on a role change that leaves out `dropped`.
pub(super) fn warning(dropped: &[String]) -> Option<Warning> {
    (!dropped.is_empty()).then(|| Warning::DropsMissingGrants {
        permissions: dropped.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_that_do_not_exist_are_dropped_and_said() {
        let mut body = json!({"name": "R", "permissionNames": ["a", "gone", "b", "lost"]});
        let dropped = drop_missing(&mut body, |n| ["a", "b"].contains(&n));
        assert_eq!(dropped, ["gone", "lost"]);
        assert_eq!(body["permissionNames"], json!(["a", "b"]));
        assert!(matches!(
            warning(&dropped),
            Some(Warning::DropsMissingGrants { permissions }) if permissions == dropped
        ));
        assert_eq!(warning(&[]), None);
        let mut none = json!({"name": "R", "permissionNames": null});
        assert!(drop_missing(&mut none, |_| false).is_empty());
    }
}
