//! Deterministic probability-flow samplers `Phi_K` and the one Euler/Heun integrator of the
//! probability-flow ODE that every caller in the workspace uses ([`integrate`]).
//!
//! ODE (Karras et al. 2022, Eq. 1 with `sigma(t) = t` and the score of Eq. 3):
//! `dx/dsigma = (x - D(x; sigma))/sigma`.
//!
//! Grid: `Phi_K` uses the `K`-point Karras grid (Karras et al. 2022, Eq. 5, with
//! `sigma_min = 0.002`, `sigma_max = 80`, `rho = 7`) followed by a final `0`, i.e. `K` steps
//! `sigma_0 = 80 > ... > sigma_{K-1} = 0.002 > sigma_K = 0`. Start: `x_0 = sigma_max z`.
//!
//! Euler: `x_{i+1} = x_i + (sigma_{i+1} - sigma_i) d_i`, `d_i = (x_i - D(x_i; sigma_i))/sigma_i`
//! (`K` evaluations of `D`). The step to `sigma = 0` equals `D(x_i; sigma_i)` exactly and is
//! computed as such. `K = 1` is therefore `Phi_1(z) = D(80 z; 80)` (the one-step grid is
//! `[80, 0]`).
//!
//! Heun (Karras et al. 2022, Algorithm 1 without churn): the Euler predictor `x'`, then, except
//! on the final step to 0, the trapezoid correction
//! `x_{i+1} = x_i + (sigma_{i+1} - sigma_i)(d_i + d'_i)/2` with
//! `d'_i = (x' - D(x'; sigma_{i+1}))/sigma_{i+1}` (`2K - 1` evaluations).

use crate::denoiser::Denoiser;
use crate::karras::sampler_grid;
use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

/// ODE solver of a sampler.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Solver {
    /// First-order Euler (the paper's choice).
    Euler,
    /// Second-order Heun (EDM Algorithm 1 without churn).
    Heun,
}

/// Number of denoiser evaluations of `Phi_K` with `solver` (Euler `K`, Heun `2K - 1`).
pub fn nfe(steps: usize, solver: Solver) -> usize {
    match solver {
        Solver::Euler => steps,
        Solver::Heun => (2 * steps).saturating_sub(1),
    }
}

/// `Phi_K(z)` for a trained denoiser: `z` `[N, ...data_shape]` standard normal; `labels`
/// optional `[N]` i64. Runs without gradients, in eval mode, `chunk` rows at a time (so e.g.
/// 2000 UNet samples fit in memory); returns f32 `[N, ...data_shape]` on the denoiser's device.
/// `steps = 0` returns `80 z` unchanged. The ODE state is f32 (see [`sample_in`]).
pub fn sample(
    den: &Denoiser,
    z: &Tensor,
    labels: Option<&Tensor>,
    steps: usize,
    solver: Solver,
    chunk: i64,
) -> Tensor {
    sample_in(den, z, labels, steps, solver, chunk, Kind::Float)
}

/// [`sample`] with the ODE state `x` kept in `state` (`Kind::Float` or `Kind::Double`); the
/// network always runs in its own precision and its output is cast to `state`. EDM's
/// `generate.py` keeps the state in f64 (`Kind::Double`), which matters for `K = 2`, where
/// `x - D(x)` at `sigma = 80` cancels most of a state of size `80 |z|`. Returns `state`.
pub fn sample_in(
    den: &Denoiser,
    z: &Tensor,
    labels: Option<&Tensor>,
    steps: usize,
    solver: Solver,
    chunk: i64,
    state: Kind,
) -> Tensor {
    let _guard = tch::no_grad_guard();
    let device = den.device();
    let n = z.size()[0];
    let chunk = chunk.max(1);
    let mut outs = Vec::new();
    let mut start = 0;
    while start < n {
        let len = chunk.min(n - start);
        let zc = z.narrow(0, start, len).to_device(device).to_kind(state);
        let yc = labels.map(|y| y.narrow(0, start, len).to_device(device));
        let d =
            |x: &Tensor, sigma: f64| den.denoise_at(x, sigma, yc.as_ref(), false).to_kind(state);
        outs.push(sample_with(d, &zc, steps, solver));
        start += len;
    }
    if outs.is_empty() {
        return z.to_device(device).to_kind(state) * crate::karras::SIGMA_MAX;
    }
    Tensor::cat(&outs, 0)
}

