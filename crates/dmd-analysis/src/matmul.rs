//! The one unsafe call of the crate: a checked wrapper around the `gemm` crate's f32 kernel.
#![allow(unsafe_code)]

/// Writes `dst = -2 * a * b^T`, where `a` is `m x k` and `b` is `n x k`, both row-major and
/// contiguous, and `dst` is `m x n` row-major. Single-threaded (callers parallelise).
///
/// Panics if a slice length does not match its stated shape (an internal invariant).
pub(crate) fn neg2_abt_f32(a: &[f32], b: &[f32], m: usize, n: usize, k: usize, dst: &mut [f32]) {
    assert_eq!(a.len(), m * k, "lhs shape");
    assert_eq!(b.len(), n * k, "rhs shape");
    assert_eq!(dst.len(), m * n, "dst shape");
    if m == 0 || n == 0 {
        return;
    }
    // SAFETY: the three slices have exactly the lengths the strides below address:
    // dst(i, j) at i*n + j < m*n; lhs(i, p) at i*k + p < m*k; rhs(p, j) = b(j, p) at j*k + p < n*k.
    // `dst` is a unique borrow and does not alias the shared inputs.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            false,
            a.as_ptr(),
            1,
            k as isize,
            b.as_ptr(),
            k as isize,
            1,
            0.0f32,
            -2.0f32,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}
