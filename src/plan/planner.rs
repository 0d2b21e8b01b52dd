//! The planner: (desired, live snapshot, prior state) -> changes. Pure and deterministic: every
//! collection is ordered, nothing is read from outside its arguments.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::Value;

use super::cascade;
use super::diff::{all_diffs, managed_diffs, managed_fields, overlay_body};
use super::grants;
use super::graph;
use super::locate::{Ids, Located, describe_name_held, locate, name_held_hints};
use super::parents;
use super::tenant_names::{self, TenantRename, describe_name_cycle, describe_restore_name_cycle};
use super::types::{Action, AttrDiff, Change, Drift, DriftKind, Guard, Plan, Summary};
use super::unmanaged::unmanaged;
use super::validate::InvalidPlan;
use super::warning::Warning;
use crate::model::preconfigured::{TENANT_ADMIN_ROLE, is_system_default_permission};
use crate::model::{DesiredState, FlowRefs, LiveObject, ResourceAddr, Snapshot, attrs};

/// What the last state says about a managed object.
#[derive(Debug, Clone, PartialEq)]
pub struct Prior {
    /// The live attributes when the state was last written; `null` where the caller knows them
    /// to be the live object's at the same address (`digest` is its `attributes_digest`): the
    /// planner reads them only where the two digests differ (`drift`).
    pub attributes: Value,
    pub managed_fields: Vec<String>,
    pub prevent_destroy: bool,
    /// sha256 of the canonical attributes, when known (a fast path for drift).
    pub digest: Option<String>,
    /// Descope's id of the object (roles, permissions: `ROL…`, `PERM…`), when known: it finds the
    /// object again after a rename made outside dmgmt.
    pub id: Option<String>,
}

/// Everything a plan is computed from.
pub struct PlanInput<'a> {
    pub desired: &'a DesiredState,
    pub snapshot: &'a Snapshot,
    pub prior: &'a BTreeMap<ResourceAddr, Prior>,
    /// `--target`: only these changes and what they depend on (empty: everything).
    pub targets: &'a [ResourceAddr],
}

/// Why no plan could be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("the changes depend on each other in a cycle: {}", .0.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(" -> "))]
    Cycle(Vec<ResourceAddr>),
    /// `renamed_from: OLD` while both the new and the old name exist live: renaming would clash,
    /// and adopting the new one while deleting the old would take the old role from its users.
    #[error("`{addr}` is renamed from `{}`, but both exist in Descope: the rename cannot be done safely", name_of(.from))]
    UnsafeRename {
        addr: ResourceAddr,
        from: ResourceAddr,
    },
    /// The configuration would change, rename or delete one of Descope's system-default
    /// permissions, which Descope does not allow.
    #[error("`{addr}` is a Descope system-default permission: dmgmt never {verb} it")]
    SystemDefault {
        addr: ResourceAddr,
        verb: &'static str,
    },
    /// Tenants that would take each other's names: no order of updates works.
    #[error("{}", describe_name_cycle(.0))]
    TenantNameCycle(Vec<TenantRename>),
    /// A role or permission that dmgmt manages (or a backup holds) as Descope id `id` was renamed
    /// outside dmgmt to `now_named`, and another object (`other`) took its old name since:
    /// renaming it back would clash, and taking the other over would leave `id` and its users'
    /// assignments behind (a restore would even destroy it).
    #[error("{}", describe_name_held(.addr, .id, .now_named, .other, *.restore))]
    NameHeld {
        addr: ResourceAddr,
        id: String,
        now_named: String,
        other: String,
        /// Raised by the restore planner (the way out differs).
        restore: bool,
    },
    /// The same, in a restore: tenants that swapped names since the backup.
    #[error("{}", describe_restore_name_cycle(.0))]
    RestoreNameCycle(Vec<TenantRename>),
    /// The plan made is one the executor cannot carry out (a fault of the planner's own, found
    /// in debug builds).
    #[error("the plan made cannot be carried out: {0}")]
    Invalid(#[from] InvalidPlan),
}

