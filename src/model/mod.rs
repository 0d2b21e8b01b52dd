//! Plain data shared by every layer: resource addresses and the desired state of an environment.
//!
//! Nothing here does I/O or knows about YAML, HTTP or the terminal; it depends on nothing else in
//! the crate.

mod addr;
pub mod attrs;
mod desired;
pub mod document;
pub mod preconfigured;
mod snapshot;
pub mod text;

pub use addr::{AddrParseError, ResourceAddr, ResourceKind};
pub use desired::{
    BackupPolicy, DesiredState, Flow, FlowRefs, NamedRef, Permission, RateLimit, RetrySettings,
    Role, SecretRef, Tenant, Theme,
};
pub use document::DocFormat;
pub use snapshot::{LiveObject, RawBody, Snapshot};
