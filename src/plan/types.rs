//! The plan: an immutable value saying exactly what an apply will do, in which order, and from
//! which live state it was computed. The executor makes no choices of its own
//! (docs/architecture.md, after omicron's blueprints and terraform's `plans/`).

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::warning::Warning;
use crate::model::{ResourceAddr, ResourceKind};

/// A change's position in [`Plan::changes`]: how a change names the changes it depends on, and
/// how the executor and its observers name a change. Saved plans hold it as the bare number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ChangeId(usize);

impl ChangeId {
    /// The id of the change at `index` in [`Plan::changes`].
    pub(crate) fn new(index: usize) -> ChangeId {
        ChangeId(index)
    }

    /// The ids of the changes at `indexes`, for tests to write dependencies.
    #[cfg(test)]
    pub(crate) fn list(indexes: &[usize]) -> Vec<ChangeId> {
        indexes.iter().copied().map(ChangeId).collect()
    }

    /// Its position in [`Plan::changes`].
    pub(crate) fn index(self) -> usize {
        self.0
    }
}

impl fmt::Display for ChangeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What one change does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Action {
    /// Not live: create it.
    Create,
    /// Live and managed: change the managed fields that differ.
    Update,
    /// A role or permission live under its old name: rename in place (keeps user assignments),
    /// changing the other managed fields too.
    Rename { from: String },
    /// Managed, no longer in config: delete it.
    Delete,
    /// Declared and already live but not yet managed: take it over, updating what differs.
    Adopt,
    /// A tenant's default roles, set once the roles exist (a separate Descope call).
    SetDefaultRoles,
    /// A tenant's settings (session and token expirations, inactivity, JIT, SSO setup suite,
    /// `authType`, SSO `domains`), put back by a restore once the tenant exists: `after` is the
    /// whole settings object the backup holds (a separate Descope call).
    SetSettings,
    /// In state but no longer in config and cannot be deleted (the theme): stop managing it.
    Forget,
}

impl Action {
    /// The action as a plan file writes its type (`create`, `set_default_roles`...).
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Rename { .. } => "rename",
            Action::Delete => "delete",
            Action::Adopt => "adopt",
            Action::SetDefaultRoles => "set_default_roles",
            Action::SetSettings => "set_settings",
            Action::Forget => "forget",
        }
    }

    /// The Terraform-style symbol shown before the address.
    pub(crate) fn symbol(&self) -> &'static str {
        match self {
            Action::Create => "+",
            Action::Update
            | Action::Rename { .. }
            | Action::SetDefaultRoles
            | Action::SetSettings => "~",
            Action::Delete => "-",
            Action::Adopt => "=",
            Action::Forget => "x",
        }
    }

    pub(crate) fn is_delete(&self) -> bool {
        matches!(self, Action::Delete)
    }
}

/// Why a delete will be refused unless `--allow-delete` is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Guard {
    /// The environment is `protected: true`.
    Protected,
    /// The resource was declared with `prevent_destroy: true`.
    PreventDestroy,
}

/// One managed field that changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct AttrDiff {
    /// The field (`name`, `custom_attributes.plan`, `document`...). A change's `document` diff
    /// holds no values (both `null`): the two documents are the change's `before` and `after`,
    /// so a plan carries each once (a drift's `document` diff does hold both).
    pub(crate) field: String,
    pub(crate) before: Option<Value>,
    pub(crate) after: Option<Value>,
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub addr: ResourceAddr,
    pub action: Action,
    /// Descope's id of the live object (roles, permissions), if there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) live_id: Option<String>,
    /// sha256 of the live object this change was computed from (`None`: it was not live). Apply
    /// refuses a saved plan if it changed since.
    pub(crate) live_digest: Option<String>,
    /// The live object as Descope sent it, every field included, in Descope's field names (`None`
    /// for a create).
    pub(crate) before: Option<Value>,
    /// What Descope will hold afterwards, and exactly the body apply sends: the live object with
    /// only the managed fields replaced, in Descope's field names; for a flow or the theme, the
    /// document imported (`None` for a delete).
    pub(crate) after: Option<Value>,
    /// The managed fields that change, in field order.
    pub(crate) diffs: Vec<AttrDiff>,
    /// Fields the config writes for this resource (recorded in state after apply).
    pub managed_fields: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) guard: Option<Guard>,
    /// Whether `prevent_destroy` is set in config (recorded in state).
    #[serde(default)]
    pub prevent_destroy: bool,
    /// The changes that must succeed first.
    pub(crate) depends_on: Vec<ChangeId>,
    /// Something the reader must know (a replace, a likely conflict).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) warnings: Vec<Warning>,
    /// The state entry this object was managed under until now, when that is another address (a
    /// rename): apply moves the entry to `addr`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moved_from: Option<ResourceAddr>,
    /// Live objects Descope changes on its own when this change runs, beyond what the plan
    /// changes itself (a tenant's delete takes its roles with it). Each is also in `warnings`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) cascades: Vec<Cascade>,
}

