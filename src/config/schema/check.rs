//! Checking one file's positioned tree against the declared schema: unknown keys with "did you
//! mean", wrong types, missing keys, formats. Reports; never stops at the first problem.

use super::super::source::{Diagnostic, Span, did_you_mean};
use super::super::yaml::{Node, Value};
use super::{ENVIRONMENT, FileRole, Format, Object, Ty};
use crate::model::text::printable;

/// Checks one file's tree against [`ENVIRONMENT`]. Required top-level keys are checked only on
/// the merged environment (see [`check_required_root`]): a shared file may leave them out.
pub(crate) fn check_file(root: &Node, role: FileRole, out: &mut Vec<Diagnostic>) {
    let Some(entries) = root.as_map() else {
        out.push(
            Diagnostic::error(
                root.span,
                format!(
                    "the file must be a mapping of keys, found {}",
                    root.type_name()
                ),
            )
            .hint("start with e.g. `project_id: P2...`"),
        );
        return;
    };
    for (key, value) in entries {
        let Some(f) = ENVIRONMENT.fields.iter().find(|f| f.key == key.name) else {
            out.push(unknown_key(&key.name, &ENVIRONMENT, key.span));
            continue;
        };
        if role == FileRole::Shared && f.env_only {
            out.push(
                Diagnostic::error(key.span, format!("`{}` is not allowed in a shared file", f.key))
                    .hint("environment identity (project, key, URL, emulator, protected) belongs in environments/<env>.yaml"),
            );
            continue;
        }
        // Top-level mappings (`rate_limit`, `backups`, `theme`) merge deeply across includes, so
        // their required keys are checked once merged, in `check_required_root`.
        let required = !matches!(f.ty, Ty::Object(_));
        check(value, &f.ty, f.key, required, out);
    }
}

/// Checks the keys every environment must have once its includes are merged: the top-level
/// required keys and those of top-level mappings.
pub(crate) fn check_required_root(root: &Node, out: &mut Vec<Diagnostic>) {
    if root.as_map().is_none() {
        return;
    }
    for f in ENVIRONMENT.fields {
        match (root.get(f.key), &f.ty) {
            (None, _) if f.required => out.push(missing_key(f.key, &ENVIRONMENT, root)),
            (Some(node), Ty::Object(obj)) if node.as_map().is_some() => {
                for inner in obj
                    .fields
                    .iter()
                    .filter(|i| i.required && node.get(i.key).is_none())
                {
                    out.push(missing_key(inner.key, obj, node));
                }
            }
            _ => {}
        }
    }
}

/// Checks `node` against `ty`; `key` names it in messages. `required`: whether a mapping's
/// required keys must be present here (nested mappings always; see `check_file`).
fn check(node: &Node, ty: &Ty, key: &str, required: bool, out: &mut Vec<Diagnostic>) {
    match (ty, &node.value) {
        (Ty::Str(format), Value::Str(s)) => check_format(node, s, *format, key, out),
        (Ty::Bool, Value::Bool(_)) => {}
        (Ty::Int { min, max }, Value::Int(i)) => {
            if i < min || i > max {
                out.push(Diagnostic::error(
                    node.span,
                    format!("`{key}` must be between {min} and {max}, found {i}"),
                ));
            }
        }
        (Ty::List(item), Value::Seq(items)) => {
            for it in items {
                check(it, item, key, true, out);
            }
        }
        (Ty::Object(obj), Value::Map(entries)) => {
            for (k, v) in entries {
                match obj.fields.iter().find(|f| f.key == k.name) {
                    Some(f) => check(v, &f.ty, f.key, true, out),
                    None => out.push(unknown_key(&k.name, obj, k.span)),
                }
            }
            for f in obj.fields.iter().filter(|f| f.required && required) {
                if node.get(f.key).is_none() {
                    out.push(missing_key(f.key, obj, node));
                }
            }
        }
        (Ty::Dict { keys, values }, Value::Map(entries)) => {
            for (k, v) in entries {
                if *keys == Format::VarName && !is_var_name(&k.name) {
                    out.push(
                        Diagnostic::error(
                            k.span,
                            format!("`{}` is not a valid variable name", k.name),
                        )
                        .hint("use letters, digits and `_`, not starting with a digit"),
                    );
                } else if *keys == Format::Name && k.name.trim().is_empty() {
                    out.push(Diagnostic::error(
                        k.span,
                        format!("an empty name is not allowed in `{key}`"),
                    ));
                }
                check(v, values, &k.name, true, out);
            }
        }
        (Ty::Scalar, Value::Str(_) | Value::Int(_) | Value::Float(_) | Value::Bool(_)) => {}
        (Ty::Attribute, Value::Str(_) | Value::Int(_) | Value::Float(_) | Value::Bool(_)) => {}
        (Ty::Attribute, Value::Seq(items)) => {
            for it in items {
                check(it, &Ty::Str(Format::Any), key, true, out);
            }
        }
        _ => out.push(wrong_type(node, ty, key)),
    }
}

