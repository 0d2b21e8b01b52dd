//! Plain data shared by every layer: resource addresses and the desired state of an environment.
//!
//! Nothing here does I/O or knows about YAML, HTTP or the terminal; it depends on nothing else in
//! the crate.

mod addr;
pub mod attrs;
pub(crate) mod canonical_text;
mod desired;
pub(crate) mod document;
pub mod preconfigured;
mod snapshot;
pub(crate) mod text;

pub use addr::ResourceAddr;
pub(crate) use addr::ResourceKind;
pub use desired::DesiredState;
pub(crate) use desired::{
    BackupPolicy, Flow, FlowRefs, NamedRef, Permission, RateLimit, RetrySettings, Role, SecretRef,
    Tenant, Theme,
};
pub(crate) use document::DocFormat;
pub use snapshot::Snapshot;
pub(crate) use snapshot::{LiveObject, RawBody};