impl Change {
    /// A change with nothing but its address and action, for tests to fill in.
    #[cfg(test)]
    pub(crate) fn bare(addr: &str, action: Action) -> Change {
        Change {
            addr: addr.parse().expect("a valid address"),
            action,
            live_id: None,
            live_digest: None,
            before: None,
            after: None,
            diffs: Vec::new(),
            managed_fields: Vec::new(),
            guard: None,
            prevent_destroy: false,
            depends_on: Vec::new(),
            warnings: Vec::new(),
            moved_from: None,
            cascades: Vec::new(),
        }
    }

    pub(crate) fn kind(&self) -> ResourceKind {
        self.addr.kind()
    }

    /// Whether applying it calls Descope (an adoption without differences only updates state).
    pub(crate) fn calls_api(&self) -> bool {
        match self.action {
            Action::Adopt => !self.diffs.is_empty(),
            Action::Forget => false,
            _ => true,
        }
    }
}

/// A live object that changed outside dmgmt since the state was last written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Drift {
    pub(crate) addr: ResourceAddr,
    /// `changed`, `renamed` or `deleted`.
    pub(crate) kind: DriftKind,
    /// Where a role or permission renamed outside dmgmt is live now (found by its Descope id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) renamed_to: Option<ResourceAddr>,
    pub(crate) diffs: Vec<AttrDiff>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum DriftKind {
    Changed,
    /// Renamed outside dmgmt: the same Descope id under another name.
    Renamed,
    Deleted,
}

/// Counts for the closing line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Summary {
    pub(crate) add: usize,
    pub(crate) change: usize,
    pub(crate) destroy: usize,
    pub(crate) adopt: usize,
    pub(crate) forget: usize,
}

/// The whole plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// In dependency order: creates and updates follow dependencies, deletes run in reverse.
    pub changes: Vec<Change>,
    pub(crate) drift: Vec<Drift>,
    /// Live objects that are neither in config nor in state: no change of the plan is theirs, but
    /// a delete may reach one as a side effect (listed in that change's `cascades`).
    pub(crate) unmanaged: Vec<ResourceAddr>,
    pub(crate) summary: Summary,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// The change `id` names (`None`: `id` is not a position in [`Plan::changes`]).
    pub(crate) fn change(&self, id: ChangeId) -> Option<&Change> {
        self.changes.get(id.0)
    }

    /// Every change with its id, in plan order.
    pub(crate) fn iter(&self) -> impl ExactSizeIterator<Item = (ChangeId, &Change)> {
        self.changes
            .iter()
            .enumerate()
            .map(|(i, c)| (ChangeId(i), c))
    }
}

/// A live object that a change alters as a side effect in Descope, not through a change of its
/// own (docs/reference.md, `plan`: the only way dmgmt may touch an unmanaged object).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Cascade {
    pub(crate) addr: ResourceAddr,
    pub(crate) effect: CascadeEffect,
    /// Whether dmgmt manages the object (in config or state): a managed one will show as drift.
    pub(crate) managed: bool,
}

/// What a cascade does to the object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum CascadeEffect {
    /// Deleted with its tenant.
    Deleted,
    /// A role that loses the deleted permission.
    LosesPermission,
    /// A role that grants the renamed permission under its old name: Descope renames it there
    /// too, or removes it (docs/descope-api.md §4: UNSURE).
    GrantsRenamedPermission,
    /// A tenant whose default roles name the deleted role.
    LosesDefaultRole,
}
