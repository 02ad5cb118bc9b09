//! Progress of the training loops: a bar (iteration rate and ETA) on a terminal, and when
//! stderr is not a terminal (a log file, e.g. a `dmd reproduce` child), a `tracing` line every
//! tenth of the run, so logs show how far a run got and how fast.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::Instant;

/// Iteration progress over `total` iterations (see the module docs).
#[derive(Debug)]
pub struct IterationProgress {
    bar: ProgressBar,
    label: String,
    total: u64,
    log_every: Option<u64>,
    start_pos: u64,
    started: Instant,
}

impl IterationProgress {
    /// Advances by one iteration.
    pub fn inc(&self) {
        self.bar.inc(1);
        let pos = self.bar.position();
        if let Some(every) = self.log_every
            && pos.is_multiple_of(every)
        {
            let done = pos.saturating_sub(self.start_pos);
            let rate = done as f64 / self.started.elapsed().as_secs_f64().max(1e-9);
            tracing::info!(
                "{}: iteration {pos}/{} ({rate:.1} it/s, eta {:.0} s)",
                self.label,
                self.total,
                (self.total - pos) as f64 / rate.max(1e-9)
            );
        }
    }

    /// Ends the bar.
    pub fn finish(&self) {
        self.bar.finish();
    }

    /// Stops the bar where it is (the run failed).
    pub fn abandon(&self) {
        self.bar.abandon();
    }
}

/// Progress over `total` iterations starting at `start` (non-zero after a resume); silent when
/// `enabled` is false.
pub fn iteration_bar(label: &str, start: u64, total: u64, enabled: bool) -> IterationProgress {
    let terminal = std::io::stderr().is_terminal();
    let bar = ProgressBar::with_draw_target(
        Some(total),
        if enabled && terminal {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        },
    );
    if let Ok(style) = ProgressStyle::with_template(
        "{msg:>10} [{elapsed_precise}] {wide_bar} {pos}/{len} {per_sec} ETA {eta}",
    ) {
        bar.set_style(style);
    }
    bar.set_message(label.to_string());
    bar.set_position(start);
    bar.reset_eta();
    IterationProgress {
        bar,
        label: label.to_string(),
        total,
        log_every: (enabled && !terminal).then(|| (total / 10).max(1)),
        start_pos: start,
        started: Instant::now(),
    }
}
