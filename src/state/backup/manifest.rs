//! `manifest.json`, the index of one backup folder: why the backup was taken, what it is of, and
//! every object file with its address, sha256 and size. Reading a manifest refuses any
//! `format_version` but the one this dmgmt writes; nothing here decides what to back up.

use std::fs;
use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{BackupError, io_err};
use crate::model::ResourceAddr;

/// The manifest's file name inside a backup folder.
pub(crate) const MANIFEST: &str = "manifest.json";
/// The manifest format this dmgmt writes and reads.
pub(crate) const MANIFEST_FORMAT_VERSION: u32 = 1;

/// Why a backup was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Trigger {
    /// `dmgmt backup`.
    Manual,
    /// Before the first mutating call of an apply.
    PreApply,
    /// Before the first mutating call of a restore.
    PreRestore,
}

impl Trigger {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Trigger::Manual => "manual",
            Trigger::PreApply => "pre-apply",
            Trigger::PreRestore => "pre-restore",
        }
    }
}

impl std::fmt::Display for Trigger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `manifest.json`: what the backup is of, and every file it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub(crate) format_version: u32,
    pub(crate) environment: String,
    pub(crate) project_id: String,
    pub(crate) dmgmt_version: String,
    /// RFC 3339, UTC, whole seconds.
    pub(crate) created_at: String,
    pub(crate) trigger: Trigger,
    /// Ordered by address.
    pub files: Vec<ManifestFile>,
}

/// One object file of a backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestFile {
    /// Relative to the backup folder, `/`-separated: `<kind>/<escaped key>.json`.
    pub path: String,
    pub address: ResourceAddr,
    /// sha256 of the file's bytes (lowercase hex).
    pub sha256: String,
    /// Size of the file in bytes.
    pub(crate) size: u64,
}

pub(super) fn read_manifest(dir: &Path) -> Result<Manifest, BackupError> {
    let path = dir.join(MANIFEST);
    let bytes = match fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(BackupError::Manifest {
                path,
                reason: "it does not exist".into(),
            });
        }
        Err(e) => return Err(io_err("read", &path)(e)),
    };
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| BackupError::Manifest {
            path: path.clone(),
            reason: format!("not valid JSON: {e}"),
        })?;
    match value.get("format_version") {
        Some(v) if *v == MANIFEST_FORMAT_VERSION => {}
        Some(v) => {
            return Err(BackupError::Manifest {
                path,
                reason: format!(
                    "format_version {v}, but this dmgmt reads only {MANIFEST_FORMAT_VERSION}"
                ),
            });
        }
        None => {
            return Err(BackupError::Manifest {
                path,
                reason: "`format_version` is missing".into(),
            });
        }
    }
    serde_json::from_value(value).map_err(|e| BackupError::Manifest {
        path,
        reason: e.to_string(),
    })
}
