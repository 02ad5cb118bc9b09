//! Small vectorisable kernels, compiled for the best instruction set found at run time (pulp).

use pulp::{Arch, Simd, WithSimd};

/// The float types the kernels run on (`f64` for exact work, `f32` for the auction's bids).
pub(crate) trait Real:
    Copy
    + PartialOrd
    + std::ops::Sub<Output = Self>
    + std::ops::Add<Output = Self>
    + Send
    + Sync
    + 'static
{
    /// Positive infinity.
    const INFINITY: Self;
    /// `x` rounded to this type.
    fn from_f64(x: f64) -> Self;
    /// Whether the value is finite.
    fn is_finite(self) -> bool;
    /// [`two_smallest`] in this type.
    fn two_smallest(row: &[Self], v: &[Self]) -> (Self, usize, Self);
}

impl Real for f64 {
    const INFINITY: f64 = f64::INFINITY;
    fn from_f64(x: f64) -> f64 {
        x
    }
    fn is_finite(self) -> bool {
        f64::is_finite(self)
    }
    #[inline]
    fn two_smallest(row: &[f64], v: &[f64]) -> (f64, usize, f64) {
        two_smallest(row, v)
    }
}

impl Real for f32 {
    const INFINITY: f32 = f32::INFINITY;
    fn from_f64(x: f64) -> f32 {
        x as f32
    }
    fn is_finite(self) -> bool {
        f32::is_finite(self)
    }
    /// Sixteen lanes: twice the elements per instruction and half the memory traffic of the
    /// `f64` scan.
    #[inline]
    fn two_smallest(row: &[f32], v: &[f32]) -> (f32, usize, f32) {
        Arch::new().dispatch(TwoSmallest::<f32, 16> { row, v })
    }
}

/// Smallest and second-smallest (with multiplicity) of `row[j] - v[j]`, and the first column
/// attaining the smallest. Finite input. Two vectorisable passes: per-lane running pairs
/// `(min1, min2)` with branch-free selects, then a search for the first minimiser.
#[inline]
pub(crate) fn two_smallest(row: &[f64], v: &[f64]) -> (f64, usize, f64) {
    Arch::new().dispatch(TwoSmallest::<f64, 8> { row, v })
}

/// Kernel of [`two_smallest`] with `L` lanes; a `WithSimd` struct (not a closure) so that the
/// body is inlined into the code compiled for the detected instruction set.
struct TwoSmallest<'a, T, const L: usize> {
    row: &'a [T],
    v: &'a [T],
}

impl<T: Real, const L: usize> WithSimd for TwoSmallest<'_, T, L> {
    type Output = (T, usize, T);

    #[inline(always)]
    fn with_simd<S: Simd>(self, _simd: S) -> Self::Output {
        let Self { row, v } = self;
        let mut m1 = [T::INFINITY; L];
        let mut m2 = [T::INFINITY; L];
        let rc = row.chunks_exact(L);
        let vc = v.chunks_exact(L);
        let (rt, vt) = (rc.remainder(), vc.remainder());
        for (rr, vv) in rc.zip(vc) {
            for l in 0..L {
                let h = rr[l] - vv[l];
                let below = h < m1[l];
                let hi = if below { m1[l] } else { h };
                m1[l] = if below { h } else { m1[l] };
                m2[l] = if hi < m2[l] { hi } else { m2[l] };
            }
        }
        let mut u1 = T::INFINITY;
        let mut u2 = T::INFINITY;
        let tail = rt.iter().zip(vt).map(|(&c, &vj)| c - vj);
        for h in m1.iter().chain(&m2).copied().chain(tail) {
            if h < u1 {
                u2 = u1;
                u1 = h;
            } else if h < u2 {
                u2 = h;
            }
        }
        // first minimiser: test whole chunks with a vectorisable OR, then scan the hit chunk
        let first = |rr: &[T], vv: &[T]| rr.iter().zip(vv).position(|(&c, &vj)| c - vj == u1);
        let mut j1 = 0;
        let mut found = false;
        for (k, (rr, vv)) in row.chunks_exact(L).zip(v.chunks_exact(L)).enumerate() {
            let mut hit = false;
            for l in 0..L {
                hit |= rr[l] - vv[l] == u1;
            }
            if hit {
                j1 = k * L + first(rr, vv).unwrap_or(0);
                found = true;
                break;
            }
        }
        if !found {
            let start = row.len() - rt.len();
            j1 = start + first(rt, vt).unwrap_or(0);
        }
        (u1, j1, u2)
    }
}

