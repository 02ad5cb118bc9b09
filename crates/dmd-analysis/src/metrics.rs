//! `metrics.json`: every measurement of one run, grouped; parts not computed are `null`.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::correlation::CorrelationReport;
use crate::distribution_fit::{FrechetReport, SlicedW2Report};
use crate::diversity::DiversityReport;
use crate::error::{AnalysisError, Result};
use crate::memorisation::MemorisationSummary;
use crate::pairing::PairingReport;

/// Displacement statistics of a run (paper Sec. 4.2.1, Figs. 6 and 11).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DisplacementSummary {
    /// Mean of `||Phi_1 - Phi_K||`.
    pub mean_teacher_one_step: f64,
    /// Mean of `||G - Phi_K||`.
    pub mean_student: f64,
    /// Fraction of seeds with `||G - Phi_K|| < ||Phi_1 - Phi_K||`.
    pub fraction_closer: f64,
    /// Correlation of `delta(z)` with `D(z)` (paper: negative). `delta(z)` contains
    /// `-||Phi_1(z) - Phi_K(z)||`, which itself grows with `D(z)`: read it beside
    /// `partner_rank_vs_distance_to_train`.
    pub delta_vs_distance_to_train: Option<CorrelationReport>,
    /// Mean partner rank ([`crate::partner_rank`]): 0 for a copy, 0.5 for a random pairing.
    #[serde(default)]
    pub mean_partner_rank: Option<f64>,
    /// Correlation of the partner rank (no `Phi_1` term) with `D(z)`: does the pairing hold
    /// less well far from the training data?
    #[serde(default)]
    pub partner_rank_vs_distance_to_train: Option<CorrelationReport>,
}

/// PCA statistics of the teacher samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PcaSummary {
    /// Explained-variance ratios of the leading components.
    pub explained_variance_ratio: Vec<f64>,
}

/// All measurements of one run, serialised to `metrics.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunMetrics {
    /// Free-form run label (experiment name, teacher snapshot, ...).
    pub label: String,
    /// Number of seeds `N`.
    pub n_samples: usize,
    /// `Delta_E` with its controls and intervals.
    pub pairing: Option<PairingReport>,
    /// Sliced Wasserstein-2 distribution fit.
    pub sliced_w2: Option<SlicedW2Report>,
    /// Frechet distances (one per feature space).
    pub frechet: Vec<FrechetReport>,
    /// Memorisation of the teacher samples against the training set.
    pub memorisation: Option<MemorisationSummary>,
    /// Displacement statistics.
    pub displacement: Option<DisplacementSummary>,
    /// PCA of the teacher samples.
    pub pca: Option<PcaSummary>,
    /// Sample diversity of student and teacher (DP-DMD Eq. 9); absent in files written before
    /// it was measured.
    #[serde(default)]
    pub diversity: Option<DiversityReport>,
}

impl RunMetrics {
    /// Pretty JSON text.
    pub fn to_json(&self) -> Result<String> {
        Ok(serde_json::to_string_pretty(self)?)
    }

    /// Parses JSON text.
    pub fn from_json(text: &str) -> Result<Self> {
        Ok(serde_json::from_str(text)?)
    }

    /// Writes `metrics.json` atomically (a temporary file renamed into place).
    pub fn write(&self, path: &Path) -> Result<()> {
        let io = |source| AnalysisError::Io {
            path: path.display().to_string(),
            source,
        };
        dmd_io::write_atomic(path, self.to_json()?.as_bytes()).map_err(|e| io(e.into_io()))
    }

    /// Reads a `metrics.json`.
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| AnalysisError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_json(&text)
    }
}
