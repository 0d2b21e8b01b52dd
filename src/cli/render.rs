//! Terraform-shaped text for plans and drift. Pure: plan in, string out (colour through
//! `console`, off in tests), so renderings can be compared byte for byte.

use std::collections::{BTreeMap, BTreeSet};

use console::Style;
use serde_json::Value;
use similar::TextDiff;

use super::doc_summary;
use crate::model::text::printable;
use crate::model::{Flow, ResourceAddr, ResourceKind, attrs};
use crate::ops::SavedPlan;
use crate::plan::{Action, AttrDiff, Change, Drift, DriftKind, Guard, Plan};

/// How much of a flow's unified diff to show unless `--full-diff`.
const DIFF_LINES: usize = 40;
/// How many unmanaged objects to name before summarising.
const UNMANAGED_SHOWN: usize = 10;

pub(crate) struct RenderOptions<'a> {
    pub(crate) full_diff: bool,
    /// The declared flows: each one's references (`Flow::refs`) are named in its summary.
    pub(crate) flows: &'a [Flow],
}

/// The whole human-readable plan.
pub(crate) fn plan(saved: &SavedPlan, opts: &RenderOptions<'_>) -> String {
    let p = &saved.plan;
    let mut out = String::new();
    if let Some(v) = &saved.vanished {
        out.push_str(&vanished(v, saved));
    }
    if !p.drift.is_empty() {
        out.push_str("Objects have changed outside of dmgmt since the last state:\n\n");
        for d in &p.drift {
            out.push_str(&drift(d, opts.full_diff));
        }
    }
    if saved.refresh_only {
        out.push_str(&refresh_only_footer(saved));
        return out;
    }
    if p.changes.is_empty() {
        out.push_str(&format!(
            "{} The live project of `{}` matches the configuration.\n",
            Style::new().green().bold().apply_to("No changes."),
            saved.environment
        ));
    } else {
        out.push_str(&format!(
            "dmgmt will perform the following actions on `{}` (project {}):\n\n",
            saved.environment, saved.project_id
        ));
        for c in &p.changes {
            out.push_str(&change(c, opts));
        }
    }
    out.push_str(&unmanaged(&p.unmanaged, &cascaded(p)));
    if !p.changes.is_empty() {
        out.push_str(&summary_line(p));
    }
    out
}

/// The loud warning of a plan whose project came back (mostly) empty.
fn vanished(v: &crate::ops::Vanished, saved: &SavedPlan) -> String {
    let head = if v.gone == v.managed {
        format!(
            "Warning: all {} objects dmgmt manages in `{}` are gone from project {}.",
            v.managed, saved.environment, saved.project_id
        )
    } else {
        format!(
            "Warning: {} of the {} objects dmgmt manages in `{}` are gone from project {}.",
            v.gone, v.managed, saved.environment, saved.project_id
        )
    };
    format!(
        "{}\n  Is `project_id` or `base_url` wrong, or was the project wiped? An apply creates\n  them again: check before applying.\n\n",
        Style::new().yellow().bold().apply_to(head)
    )
}

fn refresh_only_footer(saved: &SavedPlan) -> String {
    if saved.state.is_none() {
        // Without a state there is no "last state" to have drifted from.
        format!(
            "No state yet for `{env}`: nothing to compare drift against; run `dmgmt refresh -e {env}` or apply first.\n",
            env = saved.environment
        )
    } else if saved.plan.drift.is_empty() {
        format!(
            "No drift: the live project of `{}` matches the last state.\n",
            saved.environment
        )
    } else {
        format!(
            "This is a refresh-only plan: nothing will change in Descope. Record the drift with `dmgmt refresh -e {}`.\n",
            saved.environment
        )
    }
}

/// `Plan: 1 to add, 2 to change, 0 to destroy.` (with adoptions and forgets when there are any).
fn summary_line(p: &Plan) -> String {
    let s = &p.summary;
    let mut parts = Vec::new();
    if s.adopt > 0 {
        parts.push(format!("{} to adopt", s.adopt));
    }
    parts.push(format!("{} to add", s.add));
    parts.push(format!("{} to change", s.change));
    parts.push(format!("{} to destroy", s.destroy));
    if s.forget > 0 {
        parts.push(format!("{} to forget", s.forget));
    }
    format!(
        "{} {}.\n",
        Style::new().bold().apply_to("Plan:"),
        parts.join(", ")
    )
}

