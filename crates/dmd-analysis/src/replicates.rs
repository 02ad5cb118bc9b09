//! Confidence intervals across independent replicates (seeds): a sweep point run with several
//! seeds gets the mean of its measure and a Student-t interval, which carries the
//! run-to-run variation (teacher, student, evaluation noise), not only the sampling noise a
//! bootstrap over one run's samples sees.

use serde::{Deserialize, Serialize};

use crate::special::student_t_two_sided_p;

/// Mean and Student-t confidence interval of replicate values.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ReplicateSummary {
    /// Number of finite replicate values used.
    pub n: usize,
    /// Their mean.
    pub mean: f64,
    /// Their sample standard deviation (`n - 1` in the denominator; 0 when `n = 1`).
    pub sd: f64,
    /// Lower end: `mean - t_{(1+level)/2, n-1} sd / sqrt(n)` (the mean itself when `n = 1`).
    pub lower: f64,
    /// Upper end.
    pub upper: f64,
    /// Confidence level, e.g. 0.95.
    pub level: f64,
}

impl ReplicateSummary {
    /// The summary of a quantity bounded to `[lo, hi]`: the mean and interval ends clamped to
    /// the bounds (a t-interval is symmetric and can cross them).
    pub fn bounded(mut self, lo: f64, hi: f64) -> Self {
        self.mean = self.mean.clamp(lo, hi);
        self.lower = self.lower.clamp(lo, hi);
        self.upper = self.upper.clamp(lo, hi);
        self
    }

    /// Whether the interval means anything: it needs at least two replicates.
    pub fn has_interval(&self) -> bool {
        self.n >= 2
    }
}

impl std::fmt::Display for ReplicateSummary {
    /// `mean [lower, upper]`, or `mean (interval n/a: 1 seed)` with one replicate.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.has_interval() {
            write!(f, "{:.3} [{:.3}, {:.3}]", self.mean, self.lower, self.upper)
        } else {
            write!(f, "{:.3} (interval n/a: 1 seed)", self.mean)
        }
    }
}

/// The `q`-quantile (`q` in (0.5, 1)) of Student's t with `nu` degrees of freedom, by
/// bisection on the two-sided tail `P(|T| >= t) = 2 (1 - q)`.
pub fn student_t_quantile(q: f64, nu: f64) -> f64 {
    assert!(q > 0.5 && q < 1.0 && nu > 0.0, "q in (0.5, 1), nu > 0");
    let tail = 2.0 * (1.0 - q);
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    while student_t_two_sided_p(hi, nu) > tail {
        hi *= 2.0;
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if student_t_two_sided_p(mid, nu) > tail {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// Summarises replicate values (non-finite ones are dropped); `None` when none is finite.
pub fn replicate_summary(values: &[f64], level: f64) -> Option<ReplicateSummary> {
    let v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    let n = v.len();
    if n == 0 {
        return None;
    }
    let mean = v.iter().sum::<f64>() / n as f64;
    if n == 1 {
        return Some(ReplicateSummary {
            n,
            mean,
            sd: 0.0,
            lower: mean,
            upper: mean,
            level,
        });
    }
    let sd = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt();
    let half = student_t_quantile(0.5 + 0.5 * level, (n - 1) as f64) * sd / (n as f64).sqrt();
    Some(ReplicateSummary {
        n,
        mean,
        sd,
        lower: mean - half,
        upper: mean + half,
        level,
    })
}

/// Median of `values` (the mean of the two middle values for an even count); `None` when empty
/// or when a value is NaN.
pub fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() || values.iter().any(|v| v.is_nan()) {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_quantiles_match_tables() {
        // Standard tables: t_{0.975} for 1, 2, 4, 10, 30 degrees of freedom.
        for (nu, t) in [
            (1.0, 12.7062),
            (2.0, 4.3027),
            (4.0, 2.7764),
            (10.0, 2.2281),
            (30.0, 2.0423),
        ] {
            let q = student_t_quantile(0.975, nu);
            assert!((q - t).abs() < 1e-3, "nu {nu}: {q} vs {t}");
        }
        assert!((student_t_quantile(0.95, 5.0) - 2.0150).abs() < 1e-3);
    }

    #[test]
    fn summary_of_three_seeds() {
        let s = replicate_summary(&[1.0, 2.0, 3.0, f64::NAN], 0.95).unwrap();
        assert_eq!(s.n, 3);
        assert!((s.mean - 2.0).abs() < 1e-12);
        assert!((s.sd - 1.0).abs() < 1e-12);
        let half = 4.3027 / 3f64.sqrt();
        assert!((s.upper - (2.0 + half)).abs() < 1e-3, "{s:?}");
        assert!((s.lower - (2.0 - half)).abs() < 1e-3, "{s:?}");
        let one = replicate_summary(&[5.0], 0.95).unwrap();
        assert_eq!((one.lower, one.upper, one.sd), (5.0, 5.0, 0.0));
        assert!(replicate_summary(&[f64::NAN], 0.95).is_none());
    }

    #[test]
    fn median_of_odd_even_and_bad_input() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[1.0, f64::NAN]), None);
    }
}
