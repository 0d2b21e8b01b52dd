//! Writing configuration as canonical YAML: what `dmgmt import` generates.
//!
//! Canonical means one text per meaning: the caller orders keys (this module keeps the order it
//! is given), two-space indentation, block mappings, lists of mappings as block sequences, lists
//! of scalars in flow style (`[a, b]`), and a string quoted only when YAML needs it — when it
//! would otherwise read as something else (`yes`, `null`, `true`, `1.0`, `0x1f`), starts with an
//! indicator (`-`, `*`, `&`, `!`, `[`, `'`, `"`, `#`…), holds `: ` or ` #`, has edge spaces or
//! characters that need escapes. Quoted strings are JSON-escaped double-quoted scalars, which
//! YAML reads back exactly. Whether a plain scalar would read back as the same string is
//! confirmed by reading it with the same parser the loader uses, so what this writes is what the
//! loader reads.
//!
//! Pure text work: no files, no network.

use serde_json::Value;

use super::source::SourceMap;
use super::yaml::{self, Value as Yaml};

/// Where a scalar stands: flow collections forbid more characters in plain scalars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Context {
    Block,
    Flow,
    Key,
}

/// `value` (a JSON object) as a YAML document, keys in the object's order, ending with a newline.
/// `header` lines are written first as `# ` comments.
pub(crate) fn document(header: &[String], value: &Value) -> String {
    let mut out = String::new();
    for line in header {
        if line.is_empty() {
            out.push_str("#\n");
        } else {
            out.push_str(&format!("# {line}\n"));
        }
    }
    match value {
        Value::Object(map) if !map.is_empty() => mapping(&mut out, map, 0),
        other => {
            out.push_str(&inline(other, Context::Block));
            out.push('\n');
        }
    }
    out
}

fn indent(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

/// The entries of a block mapping at `level` spaces.
fn mapping(out: &mut String, map: &serde_json::Map<String, Value>, level: usize) {
    for (key, value) in map {
        indent(out, level);
        out.push_str(&scalar(key, Context::Key));
        out.push(':');
        after_key(out, value, level);
    }
}

/// What follows `key:` — an inline value on the same line, or a nested block.
fn after_key(out: &mut String, value: &Value, level: usize) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            out.push('\n');
            mapping(out, map, level + 2);
        }
        Value::Array(items) if items.iter().any(is_collection) => {
            out.push('\n');
            sequence(out, items, level + 2);
        }
        other => {
            out.push(' ');
            out.push_str(&inline(other, Context::Block));
            out.push('\n');
        }
    }
}

fn is_collection(v: &Value) -> bool {
    matches!(v, Value::Object(m) if !m.is_empty()) || matches!(v, Value::Array(a) if !a.is_empty())
}

/// A block sequence at `level` spaces (`- ` then the item; a mapping's first key on the dash line).
fn sequence(out: &mut String, items: &[Value], level: usize) {
    for item in items {
        indent(out, level);
        out.push_str("- ");
        match item {
            Value::Object(map) if !map.is_empty() => {
                let mut first = true;
                for (key, value) in map {
                    if !first {
                        indent(out, level + 2);
                    }
                    first = false;
                    out.push_str(&scalar(key, Context::Key));
                    out.push(':');
                    after_key(out, value, level + 2);
                }
            }
            Value::Array(inner) if inner.iter().any(is_collection) => {
                // A list inside a list: rare in configuration; written in flow style as JSON is.
                out.push_str(&json_flow(item));
                out.push('\n');
            }
            other => {
                out.push_str(&inline(other, Context::Block));
                out.push('\n');
            }
        }
    }
}

/// A scalar, an empty collection, or a list of scalars, on one line.
fn inline(value: &Value, context: Context) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => scalar(s, context),
        Value::Array(items) if items.iter().all(|i| !is_collection(i)) => {
            let parts: Vec<String> = items.iter().map(|i| inline(i, Context::Flow)).collect();
            format!("[{}]", parts.join(", "))
        }
        Value::Object(map) if map.is_empty() => "{}".to_owned(),
        other => json_flow(other),
    }
}

/// JSON is valid flow-style YAML.
fn json_flow(value: &Value) -> String {
    value.to_string()
}

/// `text` as a YAML scalar in `context`: plain when that reads back as the same string, else
/// double-quoted with JSON escapes.
fn scalar(text: &str, context: Context) -> String {
    if plain_ok(text, context) {
        text.to_owned()
    } else {
        Value::String(text.to_owned()).to_string()
    }
}

/// Words other YAML readers (YAML 1.1) take for booleans: quoted so that no tool reading the file
/// mistakes them, though dmgmt's own reader (YAML 1.2) keeps them as strings.
const YAML11_WORDS: [&str; 8] = ["y", "n", "yes", "no", "on", "off", "=", "<<"];

