//! The EDM teacher loss (edm-dmd2.md section 1), in the "effective target" form of Karras et al.
//! (2022) eq. 8.
//!
//! With `x = y + sigma n` and `lambda = (sigma^2 + sd^2)/(sigma sd)^2`, the loss
//! `lambda ||D(x; sigma) - y||^2` equals `||F(c_in x; c_noise) - (y - c_skip x)/c_out||^2`
//! because `lambda c_out^2 = 1`. The second form needs no `D`, no weight, and its target is
//! computed without gradient tracking, so a training step does slightly less work. Per-sample
//! sums over the data dimensions, averaged over the batch.

use crate::denoiser::{Denoiser, Precision};
use crate::precond::edm_coeff_tensors;
use tch::{Device, Kind, Tensor};

/// Mean of `ln sigma` in the EDM training distribution.
pub const P_MEAN: f64 = -1.2;
/// Standard deviation of `ln sigma` in the EDM training distribution.
pub const P_STD: f64 = 1.2;

/// Draws `batch` training noise levels, `ln sigma ~ N(P_mean, P_std^2)` (libtorch's generator).
pub fn sample_training_sigmas(batch: i64, device: Device) -> Tensor {
    (Tensor::randn([batch], (Kind::Float, device)) * P_STD + P_MEAN).exp()
}

/// The EDM loss for clean data `y` (`[B, ...]`), noise levels `sigma` (`[B]`) and standard normal
/// `noise` (shape of `y`): `mean_b sum_pixels lambda (D(y + sigma n; sigma) - y)^2`, computed in
/// the effective-target form (see the module docs). Scalar f32.
pub fn edm_loss(
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

/// The same loss written as in edm's `EDMLoss` (`lambda (D - y)^2` with the full denoiser), for
/// testing [`edm_loss`] and as a reference.
pub fn edm_loss_reference(
    den: &Denoiser,
    y: &Tensor,
    sigma: &Tensor,
    noise: &Tensor,
    labels: Option<&Tensor>,
    train: bool,
) -> Tensor {
    let sd = den.sigma_data;
    let b = y.size()[0];
    let mut view = vec![-1i64];
    view.extend(std::iter::repeat_n(1i64, y.dim() - 1));
    let s = sigma.to_kind(Kind::Float).view(view.as_slice());
    let weight = (s.square() + sd * sd) / (&s * sd).square();
    let d = den.denoise(&(y + noise * &s), sigma, labels, train);
    (weight * (d - y).square())
        .reshape([b, -1])
        .sum_dim_intlist([1i64].as_slice(), false, Kind::Float)
        .mean(Kind::Float)
}
