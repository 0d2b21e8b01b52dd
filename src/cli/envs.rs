//! `dmgmt envs`: the environments, their projects and what each declares.

use serde_json::json;

use super::args::EnvsArgs;
use super::shell::Shell;
use super::{load, plural};
use crate::config::{Loaded, Project};
use crate::error::{Result, exit};
use crate::state::StateStore;

/// The last write of an environment's state: `serial N, TIME`, `none`, or `unreadable`.
fn last_state(project: &Project, env: &str) -> (String, serde_json::Value) {
    match StateStore::new(project.state_dir(), env).load() {
        Ok(Some(s)) => (
            format!("serial {}, {}", s.serial, s.updated_at),
            json!({"serial": s.serial, "updated_at": s.updated_at}),
        ),
        Ok(None) => ("none".into(), serde_json::Value::Null),
        Err(_) => ("unreadable".into(), json!("unreadable")),
    }
}

pub(crate) fn run(project: &Project, args: &EnvsArgs, shell: &Shell) -> Result<i32> {
    for file in project.ignored_yml_files() {
        shell.warn(crate::config::project::yml_hint(&file));
    }
    let results: Vec<Loaded> = project
        .environments()?
        .iter()
        .map(|n| load(project, n))
        .collect();
    let states: Vec<(String, serde_json::Value)> = results
        .iter()
        .map(|r| last_state(project, &r.environment))
        .collect();
    if args.json {
        shell.out(json_document(&results, &states).to_string());
        return Ok(exit::SUCCESS);
    }
    let rows = rows(&results, &states);
    shell.out(table(&rows));
    let invalid: Vec<&str> = results
        .iter()
        .filter(|r| r.desired.is_none())
        .map(|r| r.environment.as_str())
        .collect();
    if !invalid.is_empty() {
        shell.status(format!(
            "warning: {} {} invalid: run `dmgmt validate -e {}` for details",
            plural(invalid.len(), "environment"),
            if invalid.len() == 1 { "is" } else { "are" },
            invalid[0]
        ));
    }
    Ok(exit::SUCCESS)
}

/// The `--json` document: each environment, with its last state.
fn json_document(results: &[Loaded], states: &[(String, serde_json::Value)]) -> serde_json::Value {
    let envs: Vec<_> = results
        .iter()
        .zip(states)
        .map(|(r, (_, state))| match &r.desired {
            Some(d) => json!({
                "name": r.environment,
                "valid": true,
                "project_id": d.project_id,
                "protected": d.protected,
                "emulator": d.emulator,
                "resources": {
                    "permissions": d.permissions.len(),
                    "roles": d.roles.len(),
                    "tenants": d.tenants.len(),
                    "flows": d.flows.len(),
                    "theme": d.theme.is_some(),
                },
                "state": state,
            }),
            None => json!({"name": r.environment, "valid": false, "errors": r.error_count()}),
        })
        .collect();
    json!({"format_version": 1, "environments": envs})
}

/// The table's rows, its header first: each environment, with its last state.
fn rows(results: &[Loaded], states: &[(String, serde_json::Value)]) -> Vec<Vec<String>> {
    let header = [
        "ENVIRONMENT",
        "PROJECT",
        "PROTECTED",
        "EMULATOR",
        "PERMISSIONS",
        "ROLES",
        "TENANTS",
        "FLOWS",
        "THEME",
        "STATE",
    ];
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|s| s.to_string()).collect()];
    for (r, (state, _)) in results.iter().zip(states) {
        let yes_no = |b: bool| if b { "yes" } else { "no" }.to_owned();
        rows.push(match &r.desired {
            Some(d) => vec![
                r.environment.clone(),
                d.project_id.clone(),
                yes_no(d.protected),
                yes_no(d.emulator),
                d.permissions.len().to_string(),
                d.roles.len().to_string(),
                d.tenants.len().to_string(),
                d.flows.len().to_string(),
                yes_no(d.theme.is_some()),
                state.clone(),
            ],
            None => vec![
                r.environment.clone(),
                format!("invalid ({})", plural(r.error_count(), "error")),
            ],
        });
    }
    rows
}

/// Left-aligned columns separated by two spaces, without trailing spaces.
fn table(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    rows.iter()
        .map(|row| {
            let cells: Vec<String> = row
                .iter()
                .enumerate()
                .map(|(c, s)| format!("{s:<w$}", w = widths[c]))
                .collect();
            cells.join("  ").trim_end().to_owned()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    #[test]
    fn table_aligns_columns() {
        let rows = vec![
            vec!["A".into(), "BB".into()],
            vec!["ccc".into(), "d".into()],
        ];
        assert_eq!(super::table(&rows), "A    BB\nccc  d");
    }
}
