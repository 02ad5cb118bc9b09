//! Pairing inefficiency `Delta_E = E_DT / E_OT - 1` (paper Definition 1, Eq. 6) with its
//! controls and bootstrap intervals. The formula itself lives in `dmd-ot` and is not repeated
//! here: the estimate is [`dmd_ot::pairing_inefficiency`], every bootstrap resample is
//! [`dmd_ot::pairing_inefficiency_from_cost`] on the resampled cost matrix.
//!
//! Controls, the reference values a student's `Delta_E` is read against:
//! * `Delta_E(Phi_K, G)` for the paper's reference `K = 8` and a fine reference (`Phi_32`);
//! * `Delta_E(Phi_K, Phi_1)`: the student's starting point;
//! * the fully-remapped reference `Delta_E(Phi_K(z), Phi_K(z'))` with independent seeds `z'`:
//!   what a student that ignores the pairing would score at this dimension;
//! * a random permutation of `G`'s rows (destroys the pairing: large `Delta_E`);
//! * the dimension-free copy score `(E_rand - E_DT) / (E_rand - E_OT)` (1 = copying,
//!   0 = random pairing), `E_rand` being the mean of the cost matrix.
//!
//! Bootstrap: N seed indices are resampled with replacement and the statistic recomputed on
//! the resampled pairs; the optimal assignment is re-solved for every resample (on the
//! resampled rows and columns of the cost matrix, which is computed once). A resample has only
//! ~63% distinct seeds and the optimal assignment among fewer distinct points costs more, so
//! resampled `Delta_E` sits below the full-sample value; the intervals are therefore the
//! resamples' quantiles re-centred on the estimate ([`bootstrap_intervals_around`]), with the
//! offset kept in `centre_shift`.

use dmd_ot::OtError;
use ndarray::{Array2, ArrayView2};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::bootstrap::{BootstrapConfig, BootstrapInterval, bootstrap_intervals_around};
use crate::error::{AnalysisError, Result, check_same_shape};

/// `Delta_E` of one pair of sample sets (paper Definition 1, Eq. 6), with the energies and
/// optional bootstrap intervals; the values are those of [`dmd_ot::PairingInefficiency`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeltaEEstimate {
    /// `Delta_E = E_DT / E_OT - 1`.
    pub delta_e: f64,
    /// Direct (same-seed) energy `E_DT`.
    pub e_dt: f64,
    /// Optimal-transport energy `E_OT`.
    pub e_ot: f64,
    /// Random-pairing energy `E_rand` (mean of the cost matrix).
    pub e_rand: f64,
    /// Copy score `(E_rand - E_DT) / (E_rand - E_OT)`.
    pub copy_score: f64,
    /// Fraction of seeds whose optimal partner is their own (`pi(i) = i`).
    pub fixed_point_fraction: f64,
    /// Number of seeds `N`.
    pub n: usize,
    /// Bootstrap interval of `Delta_E`.
    pub delta_e_interval: Option<BootstrapInterval>,
    /// Bootstrap interval of the copy score.
    pub copy_score_interval: Option<BootstrapInterval>,
}

/// `(delta_e, copy score)` of one bootstrap resample: the full cost matrix restricted to the
/// seeds `idx` (with repeats), scored by [`dmd_ot::pairing_inefficiency_from_cost`]
/// (paper Definition 1, Eq. 6), or within classes with `labels`.
fn resample_statistics(
    cost: &Array2<f64>,
    labels: Option<&[i64]>,
    idx: &[usize],
) -> Result<(f64, f64)> {
    let n = idx.len();
    let sub = Array2::from_shape_fn((n, n), |(a, b)| cost[[idx[a], idx[b]]]);
    let scored = match labels {
        Some(l) => {
            let sub_labels: Vec<i64> = idx.iter().map(|&i| l[i]).collect();
            dmd_ot::pairing_inefficiency_within_classes(sub.view(), &sub_labels)
        }
        None => dmd_ot::pairing_inefficiency_from_cost(sub.view()),
    };
    let p = scored.map_err(|e| match e {
        OtError::ZeroOptimalCost { .. } => AnalysisError::Degenerate {
            what: "delta_e bootstrap",
            detail: "a resample has E_OT = 0 (the two sets coincide up to a permutation)".into(),
        },
        other => other.into(),
    })?;
    Ok((p.delta_e, p.copy_score()))
}

/// `delta_e = e_dt / e_ot - 1` (paper Definition 1, Eq. 6) of `(phi, g)` for seed-aligned rows,
/// as computed by [`dmd_ot::pairing_inefficiency`], with bootstrap intervals when `bootstrap` is
/// given (`n_resamples` assignment solves, each through
/// [`dmd_ot::pairing_inefficiency_from_cost`]).
pub fn delta_e(
    phi: ArrayView2<f32>,
    g: ArrayView2<f32>,
    bootstrap: Option<&BootstrapConfig>,
) -> Result<DeltaEEstimate> {
    delta_e_labelled(phi, g, None, bootstrap)
}