fn check_format(node: &Node, s: &str, format: Format, key: &str, out: &mut Vec<Diagnostic>) {
    let problem = match format {
        Format::Any => None,
        Format::Name => (s.trim().is_empty() || s.trim() != s)
            .then_some("must not be empty or start or end with spaces"),
        Format::ProjectId => (!is_project_id(s) && !s.contains("${")).then_some(PROJECT_ID_RULE),
        Format::Url => {
            (!(s.starts_with("https://") || s.starts_with("http://") || s.starts_with("${")))
                .then_some("must be an http:// or https:// URL")
        }
        Format::Id => (!is_id(s) && !s.contains("${")).then_some(ID_RULE),
        Format::VarName => (!is_var_name(s)).then_some("is not a valid variable name"),
        Format::Path => (s.trim().is_empty()).then_some("must not be empty"),
        Format::EnvRef => {
            if env_ref_name(s).is_none() {
                out.push(
                    Diagnostic::error(node.span, "`management_key` must be an `${env.NAME}` reference, not an inline key")
                        .hint("keys never live in files: write `management_key: ${env.DESCOPE_MANAGEMENT_KEY}` and export that variable")
                        .hint("if a real key was committed, rotate it in the Descope console"),
                );
            }
            None
        }
    };
    if let Some(problem) = problem {
        out.push(Diagnostic::error(
            node.span,
            format!("`{key}` {problem}: `{}`", printable(s)),
        ));
    }
}

/// `NAME` of a string that is exactly `${env.NAME}`.
pub(crate) fn env_ref_name(s: &str) -> Option<&str> {
    let name = s.trim().strip_prefix("${env.")?.strip_suffix('}')?;
    is_var_name(name).then_some(name)
}

pub(crate) fn is_var_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// What [`is_project_id`] requires, as messages say it.
pub(crate) const PROJECT_ID_RULE: &str =
    "is not a Descope project id (`P` followed by 19 to 63 letters or digits)";

