//! `[eval]`: how teacher and student samples are drawn and measured.

use dmd_nets::sampler::Solver;
use serde::{Deserialize, Serialize};

/// Sample counts and measurement settings (paper Section 3 and Appendix E).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EvalConfig {
    /// Seed of the noise `z` (and of the class labels of conditional students).
    pub seed: u64,
    /// Seeds `z_1..z_N` for Delta_E (paper: N = 1000).
    pub n_samples: usize,
    /// Samples for the PCA triplet figure (paper: 2000).
    pub n_pca: usize,
    /// Samples in the distance heatmap (paper: 100).
    pub n_heatmap: usize,
    /// The teacher's reference step count K of `Phi_K` (paper: 8).
    pub reference_steps: usize,
    /// A finer reference `Phi_K'` reported beside `Phi_K` (Euler-8 is blurry on toys).
    pub fine_steps: usize,
    /// ODE solver of `Phi_K`.
    pub solver: Solver,
    /// Bootstrap resamples for the confidence intervals of Delta_E.
    pub bootstrap: usize,
    /// Random directions of the sliced Wasserstein-2 distance.
    pub sw_projections: usize,
    /// Memorisation threshold on r(y) = d1/d2 (paper: 1/3).
    pub memorisation_threshold: f64,
    /// Teacher samples checked for memorisation against the training set.
    pub n_memorisation: usize,
    /// Rows per chunk when sampling (bounds memory).
    pub chunk: usize,
    /// A student counts as converged (and its Delta_E as a copying/remapping verdict) when the
    /// remaining distribution gap `(SW2(G, Phi_K) - floor) / (SW2(Phi_1, Phi_K) - floor)` is at
    /// most this fraction.
    pub fit_gap_max: f64,
    /// MNIST only: epochs of the feature classifier behind the classifier Frechet distance.
    pub classifier_epochs: usize,
    /// MNIST only: training images of the classifier (omit for all 60,000).
    pub classifier_train_size: Option<usize>,
    /// Independent sets of `n_samples` fresh seeds (R) behind the pairing measures' intervals
    /// and the verdict: `n_samples x replicates` seeds are drawn and split into R disjoint
    /// blocks, each a full replicate of the measurement.
    pub replicates: usize,
    /// Seed counts `N` of the finite-N curve (`Delta_E` and the copy score against `N`, over
    /// the same drawn seeds split into blocks); counts above the seeds drawn are skipped.
    pub n_curve: Vec<usize>,
    /// Angles `theta` (radians, in `(0, pi]`) of the remapping ruler: students
    /// `Phi_K(R_theta z)` with the teacher's exact distribution and a known remapping
    /// (`theta = 0`, an exact copy, is always on the ruler).
    pub ruler_angles: Vec<f64>,
    /// Points of the pairing-over-training trajectory: the student is measured on its panel
    /// (`trajectory_seeds`) every `distill.iterations / trajectory_points` iterations (and at
    /// 0 and at the end) into its stage's `trajectory.jsonl`; 0 turns it off.
    pub trajectory_points: u64,
    /// Seeds of the trajectory's panel, the first of the claims' `n_samples`; 0 means all
    /// `n_samples`. Each point samples the student on every panel seed, so on a short run of
    /// a large network a smaller panel keeps the probe's share of the wall time small.
    pub trajectory_seeds: usize,
}

impl Default for EvalConfig {
    fn default() -> Self {
        Self {
            seed: 0,
            n_samples: 1000,
            n_pca: 2000,
            n_heatmap: 100,
            reference_steps: 8,
            fine_steps: 32,
            solver: Solver::Euler,
            bootstrap: 200,
            sw_projections: 256,
            memorisation_threshold: 1.0 / 3.0,
            n_memorisation: 2000,
            chunk: 500,
            fit_gap_max: 0.2,
            classifier_epochs: 2,
            classifier_train_size: None,
            replicates: 10,
            trajectory_points: 20,
            trajectory_seeds: 0,
            n_curve: vec![250, 500, 1000, 2000, 4000, 8000],
            ruler_angles: vec![
                0.1,
                0.2,
                0.4,
                0.6,
                0.8,
                1.0,
                1.2,
                std::f64::consts::FRAC_PI_2,
            ],
        }
    }
}

