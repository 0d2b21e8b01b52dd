//! The Descope management API: wire types, and (soon) the client behind the `Provider` trait.
//!
//! Knows HTTP and Descope's wire format, nothing about plans or state.

pub mod wire;
