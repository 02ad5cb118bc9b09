//! # dmd-ot
//!
//! Optimal transport between two equal-size point clouds: squared-Euclidean cost matrices,
//! an exact linear assignment solver with an optimality certificate, log-domain Sinkhorn, and
//! the study's pairing inefficiency `Delta_E = E_DT / E_OT - 1` (paper Definition 1).

mod assignment;
mod auction;
mod cost;
mod error;
mod jv;
mod pairing;
mod simd;
mod sinkhorn;

pub use assignment::{Assignment, Certificate, Method, solve_assignment, solve_assignment_with};
pub use cost::{DIRECT_MAX_D, sq_euclidean_cost, try_sq_euclidean_cost};
pub use error::OtError;
pub use pairing::{PairingInefficiency, pairing_inefficiency};
pub use sinkhorn::{SinkhornConfig, SinkhornResult, sinkhorn};
