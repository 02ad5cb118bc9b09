//! Learning-rate warm-up and the discrete Karras sigma grid that DMD2 samples noise levels from.

use tch::{Device, Kind, Tensor};

/// Linear warm-up then constant: `lr * min(1, k / warmup)` at iteration `k` (0-based).
///
/// This is both EDM's ramp-up (`lr * min(cur_nimg / rampup_nimg, 1)`, evaluated before the
/// update) and diffusers' `constant_with_warmup` used by DMD2 (stepped once per iteration),
/// so the very first update has learning rate 0.
pub fn warmup_lr(base_lr: f64, iteration: u64, warmup: u64) -> f64 {
    if warmup == 0 {
        base_lr
    } else {
        base_lr * (iteration as f64 / warmup as f64).min(1.0)
    }
}

/// Inclusive grid-index bounds `[floor(lo_frac * n), floor(hi_frac * n)]` (DMD2's
/// `min_step = int(0.02 * 1000) = 20`, `max_step = int(0.98 * 1000) = 980`), clamped to `n - 1`.
pub fn index_range(n: usize, lo_frac: f64, hi_frac: f64) -> (i64, i64) {
    let lo = (lo_frac * n as f64).floor() as i64;
    let hi = ((hi_frac * n as f64).floor() as i64).min(n as i64 - 1);
    (lo, hi)
}

/// The Karras grid in ascending order (index 0 = sigma_min, last = sigma_max), as DMD2 flips it.
#[derive(Debug)]
pub struct SigmaGrid {
    ascending: Vec<f64>,
    table: Tensor,
}

impl SigmaGrid {
    /// Builds the ascending grid from a descending Karras grid (without the trailing 0).
    pub fn from_descending(descending: &[f64], device: Device) -> Self {
        let ascending: Vec<f64> = descending.iter().rev().copied().collect();
        let table = Tensor::from_slice(&ascending)
            .to_kind(Kind::Float)
            .to_device(device);
        SigmaGrid { ascending, table }
    }

    /// Number of grid points.
    pub fn len(&self) -> usize {
        self.ascending.len()
    }

    /// True for an empty grid.
    pub fn is_empty(&self) -> bool {
        self.ascending.is_empty()
    }

    /// Sigma at ascending index `k`.
    pub fn sigma(&self, k: usize) -> f64 {
        self.ascending[k]
    }

    /// Draws `batch` indices uniformly from `lo..=hi` and returns `(indices i64, sigmas f32)`.
    pub fn sample(&self, lo: i64, hi: i64, batch: i64) -> (Tensor, Tensor) {
        let idx = Tensor::randint_low(lo, hi + 1, [batch], (Kind::Int64, self.table.device()));
        let sigma = self.table.index_select(0, &idx);
        (idx, sigma)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warmup_is_linear_then_constant() {
        assert_eq!(warmup_lr(1.0, 0, 500), 0.0);
        assert!((warmup_lr(1.0, 250, 500) - 0.5).abs() < 1e-12);
        assert_eq!(warmup_lr(1.0, 5000, 500), 1.0);
        assert_eq!(warmup_lr(2.0, 0, 0), 2.0);
    }

    #[test]
    fn dmd2_index_range() {
        assert_eq!(index_range(1000, 0.02, 0.98), (20, 980));
        assert_eq!(index_range(1000, 0.0, 1.0), (0, 999));
    }

    #[test]
    fn grid_sampling_stays_in_range() {
        let desc: Vec<f64> = (0..10).rev().map(|i| i as f64 + 1.0).collect();
        let g = SigmaGrid::from_descending(&desc, Device::Cpu);
        assert_eq!(g.sigma(0), 1.0);
        let (idx, s) = g.sample(2, 5, 2000);
        let idx = Vec::<i64>::try_from(&idx).unwrap();
        let s = Vec::<f32>::try_from(&s).unwrap();
        assert!(idx.iter().all(|&k| (2..=5).contains(&k)));
        assert!(idx.contains(&2) && idx.contains(&5));
        assert!(idx.iter().zip(&s).all(|(&k, &v)| v == (k + 1) as f32));
    }
}
