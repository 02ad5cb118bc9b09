//! The DM gradient against a closed form. Teacher ("real") and student ("fake") distributions
//! are isotropic Gaussians `N(mu_r, s_r^2 I)` and `N(mu_f, s_f^2 I)` in R^4, whose denoisers at
//! noise level `sigma` are exact: `D(x_t; sigma) = mu + s^2/(s^2 + sigma^2) (x_t - mu)`, with
//! scores `s(x_t) = (D - x_t)/sigma^2` (Karras et al. 2022, Eq. 3). The expected gradient is
//! then, per sample, `g = sigma^2 (s_fake(x_t) - s_real(x_t)) / mean_i |x_i - D_real,i|`, computed
//! here in plain f64 and compared with `dm_gradient` fed by `GaussianTeacher` (f32).

use dmd_train::{GaussianTeacher, ScoreModel, dm_gradient, dm_surrogate_loss};
use tch::{Device, Kind, Tensor};

const D: usize = 4;
const MU_R: [f64; D] = [0.5, -1.0, 2.0, 0.0];
const S_R: f64 = 0.8;
const MU_F: [f64; D] = [0.2, -0.7, 1.5, 0.4];
const S_F: f64 = 1.3;
const SIGMAS: [f64; 5] = [0.2, 0.5, 1.0, 2.0, 4.0];

fn gaussian(mu: &[f64; D], s: f64) -> GaussianTeacher {
    let cov: Vec<Vec<f64>> = (0..D)
        .map(|i| (0..D).map(|j| if i == j { s * s } else { 0.0 }).collect())
        .collect();
    GaussianTeacher::new(mu, &cov, Device::Cpu).unwrap()
}

/// Generator samples `x` and noisy `x_t = x + sigma eps` (rounded to f32 so that the test and
/// the tensors see the same inputs), deterministic.
fn inputs() -> (Vec<[f64; D]>, Vec<[f64; D]>) {
    let mut xs = Vec::new();
    let mut xts = Vec::new();
    for (b, &sigma) in SIGMAS.iter().enumerate() {
        let mut x = [0.0; D];
        let mut xt = [0.0; D];
        for i in 0..D {
            let xv = (0.7 * b as f64 - 1.1 + 0.45 * i as f64).sin() * 1.5 + 0.3 * i as f64;
            let eps = ((b * D + i) as f64 * 1.37).cos() * 1.2;
            x[i] = xv as f32 as f64;
            xt[i] = (xv + sigma * eps) as f32 as f64;
        }
        xs.push(x);
        xts.push(xt);
    }
    (xs, xts)
}

fn tensor(rows: &[[f64; D]]) -> Tensor {
    let flat: Vec<f32> = rows.iter().flatten().map(|&v| v as f32).collect();
    Tensor::from_slice(&flat).reshape([rows.len() as i64, D as i64])
}

fn rows(t: &Tensor) -> Vec<Vec<f64>> {
    let v = Vec::<f32>::try_from(t.reshape([-1])).unwrap();
    v.chunks(D)
        .map(|c| c.iter().map(|&x| x as f64).collect())
        .collect()
}

/// The exact denoiser of `N(mu, s^2 I)` at noise level `sigma`.
fn exact_denoiser(mu: &[f64; D], s: f64, xt: &[f64; D], sigma: f64) -> [f64; D] {
    let shrink = s * s / (s * s + sigma * sigma);
    std::array::from_fn(|i| mu[i] + shrink * (xt[i] - mu[i]))
}

/// The expected DM gradient, by hand in f64, through the scores.
fn expected() -> Vec<[f64; D]> {
    let (xs, xts) = inputs();
    SIGMAS
        .iter()
        .enumerate()
        .map(|(b, &sigma)| {
            let d_real = exact_denoiser(&MU_R, S_R, &xts[b], sigma);
            let d_fake = exact_denoiser(&MU_F, S_F, &xts[b], sigma);
            let s2 = sigma * sigma;
            let score_real: [f64; D] = std::array::from_fn(|i| (d_real[i] - xts[b][i]) / s2);
            let score_fake: [f64; D] = std::array::from_fn(|i| (d_fake[i] - xts[b][i]) / s2);
            let w = (0..D).map(|i| (xs[b][i] - d_real[i]).abs()).sum::<f64>() / D as f64;
            std::array::from_fn(|i| s2 * (score_fake[i] - score_real[i]) / w)
        })
        .collect()
}

