//! Loading one environment: read its file and the files it includes, check them, merge them, fill
//! placeholders, check references and templates, and build the [`DesiredState`].
//!
//! Every problem of a run is collected, each naming file, line and column; the desired state is
//! produced only when there is none. Loading never talks to Descope, and never needs the
//! management key: its `${env.*}` reference is only checked for being set, as a warning.
//!
//! This file holds the entry points and the order of the steps; each step with a concept of its
//! own lives beside it: [`read`] (one file into the source map), [`include`](mod@include) (a file
//! and what it includes, merged), [`templates`] (flow and theme templates, filled) and
//! [`declared`] (the roles and tenants a flow may name).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use serde_json::Value as Json;

use super::build;
use super::interpolate::{KeyGuard, Scope, interpolate, resolve_vars};
use super::names;
use super::project::Project;
use super::rules;
use super::schema::{self, FileRole, env_ref_name};
use super::source::{Diagnostic, FileId, Severity, SourceMap, Span};
use super::template::TemplateKind;
use super::yaml::{Node, Value};
use crate::model::{DesiredState, FlowRefs};

mod declared;
mod include;
mod read;
mod templates;

/// Looks up a process environment variable; injectable so tests do not touch the real one.
pub(crate) type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The outcome of loading one environment.
#[derive(Debug)]
pub struct Loaded {
    pub(crate) environment: String,
    /// Every file read, for showing the lines diagnostics point at.
    pub sources: SourceMap,
    /// Errors and warnings, in the order found.
    pub diagnostics: Vec<Diagnostic>,
    /// Present exactly when there is no error.
    pub desired: Option<DesiredState>,
}

impl Loaded {
    pub(crate) fn error_count(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }

    pub(crate) fn warning_count(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Warning)
            .count()
    }

    #[cfg(test)]
    pub(crate) fn note_count(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Note)
            .count()
    }
}

/// Loads environment `name` of `project`. The caller has checked that the environment exists.
pub fn load(project: &Project, name: &str, env: EnvLookup<'_>) -> Loaded {
    load_with(project, name, env, false)
}

/// Loads environment `name` with every placeholder left as written: each string (and each string
/// of a template) holds the text the configuration writes, `${var.app_url}/done` rather than what
/// it renders to. A flow's own `vars` still stand in for their text (`${var.redirect_url}` in a
/// template reads `${var.app_url}/done`). Resources come in the same order as [`load`] gives them,
/// so the two can be read side by side (`dmgmt diff` shows what differs only by a variable this
/// way). References and names are not checked: they are checked on the rendered values.
pub fn load_unrendered(project: &Project, name: &str) -> Loaded {
    let placeholder = |var: &str| Some(format!("${{env.{var}}}"));
    load_with(project, name, &placeholder, true)
}

fn load_with(project: &Project, name: &str, env: EnvLookup<'_>, unrendered: bool) -> Loaded {
    let mut loader = Loader {
        project,
        env,
        sources: SourceMap::default(),
        diagnostics: Vec::new(),
        templates: HashMap::new(),
        unrendered,
        key: None,
    };
    let desired = loader.load(name);
    let desired = desired.filter(|_| loader.diagnostics.iter().all(|d| !d.is_error()));
    // One template used by several flows can raise the same problem at the same place twice.
    let mut seen = std::collections::HashSet::new();
    loader
        .diagnostics
        .retain(|d| seen.insert((d.span.file, d.span.line, d.span.col, d.message.clone())));
    Loaded {
        environment: name.to_owned(),
        sources: loader.sources,
        diagnostics: loader.diagnostics,
        desired,
    }
}

struct Loader<'a> {
    project: &'a Project,
    env: EnvLookup<'a>,
    sources: SourceMap,
    diagnostics: Vec<Diagnostic>,
    /// Parsed templates by path and kind: each is read and reported once even if several flows
    /// use it.
    templates: HashMap<(PathBuf, TemplateKind), Option<(FileId, Json)>>,
    /// Placeholders are kept as written (see [`load_unrendered`]).
    unrendered: bool,
    /// The management key's variable, refused in every other placeholder.
    key: Option<KeyGuard>,
}

