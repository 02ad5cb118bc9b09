//! Entropic optimal transport by log-domain Sinkhorn iterations with epsilon-scaling.
//!
//! Solves `min_P <P, C> - eps H(P)` over plans with uniform marginals `a_i = 1/n`, `b_j = 1/m`
//! (Cuturi 2013), with the plan written through potentials as
//! `P_ij = exp((f_i + g_j - C_ij) / eps)` and the alternating updates
//! `f_i <- f_i + eps (log a_i - log sum_j P_ij)`, `g_j <- g_j + eps (log b_j - log sum_i P_ij)`,
//! i.e. the log-sum-exp form of the Sinkhorn scalings, shifted by the current potentials so that
//! no exponent overflows. Numerics: `min(C)` is subtracted; the potentials are periodically
//! absorbed into a stored `f32` residual `R_ij = C_ij - min C - F_i - G_j` (Schmitzer 2019), so
//! the exponents near the support of the plan are small numbers known to `f32` precision; `eps`
//! starts at the spread (standard deviation) of `C` and shrinks geometrically to its target,
//! which by default is also relative to that spread (at d = 1024 costs cluster tightly, so an
//! absolute `eps` would be meaningless). The transport cost `<P, C>` is evaluated in `f64`.
//! The iterations run on `C / 2^k` with `2^k` near `max |C|` (exact, so results are unchanged
//! up to that scale), which keeps `1 / eps` and the residual inside `f32` for tiny costs.
//!
//! Convergence is reported honestly: `converged` needs the iterations' own row error below `tol`
//! *and* the returned plan, rebuilt in `f64` from the returned potentials, within `tol` on both
//! marginals (L1, the marginals having mass 1); a degenerate plan (an `eps` far below what `f64`
//! resolves at the scale of the costs, so entries are 0, inf or NaN) never converges.

use crate::assignment::check_finite;
use crate::error::OtError;
use crate::simd;
use ndarray::ArrayView2;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Sinkhorn settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SinkhornConfig {
    /// Target `eps` relative to the spread (standard deviation of the entries) of `C`.
    pub epsilon_rel: f64,
    /// Absolute target `eps`; overrides `epsilon_rel` when set.
    pub epsilon: Option<f64>,
    /// Stop when the L1 error of the row marginal, `sum_i |sum_j P_ij - a_i|`, is below this.
    pub tol: f64,
    /// Iteration cap over all stages.
    pub max_iter: usize,
    /// Factor by which `eps` shrinks from one stage to the next (in `(0, 1)`).
    pub scaling_factor: f64,
    /// Iterations per intermediate stage (before the target `eps` is reached).
    pub stage_iters: usize,
    /// First-stage `eps` relative to the spread of `C` (never below the target `eps`).
    pub initial_epsilon_rel: f64,
}

impl Default for SinkhornConfig {
    fn default() -> Self {
        Self {
            epsilon_rel: 1e-2,
            epsilon: None,
            tol: 1e-5,
            max_iter: 10_000,
            scaling_factor: 0.5,
            stage_iters: 20,
            initial_epsilon_rel: 1.0,
        }
    }
}

/// Result of [`sinkhorn`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SinkhornResult {
    /// Transport cost `<P, C> = sum_ij P_ij C_ij` of the entropic plan (comparable to the exact
    /// assignment's mean cost `total_cost / n`).
    pub cost: f64,
    /// Row potentials: `P_ij = exp((f_i + g_j - C_ij) / eps)`.
    pub f: Vec<f64>,
    /// Column potentials.
    pub g: Vec<f64>,
    /// Iterations run (all stages).
    pub iterations: usize,
    /// L1 marginal error of the returned plan, `max(sum_i |sum_j P_ij - 1/n|,
    /// sum_j |sum_i P_ij - 1/m|)`, with `P_ij = exp((f_i + g_j - C_ij) / eps)` rebuilt in `f64`
    /// from the returned potentials (the marginals have mass 1, so this is relative to them);
    /// infinite when the plan is degenerate (NaN or infinite entries).
    pub marginal_error: f64,
    /// The `eps` of the final stage.
    pub epsilon: f64,
    /// Whether the iterations reached `tol` before `max_iter` at the target `eps` *and* the
    /// returned plan's marginal error (rebuilt in `f64`, see `marginal_error`) is within `tol`.
    pub converged: bool,
}

