//! Percentile bootstrap confidence intervals over the N samples: resample N indices with
//! replacement, recompute the statistic on the resampled rows, repeat `n_resamples` times and
//! take the `(1 - level)/2` and `(1 + level)/2` quantiles.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::{AnalysisError, Result};

/// Settings of a bootstrap.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BootstrapConfig {
    /// Number of resamples (e.g. 200).
    pub n_resamples: usize,
    /// Confidence level in `(0, 1)` (e.g. 0.95).
    pub level: f64,
    /// Seed of the resampling (ChaCha8).
    pub seed: u64,
}

impl Default for BootstrapConfig {
    fn default() -> Self {
        Self {
            n_resamples: 200,
            level: 0.95,
            seed: 0,
        }
    }
}

/// A percentile bootstrap interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BootstrapInterval {
    /// Lower end.
    pub lower: f64,
    /// Upper end.
    pub upper: f64,
    /// Confidence level.
    pub level: f64,
    /// Number of resamples used.
    pub n_resamples: usize,
}

/// Runs `statistic` on `n_resamples` index resamples of `0..n` and returns the percentile
/// interval. `statistic` receives the resampled indices (length `n`, with repeats).
pub fn bootstrap_interval(
    n: usize,
    cfg: &BootstrapConfig,
    mut statistic: impl FnMut(&[usize]) -> Result<f64>,
) -> Result<BootstrapInterval> {
    let mut v = bootstrap_intervals(n, 1, cfg, |idx| Ok(vec![statistic(idx)?]))?;
    Ok(v.remove(0))
}

/// Like [`bootstrap_interval`] for `k` statistics computed together from each resample
/// (`statistics` returns a vector of length `k`); one interval per statistic.
pub fn bootstrap_intervals(
    n: usize,
    k: usize,
    cfg: &BootstrapConfig,
    mut statistics: impl FnMut(&[usize]) -> Result<Vec<f64>>,
) -> Result<Vec<BootstrapInterval>> {
    if cfg.n_resamples < 2 || !(cfg.level > 0.0 && cfg.level < 1.0) {
        return Err(AnalysisError::InvalidParameter {
            name: "BootstrapConfig",
            reason: format!("need n_resamples >= 2 and level in (0, 1), got {cfg:?}"),
        });
    }
    if n < 2 {
        return Err(AnalysisError::TooFewSamples {
            what: "bootstrap",
            needed: 2,
            got: n,
        });
    }
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let mut idx = vec![0usize; n];
    let mut stats = vec![Vec::with_capacity(cfg.n_resamples); k];
    for _ in 0..cfg.n_resamples {
        idx.iter_mut().for_each(|i| *i = rng.random_range(0..n));
        let s = statistics(&idx)?;
        if s.len() != k {
            return Err(AnalysisError::InvalidParameter {
                name: "statistics",
                reason: format!("returned {} values, expected {k}", s.len()),
            });
        }
        for (col, v) in stats.iter_mut().zip(s) {
            col.push(v);
        }
    }
    Ok(stats
        .into_iter()
        .map(|mut col| {
            col.sort_by(f64::total_cmp);
            let q = |p: f64| {
                let pos = p * (col.len() - 1) as f64;
                let lo = pos.floor() as usize;
                let hi = pos.ceil() as usize;
                col[lo] + (col[hi] - col[lo]) * (pos - lo as f64)
            };
            BootstrapInterval {
                lower: q((1.0 - cfg.level) / 2.0),
                upper: q((1.0 + cfg.level) / 2.0),
                level: cfg.level,
                n_resamples: cfg.n_resamples,
            }
        })
        .collect())
}
