//! # dmd-nets
//!
//! The teacher and student networks of the DMD copying study on libtorch (through `tch`):
//! the EDM preconditioning that turns a raw network into a denoiser `D(x; sigma, y)`, the
//! Karras sigma grid, the deterministic samplers `Phi_K`, the toy MLP, the ADM UNet, and
//! safetensors checkpoints that carry their network config.
//!
//! "EDM" is Karras et al. 2022, *Elucidating the Design Space of Diffusion-Based Generative
//! Models*. Every equation of it that the crate computes, and where:
//!
//! | quantity | equation | function |
//! |---|---|---|
//! | preconditioning `c_skip, c_out, c_in, c_noise` | EDM Eq. 7, Table 1 | [`precond::edm_coeffs`], [`precond::edm_coeff_tensors`] |
//! | denoiser `D(x; sigma) = c_skip x + c_out F(c_in x; c_noise)` | EDM Eq. 7 | [`Denoiser::denoise`] |
//! | score `s = (D - x)/sigma^2` | EDM Eq. 3 | [`Denoiser::score`] |
//! | noise-level grid `sigma_i` (`rho = 7`) | EDM Eq. 5 | [`karras::karras_sigmas`], [`karras::sampler_grid`] |
//! | probability-flow ODE `dx/dsigma = (x - D)/sigma`, Euler / Heun steps | EDM Eqs. 1 and 3, Algorithm 1 (no churn) | [`sampler::integrate`] |
//! | teacher samples `Phi_K(z)` | EDM Algorithm 1 on the Eq. 5 grid | [`sampler::sample`], [`sampler::sample_with`] |
//! | training noise levels `ln sigma ~ N(P_mean, P_std^2)` | EDM Table 1 | [`loss::sample_training_sigmas`] |
//! | EDM loss `lambda(sigma) \|\|D(y + n; sigma) - y\|\|^2`, `lambda = (sigma^2 + sd^2)/(sigma sd)^2` | EDM Eq. 2 with Table 1's `lambda`; Eq. 8 (effective target) | [`loss::edm_loss`] |
//!
//! ```no_run
//! use dmd_nets::{denoiser::Denoiser, mlp::MlpConfig, net::NetConfig, sampler::{sample, Solver}};
//! use tch::{Device, Kind, Tensor};
//!
//! tch::manual_seed(0);
//! let den = Denoiser::new(&NetConfig::Mlp(MlpConfig::new(4)), Device::Cpu).unwrap();
//! let z = Tensor::randn([16, 4], (Kind::Float, Device::Cpu));
//! let x = sample(&den, &z, None, 8, Solver::Euler, 1024); // Phi_8(z)
//! den.save(std::path::Path::new("teacher.safetensors")).unwrap();
//! ```

pub mod allocator;
pub mod checkpoint;
pub mod convert;
pub mod denoiser;
pub mod device;
pub mod error;
pub mod import;
pub mod karras;
pub mod layers;
pub mod loss;
pub mod mlp;
pub mod net;
pub mod precond;
pub mod raw;
pub mod sampler;
pub mod unet;

pub use denoiser::{Denoiser, Precision};
pub use error::NetError;
pub use mlp::MlpConfig;
pub use net::{NetConfig, RawNet};
pub use sampler::Solver;
pub use unet::UnetConfig;
