//! Measurements of the generator *during* distillation: a [`Probe`] observes the engine every
//! [`Probe::every`] iterations (at iteration 0, at every multiple, and at the last iteration),
//! and each observation is one line of `trajectory.jsonl` in the run directory, beside the
//! per-iteration `metrics.jsonl`. What is measured is the probe's business (the study measures
//! the pairing on a fixed panel of seeds); this module adds what the training loop knows: the
//! cumulative generator learning rate `sum_t lr_t` and the mean DM loss since the previous point.
//!
//! Resume: on a resumed run the lines at or after the resumed iteration are dropped, and the
//! cumulative learning rate and the open DM-loss window are rebuilt from `metrics.jsonl`, so the
//! trajectory of a killed-and-resumed run equals an uninterrupted one's (apart from wall
//! times), provided the probe is deterministic.

use std::io::{BufRead, BufReader};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::dmd::{DistillRecord, DmdEngine};
use crate::error::TrainError;

/// A measurement of the generator taken during training.
pub trait Probe {
    /// What one observation records (flattened into a [`TrajectoryLine`]).
    type Record: Serialize;

    /// Iterations between observations (at least 1).
    fn every(&self) -> u64;

    /// Measures the generator as it is after `engine.step()` iterations. It must not draw from
    /// the training's random streams (a resumed run would then differ).
    fn observe(&mut self, engine: &DmdEngine) -> Result<Self::Record, TrainError>;
}

/// A probe that measures nothing: plain [`crate::distill`].
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProbe;

impl Probe for NoProbe {
    type Record = ();

    fn every(&self) -> u64 {
        u64::MAX
    }

    fn observe(&mut self, _engine: &DmdEngine) -> Result<(), TrainError> {
        Ok(())
    }
}

/// One line of `trajectory.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrajectoryLine<R> {
    /// Iterations done when the generator was measured (0 = its initialisation).
    pub iteration: u64,
    /// `sum_t lr_t` over the generator updates done so far: the budget axis on which runs with
    /// different learning rates can be compared.
    pub cumulative_lr: f64,
    /// Mean DM surrogate loss over the generator updates since the previous point (`None` when
    /// there were none, as at iteration 0).
    pub dm_loss: Option<f64>,
    /// Seconds the probe took for this point.
    pub probe_s: f64,
    /// Seconds since the run started (accumulated over resumes), after the probe.
    pub wall_s: f64,
    /// The probe's measurements.
    #[serde(flatten)]
    pub measures: R,
}

/// What the training loop accumulates between observations.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Window {
    /// `sum_t lr_t` over all generator updates so far.
    pub cumulative_lr: f64,
    dm_sum: f64,
    dm_count: u64,
}

impl Window {
    /// Adds one iteration's record.
    pub fn add(&mut self, rec: &DistillRecord) {
        if rec.generator_step {
            self.cumulative_lr += rec.lr_generator;
        }
        if let Some(l) = rec.dm_loss {
            self.dm_sum += l;
            self.dm_count += 1;
        }
    }

    /// The window's mean DM loss, then a fresh window (the cumulative learning rate carries on).
    pub fn close(&mut self) -> Option<f64> {
        let mean = (self.dm_count > 0).then(|| self.dm_sum / self.dm_count as f64);
        self.dm_sum = 0.0;
        self.dm_count = 0;
        mean
    }

    /// The state of an uninterrupted run about to take iteration `step` (observing first if
    /// [`is_point`] says so), rebuilt from the kept lines of `metrics.jsonl`.
    pub fn replay(metrics: &Path, step: u64, every: u64) -> Result<Self, TrainError> {
        let mut w = Window::default();
        if step == 0 || !metrics.exists() {
            return Ok(w);
        }
        // The open window starts at the last point before `step` (or at `step - every` when
        // `step` itself is a point, whose observation comes next).
        let open_from = if step.is_multiple_of(every) {
            step - every
        } else {
            step / every * every
        };
        let f = std::fs::File::open(metrics).map_err(|e| TrainError::io(metrics, e))?;
        for line in BufReader::new(f).lines() {
            let line = line.map_err(|e| TrainError::io(metrics, e))?;
            let rec: DistillRecord = serde_json::from_str(&line)?;
            if rec.iteration >= step {
                continue;
            }
            if rec.iteration >= open_from {
                w.add(&rec);
            } else if rec.generator_step {
                w.cumulative_lr += rec.lr_generator;
            }
        }
        Ok(w)
    }
}

/// Whether the generator is measured after `step` of `iterations` iterations: at 0, at every
/// multiple of `every`, and at the end.
pub fn is_point(step: u64, iterations: u64, every: u64) -> bool {
    step.is_multiple_of(every) || step == iterations
}

/// `trajectory.jsonl` read back.
pub fn read_trajectory<R: serde::de::DeserializeOwned>(
    path: &Path,
) -> Result<Vec<TrajectoryLine<R>>, TrainError> {
    let f = std::fs::File::open(path).map_err(|e| TrainError::io(path, e))?;
    BufReader::new(f)
        .lines()
        .map(|line| {
            let line = line.map_err(|e| TrainError::io(path, e))?;
            Ok(serde_json::from_str(&line)?)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_are_zero_multiples_and_the_end() {
        let pts: Vec<u64> = (0..=10).filter(|&s| is_point(s, 10, 4)).collect();
        assert_eq!(pts, vec![0, 4, 8, 10]);
    }
}
