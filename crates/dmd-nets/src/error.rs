//! The crate's error type: every failure names what went wrong and, for files, which file.

use std::path::PathBuf;

/// Errors from building networks, running them on user data, and reading or writing checkpoints.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// A network configuration that cannot be built (zero sizes, channels not divisible, ...).
    #[error("invalid network config: {0}")]
    InvalidConfig(String),
    /// An input (array, labels, shape) that does not fit the network.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// Reading or writing a file failed at the operating-system level.
    #[error("cannot {action} `{path}`: {source}")]
    Io {
        /// What was attempted ("read", "write", "create the folder of").
        action: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A checkpoint file that exists but cannot be used (truncated, not safetensors, missing
    /// metadata, tensors that do not match the stored config, ...).
    #[error("checkpoint `{path}`: {problem}")]
    Checkpoint {
        /// The checkpoint file.
        path: PathBuf,
        /// What is wrong with it and, where possible, what to do.
        problem: String,
    },
    /// An error raised by libtorch.
    #[error("libtorch error: {0}")]
    Torch(#[from] tch::TchError),
}

impl NetError {
    /// Shorthand for a [`NetError::Checkpoint`].
    pub(crate) fn checkpoint(path: &std::path::Path, problem: impl Into<String>) -> Self {
        NetError::Checkpoint {
            path: path.to_path_buf(),
            problem: problem.into(),
        }
    }
}
