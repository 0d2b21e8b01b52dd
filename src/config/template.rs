//! Flow and theme templates: JSON exported from Descope, with `${...}` placeholders.
//!
//! A template is parsed as JSON first and placeholders are then filled inside its strings, so a
//! value holding a quote can never break the JSON. Problems point at the template file's own line.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use super::interpolate::{Problem, Scope, interpolate};
use super::source::{Diagnostic, FileId, SourceMap, Span};

/// What a template must contain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TemplateKind {
    /// A v1 flow export: `{"flow": {...}, "screens": [...]}`.
    Flow,
    /// A v1 theme export: `{"theme": {...}}`.
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
pub fn parse(sources: &SourceMap, file: FileId, kind: TemplateKind) -> Result<Json, Diagnostic> {
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
            if !obj.get("flow").is_some_and(Json::is_object)
                || !obj.get("screens").is_some_and(Json::is_array)
            {
                return Err(shape_error(
                    "a Descope flow export: an object with `flow` (an object) and `screens` (a list)",
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

/// Fills every placeholder in the strings (keys and values) of `json`. Each problem points at the
/// first place the placeholder is written in the template file.
pub fn fill(
    sources: &SourceMap,
    file: FileId,
    json: &Json,
    scope: &Scope<'_>,
    out: &mut Vec<Diagnostic>,
) -> Json {
    let mut problems = Vec::new();
    let filled = fill_value(json, scope, &mut problems);
    let text = sources.text(file);
    let mut reported = std::collections::BTreeSet::new();
    for (placeholder, problem) in problems {
        if !reported.insert(placeholder.clone()) {
            continue;
        }
        let span = locate(text, &placeholder).map_or(Span::file_start(file), |(line, col)| {
            Span::new(file, line, col, placeholder.chars().count())
        });
        out.push(Diagnostic::error(span, problem.message()).hint(problem.hint(scope.vars)));
    }
    filled
}

fn fill_value(json: &Json, scope: &Scope<'_>, problems: &mut Vec<(String, Problem)>) -> Json {
    match json {
        Json::String(s) => Json::String(fill_str(s, scope, problems)),
        Json::Array(items) => Json::Array(
            items
                .iter()
                .map(|v| fill_value(v, scope, problems))
                .collect(),
        ),
        Json::Object(map) => Json::Object(
            map.iter()
                .map(|(k, v)| (fill_str(k, scope, problems), fill_value(v, scope, problems)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn fill_str(s: &str, scope: &Scope<'_>, problems: &mut Vec<(String, Problem)>) -> String {
    match interpolate(s, scope) {
        Ok(v) => v,
        Err(ps) => {
            for p in ps {
                let at = p.offset();
                let end = s[at..].find('}').map_or(s.len(), |e| at + e + 1);
                problems.push((s[at..end].to_owned(), p));
            }
            s.to_owned()
        }
    }
}

/// Line and column (1-based) of the first occurrence of `needle` in `text`.
fn locate(text: &str, needle: &str) -> Option<(usize, usize)> {
    let at = text.find(needle)?;
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Some((line, col))
}

/// The variables a template sees: the environment's, overlaid by the flow's own.
pub fn scope_vars(
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

    #[test]
    fn placeholders_are_filled_inside_strings_without_breaking_json() {
        let (map, file) =
            source("{\"flow\": {\"url\": \"${var.u}/done\", \"${var.k}\": 1}, \"screens\": []}");
        let json = parse(&map, file, TemplateKind::Flow).unwrap();
        let vars: BTreeMap<_, _> = [
            ("u".to_owned(), "say \"hi\"".to_owned()),
            ("k".to_owned(), "key".to_owned()),
        ]
        .into();
        let mut out = Vec::new();
        let filled = fill(
            &map,
            file,
            &json,
            &Scope {
                vars: &vars,
                env: &no_env,
            },
            &mut out,
        );
        assert!(out.is_empty(), "{out:?}");
        assert_eq!(filled["flow"]["url"], "say \"hi\"/done");
        assert_eq!(filled["flow"]["key"], 1);
    }

    #[test]
    fn undefined_placeholders_point_at_the_template_line() {
        let (map, file) =
            source("{\n  \"flow\": {\n    \"a\": \"${var.missing}\"\n  },\n  \"screens\": []\n}\n");
        let json = parse(&map, file, TemplateKind::Flow).unwrap();
        let vars = BTreeMap::new();
        let mut out = Vec::new();
        fill(
            &map,
            file,
            &json,
            &Scope {
                vars: &vars,
                env: &no_env,
            },
            &mut out,
        );
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].message, "undefined variable `var.missing`");
        assert_eq!((out[0].span.line, out[0].span.col), (3, 11));
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
        let (map, file) = source("[]");
        assert!(
            parse(&map, file, TemplateKind::Theme)
                .unwrap_err()
                .message
                .contains("a JSON object")
        );
    }
}
