//! Epsilon-scaling auction (Bertsekas) as a warm start for the exact JV augmentation.
//!
//! Bidding in the minimisation form: a free row `i` with best reduced cost `w1 = C[i, j1] - v_{j1}`
//! and second best `w2` takes column `j1` and lowers its potential by `w2 - w1 + eps`, evicting the
//! previous owner. Each phase ends with an `eps`-optimal assignment (eps-complementary slackness);
//! `eps` shrinks geometrically. The resulting potentials `v` are near-optimal duals, from which the
//! JV shortest augmenting paths ([`crate::jv`]) reach the exact optimum with short searches.

use crate::jv::{self, LapState, NONE};
use crate::simd;

/// Runs epsilon-scaling auction phases to get potentials, then finishes exactly with JV.
pub(crate) fn solve_auction_jv(c: &[f64], n: usize) -> (Vec<usize>, Vec<f64>) {
    let (st, free) = jv::column_reduction(c, n);
    let (cmin, cmax) = simd::min_max(c);
    let range = cmax - cmin;
    if range <= 0.0 {
        // all costs equal: every permutation is optimal, JV finishes without searching
        return jv::finish(c, st, free);
    }
    // prices start at the column minima; eps shrinks 8x per phase from range/16 to about
    // range/(256 n), below which the exact augmentation is cheaper than more bidding
    let mut v = st.v;
    // floor: a bid must move a potential by many ulps, or bidding could stall on huge offsets
    let ulp_floor = 1024.0 * f64::EPSILON * (cmin.abs().max(cmax.abs()) + range);
    let eps_final = (range / (n as f64 * 256.0)).max(ulp_floor);
    let mut eps = (range / 16.0).max(eps_final);
    // the exact finish is correct from any potentials, so bidding may stop early; this budget
    // bounds the warm start on adversarial inputs
    let mut bids_left = 64 * n * n.ilog2().max(1) as usize + 1024;
    let mut x = vec![NONE; n];
    let mut y = vec![NONE; n];
    let mut queue: Vec<usize> = Vec::with_capacity(n);
    loop {
        x.fill(NONE);
        y.fill(NONE);
        queue.clear();
        queue.extend((0..n).rev());
        while let Some(i) = queue.pop() {
            if bids_left == 0 {
                break;
            }
            bids_left -= 1;
            let row = &c[i * n..(i + 1) * n];
            let (w1, j1, w2) = simd::two_smallest(row, &v);
            let w2 = if w2.is_finite() { w2 } else { w1 };
            v[j1] -= w2 - w1 + eps;
            let prev = y[j1];
            if prev != NONE {
                x[prev] = NONE;
                queue.push(prev);
            }
            y[j1] = i;
            x[i] = j1;
        }
        if eps <= eps_final || bids_left == 0 {
            break;
        }
        eps = (eps / 8.0).max(eps_final);
    }
    // Exact finish: keep the auction's pairs that are exact row minima under v, give a row its
    // row minimum when that column is still free, and leave the rest to the augmentation.
    let mut st = LapState::with_potentials(v);
    let mut free = Vec::new();
    for i in 0..n {
        let row = &c[i * n..(i + 1) * n];
        let (w1, j1, _) = simd::two_smallest(row, &st.v);
        let ja = x[i];
        if ja != NONE && row[ja] - st.v[ja] <= w1 && st.y[ja] == NONE {
            st.x[i] = ja;
            st.y[ja] = i;
        } else if st.y[j1] == NONE {
            st.x[i] = j1;
            st.y[j1] = i;
        } else {
            free.push(i);
        }
    }
    jv::finish(c, st, free)
}