/// Every sample count of one evaluation, computed once from `[eval]` and the rows available:
/// the only place a count is clamped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvalPlan {
    /// Seeds drawn for the teacher and student sample sets:
    /// `max(n_samples x replicates, n_pca)`.
    pub n_drawn: usize,
    /// Fresh-seed blocks of `n_pairing` seeds: `min(replicates, rows / n_pairing)`.
    pub replicates: usize,
    /// The finite-N curve's counts that fit in the rows, ascending.
    pub n_curve: Vec<usize>,
    /// Independent seeds `z'` for the noise floors: `n_samples`.
    pub n_indep: usize,
    /// Seeds of Delta_E and the fit: `min(n_samples, rows)`.
    pub n_pairing: usize,
    /// Teacher samples checked for memorisation: `min(n_memorisation, n_pairing)` (the
    /// default 2000 is capped at `n_samples`).
    pub n_memorisation: usize,
    /// Samples of the PCA fit and triplet figure: `min(n_pca, rows)`.
    pub n_pca: usize,
    /// Samples in the distance heatmap: `min(n_heatmap, rows)`, at least 1.
    pub n_heatmap: usize,
    /// Seeds of the pairing-over-training panel: `trajectory_seeds` (0: all), at most
    /// `n_pairing`.
    pub n_trajectory: usize,
}

impl EvalPlan {
    /// The plan for sample sets of `rows` rows (the drawn sets have [`EvalPlan::drawn`] rows).
    pub fn new(e: &EvalConfig, rows: usize) -> Self {
        let n_pairing = e.n_samples.min(rows);
        let mut n_curve: Vec<usize> = e
            .n_curve
            .iter()
            .copied()
            .filter(|&n| n >= 2 && n <= rows)
            .collect();
        n_curve.sort_unstable();
        n_curve.dedup();
        Self {
            n_drawn: Self::drawn(e),
            replicates: e.replicates.min(rows / n_pairing.max(1)).max(1),
            n_curve,
            n_indep: e.n_samples,
            n_pairing,
            n_memorisation: e.n_memorisation.min(n_pairing),
            n_pca: e.n_pca.min(rows),
            n_heatmap: e.n_heatmap.min(rows).max(1),
            n_trajectory: match e.trajectory_seeds {
                0 => n_pairing,
                n => n.min(n_pairing),
            },
        }
    }

    /// Seeds drawn per sample set: `max(n_samples x replicates, n_pca)` (saturating).
    pub fn drawn(e: &EvalConfig) -> usize {
        e.n_samples.saturating_mul(e.replicates).max(e.n_pca)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_clamps_every_count_once() {
        let e = EvalConfig::default();
        let p = EvalPlan::new(&e, EvalPlan::drawn(&e));
        assert_eq!(p.n_drawn, 10_000, "R = 10 blocks of N = 1000");
        assert_eq!(p.replicates, 10);
        assert_eq!(p.n_curve, [250, 500, 1000, 2000, 4000, 8000]);
        assert_eq!(p.n_pairing, 1000);
        assert_eq!(
            p.n_memorisation, 1000,
            "n_memorisation is capped at n_samples"
        );
        assert_eq!(p.n_pca, 2000);
        assert_eq!(p.n_heatmap, 100);
        assert_eq!(p.n_trajectory, 1000, "the panel is all N seeds by default");
        let panel = EvalConfig {
            trajectory_seeds: 250,
            ..EvalConfig::default()
        };
        assert_eq!(EvalPlan::new(&panel, 10_000).n_trajectory, 250);
        assert_eq!(EvalPlan::new(&panel, 100).n_trajectory, 100);
        let small = EvalPlan::new(&e, 50);
        assert_eq!(
            (small.n_pairing, small.n_pca, small.n_heatmap),
            (50, 50, 50)
        );
        assert_eq!(small.replicates, 1);
        assert!(small.n_curve.is_empty());
        let part = EvalPlan::new(&e, 4500);
        assert_eq!((part.replicates, part.n_curve.len()), (4, 5));
    }
}
