//! The `dmgmt` binary: everything lives in the library so tests can call `run()` in-process.

// The plan at scale allocates and frees hundreds of thousands of small JSON values; mimalloc
// does that in about half the time of the system allocator (README, "Benchmarks").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(dmgmt::run(std::env::args_os()));
}
