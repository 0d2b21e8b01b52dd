//! The audit trail (docs/reference.md, `audit`): `state/audit.jsonl`, one JSON object per line for
//! every apply, restore, refresh, import, unlock or state edit — who ran it, where, against which
//! project, what each change did, what drift was found, how long it took and how it ended.
//!
//! Append-only: each record is one `write` to a file opened with `O_APPEND`, so concurrent dmgmt
//! runs never interleave partial lines, and the file is synced before [`append`] returns. A record
//! has no field that could carry the management key. Files only: this module never prints.

use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{atomic, system};
use crate::error::{Error, ErrorKind};

/// The audit file's name in the state folder.
const AUDIT_FILE: &str = "audit.jsonl";

/// One line of the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AuditRecord {
    /// RFC 3339, UTC, when the command started.
    pub(crate) time: String,
    pub(crate) user: String,
    pub(crate) host: String,
    pub(crate) environment: String,
    pub(crate) project_id: String,
    /// `apply`, `restore`, `refresh`, `import`, `unlock`, `state rm`, …
    pub(crate) command: String,
    /// What happened to each planned change (empty for commands that change nothing live).
    #[serde(default)]
    pub(crate) changes: Vec<AuditChange>,
    /// Addresses found changed outside dmgmt.
    #[serde(default)]
    pub(crate) drift: Vec<String>,
    pub(crate) duration_ms: u64,
    pub(crate) exit_code: i32,
    /// How the command ended, beyond its exit code (see [`outcome`]). Lines written before the
    /// field existed read with the outcome their exit code implies.
    #[serde(default)]
    pub(crate) outcome: String,
    pub(crate) dmgmt_version: String,
    /// The backup the command wrote (`backup`, the pre-apply or pre-restore backup) or, for a
    /// restore, restored from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) backup: Option<String>,
    /// For `unlock`: who held the lock it broke (`alice@web1 (pid 123, apply) since …`). A run
    /// killed while it held the lock (SIGKILL, a lost machine) writes no line of its own; the
    /// unlock that must follow it says which run that was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) broke_lock: Option<String>,
}

/// One change of an apply or restore and how it ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AuditChange {
    /// The resource address, e.g. `role.acme/Viewer`.
    pub(crate) addr: String,
    /// The planned action, e.g. `create`, `update`, `delete`.
    pub(crate) action: String,
    /// `applied`, `failed`, `skipped` (a dependency failed) or `not_started` (interrupted).
    pub(crate) outcome: String,
    /// Why it failed, for `failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
}

impl AuditRecord {
    /// A record of `command` starting now, by this user on this host, with no changes or drift,
    /// duration 0 and exit code 0 yet: the caller fills those in when the command ends.
    pub(crate) fn new(environment: &str, project_id: &str, command: &str) -> Self {
        AuditRecord {
            time: system::now_rfc3339(),
            user: system::username(),
            host: system::hostname(),
            environment: environment.to_owned(),
            project_id: project_id.to_owned(),
            command: command.to_owned(),
            changes: Vec::new(),
            drift: Vec::new(),
            duration_ms: 0,
            exit_code: 0,
            outcome: String::new(),
            dmgmt_version: env!("CARGO_PKG_VERSION").to_owned(),
            backup: None,
            broke_lock: None,
        }
    }

    /// When the command started (`None`: a `time` that is not RFC 3339 UTC).
    pub(crate) fn started_at(&self) -> Option<std::time::SystemTime> {
        system::parse_rfc3339_utc(&self.time)
    }
}

/// The values of [`AuditRecord::outcome`].
pub(crate) mod outcome {
    /// An apply or restore ran its changes, and all of them succeeded.
    pub(crate) const APPLIED: &str = "applied";
    /// An apply or restore whose plan had nothing to change.
    pub(crate) const NO_CHANGES: &str = "no_changes";
    /// The confirmation prompt was not answered with what it expected: nothing ran.
    pub(crate) const CANCELLED: &str = "cancelled";
    /// Refused before anything ran: no terminal to ask on, deletes the guards refuse, a plan
    /// that re-creates most of a protected project.
    pub(crate) const REFUSED: &str = "refused";
    /// Stopped by Ctrl-C.
    pub(crate) const INTERRUPTED: &str = "interrupted";
    /// An error, or a change that failed.
    pub(crate) const FAILED: &str = "failed";
    /// Any other command (`refresh`, `import`, `backup`, `unlock`, `state rm`) that succeeded.
    pub(crate) const SUCCEEDED: &str = "succeeded";

