//! Principal component analysis of a sample set (paper Fig. 1 bottom, Fig. 10: PCA of the
//! teacher samples `Phi_8`, onto which triplets `(Phi_8, Phi_1, G)` are projected).
//!
//! Method: the full symmetric eigendecomposition of the `d x d` sample covariance with `faer`
//! (exact, deterministic; about a second for `d = 1024`). Components are sign-normalised so
//! that the entry of largest magnitude of each is positive.

use ndarray::{Array1, Array2, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::error::{AnalysisError, Result, check_finite};
use crate::linalg::{mean_and_covariance, symmetric_eigen};

/// A fitted PCA: mean, leading components and their variances.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pca {
    /// Mean of the fitted samples (length `d`).
    pub mean: Array1<f64>,
    /// Components as rows (`n_components x d`), orthonormal, by decreasing variance.
    pub components: Array2<f64>,
    /// Variance along each component (eigenvalues of the covariance).
    pub explained_variance: Vec<f64>,
    /// Total variance (trace of the covariance).
    pub total_variance: f64,
}

impl Pca {
    /// Fits `n_components` principal components to the rows of `x`.
    pub fn fit(x: ArrayView2<f32>, n_components: usize) -> Result<Self> {
        let d = x.ncols();
        if n_components == 0 || n_components > d {
            return Err(AnalysisError::InvalidParameter {
                name: "n_components",
                reason: format!("must be in 1..={d} (the data dimension), got {n_components}"),
            });
        }
        check_finite("Pca::fit", x.iter())?;
        let (mean, cov) = mean_and_covariance(x)?;
        let total_variance = cov.diag().sum();
        let (values, vectors) = symmetric_eigen(&cov)?;
        let mut components = Array2::zeros((n_components, d));
        for c in 0..n_components {
            let v = vectors.column(c);
            let big = v
                .iter()
                .copied()
                .fold(0.0f64, |a, b| if b.abs() > a.abs() { b } else { a });
            let sign = if big < 0.0 { -1.0 } else { 1.0 };
            components.row_mut(c).assign(&v.mapv(|e| e * sign));
        }
        Ok(Self {
            mean,
            components,
            explained_variance: values[..n_components].iter().map(|v| v.max(0.0)).collect(),
            total_variance,
        })
    }

    /// Number of components.
    pub fn n_components(&self) -> usize {
        self.components.nrows()
    }

    /// Fraction of the total variance carried by each component.
    pub fn explained_variance_ratio(&self) -> Vec<f64> {
        self.explained_variance
            .iter()
            .map(|v| {
                if self.total_variance > 0.0 {
                    v / self.total_variance
                } else {
                    0.0
                }
            })
            .collect()
    }

    /// Coordinates of the rows of `y` on the components: `(y - mean) V^T` (`n x n_components`).
    pub fn project(&self, y: ArrayView2<f32>) -> Result<Array2<f64>> {
        if y.ncols() != self.mean.len() {
            return Err(AnalysisError::Shape {
                what: "Pca::project",
                detail: format!(
                    "samples have {} columns, the PCA was fitted on {}",
                    y.ncols(),
                    self.mean.len()
                ),
            });
        }
        let yc = y.mapv(f64::from) - &self.mean;
        Ok(yc.dot(&self.components.t()))
    }
}

/// Projections of seed-aligned triplets onto the leading 2 PCs of the teacher samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TripletProjection {
    /// The PCA fitted on `Phi_K`.
    pub pca: Pca,
    /// `Phi_K` coordinates (`n x 2`).
    pub teacher: Array2<f64>,
    /// `Phi_1` coordinates.
    pub teacher_one_step: Array2<f64>,
    /// `G` coordinates.
    pub student: Array2<f64>,
}

impl TripletProjection {
    /// Fits a 2-component PCA on `phi_k` and projects `phi_k`, `phi_1` and `g` onto it.
    pub fn new(phi_k: ArrayView2<f32>, phi_1: ArrayView2<f32>, g: ArrayView2<f32>) -> Result<Self> {
        let pca = Pca::fit(phi_k, 2)?;
        Ok(Self {
            teacher: pca.project(phi_k)?,
            teacher_one_step: pca.project(phi_1)?,
            student: pca.project(g)?,
            pca,
        })
    }
}
