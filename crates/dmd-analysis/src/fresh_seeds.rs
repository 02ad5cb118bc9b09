//! Intervals from fresh seeds, and `Delta_E` as a function of the sample count `N`.
//!
//! A bootstrap over one set of `N` seeds resamples seeds that are already drawn (a resample has
//! only ~63% distinct ones, which biases `E_OT`); sampling is cheap next to training, so the
//! pipeline instead draws `M` seeds and splits them into `floor(M / N)` disjoint blocks of `N`,
//! each an independent replicate of the whole measurement. [`block_pairings`] scores every
//! block; [`finite_n_curve`] does so for several `N` (nested block sizes over the same `M` seeds)
//! and summarises each with a Student-t interval over the blocks ([`crate::replicate_summary`]),
//! which covers the evaluation seeds (not the training seeds: a student is one training run).
//!
//! `E_OT^(N)` falls as `N` grows (more candidates for every optimal partner), so `Delta_E` of a
//! fixed pair of models rises with `N`: values are comparable only at the same `N`, and the curve
//! shows how far from its large-`N` value a given `N` is.

use dmd_ot::{
    PairingInefficiency, pairing_inefficiency_from_cost, pairing_inefficiency_within_classes,
};
use ndarray::{ArrayView2, s};
use serde::{Deserialize, Serialize};

use crate::error::{Result, check_same_shape};
use crate::replicates::{ReplicateSummary, replicate_summary};

/// Scores each of the `floor(M / n)` disjoint blocks of `n` consecutive rows of the seed-aligned
/// sets `phi`, `g` (`M x d`): [`pairing_inefficiency_from_cost`] (paper Definition 1, Eq. 6), or
/// with `labels` (one per row) [`pairing_inefficiency_within_classes`].
pub fn block_pairings(
    phi: ArrayView2<f32>,
    g: ArrayView2<f32>,
    labels: Option<&[i64]>,
    n: usize,
) -> Result<Vec<PairingInefficiency>> {
    check_same_shape("block_pairings", phi.shape(), g.shape())?;
    if n == 0 {
        return Ok(Vec::new());
    }
    (0..phi.nrows() / n)
        .map(|b| {
            let rows = s![b * n..(b + 1) * n, ..];
            let cost = dmd_ot::try_sq_euclidean_cost(phi.slice(rows), g.slice(rows))?;
            Ok(match labels {
                Some(l) => {
                    pairing_inefficiency_within_classes(cost.view(), &l[b * n..(b + 1) * n])?
                }
                None => pairing_inefficiency_from_cost(cost.view())?,
            })
        })
        .collect()
}

/// The pairing measures at one `N`, over its fresh-seed blocks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FiniteNPoint {
    /// Seeds per block.
    pub n: usize,
    /// `Delta_E` over the blocks (never below 0).
    pub delta_e: ReplicateSummary,
    /// Copy score over the blocks (never above 1).
    pub copy_score: ReplicateSummary,
    /// `E_DT / E_rand` over the blocks (never below 0).
    pub dt_ratio: ReplicateSummary,
}

impl FiniteNPoint {
    /// Summarises the blocks' values at the confidence `level`; `None` without blocks.
    pub fn from_blocks(n: usize, blocks: &[PairingInefficiency], level: f64) -> Option<Self> {
        let of = |f: fn(&PairingInefficiency) -> f64| {
            replicate_summary(&blocks.iter().map(f).collect::<Vec<_>>(), level)
        };
        Some(Self {
            n,
            delta_e: of(|p| p.delta_e)?.bounded(0.0, f64::INFINITY),
            copy_score: of(PairingInefficiency::copy_score)?.bounded(f64::NEG_INFINITY, 1.0),
            dt_ratio: of(|p| p.e_dt / p.e_rand)?.bounded(0.0, f64::INFINITY),
        })
    }
}

/// [`FiniteNPoint`]s at each `N` in `ns` that fits at least once in the `M` rows (others are
/// skipped), blocks as in [`block_pairings`].
pub fn finite_n_curve(
    phi: ArrayView2<f32>,
    g: ArrayView2<f32>,
    labels: Option<&[i64]>,
    ns: &[usize],
    level: f64,
) -> Result<Vec<FiniteNPoint>> {
    let mut out = Vec::new();
    for &n in ns.iter().filter(|&&n| n >= 2 && n <= phi.nrows()) {
        let blocks = block_pairings(phi, g, labels, n)?;
        out.extend(FiniteNPoint::from_blocks(n, &blocks, level));
    }
    Ok(out)
}

/// A stated extrapolation of a finite-N curve to large `N`: the least-squares fit of
/// `y(N) = limit + b N^(-alpha)` to the curve's means (`alpha` on a grid in `[0.05, 2]`, `limit`
/// and `b` linear given `alpha`). The rate `E_OT^(N)` converges at depends on the data's
/// intrinsic dimension, which is why `alpha` is fitted; with few points and no interval it is a
/// statement of trend, not a measurement.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Extrapolation {
    /// The fitted `y(infinity)`.
    pub limit: f64,
    /// The fitted coefficient `b`.
    pub b: f64,
    /// The fitted exponent `alpha`.
    pub alpha: f64,
    /// Root-mean-square residual of the fit over the curve's points.
    pub rms_residual: f64,
}

/// [`Extrapolation`] of `(N, y)` points; `None` with fewer than 3 points.
pub fn extrapolate(points: &[(f64, f64)]) -> Option<Extrapolation> {
    if points.len() < 3 || points.iter().any(|p| !(p.0 > 0.0 && p.1.is_finite())) {
        return None;
    }
    let fit = |alpha: f64| {
        // Linear least squares of y on x = N^-alpha.
        let m = points.len() as f64;
        let xs: Vec<f64> = points.iter().map(|p| p.0.powf(-alpha)).collect();
        let (mx, my) = (
            xs.iter().sum::<f64>() / m,
            points.iter().map(|p| p.1).sum::<f64>() / m,
        );
        let sxx: f64 = xs.iter().map(|x| (x - mx).powi(2)).sum();
        let sxy: f64 = xs
            .iter()
            .zip(points)
            .map(|(x, p)| (x - mx) * (p.1 - my))
            .sum();
        let b = if sxx > 0.0 { sxy / sxx } else { 0.0 };
        let limit = my - b * mx;
        let rss: f64 = xs
            .iter()
            .zip(points)
            .map(|(x, p)| (p.1 - limit - b * x).powi(2))
            .sum();
        Extrapolation {
            limit,
            b,
            alpha,
            rms_residual: (rss / m).sqrt(),
        }
    };
    (1..=40)
        .map(|i| fit(0.05 * i as f64))
        .min_by(|a, b| a.rms_residual.total_cmp(&b.rms_residual))
}
