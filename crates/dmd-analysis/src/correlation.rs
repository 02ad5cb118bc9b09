//! Pearson and Spearman correlation with two-sided p-values from the t-distribution
//! approximation `t = r sqrt((n - 2) / (1 - r^2))`, `n - 2` degrees of freedom (used for
//! `delta(z)` against `D(z)`, paper Fig. 6).

use serde::{Deserialize, Serialize};

use crate::error::{AnalysisError, Result};
use crate::special::student_t_two_sided_p;

/// A correlation coefficient with its significance.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Correlation {
    /// Coefficient in `[-1, 1]`.
    pub r: f64,
    /// Two-sided p-value of `r = 0` (t-distribution approximation).
    pub p_value: f64,
    /// Number of pairs.
    pub n: usize,
}

fn check(x: &[f64], y: &[f64], what: &'static str) -> Result<()> {
    if x.len() != y.len() {
        return Err(AnalysisError::Shape {
            what,
            detail: format!("{} vs {} values", x.len(), y.len()),
        });
    }
    if x.len() < 3 {
        return Err(AnalysisError::TooFewSamples {
            what,
            needed: 3,
            got: x.len(),
        });
    }
    if x.iter().chain(y).any(|v| !v.is_finite()) {
        return Err(AnalysisError::NonFinite { what });
    }
    for (name, v) in [("x", x), ("y", y)] {
        if v.iter().all(|&a| a == v[0]) {
            return Err(AnalysisError::Degenerate {
                what,
                detail: format!(
                    "{name} is constant (all values tied): the correlation is undefined"
                ),
            });
        }
    }
    Ok(())
}

fn pearson_r(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let mx = x.iter().sum::<f64>() / n;
    let my = y.iter().sum::<f64>() / n;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        let (da, db) = (a - mx, b - my);
        sxy += da * db;
        sxx += da * da;
        syy += db * db;
    }
    if sxx == 0.0 || syy == 0.0 {
        return 0.0;
    }
    (sxy / (sxx * syy).sqrt()).clamp(-1.0, 1.0)
}

fn with_p(r: f64, n: usize) -> Correlation {
    let nu = (n - 2) as f64;
    let p_value = if r.abs() >= 1.0 {
        0.0
    } else {
        student_t_two_sided_p(r * (nu / (1.0 - r * r)).sqrt(), nu)
    };
    Correlation { r, p_value, n }
}

/// Pearson's product-moment correlation; an error when either input is constant (undefined).
pub fn pearson(x: &[f64], y: &[f64]) -> Result<Correlation> {
    check(x, y, "pearson")?;
    Ok(with_p(pearson_r(x, y), x.len()))
}

/// Ranks starting at 1, ties receiving their average rank.
pub fn ranks(x: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..x.len()).collect();
    order.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let mut r = vec![0.0; x.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && x[order[j + 1]] == x[order[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for &o in &order[i..=j] {
            r[o] = avg;
        }
        i = j + 1;
    }
    r
}

/// Spearman's rank correlation (Pearson on average ranks).
pub fn spearman(x: &[f64], y: &[f64]) -> Result<Correlation> {
    check(x, y, "spearman")?;
    Ok(with_p(pearson_r(&ranks(x), &ranks(y)), x.len()))
}

/// Both correlations of a pair of variables, for `metrics.json`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CorrelationReport {
    /// Pearson's r.
    pub pearson: Correlation,
    /// Spearman's rho.
    pub spearman: Correlation,
}

impl CorrelationReport {
    /// Computes Pearson and Spearman correlation of `x` and `y`.
    pub fn new(x: &[f64], y: &[f64]) -> Result<Self> {
        Ok(Self {
            pearson: pearson(x, y)?,
            spearman: spearman(x, y)?,
        })
    }
}
