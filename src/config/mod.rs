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
//! - [`load`]: all of the above for one environment.
//! - [`emit`]: canonical YAML out; [`include_edit`]: adding an `include:` path in place (both
//!   for `dmgmt import`).

mod build;
pub mod emit;
pub mod flow_refs;
#[cfg(test)]
mod fuzz_tests;
pub mod include_edit;
pub mod interpolate;
pub mod load;
pub mod merge;
pub mod names;
pub mod project;
pub mod rules;
pub mod schema;
pub mod source;
pub mod template;
pub mod yaml;

pub use load::{EnvLookup, Loaded, load, load_unrendered};
pub use project::{Project, ProjectError};
pub use source::{Diagnostic, Severity, SourceMap, Span};
