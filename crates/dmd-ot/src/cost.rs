//! Squared-Euclidean cost matrices `C_ij = ||x_i - y_j||^2` between two point sets.
//!
//! For small dimension (`d <= DIRECT_MAX_D`) every entry is computed directly as a sum of squared
//! differences in `f64`, which has no cancellation at all. For larger `d` the matrix is formed as
//! `||x_i||^2 + ||y_j||^2 - 2 x_i . y_j` with one `f64` GEMM (faer, multi-threaded), after centring
//! both sets on their common mean so that the norms are as small as possible and the subtraction
//! loses little; negative round-off is clamped to 0.

use crate::error::OtError;
use ndarray::{Array2, ArrayView2, Axis};
use rayon::prelude::*;

/// Largest dimension for which entries are summed directly instead of via a GEMM.
pub const DIRECT_MAX_D: usize = 16;

/// Squared-Euclidean cost matrix `C_ij = ||x_i - y_j||^2` (shape `n x m`) in `f64`.
///
/// # Panics
/// If `x` and `y` have different numbers of columns; use [`try_sq_euclidean_cost`] to get an
/// error instead.
pub fn sq_euclidean_cost(x: ArrayView2<f32>, y: ArrayView2<f32>) -> Array2<f64> {
    match try_sq_euclidean_cost(x, y) {
        Ok(c) => c,
        Err(e) => panic!("sq_euclidean_cost: {e}"),
    }
}

/// Fallible form of [`sq_euclidean_cost`]: errors when the dimensions differ.
///
/// Non-finite inputs give non-finite entries (the solvers reject them with a precise error).
pub fn try_sq_euclidean_cost(
    x: ArrayView2<f32>,
    y: ArrayView2<f32>,
) -> Result<Array2<f64>, OtError> {
    let (n, d) = x.dim();
    let (m, dy) = y.dim();
    if d != dy {
        return Err(OtError::ShapeMismatch {
            what: "point dimension of x and y",
            expected: (m, d),
            got: (m, dy),
        });
    }
    if n == 0 || m == 0 {
        return Ok(Array2::zeros((n, m)));
    }
    if d <= DIRECT_MAX_D {
        Ok(direct_cost(x, y))
    } else {
        Ok(gemm_cost(x, y))
    }
}

/// Direct `sum_k (x_ik - y_jk)^2` in `f64`, vectorised over `j` with `y` stored transposed.
fn direct_cost(x: ArrayView2<f32>, y: ArrayView2<f32>) -> Array2<f64> {
    let (n, d) = x.dim();
    let m = y.nrows();
    // y transposed: yt[k * m + j] = y[j, k]
    let mut yt = vec![0.0f64; d * m];
    for (j, row) in y.outer_iter().enumerate() {
        for (k, &val) in row.iter().enumerate() {
            yt[k * m + j] = f64::from(val);
        }
    }
    let mut c = vec![0.0f64; n * m];
    c.par_chunks_mut(m).enumerate().for_each(|(i, out)| {
        for k in 0..d {
            let xik = f64::from(x[[i, k]]);
            let col = &yt[k * m..(k + 1) * m];
            for (o, &yv) in out.iter_mut().zip(col) {
                let diff = xik - yv;
                *o += diff * diff;
            }
        }
    });
    Array2::from_shape_vec((n, m), c).expect("shape matches buffer length")
}

/// `||x||^2 + ||y||^2 - 2 x y^T` on centred `f64` copies, one GEMM, clamped at 0.
fn gemm_cost(x: ArrayView2<f32>, y: ArrayView2<f32>) -> Array2<f64> {
    let (n, d) = x.dim();
    let m = y.nrows();
    // common mean of both sets (f64)
    let mut mean = vec![0.0f64; d];
    for row in x.axis_iter(Axis(0)).chain(y.axis_iter(Axis(0))) {
        for (acc, &v) in mean.iter_mut().zip(row.iter()) {
            *acc += f64::from(v);
        }
    }
    let total = (n + m) as f64;
    mean.iter_mut().for_each(|v| *v /= total);
    let centre = |set: &ArrayView2<f32>| -> (Vec<f64>, Vec<f64>) {
        let rows = set.nrows();
        let mut buf = vec![0.0f64; rows * d];
        let mut norms = vec![0.0f64; rows];
        buf.par_chunks_mut(d)
            .zip(norms.par_iter_mut())
            .enumerate()
            .for_each(|(i, (out, nrm))| {
                let mut s = 0.0;
                for ((o, &v), &mu) in out.iter_mut().zip(set.row(i).iter()).zip(&mean) {
                    *o = f64::from(v) - mu;
                    s += *o * *o;
                }
                *nrm = s;
            });
        (buf, norms)
    };
    let (xc, xn) = centre(&x);
    let (yc, yn) = centre(&y);
    let mut c = vec![0.0f64; n * m];
    {
        let lhs = faer::MatRef::from_row_major_slice(&xc, n, d);
        let rhs = faer::MatRef::from_row_major_slice(&yc, m, d);
        let dst = faer::MatMut::from_row_major_slice_mut(&mut c, n, m);
        faer::linalg::matmul::matmul(
            dst,
            faer::Accum::Replace,
            lhs,
            rhs.transpose(),
            -2.0f64,
            faer::Par::rayon(0),
        );
    }
    c.par_chunks_mut(m)
        .zip(xn.par_iter())
        .for_each(|(row, &xi)| {
            for (cij, &yj) in row.iter_mut().zip(&yn) {
                *cij = (*cij + xi + yj).max(0.0);
            }
        });
    Array2::from_shape_vec((n, m), c).expect("shape matches buffer length")
}
