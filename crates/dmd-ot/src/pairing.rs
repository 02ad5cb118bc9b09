//! The pairing inefficiency `Delta_E = E_DT / E_OT - 1` (paper Definition 1, Eq. 6).
//!
//! For teacher samples `Phi(z_i)` and student samples `G(z_i)` drawn from the same noises `z_i`,
//! with the cost matrix `C_ij = ||Phi(z_i) - G(z_j)||^2`:
//! - direct-pairing energy `E_DT = (1/N) sum_i C_ii` (field `e_dt`),
//! - optimal-transport energy `E_OT = min_pi (1/N) sum_i C_{i,pi(i)}` (field `e_ot`),
//! - random-pairing energy `E_rand = (1/N^2) sum_{i,j} C_ij` (field `e_rand`).
//!
//! `Delta_E >= 0` (the identity is one of the permutations) and is invariant to a common rescaling
//! of both sets (paper Lemma 3). `Delta_E ~ 0` means the student copies the teacher's pairing;
//! large values mean it remaps noises to other outputs.
//!
//! This module is the one place the formula is evaluated: [`pairing_inefficiency`] starts from
//! the two point sets, [`pairing_inefficiency_from_cost`] from a cost matrix (e.g. the rows and
//! columns of a bootstrap resample), and the first calls the second.

use crate::assignment::{check_finite, solve_assignment};
use crate::cost::try_sq_euclidean_cost;
use crate::error::OtError;
use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

/// `Delta_E` and the energies it is made of (paper Definition 1, Eq. 6).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairingInefficiency {
    /// `Delta_E = E_DT / E_OT - 1` (rounding below 0 is clamped to 0).
    pub delta_e: f64,
    /// Direct-pairing energy `E_DT = mean_i ||phi_i - g_i||^2`.
    pub e_dt: f64,
    /// Optimal-transport energy `E_OT = min_pi mean_i ||phi_i - g_pi(i)||^2` (exact assignment).
    pub e_ot: f64,
    /// Random-pairing energy `E_rand = mean_{i,j} ||phi_i - g_j||^2`: the mean of the whole cost
    /// matrix, used by the copy score.
    pub e_rand: f64,
    /// Number of points `N`.
    pub n: usize,
    /// `assignment[i]` is the row of `g` matched to row `i` of `phi` by the optimal assignment.
    pub assignment: Vec<usize>,
}

impl PairingInefficiency {
    /// Copy score `(E_rand - E_DT) / (E_rand - E_OT)`: 1 when the direct pairing is optimal, 0 when
    /// it is no better than a random pairing (NaN when `E_rand = E_OT`, i.e. all pairings cost the same).
    pub fn copy_score(&self) -> f64 {
        (self.e_rand - self.e_dt) / (self.e_rand - self.e_ot)
    }

    /// Fraction of rows whose optimal partner is their direct partner (`assignment[i] == i`).
    pub fn fixed_point_fraction(&self) -> f64 {
        let fixed = self
            .assignment
            .iter()
            .enumerate()
            .filter(|&(i, &j)| i == j)
            .count();
        fixed as f64 / self.n as f64
    }
}

/// Computes `delta_e = e_dt / e_ot - 1` (paper Definition 1, Eq. 6) for two `N x d` point sets
/// whose rows are paired by index: the squared-Euclidean cost matrix `C_ij = ||phi_i - g_j||^2`
/// ([`try_sq_euclidean_cost`]) scored by [`pairing_inefficiency_from_cost`].
///
/// Errors: different shapes ([`OtError::ShapeMismatch`]), `N = 0` ([`OtError::Empty`]),
/// NaN/inf entries ([`OtError::NonFinite`]), energies that overflow `f64`
/// ([`OtError::Overflow`]), and `E_OT = 0` ([`OtError::ZeroOptimalCost`]): the sets are
/// identical up to a permutation, where `Delta_E` is undefined.
pub fn pairing_inefficiency(
    phi: ArrayView2<f32>,
    g: ArrayView2<f32>,
) -> Result<PairingInefficiency, OtError> {
    if phi.dim() != g.dim() {
        return Err(OtError::ShapeMismatch {
            what: "phi and g must both be N x d",
            expected: phi.dim(),
            got: g.dim(),
        });
    }
    let n = phi.nrows();
    if n == 0 {
        return Err(OtError::Empty { what: "phi" });
    }
    check_finite_f32(phi, "phi")?;
    check_finite_f32(g, "g")?;
    let cost = try_sq_euclidean_cost(phi, g)?;
    if let Err(OtError::NonFinite { value, .. }) = check_finite(cost.view(), "cost matrix") {
        // finite points whose squared distances do not fit in f64
        return Err(OtError::Overflow {
            what: "a squared distance between the points",
            value,
        });
    }
    pairing_inefficiency_from_cost(cost.view())
}

