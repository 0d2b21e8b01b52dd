//! `dmgmt audit [-e ENV] [--since DURATION] [--limit N] [--json]`: the audit trail as a table,
//! newest first. A line that cannot be read is reported with its line number, never fatal.

use std::time::SystemTime;

use serde_json::json;

use super::args::AuditArgs;
use super::backup::table;
use super::shell::Shell;
use crate::config::Project;
use crate::error::{Result, exit};
use crate::state::audit::{self, AuditRecord};

pub(crate) fn run(project: &Project, args: &AuditArgs, shell: &Shell) -> Result<i32> {
    if let Some(env) = &args.env {
        project.require_environment(env)?;
    }
    let state_dir = project.state_dir();
    let (records, problems) = audit::read(&state_dir)?;
    let path = audit::audit_path(&state_dir);
    let cutoff = args
        .since
        .and_then(|age| SystemTime::now().checked_sub(age));
    let mut shown: Vec<AuditRecord> = records
        .into_iter()
        .filter(|r| args.env.as_ref().is_none_or(|e| *e == r.environment))
        .filter(|r| match cutoff {
            Some(cutoff) => r.started_at().is_some_and(|t| t >= cutoff),
            None => true,
        })
        .collect();
    // Newest first; lines of one second keep the file's (append) order reversed.
    shown.reverse();
    shown.sort_by_key(|r| std::cmp::Reverse(r.started_at()));
    if let Some(limit) = args.limit {
        shown.truncate(limit);
    }

    if args.json {
        let doc = json!({
            "format_version": 1,
            "records": shown,
            "unreadable_lines": problems
                .iter()
                .map(|(line, error)| json!({"line": line, "error": error}))
                .collect::<Vec<_>>(),
        });
        shell.out(serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else if shown.is_empty() {
        shell.status(format!("No audit lines in `{}` match.", path.display()));
    } else {
        let rows: Vec<[String; 7]> = shown.iter().map(row).collect();
        shell.out(table(
            [
                "TIME (UTC)",
                "WHO",
                "ENV",
                "COMMAND",
                "CHANGES",
                "OUTCOME",
                "EXIT",
            ],
            &rows,
        ));
    }
    for (line, error) in &problems {
        shell.warn(format!(
            "`{}` line {line} cannot be read and is left out: {error}",
            path.display()
        ));
    }
    Ok(exit::SUCCESS)
}

fn row(r: &AuditRecord) -> [String; 7] {
    let applied = r.changes.iter().filter(|c| c.outcome == "applied").count();
    let failed = r.changes.iter().filter(|c| c.outcome == "failed").count();
    let changes = if r.changes.is_empty() {
        "-".to_owned()
    } else {
        format!("{applied} applied, {failed} failed")
    };
    let mut command = r.command.clone();
    if let Some(backup) = &r.backup {
        command.push_str(&format!(" ({backup})"));
    }
    if let Some(holder) = &r.broke_lock {
        command.push_str(&format!(" (held by {holder})"));
    }
    [
        r.time.clone(),
        format!("{}@{}", r.user, r.host),
        r.environment.clone(),
        command,
        changes,
        r.outcome.clone(),
        r.exit_code.to_string(),
    ]
}
