//! Adding one path to an environment file's `include:` with the smallest textual edit, so the
//! file keeps its comments, order and layout (used by `dmgmt import`).
//!
//! - `include: [a.yaml]` (flow style): `, PATH` is inserted before the closing `]`;
//! - a block list: a new `- PATH` line is inserted after its last item, indented alike;
//! - no `include:`: `include:` and `  - PATH` are inserted after the environment's identity keys
//!   (`project_id`, `management_key`, `base_url`, `emulator`, `protected`), after a blank line.
//!
//! The edit is then checked: the new text must read back as the old tree plus the path, and
//! nothing else changed; anything this cannot do safely is refused with the reason.
//!
//! Pure text work: no files.

use serde_json::Value;

use super::emit;
use super::source::SourceMap;
use super::yaml::{self, Node};

/// Keys that hold the environment's identity, conventionally at the top of its file.
const IDENTITY_KEYS: [&str; 5] = [
    "project_id",
    "management_key",
    "base_url",
    "emulator",
    "protected",
];

/// What became of the request.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum IncludeEdit {
    /// The file already includes `path`.
    AlreadyIncluded,
    /// The edited text.
    Edited(String),
}

/// `text` (an environment file) with `path` added to its `include:` list.
pub(crate) fn add_include(text: &str, path: &str) -> Result<IncludeEdit, String> {
    let root = read(text).ok_or("the file is not valid YAML")?;
    if root.as_map().is_none() {
        return Err("the file is not a YAML mapping".into());
    }
    let item = emit_item(path);
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let edited = match root.entry("include") {
        Some((_, value)) => {
            let items = value
                .as_seq()
                .ok_or("its `include:` is not a list; add the path by hand")?;
            if items.iter().any(|i| i.as_str() == Some(path)) {
                return Ok(IncludeEdit::AlreadyIncluded);
            }
            let (line, col) = (value.span.line as usize, value.span.col as usize);
            let at = lines
                .get(line - 1)
                .ok_or("cannot find its `include:` list")?;
            if char_at(at, col) == Some('[') {
                insert_in_flow(&lines, line, col, &item, items.is_empty())?
            } else {
                let last = items.last().ok_or("its `include:` list is empty")?;
                insert_after_item(&lines, last, &item)?
            }
        }
        None => insert_new_key(&lines, &root, &item),
    };
    check(text, &edited, path)?;
    Ok(IncludeEdit::Edited(edited))
}

fn read(text: &str) -> Option<Node> {
    let file = SourceMap::default().add("env.yaml".into(), "env.yaml".into(), String::new());
    let parsed = yaml::parse(file, text);
    if parsed.diagnostics.iter().any(|d| d.is_error()) {
        return None;
    }
    parsed.root
}

/// The path as a list item of a flow list (the stricter context, valid in a block list too).
fn emit_item(path: &str) -> String {
    let doc = emit::document(&[], &serde_json::json!({ "k": [path] }));
    doc.trim_end()
        .strip_prefix("k: [")
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or(path)
        .to_owned()
}

fn char_at(line: &str, col: usize) -> Option<char> {
    line.chars().nth(col.checked_sub(1)?)
}

/// Byte offset of character column `col` (1-based) in `line`.
fn byte_at(line: &str, col: usize) -> usize {
    line.char_indices()
        .nth(col.saturating_sub(1))
        .map_or(line.len(), |(i, _)| i)
}

fn insert_in_flow(
    lines: &[&str],
    line: usize,
    col: usize,
    item: &str,
    empty: bool,
) -> Result<String, String> {
    // The first `]` after the `[`: include paths hold no brackets, and a quoted one is refused
    // by the check afterwards.
    let head: String = lines[..line - 1].concat();
    let rest: String = lines[line - 1..].concat();
    let open = byte_at(lines[line - 1], col);
    let close = rest[open..]
        .find(']')
        .map(|i| open + i)
        .ok_or("its `include:` list has no closing `]`")?;
    let before = rest[..close].trim_end_matches([' ', '\n']);
    let sep = if empty { "" } else { ", " };
    Ok(format!(
        "{head}{before}{sep}{item}{}",
        &rest[before.len()..]
    ))
}

fn insert_after_item(lines: &[&str], last: &Node, item: &str) -> Result<String, String> {
    let line = last.span.line as usize;
    let text = lines.get(line - 1).ok_or("cannot find the last include")?;
    // Everything before the item itself: its indentation and `- `.
    let prefix = &text[..byte_at(text, last.span.col as usize)];
    if prefix.trim() != "-" {
        return Err(
            "its `include:` list is not written one `- PATH` per line; add the path by hand".into(),
        );
    }
    let mut out: String = lines[..line].concat();
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&format!("{prefix}{item}\n"));
    out.push_str(&lines[line..].concat());
    Ok(out)
}

