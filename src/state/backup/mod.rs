//! Backups of live content (see `docs/recovery.md`): `state/backups/<env>/<id>/`, written before the first
//! mutating call of an apply or restore, pruned by a retention policy, listed and verified.
//!
//! A backup folder holds two files: `objects.jsonl`, the bundle, with one line per object holding
//! its raw body exactly as refresh read it (compact JSON, so it has no line break of its own; a
//! tenant's also holds its settings, under [`TENANT_SETTINGS_KEY`]), in the order of their
//! addresses; and `manifest.json`, which gives every object's address, line, sha256 and size
//! (manifest `format_version` 2). Backups of format 1, written by an older dmgmt, hold one file per
//! object, `<kind>/<name>.json`, instead of the bundle; they are still listed, verified and
//! restored. The folder is written under a temporary name and renamed into place only when the
//! bundle and the manifest are synced, so a folder named like a backup is always complete. Files
//! only: this module never talks to Descope, never decides what to back up, and never prints.
//!
//! Folder names (ids) are the UTC time of the backup, `20261129T152000Z`, made unique with `-2`,
//! `-3`…; anything else in `state/backups/<env>/` is not a backup and is left alone.
//!
//! - `manifest`: `manifest.json` and why a backup was taken.
//! - `write`: writing one backup, all or nothing.
//! - `catalog`: listing an environment's backups and pruning them.
//! - `verify`: checking a backup against its manifest and reading it back.
//! - `names`: ids and format 1's file names; `error`: what can go wrong.

mod catalog;
mod error;
mod manifest;
mod names;
mod verify;
mod write;

#[cfg(test)]
mod tests;

use std::io;
use std::path::{Path, PathBuf};

pub(crate) use catalog::{BackupCounts, BackupSummary, list, prune};
pub(crate) use error::BackupError;
pub(crate) use manifest::{
    BUNDLE, MANIFEST, MANIFEST_FORMAT_VERSION, Manifest, ManifestFile, Trigger,
};
pub(crate) use verify::load;
pub use verify::verify;
pub(crate) use write::{BackupInfo, BackupObject, write_backup};

/// The key under which a tenant's body also holds the tenant's settings object, as `GET
/// /v1/mgmt/tenant/settings` answered it (session and token expirations, inactivity, JIT, the SSO
/// setup suite, `authType`, SSO `domains`). Descope's keys are camelCase words, so this one cannot
/// clash with a field of the tenant; a tenant body without it (a backup written before settings
/// were backed up, or a tenant Descope answered no settings for) restores no settings.
pub(crate) const TENANT_SETTINGS_KEY: &str = "dmgmt:tenantSettings";

/// `<state_dir>/backups/<environment>`.
pub(crate) fn backups_dir(state_dir: &Path, environment: &str) -> PathBuf {
    state_dir.join("backups").join(environment)
}

fn io_err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> BackupError + 'a {
    move |source| BackupError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}
