//! The configuration: environment files in `environments/`, their includes and templates, turned
//! into a checked [`DesiredState`](crate::model::DesiredState) or a list of every problem found.
//!
//! Reads files only; never talks to Descope and never needs a management key.
//!
//! - [`project`]: finding the project root and its environments.
//! - [`yaml`]: a positioned YAML tree, hardened against hostile input.
//! - [`schema`]: the declared shape of a file: checks, and the JSON Schema for editors.
//! - [`merge`]: `include:` merging; [`interpolate`]: `${var.*}` / `${env.*}`.
//! - [`rules`]: duplicates and references; [`names`]: names and ids printable and unambiguous;
//!   [`template`]: flow and theme JSON.
//! - [`load()`]: all of the above for one environment.
//! - [`emit`]: canonical YAML out; [`include_edit`]: adding an `include:` path in place (both
//!   for `dmgmt import`).

mod build;
pub(crate) mod emit;
pub(crate) mod flow_refs;
#[cfg(test)]
mod fuzz_tests;
pub(crate) mod include_edit;
pub(crate) mod interpolate;
pub(crate) mod load;
pub(crate) mod merge;
pub(crate) mod names;
pub(crate) mod node_deserializer;
pub(crate) mod project;
pub(crate) mod rules;
pub(crate) mod schema;
pub(crate) mod source;
pub(crate) mod template;
pub mod yaml;

pub use load::Loaded;
pub use load::{load, load_unrendered};
pub use project::Project;
pub(crate) use source::Diagnostic;
pub use source::{Severity, SourceMap};
