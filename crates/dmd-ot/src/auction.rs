//! Epsilon-scaling auction (Bertsekas) as a warm start for the exact JV augmentation.
//!
//! Bidding in the minimisation form: a free row `i` with best reduced cost `w1 = C[i, j1] - v_{j1}`
//! and second best `w2` takes column `j1` and lowers its potential by `w2 - w1 + eps`, evicting the
//! previous owner. Each phase ends with an `eps`-optimal assignment (eps-complementary slackness);
//! `eps` shrinks geometrically. The resulting potentials `v` are near-optimal duals, from which the
//! JV shortest augmenting paths ([`crate::jv`]) reach the exact optimum with short searches.
//!
//! Bids run in f32 on costs and prices shifted by `min C` while the final `eps` is a few f32 ulps
//! of the range or more (n up to about 4000), in f64 beyond: half the memory traffic per bid;
//! the finish is exact in f64 whatever potentials it starts from.
//!
//! The schedule runs from `range / 16` to `range / (256 n)`, `range = max C - min C`. When that
//! final `eps` is coarse next to the costs most columns are matched at (one far outlier point sets
//! `range`, or the entries span many orders of magnitude), the auction's prices say nothing at the
//! scale of the optimum: the finish would re-solve the problem from poor potentials, with reduced
//! costs rounded at the scale of `range`. [`auction_is_useful`] detects this before any bid, and
//! the caller runs JV instead.

use crate::jv::{self, ColumnMinima, LapState, NONE, Solved};
use crate::simd;
use rayon::prelude::*;

/// Bids run in f32 when the final `eps` is at least this many f32 ulps of `range` (the size of
/// the shifted costs and prices), so that every bid still moves a price; otherwise in f64.
const F32_FLOOR_ULPS: f64 = 8.0;

/// Auction work counters.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct AuctionWork {
    /// Phases started.
    pub(crate) phases: u32,
    /// Bids made (each a pass over one row).
    pub(crate) bids: u64,
}

/// Ratio below which the final `eps` must stay, relative to the median over columns of
/// `min_i C[i, j] - min C` (the typical matched cost above the floor). At 1 the auction still
/// resolves copy-like sets (final `eps` ~ their matched cost) and is skipped for one far
/// outlier (`eps` ~ 1e4 times it); at 1e-2 copy-like low-dimensional sets fell back to JV
/// alone, 6x slower (`tests/exactness.rs`).
const COARSENESS_LIMIT: f64 = 1.0;

/// The auction's final `eps` for a problem of size `n` with cost extremes `cmin`, `cmax`.
fn eps_final(n: usize, cmin: f64, cmax: f64) -> f64 {
    let range = cmax - cmin;
    // floor: a bid must move a potential by many ulps, or bidding could stall on huge offsets
    let ulp_floor = 1024.0 * f64::EPSILON * (cmin.abs().max(cmax.abs()) + range);
    (range / (n as f64 * 256.0)).max(ulp_floor)
}

/// Whether the epsilon schedule resolves the costs: the final `eps` must be below
/// [`COARSENESS_LIMIT`] times the median column minimum above `cmin`. `O(n)` on the column minima.
pub(crate) fn auction_is_useful(colmin: &[f64], cmin: f64, cmax: f64) -> bool {
    let n = colmin.len();
    if cmax - cmin <= 0.0 {
        return true; // all equal: nothing to resolve, handled without bidding
    }
    let mut above: Vec<f64> = colmin.iter().map(|&m| m - cmin).collect();
    let (_, &mut median, _) = above.select_nth_unstable_by(n / 2, f64::total_cmp);
    eps_final(n, cmin, cmax) <= COARSENESS_LIMIT * median
}

/// The default bid budget for size `n`: a normal solve makes 10-40 bids per row in all.
pub(crate) fn bid_budget(n: usize) -> u64 {
    16 * n as u64 * u64::from(n.ilog2().max(1)) + 1024
}

/// Runs epsilon-scaling auction phases to get potentials, then finishes exactly with JV.
///
/// `cm` are the column minima of `c`, `(cmin, cmax)` its extremes. Returns `None` when more
/// than `budget` bids would be needed (a price war): the prices are then no useful start and
/// the caller re-solves.
pub(crate) fn solve_auction_jv(
    c: &[f64],
    n: usize,
    cm: ColumnMinima,
    (cmin, cmax): (f64, f64),
    budget: u64,
    work: &mut AuctionWork,
) -> Option<Solved> {
    let (st, free) = jv::reduce(c, n, cm, true);
    let range = cmax - cmin;
    if range <= 0.0 {
        // all costs equal: every permutation is optimal, JV finishes without searching
        return Some(jv::finish(c, st, free));
    }
    // prices start at the column minima; eps shrinks 8x per phase from range/16 to about
    // range/(256 n), below which the exact augmentation is cheaper than more bidding
    let mut v = st.v;
    let eps_final = eps_final(n, cmin, cmax);
    let eps_start = (range / 16.0).max(eps_final);
    let mut bids_left = budget;
    let x = if bids_in_f32(eps_final, range) {
        // Bids in f32 on costs and prices shifted by cmin (so f32 resolves them relative to
        // `range`): half the memory traffic per bid. The finish below is exact in f64 whatever
        // potentials it starts from.
        let c32: Vec<f32> = c.par_iter().map(|&x| (x - cmin) as f32).collect();
        let mut v32: Vec<f32> = v.iter().map(|&p| (p - cmin) as f32).collect();
        let x = bid(
            &c32,
            n,
            &mut v32,
            (eps_start, eps_final),
            &mut bids_left,
            work,
        )?;
        v = v32.iter().map(|&p| f64::from(p) + cmin).collect();
        x
    } else {
        bid(c, n, &mut v, (eps_start, eps_final), &mut bids_left, work)?
    };
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
    Some(jv::finish(c, st, free))
}