/// Minimum and maximum of a slice (NaN-free input).
pub(crate) fn min_max(a: &[f64]) -> (f64, f64) {
    use rayon::prelude::*;
    a.par_chunks(1 << 16)
        .map(|ch| {
            ch.iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
                    (lo.min(x), hi.max(x))
                })
        })
        .reduce(
            || (f64::INFINITY, f64::NEG_INFINITY),
            |a, b| (a.0.min(b.0), a.1.max(b.1)),
        )
}

/// `exp(x)` in `f32` for `x` in about `[-87, 88]` (clamped), relative error ~2e-7; branch-free
/// so that loops over it vectorise: `x = k ln2 + r`, `exp(r)` by a degree-6 Taylor polynomial.
#[inline(always)]
#[allow(clippy::manual_clamp)] // max/min: NaN-free input here, and it lowers to plain vector min/max
pub(crate) fn exp_f32(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    const ROUND: f32 = 12_582_912.0; // 1.5 * 2^23: adding and subtracting rounds to an integer
    let x = x.max(-87.0).min(88.0);
    let shifted = x * LOG2E + ROUND;
    let k = shifted - ROUND;
    let r = x - k * LN2_HI - k * LN2_LO;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    // the integer k sits in the low mantissa bits of `shifted` (1.5 * 2^23 + k)
    let k_bits = shifted.to_bits().wrapping_sub(0x4B40_0000);
    let scale = f32::from_bits(k_bits.wrapping_add(127) << 23);
    p * scale
}

/// `sum_j w[j] exp((a + b[j] - r[j]) * inv_eps)` with the exponent formed in `f32`; `tmp` is a
/// scratch row (the exponentials are written there first, so that the loop stays a plain map that
/// vectorises inside the dispatched SIMD context).
pub(crate) fn row_exp_sum(
    a: f32,
    b: &[f32],
    w: &[f32],
    r: &[f32],
    inv_eps: f32,
    tmp: &mut [f32],
) -> f64 {
    Arch::new().dispatch(ExpRow {
        out: &mut *tmp,
        a,
        b,
        w,
        r,
        inv_eps,
    });
    sum_f32(tmp)
}

/// Kernel of [`row_exp_sum`]: `out[j] = w[j] exp((a + b[j] - r[j]) * inv_eps)`.
struct ExpRow<'a> {
    out: &'a mut [f32],
    a: f32,
    b: &'a [f32],
    w: &'a [f32],
    r: &'a [f32],
    inv_eps: f32,
}

impl WithSimd for ExpRow<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, _simd: S) {
        let Self {
            out,
            a,
            b,
            w,
            r,
            inv_eps,
        } = self;
        for (((o, &bj), &wj), &rj) in out.iter_mut().zip(b).zip(w).zip(r) {
            *o = wj * exp_f32((a + bj - rj) * inv_eps);
        }
    }
}

/// `y[j] += alpha * x[j]`.
pub(crate) fn axpy_f32(y: &mut [f32], alpha: f32, x: &[f32]) {
    Arch::new().dispatch(
        #[inline(always)]
        move || {
            for (yj, &xj) in y.iter_mut().zip(x) {
                *yj += alpha * xj;
            }
        },
    )
}

/// Sum of an `f32` slice with 16 independent partial sums (vectorisable), returned in `f64`.
pub(crate) fn sum_f32(x: &[f32]) -> f64 {
    const L: usize = 16;
    let mut acc = [0.0f32; L];
    let chunks = x.chunks_exact(L);
    let tail = chunks.remainder();
    for ch in chunks {
        for l in 0..L {
            acc[l] += ch[l];
        }
    }
    acc.iter().chain(tail).map(|&v| f64::from(v)).sum()
}