impl PlanError {
    /// What the user can do about it.
    pub(crate) fn hints(&self) -> Vec<String> {
        match self {
            PlanError::Cycle(_) => vec!["break the cycle in the configuration".into()],
            PlanError::TenantNameCycle(_) | PlanError::RestoreNameCycle(_) => vec![
                "Descope refuses a second tenant with a name already taken, even for a moment"
                    .into(),
            ],
            PlanError::UnsafeRename { addr, from } => vec![
                format!(
                    "if `{}` should carry on under the new name (keeping its users), delete or rename the live `{}` in Descope first, then plan again",
                    name_of(from),
                    name_of(addr)
                ),
                format!(
                    "if the live `{}` is the one to keep, drop `renamed_from` from `{addr}`: dmgmt adopts it and leaves `{}` alone",
                    name_of(addr),
                    name_of(from)
                ),
            ],
            PlanError::NameHeld {
                addr,
                id,
                now_named,
                other,
                restore,
            } => name_held_hints(addr, id, now_named, other, *restore),
            PlanError::SystemDefault { .. } => vec![
                "reference system-default permissions from roles without declaring them".into(),
            ],
            PlanError::Invalid(_) => Vec::new(),
        }
    }
}

/// One declared resource with what the planner needs beyond its attributes.
struct Declared<'a> {
    /// Desired attributes, without the two parts handled apart: a tenant's `default_roles` (a
    /// separate call, made once the roles exist) and a flow's or the theme's `document`
    /// (compared in place: copying 50 large documents per plan would dominate its cost).
    attrs: Value,
    default_roles: Option<Value>,
    document: Option<&'a Value>,
}

impl<'a> Declared<'a> {
    fn new(mut attrs: Value) -> Self {
        let default_roles = attrs
            .as_object_mut()
            .and_then(|m| m.remove("default_roles"));
        Declared {
            attrs,
            default_roles,
            document: None,
        }
    }

    fn document(document: &'a Value) -> Self {
        Declared {
            attrs: Value::Object(Default::default()),
            default_roles: None,
            document: Some(document),
        }
    }
}

/// Where a declared resource is written in the configuration: its attributes are built from it
/// when the planner reaches it and dropped once it is planned (at 100,000 tenants, building them
/// all up front held a second tree of every declared object).
enum Source<'a> {
    Permission(&'a crate::model::Permission),
    Role(&'a crate::model::Role),
    Tenant(&'a crate::model::Tenant),
    Document(&'a Value),
}

/// A declared resource as the planner's index holds it.
struct Entry<'a> {
    source: Source<'a>,
    renamed_from: Option<ResourceAddr>,
    prevent_destroy: bool,
}

impl<'a> Entry<'a> {
    fn declared(&self) -> Declared<'a> {
        match self.source {
            Source::Permission(p) => Declared::new(attrs::permission(p)),
            Source::Role(r) => Declared::new(attrs::role(r)),
            Source::Tenant(t) => Declared::new(attrs::tenant(t)),
            Source::Document(document) => Declared::document(document),
        }
    }
}

fn declared(desired: &DesiredState) -> BTreeMap<ResourceAddr, Entry<'_>> {
    let entry = |source, renamed_from, prevent_destroy| Entry {
        source,
        renamed_from,
        prevent_destroy,
    };
    let mut out = BTreeMap::new();
    for p in &desired.permissions {
        out.insert(
            p.addr(),
            entry(
                Source::Permission(p),
                p.renamed_from_addr(),
                p.prevent_destroy,
            ),
        );
    }
    for r in &desired.roles {
        out.insert(
            r.addr(),
            entry(Source::Role(r), r.renamed_from_addr(), r.prevent_destroy),
        );
    }
    for t in &desired.tenants {
        out.insert(t.addr(), entry(Source::Tenant(t), None, t.prevent_destroy));
    }
    if let Some(t) = &desired.theme {
        out.insert(
            ResourceAddr::Theme,
            entry(Source::Document(&t.document), None, false),
        );
    }
    for f in &desired.flows {
        out.insert(
            f.addr(),
            entry(Source::Document(&f.document), None, f.prevent_destroy),
        );
    }
    out
}

/// Computes the plan.
pub fn plan(input: &PlanInput<'_>) -> Result<Plan, PlanError> {
    let declared = declared(input.desired);
    let mut run = Run::new(input, &declared);
    for (addr, entry) in &declared {
        run.plan_declared(addr, entry)?;
    }
    for (addr, prior) in input.prior {
        run.plan_undeclared(addr, prior);
    }
    run.finish()
}

