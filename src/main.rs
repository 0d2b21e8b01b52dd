//! The `dmgmt` binary: everything lives in the library so tests can call `run()` in-process.

// The plan at scale allocates and frees hundreds of thousands of small JSON values; mimalloc
// does that in about half the time of the system allocator (README, "Benchmarks").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (`mimalloc.h`, v3); -1: never return freed memory to the
/// system. A run is short: purging only costs time, most of it at exit (about 40 ms of
/// `madvise` calls after a plan at scale), and the peak memory is the same either way.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

fn main() {
    // SAFETY: sets a process-wide allocator option; mimalloc allows it at any time, from any
    // thread, and reads it at each purge decision.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
    std::process::exit(dmgmt::run(std::env::args_os()));
}
