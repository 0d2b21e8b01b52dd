//! Loading one environment: read its file and the files it includes, check them, merge them, fill
//! placeholders, check references and templates, and build the [`DesiredState`].
//!
//! Every problem of a run is collected, each naming file, line and column; the desired state is
//! produced only when there is none. Loading never talks to Descope, and never needs the
//! management key: its `${env.*}` reference is only checked for being set, as a warning.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use serde_json::Value as Json;

use super::build;
use super::flow_refs;
use super::interpolate::{Scope, interpolate, resolve_vars};
use super::merge::{merge, take_key};
use super::names;
use super::project::Project;
use super::rules;
use super::schema::{self, FileRole, env_ref_name};
use super::source::{Diagnostic, FileId, Severity, SourceMap, Span, did_you_mean};
use super::template::{self, TemplateKind};
use super::yaml::{self, Node, Value};
use crate::model::document::set_flow_id;
use crate::model::preconfigured::TENANT_ADMIN_ROLE;
use crate::model::{DesiredState, FlowRefs};

/// Larger files are refused before parsing (a 25,000-tenant environment is about 5 MiB).
pub(crate) const MAX_FILE_BYTES: u64 = 32 * 1024 * 1024;

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
}

impl Loader<'_> {
    fn load(&mut self, name: &str) -> Option<DesiredState> {
        let path = self.project.env_file(name);
        let mut chain = vec![path.clone()];
        let mut root = self.load_tree(&path, FileRole::Environment, &mut chain, None)?;
        let env_file = root.span.file;
        schema::check_required_root(&root, &mut self.diagnostics);
        self.check_management_key(&root, env_file);

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

    /// Reads, parses and checks one file, then merges the files it includes under it.
    fn load_tree(
        &mut self,
        path: &Path,
        role: FileRole,
        chain: &mut Vec<PathBuf>,
        from: Option<Span>,
    ) -> Option<Node> {
        let file = self.read(path, from, "included file")?;
        let parsed = yaml::parse(file, self.sources.text(file));
        self.diagnostics.extend(parsed.diagnostics);
        // Without a tree (syntax error, empty file) there is nothing more to check in this file.
        let mut root = parsed.root?;
        schema::check_file(&root, role, &mut self.diagnostics);
        root.as_map()?;
        rules::check_duplicates(&root, &mut self.diagnostics);

        let mut merged: Option<Node> = None;
        if let Some((_, includes)) = take_key(&mut root, "include") {
            for item in includes.as_seq().unwrap_or(&[]) {
                let Some(written) = item.as_str() else {
                    continue;
                };
                let Some(target) = self.project.config_path(written) else {
                    self.diagnostics.push(
                        Diagnostic::error(item.span, format!("include path `{written}` leaves the environments/ folder"))
                            .hint("include paths are relative to environments/, e.g. `shared/common.yaml`"),
                    );
                    continue;
                };
                if let Some(start) = chain.iter().position(|p| *p == target) {
                    let cycle: Vec<String> = chain[start..]
                        .iter()
                        .chain(std::iter::once(&target))
                        .map(|p| self.project.display(p))
                        .collect();
                    self.diagnostics.push(
                        Diagnostic::error(
                            item.span,
                            format!("include cycle: {}", cycle.join(" -> ")),
                        )
                        .hint("remove one of these includes"),
                    );
                    continue;
                }
                chain.push(target.clone());
                let included = self.load_tree(&target, FileRole::Shared, chain, Some(item.span));
                chain.pop();
                if let Some(included) = included {
                    merged = Some(match merged {
                        Some(acc) => merge(acc, included, ""),
                        None => included,
                    });
                }
            }
        }
        Some(match merged {
            Some(acc) => merge(acc, root, ""),
            None => root,
        })
    }

    /// Reads a file into the source map. `from` is the reference that names it, where a missing
    /// file is reported; `what` names it in that message.
    fn read(&mut self, path: &Path, from: Option<Span>, what: &str) -> Option<FileId> {
        let display = self.project.display(path);
        if let Some(id) = self.sources.find(path) {
            return Some(id);
        }
        let missing = |diags: &mut Vec<Diagnostic>, message: String, hint: String| {
            if let Some(span) = from {
                diags.push(Diagnostic::error(span, message).hint(hint))
            }
        };
        let meta = match std::fs::metadata(path) {
            Ok(meta) if meta.is_file() => meta,
            Ok(_) | Err(_) => {
                let written = display.strip_prefix("environments/").unwrap_or(&display);
                missing(
                    &mut self.diagnostics,
                    format!("{what} `{written}` not found"),
                    format!("expected at `{display}`"),
                );
                return None;
            }
        };
        if meta.len() > MAX_FILE_BYTES {
            let id = self.sources.add(path.to_path_buf(), display, String::new());
            self.diagnostics.push(Diagnostic::error(
                Span::file_start(id),
                format!(
                    "file is too large ({} MiB; the limit is {} MiB)",
                    meta.len() >> 20,
                    MAX_FILE_BYTES >> 20
                ),
            ));
            return None;
        }
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) => {
                let id = self.sources.add(path.to_path_buf(), display, String::new());
                self.diagnostics.push(Diagnostic::error(
                    Span::file_start(id),
                    format!("cannot read the file: {e}"),
                ));
                return None;
            }
        };
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
        match std::str::from_utf8(bytes) {
            Ok(text) => Some(
                self.sources
                    .add(path.to_path_buf(), display, text.to_owned()),
            ),
            Err(e) => {
                let good = &bytes[..e.valid_up_to()];
                let line = good.iter().filter(|&&b| b == b'\n').count() + 1;
                let col = good.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
                let id = self.sources.add(
                    path.to_path_buf(),
                    display,
                    String::from_utf8_lossy(bytes).into_owned(),
                );
                self.diagnostics.push(
                    Diagnostic::error(Span::new(id, line, col, 1), "file is not valid UTF-8")
                        .hint("configuration and templates must be UTF-8 text"),
                );
                None
            }
        }
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
        let (vars, problems) = resolve_vars(&raw, self.env);
        for (name, problem) in problems {
            let span = spans.get(&name).copied().unwrap_or(root.span);
            self.diagnostics
                .push(Diagnostic::error(span, problem.message()).hint(problem.hint(&raw)));
        }
        vars
    }

    /// Each flow's filled document (its flow id set to the config's) and the roles and tenants
    /// it names, each checked against what the environment declares.
    fn load_flows(
        &mut self,
        root: &Node,
        vars: &BTreeMap<String, String>,
        env: &str,
    ) -> Vec<Option<(Json, FlowRefs)>> {
        let flows: Vec<Node> = root
            .get("flows")
            .and_then(Node::as_seq)
            .unwrap_or(&[])
            .to_vec();
        let declared = Declared::of(root);
        flows
            .iter()
            .map(|flow| {
                let (file, mut doc) = self.load_template(flow, vars, TemplateKind::Flow)?;
                if let Some(id) = flow.get("id").and_then(Node::as_str) {
                    set_flow_id(&mut doc, id);
                }
                let refs = flow_refs::find(&doc);
                self.check_refs(file, &refs, &declared, env);
                Some((doc, refs))
            })
            .collect()
    }

    /// Every role and tenant a flow names must be declared in the environment.
    fn check_refs(&mut self, file: FileId, refs: &FlowRefs, declared: &Declared, env: &str) {
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

    fn load_theme(&mut self, root: &Node, vars: &BTreeMap<String, String>) -> Option<Json> {
        let theme = root.get("theme")?.clone();
        self.load_template(&theme, vars, TemplateKind::Theme)
            .map(|(_, doc)| doc)
    }

    /// Reads (once) and fills the template named by a flow or theme entry.
    fn load_template(
        &mut self,
        entry: &Node,
        vars: &BTreeMap<String, String>,
        kind: TemplateKind,
    ) -> Option<(FileId, Json)> {
        let template = entry.get("template")?;
        let written = template.as_str()?;
        let Some(path) = self.project.config_path(written) else {
            self.diagnostics.push(
                Diagnostic::error(
                    template.span,
                    format!("template path `{written}` leaves the environments/ folder"),
                )
                .hint(
                    "template paths are relative to environments/, e.g. `flows/sign-up-or-in.json`",
                ),
            );
            return None;
        };
        let cache_key = (path.clone(), kind);
        if !self.templates.contains_key(&cache_key) {
            let what = match kind {
                TemplateKind::Flow => "flow template",
                TemplateKind::Theme => "theme template",
            };
            let parsed = self
                .read(&path, Some(template.span), what)
                .and_then(|file| {
                    template::parse(&self.sources, file, kind)
                        .map(|json| (file, json))
                        .map_err(|d| self.diagnostics.push(d))
                        .ok()
                });
            self.templates.insert(cache_key.clone(), parsed);
        }
        let (file, json) = self.templates.get(&cache_key)?.clone()?;
        let own: BTreeMap<String, String> = entry
            .get("vars")
            .and_then(Node::as_map)
            .unwrap_or(&[])
            .iter()
            .filter_map(|(k, v)| Some((k.name.clone(), scalar_text(v)?)))
            .collect();
        let scope_vars = template::scope_vars(vars, &own);
        let scope = Scope {
            vars: &scope_vars,
            env: self.env,
        };
        let filled = template::fill(
            &self.sources,
            file,
            &json,
            &scope,
            self.unrendered,
            &mut self.diagnostics,
        );
        Some((file, filled))
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

/// The role names and tenant ids the environment declares (with Descope's preconfigured role).
struct Declared {
    roles: BTreeSet<String>,
    tenants: BTreeSet<String>,
}

impl Declared {
    fn of(root: &Node) -> Declared {
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
