//! Memorisation distance ratio `r(y) = ||y - x^1(y)|| / ||y - x^2(y)||` (paper Sec. 4.1).
//!
//! `x^1(y)`, `x^2(y)` are the nearest and second-nearest training points; `y` counts as
//! memorised when `r(y) < r_thres`. Note: the captions of the paper's Figs. 5 and 12 print the
//! inverse ratio (`d2 / d1`); this crate follows the main-text definition (`d1 / d2`, in `[0, 1]`).

use serde::{Deserialize, Serialize};

use crate::error::{AnalysisError, Result};
use crate::nn::NeighbourResult;

/// Default memorisation threshold `r_thres = 1/3`.
pub const DEFAULT_MEMORISATION_THRESHOLD: f64 = 1.0 / 3.0;

/// `r(y) = d1 / d2`; an exact copy of a training point (`d1 = 0`) gives 0.
pub fn memorisation_ratio(d1: f64, d2: f64) -> f64 {
    if d1 == 0.0 { 0.0 } else { d1 / d2 }
}

/// `r(y)` for every query of a nearest-neighbour result.
pub fn memorisation_ratios(nn: &NeighbourResult) -> Vec<f64> {
    nn.d1
        .iter()
        .zip(&nn.d2)
        .map(|(&a, &b)| memorisation_ratio(a, b))
        .collect()
}

/// Fraction of ratios strictly below `threshold` (0 for an empty slice).
pub fn memorised_fraction(ratios: &[f64], threshold: f64) -> f64 {
    if ratios.is_empty() {
        return 0.0;
    }
    ratios.iter().filter(|&&r| r < threshold).count() as f64 / ratios.len() as f64
}

/// Summary of the memorisation ratios of one sample set, for `metrics.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemorisationSummary {
    /// Number of samples.
    pub n: usize,
    /// Threshold `r_thres`.
    pub threshold: f64,
    /// Fraction with `r(y) < r_thres`.
    pub memorised_fraction: f64,
    /// Smallest ratio.
    pub min_ratio: f64,
    /// Median ratio.
    pub median_ratio: f64,
    /// Mean ratio.
    pub mean_ratio: f64,
    /// Mean of `D(y)`, the average distance to the training set.
    pub mean_distance_to_train: f64,
}

impl MemorisationSummary {
    /// Summarises a nearest-neighbour result with threshold `threshold` (in `(0, 1]`).
    pub fn from_neighbours(nn: &NeighbourResult, threshold: f64) -> Result<Self> {
        if !(threshold > 0.0 && threshold <= 1.0) {
            return Err(AnalysisError::InvalidParameter {
                name: "threshold",
                reason: format!("the memorisation threshold must be in (0, 1], got {threshold}"),
            });
        }
        let r = memorisation_ratios(nn);
        if r.is_empty() {
            return Err(AnalysisError::TooFewSamples {
                what: "MemorisationSummary",
                needed: 1,
                got: 0,
            });
        }
        let fraction = memorised_fraction(&r, threshold);
        let n = r.len();
        let median_ratio = crate::replicates::median(&r).unwrap_or(f64::NAN);
        Ok(Self {
            n,
            threshold,
            memorised_fraction: fraction,
            min_ratio: r.iter().cloned().fold(f64::INFINITY, f64::min),
            median_ratio,
            mean_ratio: r.iter().sum::<f64>() / n as f64,
            mean_distance_to_train: nn.mean_distance.iter().sum::<f64>() / n as f64,
        })
    }
}
