//! Flow and theme templates: JSON exported from Descope, with `${...}` placeholders.
//!
//! A template is parsed as JSON first and placeholders are then filled inside its string values,
//! so a value holding a quote can never break the JSON. Problems point at the template file's own
//! line and name the JSON path of the value (`$.flow.dsl.tasks["7"].arguments.redirectUrl.value`).
//!
//! Rules: a template is a Descope export of either generation (see `model::document`); every
//! placeholder must be defined; a placeholder in an object key is an error (keys are Descope's
//! structure — task ids, screen ids, CSS variable names — and two keys filled alike would silently
//! merge); and no `${` may survive filling (a variable whose value itself holds `${` would send a
//! placeholder to Descope), except one written as the `$${` escape.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use super::flow_refs::push_key;
use super::interpolate::{Problem, Scope, interpolate};
use super::source::{Diagnostic, FileId, SourceMap, Span};
use crate::model::DocFormat;

/// What a template must contain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum TemplateKind {
    /// A flow export: v1 `{"flow": {...}, "screens": [...]}` or v2 `{"flow": {"flowId", ...}}`.
    Flow,
    /// A theme export: v1 `{"theme": {...}}` or v2 `{"theme": {"styles", ...}}`.
    Theme,
}

impl TemplateKind {
    fn name(self) -> &'static str {
        match self {
            TemplateKind::Flow => "flow",
            TemplateKind::Theme => "theme",
        }
    }
}

/// Parses the template text of `file` and checks its shape; the JSON is returned unfilled.
pub(crate) fn parse(
    sources: &SourceMap,
    file: FileId,
    kind: TemplateKind,
) -> Result<Json, Diagnostic> {
    let text = sources.text(file);
    let json: Json = serde_json::from_str(text).map_err(|e| {
        Diagnostic::error(Span::new(file, e.line(), e.column(), 1), format!("{} template is not valid JSON: {}", kind.name(), json_reason(&e)))
            .hint("export the flow from the Descope console (or `dmgmt import`) and edit it with a JSON-aware editor")
    })?;
    let start = Span::file_start(file);
    let shape_error =
        |what: &str| Diagnostic::error(start, format!("{} template must be {what}", kind.name()));
    let obj = json
        .as_object()
        .ok_or_else(|| shape_error("a JSON object"))?;
    match kind {
        TemplateKind::Flow => {
            if DocFormat::of_flow(&json).is_none() {
                return Err(shape_error(
                    "a Descope flow export: v1, an object with `flow` (an object) and `screens` (a list), or v2, an object with `flow` holding `flowId`, `metadata` and `contents`",
                ));
            }
        }
        TemplateKind::Theme => {
            if !obj.get("theme").is_some_and(Json::is_object) {
                return Err(shape_error(
                    "a Descope theme export: an object with `theme` (an object)",
                ));
            }
        }
    }
    Ok(json)
}

