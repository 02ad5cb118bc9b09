//! Double moons (the paper's Appendix B, Fig. 8 top), placed in `R^D`.
//!
//! Construction, in the classical "make moons" frame: moon 0 is the upper unit half-circle
//! `(cos t, sin t)` and moon 1 the interleaved lower one `(1 - cos t, 1/2 - sin t)`, `t ~ U[0, pi]`;
//! each sample picks a moon with probability 1/2 (its label) and adds isotropic Gaussian noise of
//! standard deviation `noise` (default 0.05). The result is then centred and scaled,
//! `p = (q - (1/2, 1/4)) * 2/3`, so the arcs span `x in [-1, 1]`, `y in [-1/2, 1/2]` (radius 2/3,
//! noise std `2/3 * noise` in these output coordinates).

use ndarray::{Array1, Array2, ArrayView2};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use crate::embedding::Embedding;
use crate::error::{DataError, invalid};
use crate::toy::{ToyDistribution, validate_placement};

/// Scale from the classical make-moons frame to the output frame.
pub const MOONS_SCALE: f32 = 2.0 / 3.0;
/// Centre of the classical make-moons frame, subtracted before scaling.
pub const MOONS_CENTER: [f32; 2] = [0.5, 0.25];

/// The double-moons distribution in `R^D` (see the module docs). Defaults: noise 0.05, in the
/// first two coordinates of `R^4`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Moons {
    /// Standard deviation of the Gaussian noise, in the classical (unit-radius) frame.
    pub noise: f32,
    /// Ambient dimension `D` (default 4).
    pub ambient_dim: usize,
    /// Placement of the plane in `R^D` (default: the first two coordinates).
    pub embedding: Embedding,
}

impl Default for Moons {
    fn default() -> Self {
        Self {
            noise: 0.05,
            ambient_dim: 4,
            embedding: Embedding::FirstCoordinates {},
        }
    }
}

impl Moons {
    /// The noise-free point of moon `moon` (0 or 1) at angle `t` in `[0, pi]`, output frame.
    pub fn arc_point(moon: usize, t: f32) -> [f32; 2] {
        let q = if moon == 0 {
            [t.cos(), t.sin()]
        } else {
            [1.0 - t.cos(), 0.5 - t.sin()]
        };
        [
            (q[0] - MOONS_CENTER[0]) * MOONS_SCALE,
            (q[1] - MOONS_CENTER[1]) * MOONS_SCALE,
        ]
    }

    /// Euclidean distance (output frame) from a plane point to the nearer of the two noise-free
    /// arcs (including their end points).
    pub fn distance_to_arcs(x: f32, y: f32) -> f32 {
        // Back to the classical frame, where the arcs are unit half-circles.
        let qx = x / MOONS_SCALE + MOONS_CENTER[0];
        let qy = y / MOONS_SCALE + MOONS_CENTER[1];
        // Moon 0: centre (0, 0), upper half (y >= 0). Moon 1: centre (1, 1/2), lower half.
        let d0 = half_circle_distance(qx, qy, 0.0, 0.0, 1.0);
        let d1 = half_circle_distance(qx, qy, 1.0, 0.5, -1.0);
        d0.min(d1) * MOONS_SCALE
    }

    /// Whether a plane point lies within [`Moons::support_tolerance`] of an arc.
    pub fn is_on_support(&self, x: f32, y: f32) -> bool {
        Self::distance_to_arcs(x, y) <= self.support_tolerance()
    }

    /// Distance within which a point counts as on the support: three noise standard deviations
    /// plus 0.01, in output units (`3 * 2/3 * noise + 0.01`).
    pub fn support_tolerance(&self) -> f32 {
        3.0 * MOONS_SCALE * self.noise + 0.01
    }
}

/// Distance from `(x, y)` to the half-circle of radius 1 centred at `(cx, cy)` on the side
/// `side * (y - cy) >= 0` (side = +1: upper half, -1: lower half).
fn half_circle_distance(x: f32, y: f32, cx: f32, cy: f32, side: f32) -> f32 {
    let dx = x - cx;
    let dy = y - cy;
    if side * dy >= 0.0 {
        // The nearest point of the full circle lies on this half: |r - 1|.
        ((dx * dx + dy * dy).sqrt() - 1.0).abs()
    } else {
        // Otherwise the nearest point is one of the two end points (cx +- 1, cy).
        let d_right = ((dx - 1.0).powi(2) + dy * dy).sqrt();
        let d_left = ((dx + 1.0).powi(2) + dy * dy).sqrt();
        d_right.min(d_left)
    }
}

impl ToyDistribution for Moons {
    fn intrinsic_dim(&self) -> usize {
        2
    }

    fn ambient_dim(&self) -> usize {
        self.ambient_dim
    }

    fn embedding(&self) -> &Embedding {
        &self.embedding
    }

    fn num_classes(&self) -> Option<usize> {
        Some(2)
    }

    fn validate(&self) -> Result<(), DataError> {
        if !(self.noise >= 0.0 && self.noise.is_finite()) {
            return Err(invalid(
                "noise",
                format!("must be a non-negative number, got {}", self.noise),
            ));
        }
        validate_placement(2, self.ambient_dim)
    }

    fn sample_intrinsic(
        &self,
        n: usize,
        rng: &mut ChaCha8Rng,
    ) -> Result<(Array2<f32>, Option<Array1<i64>>), DataError> {
        let mut out = Array2::<f32>::zeros((n, 2));
        let mut labels = Array1::<i64>::zeros(n);
        for (mut row, label) in out.rows_mut().into_iter().zip(labels.iter_mut()) {
            let moon = rng.random_range(0..2usize);
            let t = rng.random::<f32>() * std::f32::consts::PI;
            let [x, y] = Self::arc_point(moon, t);
            let ex: f32 = StandardNormal.sample(rng);
            let ey: f32 = StandardNormal.sample(rng);
            row[0] = x + MOONS_SCALE * self.noise * ex;
            row[1] = y + MOONS_SCALE * self.noise * ey;
            *label = moon as i64;
        }
        Ok((out, Some(labels)))
    }

    /// Within [`Moons::support_tolerance`] of an arc.
    fn on_support_mask(&self, points: ArrayView2<f32>) -> Result<Vec<bool>, DataError> {
        Ok(points
            .rows()
            .into_iter()
            .map(|p| self.is_on_support(p[0], p[1]))
            .collect())
    }
}
