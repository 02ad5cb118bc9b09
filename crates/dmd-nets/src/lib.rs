//! # dmd-nets
//!
//! The teacher and student networks of the DMD copying study on libtorch (through `tch`):
//! the EDM preconditioning that turns a raw network into a denoiser `D(x; sigma, y)`, the
//! Karras sigma grid, the deterministic samplers `Phi_K`, the toy MLP, the ADM UNet, and
//! safetensors checkpoints that carry their network config.

pub mod device;
