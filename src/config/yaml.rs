//! A YAML reader that keeps the position of every value.
//!
//! Built on `saphyr-parser`'s event stream rather than a serde deserializer, because validation
//! needs what serde throws away: the line of each key and value, every duplicate key (not only the
//! first), and control over aliases. It is hardened against hostile input: nesting is capped, alias
//! expansion has a node budget (no "billion laughs"), tags are refused, and one file is one document.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, Span as YSpan};

use super::source::{Diagnostic, FileId, Span};

/// Deeper nesting than this is refused (no real environment file comes close).
pub(crate) const MAX_DEPTH: usize = 64;
/// At most this many nodes may be created by expanding aliases in one file.
pub(crate) const MAX_ALIAS_NODES: usize = 10_000;

/// A YAML value with the place it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub(crate) value: Value,
    pub(crate) span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Key, Node)>),
}

/// A mapping key: always a string, with its own position.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Key {
    pub(crate) name: String,
    pub(crate) span: Span,
}

impl Node {
    pub(crate) fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn as_map(&self) -> Option<&[(Key, Node)]> {
        match &self.value {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    pub(crate) fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(items) => Some(items),
            _ => None,
        }
    }

    /// The value under `key` of a mapping.
    pub(crate) fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.name == key)
            .map(|(_, v)| v)
    }

    /// The entry (key and value) under `key` of a mapping.
    pub(crate) fn entry(&self, key: &str) -> Option<(&Key, &Node)> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.name == key)
            .map(|(k, v)| (k, v))
    }

    /// A short name of this value's type for messages: "a string", "a list", ...
    pub(crate) fn type_name(&self) -> &'static str {
        match &self.value {
            Value::Null => "nothing (null)",
            Value::Bool(_) => "a boolean",
            Value::Int(_) | Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    /// Number of nodes in this tree (itself included).
    fn size(&self) -> usize {
        1 + match &self.value {
            Value::Seq(items) => items.iter().map(Node::size).sum(),
            Value::Map(entries) => entries.iter().map(|(_, v)| v.size()).sum(),
            _ => 0,
        }
    }

    /// Converts to JSON, dropping positions.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Value::Str(s) => J::String(s.clone()),
            Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => J::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.name.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }
}

/// The outcome of reading one file: the tree (unless the file could not be read at all) and every
/// problem noticed on the way (duplicate keys do not stop reading).
#[derive(Debug)]
pub struct Parsed {
    pub root: Option<Node>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Parses `text` (the content of `file`) into a positioned tree.
pub fn parse(file: FileId, text: &str) -> Parsed {
    let mut builder = Builder {
        file,
        text,
        stack: Vec::new(),
        anchors: HashMap::new(),
        alias_nodes: 0,
        diagnostics: Vec::new(),
        root: None,
        documents: 0,
    };
    match builder.run() {
        Ok(()) => {}
        Err(diag) => {
            builder.diagnostics.push(diag);
            builder.root = None;
        }
    }
    let mut diagnostics = builder.diagnostics;
    let root = builder.root;
    if root.is_none() && diagnostics.iter().all(|d| !d.is_error()) {
        diagnostics.push(
            Diagnostic::error(Span::file_start(file), "file is empty").hint(
                "an environment file is a YAML mapping, starting with e.g. `project_id: P2...`",
            ),
        );
    }
    Parsed { root, diagnostics }
}

/// `text` parsed as the only file of a fresh source map, for the checks' unit tests.
#[cfg(test)]
pub(crate) fn parse_test_file(text: &str) -> Node {
    let mut map = super::source::SourceMap::default();
    let file = map.add("t.yaml".into(), "t.yaml".into(), text.into());
    parse(file, text).root.expect("the test YAML parses")
}

enum Frame {
    Seq {
        items: Vec<Node>,
        span: Span,
        anchor: usize,
    },
    /// `key` is the key waiting for its value; `skip` drops that value (its key was a duplicate).
    Map {
        entries: Vec<(Key, Node)>,
        key: Option<Key>,
        skip: bool,
        span: Span,
        anchor: usize,
        seen: HashMap<String, u32>,
    },
}

/// The line of the first `name` among a mapping's `entries` (each key once: a repeated key is
/// reported and not kept). Most mappings have a handful of keys, where a look through them costs
/// less than a hash map of them; `seen` indexes the keys of larger ones, filled as they grow.
fn first_line(entries: &[(Key, Node)], seen: &mut HashMap<String, u32>, name: &str) -> Option<u32> {
    const SCANNED: usize = 16;
    if entries.len() <= SCANNED {
        return entries
            .iter()
            .find(|(k, _)| k.name == name)
            .map(|(k, _)| k.span.line);
    }
    for (k, _) in &entries[seen.len()..] {
        seen.insert(k.name.clone(), k.span.line);
    }
    seen.get(name).copied()
}

struct Builder<'a> {
    file: FileId,
    text: &'a str,
    stack: Vec<Frame>,
    anchors: HashMap<usize, (Node, usize)>,
    alias_nodes: usize,
    diagnostics: Vec<Diagnostic>,
    root: Option<Node>,
    documents: usize,
}

