//! Checks that need more than one value at a time: duplicate resources, references between
//! resources (role → permission, role → tenant, tenant → default role), renames that clash.
//!
//! Runs on positioned trees, so each problem points at the exact reference that is wrong.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::merge::resource_key;
use super::source::{Diagnostic, did_you_mean};
use super::yaml::Node;
use crate::model::preconfigured::{SYSTEM_DEFAULT_PERMISSIONS, is_system_default_permission};

fn entries<'a>(root: &'a Node, list: &str) -> impl Iterator<Item = &'a Node> {
    root.get(list)
        .and_then(Node::as_seq)
        .unwrap_or(&[])
        .iter()
        .filter(|n| n.as_map().is_some())
}

fn str_of<'a>(node: &'a Node, key: &str) -> Option<&'a str> {
    node.get(key).and_then(Node::as_str)
}

/// Two entries with the same key in one file's resource list.
pub(crate) fn check_duplicates(root: &Node, out: &mut Vec<Diagnostic>) {
    for (list, what) in [
        ("permissions", "permission"),
        ("roles", "role"),
        ("tenants", "tenant id"),
        ("flows", "flow id"),
    ] {
        let mut seen: HashMap<String, u32> = HashMap::new();
        for entry in entries(root, list) {
            let Some(key) = resource_key(list, entry) else {
                continue;
            };
            let ident_key = if matches!(list, "tenants" | "flows") {
                "id"
            } else {
                "name"
            };
            let span = entry.get(ident_key).map_or(entry.span, |n| n.span);
            if let Some(first) = seen.get(&key) {
                let shown = match (list, str_of(entry, "tenant")) {
                    ("roles", Some(tenant)) => format!(
                        "{}` in tenant `{tenant}",
                        str_of(entry, "name").unwrap_or("")
                    ),
                    _ => key.trim_start_matches('/').to_owned(),
                };
                out.push(
                    Diagnostic::error(span, format!("duplicate {what} `{shown}`"))
                        .hint(format!("first declared at line {first}; declare each once (or move the override to the environment file)")),
                );
            } else {
                seen.insert(key, span.line);
            }
        }
    }
}

/// References between resources of the merged environment, and clashes that only show once
/// everything is merged (two tenants with one name, a rename whose old name is still declared).
pub(crate) fn check_references(root: &Node, out: &mut Vec<Diagnostic>) {
    // Descope's system-default permissions exist in every project: referenced, never declared.
    let permissions: BTreeSet<&str> = entries(root, "permissions")
        .filter_map(|p| str_of(p, "name"))
        .chain(SYSTEM_DEFAULT_PERMISSIONS)
        .collect();
    let tenants: BTreeSet<&str> = entries(root, "tenants")
        .filter_map(|t| str_of(t, "id"))
        .collect();
    // role name -> tenants it is declared for (None = project role)
    let mut roles: BTreeMap<&str, Vec<Option<&str>>> = BTreeMap::new();
    for role in entries(root, "roles") {
        if let Some(name) = str_of(role, "name") {
            roles.entry(name).or_default().push(str_of(role, "tenant"));
        }
    }

    check_roles(root, &permissions, &tenants, out);
    check_tenants(root, &roles, out);

    check_renames(root, "permissions", "permission", out);
    check_renames(root, "roles", "role", out);
    check_system_defaults(root, out);
}

/// A role's permissions and tenant exist.
fn check_roles(
    root: &Node,
    permissions: &BTreeSet<&str>,
    tenants: &BTreeSet<&str>,
    out: &mut Vec<Diagnostic>,
) {
    for role in entries(root, "roles") {
        let name = str_of(role, "name").unwrap_or("?");
        for perm in role
            .get("permissions")
            .and_then(Node::as_seq)
            .unwrap_or(&[])
        {
            let Some(p) = perm.as_str() else { continue };
            if !permissions.contains(p) {
                out.push(unknown(
                    perm.span,
                    format!("role `{name}` references unknown permission `{p}`"),
                    p,
                    permissions,
                    "permissions",
                ));
            }
        }
        if let Some(tenant) = role.get("tenant")
            && let Some(t) = tenant.as_str()
            && !tenants.contains(t)
        {
            out.push(unknown(
                tenant.span,
                format!("role `{name}` is scoped to unknown tenant `{t}`"),
                t,
                tenants,
                "tenants",
            ));
        }
    }
}