/// `acc[j] += wa * exp((a + b[j] - r[j]) * inv_eps)` for every `j`.
pub(crate) fn col_exp_accumulate(
    acc: &mut [f32],
    a: f32,
    wa: f32,
    b: &[f32],
    r: &[f32],
    inv_eps: f32,
) {
    Arch::new().dispatch(
        #[inline(always)]
        move || {
            for ((o, &bj), &rj) in acc.iter_mut().zip(b).zip(r) {
                *o += wa * exp_f32((a + bj - rj) * inv_eps);
            }
        },
    )
}

/// `sum_j w[j] exp((a + b[j] - r[j]) * inv_eps) * c[j]`: the plan's row `i` dotted with the
/// `f64` costs of that row.
pub(crate) fn row_exp_dot(a: f32, b: &[f32], w: &[f32], r: &[f32], c: &[f64], inv_eps: f32) -> f64 {
    Arch::new().dispatch(
        #[inline(always)]
        move || {
            let mut s = 0.0f64;
            for (((&bj, &wj), &rj), &cj) in b.iter().zip(w).zip(r).zip(c) {
                s += f64::from(wj * exp_f32((a + bj - rj) * inv_eps)) * cj;
            }
            s
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_f32_is_accurate() {
        let mut worst = 0.0f64;
        let mut x = -87.0f32;
        while x < 80.0 {
            let got = f64::from(exp_f32(x));
            let want = f64::from(x).exp();
            worst = worst.max((got - want).abs() / want);
            x += 0.0137;
        }
        assert!(worst < 1e-6, "relative error {worst}");
    }

    #[test]
    fn kernels_match_scalar_sums() {
        let n = 37;
        let b: Vec<f32> = (0..n).map(|j| j as f32 * 0.1).collect();
        let w: Vec<f32> = (0..n).map(|j| 1.0 + j as f32 * 1e-3).collect();
        let r: Vec<f32> = (0..n).map(|j| (j as f32 * 0.37).sin() + 2.0).collect();
        let c: Vec<f64> = (0..n).map(|j| j as f64).collect();
        let want =
            |j: usize| f64::from(w[j]) * ((0.5 + f64::from(b[j]) - f64::from(r[j])) * 2.0).exp();
        let mut tmp = vec![0.0f32; n];
        let s = row_exp_sum(0.5, &b, &w, &r, 2.0, &mut tmp);
        let s_ref: f64 = (0..n).map(want).sum();
        assert!((s - s_ref).abs() < 1e-5 * s_ref);
        let dot = row_exp_dot(0.5, &b, &w, &r, &c, 2.0);
        let dot_ref: f64 = (0..n).map(|j| want(j) * c[j]).sum();
        assert!((dot - dot_ref).abs() < 1e-5 * dot_ref);
        let mut acc = vec![1.0f32; n];
        col_exp_accumulate(&mut acc, 0.5, 1.0, &b, &r, 2.0);
        for j in 0..n {
            let e = 1.0 + want(j) / f64::from(w[j]);
            assert!((f64::from(acc[j]) - e).abs() < 1e-5 * e);
        }
        let (u1, j1, u2) = two_smallest(&[3.0, 1.0, 2.0, 1.5], &[0.0, 0.0, 0.0, 0.0]);
        assert_eq!((u1, j1, u2), (1.0, 1, 1.5));
        // against a scalar reference on longer rows, with repeated minima
        for len in [1usize, 7, 8, 9, 33, 100] {
            let row: Vec<f64> = (0..len).map(|j| ((j * 7919) % 13) as f64).collect();
            let v: Vec<f64> = (0..len).map(|j| (j % 3) as f64).collect();
            let h: Vec<f64> = row.iter().zip(&v).map(|(c, vj)| c - vj).collect();
            let mut sorted = h.clone();
            sorted.sort_by(f64::total_cmp);
            let (u1, j1, u2) = two_smallest(&row, &v);
            assert_eq!(u1, sorted[0]);
            assert_eq!(u2, if len > 1 { sorted[1] } else { f64::INFINITY });
            assert_eq!(j1, h.iter().position(|&x| x == sorted[0]).unwrap());
        }
    }
}
