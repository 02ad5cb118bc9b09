//! Bootstrap confidence intervals over the N samples: resample N indices with replacement,
//! recompute the statistic on the resampled rows, repeat `n_resamples` times and take the
//! `(1 - level)/2` and `(1 + level)/2` quantiles.
//!
//! Two flavours:
//! * [`bootstrap_intervals`], the plain percentile interval, for statistics whose value does not
//!   depend on how many distinct rows they see (means, correlations);
//! * [`bootstrap_intervals_around`], the same quantiles re-centred on the full-sample estimate:
//!   `[theta + (q_lo - q_50), theta + (q_hi - q_50)]`. A resample holds only about 63% distinct
//!   rows, and statistics such as `Delta_E` depend on the number of distinct points (an optimal
//!   assignment among fewer points costs more), so their resamples sit systematically off the
//!   estimate and a plain percentile interval can exclude it. The re-centred interval keeps the
//!   resamples' spread and reports the offset as [`BootstrapInterval::centre_shift`].

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

/// A bootstrap interval (percentile, or re-centred on the estimate: see the module docs).
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
    /// Estimate minus the resamples' median: how far the quantiles were moved to centre the
    /// interval on the estimate (0 for a plain percentile interval; files written before this
    /// field existed read as 0).
    #[serde(default)]
    pub centre_shift: f64,
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
    statistics: impl FnMut(&[usize]) -> Result<Vec<f64>>,
) -> Result<Vec<BootstrapInterval>> {
    let cols = resample(n, k, cfg, statistics)?;
    Ok(cols
        .into_iter()
        .map(|col| interval(&col, cfg, 0.0))
        .collect())
}

/// Like [`bootstrap_intervals`], with each interval re-centred on its full-sample estimate
/// (`estimates[j]` for statistic `j`): `[estimate + (q_lo - q_50), estimate + (q_hi - q_50)]`.
/// For statistics that depend on the number of distinct rows (see the module docs).
pub fn bootstrap_intervals_around(
    n: usize,
    estimates: &[f64],
    cfg: &BootstrapConfig,
    statistics: impl FnMut(&[usize]) -> Result<Vec<f64>>,
) -> Result<Vec<BootstrapInterval>> {
    let cols = resample(n, estimates.len(), cfg, statistics)?;
    Ok(cols
        .into_iter()
        .zip(estimates)
        .map(|(col, &est)| interval(&col, cfg, est - quantile(&col, 0.5)))
        .collect())
}

/// `k` columns of `n_resamples` sorted resample statistics.
fn resample(
    n: usize,
    k: usize,
    cfg: &BootstrapConfig,
    mut statistics: impl FnMut(&[usize]) -> Result<Vec<f64>>,
) -> Result<Vec<Vec<f64>>> {
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
    for col in &mut stats {
        col.sort_by(f64::total_cmp);
    }
    Ok(stats)
}

/// Linear-interpolation quantile `p` of sorted values.
fn quantile(sorted: &[f64], p: f64) -> f64 {
    let pos = p * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// The `level` interval of sorted resample statistics, moved by `shift`.
fn interval(sorted: &[f64], cfg: &BootstrapConfig, shift: f64) -> BootstrapInterval {
    BootstrapInterval {
        lower: quantile(sorted, (1.0 - cfg.level) / 2.0) + shift,
        upper: quantile(sorted, (1.0 + cfg.level) / 2.0) + shift,
        level: cfg.level,
        n_resamples: cfg.n_resamples,
        centre_shift: shift,
    }
}