/// Log-domain Sinkhorn with epsilon-scaling for a (possibly rectangular) cost matrix.
///
/// Errors: an empty matrix, a non-finite entry, invalid settings (a relative `eps` on a constant
/// matrix), and a transport cost that overflows `f64` ([`OtError::Overflow`]).
pub fn sinkhorn(cost: ArrayView2<f64>, config: &SinkhornConfig) -> Result<SinkhornResult, OtError> {
    let (n, m) = cost.dim();
    if n == 0 || m == 0 {
        return Err(OtError::Empty {
            what: "cost matrix",
        });
    }
    validate(config)?;
    let max_abs = check_finite(cost, "cost matrix")?;
    // Work on C / 2^k with 2^k near max |C|: a power of two scales every f64 and f32 operation
    // below exactly (results are bit-identical up to the scale), and keeps the f32 residual and
    // 1/eps in range for tiny (1e-38) and the sums in range for huge (1e307) costs.
    let k = if max_abs > 0.0 {
        (max_abs.log2().floor() as i32).clamp(-1000, 1000)
    } else {
        0
    };
    let (scale, inv_scale) = (2f64.powi(k), 2f64.powi(-k));
    let c: Vec<f64> = match cost.as_slice() {
        Some(s) => s.iter().map(|&x| x * inv_scale).collect(),
        None => cost.iter().map(|&x| x * inv_scale).collect(),
    };
    let (cmin, _) = simd::min_max(&c);
    let nm = (n * m) as f64;
    let mean = c.par_iter().sum::<f64>() / nm;
    let var = c.par_iter().map(|&x| (x - mean) * (x - mean)).sum::<f64>() / nm;
    let spread = var.sqrt();
    if config.epsilon.is_none() && (spread.is_nan() || spread <= 0.0) {
        return Err(OtError::InvalidParameter {
            name: "epsilon",
            value: 0.0,
            reason: "the cost matrix is constant (zero spread), so a relative epsilon is 0: pass an absolute `epsilon`",
        });
    }
    let spread = spread.max(f64::MIN_POSITIVE);
    let eps_target = match config.epsilon {
        Some(e) => e * inv_scale,
        None => config.epsilon_rel * spread,
    };
    if !(eps_target.is_finite() && eps_target > 0.0) {
        return Err(OtError::InvalidParameter {
            name: "epsilon",
            value: eps_target * scale,
            reason: "must be finite and > 0 (a constant cost matrix has zero spread: pass an absolute epsilon)",
        });
    }
    let (log_a, log_b) = (-(n as f64).ln(), -(m as f64).ln());
    let a = 1.0 / n as f64;
    // absorbed potentials (f64) and residual R = C - cmin - F - G (f32)
    let mut big_f = vec![0.0f64; n];
    let mut big_g = vec![0.0f64; m];
    let mut r = vec![0.0f32; n * m];
    let mut f = vec![0.0f64; n];
    let mut g = vec![0.0f64; m];
    let mut eps = (config.initial_epsilon_rel * spread).max(eps_target);
    let mut iterations = 0usize;
    let mut stage_iter = 0usize;
    let mut converged = false;
    let mut iter_tol = config.tol;
    // the verified marginal error of the current state, when it has been computed
    let mut verified: Option<f64> = None;
    absorb(&c, m, cmin, &mut big_f, &mut big_g, &mut f, &mut g, &mut r);
    while iterations < config.max_iter {
        let inv_eps = (1.0 / eps) as f32;
        // One fused pass over R per iteration: for each row, the plan entries
        // E_ij = exp((f_i + g_j - R_ij) / eps) give the row sum s_i and the f-update; the updated
        // row is E_ij * exp((f_i' - f_i) / eps), whose column sums t_j drive the g-update.
        let (gs, gw) = split_potential(&g, eps);
        let pass = r
            .par_chunks(m * ROW_BLOCK)
            .zip(f.par_chunks_mut(ROW_BLOCK))
            .fold(
                || FusedPass::new(m),
                |mut st, (rows, fblock)| {
                    st.blk.fill(0.0);
                    for (row, fi) in rows.chunks(m).zip(fblock.iter_mut()) {
                        let fs = *fi as f32;
                        let s = simd::row_exp_sum(fs, &gs, &gw, row, inv_eps, &mut st.tmp)
                            * ((*fi - f64::from(fs)) / eps).exp();
                        st.err += (s - a).abs();
                        if s > 0.0 && s.is_finite() {
                            *fi += eps * (log_a - s.ln());
                            let scale = ((*fi - f64::from(fs)) / eps).exp() as f32;
                            simd::axpy_f32(&mut st.blk, scale, &st.tmp);
                        } else {
                            *fi += exact_row_update(*fi, &g, row, eps, log_a);
                            st.exact_rows = true;
                        }
                    }
                    for (t, &bv) in st.tot.iter_mut().zip(&st.blk) {
                        *t += f64::from(bv);
                    }
                    st
                },
            )
            .reduce(
                || FusedPass::new(0),
                |x, y| {
                    if x.tot.is_empty() {
                        y
                    } else if y.tot.is_empty() {
                        x
                    } else {
                        x.merge(y)
                    }
                },
            );
        let row_err = pass.err;
        let t: Vec<f64> = if pass.exact_rows || pass.tot.len() != m {
            // a row needed the exact update: recompute the column sums from scratch
            let (fs, fw) = split_potential(&f, eps);
            let (gs, _) = split_potential(&g, eps);
            column_sums(&r, m, &fs, &fw, &gs, inv_eps)
                .iter()
                .zip(&g)
                .zip(&gs)
                .map(|((&tj, &gj), &gsj)| tj * ((gj - f64::from(gsj)) / eps).exp())
                .collect()
        } else {
            pass.tot
        };
        let mut fallback = false;
        for (gj, &tj) in g.iter_mut().zip(&t) {
            if tj > 0.0 && tj.is_finite() {
                *gj += eps * (log_b - tj.ln());
            } else {
                fallback = true;
            }
        }
        if fallback {
            exact_column_update(&r, m, &f, &mut g, &t, eps, log_b);
        }
        iterations += 1;
        stage_iter += 1;
        verified = None;
        let err = row_err;
        let at_target = eps <= eps_target;
        if at_target && err < iter_tol {
            // The iterations measure the row marginal of their f32 representation before the
            // last update. Accept only when the plan as the user rebuilds it,
            // P_ij = exp((f_i + g_j - C_ij) / eps) (in f64, from the residual C - cmin - F - G),
            // meets `tol` on rows and columns; otherwise iterate on until the representation's
            // error has shrunk in proportion (the two track each other closely) and check
            // again. A degenerate plan (NaN/inf) is final.
            let (row_e, col_e) = verify_plan(&c, m, cmin, &big_f, &big_g, &f, &g, eps);
            verified = Some(row_e.max(col_e));
            if row_e.max(col_e) <= config.tol {
                converged = true;
                break;
            }
            if !(row_e.is_finite() && col_e.is_finite()) {
                break;
            }
            iter_tol = err * (0.95 * config.tol / row_e.max(col_e)).min(0.99);
        }
        if !at_target && (stage_iter >= config.stage_iters || err < config.tol) {
            eps = (eps * config.scaling_factor).max(eps_target);
            stage_iter = 0;
            absorb(&c, m, cmin, &mut big_f, &mut big_g, &mut f, &mut g, &mut r);
        }
    }
    let marginal_error = verified.unwrap_or_else(|| {
        let (row_e, col_e) = verify_plan(&c, m, cmin, &big_f, &big_g, &f, &g, eps);
        row_e.max(col_e)
    });
    // potentials for C itself
    let f_out: Vec<f64> = big_f
        .iter()
        .zip(&f)
        .map(|(&bf, &fi)| (bf + fi + cmin) * scale)
        .collect();
    let g_out: Vec<f64> = big_g
        .iter()
        .zip(&g)
        .map(|(&bg, &gj)| (bg + gj) * scale)
        .collect();
    // <P, C> with P built from the same residual representation the iterations used
    let inv_eps = (1.0 / eps) as f32;
    let (gs, gw) = split_potential(&g, eps);
    let transport: f64 = r
        .par_chunks(m)
        .zip(c.par_chunks(m))
        .zip(f.par_iter())
        .map(|((row, crow), &fi)| {
            let fs = fi as f32;
            simd::row_exp_dot(fs, &gs, &gw, row, crow, inv_eps) * ((fi - f64::from(fs)) / eps).exp()
        })
        .sum::<f64>()
        * scale;
    if transport.is_infinite() {
        return Err(OtError::Overflow {
            what: "the transport cost <P, C>",
            value: transport,
        });
    }
    Ok(SinkhornResult {
        cost: transport,
        f: f_out,
        g: g_out,
        iterations,
        marginal_error,
        epsilon: eps * scale,
        converged,
    })
}

