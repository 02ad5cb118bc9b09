//! What distillation needs from a teacher: a denoiser `D(x; sigma, y)` (equivalently the score
//! `s = (D - x)/sigma^2`). Implemented for trained networks ([`Denoiser`]) and for closed-form
//! teachers whose exact posterior mean is known: a Gaussian and an isotropic Gaussian mixture.
//! The closed forms make convergence tests exact: the teacher's ODE maps `N(0, T^2 I)` onto the
//! data distribution (up to the finite `T = 80`), so a student's moments can be checked against it.

use dmd_nets::denoiser::{Denoiser, Precision};
use tch::{Device, Kind, Tensor};

use crate::error::TrainError;

/// A denoiser usable as the DMD teacher ("real score").
pub trait ScoreModel {
    /// `D(x; sigma, y)`: `x` is `[B, ...data_shape]`, `sigma` `[B]` f32, `labels` `[B]` i64;
    /// returns an f32 tensor shaped like `x`. Called without gradient tracking.
    fn denoise(&self, x: &Tensor, sigma: &Tensor, labels: Option<&Tensor>) -> Tensor;
    /// [`ScoreModel::denoise`] with a network's forward pass in `precision` (the DM gradient's
    /// `D_real` under `distill.autocast`); models without a network ignore it.
    fn denoise_in(
        &self,
        precision: Precision,
        x: &Tensor,
        sigma: &Tensor,
        labels: Option<&Tensor>,
    ) -> Tensor {
        let _ = precision;
        self.denoise(x, sigma, labels)
    }
    /// Shape of one sample.
    fn data_shape(&self) -> Vec<i64>;
    /// Number of classes; 0 = unconditional.
    fn num_classes(&self) -> usize;
    /// Device of the model's tensors.
    fn device(&self) -> Device;
    /// The underlying network when there is one (needed to initialise students from it).
    fn as_denoiser(&self) -> Option<&Denoiser> {
        None
    }
}

impl ScoreModel for Denoiser {
    fn denoise(&self, x: &Tensor, sigma: &Tensor, labels: Option<&Tensor>) -> Tensor {
        Denoiser::denoise(self, x, sigma, labels, false)
    }
    fn denoise_in(
        &self,
        precision: Precision,
        x: &Tensor,
        sigma: &Tensor,
        labels: Option<&Tensor>,
    ) -> Tensor {
        Denoiser::denoise_in(self, precision, x, sigma, labels, false)
    }
    fn data_shape(&self) -> Vec<i64> {
        self.config.data_shape()
    }
    fn num_classes(&self) -> usize {
        self.config.num_classes()
    }
    fn device(&self) -> Device {
        Denoiser::device(self)
    }
    fn as_denoiser(&self) -> Option<&Denoiser> {
        Some(self)
    }
}

/// `sigma` `[B]` as a `[B, 1]` column.
fn column(sigma: &Tensor) -> Tensor {
    sigma.to_kind(Kind::Float).reshape([-1, 1])
}

/// The exact denoiser of `N(mu, Sigma)` in R^d:
/// `D(x; sigma) = mu + Sigma (Sigma + sigma^2 I)^-1 (x - mu)`, evaluated in the eigenbasis
/// `Sigma = U diag(lambda) U^T` as `mu + U diag(lambda / (lambda + sigma^2)) U^T (x - mu)`.
#[derive(Debug)]
pub struct GaussianTeacher {
    mean: Tensor,
    basis: Tensor,
    eigenvalues: Tensor,
    mean_v: Vec<f64>,
    cov_v: Vec<Vec<f64>>,
}

