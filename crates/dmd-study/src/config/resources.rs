//! What a run will need before it starts: an estimate of its peak memory, checked against the
//! machine's, so a config that cannot fit fails in `dmd check` (and before any compute in
//! `dmd run`) with a line naming the key to lower, instead of an abort hours later.

use super::{ConfigError, EvalPlan, ExperimentConfig};
use std::path::Path;

/// The largest allocations of one experiment, in bytes (f64 so that absurd configs do not
/// overflow the estimate).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MemoryEstimate {
    /// The training set as f32 rows (a 16 MiB window for uint8 `.npy` sets, read from disk).
    pub training_set: f64,
    /// The teacher and student sample sets, with the copies the analysis slices out.
    pub sample_sets: f64,
    /// The dense `N x N` f64 cost matrices of the exact assignment (the estimate's, and a
    /// bootstrap resample's) plus the solver's working arrays.
    pub assignment: f64,
}

impl MemoryEstimate {
    /// The estimate for `cfg`.
    pub fn of(cfg: &ExperimentConfig) -> Self {
        let e = &cfg.eval;
        let d = cfg.data.dim() as f64;
        let plan = EvalPlan::new(e, EvalPlan::drawn(e));
        let drawn = plan.n_drawn as f64;
        let n = e.n_samples as f64;
        // The largest N one assignment is solved at: the claims' N or the curve's largest.
        let n_max = plan.n_curve.last().map_or(n, |&c| n.max(c as f64));
        let n_train = cfg.n_train.unwrap_or(60_000) as f64;
        // uint8 .npy sets stay on disk (read by row; the nearest-neighbour search holds 16 MiB
        // of them at a time); everything else is f32 in memory.
        let streamed = matches!(&cfg.data, dmd_data::DatasetSpec::Npy(npy)
            if npy.scale == dmd_data::NpyScale::Uint8);
        Self {
            training_set: if streamed {
                f64::from(16u32 << 20)
            } else {
                4.0 * n_train * d
            },
            // z, Phi_1, Phi_K, G over all drawn seeds; Phi_fine, Phi_K(z') and the ruler's
            // students over N seeds; the analysis's copies of the first N rows of five sets.
            sample_sets: 4.0 * d * (4.0 * drawn + (7.0 + e.ruler_angles.len() as f64) * n),
            // At the claims' N the f64 cost matrix and a bootstrap resample's; at the curve's
            // largest N one matrix (its blocks are scored one at a time); plus the solver's
            // working arrays.
            assignment: (16.0 * n * n).max(8.0 * n_max * n_max) + 64.0 * n_max,
        }
    }

    /// The sum, in bytes.
    pub fn total(&self) -> f64 {
        self.training_set + self.sample_sets + self.assignment
    }

    /// Checks the estimate against `available` bytes: an error naming the key that drives the
    /// largest term when it does not fit.
    pub fn check(
        &self,
        file: &Path,
        cfg: &ExperimentConfig,
        available: f64,
    ) -> Result<(), ConfigError> {
        if self.total() <= available {
            return Ok(());
        }
        let gib = |b: f64| b / (1u64 << 30) as f64;
        let e = &cfg.eval;
        let curve_max = EvalPlan::new(e, EvalPlan::drawn(e))
            .n_curve
            .last()
            .copied()
            .unwrap_or(0);
        let (key, what) = if self.assignment >= self.sample_sets.max(self.training_set) {
            let (key, n) = if (curve_max as f64).powi(2) > 2.0 * (e.n_samples as f64).powi(2) {
                ("eval.n_curve", curve_max)
            } else {
                ("eval.n_samples", e.n_samples)
            };
            (
                key,
                format!(
                    "the N x N cost matrices of Delta_E at N = {n} need {:.1} GiB",
                    gib(self.assignment)
                ),
            )
        } else if self.sample_sets >= self.training_set {
            (
                if cfg.eval.n_pca > cfg.eval.n_samples {
                    "eval.n_pca"
                } else {
                    "eval.n_samples"
                },
                format!(
                    "the sample sets ({} seeds, eval.n_pca = {}) need {:.1} GiB",
                    cfg.eval.n_samples,
                    cfg.eval.n_pca,
                    gib(self.sample_sets)
                ),
            )
        } else {
            (
                "n_train",
                format!("the training set needs {:.1} GiB", gib(self.training_set)),
            )
        };
        Err(ConfigError::Key {
            file: file.to_path_buf(),
            key: key.into(),
            message: format!(
                "{what} ({:.1} GiB in all) but this machine has {:.1} GiB; lower `{key}`",
                gib(self.total()),
                gib(available)
            ),
        })
    }
}

/// The machine's memory in bytes (`MemTotal` of `/proc/meminfo`), `None` where unknown.
pub fn machine_memory() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The chessboard config with `eval.n_samples = n`, set after loading (loading itself
    /// refuses the sizes that do not fit).
    fn cfg(n: usize) -> ExperimentConfig {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs");
        let mut c = ExperimentConfig::load(&root.join("chessboard-r4.toml"), "cpu", &[]).unwrap();
        c.eval.n_samples = n;
        c
    }

    #[test]
    fn the_cost_matrix_dominates_at_large_n_and_is_refused() {
        let gib = (1u64 << 30) as f64;
        let small = MemoryEstimate::of(&cfg(1000));
        assert!(
            small.total() < 0.6 * gib,
            "one 8000 x 8000 matrix for the N-curve: {small:?}"
        );
        assert!(
            small
                .check(Path::new("c.toml"), &cfg(1000), 24.0 * gib)
                .is_ok()
        );
        let big = cfg(200_000);
        let est = MemoryEstimate::of(&big);
        assert!(est.assignment > 500.0 * gib, "{est:?}");
        let err = est
            .check(Path::new("c.toml"), &big, 24.0 * gib)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("key `eval.n_samples`") && err.contains("lower"),
            "{err}"
        );
        // Absurd values stay finite.
        assert!(
            MemoryEstimate::of(&cfg(1_000_000_000_000))
                .total()
                .is_finite()
        );
    }
}