    /// What an exit code alone says: for a record whose command set no outcome of its own,
    /// and for lines written before the field existed.
    pub(crate) fn of_exit_code(code: i32) -> &'static str {
        match code {
            crate::error::exit::SUCCESS => SUCCEEDED,
            crate::error::exit::INTERRUPTED => INTERRUPTED,
            _ => FAILED,
        }
    }
}

/// Why the audit trail could not be written or read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AuditError {
    #[error("cannot {action} audit log `{}`", .path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("cannot encode an audit record for `{}`", .path.display())]
    Encode {
        path: PathBuf,
        source: serde_json::Error,
    },
}

impl From<AuditError> for Error {
    fn from(err: AuditError) -> Self {
        let base = Error::new(ErrorKind::State, err.to_string());
        match &err {
            AuditError::Io { source, .. } => base.caused_by(source),
            AuditError::Encode { source, .. } => base.caused_by(source),
        }
    }
}

/// A line of the audit file that could not be read: its 1-based number and what is wrong.
type LineProblem = (usize, String);

/// `<state_dir>/audit.jsonl`.
pub(crate) fn audit_path(state_dir: &Path) -> PathBuf {
    state_dir.join(AUDIT_FILE)
}

/// Appends `record` as one line to `<state_dir>/audit.jsonl` (created if missing) and syncs it.
pub(crate) fn append(state_dir: &Path, record: &AuditRecord) -> Result<(), AuditError> {
    let path = audit_path(state_dir);
    let io_err = |action| {
        let path = path.clone();
        move |source| AuditError::Io {
            action,
            path,
            source,
        }
    };
    let mut line = serde_json::to_vec(record).map_err(|source| AuditError::Encode {
        path: path.clone(),
        source,
    })?;
    line.push(b'\n');
    super::folder::prepare(state_dir).map_err(io_err("create the folder of"))?;
    let existed = path.exists();
    let mut options = fs::OpenOptions::new();
    options.append(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // It names users and hosts: owner-only, like everything under `state/`.
        options.mode(0o600);
    }
    let file = options.open(&path).map_err(io_err("open"))?;
    let mut file = owner_only(file).map_err(io_err("restrict"))?;
    // One `write` of the whole line: with O_APPEND the kernel places it at the end as a unit, so
    // lines of concurrent writers never interleave. A short write (a full disk) is an error.
    let written = file.write(&line).map_err(io_err("append to"))?;
    if written != line.len() {
        return Err(io_err("append to")(io::Error::new(
            io::ErrorKind::WriteZero,
            format!("only {written} of {} bytes were written", line.len()),
        )));
    }
    file.sync_data().map_err(io_err("sync"))?;
    if !existed {
        atomic::sync_dir(state_dir).map_err(io_err("sync the folder of"))?;
    }
    Ok(())
}

/// Every record of `<state_dir>/audit.jsonl` in file order, and the lines that could not be read
/// (1-based line number, the problem): a damaged line is reported, never fatal. No file is no
/// records.
pub(crate) fn read(state_dir: &Path) -> Result<(Vec<AuditRecord>, Vec<LineProblem>), AuditError> {
    let path = audit_path(state_dir);
    let bytes = match fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((Vec::new(), Vec::new())),
        Err(source) => {
            return Err(AuditError::Io {
                action: "read",
                path,
                source,
            });
        }
    };
    let mut records = Vec::new();
    let mut problems = Vec::new();
    let body = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
    if body.is_empty() {
        return Ok((records, problems));
    }
    for (i, line) in body.split(|b| *b == b'\n').enumerate() {
        let number = i + 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            problems.push((number, "empty line".to_owned()));
            continue;
        }
        match serde_json::from_slice::<AuditRecord>(line) {
            Ok(mut record) => {
                if record.outcome.is_empty() {
                    record.outcome = outcome::of_exit_code(record.exit_code).to_owned();
                }
                records.push(record);
            }
            Err(e) => problems.push((number, format!("not an audit record: {e}"))),
        }
    }
    Ok((records, problems))
}

