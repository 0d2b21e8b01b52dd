//! What a change warns its reader of, as a value: the planner says which case it found and with
//! what; the words are written once, here, by [`fmt::Display`], which the CLI's rendering and
//! the `--json` output both use. Tests match the variants.
//!
//! A plan written to a file or printed with `--json` holds each warning as its text (the shape
//! those documents have always had); a warning read back from a saved plan is [`Warning::Saved`],
//! and two warnings are equal when they say the same, so that a saved plan compares equal to the
//! plan it came from.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::types::{Cascade, CascadeEffect};
use crate::model::ResourceAddr;
use crate::model::preconfigured::TENANT_ADMIN_ROLE;

/// One warning on a change.
#[derive(Debug, Clone)]
pub(crate) enum Warning {
    /// Renamed outside dmgmt from `from` to the name the configuration uses: managed under
    /// `addr` from now on.
    RenamedOutsideToConfigured { from: String, addr: ResourceAddr },
    /// Renamed outside dmgmt to `now`: the change renames it back.
    RenamedOutsideRenamedBack { now: String },
    /// Renamed outside dmgmt to `now`, and no longer declared: that object is the one deleted.
    RenamedOutsideDestroyed { now: String },
    /// The delete of the `Tenant Admin` role Descope creates in every project.
    DeletesTenantAdmin,
    /// `Tenant Admin` loses these system-default permissions.
    TenantAdminLosesSystemPermissions { permissions: Vec<String> },
    /// A role update that leaves out grants of permissions that no longer exist.
    DropsMissingGrants { permissions: Vec<String> },
    /// A tenant's id changes from `from` to `to` (same name): a delete and a create.
    TenantIdChange {
        from: ResourceAddr,
        to: ResourceAddr,
    },
    /// The name the change gives a tenant is held by `holder`, which keeps it.
    TenantNameTaken {
        holder: ResourceAddr,
        name: String,
        create: bool,
    },
    /// One tenant deleted and one created in the same plan, under different names: perhaps an
    /// id change.
    MaybeTenantIdChange {
        old: ResourceAddr,
        new: ResourceAddr,
        old_name: String,
        new_name: String,
    },
    /// Several tenants `others` deleted (`others_deleted`) or created in the same plan as
    /// `tenant`: one may be it under a changed id.
    MaybeTenantIdChanges {
        tenant: ResourceAddr,
        others: Vec<ResourceAddr>,
        others_deleted: bool,
    },
    /// A tenant deleted while sub-tenants of it stay.
    KeepsSubTenants {
        tenant: ResourceAddr,
        children: Vec<ResourceAddr>,
    },
    /// Renaming the permission `from` to `to` also changes roles that grant it (`managed`: roles
    /// dmgmt manages; else roles it does not).
    RenameReachesRoles {
        from: String,
        to: String,
        roles: Vec<ResourceAddr>,
        managed: bool,
    },
    /// Deleting `deleted` may also change or delete the objects of `cascades` (all managed or
    /// all not, all of one kind of effect: the first one's).
    DeleteReaches {
        deleted: ResourceAddr,
        cascades: Vec<Cascade>,
        managed: bool,
    },
    /// A restore's delete of an object the backup does not hold (an incomplete backup).
    NotInBackup,
    /// A restore's delete of a tenant whose roles go with it.
    TenantTakesRoles { roles: Vec<ResourceAddr> },
    /// A warning as a saved plan holds it: its text.
    Saved(String),
}

impl PartialEq for Warning {
    /// Equal when of the same variant and saying the same; a saved warning (its text alone)
    /// equals any warning that says the same.
    fn eq(&self, other: &Self) -> bool {
        let same_variant = matches!(
            (self, other),
            (Warning::Saved(_), _) | (_, Warning::Saved(_))
        ) || std::mem::discriminant(self) == std::mem::discriminant(other);
        same_variant && self.to_string() == other.to_string()
    }
}

impl Serialize for Warning {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Warning {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Warning::Saved)
    }
}

