//! Data of the distance heatmap (paper Figs. 3 and 7): squared distances
//! `C[i, j] = ||Phi_K(z_i) - G(z_j)||^2` for the first `n` seeds and the optimal assignment
//! `j = pi(i)` of that `n x n` problem.

use ndarray::{Array2, ArrayView2, s};
use serde::{Deserialize, Serialize};

use crate::error::{AnalysisError, Result, check_same_shape};

/// Cost matrix and optimal assignment of the first `n` seeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DistanceHeatmap {
    /// `C[i, j] = ||Phi_K(z_i) - G(z_j)||^2`.
    pub cost: Array2<f64>,
    /// `assignment[i] = pi(i)`, the optimal partner of teacher sample `i`.
    pub assignment: Vec<usize>,
}

impl DistanceHeatmap {
    /// Uses the first `n` rows of `phi_k` and `g` (paper: n = 100).
    pub fn new(phi_k: ArrayView2<f32>, g: ArrayView2<f32>, n: usize) -> Result<Self> {
        check_same_shape("DistanceHeatmap", phi_k.shape(), g.shape())?;
        if n == 0 || n > phi_k.nrows() {
            return Err(AnalysisError::InvalidParameter {
                name: "n",
                reason: format!(
                    "must be in 1..={} (the number of seeds), got {n}",
                    phi_k.nrows()
                ),
            });
        }
        let cost = dmd_ot::try_sq_euclidean_cost(phi_k.slice(s![..n, ..]), g.slice(s![..n, ..]))?;
        let assignment = dmd_ot::solve_assignment(cost.view())?.row_to_col;
        Ok(Self { cost, assignment })
    }
}
