//! Device choice: `auto` (CUDA when libtorch sees a GPU), `cpu`, `cuda` (GPU 0) or `cuda:N`.

use serde::{Deserialize, Serialize};

/// Which device a run uses. Written in configs as `"auto"`, `"cpu"`, `"cuda"` or `"cuda:N"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum DeviceChoice {
    /// CUDA device 0 when libtorch reports one, otherwise the CPU.
    #[default]
    Auto,
    /// Always the CPU.
    Cpu,
    /// CUDA device 0; an error when no GPU is visible.
    Cuda,
    /// CUDA device `N` (of those visible to the process, i.e. after `CUDA_VISIBLE_DEVICES`).
    CudaIndex(usize),
}

impl From<DeviceChoice> for String {
    fn from(d: DeviceChoice) -> String {
        match d {
            DeviceChoice::Auto => "auto".into(),
            DeviceChoice::Cpu => "cpu".into(),
            DeviceChoice::Cuda => "cuda".into(),
            DeviceChoice::CudaIndex(i) => format!("cuda:{i}"),
        }
    }
}

impl TryFrom<String> for DeviceChoice {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        match s.as_str() {
            "auto" => Ok(DeviceChoice::Auto),
            "cpu" => Ok(DeviceChoice::Cpu),
            "cuda" => Ok(DeviceChoice::Cuda),
            other => other
                .strip_prefix("cuda:")
                .and_then(|i| i.parse().ok())
                .map(DeviceChoice::CudaIndex)
                .ok_or_else(|| {
                    format!(
                        "unknown device `{other}`: use \"auto\", \"cpu\", \"cuda\" or \"cuda:N\""
                    )
                }),
        }
    }
}

/// Error when the requested device is not available.
#[derive(Debug, thiserror::Error)]
pub enum NoCudaError {
    /// No GPU at all.
    #[error(
        "device `cuda` was requested but libtorch sees no CUDA GPU; use `device = \"auto\"` or `\"cpu\"`, or run `cargo xtask setup --cuda` on a machine with an NVIDIA GPU"
    )]
    NoGpu,
    /// A GPU index beyond those visible.
    #[error(
        "device `cuda:{index}` was requested but libtorch sees {visible} GPU(s) (after CUDA_VISIBLE_DEVICES); use an index below {visible}"
    )]
    NoSuchGpu {
        /// The requested index.
        index: usize,
        /// GPUs visible to the process.
        visible: usize,
    },
}

impl DeviceChoice {
    /// Resolves the choice to a concrete `tch::Device`.
    pub fn resolve(self) -> Result<tch::Device, NoCudaError> {
        match self {
            DeviceChoice::Auto => Ok(tch::Device::cuda_if_available()),
            DeviceChoice::Cpu => Ok(tch::Device::Cpu),
            DeviceChoice::Cuda if tch::Cuda::is_available() => Ok(tch::Device::Cuda(0)),
            DeviceChoice::Cuda => Err(NoCudaError::NoGpu),
            DeviceChoice::CudaIndex(index) => {
                let visible = tch::Cuda::device_count().max(0) as usize;
                if index < visible {
                    Ok(tch::Device::Cuda(index))
                } else if visible == 0 {
                    Err(NoCudaError::NoGpu)
                } else {
                    Err(NoCudaError::NoSuchGpu { index, visible })
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_names_round_trip_and_bad_ones_are_named() {
        for (s, d) in [
            ("auto", DeviceChoice::Auto),
            ("cpu", DeviceChoice::Cpu),
            ("cuda", DeviceChoice::Cuda),
            ("cuda:7", DeviceChoice::CudaIndex(7)),
        ] {
            assert_eq!(DeviceChoice::try_from(s.to_string()).unwrap(), d);
            assert_eq!(String::from(d), s);
        }
        let err = DeviceChoice::try_from("gpu".to_string()).unwrap_err();
        assert!(err.contains("`gpu`") && err.contains("cuda:N"), "{err}");
        assert!(DeviceChoice::try_from("cuda:x".to_string()).is_err());
        if !tch::Cuda::is_available() {
            assert!(DeviceChoice::CudaIndex(3).resolve().is_err());
        }
    }
}
