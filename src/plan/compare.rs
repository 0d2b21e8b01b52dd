//! Comparing two environments resource by resource (`dmgmt diff`): what only one of them has,
//! and, for what both have, each field that differs — custom attributes key by key, flow and
//! theme documents leaf by leaf.
//!
//! A side may carry its attributes as the configuration writes them, placeholders unrendered
//! (see `config::load_unrendered`): a field whose rendered values differ while its written text
//! is the same differs only by what a per-environment variable renders to, and says so with that
//! text (`redirect_url: ${var.app_url}/done`).
//!
//! Pure: attributes in, a [`Comparison`] out; no I/O, no rendering.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::{Map, Value};

use crate::model::ResourceAddr;

/// One environment's objects, as attributes in config terms.
pub(crate) struct Side {
    pub(crate) objects: BTreeMap<ResourceAddr, Value>,
    /// The same objects with placeholders as written, by the rendered address (desired state
    /// only; `None` for live projects).
    pub(crate) unrendered: Option<BTreeMap<ResourceAddr, Value>>,
}

/// Where an object is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Presence {
    OnlyInA,
    OnlyInB,
    Differs,
}

/// One field (or document leaf) that differs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct FieldDiff {
    /// `name`, `custom_attributes.plan`, or a document path: `screens[welcome].title`.
    pub(crate) field: String,
    /// `None`: not set on that side.
    pub(crate) a: Option<Value>,
    pub(crate) b: Option<Value>,
    /// The text both environments write, when only its rendering differs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) template: Option<String>,
}

/// One object that is not the same on both sides.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Difference {
    pub(crate) addr: ResourceAddr,
    pub(crate) presence: Presence,
    /// Fields that differ, documents excepted (their differences are in `document_leaves`).
    pub(crate) fields: Vec<FieldDiff>,
    /// For flows and the theme: the leaves of the document that differ only by a variable.
    pub(crate) document_leaves: Vec<FieldDiff>,
    /// For flows and the theme: the documents differ beyond what variables render to (or their
    /// written text is not known).
    pub(crate) document_changed: bool,
    /// For flows and the theme: the documents (rendered; unrendered when known, so that a
    /// summary shows only what the templates change). Not serialised: summarised instead.
    #[serde(skip)]
    pub(crate) documents: Option<(Option<Value>, Option<Value>)>,
    /// The attributes of an object on one side only (documents left out).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) attributes: Option<Value>,
}

impl Difference {
    /// Whether every difference is only what a variable renders to.
    pub(crate) fn only_variables(&self) -> bool {
        self.presence == Presence::Differs
            && !self.document_changed
            && self
                .fields
                .iter()
                .chain(&self.document_leaves)
                .all(|f| f.template.is_some())
    }
}

/// What differs between two sides.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Comparison {
    pub(crate) differences: Vec<Difference>,
    /// Objects equal on both sides.
    pub(crate) identical: usize,
}

impl Comparison {
    pub(crate) fn count(&self, presence: Presence) -> usize {
        self.differences
            .iter()
            .filter(|d| d.presence == presence)
            .count()
    }
}

/// Fields compared key by key.
const KEYED: [&str; 1] = ["custom_attributes"];

/// Compares `a` with `b`, in address order.
pub(crate) fn compare(a: &Side, b: &Side) -> Comparison {
    let addrs: BTreeSet<&ResourceAddr> = a.objects.keys().chain(b.objects.keys()).collect();
    let mut differences = Vec::new();
    let mut identical = 0;
    for addr in addrs {
        let (x, y) = (a.objects.get(addr), b.objects.get(addr));
        let (ux, uy) = (unrendered(a, addr), unrendered(b, addr));
        let difference = match (x, y) {
            (Some(x), None) => one_side(addr, Presence::OnlyInA, x, ux),
            (None, Some(y)) => one_side(addr, Presence::OnlyInB, y, uy),
            (Some(x), Some(y)) if x == y => {
                identical += 1;
                continue;
            }
            (Some(x), Some(y)) => both(addr, x, y, ux, uy),
            (None, None) => continue,
        };
        differences.push(difference);
    }
    Comparison {
        differences,
        identical,
    }
}

fn unrendered<'a>(side: &'a Side, addr: &ResourceAddr) -> Option<&'a Value> {
    side.unrendered.as_ref().and_then(|u| u.get(addr))
}

/// `v.name` (and `.key`).
fn at<'a>(v: Option<&'a Value>, name: &str, key: Option<&str>) -> Option<&'a Value> {
    let field = v?.get(name)?;
    match key {
        Some(k) => field.get(k),
        None => Some(field),
    }
}

