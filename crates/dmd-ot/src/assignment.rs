//! Exact dense linear assignment: `min over permutations x of sum_i C[i, x(i)]`, with dual
//! potentials and an optimality certificate.
//!
//! Linear-programming duality: for any `u, v` with `C[i, j] - u_i - v_j >= 0` for all `(i, j)`,
//! `sum_i u_i + sum_j v_j` is a lower bound on every assignment's cost. An assignment whose
//! reduced costs `C[i, x(i)] - u_i - v_{x(i)}` are all zero attains the bound and is optimal.
//! [`Certificate`] measures both conditions, so optimality can be checked without trusting the solver.

use crate::auction;
use crate::error::OtError;
use crate::jv;
use ndarray::ArrayView2;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// An optimal assignment with its dual potentials.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assignment {
    /// `row_to_col[i]` is the column assigned to row `i` (a permutation of `0..n`).
    pub row_to_col: Vec<usize>,
    /// `sum_i C[i, row_to_col[i]]`.
    pub total_cost: f64,
    /// Row potentials `u_i = min_j (C[i, j] - v_j)`.
    pub u: Vec<f64>,
    /// Column potentials.
    pub v: Vec<f64>,
}

/// Optimality certificate of an [`Assignment`] for a given cost matrix.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Certificate {
    /// `min_{i,j} (C[i, j] - u_i - v_j)`; dual feasibility needs `>= -tol`.
    pub min_reduced_cost: f64,
    /// `max_i |C[i, x(i)] - u_i - v_{x(i)}|`; complementary slackness needs `<= tol`.
    pub max_abs_reduced_on_assignment: f64,
    /// Primal minus dual objective, `sum_i C[i, x(i)] - sum u - sum v` (0 at the optimum).
    pub duality_gap: f64,
    /// Whether `row_to_col` is a permutation of `0..n`.
    pub is_permutation: bool,
    /// `max_{i,j} |C[i, j]|`, the scale against which tolerances are meant.
    pub cost_scale: f64,
}

impl Certificate {
    /// True when the assignment is a permutation, the duals are feasible and the reduced costs on
    /// the assignment vanish, all within `rel_tol * max(1, cost_scale)`.
    pub fn is_optimal(&self, rel_tol: f64) -> bool {
        let tol = rel_tol * self.cost_scale.max(1.0);
        self.is_permutation
            && self.min_reduced_cost >= -tol
            && self.max_abs_reduced_on_assignment <= tol
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

    /// Checks dual feasibility and complementary slackness against `cost` (recomputed from scratch).
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
        let (min_red, scale) = (0..n)
            .into_par_iter()
            .map(|i| {
                let mut mn = f64::INFINITY;
                let mut sc = 0.0f64;
                for (j, &cij) in cost.row(i).iter().enumerate() {
                    mn = mn.min(cij - self.u[i] - self.v[j]);
                    sc = sc.max(cij.abs());
                }
                (mn, sc)
            })
            .reduce(|| (f64::INFINITY, 0.0), |a, b| (a.0.min(b.0), a.1.max(b.1)));
        let mut max_on = 0.0f64;
        let mut primal = 0.0f64;
        if is_permutation {
            for (i, &j) in self.row_to_col.iter().enumerate() {
                max_on = max_on.max((cost[[i, j]] - self.u[i] - self.v[j]).abs());
                primal += cost[[i, j]];
            }
        } else {
            max_on = f64::INFINITY;
            primal = f64::NAN;
        }
        let dual: f64 = self.u.iter().sum::<f64>() + self.v.iter().sum::<f64>();
        Ok(Certificate {
            min_reduced_cost: min_red,
            max_abs_reduced_on_assignment: max_on,
            duality_gap: primal - dual,
            is_permutation,
            cost_scale: scale,
        })
    }
}

/// Which exact algorithm [`solve_assignment_with`] runs. All give an optimal assignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Method {
    /// Chosen from the problem: currently [`Method::AuctionJv`] for `n >= 64`, else [`Method::Jv`].
    #[default]
    Auto,
    /// Jonker-Volgenant: column reduction, augmenting row reduction, shortest augmenting paths.
    Jv,
    /// Epsilon-scaling auction to near-optimal prices, then JV shortest augmenting paths from
    /// those prices to the exact optimum.
    AuctionJv,
}

/// Solves the square assignment problem exactly with the default method.
///
/// Errors: empty or non-square `cost`, or any non-finite entry.
pub fn solve_assignment(cost: ArrayView2<f64>) -> Result<Assignment, OtError> {
    solve_assignment_with(cost, Method::Auto)
}

/// Solves the square assignment problem exactly with a chosen [`Method`].
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
    check_finite(cost, "cost matrix")?;
    let c: Cow<[f64]> = match cost.as_slice() {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(cost.iter().copied().collect()),
    };
    let method = match method {
        Method::Auto if n >= 64 => Method::AuctionJv,
        Method::Auto => Method::Jv,
        other => other,
    };
    let (row_to_col, v) = match method {
        Method::AuctionJv => auction::solve_auction_jv(&c, n),
        _ => jv::solve_jv(&c, n),
    };
    Ok(finalise(&c, n, row_to_col, v))
}

/// Computes `u_i = min_j (C[i, j] - v_j)` and the total cost.
fn finalise(c: &[f64], n: usize, row_to_col: Vec<usize>, v: Vec<f64>) -> Assignment {
    let u: Vec<f64> = c
        .par_chunks(n)
        .map(|row| {
            row.iter()
                .zip(&v)
                .map(|(&cij, &vj)| cij - vj)
                .fold(f64::INFINITY, f64::min)
        })
        .collect();
    let total_cost = row_to_col
        .iter()
        .enumerate()
        .map(|(i, &j)| c[i * n + j])
        .sum();
    Assignment {
        row_to_col,
        total_cost,
        u,
        v,
    }
}

/// First non-finite entry of `a`, as an error.
pub(crate) fn check_finite(a: ArrayView2<f64>, what: &'static str) -> Result<(), OtError> {
    if a.iter().all(|x| x.is_finite()) {
        return Ok(());
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
    Ok(())
}
