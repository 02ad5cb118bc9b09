//! Gathering a sweep: one row per point (and teacher snapshot) from the points' `metrics.json`,
//! a summary per grid cell with Student-t intervals over the replicate axis, `points.csv`,
//! `summary.csv`, `sweep.json`, band figures and `SWEEP.md`.
//!
//! A point counts only when its student converged (the distribution-fit verdict of the
//! pipeline) and its teacher learned the data: on toy data the teacher's fine samples `Phi_32`
//! land on the support at least [`TEACHER_SUPPORT_MIN`] times as often as the training data
//! itself, and on any data the sliced W2 distance of its samples to the training data is at
//! most [`TEACHER_FIT_MAX`] times the data's own sampling floor. Points that do not count are
//! listed and drawn hollow, never averaged in.

use anyhow::{Context, Result};
use dmd_analysis::{ReplicateSummary, replicate_summary};
use dmd_figures::{Axes, BandOptions, BandPoint, BandSeries, band_plot, save_png};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::{Point, SweepConfig};
use crate::config::ExperimentConfig;
use crate::gates::{FitVerdict, LEVEL, TEACHER_FIT_MAX, TEACHER_SUPPORT_MIN, Verdict};
use crate::schema::{ExperimentResult, StudentMetrics, read_json};

/// One finished point and teacher snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// Point name.
    pub point: String,
    /// `(axis, label)` per axis.
    pub coords: Vec<(String, String)>,
    /// Teacher snapshot the student was distilled from.
    pub snapshot: u64,
    /// Ambient dimension `D` of the point's data (flattened sample size).
    pub ambient_dim: usize,
    /// Intrinsic dimension `k` of the point's data, where known by construction
    /// ([`dmd_data::DatasetSpec::intrinsic_dim`]).
    pub intrinsic_dim: Option<usize>,
    /// `Delta_E(Phi_K, G)`.
    pub delta_e: f64,
    /// Its bootstrap interval over samples (lower, upper).
    pub delta_e_bootstrap: Option<(f64, f64)>,
    /// `Delta_E(Phi_fine, G)`.
    pub delta_e_fine: Option<f64>,
    /// Copy score against `Phi_K` (1 = copying, 0 = random pairing).
    pub copy_score: f64,
    /// Copy score against the fine reference.
    pub copy_score_fine: Option<f64>,
    /// `Delta_E` of the fully remapped reference (the scale of Delta_E at this dimension).
    pub delta_e_fully_remapped: Option<f64>,
    /// Distribution-fit verdict: `converged`, `not converged` or `no gap`.
    pub fit_status: FitVerdict,
    /// Fraction of the initial gap the student left.
    pub gap_remaining: f64,
    /// Teacher `Phi_32` on-support fraction over the data's (toy data only; strict: on the
    /// data plane within the off-plane tolerance).
    pub teacher_support_ratio: Option<f64>,
    /// The same with the off-plane part ignored (projection onto the data plane on the support).
    pub teacher_projected_support_ratio: Option<f64>,
    /// The teacher's fit to the data, any data: `SW2(Phi_fine, data) / SW2(data, data')`
    /// ([`crate::pipeline::analyze::TeacherFit::ratio`]; about 1 for a teacher that has learnt
    /// the data).
    pub teacher_fit_ratio: Option<f64>,
    /// Teacher precision: median nearest-training-point distance of its samples over the
    /// training points' own ([`crate::pipeline::analyze::TeacherFit::nn_ratio`]).
    pub teacher_nn_ratio: Option<f64>,
    /// Whether the teacher passes the quality gates (support on toy data, sliced-W2 fit on any
    /// data; see the module docs).
    pub teacher_ok: bool,
    /// Student diversity `1 - mean pairwise cosine` (DP-DMD Eq. 9, pixel features centred on
    /// the teacher mean).
    pub diversity: Option<f64>,
    /// Student diversity over the teacher's ([`dmd_analysis::DiversityReport::relative`]).
    pub diversity_relative: Option<f64>,
    /// RMS pairwise distance of the student's samples over the teacher's: the spread that the
    /// cosine score (nearly constant for the teacher itself, ~1 + 1/(N-1)) does not see.
    pub spread_ratio: Option<f64>,
    /// Whether the point counts (see the module docs).
    pub counts: bool,
    /// The point's fresh-seed evidence (absent in rows of an older analysis).
    #[serde(default)]
    pub evidence: Option<RowEvidence>,
    /// The point's verdict ([`crate::gates::student_verdict`]).
    #[serde(default = "not_measured")]
    pub verdict: Verdict,
}

fn not_measured() -> Verdict {
    Verdict::NotMeasured
}

/// A point's fresh-seed evidence: `(mean, lower, upper)` over its blocks.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RowEvidence {
    /// Copy score (within class on conditional data).
    pub copy_score: (f64, f64, f64),
    /// Equivalent angle on the point's remapping ruler (radians; bounds as
    /// [`dmd_analysis::EquivalentAngle::lower_bound`] / `upper_bound`).
    pub angle: (f64, f64, f64),
    /// Whether the student moved from `Phi_1`.
    pub moved: bool,
}

