//! `dmgmt diff`: two environments compared, resource by resource — their configuration, or with
//! `--live` their live projects.

use serde_json::{Value, json};

use super::args::DiffArgs;
use super::render::{block_name, style_for, value};
use super::shell::Shell;
use super::{context, desired_state, interruptible, plural};
use crate::config::Project;
use crate::error::{Error, Result, exit};
use crate::model::DesiredState;
use crate::model::text::printable;
use crate::ops;
use crate::plan::compare::{Comparison, Difference, FieldDiff, Presence};

pub(crate) fn run(project: &Project, args: &DiffArgs, shell: &Shell) -> Result<i32> {
    let a = desired_state(project, &args.a, shell)?;
    let b = desired_state(project, &args.b, shell)?;
    let comparison = if args.live {
        let env_lookup = |v: &str| std::env::var(v).ok();
        let ctx = context(project, &env_lookup, std::time::Duration::ZERO, shell);
        shell.status(format!(
            "Reading the live projects of `{}` and `{}`...",
            a.environment, b.environment
        ));
        interruptible(ops::diff::diff_live(&ctx, &a, &b, &ops::live::Quiet))?
    } else {
        ops::diff::diff_desired(project, &a, &b)
    };
    let view = View {
        a: &a,
        b: &b,
        live: args.live,
        full_diff: args.full_diff,
    };
    if args.json {
        let doc = view.json(&comparison);
        let text = serde_json::to_string_pretty(&doc)
            .map_err(|e| Error::internal("cannot encode the comparison").caused_by(&e))?;
        shell.out(text);
    } else {
        shell.out(view.text(&comparison).trim_end());
    }
    Ok(
        if args.detailed_exitcode && !comparison.differences.is_empty() {
            exit::CHANGES
        } else {
            exit::SUCCESS
        },
    )
}

struct View<'a> {
    a: &'a DesiredState,
    b: &'a DesiredState,
    live: bool,
    /// `--full-diff`: a document's diff uncut.
    full_diff: bool,
}

