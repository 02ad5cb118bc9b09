//! Exact dense linear assignment: `min over permutations x of sum_i C[i, x(i)]`, with dual
//! potentials and an optimality certificate.
//!
//! Linear-programming duality: for any `u, v` with `C[i, j] - u_i - v_j >= 0` for all `(i, j)`,
//! `sum_i u_i + sum_j v_j` is a lower bound on every assignment's cost, so the duality gap
//! `sum_i C[i, x(i)] - sum_i u_i - sum_j v_j` bounds how far `x` can be from the optimum.
//! [`Certificate`] measures the gap and the dual feasibility from scratch, both relative to the
//! costs involved (never to the largest entry), so optimality can be checked without trusting
//! the solver.
//!
//! The solver returns duals that are feasible in exact arithmetic (each `u_i` is the row minimum
//! of `C[i, j] - v_j`, rounded down when rounding to nearest would overshoot it) and checks its
//! own gap, in `O(n)`, against [`SOLVER_TOL`] of the optimum. When the fast path cannot resolve
//! the costs (an auction whose epsilon schedule is coarse next to the optimum, a price war, or a
//! gap too large) it falls back to slower methods that can; [`SolveStats`] records what ran.

use crate::auction;
use crate::error::OtError;
use crate::exact::{fsum, reduced_cost, two_sum};
use crate::jv;
use crate::simd;
use ndarray::ArrayView2;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// Relative duality gap below which the solver accepts its answer without a fallback: the
/// returned assignment costs at most `1 + SOLVER_TOL` times the optimum (non-negative costs).
pub const SOLVER_TOL: f64 = 1e-12;

/// An optimal assignment with its dual potentials.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assignment {
    /// `row_to_col[i]` is the column assigned to row `i` (a permutation of `0..n`).
    pub row_to_col: Vec<usize>,
    /// `sum_i C[i, row_to_col[i]]`.
    pub total_cost: f64,
    /// Row potentials `u_i = min_j (C[i, j] - v_j)` (rounded down where rounding to nearest
    /// would exceed the exact minimum, so that `(u, v)` is exactly dual feasible).
    pub u: Vec<f64>,
    /// Column potentials.
    pub v: Vec<f64>,
    /// How the answer was reached: the algorithm that produced it, auction work, fallbacks.
    #[serde(default)]
    pub stats: SolveStats,
}

/// How [`solve_assignment_with`] reached its answer: work counters and fallbacks, for
/// diagnostics and for tests that must not depend on timing.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SolveStats {
    /// The algorithm that produced the returned assignment (never [`Method::Auto`]).
    pub method: Method,
    /// Epsilon-scaling auction phases started (0 when no auction ran).
    pub auction_phases: u32,
    /// Auction bids made; each costs one pass over a row (`O(n)`).
    pub auction_bids: u64,
    /// Rows scanned by the shortest augmenting path searches (JV's exact phase, all attempts);
    /// each costs one pass over a row (`O(n)`). With `auction_bids`, the solve's work in rows.
    pub path_scans: u64,
    /// The fallbacks taken, in order (empty on the fast path).
    pub fallbacks: Vec<Fallback>,
    /// `|duality gap| / max(sum_i |C[i, x(i)]|, f64::MIN_POSITIVE)` of the returned answer,
    /// computed with exact summation; the answer is certified when this is `<= SOLVER_TOL`.
    pub relative_gap: f64,
}

/// Why [`solve_assignment_with`] left its first choice of algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Fallback {
    /// The auction's final epsilon (`(max C - min C) / (256 n)`) is coarse next to the median
    /// column minimum: one far outlier point sets the cost range, or the entries span many
    /// orders of magnitude. Its prices would be no warm start (and would round reduced costs at
    /// the scale of the largest entry), so JV ran without bidding.
    AuctionTooCoarse,
    /// The auction ran out of its bid budget (a price war): JV re-solved from scratch.
    AuctionBudget,
    /// The answer's duality gap exceeded [`SOLVER_TOL`] of its cost (potentials too large to
    /// resolve the optimum): re-solved with [`Method::ShortestPaths`].
    Gap,
    /// Entries so large that `4 n max |C|` overflows: solved on a copy scaled by a power of two.
    Rescaled,
}

