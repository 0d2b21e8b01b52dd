//! `${var.NAME}` and `${env.NAME}` placeholders, and the `$${` escape (docs/configuration.md,
//! "Placeholders").
//!
//! Pure string work: the caller supplies the variables and the process environment lookup, and
//! decides where a problem is reported. Nothing here reads files or the real environment.

use std::collections::BTreeMap;

/// Where placeholder values come from.
pub(crate) struct Scope<'a> {
    pub(crate) vars: &'a BTreeMap<String, String>,
    pub(crate) env: &'a dyn Fn(&str) -> Option<String>,
    /// The environment's management key, which no placeholder may copy.
    pub(crate) key: Option<&'a KeyGuard>,
}

/// The management key as `management_key: ${env.NAME}` names it. Any other string that filled
/// it in would send the key to Descope as data and write it to the state, saved plans, backups
/// and output, so `${env.NAME}` is refused everywhere else, and so is any `${env.*}` whose value
/// is the key's.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct KeyGuard {
    /// The variable `management_key` names.
    pub(crate) var: String,
    /// Its value, when set (never shown).
    pub(crate) value: Option<String>,
}

impl std::fmt::Debug for KeyGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyGuard")
            .field("var", &self.var)
            .field("value", &self.value.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// Why a string could not be filled in. `offset` is the byte offset of the placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Problem {
    UndefinedVar {
        name: String,
        offset: usize,
    },
    UnsetEnv {
        name: String,
        offset: usize,
    },
    /// `${...}` that is neither `var.NAME` nor `env.NAME`, or is never closed.
    Malformed {
        text: String,
        offset: usize,
    },
    /// Variables whose values refer to each other in a loop: `a -> b -> a`.
    Cycle {
        path: String,
    },
    /// `${env.NAME}` where `NAME` is the management key's variable.
    KeyVariable {
        name: String,
        offset: usize,
    },
    /// `${env.NAME}` whose value is the management key.
    KeyValue {
        name: String,
        offset: usize,
    },
}

impl Problem {
    pub(crate) fn offset(&self) -> usize {
        match self {
            Problem::UndefinedVar { offset, .. }
            | Problem::UnsetEnv { offset, .. }
            | Problem::Malformed { offset, .. }
            | Problem::KeyVariable { offset, .. }
            | Problem::KeyValue { offset, .. } => *offset,
            Problem::Cycle { .. } => 0,
        }
    }

    /// The message, naming the missing name.
    pub(crate) fn message(&self) -> String {
        match self {
            Problem::UndefinedVar { name, .. } => format!("undefined variable `var.{name}`"),
            Problem::UnsetEnv { name, .. } => format!("environment variable `{name}` is not set"),
            Problem::Malformed { text, .. } => format!("`{text}` is not a valid placeholder"),
            Problem::Cycle { path } => format!("variables refer to each other in a cycle: {path}"),
            Problem::KeyVariable { name, .. } => format!(
                "`${{env.{name}}}` is the management key's variable: only `management_key` may use it"
            ),
            Problem::KeyValue { name, .. } => format!(
                "environment variable `{name}` holds the management key: only `management_key` may use it"
            ),
        }
    }

    pub(crate) fn hint(&self, known: &BTreeMap<String, String>) -> String {
        match self {
            Problem::UndefinedVar { name, .. } => {
                match super::source::did_you_mean(name, known.keys().map(String::as_str)) {
                    Some(best) => format!(
                        "did you mean `var.{best}`? Otherwise define `{name}` under `vars:`"
                    ),
                    None => {
                        format!("define `{name}` under `vars:` of the environment (or of the flow)")
                    }
                }
            }
            Problem::UnsetEnv { name, .. } => format!("export `{name}` before running dmgmt"),
            Problem::Malformed { .. } => {
                "placeholders are `${var.NAME}` or `${env.NAME}`; write `$${` for a literal `${`"
                    .to_owned()
            }
            Problem::Cycle { .. } => {
                "give one of these variables a value that does not use the others".to_owned()
            }
            Problem::KeyVariable { .. } | Problem::KeyValue { .. } => {
                "the key would be sent to Descope as data and written to the state, plans, backups and output; remove this reference"
                    .to_owned()
            }
        }
    }
}