fn without_document(attrs: &Value) -> Value {
    let mut attrs = attrs.clone();
    if let Some(m) = attrs.as_object_mut() {
        m.remove("document");
    }
    attrs
}

fn one_side(
    addr: &ResourceAddr,
    presence: Presence,
    attrs: &Value,
    raw: Option<&Value>,
) -> Difference {
    let document = attrs.get("document").cloned();
    let raw_document = raw.and_then(|r| r.get("document")).cloned();
    let documents = document.map(|d| {
        let d = Some(raw_document.unwrap_or(d));
        match presence {
            Presence::OnlyInA => (d, None),
            _ => (None, d),
        }
    });
    Difference {
        addr: addr.clone(),
        presence,
        fields: Vec::new(),
        document_leaves: Vec::new(),
        document_changed: false,
        documents,
        attributes: Some(without_document(attrs)),
    }
}

fn both(
    addr: &ResourceAddr,
    x: &Value,
    y: &Value,
    ux: Option<&Value>,
    uy: Option<&Value>,
) -> Difference {
    let empty = Map::new();
    let xm = x.as_object().unwrap_or(&empty);
    let ym = y.as_object().unwrap_or(&empty);
    let mut fields = Vec::new();
    let mut names: Vec<&String> = xm
        .keys()
        .chain(ym.keys())
        .filter(|k| *k != "document")
        .collect();
    names.sort();
    names.dedup();
    for name in names {
        let (fx, fy) = (xm.get(name), ym.get(name));
        if KEYED.contains(&name.as_str())
            && fx.is_none_or(Value::is_object)
            && fy.is_none_or(Value::is_object)
        {
            let keys: BTreeSet<&String> = fx
                .and_then(Value::as_object)
                .into_iter()
                .chain(fy.and_then(Value::as_object))
                .flat_map(|m| m.keys())
                .collect();
            for key in keys {
                let k = Some(key.as_str());
                let (vx, vy) = (at(Some(x), name, k), at(Some(y), name, k));
                if vx != vy {
                    fields.push(field_diff(
                        format!("{name}.{key}"),
                        vx,
                        vy,
                        at(ux, name, k),
                        at(uy, name, k),
                    ));
                }
            }
        } else if fx != fy {
            fields.push(field_diff(
                name.clone(),
                fx,
                fy,
                at(ux, name, None),
                at(uy, name, None),
            ));
        }
    }
    let mut document_leaves = Vec::new();
    let mut documents = None;
    let mut document_changed = false;
    let (dx, dy) = (x.get("document"), y.get("document"));
    if dx != dy {
        let (rx, ry) = (
            ux.and_then(|u| u.get("document")),
            uy.and_then(|u| u.get("document")),
        );
        document_changed = rx.is_none() || ry.is_none() || rx != ry;
        if let (Some(dx), Some(dy)) = (dx, dy) {
            leaves(dx, dy, rx, ry, "", &mut document_leaves);
        }
        documents = Some((rx.or(dx).cloned(), ry.or(dy).cloned()));
    }
    Difference {
        addr: addr.clone(),
        presence: Presence::Differs,
        fields,
        document_leaves,
        document_changed,
        documents,
        attributes: None,
    }
}

fn field_diff(
    field: String,
    a: Option<&Value>,
    b: Option<&Value>,
    ua: Option<&Value>,
    ub: Option<&Value>,
) -> FieldDiff {
    let template = match (ua, ub) {
        (Some(ua), Some(ub)) if ua == ub && written_with_variable(ua) => Some(text_of(ua)),
        _ => None,
    };
    FieldDiff {
        field,
        a: a.cloned(),
        b: b.cloned(),
        template,
    }
}

