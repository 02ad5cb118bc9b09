//! The crate's error type: every failure names the offending input and how to fix it.

/// Errors returned by the measurements of `dmd-analysis`.
#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    /// Two arrays that must agree in shape do not.
    #[error("{what}: shape mismatch ({detail}); pass sample sets with matching rows/columns")]
    Shape {
        /// The measurement that was asked for.
        what: &'static str,
        /// The shapes that were passed.
        detail: String,
    },
    /// Too few samples for the statistic.
    #[error("{what}: needs at least {needed} samples, got {got}; pass more samples")]
    TooFewSamples {
        /// The measurement that was asked for.
        what: &'static str,
        /// Minimum number of samples.
        needed: usize,
        /// Number of samples passed.
        got: usize,
    },
    /// An input contained NaN or infinity.
    #[error("{what}: input contains a non-finite value (NaN or inf); check the sampler output")]
    NonFinite {
        /// The measurement that was asked for.
        what: &'static str,
    },
    /// A parameter is out of its valid range.
    #[error("invalid parameter `{name}`: {reason}")]
    InvalidParameter {
        /// Parameter name.
        name: &'static str,
        /// Why it is invalid and what is allowed.
        reason: String,
    },
    /// A dense linear-algebra routine failed.
    #[error(
        "{what}: eigendecomposition did not converge; check the input for huge or degenerate values"
    )]
    Linalg {
        /// The measurement that was asked for.
        what: &'static str,
    },
    /// The statistic is undefined for this input.
    #[error("{what}: {detail}; the statistic is undefined here")]
    Degenerate {
        /// The measurement that was asked for.
        what: &'static str,
        /// Why.
        detail: String,
    },
    /// The optimal-transport solver (dmd-ot) failed.
    #[error("optimal transport failed: {0}")]
    Ot(#[from] dmd_ot::OtError),
    /// Writing or reading a results file failed.
    #[error(
        "cannot write/read `{path}`: {source}; check that the directory exists and is writable"
    )]
    Io {
        /// The file.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// (De)serialising JSON failed.
    #[error("metrics JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, AnalysisError>;

/// Checks that every entry of `x` is finite.
pub(crate) fn check_finite<'a>(
    what: &'static str,
    x: impl IntoIterator<Item = &'a f32>,
) -> Result<()> {
    if x.into_iter().all(|v| v.is_finite()) {
        Ok(())
    } else {
        Err(AnalysisError::NonFinite { what })
    }
}

/// Checks that two sample sets have the same shape.
pub(crate) fn check_same_shape(what: &'static str, a: &[usize], b: &[usize]) -> Result<()> {
    if a == b {
        Ok(())
    } else {
        Err(AnalysisError::Shape {
            what,
            detail: format!("{a:?} vs {b:?}"),
        })
    }
}