impl Builder<'_> {
    fn run(&mut self) -> Result<(), Diagnostic> {
        let mut parser = Parser::new_from_str(self.text);
        while let Some(next) = parser.next_event() {
            let (event, yspan) = next.map_err(|e| self.scan_error(&e))?;
            let span = self.span(&yspan);
            match event {
                Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => {}
                Event::DocumentStart(_) => self.document_start(span)?,
                Event::Alias(id) => self.alias(id, span)?,
                Event::Scalar(text, style, anchor, tag) => {
                    if tag.is_some() {
                        return Err(self.tag_error(span));
                    }
                    self.scalar(&text, style, anchor, span)?;
                }
                Event::SequenceStart(anchor, tag) => {
                    if tag.is_some() {
                        return Err(self.tag_error(span));
                    }
                    self.open(
                        Frame::Seq {
                            items: Vec::new(),
                            span,
                            anchor,
                        },
                        span,
                    )?;
                }
                Event::MappingStart(anchor, tag) => {
                    if tag.is_some() {
                        return Err(self.tag_error(span));
                    }
                    self.open(
                        Frame::Map {
                            entries: Vec::new(),
                            key: None,
                            skip: false,
                            span,
                            anchor,
                            seen: HashMap::new(),
                        },
                        span,
                    )?;
                }
                Event::SequenceEnd | Event::MappingEnd => self.close()?,
            }
        }
        Ok(())
    }

    /// The start of a document: one per file.
    fn document_start(&mut self, span: Span) -> Result<(), Diagnostic> {
        self.documents += 1;
        if self.documents > 1 {
            return Err(
                Diagnostic::error(span, "more than one YAML document in this file")
                    .hint("keep one document per file; remove the extra `---`"),
            );
        }
        Ok(())
    }

    /// An alias: a copy of the anchored value, within the bound on what aliases expand to.
    fn alias(&mut self, id: usize, span: Span) -> Result<(), Diagnostic> {
        let Some((node, size)) = self.anchors.get(&id) else {
            return Err(Diagnostic::error(span, "alias refers to an unknown anchor"));
        };
        self.alias_nodes = self.alias_nodes.saturating_add(*size);
        if self.alias_nodes > MAX_ALIAS_NODES {
            return Err(Diagnostic::error(
                span,
                format!("YAML aliases expand to more than {MAX_ALIAS_NODES} nodes"),
            )
            .hint("this looks like an alias bomb; write the values out or use `include:`"));
        }
        let node = Node {
            value: node.value.clone(),
            span,
        };
        self.push_value(node)
    }

    /// A scalar: a mapping's key, or a value.
    fn scalar(
        &mut self,
        text: &str,
        style: ScalarStyle,
        anchor: usize,
        span: Span,
    ) -> Result<(), Diagnostic> {
        let len = text.chars().count().max(1);
        let span = Span {
            len: u32::try_from(len).unwrap_or(u32::MAX),
            ..span
        };
        if self.expects_key() {
            // A key is its text whatever it looks like (`1:`, `on:`, `null:`).
            self.push_key(text.to_owned(), span);
            return Ok(());
        }
        let node = Node {
            value: resolve_scalar(text, style),
            span,
        };
        self.remember(anchor, &node);
        self.push_value(node)
    }

    /// The end of the list or mapping on top of the stack: it becomes a value of its parent.
    fn close(&mut self) -> Result<(), Diagnostic> {
        // Each list and mapping is kept at its exact size: most hold one to five entries, where
        // growing them leaves room for four to eight (at 100,000 tenants, tens of megabytes of
        // the tree).
        let (value, span, anchor) = match self.stack.pop() {
            Some(Frame::Seq {
                mut items,
                span,
                anchor,
            }) => {
                items.shrink_to_fit();
                (Value::Seq(items), span, anchor)
            }
            Some(Frame::Map {
                mut entries,
                span,
                anchor,
                ..
            }) => {
                entries.shrink_to_fit();
                (Value::Map(entries), span, anchor)
            }
            None => return Ok(()),
        };
        let node = Node { value, span };
        self.remember(anchor, &node);
        self.push_value(node)
    }

    fn open(&mut self, frame: Frame, span: Span) -> Result<(), Diagnostic> {
        if self.expects_key() {
            return Err(
                Diagnostic::error(span, "mapping keys must be plain strings")
                    .hint("a key cannot be a list or a mapping"),
            );
        }
        if self.stack.len() >= MAX_DEPTH {
            return Err(Diagnostic::error(
                span,
                format!("YAML nesting is deeper than {MAX_DEPTH} levels"),
            ));
        }
        self.stack.push(frame);
        Ok(())
    }

    fn expects_key(&self) -> bool {
        matches!(self.stack.last(), Some(Frame::Map { key: None, .. }))
    }

    fn remember(&mut self, anchor: usize, node: &Node) {
        if anchor > 0 {
            self.anchors.insert(anchor, (node.clone(), node.size()));
        }
    }

    fn push_key(&mut self, name: String, span: Span) {
        if let Some(Frame::Map {
            entries,
            key,
            skip,
            seen,
            ..
        }) = self.stack.last_mut()
        {
            if let Some(first) = first_line(entries, seen, &name) {
                self.diagnostics.push(
                    Diagnostic::error(span, format!("duplicate key `{name}`")).hint(format!(
                        "`{name}` is first set at line {first}; keep one of them"
                    )),
                );
                *skip = true;
            }
            *key = Some(Key { name, span });
        }
    }

    fn push_value(&mut self, node: Node) -> Result<(), Diagnostic> {
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map {
                entries, key, skip, ..
            }) => match key.take() {
                // A repeated key keeps its first value; the duplicate is already reported.
                Some(_) if std::mem::take(skip) => {}
                Some(k) => entries.push((k, node)),
                None => {
                    return Err(Diagnostic::error(
                        node.span,
                        "mapping keys must be plain strings",
                    ));
                }
            },
        }
        Ok(())
    }

    fn span(&self, y: &YSpan) -> Span {
        Span::new(self.file, y.start.line(), y.start.col() + 1, 1)
    }

    fn tag_error(&self, span: Span) -> Diagnostic {
        Diagnostic::error(span, "YAML tags are not supported")
            .hint("remove the `!tag`; quote a value to make it a string")
    }

    fn scan_error(&self, e: &ScanError) -> Diagnostic {
        let mark = e.marker();
        let line = mark.line().max(1);
        let span = Span::new(self.file, line, mark.col() + 1, 1);
        let text_line = self.text.lines().nth(line - 1).unwrap_or("");
        let tab_indented = |l: &str| {
            l.chars()
                .take_while(|c| c.is_whitespace())
                .any(|c| c == '\t')
        };
        if tab_indented(text_line) || e.info().contains("tab") {
            // While scanning a plain scalar the scanner looks ahead for a continuation line and
            // reports the scalar's own position: the tab is on the first tab-indented line from
            // there on (blank lines may sit between).
            let (line, text_line) = self
                .text
                .lines()
                .enumerate()
                .skip(line - 1)
                .find(|(_, l)| tab_indented(l))
                .map_or((line, text_line), |(i, l)| (i + 1, l));
            let col = text_line
                .chars()
                .position(|c| c == '\t')
                .map_or(1, |c| c + 1);
            return Diagnostic::error(
                Span::new(self.file, line, col, 1),
                "tab characters are not allowed for indentation in YAML",
            )
            .hint("indent with spaces");
        }
        Diagnostic::error(span, format!("invalid YAML: {}", e.info()))
    }
}

