//! Per-seed distances between sample sets: the relative displacement
//! `delta(z) = ||G(z) - Phi_K(z)|| - ||Phi_1(z) - Phi_K(z)||` (paper Sec. 4.2.1) and the
//! displacement pairs `(||Phi_1 - Phi_K||, ||G - Phi_K||)` of paper Fig. 11.

use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

use crate::error::{Result, check_same_shape};

/// `||a_i - b_i||` for every row `i` (f64 accumulation).
pub fn row_distances(a: ArrayView2<f32>, b: ArrayView2<f32>) -> Result<Vec<f64>> {
    check_same_shape("row_distances", a.shape(), b.shape())?;
    Ok(a.outer_iter()
        .zip(b.outer_iter())
        .map(|(x, y)| {
            x.iter()
                .zip(y.iter())
                .map(|(&p, &q)| (f64::from(p) - f64::from(q)).powi(2))
                .sum::<f64>()
                .sqrt()
        })
        .collect())
}

/// Per-seed distances to the multi-step teacher `Phi_K`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DisplacementPairs {
    /// `||Phi_1(z) - Phi_K(z)||` (horizontal axis of Fig. 11).
    pub teacher_one_step: Vec<f64>,
    /// `||G(z) - Phi_K(z)||` (vertical axis of Fig. 11).
    pub student: Vec<f64>,
}

impl DisplacementPairs {
    /// Computes both distances for the rows of `phi_k`, `phi_1`, `g` (same seeds, same order).
    pub fn new(phi_k: ArrayView2<f32>, phi_1: ArrayView2<f32>, g: ArrayView2<f32>) -> Result<Self> {
        Ok(Self {
            teacher_one_step: row_distances(phi_1, phi_k)?,
            student: row_distances(g, phi_k)?,
        })
    }

    /// `delta(z) = ||G - Phi_K|| - ||Phi_1 - Phi_K||` per seed; negative = the student moved
    /// toward its own seed's teacher sample (copying).
    pub fn delta(&self) -> Vec<f64> {
        self.student
            .iter()
            .zip(&self.teacher_one_step)
            .map(|(s, t)| s - t)
            .collect()
    }

    /// Fraction of seeds with `||G - Phi_K|| < ||Phi_1 - Phi_K||` (below the y = x line).
    pub fn fraction_closer(&self) -> f64 {
        let n = self.student.len();
        if n == 0 {
            return 0.0;
        }
        self.delta().iter().filter(|&&d| d < 0.0).count() as f64 / n as f64
    }
}

/// `delta(z)` for every seed (paper Sec. 4.2.1).
pub fn relative_displacement(
    g: ArrayView2<f32>,
    phi_k: ArrayView2<f32>,
    phi_1: ArrayView2<f32>,
) -> Result<Vec<f64>> {
    Ok(DisplacementPairs::new(phi_k, phi_1, g)?.delta())
}