/// L1 errors `(sum_i |sum_j P_ij - 1/n|, sum_j |sum_i P_ij - 1/m|)` of the plan
/// `P_ij = exp((f_i + g_j - R_ij) / eps)`, `R = C - cmin - F - G` evaluated in `f64`. The
/// marginals have total mass 1, so these are relative to the marginals. NaN or infinite when the
/// plan is (e.g. `eps` far below what `f64` resolves at the scale of the costs).
#[allow(clippy::too_many_arguments)]
fn verify_plan(
    c: &[f64],
    m: usize,
    cmin: f64,
    big_f: &[f64],
    big_g: &[f64],
    f: &[f64],
    g: &[f64],
    eps: f64,
) -> (f64, f64) {
    let n = big_f.len();
    let (a, b) = (1.0 / n as f64, 1.0 / m as f64);
    let (row_err, cols) = c
        .par_chunks(m)
        .zip(big_f.par_iter().zip(f.par_iter()))
        .fold(
            || (0.0f64, vec![0.0f64; m]),
            |(mut err, mut cols), (crow, (&bf, &fi))| {
                let mut s = 0.0f64;
                for (((col, &cij), &bg), &gj) in cols.iter_mut().zip(crow).zip(big_g).zip(g) {
                    let r = cij - cmin - bf - bg;
                    let p = ((fi + gj - r) / eps).exp();
                    s += p;
                    *col += p;
                }
                err += (s - a).abs();
                (err, cols)
            },
        )
        .reduce(
            || (0.0, vec![0.0; m]),
            |(e1, mut c1), (e2, c2)| {
                for (x, y) in c1.iter_mut().zip(&c2) {
                    *x += y;
                }
                (e1 + e2, c1)
            },
        );
    let col_err = cols.iter().map(|&t| (t - b).abs()).sum::<f64>();
    let bad = |e: f64| if e.is_finite() { e } else { f64::INFINITY };
    (bad(row_err), bad(col_err))
}

