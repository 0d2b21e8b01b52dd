//! The restore planner: (backup, live snapshot, prior state) -> the ordinary [`Plan`] that returns
//! the live project to what the backup holds, for the kinds the backup holds.
//!
//! Pure, like the planner: no I/O, same inputs, same plan. Unlike the planner it does not look at
//! the configuration's fields: a backup holds whole objects, so every field Descope's calls set is
//! put back (unmodelled ones such as a role's `private` or a tenant's `roleInheritance` included),
//! and the read-back compares every modelled field. What it plans:
//!
//! - an object of the backup that is gone: created from the backup's body (a tenant's default
//!   roles set once its roles exist);
//! - one live that differs in a field Descope's update sets: updated with the backup's body; a
//!   role or permission is found by its Descope id before its address, so one renamed since is
//!   renamed back in place — refused when another object took its old name meanwhile (the
//!   restore never destroys the renamed one nor writes over the other);
//! - a live object the backup does not hold, of a kind it holds: deleted when dmgmt manages it, or
//!   when `delete_unmanaged` and the backup is complete; otherwise left alone and listed in
//!   [`Plan::unmanaged`]. A pre-apply backup holds only what dmgmt managed or changed when it was
//!   taken, so an unmanaged object it lacks may well have existed then: never deleted.
//!
//! Tenant names are unique in Descope: the planner's rules (`tenant_names`) order names handed
//! from one tenant to another and refuse tenants that swapped names since the backup. Descope's
//! system-default permissions and the theme are never deleted; fields Descope computes
//! (`createdTime`, ids, a flow's `version`) cannot be put back and are not compared.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Map, Value};

use super::diff::all_diffs;
use super::graph;
use super::parents;
use super::planner::{PlanError, Prior, checked, summarize};
use super::tenant_names;
use super::types::{Action, AttrDiff, Change, Guard, Plan};
use super::warning::Warning;
use crate::model::attrs::{
    PERMISSION_WRITE_FIELDS, ROLE_WRITE_FIELDS, TENANT_UPDATE_FIELDS, canonical, is_empty_value,
    wire_field,
};
use crate::model::{LiveObject, ResourceAddr, ResourceKind, Snapshot};

/// Everything a restore plan is computed from.
pub(crate) struct RestoreInput<'a> {
    /// The backup's objects, read as refresh reads live ones (attributes and raw body).
    pub(crate) backup: &'a BTreeMap<ResourceAddr, LiveObject>,
    /// Whether the backup holds the whole project (`dmgmt backup`, a pre-restore backup) rather
    /// than what dmgmt managed or changed when it was taken (a pre-apply backup): an object it
    /// lacks then did not exist.
    pub(crate) complete: bool,
    pub(crate) snapshot: &'a Snapshot,
    /// The state's entries: which live objects dmgmt manages.
    pub(crate) prior: &'a BTreeMap<ResourceAddr, Prior>,
    /// The environment is `protected: true`: every delete is guarded.
    pub(crate) protected: bool,
    /// `--delete-unmanaged`: objects created since that dmgmt does not manage are deleted too;
    /// ignored unless the backup is `complete` (the operation refuses the request before that).
    pub(crate) delete_unmanaged: bool,
    /// `--target`: only these changes and what they depend on (empty: everything).
    pub(crate) targets: &'a [ResourceAddr],
    /// The tenant settings the backup holds and the live ones (see `restore_settings`).
    pub(crate) tenant_settings: &'a super::TenantSettings,
}

/// The modelled fields of a kind (config names): what a restore change manages, so the
/// executor's read-back compares every one of them.
fn modelled_fields(kind: ResourceKind) -> Vec<String> {
    let fields: &[&str] = match kind {
        ResourceKind::Tenant => &[
            "custom_attributes",
            "default_roles",
            "disabled",
            "enforce_sso",
            "name",
            "self_provisioning_domains",
        ],
        ResourceKind::Role => &["description", "name", "permissions"],
        ResourceKind::Permission => &["description", "name"],
        ResourceKind::Flow | ResourceKind::Theme => &["document"],
    };
    fields.iter().map(|f| (*f).to_owned()).collect()
}

/// Fields Descope's create and update set (Descope's names), `defaultRoles` apart.
fn written_fields(kind: ResourceKind) -> Vec<&'static str> {
    match kind {
        ResourceKind::Tenant => TENANT_UPDATE_FIELDS.to_vec(),
        ResourceKind::Role => std::iter::once("name").chain(ROLE_WRITE_FIELDS).collect(),
        ResourceKind::Permission => std::iter::once("name")
            .chain(PERMISSION_WRITE_FIELDS)
            .collect(),
        ResourceKind::Flow | ResourceKind::Theme => Vec::new(),
    }
}

