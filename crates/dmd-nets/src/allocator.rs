//! CPU allocator tuning for training loops.
//!
//! Every training step allocates and frees the same activation and gradient buffers. With
//! glibc's defaults, buffers above the (dynamic) mmap threshold are `mmap`ed and `munmap`ed
//! each time and freed heap tops are trimmed back to the OS, so the next step touches fresh
//! pages: the kernel zero-fills and maps them again (page faults). Measured on the toy-MLP DMD
//! benchmark (batch 512, 1 thread, 200 iterations): 386k page faults with the defaults, 26k
//! with the settings below, and about 9% less CPU time. Results are unchanged (only where
//! freed memory goes changes); the cost is that the process keeps its peak heap.
//!
//! Settings (glibc `mallopt`): `M_MMAP_THRESHOLD` = 32 MiB (the largest glibc accepts on
//! 64-bit; a fixed value also stops the dynamic threshold), `M_TRIM_THRESHOLD` = 1 GiB,
//! `M_TOP_PAD` = 64 MiB. Set `DMD_MALLOC_TUNING=0` to keep glibc's defaults. A no-op on
//! targets other than Linux with glibc.

/// Environment variable that turns the tuning off (`0`).
pub const DISABLE_ENV: &str = "DMD_MALLOC_TUNING";

/// Applies the allocator settings of the module docs (once, at program start); returns
/// whether they were applied.
pub fn tune_cpu_allocator() -> bool {
    if std::env::var(DISABLE_ENV).is_ok_and(|v| v.trim() == "0") {
        return false;
    }
    apply()
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn apply() -> bool {
    const MIB: libc::c_int = 1 << 20;
    let settings = [
        (libc::M_MMAP_THRESHOLD, 32 * MIB),
        (libc::M_TRIM_THRESHOLD, 1024 * MIB),
        (libc::M_TOP_PAD, 64 * MIB),
    ];
    settings.iter().all(|&(param, value)| {
        // SAFETY: `mallopt` only changes glibc's allocator parameters; it is thread-safe
        // (it takes the arena locks) and reads no memory of ours.
        unsafe { libc::mallopt(param, value) == 1 }
    })
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn apply() -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn glibc_accepts_the_settings() {
        // mallopt returns 0 for a value it rejects (e.g. an mmap threshold above 32 MiB).
        assert!(apply());
    }
}