fn validate(config: &SinkhornConfig) -> Result<(), OtError> {
    let checks: [(&'static str, f64, bool, &'static str); 5] = [
        (
            "initial_epsilon_rel",
            config.initial_epsilon_rel,
            config.initial_epsilon_rel > 0.0 && config.initial_epsilon_rel.is_finite(),
            "must be finite and > 0",
        ),
        (
            "epsilon_rel",
            config.epsilon_rel,
            config.epsilon_rel > 0.0 && config.epsilon_rel.is_finite(),
            "must be finite and > 0",
        ),
        (
            "tol",
            config.tol,
            config.tol > 0.0,
            "must be > 0 (marginal errors never reach exactly 0 in floating point)",
        ),
        (
            "scaling_factor",
            config.scaling_factor,
            config.scaling_factor > 0.0 && config.scaling_factor < 1.0,
            "must lie in (0, 1)",
        ),
        (
            "stage_iters",
            config.stage_iters as f64,
            config.stage_iters > 0,
            "must be >= 1",
        ),
    ];
    for (name, value, ok, reason) in checks {
        if !ok {
            return Err(OtError::InvalidParameter {
                name,
                value,
                reason,
            });
        }
    }
    Ok(())
}

/// Moves the small potentials `f, g` into `F, G` and recomputes `R = C - cmin - F - G` from `C`.
#[allow(clippy::too_many_arguments)]
fn absorb(
    c: &[f64],
    m: usize,
    cmin: f64,
    big_f: &mut [f64],
    big_g: &mut [f64],
    f: &mut [f64],
    g: &mut [f64],
    r: &mut [f32],
) {
    for (bf, fi) in big_f.iter_mut().zip(f.iter_mut()) {
        *bf += *fi;
        *fi = 0.0;
    }
    for (bg, gj) in big_g.iter_mut().zip(g.iter_mut()) {
        *bg += *gj;
        *gj = 0.0;
    }
    let big_g: &[f64] = big_g;
    r.par_chunks_mut(m)
        .zip(c.par_chunks(m))
        .zip(big_f.par_iter())
        .for_each(|((rrow, crow), &fi)| {
            for ((rij, &cij), &gj) in rrow.iter_mut().zip(crow).zip(big_g) {
                *rij = (cij - cmin - fi - gj) as f32;
            }
        });
}

