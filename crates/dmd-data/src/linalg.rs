//! Small dense linear algebra in `f64` for the constructions of this crate (matrices of at most a
//! few dozen rows): orthonormalisation of rows and the symmetric eigendecomposition.

use ndarray::{Array1, Array2, Axis};

/// Orthonormalises the rows of `a` (k x n, k <= n) in place by modified Gram-Schmidt, run twice
/// ("twice is enough") for orthogonality to machine precision. Returns the smallest row norm met
/// before normalisation in the second pass relative to the first, so the caller can reject a
/// numerically rank-deficient input (a value near 0).
pub(crate) fn orthonormalise_rows(a: &mut Array2<f64>) -> f64 {
    let mut min_ratio = f64::INFINITY;
    for pass in 0..2 {
        for i in 0..a.nrows() {
            let before = a.row(i).dot(&a.row(i)).sqrt();
            for j in 0..i {
                let proj = a.row(i).dot(&a.row(j));
                let rj = a.row(j).to_owned();
                a.row_mut(i).scaled_add(-proj, &rj);
            }
            let norm = a.row(i).dot(&a.row(i)).sqrt();
            if pass == 0 {
                let ratio = if before > 0.0 { norm / before } else { 0.0 };
                min_ratio = min_ratio.min(ratio);
            }
            if norm > 0.0 {
                a.row_mut(i).mapv_inplace(|v| v / norm);
            }
        }
    }
    min_ratio
}

/// Eigendecomposition of a symmetric matrix by cyclic Jacobi rotations.
///
/// Returns `(eigenvalues, eigenvectors)` with eigenvectors as the columns of the second matrix,
/// in no particular order. Meant for small matrices (the class-stripe Gram matrix, 10 x 10).
pub(crate) fn symmetric_eigen(m: &Array2<f64>) -> (Array1<f64>, Array2<f64>) {
    let n = m.nrows();
    let mut a = m.clone();
    let mut v = Array2::<f64>::eye(n);
    let scale = a
        .iter()
        .map(|x| x * x)
        .sum::<f64>()
        .sqrt()
        .max(f64::MIN_POSITIVE);
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|p| (0..n).filter(move |&q| q != p).map(move |q| (p, q)))
            .map(|(p, q)| a[[p, q]] * a[[p, q]])
            .sum::<f64>()
            .sqrt();
        if off <= 1e-15 * scale {
            break;
        }
        for p in 0..n {
            for q in (p + 1)..n {
                let apq = a[[p, q]];
                if apq.abs() <= f64::MIN_POSITIVE {
                    continue;
                }
                // Rotation angle that zeroes a[p][q] (Golub & Van Loan, Alg. 8.4.1).
                let tau = (a[[q, q]] - a[[p, p]]) / (2.0 * apq);
                let t = tau.signum() / (tau.abs() + (1.0 + tau * tau).sqrt());
                let t = if tau == 0.0 { 1.0 } else { t };
                let c = 1.0 / (1.0 + t * t).sqrt();
                let s = t * c;
                for k in 0..n {
                    let akp = a[[k, p]];
                    let akq = a[[k, q]];
                    a[[k, p]] = c * akp - s * akq;
                    a[[k, q]] = s * akp + c * akq;
                }
                for k in 0..n {
                    let apk = a[[p, k]];
                    let aqk = a[[q, k]];
                    a[[p, k]] = c * apk - s * aqk;
                    a[[q, k]] = s * apk + c * aqk;
                }
                for k in 0..n {
                    let vkp = v[[k, p]];
                    let vkq = v[[k, q]];
                    v[[k, p]] = c * vkp - s * vkq;
                    v[[k, q]] = s * vkp + c * vkq;
                }
            }
        }
    }
    (a.diag().to_owned(), v)
}

/// Inverse square root of a symmetric positive-definite matrix, `M^{-1/2} = V diag(l^{-1/2}) V^T`.
/// Returns `None` when the condition number exceeds `max_condition`.
pub(crate) fn inverse_sqrt_spd(m: &Array2<f64>, max_condition: f64) -> Option<Array2<f64>> {
    let (l, v) = symmetric_eigen(m);
    let lmax = l.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let lmin = l.iter().cloned().fold(f64::INFINITY, f64::min);
    if lmin.is_nan() || lmin <= 0.0 || lmax / lmin > max_condition {
        return None;
    }
    let scaled = &v * &l.mapv(|x| 1.0 / x.sqrt()).insert_axis(Axis(0));
    Some(scaled.dot(&v.t()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn jacobi_reconstructs_a_symmetric_matrix() {
        let m = array![[4.0, 1.0, 0.5], [1.0, 3.0, -0.2], [0.5, -0.2, 1.0]];
        let (l, v) = symmetric_eigen(&m);
        let rebuilt = (&v * &l.clone().insert_axis(Axis(0))).dot(&v.t());
        for (a, b) in rebuilt.iter().zip(m.iter()) {
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }
        let vtv = v.t().dot(&v);
        for ((i, j), x) in vtv.indexed_iter() {
            let want = if i == j { 1.0 } else { 0.0 };
            assert!((x - want).abs() < 1e-12);
        }
        // trace is preserved
        assert!((l.sum() - 8.0).abs() < 1e-12);
    }

    #[test]
    fn inverse_sqrt_squares_to_inverse() {
        let m = array![[2.0, 0.3], [0.3, 1.0]];
        let r = inverse_sqrt_spd(&m, 1e6).unwrap();
        let prod = r.dot(&r).dot(&m);
        assert!((prod[[0, 0]] - 1.0).abs() < 1e-12 && prod[[0, 1]].abs() < 1e-12);
        assert!(inverse_sqrt_spd(&array![[1.0, 1.0], [1.0, 1.0]], 1e6).is_none());
    }

    #[test]
    fn gram_schmidt_gives_orthonormal_rows() {
        let mut a = array![
            [1.0, 2.0, 3.0, 4.0],
            [0.0, 1.0, 1.0, 0.0],
            [5.0, 0.0, 1.0, 1.0]
        ];
        let ratio = orthonormalise_rows(&mut a);
        assert!(ratio > 0.1);
        let g = a.dot(&a.t());
        for ((i, j), x) in g.indexed_iter() {
            let want = if i == j { 1.0 } else { 0.0 };
            assert!((x - want).abs() < 1e-13);
        }
        let mut dependent = array![[1.0, 2.0], [2.0, 4.0]];
        assert!(orthonormalise_rows(&mut dependent) < 1e-12);
    }
}
