//! The typed on-disk schema of the study: every JSON file the pipeline, `dmd reproduce` and
//! `dmd sweep` write is one of these types (Serialize *and* Deserialize), and every reader
//! parses it back into the same type, so a renamed field is a compile error or a load error
//! naming the file, never a silently empty table.
//!
//! | file | type |
//! |---|---|
//! | `<out>/<experiment>/summary.json` | [`ExperimentResult`] |
//! | `<out>/<experiment>/snapshot-*/metrics.json` | [`StudentMetrics`] |
//! | `<out>/run_info.json` | [`RunInfo`] |
//! | `<sweep>/sweep.json` | [`SweepJson`] |
//! | `<sweep>/points.csv`, `summary.csv` | [`Row`], [`Cell`] (through the `csv` crate) |
//! | `<sweep>/points/<id>/POINT.json` | [`PointDone`] |

use serde::{Deserialize, Serialize};
use std::fmt;

pub use crate::pipeline::analyze::{FitStatus, StudentMetrics, SupportSummary, TeacherFit};
pub use crate::pipeline::{ExperimentResult, SnapshotResult};
pub use crate::sweep::PointDone;
pub use crate::sweep::table::{Cell, Row, SweepJson};

/// The paper's experiments, in the report's order and the order a local reproduce starts
/// them, except that an experiment with several students of its own (mnist-snapshots) has
/// those students computed first by jobs of their own and itself runs last
/// ([`crate::reproduce::job_order`]). mnist-snapshots and mnist-gan reuse mnist-uncond's
/// teacher and its 8192-iteration student.
pub const EXPERIMENTS: [&str; 9] = [
    "chessboard-r4",
    "moons-r4",
    "gmm32-r4",
    "mlp-manifold-cond",
    "mnist-uncond",
    "mnist-cond",
    "mnist-snapshots",
    "mnist-gan",
    "imagenet64",
];

/// How one experiment of a reproduce run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExperimentOutcome {
    /// Finished.
    #[serde(rename = "done")]
    Done,
    /// Needs files the user must bring.
    #[serde(rename = "not run")]
    NotRun,
    /// Failed (its log says why).
    #[serde(rename = "failed")]
    Failed,
}

impl fmt::Display for ExperimentOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Done => "done",
            Self::NotRun => "not run",
            Self::Failed => "failed",
        })
    }
}

/// One experiment of a reproduce run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExperimentStatus {
    /// Experiment name.
    pub name: String,
    /// How it ended.
    pub status: ExperimentOutcome,
    /// Why, when not done.
    pub message: Option<String>,
    /// Wall time in this invocation, seconds.
    pub wall_s: f64,
}

/// Facts about the run written to `results/run_info.json` for the report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunInfo {
    /// Profile name.
    pub profile: String,
    /// CPU model and core count, GPU if any.
    pub hardware: String,
    /// `git rev-parse HEAD` of the checkout (with `-dirty` when modified).
    pub commit: String,
    /// Total wall time of this invocation, seconds.
    pub wall_s: f64,
    /// Per-experiment outcome.
    pub experiments: Vec<ExperimentStatus>,
}

/// Reads a JSON file of the schema back into its type; the error names the file and says
/// how to regenerate it.
pub fn read_json<T: serde::de::DeserializeOwned>(
    path: &std::path::Path,
    regenerate: &str,
) -> anyhow::Result<T> {
    use anyhow::Context;
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("{} is not valid; {regenerate}", path.display()))
}
