//! The EDM teacher loss (Karras et al. 2022): the denoising loss of Eq. 2 weighted by
//! `lambda(sigma) = (sigma^2 + sd^2)/(sigma sd)^2` (Table 1, `sd = sigma_data`), with training
//! noise levels `ln sigma ~ N(P_mean, P_std^2)` (Table 1). This is the one EDM loss of the
//! workspace: teacher training (dmd-train's `train_teacher`) calls [`sample_training_sigmas`]
//! and [`edm_loss`].
//!
//! [`edm_loss`] evaluates one of two algebraically equal forms ([`EdmLossForm`]):
//! `lambda ||D(y + sigma n; sigma) - y||^2` with the full denoiser (what training uses), or the
//! "effective target" form of Eq. 8, `||F(c_in x; c_noise) - (y - c_skip x)/c_out||^2` with
//! `x = y + sigma n`, equal because `lambda c_out^2 = 1`. The second form needs no `D`, no
//! weight, and its target is computed without gradient tracking, so a step does slightly less
//! work; it rounds differently and is used by the step benchmark only. Both sum over a sample's
//! values and average over the batch.

use crate::denoiser::{Denoiser, Precision};
use crate::precond::edm_coeff_tensors;
use tch::{Device, Kind, Tensor};

/// Mean of `ln sigma` in the EDM training distribution (Karras et al. 2022, Table 1).
pub const P_MEAN: f64 = -1.2;
/// Standard deviation of `ln sigma` in the EDM training distribution (Karras et al. 2022,
/// Table 1).
pub const P_STD: f64 = 1.2;

/// Draws `batch` training noise levels `sigma = exp(P_mean + P_std u)`, `u ~ N(0, 1)`, i.e.
/// `ln sigma ~ N(p_mean, p_std^2)` (Karras et al. 2022, Table 1; EDM uses [`P_MEAN`] and
/// [`P_STD`]). Draws `batch` normals from libtorch's generator; returns f32 `[batch]`.
pub fn sample_training_sigmas(batch: i64, p_mean: f64, p_std: f64, device: Device) -> Tensor {
    (Tensor::randn([batch], (Kind::Float, device)) * p_std + p_mean).exp()
}

/// Which of the two equal forms of the EDM loss [`edm_loss`] evaluates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EdmLossForm {
    /// `lambda(sigma) (D(y + sigma n; sigma) - y)^2` with the full denoiser, as in edm's
    /// `EDMLoss` (Karras et al. 2022, Eq. 2 with `lambda` of Table 1). Teacher training uses it.
    Weighted,
    /// `(F(c_in x; c_noise) - (y - c_skip x)/c_out)^2`, `x = y + sigma n`: the effective-target
    /// form of Karras et al. 2022, Eq. 8 (`lambda c_out^2 = 1`), target without gradient.
    EffectiveTarget,
}

/// The EDM loss (Karras et al. 2022, Eq. 2 with the weighting `lambda(sigma) =
/// (sigma^2 + sigma_data^2)/(sigma sigma_data)^2` of Table 1) for clean data `y` (`[B, ...]`,
/// f32), noise levels `sigma` (`[B]`) and standard normal `noise` (shape of `y`):
///
/// `L = mean_b sum_values lambda(sigma_b) (D(y_b + sigma_b n_b; sigma_b) - y_b)^2`,
///
/// evaluated in `form` (see [`EdmLossForm`]; the two agree up to f32 rounding). `train` enables
/// dropout. Scalar f32 with gradient through the network.
pub fn edm_loss(
    den: &Denoiser,
    y: &Tensor,
    sigma: &Tensor,
    noise: &Tensor,
    labels: Option<&Tensor>,
    train: bool,
    form: EdmLossForm,
) -> Tensor {
    match form {
        EdmLossForm::Weighted => weighted(den, y, sigma, noise, labels, train),
        EdmLossForm::EffectiveTarget => effective_target(den, y, sigma, noise, labels, train),
    }
}

/// [`EdmLossForm::Weighted`], in teacher training's arithmetic order.
fn weighted(
    den: &Denoiser,
    y: &Tensor,
    sigma: &Tensor,
    noise: &Tensor,
    labels: Option<&Tensor>,
    train: bool,
) -> Tensor {
    let sd = den.sigma_data;
    let ndim = y.dim();
    let mut view = vec![-1i64];
    view.extend(std::iter::repeat_n(1i64, ndim - 1));
    let sum_dims: Vec<i64> = (1..ndim as i64).collect();
    let s = sigma.reshape(view.as_slice());
    let noisy = y + noise * &s;
    let d = den.denoise(&noisy, sigma, labels, train);
    let weight = (s.square() + sd * sd) / (&s * sd).square();
    (weight * (d - y).square())
        .sum_dim_intlist(sum_dims.as_slice(), false, Kind::Float)
        .mean(Kind::Float)
}

/// [`EdmLossForm::EffectiveTarget`].
fn effective_target(
    den: &Denoiser,
    y: &Tensor,
    sigma: &Tensor,
    noise: &Tensor,
    labels: Option<&Tensor>,
    train: bool,
) -> Tensor {
    let nd = y.dim() - 1;
    let c = edm_coeff_tensors(sigma, den.sigma_data, nd);
    let (x_in, target) = tch::no_grad(|| {
        let y = y.to_kind(Kind::Float);
        let sigma_b = sigma.to_kind(Kind::Float).view(c.c_in.size().as_slice());
        let x = &y + noise * &sigma_b;
        let target = (&y - &x * &c.c_skip) / &c.c_out;
        (&x * &c.c_in, target)
    });
    let x_in = match den.precision {
        Precision::F32 => x_in,
        Precision::Bf16 => x_in.to_kind(Kind::BFloat16),
    };
    let f = den.raw().forward_raw(&x_in, &c.c_noise, labels, train);
    let b = y.size()[0];
    let per_sample = (f.to_kind(Kind::Float) - target)
        .square()
        .reshape([b, -1])
        .sum_dim_intlist([1i64].as_slice(), false, Kind::Float);
    per_sample.mean(Kind::Float)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn training_sigmas_are_log_normal() {
        tch::manual_seed(10);
        let ln = sample_training_sigmas(40_000, -0.5, 0.8, Device::Cpu).log();
        let mean = ln.mean(Kind::Float).double_value(&[]);
        let std = ln.std(true).double_value(&[]);
        assert!((mean + 0.5).abs() < 0.02, "{mean}");
        assert!((std - 0.8).abs() < 0.02, "{std}");
    }
}