/// [`delta_e`], or with `labels` (one per seed) the within-class version
/// ([`dmd_ot::pairing_inefficiency_within_classes`]: only same-label pairs), bootstrap
/// resamples included.
pub fn delta_e_labelled(
    phi: ArrayView2<f32>,
    g: ArrayView2<f32>,
    labels: Option<&[i64]>,
    bootstrap: Option<&BootstrapConfig>,
) -> Result<DeltaEEstimate> {
    check_same_shape("delta_e", phi.shape(), g.shape())?;
    let p = match labels {
        Some(l) => {
            let cost = dmd_ot::try_sq_euclidean_cost(phi, g)?;
            dmd_ot::pairing_inefficiency_within_classes(cost.view(), l)?
        }
        None => dmd_ot::pairing_inefficiency(phi, g)?,
    };
    let mut est = DeltaEEstimate {
        delta_e: p.delta_e,
        e_dt: p.e_dt,
        e_ot: p.e_ot,
        e_rand: p.e_rand,
        copy_score: p.copy_score(),
        fixed_point_fraction: p.fixed_point_fraction(),
        n: p.n,
        delta_e_interval: None,
        copy_score_interval: None,
    };
    if let Some(cfg) = bootstrap {
        let cost = dmd_ot::try_sq_euclidean_cost(phi, g)?;
        let iv = bootstrap_intervals_around(p.n, &[est.delta_e, est.copy_score], cfg, |idx| {
            let (d, c) = resample_statistics(&cost, labels, idx)?;
            Ok(vec![d, c])
        })?;
        // Delta_E >= 0 and copy score <= 1 by construction (E_DT >= E_OT); re-centring must
        // not push an end past them.
        let (mut d, mut c) = (iv[0], iv[1]);
        d.lower = d.lower.max(0.0);
        c.upper = c.upper.min(1.0);
        est.delta_e_interval = Some(d);
        est.copy_score_interval = Some(c);
    }
    Ok(est)
}

/// Rows of `x` in the order of a seeded random permutation.
pub fn permute_rows(x: ArrayView2<f32>, seed: u64) -> Array2<f32> {
    let mut perm: Vec<usize> = (0..x.nrows()).collect();
    perm.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    x.select(ndarray::Axis(0), &perm)
}

/// The sample sets that enter the pairing measurements (rows aligned by seed).
#[derive(Debug, Clone)]
pub struct PairingSets<'a> {
    /// Teacher steps `K` of the reference (paper: 8).
    pub k: usize,
    /// `Phi_K(z)`.
    pub phi_k: ArrayView2<'a, f32>,
    /// Student `G(z)`.
    pub g: ArrayView2<'a, f32>,
    /// A fine reference `(K_fine, Phi_{K_fine}(z))`, e.g. `(32, Phi_32)`.
    pub fine: Option<(usize, ArrayView2<'a, f32>)>,
    /// One-step teacher `Phi_1(z)`.
    pub phi_1: Option<ArrayView2<'a, f32>>,
    /// `Phi_K(z')` for independent seeds `z'` (fully-remapped reference).
    pub phi_k_independent: Option<ArrayView2<'a, f32>>,
}

/// All `Delta_E` values of a run, for `metrics.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairingReport {
    /// Teacher steps `K` of the reference.
    pub k: usize,
    /// `Delta_E(Phi_K, G)`.
    pub student: DeltaEEstimate,
    /// Steps of the fine reference, if measured.
    pub fine_k: Option<usize>,
    /// `Delta_E(Phi_fine, G)`.
    pub student_vs_fine: Option<DeltaEEstimate>,
    /// `Delta_E(Phi_K, Phi_1)`.
    pub teacher_one_step: Option<DeltaEEstimate>,
    /// `Delta_E(Phi_K(z), Phi_K(z'))`, independent seeds: the fully-remapped reference.
    pub fully_remapped: Option<DeltaEEstimate>,
    /// `Delta_E(Phi_K, G o pi)` for a random permutation `pi`: the pairing destroyed.
    pub permuted: DeltaEEstimate,
    /// Seed of the permutation control.
    pub permutation_seed: u64,
}

impl PairingReport {
    /// Computes every `Delta_E` the sets allow; bootstrap intervals for the student's values
    /// only (the controls are reference points) when `bootstrap` is given.
    pub fn new(
        sets: &PairingSets,
        bootstrap: Option<&BootstrapConfig>,
        permutation_seed: u64,
    ) -> Result<Self> {
        let student = delta_e(sets.phi_k, sets.g, bootstrap)?;
        let student_vs_fine = sets
            .fine
            .map(|(_, fine)| delta_e(fine, sets.g, bootstrap))
            .transpose()?;
        let teacher_one_step = sets
            .phi_1
            .map(|p1| delta_e(sets.phi_k, p1, None))
            .transpose()?;
        let fully_remapped = sets
            .phi_k_independent
            .map(|ind| delta_e(sets.phi_k, ind, None))
            .transpose()?;
        let permuted = delta_e(
            sets.phi_k,
            permute_rows(sets.g, permutation_seed).view(),
            None,
        )?;
        Ok(Self {
            k: sets.k,
            student,
            fine_k: sets.fine.map(|f| f.0),
            student_vs_fine,
            teacher_one_step,
            fully_remapped,
            permuted,
            permutation_seed,
        })
    }
}
