//! Names, ids and descriptions as they will be used: unambiguous in addresses and printable in
//! plans.
//!
//! Runs on the merged tree once placeholders are filled, so a value that `${var.*}` or `${env.*}`
//! brought in is held to the same rules as one written out (the per-file schema check skips ids
//! that still hold a placeholder). A problem the schema check already reported is reported again
//! with the same text at the same place, which the loader folds into one.
//!
//! The rules:
//! - A role name may hold `/`: its address quotes it (`role."acme/Admin"`, while tenant `acme`'s
//!   role `Admin` is `role.acme/Admin`), so neither reads back as the other.
//! - Tenant and flow ids (and a role's `tenant`) keep to letters, digits, `-`, `_` and `.`.
//! - Names, ids, domains, references and custom attribute keys may not hold control characters
//!   (a newline or an escape sequence in a name could forge a plan line or paint the terminal).
//! - A description may hold line breaks and tabs (a YAML block scalar is a fine way to write a long
//!   one, and plans print it escaped), but no other control character.

use super::schema::{ID_RULE, is_id};
use super::source::{Diagnostic, Span};
use super::yaml::Node;
use crate::model::text::{is_unprintable, printable};

/// What a string is, and so which rules it keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Any name or reference: printable.
    Name,
    /// A tenant or flow id: the id characters only.
    Id,
    /// Free text: printable apart from line breaks and tabs.
    Description,
}

/// Checks every name, id and description of the merged, filled environment.
pub(crate) fn check_names(root: &Node, out: &mut Vec<Diagnostic>) {
    for (list, rules) in [
        (
            "permissions",
            &[
                ("name", Kind::Name),
                ("renamed_from", Kind::Name),
                ("description", Kind::Description),
            ][..],
        ),
        (
            "roles",
            &[
                ("name", Kind::Name),
                ("renamed_from", Kind::Name),
                ("description", Kind::Description),
                ("tenant", Kind::Id),
                ("permissions", Kind::Name),
            ][..],
        ),
        (
            "tenants",
            &[
                ("id", Kind::Id),
                ("name", Kind::Name),
                ("self_provisioning_domains", Kind::Name),
                ("default_roles", Kind::Name),
            ][..],
        ),
        ("flows", &[("id", Kind::Id)][..]),
    ] {
        for entry in root.get(list).and_then(Node::as_seq).unwrap_or(&[]) {
            for (key, kind) in rules {
                let Some(node) = entry.get(key) else {
                    continue;
                };
                // A list of names (`permissions`, `default_roles`, domains) or one value.
                let items = node.as_seq().map_or(std::slice::from_ref(node), |s| s);
                for item in items {
                    if let Some(text) = item.as_str() {
                        check(text, item.span, key, *kind, out);
                    }
                }
            }
            if list == "tenants" {
                for (attr, _) in entry
                    .get("custom_attributes")
                    .and_then(Node::as_map)
                    .unwrap_or(&[])
                {
                    check(&attr.name, attr.span, "custom_attributes", Kind::Name, out);
                }
            }
        }
    }
}

fn check(text: &str, span: Span, key: &str, kind: Kind, out: &mut Vec<Diagnostic>) {
    if kind == Kind::Id {
        // The schema's own message, so a literal id is reported once (see the module comment).
        if !is_id(text) {
            out.push(Diagnostic::error(
                span,
                format!("`{key}` {ID_RULE}: `{}`", printable(text)),
            ));
        }
        return;
    }
    let allowed = |c: char| kind == Kind::Description && matches!(c, '\n' | '\t');
    if let Some(c) = text.chars().find(|&c| is_unprintable(c) && !allowed(c)) {
        let what = if kind == Kind::Description {
            "a control character other than a line break or tab"
        } else {
            "a control character"
        };
        out.push(
            Diagnostic::error(
                span,
                format!(
                    "`{key}` holds {what} (`{}`): `{}`",
                    printable(&c.to_string()),
                    printable(text)
                ),
            )
            .hint("plans print names, ids and descriptions; remove the escape (`\\n`, `\\e`, `\\x..`, `\\u....`) from the quoted string"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::yaml::parse_test_file;
    use super::*;

    fn run(text: &str) -> Vec<Diagnostic> {
        let root = parse_test_file(text);
        let mut out = Vec::new();
        check_names(&root, &mut out);
        out
    }

    fn messages(text: &str) -> Vec<String> {
        run(text).into_iter().map(|d| d.message).collect()
    }

    #[test]
    fn ordinary_names_ids_and_multi_line_descriptions_pass() {
        let text = "permissions:\n  - {name: billing.read, description: \"Line one\\n\\tline two\\n\"}\nroles:\n  - {name: Billing Admin, tenant: acme, permissions: [billing.read]}\ntenants:\n  - {id: acme.eu-1, name: Acmé Corp, self_provisioning_domains: [acme.com], custom_attributes: {plan: \"a\\nb\"}}\nflows:\n  - {id: sign-up_or.in, template: x.json}\n";
        assert_eq!(messages(text), Vec::<String>::new());
    }

    #[test]
    fn a_slash_in_a_role_or_permission_name_is_allowed() {
        // Addresses quote such a name (`role."acme/Admin"`), so it cannot be misread as tenant
        // `acme`'s role `Admin`.
        assert_eq!(
            messages(
                "permissions:\n  - name: docs/read\nroles:\n  - name: acme/Admin\n  - {name: Admin, renamed_from: acme/Old}\n"
            ),
            Vec::<String>::new()
        );
    }

    #[test]
    fn ids_that_placeholders_filled_are_held_to_the_id_rule() {
        // As the loader hands it over: `${var.t}` already replaced by `globex/inc`.
        let d = messages(
            "tenants:\n  - {id: globex/inc, name: G}\nroles:\n  - {name: R, tenant: \"a\\nb\"}\nflows:\n  - {id: \"a b\", template: x}\n",
        );
        assert_eq!(
            d,
            [
                "`tenant` may only hold letters, digits, `-`, `_` and `.`: `a\\nb`",
                "`id` may only hold letters, digits, `-`, `_` and `.`: `globex/inc`",
                "`id` may only hold letters, digits, `-`, `_` and `.`: `a b`",
            ]
        );
    }

    #[test]
    fn control_characters_in_names_are_refused_and_shown_escaped() {
        let d = messages(
            "permissions:\n  - {name: \"a\\nb\", description: \"x\\e[31m\"}\nroles:\n  - {name: \"R\\r\", renamed_from: \"Old\\0\", permissions: [\"p\\u0085\"]}\ntenants:\n  - {id: t, name: \"T\\u202e\", self_provisioning_domains: [\"x\\t.com\"], default_roles: [\"V\\n\"], custom_attributes: {\"k\\n\": 1}}\n",
        );
        assert_eq!(
            d,
            [
                "`name` holds a control character (`\\n`): `a\\nb`",
                "`description` holds a control character other than a line break or tab (`\\u{1b}`): `x\\u{1b}[31m`",
                "`name` holds a control character (`\\r`): `R\\r`",
                "`renamed_from` holds a control character (`\\u{0}`): `Old\\u{0}`",
                "`permissions` holds a control character (`\\u{85}`): `p\\u{85}`",
                "`name` holds a control character (`\\u{202e}`): `T\\u{202e}`",
                "`self_provisioning_domains` holds a control character (`\\t`): `x\\t.com`",
                "`default_roles` holds a control character (`\\n`): `V\\n`",
                "`custom_attributes` holds a control character (`\\n`): `k\\n`",
            ]
        );
    }
}
