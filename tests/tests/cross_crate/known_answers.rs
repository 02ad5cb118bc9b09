//! Known answers that need several crates at once.
//!
//! A Gaussian data distribution `N(mu, diag(s^2))` has an exact denoiser
//! `D(x; sigma) = mu + s^2/(s^2 + sigma^2) (x - mu)` (dmd-train's closed-form teacher) and an
//! exact probability-flow ODE solution: from `x(T) = T z`,
//! `x(sigma) = mu + sqrt((s^2 + sigma^2)/(s^2 + T^2)) (x(T) - mu)`, per coordinate. The samples
//! `Phi_K(z)` that dmd-train draws from it through dmd-nets' integrator must match that solution
//! (exactly at K = 1, to first order in 1/K for Euler), and dmd-ot must score the exact
//! solution against itself as a copy and against shuffled seeds as a remapping.

use dmd_train::GaussianTeacher;
use dmd_train::ode::teacher_sample;
use ndarray::Array2;
use tch::{Device, Kind, Tensor};

const MU: [f64; 3] = [0.3, -0.5, 1.0];
const S: [f64; 3] = [0.5, 1.0, 2.0];
const T: f64 = 80.0;
const SIGMA_MIN: f64 = 0.002;

fn teacher() -> GaussianTeacher {
    let cov: Vec<Vec<f64>> = (0..3)
        .map(|i| {
            (0..3)
                .map(|j| if i == j { S[i] * S[i] } else { 0.0 })
                .collect()
        })
        .collect();
    GaussianTeacher::new(&MU, &cov, Device::Cpu).expect("a valid Gaussian")
}

fn seeds(n: i64) -> Tensor {
    tch::manual_seed(7);
    Tensor::randn([n, 3], (Kind::Float, Device::Cpu))
}

fn rows(t: &Tensor) -> Array2<f64> {
    let v: Vec<f32> = Vec::try_from(t.to_kind(Kind::Float).flatten(0, -1)).unwrap();
    let n = t.size()[0] as usize;
    Array2::from_shape_fn((n, 3), |(i, j)| v[i * 3 + j] as f64)
}

/// The exact ODE solution at `sigma_min`, then the last step's `D(x; sigma_min)`: what an
/// infinitely fine sampler on the same grid returns.
fn exact_phi(z: &Array2<f64>) -> Array2<f64> {
    Array2::from_shape_fn(z.dim(), |(i, j)| {
        let (mu, s2) = (MU[j], S[j] * S[j]);
        let x_min =
            mu + ((s2 + SIGMA_MIN * SIGMA_MIN) / (s2 + T * T)).sqrt() * (T * z[[i, j]] - mu);
        mu + s2 / (s2 + SIGMA_MIN * SIGMA_MIN) * (x_min - mu)
    })
}

fn max_abs_diff(a: &Array2<f64>, b: &Array2<f64>) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

#[test]
fn one_step_sample_is_the_closed_form_denoiser_at_sigma_max() {
    let z = seeds(64);
    let phi_1 = rows(&teacher_sample(&teacher(), &z, None, 1, 64));
    let zr = rows(&z);
    let exact = Array2::from_shape_fn(zr.dim(), |(i, j)| {
        let s2 = S[j] * S[j];
        MU[j] + s2 / (s2 + T * T) * (T * zr[[i, j]] - MU[j])
    });
    assert!(
        max_abs_diff(&phi_1, &exact) < 1e-4,
        "{}",
        max_abs_diff(&phi_1, &exact)
    );
}

#[test]
fn euler_samples_converge_to_the_exact_flow_at_first_order() {
    let z = seeds(64);
    let exact = exact_phi(&rows(&z));
    let err = |k: usize| max_abs_diff(&rows(&teacher_sample(&teacher(), &z, None, k, 64)), &exact);
    let (e32, e256, e1024) = (err(32), err(256), err(1024));
    // First order: the error falls about 4x from 256 to 1024 steps and 8x from 32 to 256.
    assert!(
        e1024 < e256 / 3.0 && e256 < e32 / 5.0,
        "{e32} {e256} {e1024}"
    );
    // Samples are O(1); the first-order error at 1024 steps is about 1% of that.
    assert!(e1024 < 0.02, "{e1024}");
}

#[test]
fn the_exact_flow_copies_itself_and_shuffled_seeds_remap() {
    let z = seeds(200);
    let phi = rows(&teacher_sample(&teacher(), &z, None, 256, 200));
    let exact = exact_phi(&rows(&z));
    let f32s = |a: &Array2<f64>| a.mapv(|x| x as f32);
    let (phi, exact) = (f32s(&phi), f32s(&exact));
    let copy = dmd_ot::pairing_inefficiency(phi.view(), exact.view()).unwrap();
    assert!(copy.delta_e < 1e-3, "{}", copy.delta_e);
    assert!(copy.copy_score() > 0.999, "{}", copy.copy_score());
    // Shift the seeds by one row: the same distribution, an unrelated pairing.
    let n = exact.nrows();
    let shifted = Array2::from_shape_fn(exact.dim(), |(i, j)| exact[[(i + 1) % n, j]]);
    let remap = dmd_ot::pairing_inefficiency(phi.view(), shifted.view()).unwrap();
    assert!(remap.delta_e > 1.0, "{}", remap.delta_e);
    assert!(remap.copy_score() < 0.2, "{}", remap.copy_score());
}
