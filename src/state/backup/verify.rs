//! Trusting a backup before it is used: every object the manifest lists must be there with its
//! recorded size and sha256, with nothing beside them, and every body must be a JSON object.
//! Every problem is reported at once, naming the object.
//!
//! Both layouts are read (see `manifest.rs`): format 2, every body on its line of the bundle
//! `objects.jsonl`, and format 1, one file per object, which backups written by an older dmgmt
//! still have.

use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::manifest::{MANIFEST_FORMAT_FILES, read_manifest};
use super::names::{is_object_path, parse_id};
use super::{BUNDLE, BackupError, MANIFEST, Manifest, ManifestFile, backups_dir, io_err};
use crate::model::{RawBody, ResourceAddr};
use crate::state::canonical::sha256_hex;

/// Checks backup `id` of `environment` against its manifest: the manifest must name this
/// environment and `project_id`, and every listed object must be there with its recorded size and
/// sha256, with no other object or file beside them. Every problem is reported at once.
pub fn verify(
    state_dir: &Path,
    environment: &str,
    id: &str,
    project_id: &str,
) -> Result<Manifest, BackupError> {
    check(state_dir, environment, id, project_id).map(|(manifest, _)| manifest)
}

/// Backup `id` of `environment`, checked as [`verify`] does, then read: its manifest and each
/// object's body, in the manifest's order. A body that is not a JSON object is a damaged backup.
pub(crate) fn load(
    state_dir: &Path,
    environment: &str,
    id: &str,
    project_id: &str,
) -> Result<(Manifest, Vec<(ResourceAddr, RawBody)>), BackupError> {
    let (manifest, bodies) = check(state_dir, environment, id, project_id)?;
    let mut objects = Vec::with_capacity(manifest.files.len());
    let mut problems = Vec::new();
    for (file, bytes) in manifest.files.iter().zip(&bodies) {
        match serde_json::from_slice::<serde_json::Value>(bytes) {
            Ok(value) if value.is_object() => {
                objects.push((file.address.clone(), RawBody::from_value(value)));
            }
            _ => problems.push(format!(
                "`{}` ({}) is not a JSON object",
                file.location(),
                file.address
            )),
        }
    }
    if !problems.is_empty() {
        return Err(BackupError::Damaged {
            id: id.to_owned(),
            path: backups_dir(state_dir, environment).join(id),
            problems,
        });
    }
    Ok((manifest, objects))
}

/// The checked backup: its manifest and the bytes of each object's body, in the manifest's order.
fn check(
    state_dir: &Path,
    environment: &str,
    id: &str,
    project_id: &str,
) -> Result<(Manifest, Vec<Vec<u8>>), BackupError> {
    let (path, manifest) = open(state_dir, environment, id, project_id)?;
    let mut problems = Vec::new();
    let mut addresses = HashSet::new();
    for file in &manifest.files {
        if !addresses.insert(&file.address) {
            problems.push(format!("the manifest lists `{}` twice", file.address));
        }
    }
    let bodies = if manifest.format_version == MANIFEST_FORMAT_FILES {
        check_files(&path, &manifest, &mut problems)?
    } else {
        check_bundle(&path, &manifest, &mut problems)?
    };
    if problems.is_empty() {
        Ok((manifest, bodies))
    } else {
        Err(BackupError::Damaged {
            id: id.to_owned(),
            path,
            problems,
        })
    }
}

/// The folder and manifest of backup `id`, refused unless the manifest names this environment
/// and project.
fn open(
    state_dir: &Path,
    environment: &str,
    id: &str,
    project_id: &str,
) -> Result<(PathBuf, Manifest), BackupError> {
    let path = backups_dir(state_dir, environment).join(id);
    let is_dir = fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir());
    if parse_id(id).is_none() || !is_dir {
        return Err(BackupError::NotFound {
            environment: environment.to_owned(),
            id: id.to_owned(),
            path,
        });
    }
    let manifest = read_manifest(&path)?;
    for (what, expected, found) in [
        ("environment", environment, &manifest.environment),
        ("project", project_id, &manifest.project_id),
    ] {
        if expected != found {
            return Err(BackupError::WrongOwner {
                id: id.to_owned(),
                path,
                what,
                expected: expected.to_owned(),
                found: found.clone(),
            });
        }
    }
    Ok((path, manifest))
}