/// `a`, `a and b`, `a, b and c`.
fn list_of<T: fmt::Display>(items: &[T]) -> String {
    let items: Vec<String> = items.iter().map(|i| format!("`{i}`")).collect();
    match items.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => items.concat(),
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::RenamedOutsideToConfigured { from, addr } => write!(
                f,
                "renamed outside dmgmt from `{from}`; the configuration already uses the new name, so dmgmt manages it under `{addr}` (user assignments are kept)"
            ),
            Warning::RenamedOutsideRenamedBack { now } => write!(
                f,
                "renamed outside dmgmt to `{now}`; this renames it back to the configured name (user assignments are kept)"
            ),
            Warning::RenamedOutsideDestroyed { now } => write!(
                f,
                "renamed outside dmgmt to `{now}`; that is the object destroyed"
            ),
            Warning::DeletesTenantAdmin => write!(
                f,
                "`{TENANT_ADMIN_ROLE}` is the role Descope creates in every project for its tenant-admin widgets; keep it declared unless nothing uses it"
            ),
            Warning::TenantAdminLosesSystemPermissions { permissions } => write!(
                f,
                "`{TENANT_ADMIN_ROLE}` loses the system-default permission(s) {}: Descope's tenant-admin widgets need them",
                ticked(permissions)
            ),
            Warning::DropsMissingGrants { permissions } => {
                let (it, does) = match permissions.len() {
                    1 => ("it", "does"),
                    _ => ("them", "do"),
                };
                write!(
                    f,
                    "grants {}, which {does} not exist in Descope (a deleted permission Descope left in the role): the update leaves {it} out",
                    ticked(permissions)
                )
            }
            Warning::TenantIdChange { .. }
            | Warning::TenantNameTaken { .. }
            | Warning::MaybeTenantIdChange { .. }
            | Warning::MaybeTenantIdChanges { .. }
            | Warning::KeepsSubTenants { .. }
            | Warning::TenantTakesRoles { .. } => write_tenant(f, self),
            Warning::RenameReachesRoles {
                from,
                to,
                roles,
                managed,
            } => write_rename_reaches(f, from, to, roles, *managed),
            Warning::DeleteReaches {
                deleted,
                cascades,
                managed,
            } => write_delete_reaches(f, deleted, cascades, *managed),
            Warning::NotInBackup => write!(
                f,
                "not in the backup, which holds only what dmgmt managed or changed when it was taken: it may have existed then"
            ),
            Warning::Saved(text) => f.write_str(text),
        }
    }
}

/// The words of a warning about tenants' ids, names and families ([`Warning`]'s `fmt` hands it
/// those alone; any other is written there).
fn write_tenant(f: &mut fmt::Formatter<'_>, warning: &Warning) -> fmt::Result {
    match warning {
        Warning::TenantIdChange { from, to } => write!(
            f,
            "tenant id changes from `{from}` to `{to}`: this is a delete + create, not a rename; the tenant's users lose their membership and settings, and `{to}` starts empty"
        ),
        Warning::TenantNameTaken {
            holder,
            name,
            create,
        } => write!(
            f,
            "`{holder}` already has the name `{name}` in Descope and keeps it in this plan: Descope will refuse this {}",
            if *create { "create" } else { "update" }
        ),
        Warning::MaybeTenantIdChange {
            old,
            new,
            old_name,
            new_name,
        } => write!(
            f,
            "`{old}` is deleted and `{new}` created in the same plan: if this changes the tenant's id (and its name from `{old_name}` to `{new_name}`), it is a delete + create, not a rename; {ID_CHANGE_CONSEQUENCE}"
        ),
        Warning::MaybeTenantIdChanges {
            tenant,
            others,
            others_deleted,
        } => write!(
            f,
            "{} are {} in the same plan as `{tenant}`: if one of them is this tenant under a changed id, that is a delete + create, not a rename; {ID_CHANGE_CONSEQUENCE}",
            list_of(others),
            if *others_deleted {
                "deleted"
            } else {
                "created"
            }
        ),
        Warning::KeepsSubTenants { tenant, children } => {
            let (noun, pronoun) = match children.len() {
                1 => ("sub-tenant", "it"),
                _ => ("sub-tenants", "them"),
            };
            write!(
                f,
                "`{tenant}` has {noun} {}, which this plan does not delete: Descope may refuse to delete a tenant that has sub-tenants; delete {pronoun} first",
                list_of(children)
            )
        }
        Warning::TenantTakesRoles { roles } => {
            write!(
                f,
                "Descope deletes the tenant's roles with it: {}",
                ticked(roles)
            )
        }
        other => fmt::Display::fmt(other, f),
    }
}

/// `a`, `b`, `c`, each in backticks.
fn ticked<T: fmt::Display>(items: &[T]) -> String {
    let items: Vec<String> = items.iter().map(|i| format!("`{i}`")).collect();
    items.join(", ")
}

/// `renaming `permission.old` to `new` also changes the role `role.R`, which grants it ...`.
fn write_rename_reaches(
    f: &mut fmt::Formatter<'_>,
    from: &str,
    to: &str,
    roles: &[ResourceAddr],
    managed: bool,
) -> fmt::Result {
    let (noun, grant, them) = match roles.len() {
        1 => ("role", "grants", "it"),
        _ => ("roles", "grant", "them"),
    };
    let whose = match managed {
        true => "which dmgmt manages but this plan does not write",
        false => "which dmgmt does not manage",
    };
    write!(
        f,
        "renaming `{}` to `{to}` also changes the {noun} {}, which {grant} it and {whose}: Descope renames the permission there too, or removes it from {them}",
        ResourceAddr::Permission(from.to_owned()),
        list_of(roles)
    )
}

