//! Placing low-dimensional data in an ambient space `R^D`, and projecting it back.
//!
//! A toy distribution lives in `R^d` (d = 2 for the chessboard and the moons, d = 4 for the
//! mixture). It is placed in `R^D` (D >= d) by a linear isometry `x_D = Q^T x_d`, where `Q` is a
//! `d x D` matrix with orthonormal rows (`Q Q^T = I_d`):
//!
//! - [`Embedding::FirstCoordinates`]: `Q = [I_d | 0]`, the data occupy the first `d` coordinates and
//!   the rest are zero (the paper's setting: the chessboard in the first two coordinates of `R^4`);
//! - [`Embedding::RandomIsometry`]: `Q` is a seeded random matrix with orthonormal rows (Gaussian
//!   entries, orthonormalised by Gram-Schmidt), so the data span a random `d`-plane of `R^D`.
//!
//! Both preserve all pairwise distances (and norms). Under a random isometry the energy of each
//! point is spread over all `D` coordinates, so single coordinates are about `sqrt(d / D)` as
//! large as in the plane (about +-0.17 for the chessboard in `R^1024`). [`Embedder::project`] maps ambient points back to plane
//! coordinates (`x_d = Q x_D`, the orthogonal projection), and [`Embedder::off_plane_distance`]
//! measures how far a point lies from the plane, `||x_D - Q^T Q x_D||`.

use ndarray::{Array1, Array2, ArrayView2, Axis};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use crate::error::{DataError, invalid};
use crate::linalg::orthonormalise_rows;

/// How a `d`-dimensional distribution is placed in the ambient space `R^D`.
///
/// Serialised with a `kind` tag, e.g. `embedding = { kind = "random_isometry", seed = 7 }` in TOML.
///
/// `FirstCoordinates {}` is a struct variant (not a unit one) so that serde rejects stray keys
/// such as `{ kind = "first_coordinates", seed = 1 }` instead of silently ignoring them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Embedding {
    /// The data occupy the first `d` coordinates; all others are zero (the paper's choice).
    FirstCoordinates {},
    /// A seeded random linear isometry onto a `d`-plane through the origin of `R^D`.
    RandomIsometry {
        /// Seed of the random plane (independent of the sample seed, so train and test data share it).
        seed: u64,
    },
}

impl Default for Embedding {
    /// [`Embedding::FirstCoordinates`], the paper's placement.
    fn default() -> Self {
        Embedding::FirstCoordinates {}
    }
}

/// A concrete isometry `R^d -> R^D` built from an [`Embedding`]: the `d x D` matrix `Q` with
/// orthonormal rows.
#[derive(Clone, Debug, PartialEq)]
pub struct Embedder {
    q: Array2<f32>,
}

impl Embedder {
    /// Builds the isometry from `R^intrinsic_dim` into `R^ambient_dim`.
    ///
    /// Errors if `intrinsic_dim` is 0 or exceeds `ambient_dim`.
    pub fn new(
        intrinsic_dim: usize,
        ambient_dim: usize,
        embedding: &Embedding,
    ) -> Result<Self, DataError> {
        if intrinsic_dim == 0 {
            return Err(invalid("intrinsic_dim", "must be at least 1"));
        }
        if ambient_dim < intrinsic_dim {
            return Err(invalid(
                "ambient_dim",
                format!(
                    "is {ambient_dim} but the data are {intrinsic_dim}-dimensional; \
                     use ambient_dim >= {intrinsic_dim}"
                ),
            ));
        }
        let q = match embedding {
            Embedding::FirstCoordinates {} => {
                let mut q = Array2::<f32>::zeros((intrinsic_dim, ambient_dim));
                for i in 0..intrinsic_dim {
                    q[[i, i]] = 1.0;
                }
                q
            }
            Embedding::RandomIsometry { seed } => {
                let mut rng = ChaCha8Rng::seed_from_u64(*seed);
                // Gaussian rows are linearly independent with probability 1; re-draw in the
                // (measure-zero, but cheap to guard) case of numerical dependence.
                let mut attempt = 0;
                loop {
                    let mut g =
                        Array2::<f64>::from_shape_simple_fn((intrinsic_dim, ambient_dim), || {
                            StandardNormal.sample(&mut rng)
                        });
                    let ratio = orthonormalise_rows(&mut g);
                    if ratio > 1e-6 {
                        break g.mapv(|v| v as f32);
                    }
                    attempt += 1;
                    if attempt > 16 {
                        return Err(invalid(
                            "embedding",
                            "could not draw a well-conditioned random isometry (try another seed)",
                        ));
                    }
                }
            }
        };
        Ok(Self { q })
    }

