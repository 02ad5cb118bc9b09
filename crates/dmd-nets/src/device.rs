//! Device choice: `auto` (CUDA when libtorch sees a GPU), `cpu` or `cuda`.

use serde::{Deserialize, Serialize};

/// Which device a run uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceChoice {
    /// CUDA device 0 when libtorch reports one, otherwise the CPU.
    #[default]
    Auto,
    /// Always the CPU.
    Cpu,
    /// CUDA device 0; an error when no GPU is visible.
    Cuda,
}

/// Error when the requested device is not available.
#[derive(Debug, thiserror::Error)]
#[error(
    "device `cuda` was requested but libtorch sees no CUDA GPU; use `device = \"auto\"` or `\"cpu\"`, or run `cargo xtask setup --cuda` on a machine with an NVIDIA GPU"
)]
pub struct NoCudaError;

impl DeviceChoice {
    /// Resolves the choice to a concrete `tch::Device`.
    pub fn resolve(self) -> Result<tch::Device, NoCudaError> {
        match self {
            DeviceChoice::Auto => Ok(tch::Device::cuda_if_available()),
            DeviceChoice::Cpu => Ok(tch::Device::Cpu),
            DeviceChoice::Cuda if tch::Cuda::is_available() => Ok(tch::Device::Cuda(0)),
            DeviceChoice::Cuda => Err(NoCudaError),
        }
    }
}
