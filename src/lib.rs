//! dmgmt — a declarative plan/apply engine for Descope projects.
//!
//! Data flows one way (docs/architecture.md):
//! `Args -> Project + DesiredState (config) -> Snapshot (ops::live, with digests) -> Plan (pure)
//! -> ApplyReport (apply) -> next StateFile (serial + 1)`.
//!
//! - [`model`]: plain data shared by every layer: resource addresses, the desired state, live
//!   snapshots and the attributes all three are compared in.
//! - [`config`]: environment files, includes, interpolation, templates and validation, producing a
//!   [`model::DesiredState`] or every problem with file, line and column. No network.
//! - [`api`]: the Descope management API client (rate limit, retries, typed errors) behind the
//!   `Provider` trait; knows HTTP and the wire format, nothing of plans or state.
//! - [`emulator`]: the local, strict, Descope-compatible server (`dmgmt emulator`, tests, and
//!   `emulator: true` environments).
//! - [`state`]: the state file of each environment (atomic writes, `.backup`, digests), its
//!   lock, backups of live content and the audit trail. Files only; no network.
//! - [`plan`]: the pure planner: desired vs live vs prior state -> an ordered change graph.
//! - [`apply`]: the executor: runs a plan through the `Provider` trait (dependency order,
//!   parallelism, batches, read-back of lost replies) and reports each outcome to an observer.
//!   No files, no printing.
//! - [`ops`]: one command's orchestration (connect, refresh, plan, write state); never prints.
//! - [`cli`]: arguments, one file per command, all printing. The only module that writes to the
//!   terminal.
//! - [`error`]: the user-facing error (`Caused by:`, `hint:`) and the exit codes.
//!
//! Items are `pub(crate)` unless something outside the library uses them: `src/main.rs` (`run`),
//! the integration tests in `tests/testsuite`, the benches and the fuzz targets. Those are the
//! only reason anything here is `pub`; it is not a stable API.

#![warn(unreachable_pub)]
// The docs are for developers of dmgmt, private items included (`cargo doc
// --document-private-items`): public docs may link to them.
#![allow(rustdoc::private_intra_doc_links)]

pub mod api;
pub mod apply;
mod cli;
pub mod config;
pub mod emulator;
mod error;
pub mod model;
pub mod ops;
pub mod plan;
pub mod state;

pub use cli::{complete_if_asked, run};
pub use error::Error;
pub(crate) use error::ErrorKind;