pub(super) fn style_for(symbol: &str) -> Style {
    match symbol {
        "+" => Style::new().green(),
        "-" => Style::new().red(),
        "~" => Style::new().yellow(),
        _ => Style::new().cyan(),
    }
}

/// `tenant "acme"`, `role "acme/Auditor"`, `theme`: the address's name part as a string, so a
/// quoted one keeps its quotes (the project role `acme/Admin` is `role "\"acme/Admin\""`).
pub(super) fn block_name(addr: &ResourceAddr) -> String {
    let text = shown(addr);
    match text.split_once('.') {
        Some((kind, name)) if name.starts_with('"') => {
            format!(
                "{kind} \"{}\"",
                name.replace('\\', "\\\\").replace('"', "\\\"")
            )
        }
        Some((kind, name)) => format!("{kind} \"{name}\""),
        None => text,
    }
}

/// An address as printed: names from Descope may hold control characters (see `printable`).
fn shown(addr: &ResourceAddr) -> String {
    printable(&addr.to_string()).into_owned()
}

fn headline(c: &Change) -> String {
    let addr = shown(&c.addr);
    match &c.action {
        Action::Create => format!("{addr} will be created"),
        Action::Update => format!("{addr} will be updated in place"),
        Action::Rename { from } => {
            let from = printable(from);
            format!("{addr} will be renamed in place from `{from}` (user assignments are kept)")
        }
        Action::Delete => format!("{addr} will be destroyed"),
        Action::Adopt if c.diffs.is_empty() => {
            format!("{addr} will be adopted: it already exists in Descope as declared")
        }
        Action::Adopt => {
            format!("{addr} will be adopted (it already exists in Descope) and updated in place")
        }
        Action::SetDefaultRoles => format!("{addr} will get its default roles"),
        Action::SetSettings => format!("{addr} will get its settings back"),
        Action::Forget => {
            format!("{addr} will no longer be managed by dmgmt (it stays in Descope)")
        }
    }
}

fn change(c: &Change, opts: &RenderOptions<'_>) -> String {
    // An adoption that also changes fields reads as the update it is.
    let symbol = if c.action == Action::Adopt && !c.diffs.is_empty() {
        "~"
    } else {
        c.action.symbol()
    };
    let sym = style_for(symbol);
    let mut out = format!(
        "  {} {}\n",
        Style::new().bold().apply_to("#"),
        Style::new().bold().apply_to(headline(c))
    );
    match c.guard {
        Some(Guard::Protected) => {
            out.push_str("  # (refused without --allow-delete: the environment is protected)\n")
        }
        Some(Guard::PreventDestroy) => {
            out.push_str("  # (refused without --allow-delete: prevent_destroy is set)\n")
        }
        None => {}
    }
    for w in &c.warnings {
        out.push_str(&format!(
            "  {} {}\n",
            Style::new().yellow().bold().apply_to("# warning:"),
            printable(&w.to_string())
        ));
    }
    out.push_str(&format!(
        "  {} {} {{\n",
        sym.apply_to(symbol),
        block_name(&c.addr)
    ));
    let lines: Vec<(String, String, String)> = match c.action {
        Action::Delete | Action::Forget => managed_values(c)
            .into_iter()
            .map(|(k, v)| ("-".to_owned(), k, v))
            .collect(),
        _ => c.diffs.iter().map(diff_line).collect(),
    };
    out.push_str(&attribute_lines(&lines, c.kind(), c, opts));
    out.push_str("    }\n\n");
    out
}

/// What a destroyed or forgotten object holds in the fields dmgmt managed, as `(config field,
/// rendered value)`, read from its live body (Descope's names); documents summarised. An entry
/// that recorded no managed field shows its identity.
fn managed_values(c: &Change) -> Vec<(String, String)> {
    let kind = c.kind();
    let identity = ["id", "name"];
    let fields: Vec<&str> = if c.managed_fields.is_empty() {
        identity.to_vec()
    } else {
        c.managed_fields.iter().map(String::as_str).collect()
    };
    fields
        .into_iter()
        .filter_map(|field| {
            if field == "document" {
                return Some((field.to_owned(), "(document)".to_owned()));
            }
            let wire = attrs::wire_field(kind, field)?;
            let v = c.before.as_ref()?.get(wire)?;
            Some((field.to_owned(), value(v)))
        })
        .collect()
}

