//! Deterministic Euler integration of the probability-flow ODE `dx/dsigma = (x - D(x; sigma))/sigma`
//! (Karras et al. 2022, Eqs. 1 and 3 with `sigma(t) = t`) for any [`ScoreModel`]: the teacher
//! samples `Phi_K(z)` used by the regression and GAN pools, and the partial roll-out that gives
//! DP-DMD its anchor. The integrator is dmd-nets' [`dmd_nets::sampler::integrate`]; this module
//! only adapts a [`ScoreModel`] to it.

use dmd_nets::karras::sampler_grid;
use dmd_nets::sampler::{EulerForm, Solver, integrate};
use tch::{Kind, Tensor};

use crate::score_model::ScoreModel;

/// Runs Euler steps along the descending `sigmas`, starting from `x` at `sigmas[0]`, without
/// gradients; returns the state at the last entry. Each step is
/// `x + (x - D(x; sigma)) ((sigma_next - sigma)/sigma)` ([`EulerForm::Ratio`]); a step to
/// `sigma_next = 0` returns `D(x; sigma)` itself. `D` is called with `sigma` as a `[B]` tensor.
pub fn euler_rollout(
    model: &dyn ScoreModel,
    x: &Tensor,
    sigmas: &[f64],
    labels: Option<&Tensor>,
) -> Tensor {
    let denoise = |x: &Tensor, sigma: f64| {
        let s = Tensor::full([x.size()[0]], sigma, (Kind::Float, x.device()));
        model.denoise(x, &s, labels)
    };
    tch::no_grad(|| integrate(denoise, x, sigmas, Solver::Euler, EulerForm::Ratio))
}

/// `Phi_K(z)`: K Euler steps on the Karras grid (+ final 0) from `x_0 = sigma_max z`,
/// in chunks of `chunk` samples. `K = 1` is `D(80 z; 80)`.
pub fn teacher_sample(
    model: &dyn ScoreModel,
    z: &Tensor,
    labels: Option<&Tensor>,
    steps: usize,
    chunk: i64,
) -> Tensor {
    let grid = sampler_grid(steps.max(1));
    let n = z.size()[0];
    let chunk = chunk.max(1);
    let mut parts = Vec::new();
    let mut start = 0;
    while start < n {
        let len = chunk.min(n - start);
        let zc = z.narrow(0, start, len);
        let yc = labels.map(|y| y.narrow(0, start, len));
        parts.push(euler_rollout(model, &(zc * grid[0]), &grid, yc.as_ref()));
        start += len;
    }
    Tensor::cat(&parts, 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::score_model::GaussianTeacher;
    use tch::Device;

    /// For a Gaussian teacher the exact ODE maps N(0, T^2 I) to N(mu, Sigma + ...); with 64
    /// Euler steps the sample moments match the target closely.
    #[test]
    fn euler_samples_of_a_gaussian_have_its_moments() {
        tch::manual_seed(0);
        let g = GaussianTeacher::new(&[1.0, -0.5], &[vec![0.5, 0.2], vec![0.2, 0.3]], Device::Cpu)
            .unwrap();
        let z = Tensor::randn([20000, 2], (Kind::Float, Device::Cpu));
        let x = teacher_sample(&g, &z, None, 64, 4096);
        let m = Vec::<f32>::try_from(x.mean_dim([0i64].as_slice(), false, Kind::Float)).unwrap();
        assert!(
            (m[0] - 1.0).abs() < 0.03 && (m[1] + 0.5).abs() < 0.03,
            "{m:?}"
        );
        let c = x.tr().cov(1, None::<Tensor>, None::<Tensor>);
        let c = Vec::<f32>::try_from(c.reshape([-1])).unwrap();
        assert!(
            (c[0] - 0.5).abs() < 0.05 && (c[1] - 0.2).abs() < 0.05 && (c[3] - 0.3).abs() < 0.05,
            "{c:?}"
        );
        // one step is the denoiser at sigma_max
        let one = teacher_sample(&g, &z.narrow(0, 0, 4), None, 1, 4);
        let d = g.denoise(
            &(z.narrow(0, 0, 4) * 80.0),
            &Tensor::full([4], 80.0, (Kind::Float, Device::Cpu)),
            None,
        );
        assert!(one.equal(&d));
    }
}
