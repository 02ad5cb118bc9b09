//! Distribution-fit measures reported beside every Delta_E (a small Delta_E alone cannot tell a
//! copying student from one that never moved):
//!
//! * sliced Wasserstein-2: `SW2(X, Y) = ( E_theta W2^2(theta.X, theta.Y) )^{1/2}` over uniformly
//!   random unit directions `theta` (seeded); the 1-D W2 between empirical measures is exact
//!   (quantile functions merged on all breakpoints, so the set sizes may differ);
//! * Frechet distance between Gaussian fits:
//!   `FD = |mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1^{1/2} S2 S1^{1/2})^{1/2})`, matrix square roots by
//!   symmetric eigendecomposition; in pixel space, in a PCA space, or on given feature arrays.

use ndarray::{Array1, Array2, ArrayView2};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use crate::error::{AnalysisError, Result, check_finite};
use crate::linalg::{mean_and_covariance, symmetric_sqrt, trace_sqrt};
use crate::pca::Pca;

/// Exact squared W2 distance between two 1-D empirical measures given sorted samples.
pub fn wasserstein2_sq_1d_sorted(a: &[f64], b: &[f64]) -> f64 {
    let (n, m) = (a.len(), b.len());
    if n == 0 || m == 0 {
        return 0.0;
    }
    // Integrate (F_a^{-1}(t) - F_b^{-1}(t))^2 over t in [0, 1]; both quantile functions are
    // piecewise constant with breakpoints i/n and j/m.
    let (mut i, mut j) = (0usize, 0usize);
    let mut t = 0.0f64;
    let mut acc = 0.0;
    while i < n && j < m {
        let ta = (i + 1) as f64 / n as f64;
        let tb = (j + 1) as f64 / m as f64;
        let next = ta.min(tb);
        let d = a[i] - b[j];
        acc += (next - t) * d * d;
        t = next;
        if ta <= tb {
            i += 1;
        }
        if tb <= ta {
            j += 1;
        }
    }
    acc
}

/// Sliced Wasserstein-2 distance between the rows of `x` and `y` with `n_directions` random
/// directions drawn from `seed` (ChaCha8).
pub fn sliced_wasserstein2(
    x: ArrayView2<f32>,
    y: ArrayView2<f32>,
    n_directions: usize,
    seed: u64,
) -> Result<f64> {
    const WHAT: &str = "sliced_wasserstein2";
    if x.ncols() != y.ncols() {
        return Err(AnalysisError::Shape {
            what: WHAT,
            detail: format!("{} vs {} columns", x.ncols(), y.ncols()),
        });
    }
    if x.nrows() == 0 || y.nrows() == 0 || x.ncols() == 0 {
        return Err(AnalysisError::TooFewSamples {
            what: WHAT,
            needed: 1,
            got: x.nrows().min(y.nrows()),
        });
    }
    if n_directions == 0 {
        return Err(AnalysisError::InvalidParameter {
            name: "n_directions",
            reason: "needs at least one projection direction (e.g. 256)".into(),
        });
    }
    check_finite(WHAT, x.iter())?;
    check_finite(WHAT, y.iter())?;
    let d = x.ncols();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut theta = Array2::<f64>::zeros((d, n_directions));
    for mut col in theta.columns_mut() {
        loop {
            col.iter_mut()
                .for_each(|v| *v = StandardNormal.sample(&mut rng));
            let norm = col.iter().map(|v| v * v).sum::<f64>().sqrt();
            if norm > 1e-12 {
                col.mapv_inplace(|v| v / norm);
                break;
            }
        }
    }
    let px = x.mapv(f64::from).dot(&theta);
    let py = y.mapv(f64::from).dot(&theta);
    let total: f64 = (0..n_directions)
        .map(|l| {
            let mut a = px.column(l).to_vec();
            let mut b = py.column(l).to_vec();
            a.sort_by(f64::total_cmp);
            b.sort_by(f64::total_cmp);
            wasserstein2_sq_1d_sorted(&a, &b)
        })
        .sum();
    Ok((total / n_directions as f64).sqrt())
}

/// SW2 of a student against the teacher, with the two references needed to read it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlicedW2Report {
    /// `SW2(G, Phi_K)`.
    pub student: f64,
    /// `SW2(Phi_1, Phi_K)`: where the student started from.
    pub teacher_one_step: Option<f64>,
    /// Noise floor `SW2(Phi_K, Phi_K')` between two independent teacher sample sets.
    pub floor: Option<f64>,
    /// Number of projection directions.
    pub n_directions: usize,
    /// Seed of the directions.
    pub seed: u64,
}

impl SlicedW2Report {
    /// `SW2(G, Phi_K)`, and when given `SW2(Phi_1, Phi_K)` and the floor
    /// `SW2(Phi_K', Phi_K)` (independent seeds), all with the same directions.
    pub fn new(
        phi_k: ArrayView2<f32>,
        g: ArrayView2<f32>,
        phi_1: Option<ArrayView2<f32>>,
        phi_k_independent: Option<ArrayView2<f32>>,
        n_directions: usize,
        seed: u64,
    ) -> Result<Self> {
        let sw = |x: ArrayView2<f32>| sliced_wasserstein2(x, phi_k, n_directions, seed);
        Ok(Self {
            student: sw(g)?,
            teacher_one_step: phi_1.map(sw).transpose()?,
            floor: phi_k_independent.map(sw).transpose()?,
            n_directions,
            seed,
        })
    }
}

