//! The crate's error type: every way an input can be unusable, with what to do about it.

use thiserror::Error;

/// Errors returned by the solvers and by [`crate::pairing_inefficiency`].
#[derive(Debug, Clone, PartialEq, Error)]
pub enum OtError {
    /// The two point sets (or a cost matrix) have incompatible shapes.
    #[error(
        "shape mismatch: {what} (expected {expected:?}, got {got:?}); pass equal-size point sets with the same dimension"
    )]
    ShapeMismatch {
        /// What was being compared.
        what: &'static str,
        /// The expected shape.
        expected: (usize, usize),
        /// The shape that was passed.
        got: (usize, usize),
    },
    /// A problem with zero points / an empty cost matrix.
    #[error("empty input: {what} has no rows; at least one point is needed")]
    Empty {
        /// Which input was empty.
        what: &'static str,
    },
    /// A NaN or infinite value in the input.
    #[error(
        "non-finite value {value} in {what} at ({row}, {col}); remove or fix NaN/inf entries before solving"
    )]
    NonFinite {
        /// Which input holds the value.
        what: &'static str,
        /// Row index of the first offending entry.
        row: usize,
        /// Column index of the first offending entry.
        col: usize,
        /// The offending value.
        value: f64,
    },
    /// `E_OT = 0`: the two sets coincide up to a permutation, so `Delta_E = E_DT/E_OT - 1` is undefined.
    #[error(
        "E_OT = 0: the two point sets are identical up to a permutation, so Delta_E = E_DT/E_OT - 1 is undefined (E_DT = {e_dt}); compare sets that differ, or report E_DT directly"
    )]
    ZeroOptimalCost {
        /// The direct-pairing energy, which may still be non-zero.
        e_dt: f64,
    },
    /// An invalid solver parameter.
    #[error("invalid parameter {name} = {value}: {reason}")]
    InvalidParameter {
        /// Parameter name.
        name: &'static str,
        /// The value given.
        value: f64,
        /// Why it is invalid and what is allowed.
        reason: &'static str,
    },
    /// A sum or a dual potential overflowed `f64` (the inputs are finite but too large).
    #[error(
        "costs overflow f64: {what} is {value}; rescale the points or the cost matrix (e.g. divide by its largest entry) so that sums of n entries stay below {max:e}",
        max = f64::MAX
    )]
    Overflow {
        /// The quantity that overflowed.
        what: &'static str,
        /// Its (non-finite) value.
        value: f64,
    },
}