/// Tenant names are unique, and a tenant's default roles exist for it.
fn check_tenants(
    root: &Node,
    roles: &BTreeMap<&str, Vec<Option<&str>>>,
    out: &mut Vec<Diagnostic>,
) {
    let mut names: HashMap<&str, &str> = HashMap::new();
    for tenant in entries(root, "tenants") {
        let id = str_of(tenant, "id").unwrap_or("?");
        if let Some(name_node) = tenant.get("name")
            && let Some(name) = name_node.as_str()
            && let Some(other) = names.insert(name, id)
        {
            out.push(
                Diagnostic::error(name_node.span, format!("duplicate tenant name `{name}`")).hint(
                    format!(
                        "tenant `{other}` has the same name; Descope requires unique tenant names"
                    ),
                ),
            );
        }
        for role_node in tenant
            .get("default_roles")
            .and_then(Node::as_seq)
            .unwrap_or(&[])
        {
            let Some(r) = role_node.as_str() else {
                continue;
            };
            let scopes = roles.get(r).map(Vec::as_slice).unwrap_or(&[]);
            if scopes.iter().any(|s| s.is_none() || *s == Some(id)) {
                continue;
            }
            let mut diag = Diagnostic::error(
                role_node.span,
                format!("tenant `{id}` lists unknown default role `{r}`"),
            );
            if let Some(Some(other)) = scopes.first() {
                diag = diag.hint(format!("role `{r}` is scoped to tenant `{other}`; a default role must be a project role or scoped to `{id}`"));
            } else if let Some(best) = did_you_mean(r, roles.keys().copied()) {
                diag = diag.hint(format!("did you mean `{best}`?"));
            } else {
                diag = diag.hint("declare the role under `roles:`");
            }
            out.push(diag);
        }
    }
}

/// Descope's system-default permissions may be referenced but never changed, renamed or deleted,
/// so declaring one (which would manage it) or renaming from one is refused.
fn check_system_defaults(root: &Node, out: &mut Vec<Diagnostic>) {
    for entry in entries(root, "permissions") {
        if let Some(name) = entry.get("name")
            && let Some(n) = name.as_str()
            && is_system_default_permission(n)
        {
            out.push(
                Diagnostic::error(
                    name.span,
                    format!("`{n}` is a Descope system-default permission and cannot be declared"),
                )
                .hint("Descope does not allow changing, renaming or deleting it; reference it from roles without declaring it"),
            );
        }
        if let Some(old) = entry.get("renamed_from")
            && let Some(o) = old.as_str()
            && is_system_default_permission(o)
        {
            out.push(
                Diagnostic::error(
                    old.span,
                    format!("`{o}` is a Descope system-default permission and cannot be renamed"),
                )
                .hint("declare a new permission instead, and keep referencing the system-default one as it is"),
            );
        }
    }
}

/// `renamed_from: OLD` while `OLD` is still declared would rename onto, or away from, a live role.
fn check_renames(root: &Node, list: &str, what: &str, out: &mut Vec<Diagnostic>) {
    let declared: BTreeSet<(Option<&str>, &str)> = entries(root, list)
        .filter_map(|e| Some((str_of(e, "tenant"), str_of(e, "name")?)))
        .collect();
    for entry in entries(root, list) {
        let (Some(name), Some(old)) = (str_of(entry, "name"), entry.get("renamed_from")) else {
            continue;
        };
        let Some(old_name) = old.as_str() else {
            continue;
        };
        let tenant = str_of(entry, "tenant");
        if old_name == name {
            out.push(
                Diagnostic::error(old.span, format!("{what} `{name}` is renamed from itself"))
                    .hint("remove `renamed_from`"),
            );
        } else if declared.contains(&(tenant, old_name)) {
            out.push(
                Diagnostic::error(
                    old.span,
                    format!(
                        "{what} `{name}` is renamed from `{old_name}`, which is still declared"
                    ),
                )
                .hint(format!(
                    "remove the declaration of `{old_name}`, or drop `renamed_from`"
                )),
            );
        }
    }
}

