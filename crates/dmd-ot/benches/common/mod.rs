//! Seeded synthetic point sets shared by the benchmarks and the `bench_ot` example.

use ndarray::Array2;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// Noise scale of the student-like set at low dimension.
pub const LOW_D_NOISE: f32 = 0.3;

/// Largest dimension treated as "low": there `g` is a noisy permutation of `phi`.
pub const LOW_D_MAX: usize = 16;

/// Seeded pair `(phi, g)` of `n x d` point sets.
///
/// For `d <= LOW_D_MAX` (teacher/student-like): `phi ~ N(0, I)` and `g = phi[perm] + 0.3 N(0, I)`,
/// which gives many near-ties in the cost matrix. For larger `d`: two independent `N(0, I)` sets,
/// whose costs cluster tightly around `2d`.
pub fn point_sets(n: usize, d: usize, seed: u64) -> (Array2<f32>, Array2<f32>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ ((n as u64) << 20) ^ (d as u64));
    let mut gauss = |rows: usize| -> Array2<f32> {
        Array2::from_shape_fn((rows, d), |_| StandardNormal.sample(&mut rng))
    };
    let phi = gauss(n);
    if d <= LOW_D_MAX {
        let noise = gauss(n);
        let mut perm: Vec<usize> = (0..n).collect();
        perm.shuffle(&mut rng);
        let g = Array2::from_shape_fn((n, d), |(i, k)| {
            phi[[perm[i], k]] + LOW_D_NOISE * noise[[i, k]]
        });
        (phi, g)
    } else {
        let g = gauss(n);
        (phi, g)
    }
}

/// Distance by which [`outlier_sets`] moves one point.
#[allow(dead_code)] // used by the bench_ot example, not by the criterion benches
pub const OUTLIER_DISTANCE: f32 = 1e4;

/// Near-copy sets with one outlier: `phi ~ N(0, I)`, `g = phi + 0.01 N(0, I)`, and `g[0]` moved
/// by [`OUTLIER_DISTANCE`] along the first axis. The cost range (~1e8) is set by one column while
/// every other matched cost is ~1e-3: an epsilon-scaling auction's schedule is far too coarse.
#[allow(dead_code)] // used by the bench_ot example, not by the criterion benches
pub fn outlier_sets(n: usize, d: usize, seed: u64) -> (Array2<f32>, Array2<f32>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x07 ^ ((n as u64) << 20) ^ (d as u64));
    let phi: Array2<f32> = Array2::from_shape_fn((n, d), |_| StandardNormal.sample(&mut rng));
    let noise: Array2<f32> = Array2::from_shape_fn((n, d), |_| StandardNormal.sample(&mut rng));
    let mut g = &phi + &(noise * 0.01f32);
    g[[0, 0]] += OUTLIER_DISTANCE;
    (phi, g)
}

/// An `n x n` cost matrix whose entries are `10^e`, `e` uniform in `[lo, hi]` (seeded): a wide
/// dynamic range, where the optimum is made of the smallest entries.
#[allow(dead_code)] // used by the bench_ot example, not by the criterion benches
pub fn log_uniform_cost(n: usize, lo: f64, hi: f64, seed: u64) -> Array2<f64> {
    use rand::Rng;
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xd1a ^ ((n as u64) << 20));
    Array2::from_shape_fn((n, n), |_| 10f64.powf(lo + (hi - lo) * rng.random::<f64>()))
}