/// Descope's name of a tenant's default roles.
fn default_roles_field() -> &'static str {
    wire_field(ResourceKind::Tenant, "default_roles").unwrap_or("defaultRoles")
}

/// Computes the restore plan.
pub(crate) fn restore(input: &RestoreInput<'_>) -> Result<Plan, PlanError> {
    let (mut changes, claimed) = restores(input)?;
    let kept = deletes(input, &claimed, &mut changes);
    warn_tenant_cascades(&mut changes, input.snapshot);
    parents::warn_kept_sub_tenants(&mut changes, input.snapshot);
    super::restore_settings::add_steps(&mut changes, input);

    let mut extra = parents::parent_edges(&changes);
    extra.extend(tenant_name_edges(&mut changes, input)?);
    // A restored flow's references are not known from its backed-up document alone.
    let changes = graph::order(changes, &extra, &Default::default())?;
    let changes = graph::select_targets(changes, input.targets);
    let summary = summarize(&changes);
    checked(Plan {
        changes,
        drift: Vec::new(),
        unmanaged: kept,
        summary,
    })
}

/// The changes that put each backup object back, and the live objects they are restored onto
/// (claimed: no delete is planned for them).
fn restores<'a>(
    input: &RestoreInput<'a>,
) -> Result<(Vec<Change>, BTreeSet<&'a ResourceAddr>), PlanError> {
    let live = &input.snapshot.objects;
    let live_by_id: HashMap<&str, (&ResourceAddr, &LiveObject)> = live
        .iter()
        .filter_map(|(a, o)| Some((o.id.as_deref()?, (a, o))))
        .collect();
    // Live objects a backup object is restored onto (its own address, or renamed since).
    let mut claimed: BTreeSet<&ResourceAddr> = BTreeSet::new();
    let mut changes = Vec::new();

    for (addr, saved) in input.backup {
        if saved.is_system_default() {
            // Descope refuses any change to its own permissions; it keeps them itself.
            claimed.insert(addr);
            continue;
        }
        let found = match by_id(addr, saved, input, &live_by_id, &claimed)? {
            Some(found) => Some(found),
            None => live.get_key_value(addr),
        };
        if let Some((at, _)) = found {
            claimed.insert(at);
        }
        if found.is_some_and(|(_, o)| o.is_system_default()) {
            continue;
        }
        changes.extend(restore_one(addr, saved, found, input));
    }
    Ok((changes, claimed))
}

/// The deletes of live objects the backup does not hold (of the kinds it holds), appended to
/// `changes`; returns the live objects kept instead (not managed, and not to be deleted).
fn deletes(
    input: &RestoreInput<'_>,
    claimed: &BTreeSet<&ResourceAddr>,
    changes: &mut Vec<Change>,
) -> Vec<ResourceAddr> {
    let prior_ids: HashMap<&str, &ResourceAddr> = input
        .prior
        .iter()
        .filter_map(|(a, p)| Some((p.id.as_deref()?, a)))
        .collect();
    let kinds: BTreeSet<ResourceKind> = input.backup.keys().map(ResourceAddr::kind).collect();
    let mut kept = Vec::new();
    for (addr, object) in &input.snapshot.objects {
        if claimed.contains(addr)
            || !kinds.contains(&addr.kind())
            || *addr == ResourceAddr::Theme
            || object.is_system_default()
        {
            continue;
        }
        let state_entry = input.prior.get(addr).or_else(|| {
            let at = prior_ids.get(object.id.as_deref()?)?;
            input.prior.get(*at)
        });
        if state_entry.is_none() && !(input.delete_unmanaged && input.complete) {
            kept.push(addr.clone());
            continue;
        }
        changes.push(delete_of(input, addr, object, state_entry));
    }
    kept
}

