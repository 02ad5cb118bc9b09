//! A request to stop training at the next iteration, checkpointing first: set from a signal
//! handler (the `dmd` binary registers SIGTERM and SIGUSR1, which Slurm sends before it preempts
//! or times out a job) or by a library user. Teacher training and distillation check it after
//! every iteration; when set they write their resumable state and return
//! [`crate::TrainError::Interrupted`], and a rerun resumes from that state, bit for bit.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();

/// The process-wide flag (register it with a signal handler, e.g. `signal_hook::flag`).
pub fn flag() -> Arc<AtomicBool> {
    FLAG.get_or_init(|| Arc::new(AtomicBool::new(false)))
        .clone()
}

/// Asks the running training loops to checkpoint and stop.
pub fn request() {
    flag().store(true, Ordering::SeqCst);
}

/// Whether a stop was requested.
pub fn requested() -> bool {
    FLAG.get().is_some_and(|f| f.load(Ordering::SeqCst))
}

/// Clears the request (tests, or a caller that handled it).
pub fn clear() {
    flag().store(false, Ordering::SeqCst);
}