/// One grid cell: the rows of its replicates, summarised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    /// `(axis, label)` of the non-replicate axes.
    pub coords: Vec<(String, String)>,
    /// Teacher snapshot.
    pub snapshot: u64,
    /// Replicates found.
    pub n: usize,
    /// Replicates that count.
    pub n_counted: usize,
    /// `Delta_E(Phi_K, G)` over the counted replicates (over all when none counts).
    pub delta_e: Option<ReplicateSummary>,
    /// `Delta_E(Phi_fine, G)`.
    pub delta_e_fine: Option<ReplicateSummary>,
    /// Copy score against `Phi_K`.
    pub copy_score: Option<ReplicateSummary>,
    /// Copy score against the fine reference.
    pub copy_score_fine: Option<ReplicateSummary>,
    /// Student diversity (DP-DMD Eq. 9).
    pub diversity: Option<ReplicateSummary>,
    /// Student diversity over its teacher's.
    pub diversity_relative: Option<ReplicateSummary>,
    /// Student RMS pairwise distance over its teacher's.
    pub spread_ratio: Option<ReplicateSummary>,
    /// Mean teacher support ratio (toy data).
    pub teacher_support_ratio: Option<f64>,
    /// Mean teacher fit ratio `SW2(Phi_fine, data) / SW2(data, data')` over all replicates.
    pub teacher_fit_ratio: Option<f64>,
    /// Mean teacher precision ratio (nearest-training-point distances) over all replicates.
    pub teacher_nn_ratio: Option<f64>,
    /// The cell's verdict ([`crate::gates::pairing_verdict`] on intervals over its counted
    /// training seeds; one counted seed: its fresh-seed intervals).
    #[serde(default = "not_measured")]
    pub verdict: Verdict,
}

/// Everything `sweep.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepJson {
    /// Sweep name.
    pub name: String,
    /// What the sweep measures.
    pub description: String,
    /// Profile the points ran at.
    pub profile: String,
    /// The experiment config varied (as written in the sweep file).
    pub experiment: PathBuf,
    /// The replicate axis.
    pub replicate_axis: String,
    /// Confidence level of the intervals.
    pub level: f64,
    /// [`TEACHER_SUPPORT_MIN`] at gathering time.
    pub teacher_support_min: f64,
    /// [`TEACHER_FIT_MAX`] at gathering time.
    pub teacher_fit_max: f64,
    /// Points not finished when gathered.
    pub missing_points: Vec<String>,
    /// One row per finished point and snapshot.
    pub rows: Vec<Row>,
    /// One summary per grid cell.
    pub cells: Vec<Cell>,
    /// Where Delta_E crosses 1, in words.
    pub transitions: Vec<String>,
}

/// Reads the finished points and writes the table, figures and `SWEEP.md`; returns the path
/// of `SWEEP.md`.
pub fn gather(
    sweep: &SweepConfig,
    points: &[Point],
    configs: &[ExperimentConfig],
    out: &Path,
    profile: &str,
) -> Result<PathBuf> {
    let mut rows = Vec::new();
    let mut missing = Vec::new();
    for (p, cfg) in points.iter().zip(configs) {
        let dir = out.join("points").join(&p.id).join(&cfg.name);
        match read_point(p, cfg, &dir)? {
            Some(r) => rows.extend(r),
            None => missing.push(p.id.clone()),
        }
    }
    let cells = summarise(sweep, &rows);
    let fig_dir = out.join("figures");
    std::fs::create_dir_all(&fig_dir)?;
    let lay = layout(sweep, &cells);
    let mut figures = draw(sweep, &cells, &lay, &fig_dir)?;
    let traj = trajectories::read(sweep, points, configs, out)?;
    figures.extend(trajectories::draw(sweep, &traj, &fig_dir)?);
    let transitions = transitions(&cells, &lay);
    write_csv(sweep, &rows, &cells, out)?;
    crate::store::write_json_atomic(
        &out.join("sweep.json"),
        &SweepJson {
            name: sweep.name.clone(),
            description: sweep.description.clone(),
            profile: profile.to_string(),
            experiment: sweep.experiment.clone(),
            replicate_axis: sweep.replicate_axis.clone(),
            level: LEVEL,
            teacher_support_min: TEACHER_SUPPORT_MIN,
            teacher_fit_max: TEACHER_FIT_MAX,
            missing_points: missing.clone(),
            rows: rows.clone(),
            cells: cells.clone(),
            transitions: transitions.clone(),
        },
    )?;
    let mut md = markdown(
        sweep,
        profile,
        &rows,
        &cells,
        &missing,
        &figures,
        &transitions,
    );
    md.push_str(&trajectories::markdown(sweep, &traj));
    let path = out.join("SWEEP.md");
    crate::store::write_atomic(&path, md.as_bytes())?;
    Ok(path)
}

mod cells;
mod crossing;
mod csv_out;
mod layout;
mod markdown;
mod plots;
mod rows;
mod trajectories;

pub(crate) use cells::cell_verdict;
use cells::summarise;
use crossing::transitions;
use csv_out::write_csv;
pub use csv_out::write_csv_file;
use layout::layout;
use markdown::markdown;
use plots::draw;
use rows::read_point;
