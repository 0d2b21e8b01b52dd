//! The positioned YAML reader: scalar typing, positions, duplicates, and hostile input.

use super::*;

fn parse_ok(text: &str) -> Node {
    let mut map = super::super::source::SourceMap::default();
    let file = map.add("t.yaml".into(), "t.yaml".into(), text.into());
    let parsed = parse(file, text);
    assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
    parsed.root.unwrap()
}

fn parse_err(text: &str) -> Vec<Diagnostic> {
    let mut map = super::super::source::SourceMap::default();
    let file = map.add("t.yaml".into(), "t.yaml".into(), text.into());
    parse(file, text).diagnostics
}

#[test]
fn scalars_resolve_by_the_core_schema() {
    let root = parse_ok("a: 1\nb: true\nc: '1'\nd: ~\ne: 1.5\nf: yes\ng: 0x1f\nh: 1e3\ni: 1.2.3\n");
    let get = |k| root.get(k).unwrap().value.clone();
    assert_eq!(get("a"), Value::Int(1));
    assert_eq!(get("b"), Value::Bool(true));
    assert_eq!(get("c"), Value::Str("1".into()));
    assert_eq!(get("d"), Value::Null);
    assert_eq!(get("e"), Value::Float(1.5));
    assert_eq!(
        get("f"),
        Value::Str("yes".into()),
        "YAML 1.2: `yes` is a string"
    );
    assert_eq!(get("g"), Value::Int(31));
    assert_eq!(get("h"), Value::Float(1000.0));
    assert_eq!(get("i"), Value::Str("1.2.3".into()));
}

#[test]
fn positions_are_one_based_lines_and_columns() {
    let root = parse_ok("top:\n  name: Acme\n  list:\n    - x\n");
    let (key, value) = root.get("top").unwrap().entry("name").unwrap();
    assert_eq!((key.span.line, key.span.col), (2, 3));
    assert_eq!((value.span.line, value.span.col, value.span.len), (2, 9, 4));
    let item = &root
        .get("top")
        .unwrap()
        .get("list")
        .unwrap()
        .as_seq()
        .unwrap()[0];
    assert_eq!((item.span.line, item.span.col), (4, 7));
}

#[test]
fn every_duplicate_key_is_reported_with_the_first_line() {
    let diags = parse_err("a: 1\nb: 2\na: 3\nb: 4\n");
    assert_eq!(diags.len(), 2);
    assert_eq!(diags[0].message, "duplicate key `a`");
    assert_eq!(diags[0].span.line, 3);
    assert!(diags[0].hints[0].contains("line 1"));
    assert_eq!(diags[1].span.line, 4);
}

#[test]
fn duplicate_keys_of_large_mappings_are_reported_with_the_first_line_too() {
    // Past a handful of keys the lookup changes; duplicates are found on either side of it.
    let mut text: String = (0..40).map(|i| format!("k{i}: {i}\n")).collect();
    text.push_str("k3: again\nk35: again\nk3: thrice\n");
    let diags = parse_err(&text);
    let found: Vec<(&str, u32, bool)> = diags
        .iter()
        .map(|d| (d.message.as_str(), d.span.line, d.hints[0].contains("line")))
        .collect();
    assert_eq!(
        found,
        [
            ("duplicate key `k3`", 41, true),
            ("duplicate key `k35`", 42, true),
            ("duplicate key `k3`", 43, true),
        ]
    );
    assert!(
        diags[0].hints[0].contains("line 4;"),
        "{:?}",
        diags[0].hints
    );
    assert!(
        diags[1].hints[0].contains("line 36;"),
        "{:?}",
        diags[1].hints
    );
    assert!(
        diags[2].hints[0].contains("line 4;"),
        "{:?}",
        diags[2].hints
    );
}

#[test]
fn duplicate_keys_keep_the_first_value() {
    let mut map = super::super::source::SourceMap::default();
    let file = map.add("t.yaml".into(), "t.yaml".into(), String::new());
    let parsed = parse(file, "a: 1\na: 2\n");
    assert_eq!(parsed.root.unwrap().get("a").unwrap().value, Value::Int(1));
}

#[test]
fn aliases_expand_within_budget() {
    let root = parse_ok("base: &b [x, y]\ncopy: *b\n");
    assert_eq!(root.get("copy").unwrap().as_seq().unwrap().len(), 2);
}