/// Whether a written value holds a placeholder (anything else that is written alike renders
/// alike).
fn written_with_variable(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains("${"),
        Value::Array(items) => items.iter().any(written_with_variable),
        Value::Object(m) => m.values().any(written_with_variable),
        _ => false,
    }
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The leaves of two documents that differ only by what a variable renders to (where the
/// unrendered documents are known and agree there), as document paths.
fn leaves(
    x: &Value,
    y: &Value,
    rx: Option<&Value>,
    ry: Option<&Value>,
    path: &str,
    out: &mut Vec<FieldDiff>,
) {
    if x == y {
        return;
    }
    match (x, y) {
        (Value::Object(mx), Value::Object(my)) => {
            for (key, vx) in mx {
                if let Some(vy) = my.get(key) {
                    let child = if path.is_empty() {
                        key.clone()
                    } else {
                        format!("{path}.{key}")
                    };
                    leaves(
                        vx,
                        vy,
                        rx.and_then(|r| r.get(key)),
                        ry.and_then(|r| r.get(key)),
                        &child,
                        out,
                    );
                }
            }
        }
        (Value::Array(ax), Value::Array(ay)) if ax.len() == ay.len() => {
            for (i, (vx, vy)) in ax.iter().zip(ay).enumerate() {
                let label = match (
                    vx.get("id").and_then(Value::as_str),
                    vy.get("id").and_then(Value::as_str),
                ) {
                    (Some(a), Some(b)) if a == b => a.to_owned(),
                    _ => i.to_string(),
                };
                let (ix, iy) = (rx.and_then(|r| r.get(i)), ry.and_then(|r| r.get(i)));
                leaves(vx, vy, ix, iy, &format!("{path}[{label}]"), out);
            }
        }
        _ => {
            if let (Some(rx), Some(ry)) = (rx, ry)
                && rx == ry
                && written_with_variable(rx)
            {
                out.push(FieldDiff {
                    field: path.to_owned(),
                    a: Some(x.clone()),
                    b: Some(y.clone()),
                    template: Some(text_of(rx)),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn side(objects: &[(&str, Value)], unrendered: Option<&[(&str, Value)]>) -> Side {
        let map = |list: &[(&str, Value)]| {
            list.iter()
                .map(|(a, v)| (a.parse().unwrap(), v.clone()))
                .collect()
        };
        Side {
            objects: map(objects),
            unrendered: unrendered.map(map),
        }
    }

    #[test]
    fn objects_on_one_side_fields_and_attribute_keys_are_each_reported() {
        let a = side(
            &[
                ("permission.p", json!({"name": "p"})),
                (
                    "tenant.t",
                    json!({"id": "t", "name": "T", "custom_attributes": {"plan": "pro", "seats": 5}}),
                ),
                ("role.Same", json!({"name": "Same"})),
            ],
            None,
        );
        let b = side(
            &[
                ("permission.q", json!({"name": "q"})),
                (
                    "tenant.t",
                    json!({"id": "t", "name": "T", "custom_attributes": {"plan": "pro", "seats": 6}, "enforce_sso": true}),
                ),
                ("role.Same", json!({"name": "Same"})),
            ],
            None,
        );
        let c = compare(&a, &b);
        assert_eq!(c.identical, 1);
        let summary: Vec<(String, Presence)> = c
            .differences
            .iter()
            .map(|d| (d.addr.to_string(), d.presence))
            .collect();
        assert_eq!(
            summary,
            [
                ("permission.p".to_owned(), Presence::OnlyInA),
                ("permission.q".to_owned(), Presence::OnlyInB),
                ("tenant.t".to_owned(), Presence::Differs)
            ]
        );
        let fields: Vec<&str> = c.differences[2]
            .fields
            .iter()
            .map(|f| f.field.as_str())
            .collect();
        assert_eq!(fields, ["custom_attributes.seats", "enforce_sso"]);
    }

    #[test]
    fn a_difference_written_alike_is_only_a_variable() {
        let a = side(
            &[(
                "flow.f",
                json!({"document": {"flow": {"url": "https://dev/done", "n": 1}}}),
            )],
            Some(&[(
                "flow.f",
                json!({"document": {"flow": {"url": "${var.app_url}/done", "n": 1}}}),
            )]),
        );
        let b = side(
            &[(
                "flow.f",
                json!({"document": {"flow": {"url": "https://stg/done", "n": 1}}}),
            )],
            Some(&[(
                "flow.f",
                json!({"document": {"flow": {"url": "${var.app_url}/done", "n": 1}}}),
            )]),
        );
        let c = compare(&a, &b);
        let d = &c.differences[0];
        assert!(d.only_variables());
        assert_eq!(d.document_leaves[0].field, "flow.url");
        assert_eq!(
            d.document_leaves[0].template.as_deref(),
            Some("${var.app_url}/done")
        );
        // Without the written text (live projects), nothing is put down to a variable.
        let c = compare(
            &Side {
                unrendered: None,
                ..a
            },
            &Side {
                unrendered: None,
                ..b
            },
        );
        assert!(c.differences[0].document_leaves.is_empty());
        assert!(!c.differences[0].only_variables());
    }
}