/// One planning run: its inputs, and what the changes planned so far tell the ones after them.
struct Run<'p, 'a> {
    input: &'p PlanInput<'a>,
    declared: &'p BTreeMap<ResourceAddr, Entry<'a>>,
    ids: Ids<'a>,
    changes: Vec<Change>,
    // Live objects that a declared resource takes over under another name (not unmanaged, not
    // deleted), and state entries whose object now lives under a declared address.
    renamed_away: BTreeSet<ResourceAddr>,
    moved: BTreeSet<ResourceAddr>,
    // Permissions this plan renames, old name -> new. Every permission comes before every role in
    // `declared`, so it is complete by the time the roles are planned.
    permission_renames: BTreeMap<String, String>,
    // Roles this plan renames, (tenant, old name) -> new; complete before the tenants likewise.
    role_renames: BTreeMap<(Option<String>, String), String>,
}

/// What a declared resource's live object makes of it: the action, the object it acts on, the
/// state entry it moves from, and what the reader must know.
struct Found<'a> {
    action: Action,
    object: Option<&'a LiveObject>,
    moved_from: Option<ResourceAddr>,
    warnings: Vec<Warning>,
}

impl<'p, 'a> Run<'p, 'a> {
    fn new(input: &'p PlanInput<'a>, declared: &'p BTreeMap<ResourceAddr, Entry<'a>>) -> Self {
        Run {
            input,
            declared,
            ids: Ids::new(input),
            changes: Vec::new(),
            renamed_away: BTreeSet::new(),
            moved: BTreeSet::new(),
            permission_renames: BTreeMap::new(),
            role_renames: BTreeMap::new(),
        }
    }

    /// The changes of one declared resource: its own, and its default roles' step.
    fn plan_declared(&mut self, addr: &ResourceAddr, entry: &Entry<'a>) -> Result<(), PlanError> {
        let d = entry.declared();
        let Found {
            action,
            object,
            moved_from,
            mut warnings,
        } = self.find(addr, entry)?;
        let before = object.map(|o| &o.attributes);
        let mut diffs = declared_diffs(&d, before);
        let have_roles = before.and_then(|b| b.get("default_roles"));
        let roles_change = self.default_roles_change(addr, &d, have_roles);
        if object.is_some_and(LiveObject::is_system_default) {
            // Referenced as it is: Descope refuses changes to its own permissions.
            return system_default_untouched(addr, &action, &diffs);
        }
        self.note_rename(addr, &action);
        let regrant = self.regrant(addr, &d, before);
        if let Some((have, want, _)) = &regrant {
            diffs.push(AttrDiff {
                field: "permissions".into(),
                before: Some(have.clone()),
                after: Some(want.clone()),
            });
        }
        // The common case at scale: nothing to do, and nothing allocated for it.
        if action == Action::Update && diffs.is_empty() && roles_change.is_none() {
            return Ok(());
        }
        if let Action::Rename { from } = &action {
            name_diff_first(&mut diffs, from, addr);
        }
        warnings.extend(tenant_admin_loses_system_permissions(
            addr,
            &diffs,
            self.input.snapshot,
        ));
        let raw = object.map(|o| o.raw.to_value());
        let after = self.body(addr, &d, raw.as_ref(), regrant, &mut warnings);
        let base = Change {
            addr: addr.clone(),
            action: action.clone(),
            live_id: object.and_then(|o| o.id.clone()),
            live_digest: object.map(|o| o.digest.clone()),
            before: raw,
            after: Some(after),
            diffs,
            managed_fields: managed_of(&d),
            guard: None,
            prevent_destroy: entry.prevent_destroy,
            depends_on: Vec::new(),
            warnings,
            moved_from,
            cascades: Vec::new(),
        };
        let roles_step = roles_change.map(|want| default_roles_step(&base, want, have_roles));
        if action != Action::Update || !base.diffs.is_empty() {
            self.changes.push(base);
        }
        self.changes.extend(roles_step);
        Ok(())
    }