/// A Descope project id, as an environment's `project_id` must be (and `dmgmt emulator
/// --project-id`, so that an environment can name the emulator's project).
pub(crate) fn is_project_id(s: &str) -> bool {
    s.starts_with('P')
        && (20..=64).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// What [`is_id`] requires, as messages say it.
pub(crate) const ID_RULE: &str = "may only hold letters, digits, `-`, `_` and `.`";

/// Tenant and flow ids: `/` would make addresses ambiguous (`role.TENANT/NAME`), and other
/// punctuation or control characters would not survive URLs and plan text.
pub(crate) fn is_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

fn unknown_key(name: &str, obj: &Object, span: Span) -> Diagnostic {
    let mut diag = Diagnostic::error(span, format!("unknown key `{name}` in {}", obj.name));
    if name == "<<" {
        return diag.hint("YAML merge keys are not supported; share definitions with `include:`");
    }
    diag = match did_you_mean(name, obj.fields.iter().map(|f| f.key)) {
        Some(best) => diag.hint(format!("did you mean `{best}`?")),
        None => diag.hint(format!(
            "known keys: {}",
            obj.fields
                .iter()
                .map(|f| f.key)
                .collect::<Vec<_>>()
                .join(", ")
        )),
    };
    diag
}

fn missing_key(key: &str, obj: &Object, node: &Node) -> Diagnostic {
    let what = match (
        obj.name,
        node.get("name").or(node.get("id")).and_then(Node::as_str),
    ) {
        (name, Some(ident)) => format!("{name} `{ident}`"),
        (name, None) => name.to_owned(),
    };
    Diagnostic::error(node.span, format!("missing required key `{key}` in {what}"))
}

fn wrong_type(node: &Node, ty: &Ty, key: &str) -> Diagnostic {
    let expected = match ty {
        Ty::Str(_) => "a string",
        Ty::Bool => "a boolean",
        Ty::Int { .. } => "an integer",
        Ty::List(_) => "a list",
        Ty::Object(_) | Ty::Dict { .. } => "a mapping",
        Ty::Scalar => "a string, number or boolean",
        Ty::Attribute => "a string, number, boolean or list of strings",
    };
    let found = match &node.value {
        Value::Str(s) => format!("a string (`{}`)", shorten(s)),
        Value::Int(i) => format!("a number (`{i}`)"),
        Value::Bool(b) => format!("a boolean (`{b}`)"),
        _ => node.type_name().to_owned(),
    };
    let diag = Diagnostic::error(
        node.span,
        format!("expected {expected} for `{key}`, found {found}"),
    );
    match (ty, &node.value) {
        (Ty::Bool, Value::Str(s))
            if ["yes", "no", "on", "off", "y", "n"].contains(&s.to_lowercase().as_str()) =>
        {
            diag.hint("YAML 1.2 reads this as a string: write `true` or `false`")
        }
        (Ty::Str(_), Value::Int(_) | Value::Float(_) | Value::Bool(_)) => {
            diag.hint("quote it to make it a string")
        }
        (Ty::List(_), Value::Str(_)) => {
            diag.hint("write a list: `[a, b]` or one `- item` per line")
        }
        _ => diag,
    }
}

fn shorten(s: &str) -> String {
    if s.chars().count() > 40 {
        format!("{}...", s.chars().take(40).collect::<String>())
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::source::SourceMap;
    use super::super::super::yaml::parse;
    use super::*;

    fn diags(text: &str, role: FileRole) -> Vec<Diagnostic> {
        let mut map = SourceMap::default();
        let file = map.add("t.yaml".into(), "t.yaml".into(), text.into());
        let root = parse(file, text).root.unwrap();
        let mut out = Vec::new();
        check_file(&root, role, &mut out);
        check_required_root(&root, &mut out);
        out
    }

    const OK: &str = "project_id: P2stagingExampleProjectId0001\nmanagement_key: ${env.KEY}\n";

    #[test]
    fn a_minimal_environment_is_valid() {
        assert_eq!(diags(OK, FileRole::Environment), vec![]);
    }

    #[test]
    fn unknown_keys_suggest_the_closest_known_key() {
        let d = diags(
            &format!("{OK}tenants:\n  - id: a\n    name: A\n    enforce_ssso: true\n"),
            FileRole::Environment,
        );
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].message, "unknown key `enforce_ssso` in tenant");
        assert_eq!(d[0].hints, ["did you mean `enforce_sso`?"]);
        assert_eq!((d[0].span.line, d[0].span.col), (6, 5));
    }

    #[test]
    fn wrong_types_name_expected_and_found() {
        let d = diags(
            &format!("{OK}parallelism: four\nprotected: yes\ntenants: acme\n"),
            FileRole::Environment,
        );
        let messages: Vec<_> = d.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "expected an integer for `parallelism`, found a string (`four`)",
                "expected a boolean for `protected`, found a string (`yes`)",
                "expected a list for `tenants`, found a string (`acme`)",
            ]
        );
        assert!(d[1].hints[0].contains("write `true` or `false`"));
    }

    #[test]
    fn missing_required_keys_name_the_object() {
        let d = diags(
            &format!("{OK}tenants:\n  - id: acme\n"),
            FileRole::Environment,
        );
        assert_eq!(d[0].message, "missing required key `name` in tenant `acme`");
        let d = diags("management_key: ${env.K}\n", FileRole::Environment);
        assert_eq!(
            d[0].message,
            "missing required key `project_id` in environment file"
        );
    }

    #[test]
    fn inline_management_keys_are_refused_without_repeating_them() {
        let d = diags(
            "project_id: P2stagingExampleProjectId0001\nmanagement_key: K2supersecretvalue\n",
            FileRole::Environment,
        );
        assert_eq!(d.len(), 1);
        assert!(d[0].message.contains("`${env.NAME}` reference"));
        assert!(!d[0].message.contains("K2super"));
        assert_eq!(
            d[0].span,
            Span::new(d[0].span.file, 2, 17, "K2supersecretvalue".len())
        );
    }

    #[test]
    fn identity_keys_are_refused_in_shared_files() {
        let d = diags(
            "project_id: P2stagingExampleProjectId0001\nvars: {a: 1}\n",
            FileRole::Shared,
        );
        assert_eq!(d[0].message, "`project_id` is not allowed in a shared file");
    }

    #[test]
    fn formats_and_ranges_are_checked() {
        let text = "project_id: nope\nmanagement_key: ${env.K}\nparallelism: 99\nbase_url: ftp://x\ntenants:\n  - {id: a/b, name: ' A'}\nvars: {1x: y}\n";
        let d = diags(text, FileRole::Environment);
        let messages: Vec<_> = d.iter().map(|d| d.message.as_str()).collect();
        assert!(
            messages[0].starts_with("`project_id` is not a Descope project id"),
            "{messages:?}"
        );
        assert_eq!(
            messages[1],
            "`parallelism` must be between 1 and 32, found 99"
        );
        assert!(messages[2].starts_with("`base_url` must be an http"));
        assert!(messages[3].starts_with("`id` may only hold"));
        assert!(messages[4].starts_with("`name` must not be empty"));
        assert_eq!(messages[5], "`1x` is not a valid variable name");
    }

    #[test]
    fn keep_min_must_keep_at_least_the_newest_backup() {
        let d = diags(
            &format!("{OK}backups:\n  retention_days: 0\n  keep_min: 0\n"),
            FileRole::Environment,
        );
        let messages: Vec<_> = d.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(
            messages,
            ["`keep_min` must be between 1 and 100000, found 0"]
        );
        assert_eq!(d[0].span.line, 5, "{d:?}");
    }

    #[test]
    fn top_level_mappings_are_completed_by_merging() {
        let partial = "vars: {}\nrate_limit: {requests: 5}\n";
        let mut map = SourceMap::default();
        let file = map.add("t.yaml".into(), "t.yaml".into(), partial.into());
        let root = parse(file, partial).root.unwrap();
        let mut out = Vec::new();
        check_file(&root, FileRole::Shared, &mut out);
        assert_eq!(out, vec![], "a shared file may set part of rate_limit");
        check_required_root(&root, &mut out);
        let m: Vec<_> = out.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(
            m,
            [
                "missing required key `project_id` in environment file",
                "missing required key `per_seconds` in rate_limit"
            ]
        );
    }

    #[test]
    fn merge_keys_get_a_dedicated_hint() {
        let d = diags(
            &format!("{OK}rate_limit:\n  <<: {{requests: 1}}\n  per_seconds: 1\n  requests: 1\n"),
            FileRole::Environment,
        );
        assert!(
            d[0].hints[0].contains("merge keys are not supported"),
            "{d:?}"
        );
    }
}
