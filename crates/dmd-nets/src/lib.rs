//! # dmd-nets
//!
//! The teacher and student networks of the DMD copying study on libtorch (through `tch`):
//! the EDM preconditioning that turns a raw network into a denoiser `D(x; sigma, y)`, the
//! Karras sigma grid, the deterministic samplers `Phi_K`, the toy MLP, the ADM UNet, and
//! safetensors checkpoints that carry their network config.
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
pub mod karras;
pub mod layers;
pub mod loss;
pub mod mlp;
pub mod net;
pub mod precond;
pub mod sampler;
pub mod unet;

pub use denoiser::{Denoiser, Precision};
pub use error::NetError;
pub use mlp::MlpConfig;
pub use net::{NetConfig, RawNet};
pub use sampler::Solver;
pub use unet::UnetConfig;
