//! Persisted state (docs/reference.md, "State and locking"): the state file of each environment,
//! written atomically with a `.backup` of the previous version, and the lock every writing command
//! holds.
//!
//! This layer owns file formats and file-system safety only. It never talks to Descope, never
//! decides what the state should contain (the planner and executor do), and never prints.
//!
//! - [`file`](mod@file): the version-1 state document, its digests and its exact bytes.
//! - [`store`]: loading (refusing what cannot be trusted) and atomic writes with `.backup`.
//! - [`lock`]: the exclusive `<env>.lock` every writing command holds, and `unlock`.
//! - [`backup`]: `backups/<env>/<id>/`, the live content saved before an apply or restore,
//!   pruned by retention and verified against its manifest.
//! - [`audit`]: `audit.jsonl`, one appended line per command that wrote or read live state.
//! - [`canonical`]: canonical JSON and sha256, shared with plans and snapshots.
//! - [`folder`]: the `state/` folder itself: owner-only, with a `.gitignore` keeping it out of git.

pub(crate) mod atomic;
pub(crate) mod audit;
pub mod backup;
pub(crate) mod canonical;
mod error;
pub(crate) mod file;
pub(crate) mod folder;
pub(crate) mod journal;
pub(crate) mod lock;
mod lock_error;
pub(crate) mod store;
pub(crate) mod system;

pub(crate) use audit::AuditChange;
pub(crate) use backup::{BackupCounts, BackupSummary};
pub(crate) use canonical::canonical_json;
pub use canonical::sha256_hex;
pub(crate) use error::StateError;
pub(crate) use file::Lineage;
pub use file::{ResourceState, StateFile};
pub use lock::Lock;
pub(crate) use lock::{LockGuard, LockInfo, lock_path, unlock};
pub use store::StateStore;
pub(crate) use store::WriteOutcome;