impl View<'_> {
    fn names(&self) -> (&str, &str) {
        (&self.a.environment, &self.b.environment)
    }

    fn text(&self, c: &Comparison) -> String {
        let (a, b) = self.names();
        let mut out = if self.live {
            format!(
                "Comparing the live projects of `{a}` (project {}) and `{b}` (project {}):\n\n",
                self.a.project_id, self.b.project_id
            )
        } else {
            format!("Comparing the configuration of `{a}` with `{b}`:\n\n")
        };
        for d in &c.differences {
            out.push_str(&self.difference(d));
        }
        if c.differences.is_empty() {
            let verb = if self.live { "hold" } else { "declare" };
            out.push_str(&format!(
                "No differences: `{a}` and `{b}` {verb} the same {}.\n",
                plural(c.identical, "object")
            ));
            return out;
        }
        let mut parts = Vec::new();
        for (presence, label) in [
            (Presence::OnlyInA, format!("only in `{a}`")),
            (Presence::OnlyInB, format!("only in `{b}`")),
        ] {
            let n = c.count(presence);
            if n > 0 {
                parts.push(format!("{n} {label}"));
            }
        }
        let differ = c.count(Presence::Differs);
        if differ > 0 {
            let by_vars = c.differences.iter().filter(|d| d.only_variables()).count();
            parts.push(if by_vars > 0 {
                format!("{differ} differ ({by_vars} only by variables)")
            } else {
                format!("{differ} differ")
            });
        }
        parts.push(format!("{} identical", c.identical));
        out.push_str(&format!("`{a}` and `{b}` differ: {}.\n", parts.join(", ")));
        out
    }

    fn difference(&self, d: &Difference) -> String {
        let (a, b) = self.names();
        let addr = printable(&d.addr.to_string()).into_owned();
        let (symbol, headline) = match d.presence {
            Presence::OnlyInA => ("-", format!("{addr} is only in `{a}`")),
            Presence::OnlyInB => ("+", format!("{addr} is only in `{b}`")),
            Presence::Differs if d.only_variables() => {
                ("~", format!("{addr} differs only by variables"))
            }
            Presence::Differs => ("~", format!("{addr} differs")),
        };
        let mut out = format!(
            "  # {headline}\n  {} {} {{\n",
            style_for(symbol).apply_to(symbol),
            block_name(&d.addr)
        );
        let mut lines: Vec<(String, String, String)> = Vec::new();
        if let Some(attrs) = d.attributes.as_ref().and_then(Value::as_object) {
            for (k, v) in attrs {
                lines.push((" ".into(), k.clone(), value(v)));
            }
        }
        let mut templated = Vec::new();
        for f in d.fields.iter().chain(&d.document_leaves) {
            if f.template.is_some() {
                templated.push(f);
                continue;
            }
            let shown =
                |v: &Option<Value>| v.as_ref().map_or_else(|| "(not set)".to_owned(), value);
            lines.push((
                "~".into(),
                f.field.clone(),
                format!("{} -> {}", shown(&f.a), shown(&f.b)),
            ));
        }
        let width = lines
            .iter()
            .map(|(_, k, _)| printable(k).chars().count())
            .max()
            .unwrap_or(0);
        for (symbol, field, text) in &lines {
            let field = printable(field);
            out.push_str(&format!(
                "      {} {field:<width$} = {text}\n",
                style_for(symbol).apply_to(symbol)
            ));
        }
        for f in templated {
            out.push_str(&format!("      {}\n", self.templated(f)));
        }
        out.push_str(&self.document(d));
        out.push_str("    }\n\n");
        out
    }

    /// `~ redirect_url: ${var.app_url}/done  (dev: https://…, staging: https://…)`.
    fn templated(&self, f: &FieldDiff) -> String {
        let (a, b) = self.names();
        let text = |v: &Option<Value>| match v {
            Some(Value::String(s)) => printable(s).into_owned(),
            Some(other) => value(other),
            None => "(not set)".to_owned(),
        };
        format!(
            "{} {}: {}  ({a}: {}, {b}: {})",
            style_for("~").apply_to("~"),
            printable(&f.field),
            printable(f.template.as_deref().unwrap_or_default()),
            text(&f.a),
            text(&f.b)
        )
    }

    /// A flow's or the theme's differences as the plan shows them: the summary, then the
    /// unified diff from `a` to `b` (cut unless `--full-diff`).
    fn document(&self, d: &Difference) -> String {
        let Some((x, y)) = &d.documents else {
            return String::new();
        };
        if d.presence == Presence::Differs && !d.document_changed {
            return String::new();
        }
        let labels = self.names();
        super::render::document_change(x.as_ref(), y.as_ref(), None, labels, self.full_diff)
    }

    /// A flow's or the theme's differences as the plan summarises them.
    fn summary(&self, d: &Difference) -> Vec<String> {
        let Some((x, y)) = &d.documents else {
            return Vec::new();
        };
        if d.presence == Presence::Differs && !d.document_changed {
            return Vec::new();
        }
        let lines = super::doc_summary::summary(x.as_ref(), y.as_ref(), None);
        if lines.is_empty() {
            vec!["document changed".to_owned()]
        } else {
            lines
        }
    }

    fn json(&self, c: &Comparison) -> Value {
        let side =
            |d: &DesiredState| json!({"environment": d.environment, "project_id": d.project_id});
        let differences: Vec<Value> = c
            .differences
            .iter()
            .map(|d| {
                let mut v = serde_json::to_value(d).unwrap_or(Value::Null);
                if let Some(m) = v.as_object_mut() {
                    m.insert("only_variables".into(), json!(d.only_variables()));
                    if d.documents.is_some() {
                        m.insert("document_summary".into(), json!(self.summary(d)));
                    }
                }
                v
            })
            .collect();
        json!({
            "format_version": 1,
            "source": if self.live { "live" } else { "configuration" },
            "a": side(self.a),
            "b": side(self.b),
            "equal": c.differences.is_empty(),
            "differences": differences,
            "identical": c.identical,
        })
    }
}