    /// Where the declared `addr`'s live object is, and what that makes the change.
    fn find(&mut self, addr: &ResourceAddr, entry: &Entry<'a>) -> Result<Found<'a>, PlanError> {
        let declared = self.declared;
        let mut located = locate(
            addr,
            entry.renamed_from.as_ref(),
            self.input,
            &|a| declared.contains_key(a),
            &self.ids,
        )?;
        if let Located::Elsewhere { at, .. } = located
            && self.renamed_away.contains(at)
        {
            // Another declared resource already takes that object over.
            located = Located::Missing;
        }
        let mut warnings = Vec::new();
        let (action, object, moved_from) = match located {
            Located::Here { object, followed } => {
                if let Some(old) = followed {
                    self.moved.insert(old.clone());
                    warnings.push(Warning::RenamedOutsideToConfigured {
                        from: name_of(old),
                        addr: addr.clone(),
                    });
                }
                let action = if self.input.prior.contains_key(addr) || followed.is_some() {
                    Action::Update
                } else {
                    Action::Adopt
                };
                (action, Some(object), followed.cloned())
            }
            Located::Elsewhere {
                at,
                object,
                outside,
            } => {
                self.renamed_away.insert(at.clone());
                let state_entry = object
                    .id
                    .as_deref()
                    .and_then(|id| self.ids.prior.get(id).copied())
                    .or(self.input.prior.contains_key(at).then_some(at))
                    .filter(|s| *s != addr)
                    .cloned();
                if let Some(s) = &state_entry {
                    self.moved.insert(s.clone());
                }
                if outside {
                    warnings.push(Warning::RenamedOutsideRenamedBack { now: name_of(at) });
                }
                (
                    Action::Rename { from: name_of(at) },
                    Some(object),
                    state_entry,
                )
            }
            Located::Missing => (Action::Create, None, None),
        };
        Ok(Found {
            action,
            object,
            moved_from,
            warnings,
        })
    }

    /// The default roles a tenant's separate step sets, if they change.
    fn default_roles_change(
        &self,
        addr: &ResourceAddr,
        d: &Declared<'_>,
        have_roles: Option<&Value>,
    ) -> Option<Value> {
        // Default roles the configuration does not write that name a role this plan renames:
        // set again under the new name, after the rename, whether or not Descope carries a
        // role's rename into tenants' default roles.
        let renamed_defaults = match (addr, &d.default_roles) {
            (ResourceAddr::Tenant(id), None) => {
                have_roles.and_then(|have| renamed_default_roles(have, id, &self.role_renames))
            }
            _ => None,
        };
        d.default_roles
            .as_ref()
            .filter(|want| {
                have_roles != Some(*want)
                    && !(have_roles.is_none() && want.as_array().is_some_and(Vec::is_empty))
            })
            .cloned()
            .or(renamed_defaults)
    }

    /// Records a rename of a permission or a role, for the roles and tenants planned after it.
    fn note_rename(&mut self, addr: &ResourceAddr, action: &Action) {
        match (action, addr) {
            (Action::Rename { from }, ResourceAddr::Permission(to)) => {
                self.permission_renames.insert(from.clone(), to.clone());
            }
            (Action::Rename { from }, ResourceAddr::Role { tenant, name }) => {
                self.role_renames
                    .insert((tenant.clone(), from.clone()), name.clone());
            }
            _ => {}
        }
    }

    /// Does a permission of this name exist once the plan is done (it is live, declared, or
    /// one of Descope's own)?
    fn permission_exists(&self, name: &str) -> bool {
        let p = ResourceAddr::Permission(name.to_owned());
        self.input.snapshot.objects.contains_key(&p)
            || self.declared.contains_key(&p)
            || is_system_default_permission(name)
    }

    /// A live role granting a permission this plan renames, under its old name, whose
    /// permissions the configuration does not write: it is written granting the new name,
    /// after the rename. Descope may carry the rename into the role or drop the name from it
    /// (docs/descope-api.md §4: UNSURE); either way the role keeps the grant, and its update never
    /// sends the old name, which no longer exists. Returns the grants it has, those it is
    /// written with, and the names left out because they no longer exist.
    fn regrant(
        &self,
        addr: &ResourceAddr,
        d: &Declared<'_>,
        before: Option<&Value>,
    ) -> Option<(Value, Value, Vec<String>)> {
        match addr {
            ResourceAddr::Role { .. } if d.attrs.get("permissions").is_none() => before
                .and_then(|b| renamed_grants(b, &self.permission_renames))
                .map(|(have, mut want)| {
                    let dropped = grants::retain_existing(&mut want, |n| self.permission_exists(n));
                    (have, want, dropped)
                }),
            _ => None,
        }
    }

    /// What Descope will hold afterwards (the change's `after`): the live object with the
    /// declared fields (and a regrant) laid over it.
    fn body(
        &self,
        addr: &ResourceAddr,
        d: &Declared<'_>,
        raw: Option<&Value>,
        regrant: Option<(Value, Value, Vec<String>)>,
        warnings: &mut Vec<Warning>,
    ) -> Value {
        let mut body = d.attrs.clone();
        if let (Some(doc), Some(map)) = (d.document, body.as_object_mut()) {
            map.insert("document".into(), doc.clone());
        }
        let mut dropped_grants = Vec::new();
        if let Some((_, want, dropped)) = regrant {
            dropped_grants = dropped;
            if let Some(map) = body.as_object_mut() {
                // Written, not managed: `managed` below comes from the configuration alone.
                map.insert("permissions".into(), want);
            }
        }
        let mut after = overlay_body(addr.kind(), raw, &body);
        if matches!(addr, ResourceAddr::Role { .. }) && d.attrs.get("permissions").is_none() {
            // Its live grants are sent back: never one Descope no longer knows (see `grants`).
            dropped_grants.extend(grants::drop_missing(&mut after, |n| {
                self.permission_exists(n)
            }));
            warnings.extend(grants::warning(&dropped_grants));
        }
        after
    }

    /// The change of a state entry that is no longer declared: a delete, or a forget.
    fn plan_undeclared(&mut self, addr: &ResourceAddr, prior: &Prior) {
        let declared = self.declared;
        if declared.contains_key(addr)
            || self.renamed_away.contains(addr)
            || self.moved.contains(addr)
        {
            return;
        }
        let mut warnings = Vec::new();
        let obj =
            match self.input.snapshot.objects.get(addr) {
                Some(obj) => obj,
                None => match self.ids.moved(self.input, addr).filter(|(at, _)| {
                    !declared.contains_key(*at) && !self.renamed_away.contains(*at)
                }) {
                    Some((at, obj)) => {
                        self.renamed_away.insert(at.clone());
                        warnings.push(Warning::RenamedOutsideDestroyed { now: name_of(at) });
                        obj
                    }
                    None => return,
                },
            };
        let action = if *addr == ResourceAddr::Theme || obj.is_system_default() {
            Action::Forget
        } else {
            Action::Delete
        };
        if action == Action::Delete && *addr == ResourceAddr::role(None, TENANT_ADMIN_ROLE) {
            warnings.push(Warning::DeletesTenantAdmin);
        }
        let guard = match (&action, prior.prevent_destroy, self.input.desired.protected) {
            (Action::Delete, true, _) => Some(Guard::PreventDestroy),
            (Action::Delete, false, true) => Some(Guard::Protected),
            _ => None,
        };
        self.changes.push(Change {
            addr: addr.clone(),
            action,
            live_id: obj.id.clone(),
            live_digest: Some(obj.digest.clone()),
            before: Some(obj.raw.to_value()),
            after: None,
            diffs: Vec::new(),
            managed_fields: prior.managed_fields.clone(),
            guard,
            prevent_destroy: prior.prevent_destroy,
            depends_on: Vec::new(),
            warnings,
            moved_from: None,
            cascades: Vec::new(),
        });
    }

    /// Orders the changes, annotates them, and assembles the plan.
    fn finish(self) -> Result<Plan, PlanError> {
        let input = self.input;
        let mut changes = self.changes;
        let mut extra_edges = tenant_names::order(&mut changes, input.snapshot, input.prior)?;
        extra_edges.extend(parents::parent_edges(&changes));
        parents::warn_kept_sub_tenants(&mut changes, input.snapshot);
        cascade::annotate(&mut changes, input);
        let flow_refs: HashMap<ResourceAddr, &FlowRefs> = input
            .desired
            .flows
            .iter()
            .map(|f| (f.addr(), &f.refs))
            .collect();
        let changes = graph::order(changes, &extra_edges, &flow_refs)?;
        let changes = graph::select_targets(changes, input.targets);

        let drift = drift(input.prior, input.snapshot);
        let unmanaged = unmanaged(input);
        let summary = summarize(&changes);
        let plan = Plan {
            changes,
            drift,
            unmanaged,
            summary,
        };
        checked(plan)
    }
}

/// The declared resource's managed fields that differ from the live `before` (a document's
/// difference without values).
fn declared_diffs(d: &Declared<'_>, before: Option<&Value>) -> Vec<AttrDiff> {
    let mut diffs = managed_diffs(&d.attrs, before);
    if let Some(doc) = d.document {
        let have = before.and_then(|b| b.get("document"));
        if !have.is_some_and(|have| attrs::same_document(have, doc)) {
            // No values: the documents are the change's own `before` (the live body) and
            // `after` (what is imported), so a plan carries each large document once.
            diffs.push(AttrDiff {
                field: "document".into(),
                before: None,
                after: None,
            });
        }
    }
    diffs
}

/// A system-default permission is referenced as it is: never renamed or changed.
fn system_default_untouched(
    addr: &ResourceAddr,
    action: &Action,
    diffs: &[AttrDiff],
) -> Result<(), PlanError> {
    if matches!(action, Action::Rename { .. }) {
        return Err(PlanError::SystemDefault {
            addr: addr.clone(),
            verb: "renames",
        });
    }
    if !diffs.is_empty() {
        return Err(PlanError::SystemDefault {
            addr: addr.clone(),
            verb: "changes",
        });
    }
    Ok(())
}

/// A rename's `name` diff, from the old name to the new, first.
fn name_diff_first(diffs: &mut Vec<AttrDiff>, from: &str, addr: &ResourceAddr) {
    diffs.retain(|diff| diff.field != "name");
    let rename = AttrDiff {
        field: "name".into(),
        before: Some(Value::String(from.to_owned())),
        after: Some(Value::String(name_of(addr))),
    };
    diffs.insert(0, rename);
}

/// The fields the configuration writes for the resource.
fn managed_of(d: &Declared<'_>) -> Vec<String> {
    let mut managed = managed_fields(&d.attrs);
    if d.default_roles.is_some() {
        managed.push("default_roles".into());
    }
    if d.document.is_some() {
        managed.push("document".into());
    }
    managed
}

/// A tenant's step setting its default roles to `want`, after its own change `base`.
fn default_roles_step(base: &Change, want: Value, have_roles: Option<&Value>) -> Change {
    let mut after_roles = base.after.clone().unwrap_or_default();
    if let (Some(map), Some(wire)) = (
        after_roles.as_object_mut(),
        attrs::wire_field(base.addr.kind(), "default_roles"),
    ) {
        map.insert(wire.into(), want.clone());
    }
    Change {
        action: Action::SetDefaultRoles,
        before: base.before.clone().or(base.after.clone()),
        after: Some(after_roles),
        diffs: vec![AttrDiff {
            field: "default_roles".into(),
            before: have_roles.cloned(),
            after: Some(want),
        }],
        warnings: Vec::new(),
        moved_from: None,
        ..base.clone()
    }
}

/// `plan`, checked in debug builds (as a `debug_assert!` would, but returning the error): the
/// planners make only valid plans, and the tests hold them to it.
pub(super) fn checked(plan: Plan) -> Result<Plan, PlanError> {
    #[cfg(debug_assertions)]
    plan.validate()?;
    Ok(plan)
}

/// The permissions a live role grants (config-shaped `attrs`) and the same list with every name
/// that `renames` renames replaced by its new name; `None` when it grants none of them.
fn renamed_grants(attrs: &Value, renames: &BTreeMap<String, String>) -> Option<(Value, Value)> {
    let have = attrs.get("permissions")?.as_array()?;
    let renamed = |p: &Value| p.as_str().and_then(|p| renames.get(p));
    if !have.iter().any(|p| renamed(p).is_some()) {
        return None;
    }
    let mut want: Vec<Value> = have
        .iter()
        .map(|p| renamed(p).map_or_else(|| p.clone(), |to| Value::String(to.clone())))
        .collect();
    want.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
    want.dedup();
    Some((Value::Array(have.clone()), Value::Array(want)))
}

/// A live tenant's default roles (`have`) with every role that `renames` renames replaced by its
/// new name (a role of the tenant itself first, else a project role); `None` when none is.
fn renamed_default_roles(
    have: &Value,
    tenant: &str,
    renames: &BTreeMap<(Option<String>, String), String>,
) -> Option<Value> {
    let have = have.as_array()?;
    let renamed = |r: &Value| {
        let r = r.as_str()?.to_owned();
        renames
            .get(&(Some(tenant.to_owned()), r.clone()))
            .or_else(|| renames.get(&(None, r)))
    };
    if !have.iter().any(|r| renamed(r).is_some()) {
        return None;
    }
    let want = have
        .iter()
        .map(|r| renamed(r).map_or_else(|| r.clone(), |to| Value::String(to.clone())))
        .collect();
    Some(Value::Array(want))
}

/// A warning when the plan takes one of Descope's system-default permissions away from
/// `Tenant Admin`: the tenant-admin widgets rely on them.
fn tenant_admin_loses_system_permissions(
    addr: &ResourceAddr,
    diffs: &[AttrDiff],
    snapshot: &Snapshot,
) -> Option<Warning> {
    if *addr != ResourceAddr::role(None, TENANT_ADMIN_ROLE) {
        return None;
    }
    let diff = diffs.iter().find(|d| d.field == "permissions")?;
    let names = |v: &Option<Value>| -> BTreeSet<String> {
        v.iter()
            .flat_map(|v| v.as_array().into_iter().flatten())
            .filter_map(|s| s.as_str().map(str::to_owned))
            .collect()
    };
    let after = names(&diff.after);
    let lost: Vec<String> = names(&diff.before)
        .into_iter()
        .filter(|p| !after.contains(p))
        .filter(|p| {
            snapshot
                .get(&ResourceAddr::Permission(p.clone()))
                .is_some_and(LiveObject::is_system_default)
        })
        .collect();
    (!lost.is_empty()).then_some(Warning::TenantAdminLosesSystemPermissions { permissions: lost })
}

pub(super) fn name_of(addr: &ResourceAddr) -> String {
    match addr {
        ResourceAddr::Permission(n) | ResourceAddr::Tenant(n) | ResourceAddr::Flow(n) => n.clone(),
        ResourceAddr::Role { name, .. } => name.clone(),
        ResourceAddr::Theme => "theme".into(),
    }
}

/// Objects in state that changed, were renamed, or disappeared, outside dmgmt since the state was
/// written.
pub(crate) fn drift(prior: &BTreeMap<ResourceAddr, Prior>, snapshot: &Snapshot) -> Vec<Drift> {
    let live_by_id: HashMap<&str, (&ResourceAddr, &LiveObject)> = snapshot
        .objects
        .iter()
        .filter_map(|(a, o)| Some((o.id.as_deref()?, (a, o))))
        .collect();
    let mut out = Vec::new();
    for (addr, prior) in prior {
        let found = match snapshot.objects.get(addr) {
            Some(obj) => Some((None, obj)),
            None => prior
                .id
                .as_deref()
                .and_then(|id| live_by_id.get(id))
                .map(|(at, obj)| (Some(*at), *obj)),
        };
        match found {
            // Equal digests: equal canonical attributes, no need to compare field by field.
            Some((None, obj))
                if prior.digest.as_deref() == Some(obj.attributes_digest.as_str()) => {}
            Some((renamed_to, obj)) => {
                let diffs = all_diffs(&prior.attributes, &obj.attributes);
                if !diffs.is_empty() || renamed_to.is_some() {
                    out.push(Drift {
                        addr: addr.clone(),
                        kind: match renamed_to {
                            Some(_) => DriftKind::Renamed,
                            None => DriftKind::Changed,
                        },
                        renamed_to: renamed_to.cloned(),
                        diffs,
                    });
                }
            }
            None => out.push(Drift {
                addr: addr.clone(),
                kind: DriftKind::Deleted,
                renamed_to: None,
                diffs: Vec::new(),
            }),
        }
    }
    out
}

/// Counts for the closing line: every step the plan shows is counted once, by what it does. `+` is
/// one to add; `~` one to change: an update, a rename, a tenant getting its default roles (a
/// separate call, also right after the tenant is created), an adoption that changes fields; `-` one
/// to destroy; `x` one to forget. Every adoption is also one to adopt, so an adoption that changes
/// nothing is counted there only.
pub(crate) fn summarize(changes: &[Change]) -> Summary {
    let mut summary = Summary::default();
    for c in changes {
        match c.action {
            Action::Create => summary.add += 1,
            Action::Update
            | Action::Rename { .. }
            | Action::SetDefaultRoles
            | Action::SetSettings => summary.change += 1,
            Action::Delete => summary.destroy += 1,
            Action::Forget => summary.forget += 1,
            Action::Adopt => {
                summary.adopt += 1;
                if !c.diffs.is_empty() {
                    summary.change += 1;
                }
            }
        }
    }
    summary
}
