//! What every low-dimensional toy distribution shares: sampling in its own plane `R^d`, placement
//! in `R^D` through an [`Embedding`], and an "on support" test that works on ambient points by
//! projecting them back to the plane (the pipeline gates on teacher quality with it).

use ndarray::{Array1, Array2, ArrayView2};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::dataset::Dataset;
use crate::embedding::{Embedder, Embedding, SupportReport};
use crate::error::{DataError, invalid};

/// A low-dimensional distribution in `R^d` placed in an ambient space `R^D`.
///
/// Implemented by [`crate::Chessboard`], [`crate::Moons`] and [`crate::GaussianMixture`].
pub trait ToyDistribution {
    /// Dimension `d` of the plane the distribution lives in.
    fn intrinsic_dim(&self) -> usize;

    /// Dimension `D` of the ambient space.
    fn ambient_dim(&self) -> usize;

    /// How the plane sits in the ambient space.
    fn embedding(&self) -> &Embedding;

    /// Number of classes of the labels [`ToyDistribution::sample_intrinsic`] returns, if any.
    fn num_classes(&self) -> Option<usize>;

    /// Checks the parameters.
    fn validate(&self) -> Result<(), DataError>;

    /// Draws `n` samples in plane coordinates (`n x d`), with labels where the distribution has
    /// classes. Parameters are assumed valid ([`ToyDistribution::validate`]).
    fn sample_intrinsic(
        &self,
        n: usize,
        rng: &mut ChaCha8Rng,
    ) -> Result<(Array2<f32>, Option<Array1<i64>>), DataError>;

    /// For each plane point (row of `points`, `n x d` with `d` = [`ToyDistribution::intrinsic_dim`],
    /// already checked by the caller) whether it lies on the support.
    fn on_support_mask(&self, points: ArrayView2<f32>) -> Result<Vec<bool>, DataError>;

    /// The isometry `R^d -> R^D` of this distribution.
    fn embedder(&self) -> Result<Embedder, DataError> {
        Embedder::new(self.intrinsic_dim(), self.ambient_dim(), self.embedding())
    }

    /// `n` samples in the ambient space, deterministic in `seed` (a `ChaCha8Rng` seeded from it).
    fn generate(&self, n: usize, seed: u64) -> Result<Dataset, DataError> {
        self.validate()?;
        let embedder = self.embedder()?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let (plane, labels) = self.sample_intrinsic(n, &mut rng)?;
        Ok(Dataset {
            x: embedder.embed(plane.view())?,
            labels,
            shape: vec![self.ambient_dim()],
            num_classes: self.num_classes(),
        })
    }

    /// Fraction of plane points (`n x d`) on the support (0 for an empty input).
    fn fraction_on_support(&self, points: ArrayView2<f32>) -> Result<f64, DataError> {
        if points.ncols() != self.intrinsic_dim() {
            return Err(DataError::ShapeMismatch {
                context: "fraction_on_support (plane coordinates)",
                expected: format!("n x {}", self.intrinsic_dim()),
                found: format!("{} x {}", points.nrows(), points.ncols()),
            });
        }
        let hits = self.on_support_mask(points)?.iter().filter(|&&b| b).count();
        Ok(hits as f64 / points.nrows().max(1) as f64)
    }

    /// Support test for ambient points (`n x D`, e.g. teacher samples): projects them to the
    /// plane, tests the support there, and requires an off-plane distance `<= off_plane_tol` for
    /// [`SupportReport::fraction_on_support`].
    fn support_report(
        &self,
        points: ArrayView2<f32>,
        off_plane_tol: f32,
    ) -> Result<SupportReport, DataError> {
        if off_plane_tol.is_nan() || off_plane_tol < 0.0 {
            return Err(invalid("off_plane_tol", "must be a non-negative number"));
        }
        let embedder = self.embedder()?;
        let plane = embedder.project(points)?;
        let off = embedder.off_plane_distance(points)?;
        let on = self.on_support_mask(plane.view())?;
        Ok(SupportReport::from_parts(&on, &off, off_plane_tol))
    }
}

/// Validates a placement (shared by the toys).
pub(crate) fn validate_placement(
    intrinsic_dim: usize,
    ambient_dim: usize,
) -> Result<(), DataError> {
    if ambient_dim < intrinsic_dim {
        return Err(invalid(
            "ambient_dim",
            format!(
                "is {ambient_dim} but the data are {intrinsic_dim}-dimensional; \
                 use ambient_dim >= {intrinsic_dim}"
            ),
        ));
    }
    Ok(())
}