/// A Gaussian fit (mean, covariance) of a sample set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GaussianFit {
    /// Mean vector.
    pub mean: Array1<f64>,
    /// Unbiased covariance matrix.
    pub covariance: Array2<f64>,
}

impl GaussianFit {
    /// Fits mean and covariance to the rows of `x` (at least 2 rows).
    pub fn new(x: ArrayView2<f32>) -> Result<Self> {
        check_finite("GaussianFit", x.iter())?;
        let (mean, covariance) = mean_and_covariance(x)?;
        Ok(Self { mean, covariance })
    }
}

/// Frechet distance between two Gaussians `N(mu1, S1)`, `N(mu2, S2)`.
pub fn frechet_distance_from_moments(a: &GaussianFit, b: &GaussianFit) -> Result<f64> {
    let d = a.mean.len();
    if b.mean.len() != d || a.covariance.dim() != (d, d) || b.covariance.dim() != (d, d) {
        return Err(AnalysisError::Shape {
            what: "frechet_distance",
            detail: format!("dimensions {} vs {}", d, b.mean.len()),
        });
    }
    let dm = &a.mean - &b.mean;
    let s1h = symmetric_sqrt(&a.covariance)?;
    let mut m = s1h.dot(&b.covariance).dot(&s1h);
    // Symmetrise against round-off before the second eigendecomposition.
    let mt = m.t().to_owned();
    m = (&m + &mt) * 0.5;
    let tr = a.covariance.diag().sum() + b.covariance.diag().sum() - 2.0 * trace_sqrt(&m)?;
    Ok((dm.dot(&dm) + tr).max(0.0))
}

/// Frechet distance between Gaussian fits of two sample sets or feature arrays (pixel space, or
/// e.g. classifier features computed elsewhere).
pub fn frechet_distance(x: ArrayView2<f32>, y: ArrayView2<f32>) -> Result<f64> {
    if x.ncols() != y.ncols() {
        return Err(AnalysisError::Shape {
            what: "frechet_distance",
            detail: format!("{} vs {} columns", x.ncols(), y.ncols()),
        });
    }
    frechet_distance_from_moments(&GaussianFit::new(x)?, &GaussianFit::new(y)?)
}

/// Frechet distance in the space of the leading `dims` principal components of `reference`
/// (fitted on `reference`, both sets projected).
pub fn frechet_distance_pca(
    reference: ArrayView2<f32>,
    other: ArrayView2<f32>,
    dims: usize,
) -> Result<f64> {
    let pca = Pca::fit(reference, dims)?;
    let a = pca.project(reference)?.mapv(|v| v as f32);
    let b = pca.project(other)?.mapv(|v| v as f32);
    frechet_distance(a.view(), b.view())
}

/// Frechet distances of a student against the teacher, with the start and the floor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrechetReport {
    /// Where the distance is measured, e.g. "pca-32", "pixels", "mnist-classifier".
    pub space: String,
    /// `FD(G, Phi_K)`.
    pub student: f64,
    /// `FD(Phi_1, Phi_K)`.
    pub teacher_one_step: Option<f64>,
    /// `FD(Phi_K, Phi_K')` between independent teacher sample sets.
    pub floor: Option<f64>,
}

impl FrechetReport {
    /// Frechet distances to `phi_k` on given features (pixels, or classifier features of the
    /// same samples computed elsewhere), labelled `space`.
    pub fn new(
        space: &str,
        phi_k: ArrayView2<f32>,
        g: ArrayView2<f32>,
        phi_1: Option<ArrayView2<f32>>,
        phi_k_independent: Option<ArrayView2<f32>>,
    ) -> Result<Self> {
        let reference = GaussianFit::new(phi_k)?;
        let fd = |x: ArrayView2<f32>| -> Result<f64> {
            if x.ncols() != phi_k.ncols() {
                return Err(AnalysisError::Shape {
                    what: "FrechetReport",
                    detail: format!("{} vs {} columns", x.ncols(), phi_k.ncols()),
                });
            }
            frechet_distance_from_moments(&GaussianFit::new(x)?, &reference)
        };
        Ok(Self {
            space: space.into(),
            student: fd(g)?,
            teacher_one_step: phi_1.map(fd).transpose()?,
            floor: phi_k_independent.map(fd).transpose()?,
        })
    }

    /// Like [`FrechetReport::new`] in the space of the top `dims` principal components of
    /// `phi_k` (space label `pca-{dims}`).
    pub fn in_pca_space(
        dims: usize,
        phi_k: ArrayView2<f32>,
        g: ArrayView2<f32>,
        phi_1: Option<ArrayView2<f32>>,
        phi_k_independent: Option<ArrayView2<f32>>,
    ) -> Result<Self> {
        let pca = Pca::fit(phi_k, dims)?;
        let proj =
            |x: ArrayView2<f32>| -> Result<Array2<f32>> { Ok(pca.project(x)?.mapv(|v| v as f32)) };
        let pk = proj(phi_k)?;
        let pg = proj(g)?;
        let p1 = phi_1.map(proj).transpose()?;
        let pi = phi_k_independent.map(proj).transpose()?;
        Self::new(
            &format!("pca-{dims}"),
            pk.view(),
            pg.view(),
            p1.as_ref().map(|a| a.view()),
            pi.as_ref().map(|a| a.view()),
        )
    }
}