fn diff_line(d: &AttrDiff) -> (String, String, String) {
    match (&d.before, &d.after) {
        (None, Some(a)) => ("+".into(), d.field.clone(), value(a)),
        (Some(b), None) => ("-".into(), d.field.clone(), value(b)),
        (Some(b), Some(a)) => (
            "~".into(),
            d.field.clone(),
            format!("{} -> {}", value(b), value(a)),
        ),
        (None, None) => ("~".into(), d.field.clone(), "null".into()),
    }
}

fn attribute_lines(
    lines: &[(String, String, String)],
    kind: ResourceKind,
    c: &Change,
    opts: &RenderOptions<'_>,
) -> String {
    let width = lines
        .iter()
        .filter(|(_, k, _)| k != "document")
        .map(|(_, k, _)| printable(k).chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for (symbol, field, text) in lines {
        if field == "document" && matches!(kind, ResourceKind::Flow | ResourceKind::Theme) {
            out.push_str(&document(c, opts));
            continue;
        }
        let field = printable(field);
        out.push_str(&format!(
            "      {} {field:<width$} = {text}\n",
            style_for(symbol).apply_to(symbol)
        ));
    }
    out
}

/// Values as in Terraform: strings quoted, lists and maps as compact JSON (which escapes C0
/// controls; `printable` escapes the rest).
pub(super) fn value(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        other => printable(&other.to_string()).into_owned(),
    }
}

/// A flow or theme document: a summary (what changed, by name), then a unified diff of the
/// normalised JSON, cut to a readable length. The plan holds each document once: the live one is
/// the change's `before` (normalised here, as refresh did), the desired one its `after`.
fn document(c: &Change, opts: &RenderOptions<'_>) -> String {
    let before = c.before.as_ref().map(attrs::normalize_document);
    let after = c.after.as_ref();
    let refs = match &c.addr {
        ResourceAddr::Flow(id) => opts.flows.iter().find(|f| &f.id == id).map(|f| &f.refs),
        _ => None,
    };
    let labels = ("live", "desired");
    document_change(before.as_ref(), after, refs, labels, opts.full_diff)
}

/// A document's summary lines, then the unified diff of the two (cut unless `full`; its header
/// names them by `labels`): how a plan, a drift and `diff` show a flow or the theme. Indented for
/// an attribute block.
pub(super) fn document_change(
    before: Option<&Value>,
    after: Option<&Value>,
    refs: Option<&crate::model::FlowRefs>,
    labels: (&str, &str),
    full: bool,
) -> String {
    let mut out = String::new();
    let summary = doc_summary::summary(before, after, refs);
    for line in &summary {
        out.push_str(&format!("      {line}\n"));
    }
    let (Some(before), Some(after)) = (before, after) else {
        return out;
    };
    let diff = unified(before, after, labels, full);
    if summary.is_empty() && diff.is_empty() {
        out.push_str("      document changed\n");
    }
    out.push_str(&diff);
    out
}

/// The unified diff of two documents, pretty-printed, cut at [`DIFF_LINES`] unless `full`.
fn unified(before: &Value, after: &Value, labels: (&str, &str), full: bool) -> String {
    let old = pretty(before);
    let new = pretty(after);
    let diff = TextDiff::configure()
        .algorithm(similar::Algorithm::Patience)
        .diff_lines(&old, &new);
    let mut out = String::new();
    let mut shown = 0;
    let mut total = 0;
    let mut unified = diff.unified_diff();
    let text = unified
        .context_radius(3)
        .header(labels.0, labels.1)
        .to_string();
    for line in text.lines() {
        total += 1;
        if !full && shown >= DIFF_LINES {
            continue;
        }
        shown += 1;
        let style = match line.chars().next() {
            Some('+') => Style::new().green(),
            Some('-') => Style::new().red(),
            Some('@') => Style::new().cyan(),
            _ => Style::new(),
        };
        out.push_str(&format!("        {}\n", style.apply_to(printable(line))));
    }
    if shown < total {
        out.push_str(&format!(
            "        ... {} more diff lines (--full-diff shows them all)\n",
            total - shown
        ));
    }
    out
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default() + "\n"
}

