//! The Karras et al. (2022) noise-level grid used by the EDM samplers (their Eq. 5).
//!
//! `sigma_i = (sigma_max^(1/rho) + i/(N-1) * (sigma_min^(1/rho) - sigma_max^(1/rho)))^rho`,
//! `i = 0..N-1`, descending from `sigma_max` to `sigma_min`. The samplers append the final
//! `sigma_N = 0` themselves.

/// Smallest noise level of the grid (EDM default).
pub const SIGMA_MIN: f64 = 0.002;
/// Largest noise level of the grid, `T` in the paper (EDM default).
pub const SIGMA_MAX: f64 = 80.0;
/// Grid curvature `rho` (EDM default).
pub const RHO: f64 = 7.0;

/// The `n`-point Karras grid, descending: `sigma_0 = sigma_max, ..., sigma_{n-1} = sigma_min`
/// (no trailing 0).
///
/// `n = 1` gives `[sigma_max]` (the one-step grid of `Phi_1`), `n = 0` an empty grid.
pub fn karras_sigmas(n: usize, sigma_min: f64, sigma_max: f64, rho: f64) -> Vec<f64> {
    match n {
        0 => Vec::new(),
        1 => vec![sigma_max],
        _ => {
            let a = sigma_max.powf(1.0 / rho);
            let b = sigma_min.powf(1.0 / rho);
            (0..n)
                .map(|i| {
                    let t = i as f64 / (n - 1) as f64;
                    (a + t * (b - a)).powf(rho)
                })
                .collect()
        }
    }
}

/// The sampler grid of `Phi_K` with the EDM defaults: the `K`-point Karras grid followed by a
/// final `0`, so `K + 1` values (`[80, 0]` for `K = 1`).
pub fn sampler_grid(steps: usize) -> Vec<f64> {
    let mut sigmas = karras_sigmas(steps, SIGMA_MIN, SIGMA_MAX, RHO);
    sigmas.push(0.0);
    sigmas
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eight_point_grid_matches_the_reference_values() {
        let g = sampler_grid(8);
        let expected = [80.0, 34.99, 13.70, 4.637, 1.287, 0.2675, 0.0352, 0.002, 0.0];
        assert_eq!(g.len(), expected.len());
        for (a, b) in g.iter().zip(expected) {
            assert!((a - b).abs() <= 5e-3 * b.max(1e-3), "{a} vs {b}");
        }
        assert_eq!(g[0], SIGMA_MAX);
        assert!((g[7] - SIGMA_MIN).abs() < 1e-15);
    }

    #[test]
    fn grid_is_strictly_descending() {
        let g = karras_sigmas(1000, SIGMA_MIN, SIGMA_MAX, RHO);
        assert_eq!(g.len(), 1000);
        assert!(g.windows(2).all(|w| w[0] > w[1]));
        assert_eq!(karras_sigmas(1, SIGMA_MIN, SIGMA_MAX, RHO), vec![SIGMA_MAX]);
        assert!(karras_sigmas(0, SIGMA_MIN, SIGMA_MAX, RHO).is_empty());
    }
}
