//! Deterministic Euler integration of the probability-flow ODE `dx/dsigma = (x - D(x; sigma))/sigma`
//! (edm-dmd2.md section 2) for any [`ScoreModel`]: the teacher samples `Phi_K(z)` used by the
//! regression and GAN pools, and the partial roll-out that gives DP-DMD its anchor.

use dmd_nets::karras::sampler_grid;
use tch::{Kind, Tensor};

use crate::score_model::ScoreModel;

/// One Euler step from `sigma` to `sigma_next`: `x + (sigma_next - sigma)(x - D(x; sigma))/sigma`.
/// `sigma_next = 0` returns `D(x; sigma)` itself.
pub fn euler_step(
    model: &dyn ScoreModel,
    x: &Tensor,
    sigma: f64,
    sigma_next: f64,
    labels: Option<&Tensor>,
) -> Tensor {
    let b = x.size()[0];
    let s = Tensor::full([b], sigma, (Kind::Float, x.device()));
    let d = model.denoise(x, &s, labels);
    if sigma_next == 0.0 {
        d
    } else {
        x + (x - &d) * ((sigma_next - sigma) / sigma)
    }
}

/// Runs Euler steps along the descending `sigmas`, starting from `x` at `sigmas[0]`;
/// returns the state at the last entry.
pub fn euler_rollout(
    model: &dyn ScoreModel,
    x: &Tensor,
    sigmas: &[f64],
    labels: Option<&Tensor>,
) -> Tensor {
    tch::no_grad(|| {
        let mut x = x.shallow_clone();
        for w in sigmas.windows(2) {
            x = euler_step(model, &x, w[0], w[1], labels);
        }
        x
    })
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
