//! The MLP-manifold (the paper's Appendix B): a `k`-dimensional Gaussian pushed through a fixed
//! random two-layer MLP into `S x S` images, plus class-specific whitened stripes, so the support
//! is a `k`-dimensional manifold (default 16) in `S^2`-dimensional space (default 1024).
//!
//! Beyond the paper, `vector_dim = D` makes the samples plain vectors in `R^D` (shape `[D]`, for
//! the toy MLP network) instead of images, so the ambient dimension can be any `D`, down to the
//! intrinsic one (`D = k`: the data fill the space). Stripes are an image pattern and need the
//! image layout.
//!
//! Exact construction (all weights drawn once from a `ChaCha8Rng` seeded with `seed`, in this
//! order: `W1`, `b1`, `W2`, then the reference latents):
//!
//! 1. latent `z ~ N(0, I_k)` (per sample, from the sample seed);
//! 2. hidden layer `h = tanh(W1 z + b1)`, `W1` in `R^{H x k}` with entries `N(0, 1/k)` (unit-variance
//!    pre-activations), `b1` entries `N(0, 0.1^2)`, width `H = hidden` (default 128);
//! 3. output `y = W2 h`, `W2` in `R^{S^2 x H}` with entries `N(0, 1/H)`;
//! 4. per-pixel standardisation `m = manifold_std * (y - mu) / sd`, where `mu`, `sd` are the pixel
//!    means and standard deviations of `y` over 4096 reference latents drawn from the seed stream
//!    (a fixed affine map, so the support stays a `k`-dimensional manifold); `manifold_std`
//!    defaults to 0.4;
//! 5. stripes (when `stripes` is on): the sample's class `c ~ U{0..C-1}` (its label, default
//!    `C = 10`) adds `stripe_amplitude * w~_c` (default 0.3), where `w~_c` is the whitened plane
//!    wave of [`crate::stripes`] (orientation `pi c / C`, frequency `3 + (c mod 3)` cycles per
//!    side, zero mean, unit RMS per pixel, classes mutually orthogonal).
//!
//! The manifold part has mean 0 and standard deviation `manifold_std` at every pixel; the stripes
//! have zero mean and unit RMS over the pixels. With the defaults the values over all pixels have
//! mean 0 and standard deviation `sqrt(0.4^2 + 0.3^2) = 0.5`, so they lie in about `[-1, 1]` (two
//! standard deviations; not clipped, clipping would distort the manifold). Without stripes, centred data have about `k` significant singular values: the
//! map is a `k`-dimensional manifold inside the `H`-dimensional span of `W2`, and most of its
//! variance lies along the `k` directions of the linearised map `W2 diag(tanh') W1`.

use ndarray::{Array1, Array2, ArrayView2, Axis};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use crate::dataset::Dataset;
use crate::error::{DataError, invalid};
use crate::stripes::whitened_stripes;

/// Number of reference latents for the per-pixel standardisation.
pub const STANDARDISATION_SAMPLES: usize = 4096;
/// Standard deviation of the hidden biases `b1`.
pub const HIDDEN_BIAS_STD: f32 = 0.1;

/// Parameters of the MLP-manifold (see the module docs for the construction). Defaults: the
/// paper's 16-D manifold in 32 x 32 = 1024 dimensions with 10 stripe classes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MlpManifold {
    /// Intrinsic (latent) dimension `k` (default 16).
    pub latent_dim: usize,
    /// Image side `S`; samples have shape `[1, S, S]` (default 32). Ignored when `vector_dim`
    /// is set.
    pub image_size: usize,
    /// Ambient dimension `D` of plain vector samples (shape `[D]`) instead of `S x S` images
    /// (default: unset, images). Not serialised when unset, so configs without it keep their
    /// hashes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vector_dim: Option<usize>,
    /// Hidden width `H` of the MLP (default 128).
    pub hidden: usize,
    /// Add class stripes and return labels (default true).
    pub stripes: bool,
    /// Number of stripe classes `C` (default 10).
    pub num_classes: usize,
    /// Per-pixel standard deviation of the manifold part (default 0.4).
    pub manifold_std: f32,
    /// Amplitude (per-pixel RMS) of the class stripes (default 0.3).
    pub stripe_amplitude: f32,
    /// Seed of the MLP weights (fixes the manifold; independent of the sample seed; default 0).
    pub seed: u64,
}

impl Default for MlpManifold {
    fn default() -> Self {
        Self {
            latent_dim: 16,
            image_size: 32,
            vector_dim: None,
            hidden: 128,
            stripes: true,
            num_classes: 10,
            manifold_std: 0.4,
            stripe_amplitude: 0.3,
            seed: 0,
        }
    }
}