const ID_CHANGE_CONSEQUENCE: &str =
    "the tenant's users lose their membership and settings, and the new tenant starts empty";

/// `deleting `tenant.acme` may also delete its roles `role.acme/A` and `role.acme/B`, which ...`.
/// "May": whether Descope takes a tenant's roles along, or a deleted permission out of the roles
/// granting it, is undocumented (docs/descope-api.md §4), so the plan says what can happen, not what
/// will.
fn write_delete_reaches(
    f: &mut fmt::Formatter<'_>,
    deleted: &ResourceAddr,
    cascades: &[Cascade],
    managed: bool,
) -> fmt::Result {
    let Some(first) = cascades.first() else {
        return Ok(());
    };
    let one = cascades.len() == 1;
    let names = list_of(&cascades.iter().map(|c| &c.addr).collect::<Vec<_>>());
    let roles = if one { "role" } else { "roles" };
    let tenants = if one { "tenant" } else { "tenants" };
    let them = if one { "it" } else { "them" };
    let (what, left, seen) = match first.effect {
        CascadeEffect::LosesDefaultRole => (
            format!("remove it from the default roles of the {tenants} {names}"),
            "leaves naming it",
            "changed",
        ),
        CascadeEffect::Deleted => (
            format!("delete its {roles} {names}"),
            "does not delete",
            "deleted",
        ),
        CascadeEffect::LosesPermission | CascadeEffect::GrantsRenamedPermission => (
            format!("remove it from the {roles} {names}"),
            "leaves granting it",
            "changed",
        ),
    };
    let whose = if managed {
        format!(
            "which dmgmt manages but this plan {left}: if Descope does, the next plan will show {them} {seen} outside dmgmt"
        )
    } else {
        "which dmgmt does not manage".to_owned()
    };
    write!(f, "deleting `{deleted}` may also {what}, {whose}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> ResourceAddr {
        s.parse().expect("a valid address")
    }

    #[test]
    fn a_warning_is_written_as_its_text_and_read_back_equal() {
        let w = Warning::DropsMissingGrants {
            permissions: vec!["gone".into(), "lost".into()],
        };
        let text = "grants `gone`, `lost`, which do not exist in Descope (a deleted permission Descope left in the role): the update leaves them out";
        assert_eq!(serde_json::to_value(&w).unwrap(), serde_json::json!(text));
        let back: Warning = serde_json::from_value(serde_json::json!(text)).unwrap();
        assert!(matches!(&back, Warning::Saved(t) if t == text));
        assert_eq!(
            back, w,
            "a saved warning equals the one it was written from"
        );
        assert_ne!(back, Warning::NotInBackup);
        let saved_elsewhere = Warning::Saved(Warning::NotInBackup.to_string());
        assert_eq!(saved_elsewhere, Warning::NotInBackup);
        assert_ne!(
            Warning::RenamedOutsideDestroyed { now: "x".into() },
            Warning::RenamedOutsideRenamedBack { now: "x".into() },
            "another variant is another warning"
        );
    }

    #[test]
    fn cascades_are_listed_with_their_number() {
        let cascade = |a: &str, effect| Cascade {
            addr: addr(a),
            effect,
            managed: false,
        };
        let deletes = Warning::DeleteReaches {
            deleted: addr("tenant.acme"),
            cascades: vec![
                cascade("role.acme/Local", CascadeEffect::Deleted),
                cascade("role.acme/Other", CascadeEffect::Deleted),
            ],
            managed: false,
        };
        assert_eq!(
            deletes.to_string(),
            "deleting `tenant.acme` may also delete its roles `role.acme/Local` and `role.acme/Other`, which dmgmt does not manage"
        );
        let managed = Warning::DeleteReaches {
            deleted: addr("role.Viewer"),
            cascades: vec![Cascade {
                managed: true,
                ..cascade("tenant.kept", CascadeEffect::LosesDefaultRole)
            }],
            managed: true,
        };
        assert_eq!(
            managed.to_string(),
            "deleting `role.Viewer` may also remove it from the default roles of the tenant `tenant.kept`, which dmgmt manages but this plan leaves naming it: if Descope does, the next plan will show it changed outside dmgmt"
        );
        let renamed = Warning::RenameReachesRoles {
            from: "old".into(),
            to: "new".into(),
            roles: vec![addr("role.A"), addr("role.B"), addr("role.C")],
            managed: false,
        };
        assert_eq!(
            renamed.to_string(),
            "renaming `permission.old` to `new` also changes the roles `role.A`, `role.B` and `role.C`, which grant it and which dmgmt does not manage: Descope renames the permission there too, or removes it from them"
        );
    }
}