/// Whether f32 prices still move by at least [`F32_FLOOR_ULPS`] ulps per bid at the final `eps`
/// (costs and prices shifted to `[0, range]`).
fn bids_in_f32(eps_final: f64, range: f64) -> bool {
    eps_final >= F32_FLOOR_ULPS * f64::from(f32::EPSILON) * range
}

/// The eps-scaling phases of Gauss-Seidel bidding from `eps_start` down to `eps_final` on costs
/// `c` (`n x n`) and prices `v` (updated in place): the row-to-column assignment of the last
/// phase, or `None` when the bid budget runs out.
fn bid<T: simd::Real>(
    c: &[T],
    n: usize,
    v: &mut [T],
    (eps_start, eps_final): (f64, f64),
    bids_left: &mut u64,
    work: &mut AuctionWork,
) -> Option<Vec<usize>> {
    let mut eps = eps_start;
    let mut x = vec![NONE; n];
    let mut y = vec![NONE; n];
    let mut queue: Vec<usize> = Vec::with_capacity(n);
    loop {
        work.phases += 1;
        x.fill(NONE);
        y.fill(NONE);
        queue.clear();
        queue.extend((0..n).rev());
        let e = T::from_f64(eps);
        while let Some(i) = queue.pop() {
            if *bids_left == 0 {
                return None;
            }
            *bids_left -= 1;
            work.bids += 1;
            let row = &c[i * n..(i + 1) * n];
            let (w1, j1, w2) = T::two_smallest(row, v);
            let w2 = if w2.is_finite() { w2 } else { w1 };
            v[j1] = v[j1] - (w2 - w1 + e);
            let prev = y[j1];
            if prev != NONE {
                x[prev] = NONE;
                queue.push(prev);
            }
            y[j1] = i;
            x[i] = j1;
        }
        if eps <= eps_final {
            return Some(x);
        }
        eps = (eps / 8.0).max(eps_final);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matrix(n: usize) -> Vec<f64> {
        // a fixed pseudo-random matrix (Weyl sequence), entries in [0, 100)
        (0..n * n)
            .map(|k| ((k as f64 * 0.618_033_988_749_895).fract() * 100.0).floor())
            .collect()
    }

    #[test]
    fn a_spent_budget_returns_none_and_a_sufficient_one_the_optimum() {
        let n = 80;
        let c = matrix(n);
        let extremes = simd::min_max(&c);
        let mut work = AuctionWork::default();
        let cm = jv::column_minima(&c, n);
        assert!(solve_auction_jv(&c, n, cm, extremes, 10, &mut work).is_none());
        assert_eq!(work.bids, 10);
        let mut work = AuctionWork::default();
        let cm = jv::column_minima(&c, n);
        let a =
            solve_auction_jv(&c, n, cm, extremes, bid_budget(n), &mut work).expect("within budget");
        let b = jv::solve_jv(&c, n);
        let cost = |x: &[usize]| {
            x.iter()
                .enumerate()
                .map(|(i, &j)| c[i * n + j])
                .sum::<f64>()
        };
        assert_eq!(cost(&a.x), cost(&b.x));
        assert!(work.bids > n as u64 && work.bids < bid_budget(n));
    }

    #[test]
    fn bids_run_in_f32_up_to_about_4000_rows() {
        let final_eps = |n| eps_final(n, 0.0, 1.0);
        assert!(bids_in_f32(final_eps(1000), 1.0));
        assert!(bids_in_f32(final_eps(4000), 1.0));
        assert!(!bids_in_f32(final_eps(8000), 1.0));
        // an offset far above the range raises the f64 ulp floor, not the shifted f32 one
        assert!(bids_in_f32(eps_final(1000, 1e9, 1e9 + 1.0), 1.0));
    }

    #[test]
    fn coarseness_rule() {
        // typical column minimum 1 above the floor, range 100: eps_final = 100 / (256 n) is fine
        let colmin = vec![1.0; 100];
        assert!(auction_is_useful(&colmin, 0.0, 100.0));
        // the same with one entry 1e8 away: eps_final ~ 4e3, far above 1% of 1
        assert!(!auction_is_useful(&colmin, 0.0, 1e8));
        // all minima at the floor (identical sets): nothing for prices to resolve
        assert!(!auction_is_useful(&[0.0; 100], 0.0, 5.0));
        assert!(auction_is_useful(&[2.0; 100], 2.0, 2.0));
    }
}
