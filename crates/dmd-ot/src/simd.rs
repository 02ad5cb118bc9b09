//! Small vectorisable kernels, compiled for the best instruction set found at run time (pulp).

use pulp::Arch;

/// Smallest and second-smallest of `row[j] - v[j]`, and the column of the smallest.
#[inline]
pub(crate) fn two_smallest(row: &[f64], v: &[f64]) -> (f64, usize, f64) {
    Arch::new().dispatch(
        #[inline(always)]
        || {
            let mut u1 = f64::INFINITY;
            let mut u2 = f64::INFINITY;
            let mut j1 = 0usize;
            for (j, (&cij, &vj)) in row.iter().zip(v).enumerate() {
                let h = cij - vj;
                if h < u2 {
                    if h >= u1 {
                        u2 = h;
                    } else {
                        u2 = u1;
                        u1 = h;
                        j1 = j;
                    }
                }
            }
            (u1, j1, u2)
        },
    )
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

/// `sum_j w[j] exp((a + b[j] - r[j]) * inv_eps)` with the exponent formed in `f32`.
pub(crate) fn row_exp_sum(a: f32, b: &[f32], w: &[f32], r: &[f32], inv_eps: f32) -> f64 {
    Arch::new().dispatch(
        #[inline(always)]
        || {
            const L: usize = 16;
            let mut acc = [0.0f32; L];
            let bc = b.chunks_exact(L);
            let wc = w.chunks_exact(L);
            let rc = r.chunks_exact(L);
            let (btail, wtail, rtail) = (bc.remainder(), wc.remainder(), rc.remainder());
            for ((bb, ww), rr) in bc.zip(wc).zip(rc) {
                for l in 0..L {
                    acc[l] += ww[l] * exp_f32((a + bb[l] - rr[l]) * inv_eps);
                }
            }
            let mut s: f64 = acc.iter().map(|&x| f64::from(x)).sum();
            for ((&bj, &wj), &rj) in btail.iter().zip(wtail).zip(rtail) {
                s += f64::from(wj * exp_f32((a + bj - rj) * inv_eps));
            }
            s
        },
    )
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
        || {
            for ((o, &bj), &rj) in acc.iter_mut().zip(b).zip(r) {
                *o += wa * exp_f32((a + bj - rj) * inv_eps);
            }
        },
    )
}
