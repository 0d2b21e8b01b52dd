//! The local, stateful, Descope-compatible management API server (docs/reference.md, `emulator`).
//!
//! Same paths, bodies, answers and error shapes as `docs/descope-api.md` §3–§5 (license, tenants,
//! roles, permissions, flows and theme, v1 and v2), so dmgmt and the official SDKs work against it
//! unchanged. It is strict: `Authorization` is checked, unknown routes, wrong methods, unknown
//! fields and wrong types are Descope-shaped errors, and object rules (unique ids and names,
//! existing references, missing objects) are enforced. It can persist to a file, rate-limit, inject
//! faults and add latency. It must not depend on dmgmt's client, plans or state: only on the shared
//! wire types.
//!
//! Errors chosen where Descope's are unknown: duplicates are 409 `E011409`, missing objects 404
//! `E011404`, bad references 400 `E011004`, bad auth 401 `E011401` (see [`errors`]). Where
//! Descope may answer otherwise, [`variant`] plays the other answer, for tests only.

mod config;
mod convert;
mod data_lock;
pub(crate) mod errors;
mod flow;
mod journal;
mod permission;
mod role;
mod server;
mod store;
mod tenant;
mod theme;
pub mod variant;

pub(crate) use config::DEFAULT_LISTEN;
pub use config::{EmulatorConfig, EmulatorRateLimit};
pub(crate) use server::StartError;
pub use server::{EmulatorHandle, RequestLogEntry};
pub(crate) use store::StoreError;
pub use variant::{DescopeVariant, ErrorBodies, NewTheme, RetryAfter, UnsetSettings};

use crate::{Error, ErrorKind};

/// Project id of the local emulator: starts with `P`, and is shorter than 32 characters so the
/// regional base-URL rule never applies to it.
pub const LOCAL_PROJECT_ID: &str = "P2dmgmtLocalEmulatorProject";

/// Management key of the local emulator. Not a secret, and deliberately unlike a real key (`K2…`).
pub const LOCAL_MANAGEMENT_KEY: &str = "dmgmt-local-emulator-key";

impl From<StartError> for Error {
    fn from(e: StartError) -> Self {
        let hint = match &e {
            StartError::Bind { .. } => Some("pick another address with `--listen`"),
            StartError::Store(StoreError::Parse { .. }) => {
                Some("fix or remove the data file; the emulator recreates it empty")
            }
            StartError::Store(StoreError::Busy { .. }) => Some(
                "stop the other `dmgmt emulator --data` (or the command running this environment) first: two processes on one data file overwrite each other's changes",
            ),
            _ => None,
        };
        let err = Error::new(ErrorKind::Io, "cannot start the emulator").caused_by(&e);
        match hint {
            Some(h) => err.hint(h),
            None => err,
        }
    }
}

/// Starts an emulator on the current tokio runtime and returns once it is listening.
pub async fn start(config: EmulatorConfig) -> Result<EmulatorHandle, StartError> {
    server::spawn(config).await
}
