//! Principal component analysis of a sample set (paper Fig. 1 bottom, Fig. 10: PCA of the
//! teacher samples `Phi_8`, onto which triplets `(Phi_8, Phi_1, G)` are projected).
//!
//! Method: the full symmetric eigendecomposition of the `d x d` sample covariance with `faer`
//! (exact, deterministic; about a second for `d = 1024`). Above [`GRAM_DIM`] dimensions with
//! fewer samples than dimensions (ImageNet-64: `d = 12288`), the `n x n` Gram matrix of the
//! centred samples instead: same nonzero eigenvalues, components `X_c^T u / |X_c^T u|`.
//! Components are sign-normalised so that the entry of largest magnitude of each is positive.

use ndarray::{Array1, Array2, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::error::{AnalysisError, Result, check_finite};
use crate::linalg::{mean_and_covariance, symmetric_eigen};

/// Dimension above which [`Pca::fit`] diagonalises the `n x n` Gram matrix when `n < d` (a
/// `d x d` covariance there is 1.2 GB and its eigendecomposition takes minutes).
pub const GRAM_DIM: usize = 4096;

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
        let n = x.nrows();
        if d > GRAM_DIM && n < d {
            return Self::fit_by_gram(x, n_components);
        }
        let (mean, cov) = mean_and_covariance(x)?;
        let total_variance = cov.diag().sum();
        let (values, vectors) = symmetric_eigen(&cov)?;
        let vectors: Vec<Array1<f64>> = (0..n_components)
            .map(|c| vectors.column(c).to_owned())
            .collect();
        Ok(Self::from_parts(
            mean,
            &vectors,
            &values[..n_components],
            total_variance,
        ))
    }

    /// [`Pca::fit`] through the Gram matrix `X_c X_c^T / (n - 1)` (`n < d`).
    fn fit_by_gram(x: ArrayView2<f32>, n_components: usize) -> Result<Self> {
        let n = x.nrows();
        if n < 2 || n_components > n - 1 {
            return Err(AnalysisError::TooFewSamples {
                what: "Pca::fit",
                needed: n_components + 1,
                got: n,
            });
        }
        let xf = x.mapv(f64::from);
        let mean = xf.mean_axis(ndarray::Axis(0)).expect("n >= 2");
        let xc = &xf - &mean;
        let scale = 1.0 / (n as f64 - 1.0);
        let gram = xc.dot(&xc.t()) * scale;
        let gram = Array2::from_shape_fn((n, n), |(i, j)| 0.5 * (gram[[i, j]] + gram[[j, i]]));
        let total_variance = gram.diag().sum();
        let (values, u) = symmetric_eigen(&gram)?;
        let vectors: Vec<Array1<f64>> = (0..n_components)
            .map(|c| {
                let v = xc.t().dot(&u.column(c));
                let norm = v.dot(&v).sqrt();
                if norm > 0.0 { v / norm } else { v }
            })
            .collect();
        Ok(Self::from_parts(
            mean,
            &vectors,
            &values[..n_components],
            total_variance,
        ))
    }

    /// A PCA from unit eigenvectors (sign-normalised here) and their eigenvalues.
    fn from_parts(
        mean: Array1<f64>,
        vectors: &[Array1<f64>],
        values: &[f64],
        total_variance: f64,
    ) -> Self {
        let d = mean.len();
        let mut components = Array2::zeros((vectors.len(), d));
        for (c, v) in vectors.iter().enumerate() {
            let big = v
                .iter()
                .copied()
                .fold(0.0f64, |a, b| if b.abs() > a.abs() { b } else { a });
            let sign = if big < 0.0 { -1.0 } else { 1.0 };
            components.row_mut(c).assign(&v.mapv(|e| e * sign));
        }
        Self {
            mean,
            components,
            explained_variance: values.iter().map(|v| v.max(0.0)).collect(),
            total_variance,
        }
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

#[cfg(test)]
mod gram_tests {
    use super::*;

    /// The Gram route (used above `GRAM_DIM` dimensions) gives the covariance route's
    /// components, variances and projections when there are fewer samples than dimensions.
    #[test]
    fn gram_route_equals_the_covariance_route() {
        let (n, d) = (20, 50);
        let x = Array2::from_shape_fn((n, d), |(i, j)| {
            (((i * 31 + j * 17) % 23) as f32 - 11.0) * (1.0 + j as f32 / 10.0)
        });
        let a = Pca::fit(x.view(), 5).unwrap();
        let b = Pca::fit_by_gram(x.view(), 5).unwrap();
        assert!((a.total_variance - b.total_variance).abs() <= 1e-9 * a.total_variance);
        for (va, vb) in a.explained_variance.iter().zip(&b.explained_variance) {
            assert!((va - vb).abs() <= 1e-9 * a.total_variance, "{va} vs {vb}");
        }
        for (ca, cb) in a.components.iter().zip(b.components.iter()) {
            assert!((ca - cb).abs() <= 1e-6, "{ca} vs {cb}");
        }
        assert!(
            Pca::fit_by_gram(x.view(), 20).is_err(),
            "at most n - 1 components"
        );
    }
}