/// The f32 arithmetic of an Euler step's increment `(sigma_next - sigma)(x - D)/sigma`. Both
/// forms are the same step; they round differently in the last bit, and each is kept for the
/// callers whose published numbers were computed with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EulerForm {
    /// `x + ((x - D)/sigma) (sigma_next - sigma)`: the slope first (the `Phi_K` samplers
    /// [`sample`] / [`sample_with`]).
    Slope,
    /// `x + (x - D) ((sigma_next - sigma)/sigma)`, the ratio taken in f64: the teacher
    /// roll-outs of distillation (dmd-train's `ode` module: regression and GAN pools, the
    /// DP-DMD anchor).
    Ratio,
}

/// Integrates the probability-flow ODE `dx/dsigma = (x - D(x; sigma))/sigma` (Karras et al.
/// 2022, Eqs. 1 and 3 with `sigma(t) = t`) along the descending noise levels `sigmas`,
/// starting from `x` at `sigmas[0]`, and returns the state at the last level.
///
/// `denoise(x, sigma)` is `D(x; sigma)`. Euler steps use `form` (see [`EulerForm`]); Heun steps
/// (Karras et al. 2022, Algorithm 1 without churn) always form the slope
/// `d = (x - D)/sigma` first. A step to `sigma_next = 0` returns `D(x; sigma)` itself (the
/// Euler step to 0, no correction) and ends the integration. Fewer than two levels return `x`.
/// Gradients are whatever `denoise` produces (call inside `tch::no_grad` if none are wanted).
pub fn integrate(
    denoise: impl Fn(&Tensor, f64) -> Tensor,
    x: &Tensor,
    sigmas: &[f64],
    solver: Solver,
    form: EulerForm,
) -> Tensor {
    let mut x = x.shallow_clone();
    for w in sigmas.windows(2) {
        let (s, s_next) = (w[0], w[1]);
        let d = denoise(&x, s);
        if s_next == 0.0 {
            // x + (0 - s)(x - D)/s = D.
            x = d;
            break;
        }
        x = match (solver, form) {
            (Solver::Euler, EulerForm::Ratio) => &x + (&x - &d) * ((s_next - s) / s),
            (Solver::Euler, EulerForm::Slope) => &x + (&x - &d) / s * (s_next - s),
            (Solver::Heun, _) => {
                let slope = (&x - &d) / s;
                let x_pred = &x + &slope * (s_next - s);
                let d2 = denoise(&x_pred, s_next);
                let slope2 = (&x_pred - d2) / s_next;
                &x + (slope + slope2) * (0.5 * (s_next - s))
            }
        };
    }
    x
}

/// `Phi_K` for any denoiser `D(x, sigma)` (e.g. a closed-form one), on the whole of `z` at
/// once, in `z`'s kind: [`integrate`] from `x_0 = sigma_max z` along the `K`-point sampler grid
/// with the [`EulerForm::Slope`] arithmetic. Gradients are whatever `denoise` produces (call
/// inside `tch::no_grad` if none are wanted).
pub fn sample_with(
    denoise: impl Fn(&Tensor, f64) -> Tensor,
    z: &Tensor,
    steps: usize,
    solver: Solver,
) -> Tensor {
    let sigmas = sampler_grid(steps);
    integrate(denoise, &(z * sigmas[0]), &sigmas, solver, EulerForm::Slope)
}

/// [`sample`] after checking that `z` (`[N, ...data_shape]`) and `labels` fit the denoiser, so
/// user data gives an error instead of a libtorch panic.
pub fn try_sample(
    den: &Denoiser,
    z: &Tensor,
    labels: Option<&Tensor>,
    steps: usize,
    solver: Solver,
    chunk: i64,
) -> Result<Tensor, crate::error::NetError> {
    let sigma = Tensor::full([1], crate::karras::SIGMA_MAX, (Kind::Float, z.device()));
    den.check_inputs(z, &sigma, labels)?;
    Ok(sample(den, z, labels, steps, solver, chunk))
}
