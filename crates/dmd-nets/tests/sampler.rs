//! Samplers against the closed-form probability-flow ODE of Gaussian data.
//!
//! For data `N(mu, s^2 I)` under VE noise `sigma(t) = t` the exact denoiser is
//! `D(x; sigma) = mu + s^2/(s^2+sigma^2) (x - mu)`, and the PF-ODE
//! `dx/dsigma = (x - D)/sigma = sigma/(s^2+sigma^2) (x - mu)` has the solution
//! `x(sigma) = mu + sqrt(s^2+sigma^2)/sqrt(s^2+T^2) (x_T - mu)`. `Phi_K` integrates from `T = 80`
//! to `sigma_min = 0.002` and then takes the step to 0, which returns `D(x; sigma_min)`; its
//! limit as `K -> inf` is therefore
//! `Phi_inf(z) = mu + s^2/(sqrt(s^2+sigma_min^2) sqrt(s^2+T^2)) (T z - mu)`,
//! within `O(sigma_min^2/s^2)` of the ODE's `x(0) = mu + s/sqrt(s^2+T^2) (T z - mu)`.

use dmd_nets::karras::{SIGMA_MAX, SIGMA_MIN};
use dmd_nets::sampler::{Solver, nfe, sample_with};
use tch::{Device, Kind, Tensor};

const S: f64 = 0.7;

fn mu() -> Tensor {
    Tensor::from_slice(&[0.3f64, -1.0, 2.0, 0.0])
}

fn exact_denoiser(x: &Tensor, sigma: f64) -> Tensor {
    let mu = mu();
    &mu + (x - &mu) * (S * S / (S * S + sigma * sigma))
}

fn z() -> Tensor {
    tch::manual_seed(7);
    Tensor::randn([64, 4], (Kind::Double, Device::Cpu))
}

fn phi_inf(z: &Tensor) -> Tensor {
    let t = SIGMA_MAX;
    let f = S * S / ((S * S + SIGMA_MIN * SIGMA_MIN).sqrt() * (S * S + t * t).sqrt());
    mu() + (z * t - mu()) * f
}

fn err(steps: usize, solver: Solver) -> f64 {
    let z = z();
    let x = sample_with(exact_denoiser, &z, steps, solver);
    (x - phi_inf(&z)).abs().max().double_value(&[])
}

#[test]
fn phi_inf_is_the_pf_ode_solution_at_zero() {
    let z = z();
    let t = SIGMA_MAX;
    let ode0 = mu() + (&z * t - mu()) * (S / (S * S + t * t).sqrt());
    let d = (phi_inf(&z) - ode0).abs().max().double_value(&[]);
    assert!(d < 1e-5, "{d}");
}

#[test]
fn one_step_is_the_denoiser_at_sigma_max() {
    let z = z();
    for solver in [Solver::Euler, Solver::Heun] {
        let x = sample_with(exact_denoiser, &z, 1, solver);
        let d = exact_denoiser(&(&z * SIGMA_MAX), SIGMA_MAX);
        assert_eq!((x - d).abs().max().double_value(&[]), 0.0);
    }
    assert_eq!(nfe(1, Solver::Heun), 1);
    assert_eq!(nfe(8, Solver::Heun), 15);
    assert_eq!(nfe(8, Solver::Euler), 8);
}

#[test]
fn samplers_converge_to_the_exact_solution_with_the_expected_orders() {
    let ks = [16usize, 32, 64, 128, 256];
    let euler: Vec<f64> = ks.iter().map(|&k| err(k, Solver::Euler)).collect();
    let heun: Vec<f64> = ks.iter().map(|&k| err(k, Solver::Heun)).collect();
    let order = |e: &[f64], i: usize| (e[i] / e[i + 1]).log2();
    let last = ks.len() - 2;
    eprintln!("K      {ks:?}");
    eprintln!("Euler  {euler:.3?}");
    eprintln!("Heun   {heun:.3?}");
    eprintln!(
        "orders Euler {:.2?} Heun {:.2?}",
        (0..=last).map(|i| order(&euler, i)).collect::<Vec<_>>(),
        (0..=last).map(|i| order(&heun, i)).collect::<Vec<_>>()
    );
    for i in 0..=last {
        assert!(euler[i + 1] < euler[i], "Euler error must shrink with K");
        assert!(heun[i + 1] < heun[i], "Heun error must shrink with K");
        assert!(heun[i] < euler[i], "Heun must beat Euler at equal K");
    }
    let p_euler = order(&euler, last);
    let p_heun = order(&heun, last);
    assert!((0.8..1.3).contains(&p_euler), "Euler order {p_euler}");
    assert!((1.7..2.5).contains(&p_heun), "Heun order {p_heun}");
    assert!(euler[last + 1] < 0.05 && heun[last + 1] < 1e-3);
}