impl MlpManifold {
    /// Checks the parameters.
    pub fn validate(&self) -> Result<(), DataError> {
        if self.latent_dim == 0 {
            return Err(invalid(
                "latent_dim",
                "must be at least 1 (the paper uses 16)",
            ));
        }
        if self.image_size == 0 {
            return Err(invalid(
                "image_size",
                "must be at least 1 (the paper uses 32)",
            ));
        }
        if self.vector_dim == Some(0) {
            return Err(invalid("vector_dim", "must be at least 1 when set"));
        }
        if self.vector_dim.is_some() && self.stripes {
            return Err(invalid(
                "vector_dim",
                "vector samples have no stripes: set `stripes = false` (or drop `vector_dim` for images)",
            ));
        }
        if self.hidden == 0 {
            return Err(invalid("hidden", "must be at least 1 (default 128)"));
        }
        if self.stripes && self.num_classes == 0 {
            return Err(invalid(
                "num_classes",
                "must be at least 1 when stripes are on (default 10)",
            ));
        }
        if !(self.manifold_std > 0.0 && self.manifold_std.is_finite()) {
            return Err(invalid(
                "manifold_std",
                format!("must be a positive number, got {}", self.manifold_std),
            ));
        }
        if !(self.stripe_amplitude >= 0.0 && self.stripe_amplitude.is_finite()) {
            return Err(invalid(
                "stripe_amplitude",
                format!(
                    "must be a non-negative number, got {}",
                    self.stripe_amplitude
                ),
            ));
        }
        Ok(())
    }

    /// Shape of one sample: `[1, S, S]`, or `[D]` with `vector_dim = D`.
    pub fn sample_shape(&self) -> Vec<usize> {
        match self.vector_dim {
            Some(d) => vec![d],
            None => vec![1, self.image_size, self.image_size],
        }
    }

    /// Ambient dimension of a sample: `S^2`, or `D` with `vector_dim = D`.
    pub fn ambient_dim(&self) -> usize {
        self.vector_dim.unwrap_or(self.image_size * self.image_size)
    }

    /// Builds the fixed map (weights, standardisation, stripes) from the parameters.
    pub fn build(&self) -> Result<MlpManifoldMap, DataError> {
        self.validate()?;
        let (k, h, p) = (self.latent_dim, self.hidden, self.ambient_dim());
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        // W1 ~ N(0, 1/k), b1 ~ N(0, 0.1^2), W2 ~ N(0, 1/H), drawn in this order.
        let w1 = standard_normal((h, k), &mut rng) / (k as f32).sqrt();
        let b1 = Array1::from_shape_simple_fn(h, || normal(&mut rng)) * HIDDEN_BIAS_STD;
        let w2 = standard_normal((p, h), &mut rng) / (h as f32).sqrt();
        let mut map = MlpManifoldMap {
            w1,
            b1,
            w2,
            offset: Array1::zeros(p),
            stripes: None,
            stripe_amplitude: self.stripe_amplitude,
            shape: self.sample_shape(),
        };
        // Per-pixel standardisation over reference latents, folded into W2 and an offset.
        // With hidden activations h_i (rows of `hid`), y = W2 h, so the empirical pixel moments
        // are mu = W2 mean(h) and sd^2 = diag(W2 Cov(h) W2^T): exact, and cheap (H x H).
        let z_ref = standard_normal((STANDARDISATION_SAMPLES, k), &mut rng);
        let hid = map.hidden_layer(z_ref.view()).mapv(f64::from);
        let h_mean = hid.mean_axis(Axis(0)).unwrap_or_else(|| Array1::zeros(h));
        let h_centred = &hid - &h_mean.view().insert_axis(Axis(0));
        let h_cov = h_centred.t().dot(&h_centred) / STANDARDISATION_SAMPLES as f64;
        let w2 = map.w2.mapv(f64::from);
        let mu = w2.dot(&h_mean);
        let var = (&w2.dot(&h_cov) * &w2).sum_axis(Axis(1));
        if let Some(bad) = var.iter().position(|&v| v.is_nan() || v <= 1e-24) {
            return Err(invalid(
                "hidden",
                format!("pixel {bad} of the MLP output is constant; use another seed"),
            ));
        }
        let gain = var.mapv(|v| f64::from(self.manifold_std) / v.sqrt());
        map.w2 = (&w2 * &gain.view().insert_axis(Axis(1))).mapv(|v| v as f32);
        map.offset = (&mu * &gain).mapv(|v| -v as f32);
        if self.stripes {
            map.stripes = Some(whitened_stripes(self.num_classes, self.image_size)?);
        }
        Ok(map)
    }

