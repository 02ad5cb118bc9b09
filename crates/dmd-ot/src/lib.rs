//! # dmd-ot
//!
//! Optimal transport between two equal-size point clouds: squared-Euclidean cost matrices,
//! an exact linear assignment solver with an optimality certificate, log-domain Sinkhorn, and
//! the study's pairing inefficiency `Delta_E = E_DT / E_OT - 1` (paper Definition 1).