fn unknown(
    span: super::source::Span,
    message: String,
    word: &str,
    known: &BTreeSet<&str>,
    list: &str,
) -> Diagnostic {
    let diag = Diagnostic::error(span, message);
    match did_you_mean(word, known.iter().copied()) {
        Some(best) => diag.hint(format!("did you mean `{best}`?")),
        None => diag.hint(format!(
            "declare it under `{list}:` (in this environment or an included file)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::super::yaml::parse_test_file;
    use super::*;

    fn run(text: &str) -> Vec<Diagnostic> {
        let root = parse_test_file(text);
        let mut out = Vec::new();
        check_duplicates(&root, &mut out);
        check_references(&root, &mut out);
        out
    }

    fn messages(text: &str) -> Vec<String> {
        run(text).into_iter().map(|d| d.message).collect()
    }

    #[test]
    fn valid_references_pass() {
        let text = "permissions: [{name: a}]\ntenants: [{id: acme, name: Acme, default_roles: [V, Aud]}]\nroles:\n  - {name: V, permissions: [a]}\n  - {name: Aud, tenant: acme}\n";
        assert_eq!(messages(text), Vec::<String>::new());
    }

    #[test]
    fn duplicates_are_reported_per_kind_with_the_first_line() {
        let text = "permissions:\n  - name: a\n  - name: a\nroles:\n  - {name: R}\n  - {name: R, tenant: t}\n  - {name: R, tenant: t}\ntenants:\n  - {id: t, name: T}\n  - {id: t, name: U}\nflows:\n  - {id: f, template: x}\n  - {id: f, template: y}\n";
        let d = run(text);
        let m: Vec<_> = d.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(
            m,
            [
                "duplicate permission `a`",
                "duplicate role `R` in tenant `t`",
                "duplicate tenant id `t`",
                "duplicate flow id `f`"
            ]
        );
        assert_eq!(d[0].span.line, 3);
        assert!(d[0].hints[0].contains("line 2"));
    }

    #[test]
    fn dangling_references_are_named_with_suggestions() {
        let text = "permissions: [{name: billing.read}]\ntenants: [{id: acme, name: Acme, default_roles: [Viewr]}]\nroles:\n  - {name: Viewer, permissions: [billing.raed], tenant: acme2}\n";
        let d = run(text);
        let m: Vec<_> = d.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(
            m,
            [
                "role `Viewer` references unknown permission `billing.raed`",
                "role `Viewer` is scoped to unknown tenant `acme2`",
                "tenant `acme` lists unknown default role `Viewr`",
            ]
        );
        assert_eq!(d[0].hints, ["did you mean `billing.read`?"]);
        assert_eq!(d[1].hints, ["did you mean `acme`?"]);
    }

    #[test]
    fn a_default_role_scoped_to_another_tenant_is_refused() {
        let text = "tenants:\n  - {id: a, name: A, default_roles: [Aud]}\n  - {id: b, name: B}\nroles:\n  - {name: Aud, tenant: b}\n";
        let d = run(text);
        assert_eq!(d[0].message, "tenant `a` lists unknown default role `Aud`");
        assert!(d[0].hints[0].contains("scoped to tenant `b`"));
    }

    #[test]
    fn system_default_permissions_are_referenced_never_declared_or_renamed() {
        let ok = messages(
            "roles:\n  - {name: Tenant Admin, permissions: [User Admin, SSO Admin, Impersonate]}\n",
        );
        assert_eq!(ok, Vec::<String>::new());
        let d = run(
            "permissions:\n  - {name: User Admin, description: mine}\n  - {name: users.admin, renamed_from: SSO Admin}\n",
        );
        let m: Vec<_> = d.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(
            m,
            [
                "`User Admin` is a Descope system-default permission and cannot be declared",
                "`SSO Admin` is a Descope system-default permission and cannot be renamed",
            ]
        );
        assert_eq!((d[0].span.line, d[1].span.line), (2, 3));
    }

    #[test]
    fn tenant_names_are_unique() {
        let d = messages("tenants:\n  - {id: a, name: Acme}\n  - {id: b, name: Acme}\n");
        assert_eq!(d, ["duplicate tenant name `Acme`"]);
    }

    #[test]
    fn renames_from_a_still_declared_name_are_refused() {
        let d = messages(
            "permissions:\n  - {name: new, renamed_from: old}\n  - {name: old}\n  - {name: same, renamed_from: same}\n",
        );
        assert_eq!(
            d,
            [
                "permission `new` is renamed from `old`, which is still declared",
                "permission `same` is renamed from itself"
            ]
        );
    }
}
