//! The shape of an environment file, declared once and used twice: to check every file (unknown
//! keys with "did you mean", wrong types, missing keys, malformed ids) and to print the JSON Schema
//! that editors use (`dmgmt schema`). Adding a key here is all it takes for both.

use serde_json::{Map, Value as Json, json};

use super::source::{Diagnostic, did_you_mean};
use super::yaml::{Node, Value};

/// The type of a value.
#[derive(Debug)]
pub enum Ty {
    Str(Format),
    Bool,
    Int {
        min: i64,
        max: i64,
    },
    /// A list whose items all have this type.
    List(&'static Ty),
    /// A mapping with a fixed set of keys.
    Object(&'static Object),
    /// A mapping from free-form names (matching `Format::VarName` or anything) to values.
    Dict {
        keys: Format,
        values: &'static Ty,
    },
    /// A string, number or boolean (a variable's value).
    Scalar,
    /// A custom attribute value: string, number, boolean or list of strings.
    Attribute,
}

/// Extra rules for strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Any,
    /// Non-empty, without leading or trailing spaces.
    Name,
    /// A Descope project id: `P` and 19-63 letters or digits.
    ProjectId,
    /// An `http://` or `https://` URL.
    Url,
    /// Only `${env.NAME}`: secrets never live in files.
    EnvRef,
    /// Tenant and flow ids: letters, digits, `-`, `_`, `.`.
    Id,
    /// Variable names: letters, digits and `_`, not starting with a digit.
    VarName,
    /// A relative path inside `environments/`.
    Path,
}

/// One key of an [`Object`].
#[derive(Debug)]
pub struct Field {
    pub key: &'static str,
    pub ty: Ty,
    pub required: bool,
    /// Only in environment files, never in shared (included) files.
    pub env_only: bool,
    pub doc: &'static str,
}

/// A mapping with named keys: the environment file itself, a tenant, a role...
#[derive(Debug)]
pub struct Object {
    /// How messages name it: "tenant", "role", "environment file"...
    pub name: &'static str,
    pub fields: &'static [Field],
}

const fn field(key: &'static str, ty: Ty, doc: &'static str) -> Field {
    Field {
        key,
        ty,
        required: false,
        env_only: false,
        doc,
    }
}

const fn required(key: &'static str, ty: Ty, doc: &'static str) -> Field {
    Field {
        key,
        ty,
        required: true,
        env_only: false,
        doc,
    }
}

const fn env_only(key: &'static str, ty: Ty, doc: &'static str) -> Field {
    Field {
        key,
        ty,
        required: false,
        env_only: true,
        doc,
    }
}

const NAMES: Ty = Ty::List(&Ty::Str(Format::Name));
const VARS: Ty = Ty::Dict {
    keys: Format::VarName,
    values: &Ty::Scalar,
};

pub static PERMISSION: Object = Object {
    name: "permission",
    fields: &[
        required(
            "name",
            Ty::Str(Format::Name),
            "The permission's name; its identity.",
        ),
        field(
            "description",
            Ty::Str(Format::Any),
            "Shown in the Descope console.",
        ),
        field(
            "renamed_from",
            Ty::Str(Format::Name),
            "The old name: plan an in-place rename instead of delete + create.",
        ),
        field(
            "prevent_destroy",
            Ty::Bool,
            "Refuse to delete it unless --allow-delete.",
        ),
    ],
};

pub static ROLE: Object = Object {
    name: "role",
    fields: &[
        required(
            "name",
            Ty::Str(Format::Name),
            "The role's name; with `tenant`, its identity.",
        ),
        field(
            "description",
            Ty::Str(Format::Any),
            "Shown in the Descope console.",
        ),
        field(
            "permissions",
            NAMES,
            "Names of permissions declared in this environment.",
        ),
        field(
            "tenant",
            Ty::Str(Format::Id),
            "Scope the role to this tenant (declared in this environment).",
        ),
        field(
            "renamed_from",
            Ty::Str(Format::Name),
            "The old name: plan an in-place rename that keeps user assignments.",
        ),
        field(
            "prevent_destroy",
            Ty::Bool,
            "Refuse to delete it unless --allow-delete.",
        ),
    ],
};

pub static TENANT: Object = Object {
    name: "tenant",
    fields: &[
        required(
            "id",
            Ty::Str(Format::Id),
            "Descope's tenant id; the stable key. Changing it replaces the tenant.",
        ),
        required(
            "name",
            Ty::Str(Format::Name),
            "Display name; unique in the project.",
        ),
        field(
            "self_provisioning_domains",
            NAMES,
            "Email domains whose users join this tenant.",
        ),
        field(
            "custom_attributes",
            Ty::Dict {
                keys: Format::Name,
                values: &Ty::Attribute,
            },
            "Tenant custom attributes (defined in the Descope console first).",
        ),
        field(
            "enforce_sso",
            Ty::Bool,
            "Require SSO for the tenant's users.",
        ),
        field("disabled", Ty::Bool, "Disable the tenant."),
        field(
            "default_roles",
            NAMES,
            "Roles given to new users: project roles or roles scoped to this tenant.",
        ),
        field(
            "prevent_destroy",
            Ty::Bool,
            "Refuse to delete it unless --allow-delete.",
        ),
    ],
};

pub static FLOW: Object = Object {
    name: "flow",
    fields: &[
        required(
            "id",
            Ty::Str(Format::Id),
            "The flow id in Descope, e.g. `sign-up-or-in`.",
        ),
        required(
            "template",
            Ty::Str(Format::Path),
            "A Descope flow export (JSON), relative to environments/.",
        ),
        field(
            "vars",
            VARS,
            "Values for `${var.NAME}` in this template, over the environment's vars.",
        ),
        field(
            "prevent_destroy",
            Ty::Bool,
            "Refuse to delete it unless --allow-delete.",
        ),
    ],
};

pub static THEME: Object = Object {
    name: "theme",
    fields: &[
        required(
            "template",
            Ty::Str(Format::Path),
            "A Descope theme export (JSON), relative to environments/.",
        ),
        field(
            "vars",
            VARS,
            "Values for `${var.NAME}` in this template, over the environment's vars.",
        ),
    ],
};

pub static RATE_LIMIT: Object = Object {
    name: "rate_limit",
    fields: &[
        required(
            "requests",
            Ty::Int {
                min: 1,
                max: 100_000,
            },
            "Requests allowed per window.",
        ),
        required(
            "per_seconds",
            Ty::Int { min: 1, max: 3_600 },
            "The window, in seconds.",
        ),
    ],
};

pub static BACKUPS: Object = Object {
    name: "backups",
    fields: &[
        field(
            "retention_days",
            Ty::Int {
                min: 0,
                max: 36_500,
            },
            "Prune backups older than this (default 30).",
        ),
        field(
            "keep_min",
            Ty::Int {
                min: 0,
                max: 100_000,
            },
            "Never prune the newest N backups (default 5).",
        ),
    ],
};

pub static RETRY: Object = Object {
    name: "retry",
    fields: &[
        field(
            "attempts",
            Ty::Int { min: 1, max: 10 },
            "Attempts per call on 5xx and connection errors (default 4).",
        ),
        field(
            "base_delay_ms",
            Ty::Int {
                min: 1,
                max: 60_000,
            },
            "First backoff, doubled per attempt, with jitter (default 200).",
        ),
        field(
            "max_delay_ms",
            Ty::Int {
                min: 1,
                max: 300_000,
            },
            "Largest backoff (default 5000).",
        ),
        field(
            "rate_limit_waits",
            Ty::Int { min: 0, max: 1_000 },
            "Waits after HTTP 429 before a call fails (default 30).",
        ),
        field(
            "timeout_seconds",
            Ty::Int { min: 1, max: 600 },
            "Timeout of one request (default 60).",
        ),
    ],
};

pub static ENVIRONMENT: Object = Object {
    name: "environment file",
    fields: &[
        Field {
            key: "project_id",
            ty: Ty::Str(Format::ProjectId),
            required: true,
            env_only: true,
            doc: "The Descope project id (not a secret).",
        },
        env_only(
            "management_key",
            Ty::Str(Format::EnvRef),
            "Only `${env.NAME}`; resolved when a command talks to Descope.",
        ),
        env_only(
            "base_url",
            Ty::Str(Format::Url),
            "API base URL; default derived from project_id.",
        ),
        env_only(
            "emulator",
            Ty::Bool,
            "Run against dmgmt's embedded emulator instead of Descope.",
        ),
        env_only(
            "protected",
            Ty::Bool,
            "Typed confirmation on apply; deletes need --allow-delete.",
        ),
        field(
            "rate_limit",
            Ty::Object(&RATE_LIMIT),
            "Client-side rate limit for this environment's API calls.",
        ),
        field(
            "parallelism",
            Ty::Int { min: 1, max: 32 },
            "Changes in flight at once during apply (default 4).",
        ),
        field(
            "backups",
            Ty::Object(&BACKUPS),
            "Retention of pre-apply backups.",
        ),
        field(
            "include",
            Ty::List(&Ty::Str(Format::Path)),
            "Shared files merged before this one, relative to environments/.",
        ),
        field(
            "vars",
            VARS,
            "Values for `${var.NAME}` in strings and templates.",
        ),
        field(
            "permissions",
            Ty::List(&Ty::Object(&PERMISSION)),
            "Permissions.",
        ),
        field(
            "roles",
            Ty::List(&Ty::Object(&ROLE)),
            "Project and tenant-scoped roles.",
        ),
        field("tenants", Ty::List(&Ty::Object(&TENANT)), "Tenants."),
        field(
            "flows",
            Ty::List(&Ty::Object(&FLOW)),
            "Flows, each from a JSON template.",
        ),
        field(
            "theme",
            Ty::Object(&THEME),
            "The project theme, from a JSON template.",
        ),
    ],
};

/// Which kind of file is being checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileRole {
    /// `environments/<env>.yaml`.
    Environment,
    /// A file pulled in with `include:`: no identity keys, nothing required.
    Shared,
}