/// Optimality certificate of an [`Assignment`] for a given cost matrix.
///
/// All reduced costs `r_ij = C[i, j] - u_i - v_j` are evaluated with an exact residual of
/// `u_i + v_j`, and the gap with exact summation, so neither is swamped by large potentials.
/// Soundness: for any permutation `p`,
/// `cost(x) - cost(p) <= duality_gap + max_relative_infeasibility * sum_i max(|C[i, p(i)]|, floor)`
/// with `floor = optimum_scale / n`; for non-negative costs, `is_optimal(tol)` therefore implies
/// `cost(x) <= (1 + tol) / (1 - 2 tol) * optimum`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Certificate {
    /// `min_{i,j} (C[i, j] - u_i - v_j)`; negative values are dual infeasibility.
    pub min_reduced_cost: f64,
    /// `max_{i,j} max(0, -r_ij) / max(|C[i, j]|, optimum_scale / n, f64::MIN_POSITIVE)`: dual
    /// infeasibility relative to the cost of the entry involved.
    pub max_relative_infeasibility: f64,
    /// `max_i |C[i, x(i)] - u_i - v_{x(i)}|`; complementary slackness (informational).
    pub max_abs_reduced_on_assignment: f64,
    /// Primal minus dual objective, `sum_i C[i, x(i)] - sum u - sum v` (0 at the optimum),
    /// correctly rounded (exact summation).
    pub duality_gap: f64,
    /// `sum_i |C[i, x(i)]|`, the scale of the assignment's cost (its total for non-negative
    /// costs), against which the gap is measured.
    pub optimum_scale: f64,
    /// Whether `row_to_col` is a permutation of `0..n`.
    pub is_permutation: bool,
    /// `max_{i,j} |C[i, j]|` (informational: tolerances are not scaled by it).
    pub cost_scale: f64,
}

impl Certificate {
    /// `|duality_gap| / max(optimum_scale, f64::MIN_POSITIVE)`.
    pub fn relative_gap(&self) -> f64 {
        self.duality_gap.abs() / self.optimum_scale.max(f64::MIN_POSITIVE)
    }

    /// True when the assignment is a permutation, the duality gap is at most `rel_tol` of the
    /// assignment's cost (`|gap| <= rel_tol * max(optimum_scale, f64::MIN_POSITIVE)`), and no
    /// reduced cost is below `-rel_tol` times the cost of its entry (see
    /// [`Certificate::max_relative_infeasibility`]). Both are relative to the costs involved,
    /// not to the largest entry, so a tiny optimum among huge entries is checked at its own scale.
    pub fn is_optimal(&self, rel_tol: f64) -> bool {
        self.is_permutation
            && self.max_relative_infeasibility <= rel_tol
            && self.relative_gap() <= rel_tol
    }
}

impl Assignment {
    /// Problem size `n`.
    pub fn len(&self) -> usize {
        self.row_to_col.len()
    }

    /// True for the (never returned) empty assignment.
    pub fn is_empty(&self) -> bool {
        self.row_to_col.is_empty()
    }

    /// The inverse permutation: `col_to_row[j]` is the row assigned to column `j`.
    pub fn col_to_row(&self) -> Vec<usize> {
        let mut inv = vec![0; self.row_to_col.len()];
        for (i, &j) in self.row_to_col.iter().enumerate() {
            if j < inv.len() {
                inv[j] = i;
            }
        }
        inv
    }

    /// Mean cost per row, `total_cost / n`.
    pub fn mean_cost(&self) -> f64 {
        self.total_cost / self.row_to_col.len() as f64
    }