/// Resolves a scalar to a typed value following the YAML 1.2 core schema. Quoted and block
/// scalars are always strings.
fn resolve_scalar(text: &str, style: ScalarStyle) -> Value {
    if style != ScalarStyle::Plain {
        return Value::Str(text.to_owned());
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" => return Value::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        _ => {}
    }
    if let Some(hex) = text.strip_prefix("0x")
        && let Ok(i) = i64::from_str_radix(hex, 16)
    {
        return Value::Int(i);
    }
    if let Some(oct) = text.strip_prefix("0o")
        && let Ok(i) = i64::from_str_radix(oct, 8)
    {
        return Value::Int(i);
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return match text.parse::<i64>() {
            Ok(i) => Value::Int(i),
            Err(_) => Value::Float(text.parse().unwrap_or(f64::NAN)),
        };
    }
    if looks_like_float(digits)
        && let Ok(f) = text.parse::<f64>()
    {
        return Value::Float(f);
    }
    Value::Str(text.to_owned())
}

/// `[0-9]*(\.[0-9]*)?([eE][-+]?[0-9]+)?` with at least one digit before any exponent.
fn looks_like_float(s: &str) -> bool {
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let mut parts = mantissa.splitn(2, '.');
    let int = parts.next().unwrap_or("");
    let frac = parts.next();
    let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = digits(int)
        && frac.is_none_or(digits)
        && (int.len() + frac.map_or(0, str::len)) > 0
        && (frac.is_some() || exponent.is_some());
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    mantissa_ok && exponent_ok
}

#[cfg(test)]
#[path = "yaml_tests.rs"]
mod tests;
