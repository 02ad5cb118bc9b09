//! # dmd-analysis
//!
//! Everything the study measures about a distilled student, on `ndarray` sample sets:
//! Delta_E and its controls, nearest-neighbour memorisation ratios, the relative displacement
//! `delta(z)` against the distance to the training set `D(z)`, PCA projections, and
//! distribution-fit measures (sliced Wasserstein-2, Frechet distance).
