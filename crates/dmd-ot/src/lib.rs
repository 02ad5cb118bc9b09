//! # dmd-ot
//!
//! Optimal transport between two equal-size point clouds: squared-Euclidean cost matrices,
//! an exact linear assignment solver with an optimality certificate, log-domain Sinkhorn, and
//! the study's pairing inefficiency `Delta_E = E_DT / E_OT - 1` (paper Definition 1, Eq. 6).
//! `Delta_E` is evaluated here and nowhere else: `dmd-analysis` calls
//! [`pairing_inefficiency`] for its estimates and [`pairing_inefficiency_from_cost`] for its
//! bootstrap resamples.
//!
//! | quantity | symbol | function | paper |
//! |---|---|---|---|
//! | pairing inefficiency from two point sets | `delta_e = e_dt / e_ot - 1` | [`pairing_inefficiency`] | Def. 1, Eq. 6 |
//! | pairing inefficiency from a cost matrix (bootstrap resamples) | `delta_e`, `e_dt`, `e_ot` | [`pairing_inefficiency_from_cost`] | Def. 1, Eq. 6 |
//! | pairing inefficiency within classes (same-label pairs only; conditional data) | `delta_e`, `e_ot`, `e_rand` per class | [`pairing_inefficiency_within_classes`] | Def. 1, Eq. 6, restricted |
//! | direct-pairing energy `mean_i C_ii` | `e_dt` | [`PairingInefficiency::e_dt`] | Def. 1, Eq. 6 |
//! | optimal-transport energy `min_pi mean_i C_{i,pi(i)}` | `e_ot` | [`PairingInefficiency::e_ot`] | Def. 1, Eq. 6 |
//! | random-pairing energy `mean_{i,j} C_ij` | `e_rand` | [`PairingInefficiency::e_rand`] | |
//! | copy score `(e_rand - e_dt) / (e_rand - e_ot)` | | [`PairingInefficiency::copy_score`] | |
//! | fraction of seeds with `pi(i) = i` | | [`PairingInefficiency::fixed_point_fraction`] | |
//! | squared-Euclidean cost `C_ij = sum_k (x_ik - y_jk)^2` | `C` | [`sq_euclidean_cost`], [`try_sq_euclidean_cost`] | the cost inside Eq. 6 |
//! | exact optimal assignment `pi` with dual certificate | `pi` | [`solve_assignment`], [`solve_assignment_with`], [`Assignment::certificate`], [`SolveStats`] | the `min_pi` of `e_ot` |
//! | entropic OT (log-domain Sinkhorn) | | [`sinkhorn`] | |
//!
//! ```
//! use dmd_ot::{pairing_inefficiency, solve_assignment, sq_euclidean_cost};
//! use ndarray::array;
//!
//! // teacher outputs phi_i and student outputs g_i for the same noises z_i
//! let phi = array![[0.0f32, 0.0], [1.0, 0.0], [0.0, 1.0]];
//! let g = array![[1.0f32, 0.1], [0.0, 0.1], [0.1, 1.0]];
//! let p = pairing_inefficiency(phi.view(), g.view())?;
//! assert_eq!(p.assignment, vec![1, 0, 2]); // the student swapped the first two outputs
//! assert!(p.delta_e > 10.0);
//!
//! // the pieces: cost matrix, exact assignment, optimality certificate
//! let c = sq_euclidean_cost(phi.view(), g.view());
//! let a = solve_assignment(c.view())?;
//! assert!(a.certificate(c.view())?.is_optimal(1e-12));
//! assert!((a.mean_cost() - p.e_ot).abs() < 1e-12);
//! assert!(a.stats.relative_gap <= dmd_ot::SOLVER_TOL); // the solver checked its own gap
//! # Ok::<(), dmd_ot::OtError>(())
//! ```
//!
//! Modules, one concept each: [`cost`](sq_euclidean_cost) (blocked GEMM or direct sums),
//! the assignment solver (epsilon-scaling auction warm start + Jonker-Volgenant shortest
//! augmenting paths, [`solve_assignment`]), [`sinkhorn`] (entropic OT) and
//! [`pairing_inefficiency`]. Costs and duals are `f64` throughout.
//!
//! Exactness on every finite input: the solver returns exactly feasible duals and checks its
//! duality gap (exact summation) against [`SOLVER_TOL`] of the optimum. Where the fast path
//! cannot resolve the costs (entries spanning many orders of magnitude, one far outlier point,
//! potentials too large next to a tiny optimum) it falls back to JV or to
//! [`Method::ShortestPaths`], whose potentials stay within the optimum's magnitude;
//! [`SolveStats`] records the method, the work and the [`Fallback`]s. Sums that overflow `f64`
//! are [`OtError::Overflow`], never an infinite "success".

mod assignment;
mod auction;
mod cost;
mod error;
mod exact;
mod jv;
mod pairing;
mod simd;
mod sinkhorn;

pub use assignment::{
    Assignment, Certificate, Fallback, Method, SOLVER_TOL, SolveStats, solve_assignment,
    solve_assignment_with,
};
pub use cost::{DIRECT_MAX_D, sq_euclidean_cost, try_sq_euclidean_cost};
pub use error::OtError;
pub use pairing::{
    PairingInefficiency, pairing_inefficiency, pairing_inefficiency_from_cost,
    pairing_inefficiency_within_classes,
};
pub use sinkhorn::{SinkhornConfig, SinkhornResult, sinkhorn};