/// Checks one file's tree against [`ENVIRONMENT`]. Required top-level keys are checked only on
/// the merged environment (see [`check_required_root`]): a shared file may leave them out.
pub fn check_file(root: &Node, role: FileRole, out: &mut Vec<Diagnostic>) {
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
pub fn check_required_root(root: &Node, out: &mut Vec<Diagnostic>) {
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
        Format::ProjectId => (!is_project_id(s) && !s.contains("${"))
            .then_some("is not a Descope project id (`P` followed by 19 to 63 letters or digits)"),
        Format::Url => {
            (!(s.starts_with("https://") || s.starts_with("http://") || s.starts_with("${")))
                .then_some("must be an http:// or https:// URL")
        }
        Format::Id => (!is_id(s) && !s.contains("${"))
            .then_some("may only hold letters, digits, `-`, `_` and `.`"),
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
            format!("`{key}` {problem}: `{s}`"),
        ));
    }
}

/// `NAME` of a string that is exactly `${env.NAME}`.
pub fn env_ref_name(s: &str) -> Option<&str> {
    let name = s.trim().strip_prefix("${env.")?.strip_suffix('}')?;
    is_var_name(name).then_some(name)
}

pub fn is_var_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn is_project_id(s: &str) -> bool {
    s.starts_with('P')
        && (20..=64).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

fn is_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

fn unknown_key(name: &str, obj: &Object, span: super::source::Span) -> Diagnostic {
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

/// The JSON Schema (draft 2020-12) of an environment file, or of a shared file.
pub fn json_schema(role: FileRole) -> Json {
    let mut root = object_schema(&ENVIRONMENT, role, role == FileRole::Environment);
    if let Json::Object(map) = &mut root {
        map.insert(
            "$schema".into(),
            json!("https://json-schema.org/draft/2020-12/schema"),
        );
        map.insert(
            "$id".into(),
            json!(match role {
                FileRole::Environment => "https://dmgmt.dev/schema/environment.json",
                FileRole::Shared => "https://dmgmt.dev/schema/shared.json",
            }),
        );
        map.insert(
            "title".into(),
            json!(match role {
                FileRole::Environment => "dmgmt environment file",
                FileRole::Shared => "dmgmt shared file",
            }),
        );
        if role == FileRole::Environment {
            // `management_key` is required unless the environment runs against the emulator.
            map.insert("if".into(), json!({"not": {"properties": {"emulator": {"const": true}}, "required": ["emulator"]}}));
            map.insert("then".into(), json!({"required": ["management_key"]}));
        }
    }
    root
}

fn object_schema(obj: &Object, role: FileRole, with_required: bool) -> Json {
    let root = std::ptr::eq(obj, &ENVIRONMENT);
    let mut props = Map::new();
    let mut required = Vec::new();
    for f in obj
        .fields
        .iter()
        .filter(|f| role == FileRole::Environment || !f.env_only)
    {
        // As in `check_file`: top-level mappings may be completed by an included file.
        let mut schema = type_schema(&f.ty, role, !(root && matches!(f.ty, Ty::Object(_))));
        if let Json::Object(m) = &mut schema {
            m.insert("description".into(), json!(f.doc));
        }
        props.insert(f.key.into(), schema);
        if f.required && with_required {
            required.push(f.key);
        }
    }
    json!({"type": "object", "properties": props, "required": required, "additionalProperties": false})
}

fn type_schema(ty: &Ty, role: FileRole, with_required: bool) -> Json {
    match ty {
        Ty::Str(format) => string_schema(*format),
        Ty::Bool => json!({"type": "boolean"}),
        Ty::Int { min, max } => json!({"type": "integer", "minimum": min, "maximum": max}),
        Ty::List(item) => json!({"type": "array", "items": type_schema(item, role, true)}),
        Ty::Object(obj) => object_schema(obj, role, with_required),
        Ty::Dict { keys, values } => {
            json!({"type": "object", "propertyNames": string_schema(*keys), "additionalProperties": type_schema(values, role, true)})
        }
        Ty::Scalar => json!({"type": ["string", "number", "boolean"]}),
        Ty::Attribute => {
            json!({"anyOf": [{"type": ["string", "number", "boolean"]}, {"type": "array", "items": {"type": "string"}}]})
        }
    }
}

fn string_schema(format: Format) -> Json {
    match format {
        Format::Any | Format::Path => json!({"type": "string"}),
        Format::Name => json!({"type": "string", "pattern": "^\\S(.*\\S)?$"}),
        Format::ProjectId => {
            json!({"type": "string", "pattern": "^(P[A-Za-z0-9]{19,63}|.*\\$\\{.*)$"})
        }
        Format::Url => json!({"type": "string", "pattern": "^(https?://|\\$\\{)"}),
        Format::EnvRef => {
            json!({"type": "string", "pattern": "^\\$\\{env\\.[A-Za-z_][A-Za-z0-9_]*\\}$"})
        }
        Format::Id => json!({"type": "string", "pattern": "^([A-Za-z0-9._-]+|.*\\$\\{.*)$"}),
        Format::VarName => json!({"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"}),
    }
}

#[cfg(test)]
mod tests {
    use super::super::source::{SourceMap, Span};
    use super::super::yaml::parse;
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

    #[test]
    fn json_schema_mirrors_the_declared_fields() {
        let schema = json_schema(FileRole::Environment);
        assert_eq!(schema["required"], json!(["project_id"]));
        assert_eq!(schema["additionalProperties"], json!(false));
        let tenant = &schema["properties"]["tenants"]["items"];
        assert_eq!(tenant["required"], json!(["id", "name"]));
        assert_eq!(
            tenant["properties"]["enforce_sso"]["type"],
            json!("boolean")
        );
        let shared = json_schema(FileRole::Shared);
        assert!(shared["properties"].get("project_id").is_none());
        assert_eq!(shared["required"], json!([]));
    }
}
