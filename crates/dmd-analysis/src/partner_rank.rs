//! The rank of each seed's own partner in its cost row: a per-seed pairing statistic that,
//! unlike `delta(z)` (paper Sec. 4.2.1, Fig. 6), does not contain `||Phi_1(z) - Phi_K(z)||`.
//!
//! For seed `i` and `C_ij = ||Phi_K(z_i) - G(z_j)||^2`, the rank is the share of the other
//! students closer to the teacher's sample than the seed's own student,
//! `u_i = (#{j != i : C_ij < C_ii} + #{j != i : C_ij = C_ii} / 2) / (N - 1)`: 0 when the own
//! partner is the nearest (copying at that seed), uniform on `[0, 1]` under a random pairing.
//! Under a random pairing the own partner's position among the `N` entries of the row is
//! uniform, so `p_i = (1 + #{j != i : C_ij <= C_ii}) / N` is an exact p-value for "the seed's
//! pairing is kept", whatever `D` and the data.

use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

use crate::error::{AnalysisError, Result, check_same_shape};

/// Per-seed partner ranks and p-values ([module docs](self)).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartnerRanks {
    /// `u_i` in `[0, 1]` (0 = own partner nearest).
    pub rank: Vec<f64>,
    /// Exact p-values `p_i` under a random pairing.
    pub p_value: Vec<f64>,
}

impl PartnerRanks {
    /// Mean rank (0.5 under a random pairing, 0 for a copy).
    pub fn mean_rank(&self) -> f64 {
        self.rank.iter().sum::<f64>() / self.rank.len().max(1) as f64
    }

    /// Share of seeds whose own partner is the nearest (`p_i = 1 / N`).
    pub fn nearest_fraction(&self) -> f64 {
        let n = self.p_value.len();
        let min_p = 1.0 / n as f64;
        self.p_value.iter().filter(|&&p| p <= min_p).count() as f64 / n.max(1) as f64
    }
}

/// The partner ranks of seed-aligned sets `phi`, `g` (`N x d`, `N >= 2`).
pub fn partner_ranks(phi: ArrayView2<f32>, g: ArrayView2<f32>) -> Result<PartnerRanks> {
    check_same_shape("partner_ranks", phi.shape(), g.shape())?;
    let n = phi.nrows();
    if n < 2 {
        return Err(AnalysisError::Degenerate {
            what: "partner_ranks",
            detail: format!("needs at least 2 seeds, got {n}"),
        });
    }
    let cost = dmd_ot::try_sq_euclidean_cost(phi, g)?;
    let (mut rank, mut p_value) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for (i, row) in cost.rows().into_iter().enumerate() {
        let own = row[i];
        let (mut below, mut tied) = (0usize, 0usize);
        for (j, &c) in row.iter().enumerate() {
            if j != i {
                below += usize::from(c < own);
                tied += usize::from(c == own);
            }
        }
        rank.push((below as f64 + 0.5 * tied as f64) / (n - 1) as f64);
        p_value.push((1 + below + tied) as f64 / n as f64);
    }
    Ok(PartnerRanks { rank, p_value })
}