    /// Checks dual feasibility and the duality gap against `cost` (recomputed from scratch).
    pub fn certificate(&self, cost: ArrayView2<f64>) -> Result<Certificate, OtError> {
        let n = self.row_to_col.len();
        if cost.dim() != (n, n) || self.u.len() != n || self.v.len() != n {
            return Err(OtError::ShapeMismatch {
                what: "cost matrix vs assignment size",
                expected: (n, n),
                got: cost.dim(),
            });
        }
        let mut seen = vec![false; n];
        let mut is_permutation = true;
        for &j in &self.row_to_col {
            if j >= n || seen[j] {
                is_permutation = false;
                break;
            }
            seen[j] = true;
        }
        let (max_on, gap, optimum_scale) = if is_permutation {
            let assigned = || self.row_to_col.iter().enumerate().map(|(i, &j)| (i, j));
            let max_on = assigned()
                .map(|(i, j)| reduced_cost(cost[[i, j]], self.u[i], self.v[j]).abs())
                .fold(0.0f64, f64::max);
            let gap = fsum(
                assigned()
                    .map(|(i, j)| cost[[i, j]])
                    .chain(self.u.iter().chain(&self.v).map(|&x| -x)),
            );
            let scale: f64 = assigned().map(|(i, j)| cost[[i, j]].abs()).sum();
            (max_on, gap, scale)
        } else {
            (f64::INFINITY, f64::NAN, f64::NAN)
        };
        let floor = if optimum_scale.is_finite() {
            (optimum_scale / n as f64).max(f64::MIN_POSITIVE)
        } else {
            f64::MIN_POSITIVE
        };
        let (min_red, max_rel, scale) = (0..n)
            .into_par_iter()
            .map(|i| {
                let mut mn = f64::INFINITY;
                let mut rel = 0.0f64;
                let mut sc = 0.0f64;
                let ui = self.u[i];
                for (j, &cij) in cost.row(i).iter().enumerate() {
                    let r = reduced_cost(cij, ui, self.v[j]);
                    mn = mn.min(r);
                    if r.is_nan() {
                        rel = f64::INFINITY;
                    } else if r < 0.0 {
                        rel = rel.max(-r / cij.abs().max(floor));
                    }
                    sc = sc.max(cij.abs());
                }
                (mn, rel, sc)
            })
            .reduce(
                || (f64::INFINITY, 0.0, 0.0),
                |a, b| (a.0.min(b.0), a.1.max(b.1), a.2.max(b.2)),
            );
        Ok(Certificate {
            min_reduced_cost: min_red,
            max_relative_infeasibility: max_rel,
            max_abs_reduced_on_assignment: max_on,
            duality_gap: gap,
            optimum_scale,
            is_permutation,
            cost_scale: scale,
        })
    }
}

/// Which exact algorithm [`solve_assignment_with`] runs. All give an optimal assignment; each
/// checks its duality gap and falls back to [`Method::ShortestPaths`] when it is too large.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Method {
    /// Chosen from the problem: currently [`Method::AuctionJv`] for `n >= 64`, else [`Method::Jv`].
    #[default]
    Auto,
    /// Jonker-Volgenant: column reduction, augmenting row reduction, shortest augmenting paths.
    Jv,
    /// Epsilon-scaling auction to near-optimal prices, then JV shortest augmenting paths from
    /// those prices to the exact optimum. Runs [`Method::Jv`] instead when the auction's epsilon
    /// schedule cannot resolve the costs or its bid budget runs out ([`Fallback`]).
    AuctionJv,
    /// Successive shortest augmenting paths from the column minima, without JV's heuristics:
    /// for non-negative costs every potential stays within the optimum's magnitude, so the
    /// result is exact relative to the optimum however widely the entries are spread. Slower.
    ShortestPaths,
}

/// Solves the square assignment problem exactly with the default method.
///
/// Errors: empty or non-square `cost`, any non-finite entry, or a total cost or dual potential
/// that overflows `f64` ([`OtError::Overflow`]).
pub fn solve_assignment(cost: ArrayView2<f64>) -> Result<Assignment, OtError> {
    solve_assignment_with(cost, Method::Auto)
}

/// Solves the square assignment problem exactly with a chosen [`Method`].
///
/// Errors as [`solve_assignment`].
pub fn solve_assignment_with(cost: ArrayView2<f64>, method: Method) -> Result<Assignment, OtError> {
    let (n, m) = cost.dim();
    if n == 0 {
        return Err(OtError::Empty {
            what: "cost matrix",
        });
    }
    if n != m {
        return Err(OtError::ShapeMismatch {
            what: "cost matrix must be square",
            expected: (n, n),
            got: (n, m),
        });
    }
    let (lo, hi) = check_finite_extremes(cost, "cost matrix")?;
    let max_abs = lo.abs().max(hi.abs());
    let c: Cow<[f64]> = match cost.as_slice() {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(cost.iter().copied().collect()),
    };
    let method = match method {
        Method::Auto if n >= 64 => Method::AuctionJv,
        Method::Auto => Method::Jv,
        other => other,
    };
    // Potentials and path lengths stay within a few multiples of n max|C|; when that could
    // overflow, solve on a copy scaled by a power of two (exact for normal numbers).
    let headroom = f64::MAX / (4.0 * n as f64);
    if max_abs > headroom {
        let k = (max_abs / headroom).log2().ceil() as i32 + 1;
        let down = 2f64.powi(-k);
        let scaled: Vec<f64> = c.iter().map(|&x| x * down).collect();
        let mut a = solve_finite(&scaled, n, method, (lo * down, hi * down));
        a.stats.fallbacks.insert(0, Fallback::Rescaled);
        let up = 2f64.powi(k);
        a.u.iter_mut().chain(a.v.iter_mut()).for_each(|x| *x *= up);
        a.total_cost = total(&c, n, &a.row_to_col);
        return check_overflow(a);
    }
    check_overflow(solve_finite(&c, n, method, (lo, hi)))
}

