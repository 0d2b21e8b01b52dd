//! Trusting a backup before it is used: every file the manifest lists must be there with its
//! recorded size and sha256, with nothing beside them, and every body must be a JSON object.
//! Every problem is reported at once.

use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::Path;

use super::manifest::read_manifest;
use super::names::{is_object_path, parse_id};
use super::{BackupError, MANIFEST, Manifest, backups_dir, io_err};
use crate::model::{RawBody, ResourceAddr};
use crate::state::canonical::sha256_hex;

/// Checks backup `id` of `environment` against its manifest: the manifest must name this
/// environment and `project_id`, and every listed file must be there with its recorded size and
/// sha256, with no other file beside them. Every problem is reported at once.
pub fn verify(
    state_dir: &Path,
    environment: &str,
    id: &str,
    project_id: &str,
) -> Result<Manifest, BackupError> {
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

    let mut problems = Vec::new();
    let mut listed = HashSet::new();
    let mut addresses = HashSet::new();
    for file in &manifest.files {
        if !addresses.insert(&file.address) {
            problems.push(format!("the manifest lists `{}` twice", file.address));
        }
        if !is_object_path(&file.path) || !listed.insert(file.path.as_str()) {
            problems.push(format!(
                "the manifest lists `{}`, which is not a file name dmgmt writes (or is listed twice)",
                file.path
            ));
            continue;
        }
        let file_path = path.join(&file.path);
        match fs::symlink_metadata(&file_path) {
            Ok(meta) if meta.is_file() => {}
            Ok(_) => {
                problems.push(format!("`{}` is not a regular file", file.path));
                continue;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                problems.push(format!("`{}` ({}) is missing", file.path, file.address));
                continue;
            }
            Err(e) => return Err(io_err("inspect", &file_path)(e)),
        }
        let bytes = fs::read(&file_path).map_err(io_err("read", &file_path))?;
        let sha256 = sha256_hex(&bytes);
        if sha256 != file.sha256 || bytes.len() as u64 != file.size {
            problems.push(format!(
                "`{}` ({}) was changed: {} bytes with sha256 `{sha256}`, the manifest says {} bytes with `{}`",
                file.path,
                file.address,
                bytes.len(),
                file.size,
                file.sha256
            ));
        }
    }
    for extra in files_under(&path)? {
        if extra != MANIFEST && !listed.contains(extra.as_str()) {
            problems.push(format!("`{extra}` is not listed in the manifest"));
        }
    }
    if problems.is_empty() {
        Ok(manifest)
    } else {
        Err(BackupError::Damaged {
            id: id.to_owned(),
            path,
            problems,
        })
    }
}

/// Backup `id` of `environment`, checked with [`verify`] first, then read: its manifest and each
/// object's body, in the manifest's order. A file that is not a JSON object is a damaged backup.
pub(crate) fn load(
    state_dir: &Path,
    environment: &str,
    id: &str,
    project_id: &str,
) -> Result<(Manifest, Vec<(ResourceAddr, RawBody)>), BackupError> {
    let manifest = verify(state_dir, environment, id, project_id)?;
    let path = backups_dir(state_dir, environment).join(id);
    let mut objects = Vec::with_capacity(manifest.files.len());
    let mut problems = Vec::new();
    for file in &manifest.files {
        let file_path = path.join(&file.path);
        let bytes = fs::read(&file_path).map_err(io_err("read", &file_path))?;
        match serde_json::from_slice::<serde_json::Value>(&bytes) {
            Ok(value) if value.is_object() => {
                objects.push((file.address.clone(), RawBody::from_value(value)));
            }
            _ => problems.push(format!(
                "`{}` ({}) is not a JSON object",
                file.path, file.address
            )),
        }
    }
    if !problems.is_empty() {
        return Err(BackupError::Damaged {
            id: id.to_owned(),
            path,
            problems,
        });
    }
    Ok((manifest, objects))
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