#[test]
fn alias_bombs_are_refused() {
    let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x]\n");
    let mut prev = 'a';
    for name in ['b', 'c', 'd', 'e', 'f', 'g'] {
        let refs = vec![format!("*{prev}"); 9].join(", ");
        text.push_str(&format!("{name}: &{name} [{refs}]\n"));
        prev = name;
    }
    let diags = parse_err(&text);
    assert!(diags[0].message.contains("aliases expand"), "{diags:?}");
}

#[test]
fn deep_nesting_is_refused() {
    let text = format!("a: {}1{}\n", "[".repeat(100), "]".repeat(100));
    let diags = parse_err(&text);
    assert!(diags[0].message.contains("deeper than 64"), "{diags:?}");
}

#[test]
fn tabs_syntax_errors_tags_documents_and_empty_files() {
    let tab = parse_err("a:\n\tb: 1\n");
    assert!(tab[0].message.contains("tab"), "{tab:?}");
    assert_eq!(tab[0].span.line, 2);
    let syntax = parse_err("a: [1, 2\nb: 3\n");
    assert!(syntax[0].message.starts_with("invalid YAML"), "{syntax:?}");
    assert!(
        parse_err("a: !secret x\n")[0]
            .message
            .contains("tags are not supported")
    );
    assert!(
        parse_err("a: 1\n---\nb: 2\n")[0]
            .message
            .contains("more than one YAML document")
    );
    assert_eq!(parse_err("")[0].message, "file is empty");
    assert_eq!(parse_err("# only a comment\n")[0].message, "file is empty");
}

#[test]
fn complex_keys_are_refused() {
    let diags = parse_err("? [a, b]\n: 1\n");
    assert!(
        diags[0].message.contains("keys must be plain strings"),
        "{diags:?}"
    );
}

#[test]
fn a_tab_indented_line_is_reported_on_its_own_line() {
    // After a plain scalar the scanner looks ahead for a continuation line and reports the end of
    // the scalar; the error must name the line that holds the tab.
    let cases = [
        ("vars:\n  a: b\n\tc: d\n", 3, 1),
        (
            "tenants:\n  - id: acme\n    name: Acme\n\tdisabled: true\n",
            4,
            1,
        ),
        ("tenants:\n  - id: acme\n\t  name: Acme\n", 3, 1),
        ("vars:\n  a: b\n\n\tc: d\n", 4, 1),
        ("vars:\n  a: b\n  \tc: d\n", 3, 3),
        ("vars:\n  a: \"b\"\n\tc: d\n", 3, 1),
        ("a:\n\tb: 1\n", 2, 1),
    ];
    for (text, line, col) in cases {
        let diags = parse_err(text);
        assert!(diags[0].message.contains("tab"), "{text:?}: {diags:?}");
        assert_eq!(
            (diags[0].span.line, diags[0].span.col),
            (line, col),
            "{text:?}: {diags:?}"
        );
    }
}

#[test]
fn typed_data_read_in_place_is_what_the_json_conversion_gives() {
    use super::super::node_deserializer::NodeDeserializer;
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Item {
        name: String,
        count: Option<i64>,
        ratio: Option<f64>,
        tags: Option<Vec<String>>,
        extra: Option<serde_json::Value>,
        #[serde(default)]
        flag: bool,
        id: Option<Id>,
    }

    #[derive(Debug, PartialEq, Deserialize)]
    struct Id(String);

    let root = parse_ok(
        "items:\n  - name: a\n    count: 3\n    ratio: 0.5\n    tags: [x, y]\n    extra: {k: [1, null, true], n: .nan}\n    id: one\n  - name: b\n    count: null\n    ratio: .inf\n    flag: true\n",
    );
    let typed = |node: &Node| {
        <std::collections::BTreeMap<String, Vec<Item>>>::deserialize(NodeDeserializer(node))
            .map_err(|e| e.to_string())
    };
    let in_place = typed(&root).unwrap();
    let via_json: std::collections::BTreeMap<String, Vec<Item>> =
        serde_json::from_value(root.to_json()).unwrap();
    assert_eq!(in_place, via_json);
    assert_eq!(in_place["items"][0].id, Some(Id("one".into())));
    assert_eq!(
        in_place["items"][0].extra,
        Some(serde_json::json!({"k": [1, null, true], "n": null}))
    );
    // Unknown fields and wrong types are still errors.
    let unknown = parse_ok("items:\n  - name: a\n    nope: 1\n");
    assert!(typed(&unknown).unwrap_err().contains("nope"));
    let wrong = parse_ok("items:\n  - name: [a]\n");
    assert!(typed(&wrong).is_err());
}