    /// `n` samples (`n x D`, `D` = [`Self::ambient_dim`]), labels when stripes are on;
    /// deterministic in `seed`.
    pub fn generate(&self, n: usize, seed: u64) -> Result<Dataset, DataError> {
        let map = self.build()?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let z = standard_normal((n, self.latent_dim), &mut rng);
        let labels = if self.stripes {
            Some(Array1::from_shape_simple_fn(n, || {
                rng.random_range(0..self.num_classes) as i64
            }))
        } else {
            None
        };
        let x = map.map(z.view(), labels.as_ref())?;
        Ok(Dataset {
            x,
            labels,
            shape: self.sample_shape(),
            num_classes: self.stripes.then_some(self.num_classes),
        })
    }
}

/// The fixed map `z (, c) -> image` of an [`MlpManifold`], for mapping chosen latents.
#[derive(Clone, Debug)]
pub struct MlpManifoldMap {
    w1: Array2<f32>,
    b1: Array1<f32>,
    /// Output weights with the standardisation gain folded in.
    w2: Array2<f32>,
    offset: Array1<f32>,
    stripes: Option<Array2<f32>>,
    stripe_amplitude: f32,
    shape: Vec<usize>,
}

impl MlpManifoldMap {
    /// Latent dimension `k`.
    pub fn latent_dim(&self) -> usize {
        self.w1.ncols()
    }

    /// Output dimension `D` (`S^2` for images).
    pub fn output_dim(&self) -> usize {
        self.w2.nrows()
    }

    /// Shape of one sample, `[1, S, S]` or `[D]`.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The whitened class patterns `w~_c` (`C x S^2`), if stripes are on.
    pub fn stripe_patterns(&self) -> Option<&Array2<f32>> {
        self.stripes.as_ref()
    }

    /// The manifold part `m(z)` (steps 2-4 of the module docs) for latents `z` (`n x k`).
    pub fn manifold_part(&self, z: ArrayView2<f32>) -> Result<Array2<f32>, DataError> {
        if z.ncols() != self.latent_dim() {
            return Err(DataError::ShapeMismatch {
                context: "MlpManifoldMap::manifold_part (latents)",
                expected: format!("n x {}", self.latent_dim()),
                found: format!("{} x {}", z.nrows(), z.ncols()),
            });
        }
        let mut y = self.hidden_layer(z).dot(&self.w2.t());
        y += &self.offset;
        Ok(y)
    }

    /// Hidden activations `tanh(W1 z + b1)` (`n x H`); `z` has `k` columns (checked by callers).
    fn hidden_layer(&self, z: ArrayView2<f32>) -> Array2<f32> {
        let mut hidden = z.dot(&self.w1.t());
        hidden += &self.b1;
        hidden.mapv_inplace(f32::tanh);
        hidden
    }

    /// Full samples: `m(z) + stripe_amplitude * w~_c` for latents `z` (`n x k`) and labels `c`
    /// (required, in `0..C`, exactly when stripes are on).
    pub fn map(
        &self,
        z: ArrayView2<f32>,
        labels: Option<&Array1<i64>>,
    ) -> Result<Array2<f32>, DataError> {
        let mut x = self.manifold_part(z)?;
        match (&self.stripes, labels) {
            (None, None) => {}
            (None, Some(_)) => {
                return Err(invalid(
                    "labels",
                    "given, but this MLP-manifold has no stripes",
                ));
            }
            (Some(_), None) => {
                return Err(invalid(
                    "labels",
                    "missing: this MLP-manifold has stripes, so every sample needs a class",
                ));
            }
            (Some(patterns), Some(labels)) => {
                if labels.len() != x.nrows() {
                    return Err(DataError::ShapeMismatch {
                        context: "MlpManifoldMap::map (labels)",
                        expected: format!("{} labels", x.nrows()),
                        found: format!("{} labels", labels.len()),
                    });
                }
                let c = patterns.nrows();
                for (mut row, &label) in x.rows_mut().into_iter().zip(labels.iter()) {
                    if label < 0 || label as usize >= c {
                        return Err(invalid(
                            "labels",
                            format!("label {label} is outside 0..{c}"),
                        ));
                    }
                    row.scaled_add(self.stripe_amplitude, &patterns.row(label as usize));
                }
            }
        }
        Ok(x)
    }
}

/// One standard normal `f32` draw.
fn normal(rng: &mut ChaCha8Rng) -> f32 {
    StandardNormal.sample(rng)
}

/// An `f32` array of independent standard normal draws (row-major order).
fn standard_normal(shape: (usize, usize), rng: &mut ChaCha8Rng) -> Array2<f32> {
    Array2::from_shape_simple_fn(shape, || normal(rng))
}
