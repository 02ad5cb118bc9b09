//! Error-free floating-point transformations: exact residuals of sums and a correctly rounded
//! sum of many terms. The certificate needs them because dual objectives are differences of
//! large, nearly cancelling sums whose rounding would otherwise swamp a small optimum.

/// `a + b = s + e` exactly, with `s = fl(a + b)` (Knuth's TwoSum, no ordering requirement).
#[inline(always)]
pub(crate) fn two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    let bb = s - a;
    let e = (a - (s - bb)) + (b - bb);
    (s, e)
}

/// `c - u - v` evaluated with one rounding of the exact residual of `u + v`: the error is a few
/// ulps of the result plus `eps^2 |c|`, not `eps (|u| + |v|)` as in the naive evaluation, so the
/// sign of a reduced cost is right even when the potentials dwarf the cost.
#[inline(always)]
pub(crate) fn reduced_cost(c: f64, u: f64, v: f64) -> f64 {
    let (s, e) = two_sum(u, v);
    (c - s) - e
}

/// The correctly rounded sum of `values` (Shewchuk's algorithm, as Python's `math.fsum`):
/// exact partial sums are kept as non-overlapping components, so cancellation loses nothing.
/// Finite inputs whose running sum overflows give a non-finite result.
pub(crate) fn fsum(values: impl IntoIterator<Item = f64>) -> f64 {
    let mut partials: Vec<f64> = Vec::new();
    for mut x in values {
        let mut i = 0;
        for k in 0..partials.len() {
            let mut y = partials[k];
            if x.abs() < y.abs() {
                std::mem::swap(&mut x, &mut y);
            }
            let hi = x + y;
            let lo = y - (hi - x);
            if lo != 0.0 {
                partials[i] = lo;
                i += 1;
            }
            x = hi;
        }
        if !x.is_finite() {
            return x;
        }
        partials.truncate(i);
        partials.push(x);
    }
    // add the components from the largest down; stop at the first inexact addition and round
    // the half-way case by the sign of what is left (Python's msum)
    let Some(mut hi) = partials.pop() else {
        return 0.0;
    };
    let mut lo = 0.0;
    while let Some(y) = partials.pop() {
        let x = hi;
        hi = x + y;
        let yr = hi - x;
        lo = y - yr;
        if lo != 0.0 {
            break;
        }
    }
    if let Some(&next) = partials.last()
        && ((lo < 0.0 && next < 0.0) || (lo > 0.0 && next > 0.0))
    {
        let y = lo * 2.0;
        let x = hi + y;
        if y == x - hi {
            hi = x;
        }
    }
    hi
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fsum_is_exact_under_cancellation() {
        assert_eq!(fsum([1e300, 1e-300, -1e300]), 1e-300);
        assert_eq!(fsum([0.1; 10]), 1.0);
        assert_eq!(fsum([1.0, 1e100, 1.0, -1e100]), 2.0);
        assert_eq!(fsum(std::iter::empty()), 0.0);
        // half-way case: 1 + 2^-53 + 2^-106 rounds up
        let h = f64::EPSILON / 2.0;
        assert_eq!(fsum([1.0, h, h * h]), 1.0 + f64::EPSILON);
        assert_eq!(fsum([1.0, h]), 1.0);
        assert!(!fsum([f64::MAX, f64::MAX]).is_finite());
    }

    #[test]
    fn reduced_cost_keeps_the_sign_under_huge_potentials() {
        // u + v = 1e-300 exactly only through the residual of the rounded sum
        let (u, v) = (1e16, -1e16 + 2.0);
        assert_eq!(reduced_cost(2.0, u, v), 0.0);
        assert_eq!(reduced_cost(3.0, u, v), 1.0);
        let (s, e) = two_sum(1.0, 1e-20);
        assert_eq!((s, e), (1.0, 1e-20));
        assert!(reduced_cost(1.0, 1.0, 1e-20) < 0.0);
    }
}