/// Rows per block of the fused pass (column sums are accumulated in `f32` within a block).
const ROW_BLOCK: usize = 64;

/// Per-thread state of the fused row/column pass.
struct FusedPass {
    /// L1 row-marginal error accumulated so far.
    err: f64,
    /// Column sums of the updated plan (f64 across blocks).
    tot: Vec<f64>,
    /// Column sums within the current block (f32).
    blk: Vec<f32>,
    /// One row of plan entries.
    tmp: Vec<f32>,
    /// Whether some row needed the exact (max-shifted) update.
    exact_rows: bool,
}

impl FusedPass {
    fn new(m: usize) -> Self {
        Self {
            err: 0.0,
            tot: vec![0.0; m],
            blk: vec![0.0; m],
            tmp: vec![0.0; m],
            exact_rows: false,
        }
    }

    fn merge(mut self, other: Self) -> Self {
        self.err += other.err;
        self.exact_rows |= other.exact_rows;
        for (a, b) in self.tot.iter_mut().zip(&other.tot) {
            *a += b;
        }
        self
    }
}

/// Splits `f64` potentials into `f32` values and `f32` weights `exp((p - p_f32) / eps)` that carry
/// the rounding, so that updates smaller than an `f32` ulp are not lost.
fn split_potential(p: &[f64], eps: f64) -> (Vec<f32>, Vec<f32>) {
    p.iter()
        .map(|&x| {
            let xs = x as f32;
            (xs, ((x - f64::from(xs)) / eps).exp() as f32)
        })
        .unzip()
}

/// Column sums `t_j = sum_i w_i exp((f_i + g_j - R_ij) / eps)`, f32 within blocks of rows, f64 across.
fn column_sums(r: &[f32], m: usize, f: &[f32], w: &[f32], g: &[f32], inv_eps: f32) -> Vec<f64> {
    const BLOCK: usize = 128;
    r.par_chunks(m * BLOCK)
        .zip(f.par_chunks(BLOCK).zip(w.par_chunks(BLOCK)))
        .fold(
            || (vec![0.0f64; m], vec![0.0f32; m]),
            |(mut tot, mut blk), (rows, (fs, ws))| {
                blk.fill(0.0);
                for ((row, &fi), &wi) in rows.chunks(m).zip(fs).zip(ws) {
                    simd::col_exp_accumulate(&mut blk, fi, wi, g, row, inv_eps);
                }
                for (t, &b) in tot.iter_mut().zip(&blk) {
                    *t += f64::from(b);
                }
                (tot, blk)
            },
        )
        .map(|(tot, _)| tot)
        .reduce(
            || vec![0.0f64; m],
            |mut x, y| {
                for (a, b) in x.iter_mut().zip(&y) {
                    *a += b;
                }
                x
            },
        )
}

/// Exact (max-shifted, f64) log-sum-exp row update, for rows whose shifted sum under/overflowed.
fn exact_row_update(fi: f64, g: &[f64], row: &[f32], eps: f64, log_a: f64) -> f64 {
    let z = |j: usize| (fi + g[j] - f64::from(row[j])) / eps;
    let mx = (0..row.len()).map(z).fold(f64::NEG_INFINITY, f64::max);
    let lse = mx + (0..row.len()).map(|j| (z(j) - mx).exp()).sum::<f64>().ln();
    eps * (log_a - lse)
}

/// Exact log-sum-exp update for the columns whose shifted sums under/overflowed.
fn exact_column_update(
    r: &[f32],
    m: usize,
    f: &[f64],
    g: &mut [f64],
    t: &[f64],
    eps: f64,
    log_b: f64,
) {
    for j in 0..m {
        if t[j] > 0.0 && t[j].is_finite() {
            continue;
        }
        let z = |i: usize| (f[i] + g[j] - f64::from(r[i * m + j])) / eps;
        let mx = (0..f.len()).map(z).fold(f64::NEG_INFINITY, f64::max);
        let lse = mx + (0..f.len()).map(|i| (z(i) - mx).exp()).sum::<f64>().ln();
        g[j] += eps * (log_b - lse);
    }
}
