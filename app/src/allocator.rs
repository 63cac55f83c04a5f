//! glibc's allocator, tuned so that the server's memory goes back to the
//! system after big answers (a page of turns can be tens of megabytes of
//! JSON built from many small values).
//!
//! By default glibc raises its mmap threshold each time a large block is
//! freed (so later large blocks come from the heap and stay there) and gives
//! each thread an arena of its own (so freed memory is spread over many heaps
//! that are never trimmed). Measured with `scripts/attack`: after four
//! parallel reads of 9 MB of turns, RSS stayed at ~100 MB over a 26 MB idle;
//! with a fixed 64 KiB mmap and trim threshold and two arenas it went back
//! to ~36 MB. The settings are glibc tunables, read only at process start, so
//! `serve` re-executes itself once with them (same pid, same arguments)
//! unless the operator set `GLIBC_TUNABLES` already. Safe code only: no
//! `mallopt`/`malloc_trim` FFI.

use std::os::unix::process::CommandExt;

const TUNABLES: &str = "glibc.malloc.mmap_threshold=65536:glibc.malloc.trim_threshold=65536:glibc.malloc.arena_max=2";

/// Re-executes the process with the tunables set; returns only when it does not.
pub fn tune_and_reexec() {
    if !cfg!(all(target_os = "linux", target_env = "gnu")) || std::env::var_os("GLIBC_TUNABLES").is_some() {
        return;
    }
    let Ok(exe) = std::env::current_exe() else { return };
    let err = std::process::Command::new(exe).args(std::env::args_os().skip(1)).env("GLIBC_TUNABLES", TUNABLES).exec();
    // exec returned: it failed; serve untuned rather than not at all.
    eprintln!("clawdforge: could not re-execute with allocator tunables ({err}); continuing");
}
