//! # dmd-analysis
//!
//! Everything the study measures about a distilled student, on `ndarray` sample sets
//! (rows = samples, f32): Delta_E and its controls, nearest-neighbour memorisation ratios, the
//! relative displacement `delta(z)` against the distance to the training set `D(z)`, PCA
//! projections, and distribution-fit measures (sliced Wasserstein-2, Frechet distance).
//! No torch; dense linear algebra is pure Rust (`gemm` for the neighbour search, `faer` for
//! eigendecompositions), so nothing has to be installed.
//!
//! | measurement | module | paper |
//! |---|---|---|
//! | `Delta_E`, copy score, controls, bootstrap CIs (the formula: [`dmd_ot::pairing_inefficiency`], [`dmd_ot::pairing_inefficiency_from_cost`]) | [`pairing`] | Def. 1, Eq. 6 |
//! | nearest/second-nearest training neighbours, `D(z)` | [`nn`] | Sec. 4.1, 4.2.1 |
//! | memorisation ratio `r(y) = d1 / d2` | [`memorisation`] | Sec. 4.1, Figs. 5, 12 |
//! | `delta(z)`, displacement pairs | [`displacement`] | Sec. 4.2.1, Figs. 6, 11 |
//! | Pearson / Spearman with p-values | [`correlation`] | Fig. 6 |
//! | PCA (faer symmetric eigendecomposition) and triplet projection | [`pca`] | Figs. 1, 10 |
//! | heatmap cost matrix + optimal assignment | [`heatmap`] | Figs. 3, 7 |
//! | sliced W2 (with noise floor), Frechet distance | [`distribution_fit`] | beside every `Delta_E` |
//! | sample diversity (1 - mean pairwise cosine), RMS pairwise distance | [`diversity`](mod@diversity) | DP-DMD Eq. 9 |
//! | remapping ruler `G_theta(z) = Phi_K(R_theta z)`, equivalent angle from `E_DT / E_rand` | [`ruler`] | positive control for Def. 1 |
//! | fresh-seed blocks, `Delta_E` against `N` | [`fresh_seeds`] | Def. 1 at finite `N` |
//! | rank of a seed's own partner in its cost row (exact per-seed p-values) | [`partner_rank`] | Fig. 6 without the `Phi_1` term |
//! | everything of one run as `metrics.json` | [`metrics`] | |
//!
//! ```
//! use dmd_analysis::{NnConfig, nearest_neighbours, memorisation_ratios};
//! use ndarray::array;
//!
//! let train = array![[0.0f32, 0.0], [1.0, 0.0], [0.0, 3.0]];
//! let queries = array![[0.1f32, 0.0]];
//! let nn = nearest_neighbours(queries.view(), train.view(), &NnConfig::default()).unwrap();
//! assert_eq!((nn.nearest[0], nn.second[0]), (0, 1));
//! let r = memorisation_ratios(&nn);
//! assert!((r[0] - 0.1 / 0.9).abs() < 1e-6);
//! ```

pub mod bootstrap;
pub mod correlation;
pub mod displacement;
pub mod distribution_fit;
pub mod diversity;
pub mod error;
pub mod fresh_seeds;
pub mod heatmap;
pub mod linalg;
mod matmul;
pub mod memorisation;
pub mod metrics;
pub mod nn;
pub mod pairing;
pub mod partner_rank;
pub mod pca;
pub mod replicates;
pub mod ruler;
pub mod special;

pub use bootstrap::{
    BootstrapConfig, BootstrapInterval, bootstrap_interval, bootstrap_intervals,
    bootstrap_intervals_around,
};
pub use correlation::{Correlation, CorrelationReport, pearson, spearman};
pub use displacement::{DisplacementPairs, relative_displacement, row_distances};
pub use distribution_fit::{
    FrechetReport, GaussianFit, SlicedW2Report, frechet_distance, frechet_distance_from_moments,
    frechet_distance_pca, sliced_wasserstein2,
};
pub use diversity::{Diversity, DiversityReport, diversity};
pub use error::{AnalysisError, Result};
pub use fresh_seeds::{Extrapolation, FiniteNPoint, block_pairings, extrapolate, finite_n_curve};
pub use heatmap::DistanceHeatmap;
pub use memorisation::{
    DEFAULT_MEMORISATION_THRESHOLD, MemorisationSummary, memorisation_ratio, memorisation_ratios,
    memorised_fraction,
};
pub use metrics::{DisplacementSummary, PcaSummary, RunMetrics};
pub use nn::{
    MAX_CANDIDATES, NeighbourResult, NnConfig, nearest_neighbours, nearest_neighbours_brute_force,
    nearest_neighbours_chunked,
};
pub use pairing::{
    DeltaEEstimate, PairingReport, PairingSets, delta_e, delta_e_labelled, permute_rows,
};
pub use partner_rank::{PartnerRanks, partner_ranks};
pub use pca::{Pca, TripletProjection};
pub use replicates::{ReplicateSummary, median, replicate_summary, student_t_quantile};
pub use ruler::{EquivalentAngle, Ruler, RulerPoint, dt_ratio, rotate_noise};
