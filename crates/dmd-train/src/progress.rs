//! Progress of the training loops: a bar (iteration rate and ETA) on a terminal, and when
//! stderr is not a terminal (a log file, e.g. a `dmd reproduce` child), a `tracing` line every
//! tenth of the run, so logs show how far a run got and how fast. A process started by a
//! parent console (`dmd reproduce`, `dmd sweep`) also writes its live status (stage, iteration,
//! rate, ETA) to the file `$DMD_STATUS_FILE` names ([`report`]), at most once a second.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::{Deserialize, Serialize};
use std::cell::Cell;
use std::io::IsTerminal;
use std::time::Instant;

/// Environment variable naming the live-status file of this process.
pub const STATUS_ENV: &str = "DMD_STATUS_FILE";

/// What a running `dmd` process is doing, as its parent console shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveStatus {
    /// The stage, e.g. `distill` or `sampling the teacher (snapshot 4096)`.
    pub stage: String,
    /// Iterations done (0 for a stage without iterations).
    pub pos: u64,
    /// Iterations in all (0 for a stage without iterations).
    pub total: u64,
    /// Iterations per second since the stage started.
    pub rate: f64,
    /// Seconds left in the stage, when known.
    pub eta_s: Option<f64>,
}

/// Writes `status` to `$DMD_STATUS_FILE` (atomically; nothing when unset or on error: the
/// status is a courtesy to the console, never a reason to stop).
pub fn report(status: &LiveStatus) {
    let Some(path) = std::env::var_os(STATUS_ENV) else {
        return;
    };
    if let Ok(text) = serde_json::to_vec(status) {
        let _ = dmd_io::write_atomic(std::path::Path::new(&path), &text);
    }
}

/// Reports a stage without iterations (sampling, measuring).
pub fn report_stage(stage: &str) {
    report(&LiveStatus {
        stage: stage.to_string(),
        pos: 0,
        total: 0,
        rate: 0.0,
        eta_s: None,
    });
}

/// Iteration progress over `total` iterations (see the module docs).
#[derive(Debug)]
pub struct IterationProgress {
    bar: ProgressBar,
    label: String,
    total: u64,
    log_every: Option<u64>,
    start_pos: u64,
    started: Instant,
    last_report: Cell<Option<Instant>>,
}

impl IterationProgress {
    /// Advances by one iteration.
    pub fn inc(&self) {
        self.bar.inc(1);
        let pos = self.bar.position();
        if self
            .last_report
            .get()
            .is_none_or(|t| t.elapsed().as_secs_f64() >= 1.0)
        {
            self.last_report.set(Some(Instant::now()));
            let done = pos.saturating_sub(self.start_pos);
            let rate = done as f64 / self.started.elapsed().as_secs_f64().max(1e-9);
            report(&LiveStatus {
                stage: self.label.clone(),
                pos,
                total: self.total,
                rate,
                eta_s: (rate > 0.0).then(|| self.total.saturating_sub(pos) as f64 / rate),
            });
        }
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
        last_report: Cell::new(None),
    }
}
