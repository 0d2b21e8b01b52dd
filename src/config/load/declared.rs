//! The roles and tenants an environment declares, and the check that every role and tenant a flow
//! template names is among them, reported at the name's place in the template with a did-you-mean.
//!
//! It must not find the references itself (that is [`flow_refs`](crate::config::flow_refs)) nor
//! change a flow: it only reads them and reports.

use std::collections::BTreeSet;

use serde_json::Value as Json;

use super::Loader;
use crate::config::source::{Diagnostic, FileId, Span, did_you_mean};
use crate::config::yaml::Node;
use crate::model::FlowRefs;
use crate::model::preconfigured::TENANT_ADMIN_ROLE;

impl Loader<'_> {
    /// Every role and tenant a flow names must be declared in the environment.
    pub(super) fn check_refs(
        &mut self,
        file: FileId,
        refs: &FlowRefs,
        declared: &Declared,
        env: &str,
    ) {
        let text = self.sources.text(file);
        let mut found = Vec::new();
        for (what, list, known) in [
            ("role", &refs.roles, &declared.roles),
            ("tenant", &refs.tenants, &declared.tenants),
        ] {
            for r in list.iter().filter(|r| !known.contains(&r.name)) {
                let suggestion = did_you_mean(&r.name, known.iter().map(String::as_str))
                    .map(|best| format!(" (did you mean `{best}`?)"))
                    .unwrap_or_default();
                let message = format!(
                    "{}: {what} `{}` is not declared in `{env}`{suggestion}",
                    r.json_path, r.name
                );
                let span = locate_ref(text, &r.json_path, &r.name)
                    .map_or(Span::file_start(file), |(line, col)| {
                        Span::new(file, line, col, r.name.chars().count() + 2)
                    });
                let hint = match what {
                    "role" => {
                        "declare the role under `roles:` of this environment (or a file it includes), or fix the name in the flow"
                    }
                    _ => {
                        "declare the tenant under `tenants:` of this environment (or a file it includes), or fix the id in the flow"
                    }
                };
                found.push(Diagnostic::error(span, message).hint(hint));
            }
        }
        self.diagnostics.extend(found);
    }
}

/// The role names and tenant ids the environment declares (with Descope's preconfigured role).
pub(super) struct Declared {
    roles: BTreeSet<String>,
    tenants: BTreeSet<String>,
}

impl Declared {
    pub(super) fn of(root: &Node) -> Declared {
        let names = |list: &str, key: &str| -> BTreeSet<String> {
            root.get(list)
                .and_then(Node::as_seq)
                .unwrap_or(&[])
                .iter()
                .filter_map(|n| n.get(key).and_then(Node::as_str).map(str::to_owned))
                .collect()
        };
        let mut roles = names("roles", "name");
        roles.insert(TENANT_ADMIN_ROLE.to_owned());
        Declared {
            roles,
            tenants: names("tenants", "id"),
        }
    }
}

/// Line and column of a reference's quoted text in the template: the first occurrence after the
/// last object key of its JSON path, else anywhere (`None` when a placeholder produced it).
fn locate_ref(text: &str, json_path: &str, name: &str) -> Option<(usize, usize)> {
    let quoted = Json::String(name.to_owned()).to_string();
    let key = json_path
        .rsplit(['.', '['])
        .find(|part| part.chars().next().is_some_and(|c| c.is_ascii_alphabetic()))
        .map(|k| format!("\"{k}\""));
    let start = key.and_then(|k| text.find(&k)).unwrap_or(0);
    let at = text[start..]
        .find(&quoted)
        .map(|i| start + i)
        .or_else(|| text.find(&quoted))?;
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Some((line, col))
}
