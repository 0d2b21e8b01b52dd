//! The integration test binary: drives the real `dmgmt` binary (and, where a test needs it, the
//! library) against temporary projects. One binary, so the suite links once (cargo's own
//! `tests/testsuite` pattern).

mod cli;
mod corpus;
mod support;
