//! The crate's typed error: what went wrong, where, and what to do about it.

use std::path::PathBuf;

/// Everything that can stop teacher training or distillation.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A loss, gradient norm or network output became NaN or infinite.
    #[error(
        "non-finite {quantity} at iteration {iteration}; the run stopped and the last good checkpoint \
         (if any) is kept in the run directory; lower the learning rate or check the teacher"
    )]
    NonFinite {
        /// Iteration (0-based) at which the value was seen.
        iteration: u64,
        /// Which quantity, e.g. `"fake-score loss"` or `"teacher output D_real"`.
        quantity: String,
    },
    /// A configuration value is out of range or inconsistent with the data or networks.
    #[error("invalid config: {0}")]
    Config(String),
    /// The training data does not fit the network (shape, labels).
    #[error("invalid training data: {0}")]
    Data(String),
    /// A checkpoint file is missing a tensor, has the wrong shape, or belongs to another config.
    #[error("checkpoint {path}: {message}")]
    Checkpoint {
        /// The checkpoint file.
        path: PathBuf,
        /// What is wrong with it and what to do.
        message: String,
    },
    /// Reading or writing a file in the run directory failed.
    #[error("i/o on {path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A libtorch call failed.
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
    /// A network could not be built, loaded or saved.
    #[error("network: {0}")]
    Net(#[from] dmd_nets::error::NetError),
    /// A stop was requested ([`crate::interrupt`], e.g. SIGTERM or SIGUSR1 before a Slurm
    /// preemption); the state was written first.
    #[error(
        "interrupted at iteration {iteration}: the state is saved in the run directory and a rerun resumes from it"
    )]
    Interrupted {
        /// Iterations done when it stopped.
        iteration: u64,
    },
    /// A [`crate::Probe`] could not measure the generator.
    #[error("measuring the generator during training: {0}")]
    Probe(String),
    /// A JSON value could not be written.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
}

impl TrainError {
    /// Wraps an i/o error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        TrainError::Io {
            path: path.into(),
            source,
        }
    }

    /// A non-finite value of `quantity` at `iteration`.
    pub fn non_finite(iteration: u64, quantity: impl Into<String>) -> Self {
        TrainError::NonFinite {
            iteration,
            quantity: quantity.into(),
        }
    }
}