/// One piece of a string: literal text, or a placeholder.
#[derive(Debug, PartialEq, Eq)]
enum Piece<'s> {
    Text(&'s str),
    Var(&'s str, usize),
    Env(&'s str, usize),
}

/// Splits `s` into literal text and placeholders.
fn pieces(s: &str) -> Result<Vec<Piece<'_>>, Problem> {
    let mut out = Vec::new();
    let mut rest = s;
    let mut base = 0;
    while let Some(at) = rest.find('$') {
        let after = &rest[at..];
        if let Some(escaped) = after.strip_prefix("$${") {
            out.push(Piece::Text(&rest[..at]));
            out.push(Piece::Text("${"));
            rest = escaped;
            base += at + 3;
            continue;
        }
        if !after.starts_with("${") {
            out.push(Piece::Text(&rest[..at + 1]));
            rest = &after[1..];
            base += at + 1;
            continue;
        }
        out.push(Piece::Text(&rest[..at]));
        let offset = base + at;
        let Some(close) = after.find('}') else {
            return Err(Problem::Malformed {
                text: after.chars().take(30).collect(),
                offset,
            });
        };
        let inner = &after[2..close];
        let piece = match inner.split_once('.') {
            Some(("var", name)) if super::schema::is_var_name(name) => Piece::Var(name, offset),
            Some(("env", name)) if super::schema::is_var_name(name) => Piece::Env(name, offset),
            _ => {
                return Err(Problem::Malformed {
                    text: after[..=close].to_owned(),
                    offset,
                });
            }
        };
        out.push(piece);
        rest = &after[close + 1..];
        base += at + close + 1;
    }
    out.push(Piece::Text(rest));
    Ok(out)
}

/// Fills every placeholder of `s`. All problems are returned, not only the first.
pub(crate) fn interpolate(s: &str, scope: &Scope<'_>) -> Result<String, Vec<Problem>> {
    if !s.contains('$') {
        return Ok(s.to_owned());
    }
    let pieces = pieces(s).map_err(|p| vec![p])?;
    let mut out = String::with_capacity(s.len());
    let mut problems = Vec::new();
    for piece in pieces {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Var(name, offset) => match scope.vars.get(name) {
                Some(v) => out.push_str(v),
                None => problems.push(Problem::UndefinedVar {
                    name: name.to_owned(),
                    offset,
                }),
            },
            Piece::Env(name, offset) => {
                let name = name.to_owned();
                match (scope.env)(&name) {
                    _ if scope.key.is_some_and(|k| k.var == name) => {
                        problems.push(Problem::KeyVariable { name, offset });
                    }
                    Some(v) if scope.key.is_some_and(|k| k.value.as_ref() == Some(&v)) => {
                        problems.push(Problem::KeyValue { name, offset });
                    }
                    Some(v) => out.push_str(&v),
                    None => problems.push(Problem::UnsetEnv { name, offset }),
                }
            }
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// Resolves `vars` whose values use other `${var.*}` or `${env.*}` placeholders, in dependency
/// order. A variable that (indirectly) refers to itself is reported.
pub(crate) fn resolve_vars(
    raw: &BTreeMap<String, String>,
    env: &dyn Fn(&str) -> Option<String>,
    key: Option<&KeyGuard>,
) -> (BTreeMap<String, String>, Vec<(String, Problem)>) {
    let mut done = BTreeMap::new();
    let mut problems = Vec::new();
    for name in raw.keys() {
        let mut stack = Vec::new();
        let inputs = (raw, env, key);
        resolve_one(name, inputs, &mut done, &mut stack, &mut problems);
    }
    (done, problems)
}

/// The raw values, the environment lookup and the key guard of [`resolve_vars`].
type VarInputs<'a> = (
    &'a BTreeMap<String, String>,
    &'a dyn Fn(&str) -> Option<String>,
    Option<&'a KeyGuard>,
);

fn resolve_one(
    name: &str,
    inputs: VarInputs<'_>,
    done: &mut BTreeMap<String, String>,
    stack: &mut Vec<String>,
    problems: &mut Vec<(String, Problem)>,
) -> bool {
    let (raw, env, key) = inputs;
    if done.contains_key(name) {
        return true;
    }
    let Some(text) = raw.get(name) else {
        return false;
    };
    if stack.iter().any(|s| s == name) {
        let cycle = stack
            .iter()
            .chain(std::iter::once(&name.to_owned()))
            .cloned()
            .collect::<Vec<_>>()
            .join(" -> ");
        problems.push((name.to_owned(), Problem::Cycle { path: cycle }));
        return false;
    }
    stack.push(name.to_owned());
    // Resolve what this value refers to first, so `interpolate` sees it defined.
    if let Ok(ps) = pieces(text) {
        for p in ps {
            if let Piece::Var(dep, _) = p
                && raw.contains_key(dep)
                && !resolve_one(dep, inputs, done, stack, problems)
            {
                stack.pop();
                return false;
            }
        }
    }
    stack.pop();
    let scope = Scope {
        vars: done,
        env,
        key,
    };
    match interpolate(text, &scope) {
        Ok(value) => {
            done.insert(name.to_owned(), value);
            true
        }
        Err(ps) => {
            problems.extend(ps.into_iter().map(|p| (name.to_owned(), p)));
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn env(name: &str) -> Option<String> {
        (name == "HOME_URL").then(|| "https://home".to_owned())
    }

    #[test]
    fn fills_vars_and_env() {
        let v = vars(&[("app_url", "https://x.example")]);
        let scope = Scope {
            vars: &v,
            env: &env,
            key: None,
        };
        assert_eq!(
            interpolate("${var.app_url}/done", &scope).unwrap(),
            "https://x.example/done"
        );
        assert_eq!(
            interpolate("${env.HOME_URL}", &scope).unwrap(),
            "https://home"
        );
        assert_eq!(interpolate("costs $5", &scope).unwrap(), "costs $5");
    }

    #[test]
    fn double_dollar_escapes_a_literal_placeholder() {
        let v = vars(&[]);
        let scope = Scope {
            vars: &v,
            env: &env,
            key: None,
        };
        assert_eq!(
            interpolate("$${var.x} and $${", &scope).unwrap(),
            "${var.x} and ${"
        );
    }

    #[test]
    fn reports_every_missing_name_with_its_offset() {
        let v = vars(&[]);
        let scope = Scope {
            vars: &v,
            env: &env,
            key: None,
        };
        let problems = interpolate("a ${var.one} b ${env.NOPE}", &scope).unwrap_err();
        assert_eq!(
            problems,
            [
                Problem::UndefinedVar {
                    name: "one".into(),
                    offset: 2
                },
                Problem::UnsetEnv {
                    name: "NOPE".into(),
                    offset: 15
                },
            ]
        );
        assert_eq!(problems[0].message(), "undefined variable `var.one`");
        assert_eq!(
            problems[1].message(),
            "environment variable `NOPE` is not set"
        );
    }

    #[test]
    fn malformed_placeholders_are_errors() {
        let v = vars(&[]);
        let scope = Scope {
            vars: &v,
            env: &env,
            key: None,
        };
        for s in [
            "${foo}",
            "${var.}",
            "${var.a-b}",
            "x ${var.open",
            "${secret.x}",
        ] {
            let problems = interpolate(s, &scope).unwrap_err();
            assert!(
                matches!(problems[0], Problem::Malformed { .. }),
                "{s}: {problems:?}"
            );
        }
    }

    #[test]
    fn vars_may_refer_to_vars_and_cycles_are_named() {
        let raw = vars(&[
            ("base", "https://x"),
            ("done", "${var.base}/done"),
            ("a", "${var.b}"),
            ("b", "${var.a}"),
        ]);
        let (done, problems) = resolve_vars(&raw, &env, None);
        assert_eq!(done["done"], "https://x/done");
        assert!(!done.contains_key("a"));
        assert!(
            problems
                .iter()
                .any(|(_, p)| p.message().contains("a -> b -> a")),
            "{problems:?}"
        );
    }
}
