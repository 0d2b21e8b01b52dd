//! `manifest.json`, the index of one backup folder: why the backup was taken, what it is of, and
//! every object with its address, where its body is, and the body's sha256 and size.
//!
//! Two layouts: format 2 (what this dmgmt writes) keeps every body on its own line of one bundle,
//! `objects.jsonl`, and the manifest gives each object's line; format 1 (what dmgmt wrote before)
//! kept one file per object, `<kind>/<name>.json`, and the manifest gives each object's file.
//! Reading a manifest accepts both and refuses any other `format_version`; nothing here decides
//! what to back up.

use std::fs;
use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{BackupError, io_err};
use crate::model::ResourceAddr;

/// The manifest's file name inside a backup folder.
pub(crate) const MANIFEST: &str = "manifest.json";
/// The bundle's file name inside a backup folder of format 2: one object body per line.
pub(crate) const BUNDLE: &str = "objects.jsonl";
/// The manifest format this dmgmt writes: every body on one line of [`BUNDLE`].
pub(crate) const MANIFEST_FORMAT_VERSION: u32 = 2;
/// The format dmgmt wrote before: one file per object. Still read, never written.
pub(crate) const MANIFEST_FORMAT_FILES: u32 = 1;

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

/// `manifest.json`: what the backup is of, and every object it holds.
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

/// One object of a backup: where its body is, and what the body's bytes must be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestFile {
    pub address: ResourceAddr,
    /// Format 2: the body's line in [`BUNDLE`], counted from 1 (without its line break).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// Format 1: the body's file, relative to the backup folder, `/`-separated:
    /// `<kind>/<escaped key>.json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// sha256 of the body's bytes (lowercase hex).
    pub sha256: String,
    /// Size of the body in bytes.
    pub(crate) size: u64,
}

impl ManifestFile {
    /// Where the body is, for messages: `line 3 of objects.jsonl` or `role/Viewer.json`.
    pub(crate) fn location(&self) -> String {
        match (self.line, &self.path) {
            (Some(line), _) => format!("line {line} of {BUNDLE}"),
            (None, Some(path)) => path.clone(),
            (None, None) => "nowhere".to_owned(),
        }
    }
}

pub(super) fn read_manifest(dir: &Path) -> Result<Manifest, BackupError> {
    read_checked(dir)
}

/// What [`read_manifest`] checks and the catalog needs to order and prune backups, read without
/// the list of objects (a manifest lists every object of the project).
#[derive(Debug, Deserialize)]
pub(super) struct ManifestHead {
    pub(super) environment: String,
    pub(super) created_at: String,
}

/// The head of a manifest, checked as [`read_manifest`] checks the whole.
pub(super) fn read_head(dir: &Path) -> Result<ManifestHead, BackupError> {
    read_checked(dir)
}

/// `manifest.json` of `dir`, its format checked first, read into `T`.
fn read_checked<T: serde::de::DeserializeOwned>(dir: &Path) -> Result<T, BackupError> {
    /// Only the format, the rest skipped: another format may not fit [`Manifest`].
    #[derive(Deserialize)]
    struct Format {
        format_version: Option<serde_json::Value>,
    }
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
    let format: Format = serde_json::from_slice(&bytes).map_err(|e| BackupError::Manifest {
        path: path.clone(),
        reason: format!("not valid JSON: {e}"),
    })?;
    match format.format_version {
        Some(v) if v == MANIFEST_FORMAT_VERSION || v == MANIFEST_FORMAT_FILES => {}
        Some(v) => {
            return Err(BackupError::Manifest {
                path,
                reason: format!(
                    "format_version {v}, but this dmgmt reads only \
                     {MANIFEST_FORMAT_FILES} and {MANIFEST_FORMAT_VERSION}"
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
    serde_json::from_slice(&bytes).map_err(|e| BackupError::Manifest {
        path,
        reason: e.to_string(),
    })
}