/// Errors when the total cost or a potential is not finite.
fn check_overflow(a: Assignment) -> Result<Assignment, OtError> {
    if !a.total_cost.is_finite() {
        return Err(OtError::Overflow {
            what: "the total cost of the optimal assignment",
            value: a.total_cost,
        });
    }
    if let Some(&value) = a.u.iter().chain(&a.v).find(|x| !x.is_finite()) {
        return Err(OtError::Overflow {
            what: "a dual potential",
            value,
        });
    }
    Ok(a)
}

/// Runs `method` (not `Auto`) on a finite matrix whose sums cannot overflow, with the fallbacks;
/// `extremes` are its smallest and largest entries.
fn solve_finite(c: &[f64], n: usize, method: Method, extremes: (f64, f64)) -> Assignment {
    let mut stats = SolveStats {
        method,
        ..SolveStats::default()
    };
    let solved = match method {
        Method::AuctionJv => {
            let cm = jv::column_minima(c, n);
            if !auction::auction_is_useful(&cm.min, extremes.0, extremes.1) {
                stats.fallbacks.push(Fallback::AuctionTooCoarse);
                stats.method = Method::Jv;
                jv::solve_jv_from(c, n, cm)
            } else {
                let mut work = auction::AuctionWork::default();
                let budget = auction::bid_budget(n);
                let solved = auction::solve_auction_jv(c, n, cm, extremes, budget, &mut work);
                stats.auction_phases = work.phases;
                stats.auction_bids = work.bids;
                solved.unwrap_or_else(|| {
                    stats.fallbacks.push(Fallback::AuctionBudget);
                    stats.method = Method::Jv;
                    jv::solve_jv(c, n)
                })
            }
        }
        Method::ShortestPaths => jv::solve_shortest_paths(c, n),
        _ => jv::solve_jv(c, n),
    };
    stats.path_scans = solved.scans;
    let a = finalise(c, n, solved.x, solved.v, stats);
    if a.stats.relative_gap <= SOLVER_TOL || a.stats.method == Method::ShortestPaths {
        return a;
    }
    let solved = jv::solve_shortest_paths(c, n);
    let mut stats = a.stats.clone();
    stats.fallbacks.push(Fallback::Gap);
    stats.method = Method::ShortestPaths;
    stats.path_scans += solved.scans;
    let b = finalise(c, n, solved.x, solved.v, stats);
    // The fallback when it certifies (its cost is then within SOLVER_TOL of the optimum, so
    // of the first answer's, whose total may differ from it by rounding); when neither does
    // (e.g. mixed-sign costs whose optimum is near 0), the cheaper of the two permutations.
    let b_better = b.stats.relative_gap <= SOLVER_TOL
        || b.total_cost < a.total_cost
        || (b.total_cost == a.total_cost && b.stats.relative_gap <= a.stats.relative_gap);
    if b_better {
        b
    } else {
        let mut a = a;
        a.stats.fallbacks.push(Fallback::Gap);
        a.stats.path_scans = b.stats.path_scans;
        a
    }
}

/// `sum_i C[i, x(i)]` in row order.
fn total(c: &[f64], n: usize, row_to_col: &[usize]) -> f64 {
    row_to_col
        .iter()
        .enumerate()
        .map(|(i, &j)| c[i * n + j])
        .sum()
}