/// Computes `delta_e = e_dt / e_ot - 1` (paper Definition 1, Eq. 6) from a square cost matrix
/// whose diagonal is the pairing being scored: `cost[[i, j]]` is the cost of pairing row `i` of
/// the first set with row `j` of the second, so `cost[[i, i]]` is the direct (same-seed) pair.
///
/// `e_dt` is the mean of the diagonal, `e_ot` the mean cost of the exact optimal assignment
/// ([`solve_assignment`]), `e_rand` the mean of the whole matrix; `delta_e` is clamped at 0
/// against rounding. [`pairing_inefficiency`] is this function applied to the squared-Euclidean
/// cost matrix of two point sets; a bootstrap resample (seed indices `idx`, with repeats) is
/// this function applied to `cost[[idx[a], idx[b]]]`.
///
/// Errors: an empty ([`OtError::Empty`]) or non-square ([`OtError::ShapeMismatch`]) matrix, a
/// NaN/inf entry ([`OtError::NonFinite`]), a sum of entries that overflows `f64`
/// ([`OtError::Overflow`]), and `e_ot = 0` ([`OtError::ZeroOptimalCost`]), where `delta_e` is
/// undefined.
pub fn pairing_inefficiency_from_cost(
    cost: ArrayView2<f64>,
) -> Result<PairingInefficiency, OtError> {
    // Validates the matrix (non-empty, square, finite) before any entry is read.
    let assignment = solve_assignment(cost)?;
    let n = cost.nrows();
    let nf = n as f64;
    let e_dt = (0..n).map(|i| cost[[i, i]]).sum::<f64>() / nf;
    let e_rand = cost.sum() / (nf * nf);
    let e_ot = assignment.total_cost / nf;
    for (what, value) in [
        ("the direct-pairing energy E_DT (sum of the diagonal)", e_dt),
        (
            "the random-pairing energy E_rand (sum of all entries)",
            e_rand,
        ),
    ] {
        if !value.is_finite() {
            return Err(OtError::Overflow { what, value });
        }
    }
    if e_ot <= 0.0 {
        return Err(OtError::ZeroOptimalCost { e_dt });
    }
    let delta_e = (e_dt / e_ot - 1.0).max(0.0);
    Ok(PairingInefficiency {
        delta_e,
        e_dt,
        e_ot,
        e_rand,
        n,
        assignment: assignment.row_to_col,
    })
}

/// `delta_e = e_dt / e_ot - 1` (paper Definition 1, Eq. 6) restricted to same-label pairs, for
/// conditional generation: row `i` and column `j` may be paired only when
/// `labels[i] == labels[j]` (a seed's label is the class both models were asked for).
///
/// `e_dt` is unchanged (the direct pairs share their label), `e_ot` is the sum of the optimal
/// assignments within each class's block of `cost`, over `N`, and `e_rand` is the mean over rows of
/// the mean cost to the columns of the row's class: a random pairing *within* the class. So the
/// copy score is 1 for a copier and about 0 for a student that gets the class right but pairs
/// seeds at random inside it (the unrestricted copy score rewards getting the class right).
/// `assignment` maps rows to columns of the whole matrix.
///
/// Errors as [`pairing_inefficiency_from_cost`], plus a `labels` length other than `N`
/// ([`OtError::ShapeMismatch`]).
pub fn pairing_inefficiency_within_classes(
    cost: ArrayView2<f64>,
    labels: &[i64],
) -> Result<PairingInefficiency, OtError> {
    let n = cost.nrows();
    if labels.len() != n || cost.ncols() != n {
        return Err(OtError::ShapeMismatch {
            what: "the cost matrix must be N x N with N labels",
            expected: (labels.len(), labels.len()),
            got: cost.dim(),
        });
    }
    if n == 0 {
        return Err(OtError::Empty { what: "cost" });
    }
    check_finite(cost, "cost matrix")?;
    let mut classes: Vec<i64> = labels.to_vec();
    classes.sort_unstable();
    classes.dedup();
    let nf = n as f64;
    let (mut ot_total, mut rand_total) = (0.0, 0.0);
    let mut assignment = vec![0usize; n];
    for c in classes {
        let idx: Vec<usize> = (0..n).filter(|&i| labels[i] == c).collect();
        let block =
            ndarray::Array2::from_shape_fn((idx.len(), idx.len()), |(a, b)| cost[[idx[a], idx[b]]]);
        let solved = solve_assignment(block.view())?;
        ot_total += solved.total_cost;
        rand_total += block.sum() / idx.len() as f64;
        for (a, &b) in solved.row_to_col.iter().enumerate() {
            assignment[idx[a]] = idx[b];
        }
    }
    let e_dt = (0..n).map(|i| cost[[i, i]]).sum::<f64>() / nf;
    let (e_ot, e_rand) = (ot_total / nf, rand_total / nf);
    if !(e_dt.is_finite() && e_rand.is_finite()) {
        return Err(OtError::Overflow {
            what: "the within-class energies",
            value: e_rand,
        });
    }
    if e_ot <= 0.0 {
        return Err(OtError::ZeroOptimalCost { e_dt });
    }
    Ok(PairingInefficiency {
        delta_e: (e_dt / e_ot - 1.0).max(0.0),
        e_dt,
        e_ot,
        e_rand,
        n,
        assignment,
    })
}

/// First non-finite entry of an `f32` array, as an error.
fn check_finite_f32(a: ArrayView2<f32>, what: &'static str) -> Result<(), OtError> {
    for ((row, col), &value) in a.indexed_iter() {
        if !value.is_finite() {
            return Err(OtError::NonFinite {
                what,
                row,
                col,
                value: f64::from(value),
            });
        }
    }
    Ok(())
}