/// One drift entry, Terraform's "Objects have changed outside of Terraform" shape. A flow's or the
/// theme's document shows as in a plan: its summary, then the unified diff (cut unless
/// `full_diff`).
pub(crate) fn drift(d: &Drift, full_diff: bool) -> String {
    match d.kind {
        DriftKind::Deleted => format!(
            "  # {} has been deleted outside dmgmt\n  {} {} {{\n    }}\n\n",
            shown(&d.addr),
            style_for("-").apply_to("-"),
            block_name(&d.addr)
        ),
        DriftKind::Changed | DriftKind::Renamed => {
            let lines: Vec<(String, String, String)> = d.diffs.iter().map(diff_line).collect();
            let width = lines
                .iter()
                .map(|(_, k, _)| printable(k).chars().count())
                .max()
                .unwrap_or(0);
            let what = match &d.renamed_to {
                Some(to) => format!(
                    "has been renamed outside dmgmt to `{}` (same Descope id)",
                    shown(to)
                ),
                None => "has changed outside dmgmt".to_owned(),
            };
            let mut out = format!(
                "  # {} {what}\n  {} {} {{\n",
                shown(&d.addr),
                style_for("~").apply_to("~"),
                block_name(&d.addr)
            );
            for (symbol, field, text) in lines {
                if field == "document" {
                    let document = d.diffs.iter().find(|x| x.field == "document");
                    let (before, after) =
                        document.map_or((None, None), |x| (x.before.as_ref(), x.after.as_ref()));
                    let labels = ("last state", "live");
                    out.push_str(&document_change(before, after, None, labels, full_diff));
                    continue;
                }
                let field = printable(&field);
                out.push_str(&format!(
                    "      {} {field:<width$} = {text}\n",
                    style_for(&symbol).apply_to(&symbol)
                ));
            }
            out.push_str("    }\n\n");
            out
        }
    }
}

/// The note about unmanaged objects: counted by kind, the first few named. `cascaded` are those
/// a change of the plan alters as a side effect (its warnings say how): the note then no longer
/// promises that none of them is touched.
pub(crate) fn unmanaged(addrs: &[ResourceAddr], cascaded: &BTreeSet<&ResourceAddr>) -> String {
    if addrs.is_empty() {
        return String::new();
    }
    let mut by_kind: BTreeMap<ResourceKind, usize> = BTreeMap::new();
    for a in addrs {
        *by_kind.entry(a.kind()).or_default() += 1;
    }
    let counts: Vec<String> = by_kind
        .iter()
        .map(|(k, n)| format!("{n} {k}{}", if *n == 1 { "" } else { "s" }))
        .collect();
    let mut names: Vec<String> = addrs
        .iter()
        .take(UNMANAGED_SHOWN)
        .map(|a| format!("`{}`", shown(a)))
        .collect();
    if addrs.len() > UNMANAGED_SHOWN {
        names.push(format!("and {} more", addrs.len() - UNMANAGED_SHOWN));
    }
    let one = addrs.len() == 1;
    let touched = addrs.iter().filter(|a| cascaded.contains(a)).count();
    let promise = match (touched, one) {
        (0, _) => "and will not be touched",
        (_, true) => "; dmgmt changes it only through the cascade noted above",
        (1, false) => "; dmgmt changes none of them except through the cascade noted above",
        (_, false) => "; dmgmt changes none of them except through the cascades noted above",
    };
    format!(
        "Note: {} in Descope {} not managed by dmgmt{}{promise} ({}): {}.\n\n",
        if one {
            "1 object".to_owned()
        } else {
            format!("{} objects", addrs.len())
        },
        if one { "is" } else { "are" },
        if touched == 0 { " " } else { "" },
        counts.join(", "),
        names.join(", ")
    )
}

