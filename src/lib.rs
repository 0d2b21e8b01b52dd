//! dmgmt — a declarative plan/apply engine for Descope projects.
//!
//! Skeleton: modules are added as the layers land.

pub mod api;
pub mod emulator;
pub mod error;

pub use error::{Error, ErrorKind, Result};

/// Runs dmgmt with the given arguments (the first is the program name) and returns the exit code.
pub fn run<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let _ = args.into_iter().count();
    error::exit::FAILURE
}