/// The delete of the live `object` at `addr`, which the state manages as `state_entry`.
fn delete_of(
    input: &RestoreInput<'_>,
    addr: &ResourceAddr,
    object: &LiveObject,
    state_entry: Option<&Prior>,
) -> Change {
    let mut warnings = Vec::new();
    if !input.complete {
        warnings.push(Warning::NotInBackup);
    }
    let guard = match (
        state_entry.is_some_and(|p| p.prevent_destroy),
        input.protected,
    ) {
        (true, _) => Some(Guard::PreventDestroy),
        (false, true) => Some(Guard::Protected),
        _ => None,
    };
    Change {
        addr: addr.clone(),
        action: Action::Delete,
        live_id: object.id.clone(),
        live_digest: Some(object.digest.clone()),
        before: Some(object.raw.to_value()),
        after: None,
        diffs: Vec::new(),
        managed_fields: modelled_fields(addr.kind()),
        guard,
        prevent_destroy: state_entry.is_some_and(|p| p.prevent_destroy),
        depends_on: Vec::new(),
        warnings,
        moved_from: None,
        cascades: Vec::new(),
    }
}

/// The live object a backup object is restored onto when its Descope id finds it: under its own
/// address, or renamed since (to an address the backup does not hold, not yet claimed). Matching
/// by id first keeps a role renamed in the console, then its name reused by a new role, from
/// being destroyed while the new one is overwritten; that case is refused, as the rename back
/// would clash with the new one (which the restore never deletes or writes over).
fn by_id<'a>(
    addr: &ResourceAddr,
    saved: &LiveObject,
    input: &RestoreInput<'a>,
    live_by_id: &HashMap<&str, (&'a ResourceAddr, &'a LiveObject)>,
    claimed: &BTreeSet<&ResourceAddr>,
) -> Result<Option<(&'a ResourceAddr, &'a LiveObject)>, PlanError> {
    let Some(id) = saved.id.as_deref() else {
        return Ok(None);
    };
    let Some((at, object)) = live_by_id
        .get(id)
        .copied()
        .filter(|(at, _)| *at == addr || !(input.backup.contains_key(*at) || claimed.contains(at)))
    else {
        return Ok(None);
    };
    if let Some(other) = input.snapshot.objects.get(addr).filter(|_| at != addr) {
        return Err(PlanError::NameHeld {
            addr: addr.clone(),
            id: id.to_owned(),
            now_named: name_of(Some(&object.raw.to_value()), at),
            other: other.id.clone().unwrap_or_default(),
            restore: true,
        });
    }
    Ok(Some((at, object)))
}

/// The changes that put one backup object back: nothing when the live one already holds it.
fn restore_one(
    addr: &ResourceAddr,
    saved: &LiveObject,
    found: Option<(&ResourceAddr, &LiveObject)>,
    input: &RestoreInput<'_>,
) -> Vec<Change> {
    let kind = addr.kind();
    let after = saved.raw.to_value();
    let before = found.map(|(_, o)| o.raw.to_value());
    let mut out = Vec::new();
    let (action, moved_from) = match found {
        None => (Action::Create, None),
        Some((at, _)) if at != addr => (
            Action::Rename {
                from: name_of(before.as_ref(), at),
            },
            input.prior.contains_key(at).then(|| at.clone()),
        ),
        Some(_) => (Action::Update, None),
    };
    let main_differs = match (&action, found) {
        (Action::Update, Some((_, object))) => {
            differs(kind, object, saved, before.as_ref(), &after)
        }
        _ => true,
    };
    let base = Change {
        addr: addr.clone(),
        action,
        live_id: found.and_then(|(_, o)| o.id.clone()),
        live_digest: found.map(|(_, o)| o.digest.clone()),
        before: before.clone(),
        after: Some(after.clone()),
        diffs: diffs(kind, found.map(|(_, o)| o), saved, before.as_ref(), &after),
        managed_fields: modelled_fields(kind),
        guard: None,
        prevent_destroy: input.prior.get(addr).is_some_and(|p| p.prevent_destroy),
        depends_on: Vec::new(),
        warnings: Vec::new(),
        moved_from,
        cascades: Vec::new(),
    };
    if kind == ResourceKind::Tenant {
        let field = default_roles_field();
        let want = after.get(field).cloned().unwrap_or(Value::Null);
        let have = match &before {
            Some(b) => b.get(field).cloned().unwrap_or(Value::Null),
            None => Value::Null,
        };
        if !same(&want, &have) {
            let step = Change {
                action: Action::SetDefaultRoles,
                before: before.clone().or(Some(after.clone())),
                diffs: vec![AttrDiff {
                    field: "default_roles".into(),
                    before: Some(have),
                    after: Some(want),
                }],
                moved_from: None,
                ..base.clone()
            };
            if main_differs {
                out.push(base);
            }
            out.push(step);
            return out;
        }
    }
    if main_differs {
        out.push(base);
    }
    out
}

