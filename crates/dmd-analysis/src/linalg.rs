//! Dense symmetric linear algebra on top of `faer` (pure Rust, no system LAPACK): sample
//! covariance, symmetric eigendecomposition and the symmetric PSD square root.

use faer::{Mat, Side};
use ndarray::{Array1, Array2, ArrayView2};

use crate::error::{AnalysisError, Result};

/// Converts an ndarray matrix to a faer matrix (f64).
pub(crate) fn to_faer(a: &Array2<f64>) -> Mat<f64> {
    Mat::from_fn(a.nrows(), a.ncols(), |i, j| a[[i, j]])
}

/// Converts a faer matrix back to ndarray.
pub(crate) fn from_faer(a: faer::MatRef<'_, f64>) -> Array2<f64> {
    Array2::from_shape_fn((a.nrows(), a.ncols()), |(i, j)| a[(i, j)])
}

/// Sample mean and unbiased covariance (`1 / (n - 1)`) of the rows of `x`, in f64.
pub fn mean_and_covariance(x: ArrayView2<f32>) -> Result<(Array1<f64>, Array2<f64>)> {
    let (n, d) = x.dim();
    if n < 2 {
        return Err(AnalysisError::TooFewSamples {
            what: "covariance",
            needed: 2,
            got: n,
        });
    }
    let xf = x.mapv(f64::from);
    let mean = xf.mean_axis(ndarray::Axis(0)).expect("n >= 2");
    let xc = Mat::from_fn(n, d, |i, j| xf[[i, j]] - mean[j]);
    let cov = xc.transpose() * &xc;
    let scale = 1.0 / (n as f64 - 1.0);
    Ok((
        mean,
        Array2::from_shape_fn((d, d), |(i, j)| 0.5 * (cov[(i, j)] + cov[(j, i)]) * scale),
    ))
}

/// Eigendecomposition of a symmetric matrix: eigenvalues in DEcreasing order and the matching
/// eigenvectors as columns.
pub fn symmetric_eigen(a: &Array2<f64>) -> Result<(Vec<f64>, Array2<f64>)> {
    let n = a.nrows();
    if n != a.ncols() {
        return Err(AnalysisError::Shape {
            what: "symmetric_eigen",
            detail: format!("{:?} is not square", a.dim()),
        });
    }
    if a.iter().any(|v| !v.is_finite()) {
        return Err(AnalysisError::NonFinite {
            what: "symmetric_eigen",
        });
    }
    let evd = to_faer(a)
        .self_adjoint_eigen(Side::Lower)
        .map_err(|_| AnalysisError::Linalg {
            what: "symmetric_eigen",
        })?;
    let s = evd.S().column_vector();
    let u = evd.U();
    let values: Vec<f64> = (0..n).rev().map(|i| s[i]).collect();
    let vectors = Array2::from_shape_fn((n, n), |(i, j)| u[(i, n - 1 - j)]);
    Ok((values, vectors))
}

/// Square root `U diag(sqrt(max(lambda, 0))) U^T` of a symmetric positive semi-definite
/// matrix (negative eigenvalues from round-off are clamped to 0).
pub fn symmetric_sqrt(a: &Array2<f64>) -> Result<Array2<f64>> {
    let (values, u) = symmetric_eigen(a)?;
    let mut us = u.clone();
    for (j, &l) in values.iter().enumerate() {
        let s = l.max(0.0).sqrt();
        us.column_mut(j).mapv_inplace(|v| v * s);
    }
    let r = from_faer((to_faer(&us) * to_faer(&u).transpose()).as_ref());
    Ok(r)
}

/// Trace of `sqrt(A)` for symmetric PSD `A`: `sum sqrt(max(lambda, 0))`.
pub fn trace_sqrt(a: &Array2<f64>) -> Result<f64> {
    let (values, _) = symmetric_eigen(a)?;
    Ok(values.iter().map(|l| l.max(0.0).sqrt()).sum())
}