/// `dm_gradient` with the closed-form denoisers evaluated by `GaussianTeacher`, on `[B, 4]`.
fn computed() -> Tensor {
    let (xs, xts) = inputs();
    let x = tensor(&xs);
    let x_t = tensor(&xts);
    let sigma = Tensor::from_slice(&SIGMAS).to_kind(Kind::Float);
    let d_real = gaussian(&MU_R, S_R).denoise(&x_t, &sigma, None);
    let d_fake = gaussian(&MU_F, S_F).denoise(&x_t, &sigma, None);
    dm_gradient(&x, &d_real, &d_fake)
}

#[test]
fn gaussian_closed_form_gives_the_expected_dm_gradient() {
    let want = expected();
    let got = rows(&computed());
    assert_eq!(got.len(), want.len());
    // The normalisation matters per sample (a missing or batch-wide one would fail below).
    let (xs, xts) = inputs();
    let ws: Vec<f64> = (0..SIGMAS.len())
        .map(|b| {
            let d_real = exact_denoiser(&MU_R, S_R, &xts[b], SIGMAS[b]);
            (0..D).map(|i| (xs[b][i] - d_real[i]).abs()).sum::<f64>() / D as f64
        })
        .collect();
    assert!(
        ws.iter().all(|w| (w - 1.0).abs() > 0.05)
            && ws.windows(2).all(|p| (p[0] - p[1]).abs() > 0.01),
        "{ws:?}"
    );
    let mut max_err = 0.0f64;
    for (g, e) in got.iter().zip(&want) {
        for (a, b) in g.iter().zip(e) {
            max_err = max_err.max((a - b).abs() / b.abs().max(1.0));
        }
    }
    eprintln!("dm_gradient vs closed form: max relative error {max_err:e}");
    assert!(
        max_err < 1e-5,
        "relative error {max_err:e}\ngot {got:?}\nwant {want:?}"
    );
    // Not a vacuous comparison: the gradient is far from 0.
    assert!(want.iter().flatten().any(|v| v.abs() > 0.1));
}

#[test]
fn dm_normalisation_runs_over_all_values_of_a_sample() {
    // The same samples shaped [B, 2, 2] give the same gradient as [B, 4].
    let (xs, xts) = inputs();
    let x = tensor(&xs);
    let x_t = tensor(&xts);
    let sigma = Tensor::from_slice(&SIGMAS).to_kind(Kind::Float);
    let d_real = gaussian(&MU_R, S_R).denoise(&x_t, &sigma, None);
    let d_fake = gaussian(&MU_F, S_F).denoise(&x_t, &sigma, None);
    let shape = [SIGMAS.len() as i64, 2, 2];
    let g4 = dm_gradient(
        &x.reshape(shape),
        &d_real.reshape(shape),
        &d_fake.reshape(shape),
    );
    assert_eq!(g4.size(), shape.to_vec());
    assert!(g4.reshape([-1, D as i64]).equal(&computed()));
    // Where the teacher reproduces x exactly (w = 0) the gradient is 0, not NaN.
    let g0 = dm_gradient(&x, &x, &(&x + 1.0));
    assert_eq!(g0.abs().max().double_value(&[]), 0.0);
}

#[test]
fn surrogate_loss_has_value_half_mean_g2_and_gradient_g_over_numel() {
    let g = computed();
    let x = Tensor::randn([SIGMAS.len() as i64, D as i64], (Kind::Float, Device::Cpu))
        .set_requires_grad(true);
    let l = dm_surrogate_loss(&x, &g);
    let half_mean = g.square().mean(Kind::Float).double_value(&[]) * 0.5;
    assert!((l.double_value(&[]) - half_mean).abs() < 1e-6 * half_mean.max(1.0));
    l.backward();
    let numel = (SIGMAS.len() * D) as f64;
    let diff = (x.grad() - &g / numel).abs().max().double_value(&[]);
    assert!(diff < 1e-7, "{diff}");
}
