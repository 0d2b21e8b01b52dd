//! Resource addresses (`permission.billing.read`, `role.acme/Auditor`, `tenant.acme`, `flow.x`,
//! `theme`), the names used by `--target`, `state` commands, plans, saved plans, state files,
//! backup manifests and JSON output.
//!
//! Every object has its own address text: a name that would read back as something else is
//! quoted (`role."acme/Admin"` is the project role named `acme/Admin`, `role.acme/Admin` tenant
//! `acme`'s role `Admin`); see [`ResourceAddr::from_str`]. Names that need no quotes are written
//! bare, as they always were, so state files written before quoting existed read back unchanged.

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
        let plain = |name: &str| !name.is_empty() && !name.starts_with('"');
        // A project role's name and a tenant id before `/` must not hold `/` themselves.
        let plain_before_slash = |name: &str| plain(name) && !name.contains('/');
        let part = |f: &mut fmt::Formatter<'_>, name: &str, bare: bool| match bare {
            true => f.write_str(name),
            false => write_quoted(f, name),
        };
        match self {
            ResourceAddr::Theme => return f.write_str("theme"),
            other => write!(f, "{}.", other.kind())?,
        }
        match self {
            ResourceAddr::Permission(name)
            | ResourceAddr::Tenant(name)
            | ResourceAddr::Flow(name) => part(f, name, plain(name)),
            ResourceAddr::Role { tenant: None, name } => part(f, name, plain_before_slash(name)),
            ResourceAddr::Role {
                tenant: Some(tenant),
                name,
            } => {
                part(f, tenant, plain_before_slash(tenant))?;
                f.write_str("/")?;
                part(f, name, plain(name))
            }
            ResourceAddr::Theme => Ok(()),
        }
    }
}

/// `"name"`, with `\` before every `"` and `\` of the name.
fn write_quoted(f: &mut fmt::Formatter<'_>, name: &str) -> fmt::Result {
    f.write_str("\"")?;
    for c in name.chars() {
        if matches!(c, '"' | '\\') {
            f.write_str("\\")?;
        }
        write!(f, "{c}")?;
    }
    f.write_str("\"")
}

/// The name a quoted component holds, and the text after its closing quote; `text` starts with
/// `"`. `None` when the quote is never closed or `\` escapes anything but `"` or `\`.
fn read_quoted(text: &str) -> Option<(String, &str)> {
    let mut name = String::new();
    let mut chars = text.char_indices().skip(1);
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((name, &text[i + 1..])),
            '\\' => match chars.next() {
                Some((_, c @ ('"' | '\\'))) => name.push(c),
                _ => return None,
            },
            c => name.push(c),
        }
    }
    None
}

/// Why a string is not a resource address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{input}` is not a resource address: {reason}")]
pub struct AddrParseError {
    input: String,
    reason: &'static str,
}

const BAD_QUOTES: &str =
    "a quoted name must end with `\"` and escape only `\"` and `\\` (as `\\\"`, `\\\\`)";

/// A whole component: quoted (nothing may follow the closing quote) or bare.
fn whole_name(text: &str) -> Result<String, &'static str> {
    if !text.starts_with('"') {
        return Ok(text.to_owned());
    }
    match read_quoted(text) {
        Some((name, "")) => Ok(name),
        Some(_) => Err("nothing may follow a quoted name"),
        None => Err(BAD_QUOTES),
    }
}

/// `TENANT/NAME` or `NAME` (a project role); either part may be quoted. A bare tenant id ends at
/// the first `/`, so a project role's name holding `/` is always quoted.
fn role(rest: &str) -> Result<ResourceAddr, &'static str> {
    const SHAPE: &str = "expected `role.TENANT/NAME` or `role.NAME`";
    let (first, after) = match rest.starts_with('"') {
        true => {
            let (name, after) = read_quoted(rest).ok_or(BAD_QUOTES)?;
            match after {
                "" => return Ok(ResourceAddr::role(None, &name)),
                after => (name, after.strip_prefix('/').ok_or(SHAPE)?),
            }
        }
        false => match rest.split_once('/') {
            None => return Ok(ResourceAddr::role(None, rest)),
            Some((tenant, after)) => (tenant.to_owned(), after),
        },
    };
    if (first.is_empty() && !rest.starts_with('"')) || after.is_empty() {
        return Err(SHAPE);
    }
    Ok(ResourceAddr::role(Some(&first), &whole_name(after)?))
}

impl FromStr for ResourceAddr {
    type Err = AddrParseError;

    /// The inverse of `Display`: a name is bare (taken as written) or quoted (`"…"`, with `\"` and
    /// `\\` inside); `Display` quotes exactly the names that read back otherwise bare: empty
    /// ones, ones starting with `"`, and a tenant id or project role name holding `/`
    /// (`role."acme/Admin"` is a project role, `role.acme/Admin` tenant `acme`'s role `Admin`).
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
            "permission" => whole_name(rest).map(ResourceAddr::Permission),
            "role" => role(rest),
            "tenant" => whole_name(rest).map(ResourceAddr::Tenant),
            "flow" => whole_name(rest).map(ResourceAddr::Flow),
            _ => Err("the kind must be one of permission, role, tenant, flow, theme"),
        }
        .map_err(err)
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
#[path = "addr_tests.rs"]
mod tests;
