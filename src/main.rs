//! The `dmgmt` binary: everything lives in the library so tests can call `run()` in-process.

fn main() {
    std::process::exit(dmgmt::run(std::env::args_os()));
}
