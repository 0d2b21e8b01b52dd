//! dmgmt's one integration test binary (cargo's `tests/testsuite` pattern): one link, one process
//! start-up, shared helpers in `support`. Tests drive the real `dmgmt` binary, or the library
//! against an in-process emulator, in temporary folders.

mod addresses;
mod api_client;
mod api_client_retries;
mod apply;
mod apply_faults;
mod apply_prompts;
mod apply_trust;
mod audit;
mod backup_contents;
mod chaos;
mod cli;
mod corpus;
mod corpus_generated;
mod descope_variants;
mod diff;
mod emulator;
mod emulator_faults;
mod emulator_roles;
mod emulator_service;
mod emulator_variants;
mod executor;
mod files_on_disk;
mod guide;
mod import;
mod live;
mod messages;
mod newcomer;
mod normalise;
mod plan;
mod process;
mod props;
mod refresh_state;
mod renames;
mod restore;
mod restore_safety;
mod secrets;
mod sub_tenants;
mod support;
mod templates;
mod trust;
mod ux;