/// Whether the live object differs from the saved one in anything a restore can put back.
fn differs(
    kind: ResourceKind,
    live: &LiveObject,
    saved: &LiveObject,
    before: Option<&Value>,
    after: &Value,
) -> bool {
    match kind {
        ResourceKind::Flow | ResourceKind::Theme => live.attributes != saved.attributes,
        _ => written_fields(kind).iter().any(|f| {
            let get = |v: Option<&Value>| v.and_then(|v| v.get(*f)).cloned().unwrap_or(Value::Null);
            !same(&get(before), &get(Some(after)))
        }),
    }
}

/// The attribute-level differences shown for the change (config names), plus the unmodelled
/// fields that differ (Descope's names).
fn diffs(
    kind: ResourceKind,
    live: Option<&LiveObject>,
    saved: &LiveObject,
    before: Option<&Value>,
    after: &Value,
) -> Vec<AttrDiff> {
    let without_roles = |v: &Value| {
        let mut v = v.clone();
        if let Some(m) = v.as_object_mut() {
            m.remove("default_roles");
        }
        v
    };
    let empty = Value::Object(Map::new());
    let live_attrs = live.map_or(empty, |o| without_roles(&o.attributes));
    let mut out = all_diffs(&live_attrs, &without_roles(&saved.attributes));
    if live.is_none() {
        return out;
    }
    for field in written_fields(kind) {
        let modelled = field == "id"
            || modelled_fields(kind)
                .iter()
                .any(|f| wire_field(kind, f) == Some(field));
        if modelled {
            continue;
        }
        let get = |v: Option<&Value>| v.and_then(|v| v.get(field)).cloned();
        let (b, a) = (get(before), get(Some(after)));
        if !same(
            b.as_ref().unwrap_or(&Value::Null),
            a.as_ref().unwrap_or(&Value::Null),
        ) {
            out.push(AttrDiff {
                field: field.to_owned(),
                before: b,
                after: a,
            });
        }
    }
    out
}

/// Equal as Descope means it: canonically, a missing or `null` field being its empty value.
fn same(a: &Value, b: &Value) -> bool {
    canonical(a) == canonical(b) || (is_empty_value(a) && is_empty_value(b))
}

/// The name of the live object at `at` (its body's `name`, else the address's).
fn name_of(body: Option<&Value>, at: &ResourceAddr) -> String {
    if let Some(name) = body.and_then(|b| b.get("name")).and_then(Value::as_str) {
        return name.to_owned();
    }
    match at {
        ResourceAddr::Permission(n) | ResourceAddr::Tenant(n) | ResourceAddr::Flow(n) => n.clone(),
        ResourceAddr::Role { name, .. } => name.clone(),
        ResourceAddr::Theme => "theme".into(),
    }
}

/// Tenant names are unique in Descope: the planner's rules (`tenant_names`) order a name the
/// restore hands from one tenant to another (freed first), warn where a tenant the restore does
/// not change keeps it, and refuse tenants that swapped names since the backup.
fn tenant_name_edges(
    changes: &mut [Change],
    input: &RestoreInput<'_>,
) -> Result<Vec<(usize, usize)>, PlanError> {
    tenant_names::order(changes, input.snapshot, input.prior).map_err(|e| match e {
        PlanError::TenantNameCycle(renames) => PlanError::RestoreNameCycle(renames),
        other => other,
    })
}

/// A tenant's delete takes its roles with it in Descope: said on the change when a role of it
/// is not deleted by the plan itself.
fn warn_tenant_cascades(changes: &mut [Change], snapshot: &Snapshot) {
    let deleted: BTreeSet<ResourceAddr> = changes
        .iter()
        .filter(|c| c.action.is_delete())
        .map(|c| c.addr.clone())
        .collect();
    for c in changes.iter_mut() {
        let ResourceAddr::Tenant(id) = &c.addr else {
            continue;
        };
        if !c.action.is_delete() {
            continue;
        }
        let lost: Vec<ResourceAddr> = snapshot
            .objects
            .keys()
            .filter(|a| matches!(a, ResourceAddr::Role { tenant: Some(t), .. } if t == id))
            .filter(|a| !deleted.contains(*a))
            .cloned()
            .collect();
        if !lost.is_empty() {
            c.warnings.push(Warning::TenantTakesRoles { roles: lost });
        }
    }
}

#[cfg(test)]
#[path = "restore_tests.rs"]
mod tests;