fn json_reason(e: &serde_json::Error) -> String {
    // serde_json appends " at line L column C"; the position is shown separately.
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

/// What went wrong at one place of a template.
enum Defect {
    Placeholder(String, Problem),
    InKey(String),
    /// The placeholder as written, and the `${...}` its value left.
    Leftover {
        written: String,
        survived: String,
    },
}

/// Fills every placeholder in the string values of `json`. Each problem names the JSON path of
/// the value and points at the first place its text is written in the template file.
/// `keep_placeholders`: the scope maps variables to their own placeholders (an unrendered load,
/// for `diff`), so a `${` after filling is meant and not a leftover.
pub(crate) fn fill(
    sources: &SourceMap,
    file: FileId,
    json: &Json,
    scope: &Scope<'_>,
    keep_placeholders: bool,
    out: &mut Vec<Diagnostic>,
) -> Json {
    let mut defects = Vec::new();
    let filled = fill_value(json, scope, &mut "$".to_owned(), &mut defects);
    if keep_placeholders {
        defects.retain(|(_, d)| !matches!(d, Defect::Leftover { .. }));
    }
    let text = sources.text(file);
    let mut reported = std::collections::BTreeSet::new();
    // Defects come in the template's own order (objects keep their key order), so the n-th
    // defect of a placeholder is at its n-th occurrence in the text: each is shown at its line.
    let mut cursors: BTreeMap<String, usize> = BTreeMap::new();
    let mut found = Vec::new();
    for (path, defect) in defects {
        let (needle, message, hint) = match defect {
            Defect::Placeholder(placeholder, problem) => (
                placeholder,
                problem.message(),
                problem.hint(scope.vars),
            ),
            Defect::InKey(key) => (
                key.clone(),
                format!("placeholder in the object key `{key}`"),
                "placeholders are filled only in values: keys are Descope's structure (task, screen and style names); write the key literally".to_owned(),
            ),
            Defect::Leftover { written, survived } => (
                written.clone(),
                format!("`${{` is left after filling `{written}`: `{survived}`"),
                "a variable's value holds `${`; Descope would receive it as text. Write `$${` in a value for a literal `${`".to_owned(),
            ),
        };
        let cursor = cursors.entry(needle.clone()).or_insert(0);
        let at = locate_from(text, &needle, cursor);
        if !reported.insert((path.clone(), message.clone())) {
            continue;
        }
        let span = at.map_or(Span::file_start(file), |(line, col)| {
            Span::new(file, line, col, needle.chars().count())
        });
        found.push((
            needle,
            Diagnostic::error(span, format!("{path}: {message}")).hint(hint),
        ));
    }
    // Grouped by placeholder (an undefined variable's uses together), in order of first use.
    let mut first_use: BTreeMap<String, usize> = BTreeMap::new();
    for (i, (needle, _)) in found.iter().enumerate() {
        first_use.entry(needle.clone()).or_insert(i);
    }
    found.sort_by_key(|(needle, _)| first_use[needle]);
    out.extend(found.into_iter().map(|(_, d)| d));
    filled
}

/// Like [`locate`], for the next occurrence of `needle` at or after byte `*cursor` that is not a
/// `$${` escape; moves `*cursor` past it. Once the occurrences run out, the first one is shown.
fn locate_from(text: &str, needle: &str, cursor: &mut usize) -> Option<(usize, usize)> {
    let mut from = *cursor;
    while let Some(i) = text.get(from..).and_then(|rest| rest.find(needle)) {
        let at = from + i;
        from = at + needle.len().max(1);
        if needle.starts_with("${") && text[..at].ends_with('$') {
            continue;
        }
        *cursor = from;
        return position(text, at);
    }
    locate(text, needle)
}

fn fill_value(
    json: &Json,
    scope: &Scope<'_>,
    path: &mut String,
    defects: &mut Vec<(String, Defect)>,
) -> Json {
    match json {
        Json::String(s) => Json::String(fill_str(s, scope, path, defects)),
        Json::Array(items) => Json::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    let len = path.len();
                    path.push_str(&format!("[{i}]"));
                    let filled = fill_value(v, scope, path, defects);
                    path.truncate(len);
                    filled
                })
                .collect(),
        ),
        Json::Object(map) => Json::Object(
            map.iter()
                .map(|(k, v)| {
                    let len = path.len();
                    push_key(path, k);
                    if k.contains("${") && !k.contains("$${") {
                        defects.push((path.clone(), Defect::InKey(k.clone())));
                    }
                    let filled = fill_value(v, scope, path, defects);
                    path.truncate(len);
                    (k.clone(), filled)
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

fn fill_str(s: &str, scope: &Scope<'_>, path: &str, defects: &mut Vec<(String, Defect)>) -> String {
    if !s.contains('$') {
        return s.to_owned();
    }
    match interpolate(s, scope) {
        Ok(v) => {
            // What the `$${` escapes produce is meant; any other `${` came from a value.
            let escaped = s.matches("$${").count();
            if v.matches("${").count() > escaped {
                let at = v.find("${").unwrap_or(0);
                let end = v[at..].find('}').map_or(v.len(), |e| at + e + 1);
                let survived: String = v[at..end].chars().take(60).collect();
                // Point at the template's own placeholder: that is what the reader can find.
                let written = s
                    .find("${")
                    .map(|i| {
                        let e = s[i..].find('}').map_or(s.len(), |e| i + e + 1);
                        s[i..e].to_owned()
                    })
                    .unwrap_or_else(|| survived.clone());
                defects.push((path.to_owned(), Defect::Leftover { written, survived }));
            }
            v
        }
        Err(ps) => {
            for p in ps {
                let at = p.offset();
                let end = s[at..].find('}').map_or(s.len(), |e| at + e + 1);
                defects.push((
                    path.to_owned(),
                    Defect::Placeholder(s[at..end].to_owned(), p),
                ));
            }
            s.to_owned()
        }
    }
}

/// Line and column (1-based) of the first occurrence of `needle` in `text`.
fn locate(text: &str, needle: &str) -> Option<(usize, usize)> {
    position(text, text.find(needle)?)
}

/// Line and column (1-based) of byte `at` of `text`.
fn position(text: &str, at: usize) -> Option<(usize, usize)> {
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Some((line, col))
}

/// The variables a template sees: the environment's, overlaid by the flow's own.
pub(crate) fn scope_vars(
    env_vars: &BTreeMap<String, String>,
    own: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut vars = env_vars.clone();
    vars.extend(own.iter().map(|(k, v)| (k.clone(), v.clone())));
    vars
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(text: &str) -> (SourceMap, FileId) {
        let mut map = SourceMap::default();
        let id = map.add(
            "flows/x.json".into(),
            "environments/flows/x.json".into(),
            text.into(),
        );
        (map, id)
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn fill_with(text: &str, vars: &[(&str, &str)]) -> (Json, Vec<Diagnostic>) {
        let (map, file) = source(text);
        let json = parse(&map, file, TemplateKind::Flow).unwrap();
        let vars: BTreeMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let mut out = Vec::new();
        let scope = Scope {
            vars: &vars,
            env: &no_env,
            key: None,
        };
        let filled = fill(&map, file, &json, &scope, false, &mut out);
        (filled, out)
    }

    #[test]
    fn placeholders_are_filled_inside_strings_without_breaking_json() {
        let (filled, out) = fill_with(
            "{\"flow\": {\"url\": \"${var.u}/done\", \"lit\": \"$${x}\"}, \"screens\": []}",
            &[("u", "say \"hi\"")],
        );
        assert!(out.is_empty(), "{out:?}");
        assert_eq!(filled["flow"]["url"], "say \"hi\"/done");
        assert_eq!(filled["flow"]["lit"], "${x}");
    }

    #[test]
    fn undefined_placeholders_point_at_the_template_line_and_json_path() {
        let (_, out) = fill_with(
            "{\n  \"flow\": {\n    \"a\": [\"${var.missing}\"]\n  },\n  \"screens\": []\n}\n",
            &[],
        );
        assert_eq!(out.len(), 1);
        assert_eq!(
            out[0].message,
            "$.flow.a[0]: undefined variable `var.missing`"
        );
        assert_eq!((out[0].span.line, out[0].span.col), (3, 12));
    }

    #[test]
    fn each_use_of_an_undefined_variable_is_reported_at_its_own_line_grouped_by_variable() {
        let (_, out) = fill_with(
            "{\n  \"flow\": {\n    \"a\": \"${var.one}\",\n    \"b\": \"${var.two}\",\n    \"c\": \"$${var.one} ${var.one}\"\n  },\n  \"screens\": [\"${var.one}\"]\n}\n",
            &[],
        );
        let got: Vec<(String, u32, u32)> = out
            .iter()
            .map(|d| (d.message.clone(), d.span.line, d.span.col))
            .collect();
        assert_eq!(
            got,
            [
                ("$.flow.a: undefined variable `var.one`".to_owned(), 3, 11),
                ("$.flow.c: undefined variable `var.one`".to_owned(), 5, 23),
                (
                    "$.screens[0]: undefined variable `var.one`".to_owned(),
                    7,
                    16
                ),
                ("$.flow.b: undefined variable `var.two`".to_owned(), 4, 11),
            ]
        );
    }

    #[test]
    fn a_placeholder_in_a_key_is_an_error_naming_the_key() {
        let (_, out) = fill_with(
            "{\"flow\": {\n \"x\": {\"${var.k}\": 1}}, \"screens\": []}",
            &[("k", "key")],
        );
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(
            out[0].message,
            "$.flow.x[\"${var.k}\"]: placeholder in the object key `${var.k}`"
        );
        assert_eq!(out[0].span.line, 2);
    }

    #[test]
    fn a_placeholder_surviving_the_fill_is_an_error() {
        let (_, out) = fill_with(
            "{\"flow\": {\"url\": \"${var.u}\"}, \"screens\": []}",
            &[("u", "${oops}")],
        );
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(
            out[0].message,
            "$.flow.url: `${` is left after filling `${var.u}`: `${oops}`"
        );
    }

    #[test]
    fn invalid_json_and_wrong_shapes_are_reported() {
        let (map, file) = source("{\n  \"flow\": {,\n}");
        let err = parse(&map, file, TemplateKind::Flow).unwrap_err();
        assert!(
            err.message.starts_with("flow template is not valid JSON"),
            "{err:?}"
        );
        assert_eq!(err.span.line, 2);
        let (map, file) = source("{\"flow\": {}}");
        assert!(
            parse(&map, file, TemplateKind::Flow)
                .unwrap_err()
                .message
                .contains("`screens`")
        );
        let (map, file) =
            source("{\"flow\": {\"flowId\": \"f\", \"metadata\": {}, \"contents\": {}}}");
        let flow = parse(&map, file, TemplateKind::Flow).unwrap();
        assert_eq!(flow["flow"]["flowId"], "f");
        let (map, file) = source("[]");
        assert!(
            parse(&map, file, TemplateKind::Theme)
                .unwrap_err()
                .message
                .contains("a JSON object")
        );
    }
}
