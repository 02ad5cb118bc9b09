//! Gaussian mixture with 32 components in `R^4` (the paper's Appendix B, Fig. 8 bottom).
//!
//! Construction: `K` (default 32) equally weighted isotropic Gaussians `N(mu_k, s^2 I_d)` in
//! `R^d` (default d = 4, s = `component_std` = 0.05). The means are fixed by `means_seed`
//! (independent of the sample seed): drawn uniformly from `[-0.8, 0.8]^d` one after another,
//! rejecting a candidate closer than `4 s` to an earlier mean, so components are distinguishable
//! and samples stay within about `[-1, 1]`. A sample draws its component `k ~ U{0..K-1}` (its
//! label) and then `mu_k + s * eps`, `eps ~ N(0, I_d)`. The mixture may be placed in `R^D` with
//! `D > d` like the other toys; by default `D = d = 4` (the mixture fills `R^4` itself).

use ndarray::{Array1, Array2, ArrayView1, ArrayView2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use crate::embedding::Embedding;
use crate::error::{DataError, invalid};
use crate::toy::{ToyDistribution, validate_placement};

/// Means are drawn from `[-MEAN_RANGE, MEAN_RANGE]^d`.
pub const MEAN_RANGE: f32 = 0.8;
/// Minimum distance between two means, in component standard deviations.
pub const MIN_SEPARATION_STDS: f32 = 4.0;

/// The Gaussian mixture in `R^D` (see the module docs). Defaults: 32 components in `R^4`,
/// standard deviation 0.05, means from seed 0.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GaussianMixture {
    /// Number of components `K` (default 32).
    pub components: usize,
    /// Dimension `d` of the mixture's own space (default 4).
    pub dim: usize,
    /// Standard deviation `s` of every component (default 0.05).
    pub component_std: f32,
    /// Seed of the component means (default 0).
    pub means_seed: u64,
    /// Ambient dimension `D >= d` (default 4).
    pub ambient_dim: usize,
    /// Placement of `R^d` in `R^D` (default: the first `d` coordinates; the identity when D = d).
    pub embedding: Embedding,
}

impl Default for GaussianMixture {
    fn default() -> Self {
        Self {
            components: 32,
            dim: 4,
            component_std: 0.05,
            means_seed: 0,
            ambient_dim: 4,
            embedding: Embedding::FirstCoordinates {},
        }
    }
}

impl GaussianMixture {
    /// The component means `mu_k` (`K x d`), a pure function of the parameters.
    ///
    /// Errors if the minimum separation cannot be met (too many components or too wide for the
    /// cube; lower `component_std` or `components`).
    pub fn means(&self) -> Result<Array2<f32>, DataError> {
        self.validate()?;
        let (k, d) = (self.components, self.dim);
        let min_sep2 = (MIN_SEPARATION_STDS * self.component_std).powi(2);
        let mut rng = ChaCha8Rng::seed_from_u64(self.means_seed);
        let mut means = Array2::<f32>::zeros((k, d));
        let mut placed = 0;
        let max_attempts = 1_000 + 200 * k;
        let mut attempts = 0;
        while placed < k {
            attempts += 1;
            if attempts > max_attempts {
                return Err(invalid(
                    "component_std",
                    format!(
                        "cannot place {k} means in [-{MEAN_RANGE}, {MEAN_RANGE}]^{d} at least \
                         {MIN_SEPARATION_STDS} stds ({}) apart; lower component_std or components",
                        MIN_SEPARATION_STDS * self.component_std
                    ),
                ));
            }
            let candidate: Vec<f32> = (0..d)
                .map(|_| rng.random_range(-MEAN_RANGE..MEAN_RANGE))
                .collect();
            let too_close = (0..placed).any(|j| {
                let dist2: f32 = means
                    .row(j)
                    .iter()
                    .zip(&candidate)
                    .map(|(a, b)| (a - b) * (a - b))
                    .sum();
                dist2 < min_sep2
            });
            if !too_close {
                means
                    .row_mut(placed)
                    .assign(&ArrayView1::from(&candidate[..]));
                placed += 1;
            }
        }
        Ok(means)
    }

    /// Radius around a mean within which a point counts as on the support:
    /// `(sqrt(d) + 3) * s` (the chi distribution with d degrees of freedom exceeds this with
    /// probability about 5e-5 for d = 4).
    pub fn support_radius(&self) -> f32 {
        ((self.dim as f32).sqrt() + 3.0) * self.component_std
    }

    /// Index of the nearest mean for each plane point (`n x d`); useful to recover components of
    /// generated samples.
    pub fn nearest_component(&self, points: ArrayView2<f32>) -> Result<Array1<i64>, DataError> {
        let means = self.means()?;
        if points.ncols() != self.dim {
            return Err(DataError::ShapeMismatch {
                context: "GaussianMixture::nearest_component",
                expected: format!("n x {}", self.dim),
                found: format!("{} x {}", points.nrows(), points.ncols()),
            });
        }
        Ok(points
            .rows()
            .into_iter()
            .map(|p| nearest(&means, p).0 as i64)
            .collect())
    }
}

/// Index of and squared distance to the nearest row of `means`.
fn nearest(means: &Array2<f32>, p: ArrayView1<f32>) -> (usize, f32) {
    means
        .rows()
        .into_iter()
        .enumerate()
        .map(|(k, m)| {
            let d2: f32 = m.iter().zip(p.iter()).map(|(a, b)| (a - b) * (a - b)).sum();
            (k, d2)
        })
        .fold(
            (0, f32::INFINITY),
            |best, cur| if cur.1 < best.1 { cur } else { best },
        )
}

impl ToyDistribution for GaussianMixture {
    fn intrinsic_dim(&self) -> usize {
        self.dim
    }

    fn ambient_dim(&self) -> usize {
        self.ambient_dim
    }

    fn embedding(&self) -> &Embedding {
        &self.embedding
    }

    fn num_classes(&self) -> Option<usize> {
        Some(self.components)
    }

    fn validate(&self) -> Result<(), DataError> {
        if self.components == 0 {
            return Err(invalid(
                "components",
                "must be at least 1 (the paper uses 32)",
            ));
        }
        if self.dim == 0 {
            return Err(invalid("dim", "must be at least 1 (the paper uses 4)"));
        }
        if !(self.component_std > 0.0 && self.component_std.is_finite()) {
            return Err(invalid(
                "component_std",
                format!("must be a positive number, got {}", self.component_std),
            ));
        }
        validate_placement(self.dim, self.ambient_dim)
    }

    fn sample_intrinsic(
        &self,
        n: usize,
        rng: &mut ChaCha8Rng,
    ) -> Result<(Array2<f32>, Option<Array1<i64>>), DataError> {
        let means = self.means()?;
        let mut out = Array2::<f32>::zeros((n, self.dim));
        let mut labels = Array1::<i64>::zeros(n);
        for (mut row, label) in out.rows_mut().into_iter().zip(labels.iter_mut()) {
            let k = rng.random_range(0..self.components);
            for (x, &mu) in row.iter_mut().zip(means.row(k)) {
                let eps: f32 = StandardNormal.sample(rng);
                *x = mu + self.component_std * eps;
            }
            *label = k as i64;
        }
        Ok((out, Some(labels)))
    }

    /// Within [`GaussianMixture::support_radius`] of some mean.
    fn on_support_mask(&self, points: ArrayView2<f32>) -> Result<Vec<bool>, DataError> {
        let means = self.means()?;
        let r = self.support_radius();
        Ok(points
            .rows()
            .into_iter()
            .map(|p| nearest(&means, p).1.sqrt() <= r)
            .collect())
    }
}
