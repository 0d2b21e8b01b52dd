//! `dmgmt backup -e ENV` (a backup of the whole live project) and `dmgmt backups -e ENV
//! [--prune] [--json]` (the list, or retention on demand).

use std::collections::BTreeMap;

use serde_json::json;

use super::args::{BackupArgs, BackupsArgs};
use super::shell::{Progress, Shell};
use super::{context, desired_state, interruptible, plural};
use crate::config::Project;
use crate::error::{Result, exit};
use crate::model::ResourceKind;
use crate::ops;
use crate::state::{BackupCounts, BackupSummary};

pub(crate) fn backup(project: &Project, args: &BackupArgs, shell: &Shell) -> Result<i32> {
    let desired = desired_state(project, &args.env.env, shell)?;
    let env_lookup = |v: &str| std::env::var(v).ok();
    let ctx = context(project, &env_lookup, args.lock.lock_timeout, shell);
    shell.status(format!(
        "Backing up `{}` (project {}): every object, managed or not...",
        desired.environment, desired.project_id
    ));
    super::announce_lock_wait(shell, &ctx, &desired.environment);
    let progress = Progress::new(shell, "flows");
    let outcome = interruptible(ops::backup::backup_environment(&ctx, &desired, &progress));
    progress.finish();
    let outcome = super::audited(shell, outcome?);

    let info = &outcome.info;
    shell.out(format!(
        "Backup {} of `{}` written: {} ({}, {}).\n  {}",
        info.id,
        desired.environment,
        counts_text(&outcome.counts),
        plural(info.files, "object"),
        size(info.bytes),
        info.path.display()
    ));
    if !outcome.pruned.is_empty() {
        shell.status(format!(
            "Retention removed {}: {}.",
            plural(outcome.pruned.len(), "old backup"),
            outcome.pruned.join(", ")
        ));
    }
    Ok(exit::SUCCESS)
}

pub(crate) fn backups(project: &Project, args: &BackupsArgs, shell: &Shell) -> Result<i32> {
    let env = &args.env.env;
    let env_lookup = |v: &str| std::env::var(v).ok();
    if args.prune {
        let desired = desired_state(project, env, shell)?;
        let ctx = context(project, &env_lookup, args.lock.lock_timeout, shell);
        super::announce_lock_wait(shell, &ctx, env);
        let removed = interruptible(ops::backup::prune_now(&ctx, &desired))?;
        let removed = super::audited(shell, removed);
        let policy = desired.backups;
        if args.json {
            let doc = json!({"format_version": 1, "environment": env, "removed": removed});
            shell.out(serde_json::to_string_pretty(&doc).unwrap_or_default());
        } else if removed.is_empty() {
            shell.out(format!(
                "Nothing to prune: every backup of `{env}` is within {} days or among the newest {}.",
                policy.retention_days, policy.keep_min
            ));
        } else {
            shell.out(format!(
                "Removed {} of `{env}` (older than {} days, beyond the newest {}): {}.",
                plural(removed.len(), "backup"),
                policy.retention_days,
                policy.keep_min,
                removed.join(", ")
            ));
        }
        return Ok(exit::SUCCESS);
    }

    project.require_environment(env)?;
    let ctx = context(project, &env_lookup, args.lock.lock_timeout, shell);
    let mut list = ops::backup::list_backups(&ctx, env)?;
    // Newest first, as one looks for the backup to go back to.
    list.reverse();
    if args.json {
        let doc = json!({
            "format_version": 1,
            "environment": env,
            "backups": list.iter().map(summary_json).collect::<Vec<_>>(),
        });
        shell.out(serde_json::to_string_pretty(&doc).unwrap_or_default());
        return Ok(exit::SUCCESS);
    }
    if list.is_empty() {
        shell.status(format!(
            "`{env}` has no backups yet: `dmgmt backup -e {env}` takes one (apply and restore take their own)."
        ));
        return Ok(exit::SUCCESS);
    }
    let rows: Vec<[String; 5]> = list
        .iter()
        .map(|b| {
            [
                b.id.clone(),
                b.created_at.clone(),
                b.trigger.to_string(),
                counts_text(&b.counts),
                size(b.bytes),
            ]
        })
        .collect();
    shell.out(table(
        ["ID", "TIME (UTC)", "TRIGGER", "OBJECTS", "SIZE"],
        &rows,
    ));
    Ok(exit::SUCCESS)
}

fn summary_json(b: &BackupSummary) -> serde_json::Value {
    let counts: BTreeMap<&str, usize> = b
        .counts
        .by_kind
        .iter()
        .map(|(k, n)| (k.as_str(), *n))
        .collect();
    json!({
        "id": b.id,
        "created_at": b.created_at,
        "trigger": b.trigger,
        "project_id": b.project_id,
        "counts": counts,
        "system_default_permissions": b.counts.system_default_permissions,
        "bytes": b.bytes,
        "path": b.path,
    })
}

/// `2 permissions (+3 system-default), 5 roles, 1 theme` (kinds without objects left out;
/// Descope's own permissions said apart, as they are not the project's).
fn counts_text(counts: &BackupCounts) -> String {
    let system = counts.system_default_permissions;
    let permissions = counts
        .by_kind
        .get(&ResourceKind::Permission)
        .copied()
        .unwrap_or(0);
    let mut parts = Vec::new();
    match (permissions, system) {
        (0, 0) => {}
        (0, s) => parts.push(format!("{} system-default", plural(s, "permission"))),
        (n, 0) => parts.push(plural(n, "permission")),
        (n, s) => parts.push(format!("{} (+{s} system-default)", plural(n, "permission"))),
    }
    parts.extend(
        counts
            .by_kind
            .iter()
            .filter(|(kind, _)| **kind != ResourceKind::Permission)
            .map(|(kind, n)| plural(*n, kind.as_str())),
    );
    match parts.is_empty() {
        true => "empty".to_owned(),
        false => parts.join(", "),
    }
}

/// `812 B`, `12.3 KB`, `4.1 MB`.
fn size(bytes: u64) -> String {
    match bytes {
        b if b < 1024 => format!("{b} B"),
        b if b < 1024 * 1024 => format!("{:.1} KB", b as f64 / 1024.0),
        b => format!("{:.1} MB", b as f64 / (1024.0 * 1024.0)),
    }
}

/// Left-aligned columns two spaces apart, the header first.
pub(super) fn table<const N: usize>(header: [&str; N], rows: &[[String; N]]) -> String {
    let mut widths = header.map(|h| h.chars().count());
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let text: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        text.join("  ").trim_end().to_owned()
    };
    let mut out = vec![line(header.to_vec())];
    out.extend(
        rows.iter()
            .map(|r| line(r.iter().map(String::as_str).collect())),
    );
    out.join("\n")
}