    /// Dimension `d` of the plane.
    pub fn intrinsic_dim(&self) -> usize {
        self.q.nrows()
    }

    /// Dimension `D` of the ambient space.
    pub fn ambient_dim(&self) -> usize {
        self.q.ncols()
    }

    /// The `d x D` matrix `Q` (orthonormal rows).
    pub fn matrix(&self) -> &Array2<f32> {
        &self.q
    }

    /// Places plane points (`n x d`) in the ambient space: rows `x_D = Q^T x_d` (`n x D`).
    pub fn embed(&self, points: ArrayView2<f32>) -> Result<Array2<f32>, DataError> {
        self.check_cols("Embedder::embed", points, self.intrinsic_dim())?;
        Ok(points.dot(&self.q))
    }

    /// Orthogonal projection of ambient points (`n x D`) back to plane coordinates: `x_d = Q x_D`
    /// (`n x d`). Exact inverse of [`Embedder::embed`] on embedded points.
    pub fn project(&self, points: ArrayView2<f32>) -> Result<Array2<f32>, DataError> {
        self.check_cols("Embedder::project", points, self.ambient_dim())?;
        Ok(points.dot(&self.q.t()))
    }

    /// Distance of each ambient point (`n x D`) from the plane: `||x_D - Q^T Q x_D||`.
    pub fn off_plane_distance(&self, points: ArrayView2<f32>) -> Result<Array1<f32>, DataError> {
        let back = self.embed(self.project(points)?.view())?;
        let residual = &points - &back;
        Ok(residual.map_axis(Axis(1), |r| r.dot(&r).sqrt()))
    }

    fn check_cols(
        &self,
        context: &'static str,
        points: ArrayView2<f32>,
        want: usize,
    ) -> Result<(), DataError> {
        if points.ncols() != want {
            return Err(DataError::ShapeMismatch {
                context,
                expected: format!("n x {want}"),
                found: format!("{} x {}", points.nrows(), points.ncols()),
            });
        }
        Ok(())
    }
}

/// What fraction of (possibly generated) ambient points lie on a toy distribution's support.
///
/// Computed by projecting to the data plane ([`Embedder::project`]) and testing the support there,
/// and separately measuring the distance from the plane.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SupportReport {
    /// Number of points tested.
    pub n: usize,
    /// Fraction whose projection onto the data plane lies on the support (off-plane part ignored).
    pub fraction_projected_on_support: f64,
    /// Fraction whose projection is on the support AND whose off-plane distance is at most the
    /// tolerance given: the strict "the sample is a data point" measure.
    pub fraction_on_support: f64,
    /// Mean distance from the data plane.
    pub mean_off_plane_distance: f64,
}

impl SupportReport {
    /// Builds the report from per-point plane membership and off-plane distances.
    pub(crate) fn from_parts(on_plane_support: &[bool], off_plane: &Array1<f32>, tol: f32) -> Self {
        let n = on_plane_support.len();
        let denom = n.max(1) as f64;
        let projected = on_plane_support.iter().filter(|&&b| b).count();
        let strict = on_plane_support
            .iter()
            .zip(off_plane.iter())
            .filter(|&(&b, &d)| b && d <= tol)
            .count();
        let mean_off = off_plane.iter().map(|&d| d as f64).sum::<f64>() / denom;
        Self {
            n,
            fraction_projected_on_support: projected as f64 / denom,
            fraction_on_support: strict as f64 / denom,
            mean_off_plane_distance: mean_off,
        }
    }
}

/// Default tolerance on the off-plane distance for [`SupportReport::fraction_on_support`].
pub const DEFAULT_OFF_PLANE_TOL: f32 = 0.1;