impl GaussianTeacher {
    /// `mean` of length d and a symmetric positive-definite `cov` (d rows of d).
    pub fn new(mean: &[f64], cov: &[Vec<f64>], device: Device) -> Result<Self, TrainError> {
        let d = mean.len();
        if d == 0 || cov.len() != d || cov.iter().any(|r| r.len() != d) {
            return Err(TrainError::Config(format!(
                "gaussian teacher: mean has {d} entries, cov must be {d}x{d}"
            )));
        }
        for (i, row) in cov.iter().enumerate() {
            for (j, &v) in row.iter().enumerate() {
                if (v - cov[j][i]).abs() > 1e-12 {
                    return Err(TrainError::Config(
                        "gaussian teacher: cov must be symmetric".into(),
                    ));
                }
            }
        }
        let flat: Vec<f64> = cov.iter().flatten().copied().collect();
        let c = Tensor::from_slice(&flat).reshape([d as i64, d as i64]);
        let (lam, u) = c.f_linalg_eigh("L")?;
        if lam.min().double_value(&[]) <= 0.0 {
            return Err(TrainError::Config(
                "gaussian teacher: cov must be positive definite".into(),
            ));
        }
        Ok(GaussianTeacher {
            mean: Tensor::from_slice(mean)
                .to_kind(Kind::Float)
                .to_device(device),
            basis: u.to_kind(Kind::Float).to_device(device),
            eigenvalues: lam.to_kind(Kind::Float).to_device(device),
            mean_v: mean.to_vec(),
            cov_v: cov.to_vec(),
        })
    }

    /// The mean mu.
    pub fn mean(&self) -> &[f64] {
        &self.mean_v
    }

    /// The covariance Sigma.
    pub fn cov(&self) -> &[Vec<f64>] {
        &self.cov_v
    }

    /// `n` exact samples `mu + U sqrt(lambda) eps` (draws from libtorch's generator).
    pub fn sample(&self, n: i64) -> Tensor {
        let d = self.mean.size()[0];
        let eps = Tensor::randn([n, d], (Kind::Float, self.mean.device()));
        (eps * self.eigenvalues.sqrt()).matmul(&self.basis.tr()) + &self.mean
    }
}

impl ScoreModel for GaussianTeacher {
    fn denoise(&self, x: &Tensor, sigma: &Tensor, _labels: Option<&Tensor>) -> Tensor {
        let s2 = column(sigma).square();
        let shrink = &self.eigenvalues / (&self.eigenvalues + s2);
        let coords = (x.to_kind(Kind::Float) - &self.mean).matmul(&self.basis);
        (coords * shrink).matmul(&self.basis.tr()) + &self.mean
    }
    fn data_shape(&self) -> Vec<i64> {
        vec![self.mean.size()[0]]
    }
    fn num_classes(&self) -> usize {
        0
    }
    fn device(&self) -> Device {
        self.mean.device()
    }
}

/// The exact denoiser of an isotropic Gaussian mixture `sum_k pi_k N(mu_k, s_k^2 I)`:
/// `D(x; sigma) = sum_k r_k(x) (mu_k + s_k^2/(s_k^2 + sigma^2) (x - mu_k))` with responsibilities
/// `r_k ∝ pi_k N(x; mu_k, (s_k^2 + sigma^2) I)`.
#[derive(Debug)]
pub struct GaussianMixtureTeacher {
    log_weights: Tensor,
    means: Tensor,
    variances: Tensor,
}

impl GaussianMixtureTeacher {
    /// `weights` (positive, normalised here), `means` (K rows of d), `stds` (K positive values).
    pub fn new(
        weights: &[f64],
        means: &[Vec<f64>],
        stds: &[f64],
        device: Device,
    ) -> Result<Self, TrainError> {
        let k = weights.len();
        let d = means.first().map_or(0, |m| m.len());
        if k == 0
            || means.len() != k
            || stds.len() != k
            || d == 0
            || means.iter().any(|m| m.len() != d)
        {
            return Err(TrainError::Config(
                "mixture teacher: need K weights, K means of equal length d >= 1, K stds".into(),
            ));
        }
        if weights.iter().any(|&w| !crate::config::positive(w))
            || stds.iter().any(|&s| !crate::config::positive(s))
        {
            return Err(TrainError::Config(
                "mixture teacher: weights and stds must be > 0".into(),
            ));
        }
        let total: f64 = weights.iter().sum();
        let lw: Vec<f64> = weights.iter().map(|w| (w / total).ln()).collect();
        let flat: Vec<f64> = means.iter().flatten().copied().collect();
        let var: Vec<f64> = stds.iter().map(|s| s * s).collect();
        let f = |v: &[f64]| Tensor::from_slice(v).to_kind(Kind::Float).to_device(device);
        Ok(GaussianMixtureTeacher {
            log_weights: f(&lw),
            means: f(&flat).reshape([k as i64, d as i64]),
            variances: f(&var),
        })
    }
}