/// Unmanaged objects a change of the plan alters as a side effect.
fn cascaded(p: &Plan) -> BTreeSet<&ResourceAddr> {
    p.changes
        .iter()
        .flat_map(|c| &c.cascades)
        .filter(|x| !x.managed)
        .map(|x| &x.addr)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A v1 flow of `screens` screens, each with a few components, about 1.3 KB per screen.
    fn large_flow(screens: usize, label: &str) -> Value {
        let screens: Vec<Value> = (0..screens)
            .map(|i| {
                let components: Vec<Value> = (0..8)
                    .map(|c| json!({"id": format!("c{i}-{c}"), "type": "text", "version": 2,
                        "props": {"children": format!("{label} screen {i} component {c}"), "align": "center"}}))
                    .collect();
                json!({"id": format!("SC{i:05}"), "interactions": [{"id": format!("i{i}"), "label": "Go"}],
                    "htmlTemplate": {"components": components}})
            })
            .collect();
        json!({"flow": {"id": "big", "name": "Big", "dsl": {}}, "screens": screens})
    }

    #[test]
    fn a_500_kb_flow_renders_quickly_summary_first_and_diff_cut() {
        let before = large_flow(520, "Hello");
        let mut after = before.clone();
        for i in [3, 150, 200, 300, 400, 519] {
            after["screens"][i]["htmlTemplate"]["components"][1]["props"]["children"] =
                json!(format!("Changed {i}"));
        }
        let size = serde_json::to_string(&before).unwrap().len();
        assert!(size > 500_000, "only {size} bytes");
        let mut change = Change::bare("flow.big", Action::Update);
        change.before = Some(before);
        change.after = Some(attrs::normalize_document(&after));
        change.diffs = vec![AttrDiff {
            field: "document".into(),
            before: None,
            after: None,
        }];
        let opts = RenderOptions {
            full_diff: false,
            flows: &[],
        };
        let started = std::time::Instant::now();
        let text = super::change(&change, &opts);
        let took = started.elapsed();
        // Generous for a debug build on a busy machine; a quadratic diff takes minutes.
        assert!(took < std::time::Duration::from_secs(5), "took {took:?}");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[2].trim(),
            "screens: 6 changed (`SC00003`, `SC00150`, `SC00200`, `SC00300`, `SC00400`, `SC00519`)"
        );
        assert!(
            text.contains("more diff lines (--full-diff shows them all)"),
            "{text}"
        );
        assert!(lines.len() < 60, "{} lines", lines.len());
        let full = super::change(
            &change,
            &RenderOptions {
                full_diff: true,
                flows: &[],
            },
        );
        assert!(
            full.contains("+              \"children\": \"Changed 519\"\n"),
            "{full}"
        );
    }

    fn addrs(list: &[&str]) -> Vec<ResourceAddr> {
        list.iter().map(|a| a.parse().unwrap()).collect()
    }

    #[test]
    fn block_names_tell_a_quoted_project_role_from_a_tenant_role() {
        let names: Vec<String> = addrs(&["role.acme/Admin", "role.\"acme/Admin\"", "theme"])
            .iter()
            .map(block_name)
            .collect();
        assert_eq!(
            names,
            [
                "role \"acme/Admin\"",
                "role \"\\\"acme/Admin\\\"\"",
                "theme"
            ]
        );
    }

    #[test]
    fn the_unmanaged_note_promises_no_change_only_when_no_cascade_reaches_them() {
        let all = addrs(&["role.acme/Local", "role.acme/Other", "tenant.stranger"]);
        assert_eq!(
            unmanaged(&all, &BTreeSet::new()),
            "Note: 3 objects in Descope are not managed by dmgmt and will not be touched (2 roles, 1 tenant): `role.acme/Local`, `role.acme/Other`, `tenant.stranger`.\n\n"
        );
        let hit = addrs(&["role.acme/Local", "role.acme/Other"]);
        assert_eq!(
            unmanaged(&all, &hit.iter().collect()),
            "Note: 3 objects in Descope are not managed by dmgmt; dmgmt changes none of them except through the cascades noted above (2 roles, 1 tenant): `role.acme/Local`, `role.acme/Other`, `tenant.stranger`.\n\n"
        );
        let lone = addrs(&["role.acme/Local"]);
        assert_eq!(
            unmanaged(&lone, &lone.iter().collect()),
            "Note: 1 object in Descope is not managed by dmgmt; dmgmt changes it only through the cascade noted above (1 role): `role.acme/Local`.\n\n"
        );
    }
}