/// A log written by an older dmgmt may be readable by others: made owner-only on its next append.
fn owner_only(file: fs::File) -> io::Result<fs::File> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = file.metadata()?.permissions().mode();
        if mode & 0o077 != 0 {
            file.set_permissions(fs::Permissions::from_mode(mode & 0o700))?;
        }
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(n: usize) -> AuditRecord {
        let mut r = AuditRecord::new("prod", "P2proj", "apply");
        // Fixed, so that records built a second apart compare equal.
        r.time = "2026-12-01T10:00:00Z".into();
        r.changes = vec![
            AuditChange {
                addr: format!("tenant.t{n}"),
                action: "create".into(),
                outcome: "applied".into(),
                error: None,
            },
            AuditChange {
                addr: "role.acme/Vi ewer é".into(),
                action: "update".into(),
                outcome: "failed".into(),
                error: Some("HTTP 400 `E011003`: line\nbreak".into()),
            },
        ];
        r.drift = vec!["permission.billing.read".into()];
        r.duration_ms = n as u64;
        r.exit_code = 1;
        r.outcome = outcome::FAILED.into();
        r
    }

    #[test]
    fn a_line_without_an_outcome_reads_with_the_one_its_exit_code_implies() {
        let dir = tempfile::tempdir().unwrap();
        let old = |code: i32| {
            format!(
                "{{\"time\":\"2026-01-01T00:00:00Z\",\"user\":\"u\",\"host\":\"h\",\"environment\":\"prod\",\"project_id\":\"P2proj\",\"command\":\"apply\",\"changes\":[],\"drift\":[],\"duration_ms\":5,\"exit_code\":{code},\"dmgmt_version\":\"0.1.0\"}}\n"
            )
        };
        let text = [old(0), old(1), old(130)].concat();
        fs::write(dir.path().join(AUDIT_FILE), text).unwrap();
        let (records, problems) = read(dir.path()).unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        let outcomes: Vec<&str> = records.iter().map(|r| r.outcome.as_str()).collect();
        assert_eq!(outcomes, ["succeeded", "failed", "interrupted"]);
    }

    #[test]
    fn new_fills_who_where_when_and_version() {
        let r = AuditRecord::new("prod", "P2proj", "refresh");
        assert!(system::parse_rfc3339_utc(&r.time).is_some(), "{}", r.time);
        assert!(!r.user.is_empty() && !r.host.is_empty());
        assert_eq!(r.dmgmt_version, env!("CARGO_PKG_VERSION"));
        assert_eq!(
            (r.environment.as_str(), r.command.as_str()),
            ("prod", "refresh")
        );
    }

    #[test]
    fn appends_one_line_per_record_and_reads_them_back() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        assert_eq!(
            read(&state).unwrap(),
            (vec![], vec![]),
            "no file, no records"
        );
        append(&state, &record(1)).unwrap();
        append(&state, &record(2)).unwrap();
        let text = fs::read_to_string(state.join(AUDIT_FILE)).unwrap();
        assert_eq!(text.lines().count(), 2);
        assert!(text.ends_with('\n'));
        assert_eq!(read(&state).unwrap(), (vec![record(1), record(2)], vec![]));
    }

    #[test]
    fn a_bad_line_is_reported_and_the_rest_is_read() {
        let dir = tempfile::tempdir().unwrap();
        append(dir.path(), &record(1)).unwrap();
        let path = dir.path().join(AUDIT_FILE);
        let mut text = fs::read_to_string(&path).unwrap();
        text.push_str("{\"time\": \"torn\n\n");
        fs::write(&path, text).unwrap();
        append(dir.path(), &record(3)).unwrap();
        let (records, problems) = read(dir.path()).unwrap();
        assert_eq!(records, vec![record(1), record(3)]);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert_eq!(problems[0].0, 2);
        assert!(
            problems[0].1.contains("not an audit record"),
            "{problems:?}"
        );
        assert_eq!(problems[1], (3, "empty line".to_owned()));
    }

    #[test]
    fn concurrent_appends_never_interleave() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().to_path_buf();
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let state = state.clone();
                std::thread::spawn(move || {
                    for i in 0..25 {
                        let mut r = record(t * 100 + i);
                        // Long lines make a torn or interleaved write likely if appends were not
                        // single writes.
                        r.drift = (0..200).map(|d| format!("tenant.t{t}-{i}-{d}")).collect();
                        append(&state, &r).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let (records, problems) = read(&state).unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(records.len(), 200);
        let mut seen: Vec<u64> = records.iter().map(|r| r.duration_ms).collect();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), 200, "every record exactly once");
    }

    #[test]
    fn a_state_folder_that_is_a_file_is_an_error_naming_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("state");
        fs::write(&file, "x").unwrap();
        let err = append(&file, &record(1)).unwrap_err();
        assert!(err.to_string().contains("audit.jsonl"), "{err}");
    }
}