/// Computes exactly feasible `u`, the total cost and the relative duality gap.
///
/// `u_i = min_j fl(C[i, j] - v_j)`, moved one ulp down when the exact residual of a minimising
/// subtraction is negative (rounding went up): every other entry's exact `C[i, j] - v_j` rounds
/// to a value `>= u_i` and so is itself `>= u_i`, which makes `(u, v)` feasible exactly. The gap
/// is then a true bound on the suboptimality. One vectorised minimum per row; the residual is
/// checked at the minimiser (at each of them when the minimum is tied).
fn finalise(
    c: &[f64],
    n: usize,
    row_to_col: Vec<usize>,
    v: Vec<f64>,
    mut stats: SolveStats,
) -> Assignment {
    let u: Vec<f64> = c
        .par_chunks(n)
        .map(|row| {
            // m = min_j fl(C[i, j] - v_j), j1 its first minimiser, m2 the second smallest
            let (m, j1, m2) = simd::two_smallest(row, &v);
            let overshoot = if m2 > m {
                two_sum(row[j1], -v[j1]).1 < 0.0
            } else {
                // tied minimisers: check each
                row.iter()
                    .zip(&v)
                    .any(|(&cij, &vj)| cij - vj == m && two_sum(cij, -vj).1 < 0.0)
            };
            if overshoot { m.next_down() } else { m }
        })
        .collect();
    let total_cost = total(c, n, &row_to_col);
    let gap = fsum(
        row_to_col
            .iter()
            .enumerate()
            .map(|(i, &j)| c[i * n + j])
            .chain(u.iter().chain(&v).map(|&x| -x)),
    );
    let scale: f64 = row_to_col
        .iter()
        .enumerate()
        .map(|(i, &j)| c[i * n + j].abs())
        .sum();
    stats.relative_gap = gap.abs() / scale.max(f64::MIN_POSITIVE);
    if !stats.relative_gap.is_finite() {
        stats.relative_gap = f64::INFINITY;
    }
    Assignment {
        row_to_col,
        total_cost,
        u,
        v,
        stats,
    }
}

/// Checks that every entry of `a` is finite (the error names the first that is not, with its
/// position) and returns the largest magnitude.
pub(crate) fn check_finite(a: ArrayView2<f64>, what: &'static str) -> Result<f64, OtError> {
    let (lo, hi) = check_finite_extremes(a, what)?;
    Ok(lo.abs().max(hi.abs()))
}

/// [`check_finite`] returning the smallest and largest entries (one parallel pass; `(0, 0)`
/// for an empty matrix).
pub(crate) fn check_finite_extremes(
    a: ArrayView2<f64>,
    what: &'static str,
) -> Result<(f64, f64), OtError> {
    let (lo, hi, all_finite) = match a.as_slice_memory_order() {
        Some(s) => s.par_chunks(1 << 16).map(min_max_finite).reduce(
            || (f64::INFINITY, f64::NEG_INFINITY, true),
            |x, y| (x.0.min(y.0), x.1.max(y.1), x.2 && y.2),
        ),
        None => min_max_finite_iter(a.iter().copied()),
    };
    if all_finite {
        return Ok(if lo <= hi { (lo, hi) } else { (0.0, 0.0) });
    }
    for ((row, col), &value) in a.indexed_iter() {
        if !value.is_finite() {
            return Err(OtError::NonFinite {
                what,
                row,
                col,
                value,
            });
        }
    }
    unreachable!("a non-finite entry was seen")
}

/// Smallest and largest entry of `s` and whether all are finite (vectorisable lanes).
fn min_max_finite(s: &[f64]) -> (f64, f64, bool) {
    const L: usize = 8;
    let mut lo = [f64::INFINITY; L];
    let mut hi = [f64::NEG_INFINITY; L];
    let mut ok = [true; L];
    let chunks = s.chunks_exact(L);
    let tail = chunks.remainder();
    for ch in chunks {
        for l in 0..L {
            let x = ch[l];
            ok[l] &= x.abs() <= f64::MAX;
            lo[l] = if x < lo[l] { x } else { lo[l] };
            hi[l] = if x > hi[l] { x } else { hi[l] };
        }
    }
    let (tl, th, tok) = min_max_finite_iter(tail.iter().copied());
    (
        lo.iter().fold(tl, |x, &y| x.min(y)),
        hi.iter().fold(th, |x, &y| x.max(y)),
        tok && ok.iter().all(|&b| b),
    )
}

fn min_max_finite_iter(it: impl Iterator<Item = f64>) -> (f64, f64, bool) {
    it.fold(
        (f64::INFINITY, f64::NEG_INFINITY, true),
        |(lo, hi, ok), x| (lo.min(x), hi.max(x), ok && x.is_finite()),
    )
}