fn plain_ok(text: &str, context: Context) -> bool {
    let Some(first) = text.chars().next() else {
        return false;
    };
    if text.trim() != text
        || text
            .chars()
            .any(|c| c.is_control() || crate::model::text::is_unprintable(c))
        || "-?:,[]{}#&*!|>'\"%@`".contains(first)
        || text.contains(": ")
        || text.contains(" #")
        || text.ends_with(':')
        || YAML11_WORDS.contains(&text.to_ascii_lowercase().as_str())
    {
        return false;
    }
    if context != Context::Block && text.contains([',', '[', ']', '{', '}']) {
        return false;
    }
    reads_back(text, context)
}

/// Whether the plain scalar `text` reads back as the string `text` where it would be written.
fn reads_back(text: &str, context: Context) -> bool {
    let doc = match context {
        Context::Block => format!("k: {text}\n"),
        Context::Flow => format!("k: [{text}]\n"),
        Context::Key => format!("{text}: 1\n"),
    };
    let file = SourceMap::default().add("emit.yaml".into(), "emit.yaml".into(), String::new());
    let parsed = yaml::parse(file, &doc);
    if !parsed.diagnostics.is_empty() {
        return false;
    }
    let Some(root) = parsed.root else {
        return false;
    };
    let read = match context {
        Context::Block => root.get("k").map(|n| n.value.clone()),
        Context::Flow => root
            .get("k")
            .and_then(|n| n.as_seq())
            .and_then(|items| match items {
                [one] => Some(one.value.clone()),
                _ => None,
            }),
        Context::Key => root.as_map().and_then(|entries| match entries {
            [(key, _)] => Some(Yaml::Str(key.name.clone())),
            _ => None,
        }),
    };
    read == Some(Yaml::Str(text.to_owned()))
}

/// `text` with every `${` written `$${`, so the loader's interpolation gives `text` back.
pub(crate) fn escape_placeholders(text: &str) -> String {
    text.replace("${", "$${")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(text: &str) -> Value {
        let file = SourceMap::default().add("t.yaml".into(), "t.yaml".into(), String::new());
        let parsed = yaml::parse(file, text);
        assert!(
            parsed.diagnostics.is_empty(),
            "{text}\n{:?}",
            parsed.diagnostics
        );
        parsed.root.unwrap().to_json()
    }

    #[test]
    fn strings_are_quoted_only_when_yaml_needs_it() {
        let cases = [
            ("Acme Corp", "Acme Corp"),
            ("billing.read", "billing.read"),
            ("https://a.example.com/x", "https://a.example.com/x"),
            ("yes", "\"yes\""),
            ("No", "\"No\""),
            ("null", "\"null\""),
            ("~", "\"~\""),
            ("true", "\"true\""),
            ("500", "\"500\""),
            ("1.5", "\"1.5\""),
            ("1e3", "\"1e3\""),
            ("0x1f", "\"0x1f\""),
            ("", "\"\""),
            (" lead", "\" lead\""),
            ("a: b", "\"a: b\""),
            ("a #b", "\"a #b\""),
            ("#tag", "\"#tag\""),
            ("- x", "\"- x\""),
            ("*star", "\"*star\""),
            ("@home", "\"@home\""),
            ("line\nbreak", "\"line\\nbreak\""),
            ("say \"hi\"", "say \"hi\""),
            ("it's", "it's"),
            ("${var.x}", "${var.x}"),
            ("a,b", "a,b"),
        ];
        for (text, want) in cases {
            assert_eq!(scalar(text, Context::Block), want, "{text:?}");
            let doc = format!("k: {}\n", scalar(text, Context::Block));
            assert_eq!(read(&doc)["k"], json!(text), "{doc}");
        }
        assert_eq!(scalar("a,b", Context::Flow), "\"a,b\"");
        assert_eq!(scalar("x]", Context::Flow), "\"x]\"");
    }

    #[test]
    fn documents_read_back_as_the_value_they_were_written_from() {
        let value = json!({
            "permissions": [{"name": "billing.read", "description": "Read: invoices"}],
            "roles": [{"name": "Auditor", "tenant": "acme", "permissions": ["a b", "yes", "x,y"]}],
            "tenants": [{
                "id": "acme",
                "name": "Acme",
                "custom_attributes": {"plan": "pro", "seats": 500, "ratio": 0.5, "on": true, "tags": ["a", "b"], "empty": []},
                "enforce_sso": true,
            }],
            "theme": {"template": "flows/theme.json"},
        });
        let text = document(&["generated".into(), "".into()], &value);
        assert!(text.starts_with("# generated\n#\npermissions:\n  - name: billing.read\n    description: \"Read: invoices\"\n"), "{text}");
        assert!(
            text.contains("    permissions: [a b, \"yes\", \"x,y\"]\n"),
            "{text}"
        );
        assert!(text.contains("    custom_attributes:\n      plan: pro\n      seats: 500\n      ratio: 0.5\n      \"on\": true\n      tags: [a, b]\n      empty: []\n"), "{text}");
        assert_eq!(read(&text), value);
        // Canonical: writing what was read gives the same bytes.
        assert_eq!(
            document(&["generated".into(), "".into()], &read(&text)),
            text
        );
    }

    #[test]
    fn placeholders_are_escaped_so_interpolation_gives_the_text_back() {
        assert_eq!(escape_placeholders("a ${b} $x $${c}"), "a $${b} $x $$${c}");
    }
}
