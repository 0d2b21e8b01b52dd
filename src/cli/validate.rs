//! `dmgmt validate -e ENV | --all`: the offline check of configuration and templates.

use serde_json::json;

use super::args::ValidateArgs;
use super::shell::Shell;
use super::{load, plural};
use crate::config::{Loaded, Project, Severity};
use crate::error::{Error, Result, exit};
use crate::model::DesiredState;

pub(crate) fn run(project: &Project, args: &ValidateArgs, shell: &Shell) -> Result<i32> {
    let names = match &args.env {
        Some(name) => {
            project.require_environment(name)?;
            vec![name.clone()]
        }
        None => {
            for file in project.ignored_yml_files() {
                shell.warn(crate::config::project::yml_hint(&file));
            }
            project.environments()?
        }
    };
    if names.is_empty() {
        return Err(Error::config(format!(
            "no environments in `{}`",
            project.display(&project.env_dir())
        ))
        .hint("create `environments/<name>.yaml`"));
    }
    let results: Vec<Loaded> = names.iter().map(|n| load(project, n)).collect();
    let invalid: Vec<&str> = results
        .iter()
        .filter(|r| r.error_count() > 0)
        .map(|r| r.environment.as_str())
        .collect();

    if args.json {
        shell.out(json_report(&results).to_string());
        return Ok(if invalid.is_empty() {
            exit::SUCCESS
        } else {
            exit::FAILURE
        });
    }
    for loaded in &results {
        shell.diagnostics(&loaded.sources, &loaded.diagnostics);
        if let Some(desired) = &loaded.desired {
            shell.out(format!(
                "Success! `{}` is valid: {}.",
                loaded.environment,
                summary(desired)
            ));
        }
    }
    match (invalid.as_slice(), &args.env) {
        ([], _) => Ok(exit::SUCCESS),
        ([one], Some(_)) => {
            let errors = results[0].error_count();
            Err(Error::config(format!(
                "environment `{one}` is invalid: {}",
                plural(errors, "error")
            ))
            .hint("fix the problems above; nothing was sent to Descope"))
        }
        (many, _) => Err(Error::config(format!(
            "{} of {} environments {} invalid: {}",
            many.len(),
            results.len(),
            if many.len() == 1 { "is" } else { "are" },
            many.iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .hint("fix the problems above; nothing was sent to Descope")),
    }
}

/// "9 permissions, 6 roles, 5 tenants, 2 flows, a theme".
pub(crate) fn summary(d: &DesiredState) -> String {
    let mut parts = vec![
        plural(d.permissions.len(), "permission"),
        plural(d.roles.len(), "role"),
        plural(d.tenants.len(), "tenant"),
        plural(d.flows.len(), "flow"),
    ];
    if d.theme.is_some() {
        parts.push("a theme".into());
    }
    parts.join(", ")
}

fn json_report(results: &[Loaded]) -> serde_json::Value {
    let envs: Vec<_> = results
        .iter()
        .map(|r| {
            let diagnostics: Vec<_> = r
                .diagnostics
                .iter()
                .map(|d| {
                    json!({
                        "severity": match d.severity { Severity::Error => "error", Severity::Warning => "warning", Severity::Note => "note" },
                        "message": d.message,
                        "file": r.sources.display(d.span.file),
                        "line": d.span.line,
                        "column": d.span.col,
                        "hints": d.hints,
                    })
                })
                .collect();
            json!({
                "name": r.environment,
                "valid": r.error_count() == 0,
                "errors": r.error_count(),
                "warnings": r.warning_count(),
                "resources": r.desired.as_ref().map(|d| json!({
                    "permissions": d.permissions.len(),
                    "roles": d.roles.len(),
                    "tenants": d.tenants.len(),
                    "flows": d.flows.len(),
                    "theme": d.theme.is_some(),
                })),
                "diagnostics": diagnostics,
            })
        })
        .collect();
    json!({
        "format_version": 1,
        "valid": results.iter().all(|r| r.error_count() == 0),
        "environments": envs,
    })
}
