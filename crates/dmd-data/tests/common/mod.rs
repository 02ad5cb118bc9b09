//! Shared helpers for the distribution tests.

#![allow(dead_code)]

/// Pearson's chi-square statistic of observed counts against equal expected counts.
pub fn chi_square_uniform(counts: &[usize]) -> f64 {
    let n: usize = counts.iter().sum();
    let expected = n as f64 / counts.len() as f64;
    counts
        .iter()
        .map(|&c| (c as f64 - expected).powi(2) / expected)
        .sum()
}

/// Upper quantile of the chi-square distribution with `df` degrees of freedom at standard
/// normal quantile `z` (Wilson-Hilferty approximation; z = 3.09 is the 99.9% point).
pub fn chi_square_quantile(df: usize, z: f64) -> f64 {
    let k = df as f64;
    let a = 2.0 / (9.0 * k);
    k * (1.0 - a + z * a.sqrt()).powi(3)
}