impl Loader<'_> {
    fn load(&mut self, name: &str) -> Option<DesiredState> {
        let path = self.project.env_file(name);
        let mut chain = vec![path.clone()];
        let mut root = self.load_tree(&path, FileRole::Environment, &mut chain, None)?;
        let env_file = root.span.file;
        schema::check_required_root(&root, &mut self.diagnostics);
        self.check_management_key(&root, env_file);
        self.key = root
            .get("management_key")
            .and_then(|n| n.as_str())
            .and_then(env_ref_name)
            .map(|var| KeyGuard {
                var: var.to_owned(),
                value: (self.env)(var).filter(|v| !v.is_empty()),
            });

        let mut vars = self.resolve_vars(&root);
        if self.unrendered {
            for (name, value) in vars.iter_mut() {
                *value = format!("${{var.{name}}}");
            }
        }
        let scope_env = self.env;
        let scope = Scope {
            vars: &vars,
            env: scope_env,
            key: self.key.as_ref(),
        };
        interpolate_tree(&mut root, &scope, "", &mut self.diagnostics);
        if !self.unrendered {
            rules::check_references(&root, &mut self.diagnostics);
            names::check_names(&root, &mut self.diagnostics);
        }

        let flows = self.load_flows(&root, &vars, name);
        let theme = self.load_theme(&root, &vars);
        if self.diagnostics.iter().any(Diagnostic::is_error) {
            return None;
        }
        self.build(name, &root, flows, theme)
    }

    fn check_management_key(&mut self, root: &Node, env_file: FileId) {
        let emulator = matches!(
            root.get("emulator").map(|n| &n.value),
            Some(Value::Bool(true))
        );
        if emulator {
            // The embedded emulator has its own address and key: these would silently not apply.
            for name in ["base_url", "management_key"] {
                if let Some((key, _)) = root.entry(name) {
                    self.diagnostics.push(
                        Diagnostic::warning(
                            key.span,
                            format!("`{name}` is ignored: this environment runs against the embedded emulator (`emulator: true`)"),
                        )
                        .hint(format!("remove `{name}`, or set `emulator: false` to talk to Descope")),
                    );
                }
            }
        }
        match root.entry("management_key") {
            None if !emulator => self.diagnostics.push(
                Diagnostic::error(Span::file_start(env_file), "missing required key `management_key` in environment file")
                    .hint("add `management_key: ${env.DESCOPE_MANAGEMENT_KEY}` (or `emulator: true` for a local environment)"),
            ),
            Some((_, value)) if !emulator => {
                if let Some(var) = value.as_str().and_then(env_ref_name)
                    && (self.env)(var).is_none() {
                        self.diagnostics.push(Diagnostic::note(
                            value.span,
                            format!("management key variable `{var}` is not set; `plan`, `apply` and `refresh` will need it"),
                        ));
                    }
            }
            _ => {}
        }
    }

    fn resolve_vars(&mut self, root: &Node) -> BTreeMap<String, String> {
        let mut raw = BTreeMap::new();
        let mut spans = BTreeMap::new();
        for (key, value) in root.get("vars").and_then(Node::as_map).unwrap_or(&[]) {
            if let Some(text) = scalar_text(value) {
                raw.insert(key.name.clone(), text);
                spans.insert(key.name.clone(), value.span);
            }
        }
        let (vars, problems) = resolve_vars(&raw, self.env, self.key.as_ref());
        for (name, problem) in problems {
            let span = spans.get(&name).copied().unwrap_or(root.span);
            self.diagnostics
                .push(Diagnostic::error(span, problem.message()).hint(problem.hint(&raw)));
        }
        vars
    }

    fn build(
        &mut self,
        name: &str,
        root: &Node,
        flows: Vec<Option<(Json, FlowRefs)>>,
        theme: Option<Json>,
    ) -> Option<DesiredState> {
        build::desired_state(name, root, flows, theme)
            .map_err(|e| {
                // The schema accepts only what the typed form can hold; reaching this is a bug.
                let message =
                    format!("internal error: the checked configuration does not convert: {e}");
                self.diagnostics.push(Diagnostic::error(root.span, message));
            })
            .ok()
    }
}

/// The text of a scalar variable value (strings, numbers, booleans).
fn scalar_text(node: &Node) -> Option<String> {
    match &node.value {
        Value::Str(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        Value::Float(f) => Some(f.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Fills placeholders in every string of the tree, except the environment's `vars` (resolved
/// on their own) and `management_key` (resolved only when Descope is called).
fn interpolate_tree(node: &mut Node, scope: &Scope<'_>, path: &str, out: &mut Vec<Diagnostic>) {
    match &mut node.value {
        Value::Str(s) if s.contains('$') => match interpolate(s, scope) {
            Ok(filled) => *s = filled,
            Err(problems) => {
                for p in problems {
                    out.push(Diagnostic::error(node.span, p.message()).hint(p.hint(scope.vars)));
                }
            }
        },
        Value::Seq(items) => {
            for item in items {
                interpolate_tree(item, scope, path, out);
            }
        }
        Value::Map(entries) => {
            for (key, value) in entries {
                if path.is_empty() && (key.name == "vars" || key.name == "management_key") {
                    continue;
                }
                interpolate_tree(
                    value,
                    scope,
                    if path.is_empty() { &key.name } else { path },
                    out,
                );
            }
        }
        _ => {}
    }
}

#[cfg(test)]
#[path = "load_tests.rs"]
mod tests;
