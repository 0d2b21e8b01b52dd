//! dmgmt's one integration test binary (cargo's `tests/testsuite` pattern): one link, one process
//! start-up, shared helpers in `support`.

mod api_client;
mod emulator;
mod support;
