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