fn insert_new_key(lines: &[&str], root: &Node, item: &str) -> String {
    let after = root
        .as_map()
        .into_iter()
        .flatten()
        .filter(|(k, _)| IDENTITY_KEYS.contains(&k.name.as_str()))
        .map(|(_, v)| v.span.line as usize)
        .max();
    let block = format!("include:\n  - {item}\n");
    match after {
        Some(line) if line <= lines.len() => {
            let mut out: String = lines[..line].concat();
            if !out.ends_with('\n') {
                out.push('\n');
            }
            out.push('\n');
            out.push_str(&block);
            let rest = lines[line..].concat();
            if !rest.is_empty() && !rest.starts_with('\n') {
                out.push('\n');
            }
            out.push_str(&rest);
            out
        }
        _ => {
            let mut out = lines.concat();
            if !out.is_empty() && !out.ends_with('\n') {
                out.push('\n');
            }
            out.push('\n');
            out.push_str(&block);
            out
        }
    }
}

/// The edited text must mean the old text with `path` appended to `include`, nothing else.
fn check(old: &str, new: &str, path: &str) -> Result<(), String> {
    let refused = || {
        "editing its `include:` would change more than the list; add the path by hand".to_owned()
    };
    let before = read(old).ok_or_else(refused)?.to_json();
    let after = read(new).ok_or_else(refused)?.to_json();
    let mut expected = before;
    let map = expected.as_object_mut().ok_or_else(refused)?;
    match map.get_mut("include") {
        Some(Value::Array(items)) => items.push(Value::String(path.into())),
        Some(_) => return Err(refused()),
        None => {
            map.insert(
                "include".into(),
                Value::Array(vec![Value::String(path.into())]),
            );
        }
    }
    let sorted = |v: &Value| crate::model::attrs::canonical(v);
    if sorted(&expected) == sorted(&after) {
        Ok(())
    } else {
        Err(refused())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATH: &str = "shared/dev-imported.yaml";

    fn edited(text: &str) -> String {
        match add_include(text, PATH).unwrap() {
            IncludeEdit::Edited(t) => t,
            IncludeEdit::AlreadyIncluded => panic!("already included"),
        }
    }

    #[test]
    fn a_block_list_gets_one_more_line_indented_alike() {
        let text = "# Dev\nproject_id: P2x  # id\n\ninclude:\n    - shared/common.yaml   # base\n\n# roles\nroles: []\n";
        assert_eq!(
            edited(text),
            "# Dev\nproject_id: P2x  # id\n\ninclude:\n    - shared/common.yaml   # base\n    - shared/dev-imported.yaml\n\n# roles\nroles: []\n"
        );
    }

    #[test]
    fn a_flow_list_gets_the_path_before_its_bracket() {
        assert_eq!(
            edited("project_id: P2x\ninclude: [shared/common.yaml]  # base\n"),
            "project_id: P2x\ninclude: [shared/common.yaml, shared/dev-imported.yaml]  # base\n"
        );
        assert_eq!(
            edited("project_id: P2x\ninclude: []\n"),
            "project_id: P2x\ninclude: [shared/dev-imported.yaml]\n"
        );
    }

    #[test]
    fn without_include_the_key_goes_after_the_identity_keys() {
        assert_eq!(
            edited("# Local\nproject_id: P2x\nemulator: true\n# perms\npermissions: []\n"),
            "# Local\nproject_id: P2x\nemulator: true\n\ninclude:\n  - shared/dev-imported.yaml\n\n# perms\npermissions: []\n"
        );
        assert_eq!(
            edited("project_id: P2x"),
            "project_id: P2x\n\ninclude:\n  - shared/dev-imported.yaml\n"
        );
    }

    #[test]
    fn an_included_path_is_left_alone_and_odd_layouts_are_refused() {
        assert_eq!(
            add_include(
                "project_id: P2x\ninclude: [shared/dev-imported.yaml]\n",
                PATH
            ),
            Ok(IncludeEdit::AlreadyIncluded)
        );
        assert!(add_include("project_id: P2x\ninclude: shared/a.yaml\n", PATH).is_err());
        assert!(add_include("- a\n", PATH).is_err());
    }
}