impl ScoreModel for GaussianMixtureTeacher {
    fn denoise(&self, x: &Tensor, sigma: &Tensor, _labels: Option<&Tensor>) -> Tensor {
        let d = self.means.size()[1] as f64;
        let x = x.to_kind(Kind::Float);
        let total_var = &self.variances.unsqueeze(0) + column(sigma).square(); // [B, K]
        let diff = x.unsqueeze(1) - self.means.unsqueeze(0); // [B, K, d]
        let sq = diff
            .square()
            .sum_dim_intlist([2i64].as_slice(), false, Kind::Float); // [B, K]
        let log_r =
            &self.log_weights.unsqueeze(0) - total_var.log() * (0.5 * d) - sq / (&total_var * 2.0);
        let r = log_r.softmax(1, Kind::Float); // [B, K]
        let shrink = &self.variances.unsqueeze(0) / &total_var; // [B, K]
        let post = self.means.unsqueeze(0) + diff * shrink.unsqueeze(2); // [B, K, d]
        (post * r.unsqueeze(2)).sum_dim_intlist([1i64].as_slice(), false, Kind::Float)
    }
    fn data_shape(&self) -> Vec<i64> {
        vec![self.means.size()[1]]
    }
    fn num_classes(&self) -> usize {
        0
    }
    fn device(&self) -> Device {
        self.means.device()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tweedie: D(x; sigma) = x + sigma^2 grad log p_sigma(x); for a Gaussian the closed form
    /// equals the mixture formula with one component, and both shrink toward the mean.
    #[test]
    fn gaussian_and_one_component_mixture_agree() {
        let g = GaussianTeacher::new(&[1.0, -1.0], &[vec![0.5, 0.0], vec![0.0, 0.5]], Device::Cpu)
            .unwrap();
        let m =
            GaussianMixtureTeacher::new(&[1.0], &[vec![1.0, -1.0]], &[0.5f64.sqrt()], Device::Cpu)
                .unwrap();
        let x = Tensor::randn([16, 2], (Kind::Float, Device::Cpu)) * 3.0;
        let s = Tensor::rand([16], (Kind::Float, Device::Cpu)) * 5.0 + 0.01;
        let a = g.denoise(&x, &s, None);
        let b = m.denoise(&x, &s, None);
        assert!((a - b).abs().max().double_value(&[]) < 1e-5);
        // at huge sigma, D -> mean
        let big = Tensor::full([16], 1e4, (Kind::Float, Device::Cpu));
        let d = g.denoise(&x, &big, None);
        assert!((d - g.mean.unsqueeze(0)).abs().max().double_value(&[]) < 1e-3);
    }

    #[test]
    fn correlated_gaussian_matches_direct_inverse() {
        let cov = vec![vec![1.0, 0.6], vec![0.6, 0.5]];
        let g = GaussianTeacher::new(&[0.0, 0.0], &cov, Device::Cpu).unwrap();
        let x = Tensor::from_slice(&[1.0f32, 2.0]).reshape([1, 2]);
        let s = Tensor::from_slice(&[0.7f32]);
        let got = Vec::<f32>::try_from(g.denoise(&x, &s, None).reshape([-1])).unwrap();
        // Sigma (Sigma + 0.49 I)^-1 x computed by hand
        let (a, b, c) = (1.49, 0.6, 0.99);
        let det = a * c - b * b;
        let inv = [[c / det, -b / det], [-b / det, a / det]];
        let y = [
            inv[0][0] * 1.0 + inv[0][1] * 2.0,
            inv[1][0] * 1.0 + inv[1][1] * 2.0,
        ];
        let want = [1.0 * y[0] + 0.6 * y[1], 0.6 * y[0] + 0.5 * y[1]];
        assert!((got[0] as f64 - want[0]).abs() < 1e-5 && (got[1] as f64 - want[1]).abs() < 1e-5);
        assert!(GaussianTeacher::new(&[0.0], &[vec![-1.0]], Device::Cpu).is_err());
    }
}
