//! The `dmgmt` binary: everything lives in the library so tests can call `run()` in-process.

// The plan at scale allocates and frees hundreds of thousands of small JSON values; mimalloc
// does that in about half the time of the system allocator (docs/dev/benchmarks.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay`; -1: never return freed memory to the system. A run is
/// short: purging only costs time, most of it at exit (about 40 ms of `madvise` calls after a plan
/// at scale), and the peak memory is the same either way.
///
/// A raw number because `libmimalloc-sys` (0.1.49) names only some of mimalloc's options
/// (`mi_option_show_errors` … `mi_option_reserve_os_memory`, `mi_option_eager_commit_delay`,
/// `mi_option_use_numa_nodes` …) and not this one, and the `mimalloc` crate has no option API. 15
/// is its place in `mi_option_e` of the `mimalloc.h` that crate vendors, in both its v2 and v3
/// sources (the 16th member, after `…eager_commit_delay` at 14; `mi_option_reset_delay` is its old
/// name). A `libmimalloc-sys` upgrade should be checked against that header.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

fn main() {
    // SAFETY: sets a process-wide allocator option; mimalloc allows it at any time, from any
    // thread, and reads it at each purge decision.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
    // No transparent huge pages: with them each page fault zeroes 2 MiB, most of it for size
    // classes that use a few kilobytes of it. A plan at 10,000 tenants peaked 30 MB higher with
    // them, and one at 100,000 spent 0.4 s more in the kernel (docs/dev/benchmarks.md). mimalloc's
    // own option (`MIMALLOC_ALLOW_THP=0`) takes effect only when read at its start, before
    // `main`; the process-wide switch applies to every later page fault.
    #[cfg(target_os = "linux")]
    // SAFETY: `prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0)` takes no pointers and only sets a flag of
    // this process; a kernel without it returns an error, which changes nothing.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
    // `COMPLETE=SHELL dmgmt -- WORDS...`: a shell asking for completions (answered, then exit).
    dmgmt::complete_if_asked();
    std::process::exit(dmgmt::run(std::env::args_os()));
}
