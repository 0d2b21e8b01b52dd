//! Resource addresses (`permission.billing.read`, `role.acme/Auditor`, `tenant.acme`, `flow.x`,
//! `theme`), the names used by `--target`, `state` commands, plans and JSON output (DESIGN.md §3).

use std::fmt;
use std::str::FromStr;

/// The kinds of resource dmgmt manages, in dependency order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum ResourceKind {
    Permission,
    Role,
    Tenant,
    Theme,
    Flow,
}

impl ResourceKind {
    pub(crate) const ALL: [ResourceKind; 5] = [
        ResourceKind::Permission,
        ResourceKind::Role,
        ResourceKind::Tenant,
        ResourceKind::Theme,
        ResourceKind::Flow,
    ];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ResourceKind::Permission => "permission",
            ResourceKind::Role => "role",
            ResourceKind::Tenant => "tenant",
            ResourceKind::Theme => "theme",
            ResourceKind::Flow => "flow",
        }
    }
}

impl fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The stable identity of one managed object.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ResourceAddr {
    Permission(String),
    /// A project role (`tenant: None`) or a role scoped to a tenant.
    Role {
        tenant: Option<String>,
        name: String,
    },
    Tenant(String),
    Theme,
    Flow(String),
}

impl ResourceAddr {
    pub(crate) fn kind(&self) -> ResourceKind {
        match self {
            ResourceAddr::Permission(_) => ResourceKind::Permission,
            ResourceAddr::Role { .. } => ResourceKind::Role,
            ResourceAddr::Tenant(_) => ResourceKind::Tenant,
            ResourceAddr::Theme => ResourceKind::Theme,
            ResourceAddr::Flow(_) => ResourceKind::Flow,
        }
    }

    pub fn role(tenant: Option<&str>, name: &str) -> Self {
        ResourceAddr::Role {
            tenant: tenant.map(str::to_owned),
            name: name.to_owned(),
        }
    }
}

impl fmt::Display for ResourceAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResourceAddr::Permission(name) => write!(f, "permission.{name}"),
            ResourceAddr::Role { tenant: None, name } => write!(f, "role.{name}"),
            ResourceAddr::Role {
                tenant: Some(tenant),
                name,
            } => write!(f, "role.{tenant}/{name}"),
            ResourceAddr::Tenant(id) => write!(f, "tenant.{id}"),
            ResourceAddr::Theme => f.write_str("theme"),
            ResourceAddr::Flow(id) => write!(f, "flow.{id}"),
        }
    }
}

/// Why a string is not a resource address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{input}` is not a resource address: {reason}")]
pub struct AddrParseError {
    input: String,
    reason: &'static str,
}

impl FromStr for ResourceAddr {
    type Err = AddrParseError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let err = |reason| AddrParseError {
            input: input.to_owned(),
            reason,
        };
        if input == "theme" {
            return Ok(ResourceAddr::Theme);
        }
        let (kind, rest) = input
            .split_once('.')
            .ok_or_else(|| err("expected KIND.NAME, e.g. `tenant.acme` or `role.Viewer`"))?;
        if rest.is_empty() {
            return Err(err("the name after the kind is empty"));
        }
        match kind {
            "permission" => Ok(ResourceAddr::Permission(rest.to_owned())),
            // Tenant ids cannot contain `/`, so the first `/` separates tenant from role name.
            "role" => Ok(match rest.split_once('/') {
                Some((tenant, name)) if !tenant.is_empty() && !name.is_empty() => {
                    ResourceAddr::role(Some(tenant), name)
                }
                Some(_) => return Err(err("expected `role.TENANT/NAME` or `role.NAME`")),
                None => ResourceAddr::role(None, rest),
            }),
            "tenant" => Ok(ResourceAddr::Tenant(rest.to_owned())),
            "flow" => Ok(ResourceAddr::Flow(rest.to_owned())),
            _ => Err(err(
                "the kind must be one of permission, role, tenant, flow, theme",
            )),
        }
    }
}

/// Addresses serialise as their text (`tenant.acme`), so they can key JSON objects.
impl serde::Serialize for ResourceAddr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for ResourceAddr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_round_trip_through_display() {
        for text in [
            "permission.billing.read",
            "role.Billing Admin",
            "role.acme/Auditor",
            "tenant.acme",
            "flow.sign-up-or-in",
            "theme",
        ] {
            let addr: ResourceAddr = text.parse().unwrap();
            assert_eq!(addr.to_string(), text);
        }
    }

    #[test]
    fn permission_names_keep_their_dots() {
        assert_eq!(
            "permission.a.b.c".parse::<ResourceAddr>().unwrap(),
            ResourceAddr::Permission("a.b.c".into())
        );
    }

    #[test]
    fn malformed_addresses_are_rejected_with_a_reason() {
        for text in ["tenant", "tenant.", "user.bob", "role./x", "role.acme/"] {
            let err = text.parse::<ResourceAddr>().unwrap_err();
            assert!(err.to_string().contains(text), "{err}");
        }
    }

    #[test]
    fn addresses_serialise_as_text() {
        let addr = ResourceAddr::role(Some("acme"), "Auditor");
        assert_eq!(
            serde_json::to_string(&addr).unwrap(),
            "\"role.acme/Auditor\""
        );
        assert_eq!(
            serde_json::from_str::<ResourceAddr>("\"role.acme/Auditor\"").unwrap(),
            addr
        );
        assert!(serde_json::from_str::<ResourceAddr>("\"nope\"").is_err());
    }

    #[test]
    fn kinds_sort_in_dependency_order() {
        let mut kinds = vec![
            ResourceKind::Flow,
            ResourceKind::Tenant,
            ResourceKind::Permission,
        ];
        kinds.sort();
        assert_eq!(
            kinds,
            [
                ResourceKind::Permission,
                ResourceKind::Tenant,
                ResourceKind::Flow
            ]
        );
    }
}