/// Format 2: every listed object's body on its line of [`BUNDLE`], every line listed, and no file
/// beside the bundle and the manifest. Returns the bodies in the manifest's order (complete only
/// when no problem was added).
fn check_bundle(
    dir: &Path,
    manifest: &Manifest,
    problems: &mut Vec<String>,
) -> Result<Vec<Vec<u8>>, BackupError> {
    let bundle = read_regular(dir, BUNDLE)?;
    let Some(bundle) = bundle else {
        if !manifest.files.is_empty() {
            problems.push(format!(
                "`{BUNDLE}` (every object's body) is missing or not a regular file"
            ));
        }
        return Ok(Vec::new());
    };
    let mut lines: Vec<&[u8]> = bundle.split(|b| *b == b'\n').collect();
    // Every body ends with a line break, so the last piece is empty unless the bundle was cut.
    if lines.last().is_some_and(|last| last.is_empty()) {
        lines.pop();
    } else {
        problems.push(format!(
            "`{BUNDLE}` does not end with a line break: it was cut short or edited"
        ));
    }
    let mut bodies = Vec::with_capacity(manifest.files.len());
    let mut claimed = HashSet::new();
    for file in &manifest.files {
        let line = match (file.line, &file.path) {
            (Some(line), None) if line >= 1 && claimed.insert(line) => line,
            _ => {
                problems.push(format!(
                    "the manifest puts `{}` at {}, which is not where dmgmt writes it (or is \
                     listed twice)",
                    file.address,
                    file.location()
                ));
                continue;
            }
        };
        let Some(bytes) = usize::try_from(line - 1).ok().and_then(|i| lines.get(i)) else {
            problems.push(format!(
                "`{}` ({}) is missing: `{BUNDLE}` has {} lines",
                file.location(),
                file.address,
                lines.len()
            ));
            continue;
        };
        compare(file, bytes, problems);
        bodies.push(bytes.to_vec());
    }
    for number in 1..=lines.len() as u64 {
        if !claimed.contains(&number) {
            problems.push(format!(
                "line {number} of `{BUNDLE}` is not listed in the manifest"
            ));
        }
    }
    not_listed(dir, &[MANIFEST, BUNDLE], problems)?;
    Ok(bodies)
}

/// Format 1: every listed file there with its recorded size and sha256, and no file beside them
/// and the manifest. Returns the bodies in the manifest's order (complete only when no problem
/// was added).
fn check_files(
    dir: &Path,
    manifest: &Manifest,
    problems: &mut Vec<String>,
) -> Result<Vec<Vec<u8>>, BackupError> {
    let mut bodies = Vec::with_capacity(manifest.files.len());
    let mut listed = vec![MANIFEST];
    let mut seen = HashSet::new();
    for file in &manifest.files {
        let rel = match (&file.path, file.line) {
            (Some(rel), None) if is_object_path(rel) && seen.insert(rel.as_str()) => rel,
            _ => {
                problems.push(format!(
                    "the manifest lists `{}`, which is not a file name dmgmt writes (or is \
                     listed twice)",
                    file.location()
                ));
                continue;
            }
        };
        listed.push(rel);
        match read_regular(dir, rel)? {
            Some(bytes) => {
                compare(file, &bytes, problems);
                bodies.push(bytes);
            }
            None => problems.push(format!(
                "`{rel}` ({}) is missing or not a regular file",
                file.address
            )),
        }
    }
    not_listed(dir, &listed, problems)?;
    Ok(bodies)
}

/// Adds a problem unless `bytes` have the size and sha256 the manifest records for `file`.
fn compare(file: &ManifestFile, bytes: &[u8], problems: &mut Vec<String>) {
    let sha256 = sha256_hex(bytes);
    if sha256 != file.sha256 || bytes.len() as u64 != file.size {
        problems.push(format!(
            "`{}` ({}) was changed: {} bytes with sha256 `{sha256}`, the manifest says {} bytes \
             with `{}`",
            file.location(),
            file.address,
            bytes.len(),
            file.size,
            file.sha256
        ));
    }
}

/// The bytes of `dir/rel`, or `None` when it does not exist or is not a regular file.
fn read_regular(dir: &Path, rel: &str) -> Result<Option<Vec<u8>>, BackupError> {
    let path = dir.join(rel);
    match fs::symlink_metadata(&path) {
        Ok(meta) if meta.is_file() => {}
        Ok(_) => return Ok(None),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err("inspect", &path)(e)),
    }
    fs::read(&path).map(Some).map_err(io_err("read", &path))
}

/// Adds a problem for every file below `dir` that is not in `listed`.
fn not_listed(dir: &Path, listed: &[&str], problems: &mut Vec<String>) -> Result<(), BackupError> {
    let listed: HashSet<&str> = listed.iter().copied().collect();
    for extra in files_under(dir)? {
        if !listed.contains(extra.as_str()) {
            problems.push(format!("`{extra}` is not listed in the manifest"));
        }
    }
    Ok(())
}

/// Every file below `dir` as a `/`-separated relative path (folders themselves not listed).
fn files_under(dir: &Path) -> Result<Vec<String>, BackupError> {
    let mut out = Vec::new();
    let mut pending = vec![(dir.to_path_buf(), String::new())];
    while let Some((folder, prefix)) = pending.pop() {
        for entry in fs::read_dir(&folder).map_err(io_err("read", &folder))? {
            let entry = entry.map_err(io_err("read", &folder))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let rel = format!("{prefix}{name}");
            let meta = fs::symlink_metadata(entry.path()).map_err(io_err("inspect", &folder))?;
            if meta.is_dir() {
                pending.push((entry.path(), format!("{rel}/")));
            } else {
                out.push(rel);
            }
        }
    }
    out.sort();
    Ok(out)
}
