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
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::{Point, SweepConfig};
use crate::config::ExperimentConfig;
use crate::pipeline::ExperimentResult;
use crate::pipeline::analyze::StudentMetrics;

/// Teacher quality gate on toy data: `on_support(Phi_32) >= TEACHER_SUPPORT_MIN *
/// on_support(data)`.
pub const TEACHER_SUPPORT_MIN: f64 = 0.75;

/// Teacher quality gate on any data: `SW2(Phi_fine, data)` at most this many times the floor
/// `SW2(data, data')` ([`crate::pipeline::analyze::TeacherFit::ratio`]). Learnt teachers score
/// 1.0-1.6 in our `cpu` runs (MNIST 1.2-1.6, the image manifolds 1.0-1.6, the vector manifold
/// up to D = 64 1.1-2.0); the MLP in R^256 that failed to learn the vector manifold scores
/// 6-9. The nearest-neighbour precision ratio is reported beside it but not gated on: it grows
/// with the data's density (60,000 points on a 2-D manifold sit so close together that a
/// teacher a small absolute distance off the manifold scores 6).
pub const TEACHER_FIT_MAX: f64 = 2.0;

/// Confidence level of the intervals over seeds.
pub const LEVEL: f64 = 0.95;

/// One finished point and teacher snapshot.
#[derive(Debug, Clone, Serialize)]
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
    pub fit_status: String,
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
}

/// One grid cell: the rows of its replicates, summarised.
#[derive(Debug, Clone, Serialize)]
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
}

/// Everything `sweep.json` holds.
#[derive(Debug, Serialize)]
struct SweepJson<'a> {
    name: &'a str,
    description: &'a str,
    profile: &'a str,
    experiment: &'a Path,
    replicate_axis: &'a str,
    level: f64,
    teacher_support_min: f64,
    teacher_fit_max: f64,
    missing_points: Vec<String>,
    rows: &'a [Row],
    cells: &'a [Cell],
    transitions: &'a [String],
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
    let figures = draw(sweep, &cells, &lay, &fig_dir)?;
    let transitions = transitions(&cells, &lay);
    write_csv(sweep, &rows, &cells, out)?;
    crate::store::write_json_atomic(
        &out.join("sweep.json"),
        &SweepJson {
            name: &sweep.name,
            description: &sweep.description,
            profile,
            experiment: &sweep.experiment,
            replicate_axis: &sweep.replicate_axis,
            level: LEVEL,
            teacher_support_min: TEACHER_SUPPORT_MIN,
            teacher_fit_max: TEACHER_FIT_MAX,
            missing_points: missing.clone(),
            rows: &rows,
            cells: &cells,
            transitions: &transitions,
        },
    )?;
    let md = markdown(
        sweep,
        profile,
        &rows,
        &cells,
        &missing,
        &figures,
        &transitions,
    );
    let path = out.join("SWEEP.md");
    crate::store::write_atomic(&path, md.as_bytes())?;
    Ok(path)
}

/// The rows of one point, `None` when it has not finished.
fn read_point(p: &Point, cfg: &ExperimentConfig, dir: &Path) -> Result<Option<Vec<Row>>> {
    let summary_path = dir.join("summary.json");
    let Ok(text) = std::fs::read_to_string(&summary_path) else {
        return Ok(None);
    };
    let summary: ExperimentResult = serde_json::from_str(&text)
        .with_context(|| format!("{} is not valid; rerun the sweep", summary_path.display()))?;
    let mut rows = Vec::new();
    for s in &summary.snapshots {
        let path = dir.join(&s.metrics);
        let m: StudentMetrics = serde_json::from_str(
            &std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?,
        )
        .with_context(|| format!("{} is not valid; rerun the sweep", path.display()))?;
        let pairing = m.pairing();
        let teacher_support_ratio = m
            .support
            .as_ref()
            .map(|s| s.teacher_fine.fraction_on_support / s.data.fraction_on_support.max(1e-12));
        let teacher_projected_support_ratio = m.support.as_ref().map(|s| {
            s.teacher_fine.fraction_projected_on_support
                / s.data.fraction_projected_on_support.max(1e-12)
        });
        let teacher_fit_ratio = m.teacher_fit.as_ref().map(|t| t.ratio);
        let teacher_ok = teacher_support_ratio.is_none_or(|r| r >= TEACHER_SUPPORT_MIN)
            && teacher_fit_ratio.is_none_or(|r| r <= TEACHER_FIT_MAX);
        rows.push(Row {
            point: p.id.clone(),
            coords: p.coords.clone(),
            snapshot: s.snapshot,
            ambient_dim: cfg.data.dim(),
            intrinsic_dim: cfg.data.intrinsic_dim(),
            delta_e: pairing.student.delta_e,
            delta_e_bootstrap: pairing
                .student
                .delta_e_interval
                .as_ref()
                .map(|i| (i.lower, i.upper)),
            delta_e_fine: pairing.student_vs_fine.as_ref().map(|d| d.delta_e),
            copy_score: pairing.student.copy_score,
            copy_score_fine: pairing.student_vs_fine.as_ref().map(|d| d.copy_score),
            delta_e_fully_remapped: pairing.fully_remapped.as_ref().map(|d| d.delta_e),
            fit_status: m.fit.status.clone(),
            gap_remaining: m.fit.gap_remaining,
            teacher_support_ratio,
            teacher_projected_support_ratio,
            teacher_fit_ratio,
            teacher_nn_ratio: m.teacher_fit.as_ref().and_then(|t| t.nn_ratio),
            teacher_ok,
            diversity: m.metrics.diversity.as_ref().map(|d| d.student.cosine),
            diversity_relative: m.metrics.diversity.as_ref().map(|d| d.relative),
            spread_ratio: m.metrics.diversity.as_ref().map(|d| d.spread_ratio()),
            counts: m.fit.converged && teacher_ok,
        });
    }
    Ok(Some(rows))
}

/// The coordinates of a row without the replicate axis.
fn factor_coords(sweep: &SweepConfig, coords: &[(String, String)]) -> Vec<(String, String)> {
    coords
        .iter()
        .filter(|(a, _)| *a != sweep.replicate_axis)
        .cloned()
        .collect()
}

/// Groups rows by (factor coordinates, snapshot), in the order of the grid.
fn summarise(sweep: &SweepConfig, rows: &[Row]) -> Vec<Cell> {
    let mut order: Vec<(Vec<(String, String)>, u64)> = Vec::new();
    let mut groups: BTreeMap<usize, Vec<&Row>> = BTreeMap::new();
    for r in rows {
        let key = (factor_coords(sweep, &r.coords), r.snapshot);
        let i = order.iter().position(|k| *k == key).unwrap_or_else(|| {
            order.push(key.clone());
            order.len() - 1
        });
        groups.entry(i).or_default().push(r);
    }
    order
        .into_iter()
        .enumerate()
        .map(|(i, (coords, snapshot))| {
            let all = &groups[&i];
            let counted: Vec<&Row> = all.iter().copied().filter(|r| r.counts).collect();
            let use_rows = if counted.is_empty() {
                all.clone()
            } else {
                counted.clone()
            };
            let summ = |f: &dyn Fn(&Row) -> Option<f64>| {
                let v: Vec<f64> = use_rows.iter().filter_map(|r| f(r)).collect();
                replicate_summary(&v, LEVEL)
            };
            let mean_of = |f: &dyn Fn(&Row) -> Option<f64>| {
                let v: Vec<f64> = all.iter().filter_map(|r| f(r)).collect();
                (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
            };
            Cell {
                coords,
                snapshot,
                n: all.len(),
                n_counted: counted.len(),
                delta_e: summ(&|r| Some(r.delta_e)),
                delta_e_fine: summ(&|r| r.delta_e_fine),
                copy_score: summ(&|r| Some(r.copy_score)),
                copy_score_fine: summ(&|r| r.copy_score_fine),
                diversity: summ(&|r| r.diversity),
                diversity_relative: summ(&|r| r.diversity_relative),
                spread_ratio: summ(&|r| r.spread_ratio),
                teacher_support_ratio: mean_of(&|r| r.teacher_support_ratio),
                teacher_fit_ratio: mean_of(&|r| r.teacher_fit_ratio),
                teacher_nn_ratio: mean_of(&|r| r.teacher_nn_ratio),
            }
        })
        .collect()
}

/// How cells map to figure coordinates: the x value and the series label.
struct Layout {
    x_name: String,
    log_x: bool,
    /// Labels of a categorical x axis (its values are then 1, 2, ...).
    x_labels: Option<Vec<String>>,
    xs: Vec<f64>,
    series: Vec<String>,
}

fn layout(sweep: &SweepConfig, cells: &[Cell]) -> Layout {
    let factors = sweep.factor_axes();
    let snapshots: Vec<u64> = {
        let mut s: Vec<u64> = cells.iter().map(|c| c.snapshot).collect();
        s.sort_unstable();
        s.dedup();
        s
    };
    let numeric = |axis: &str| {
        cells.iter().all(|c| {
            c.coords
                .iter()
                .find(|(a, _)| a == axis)
                .is_some_and(|(_, l)| l.parse::<f64>().is_ok())
        })
    };
    let x_axis = factors.first().map(|a| a.name.clone());
    let mut x_labels = None;
    let (x_name, xs): (String, Vec<f64>) = match &x_axis {
        Some(axis) => {
            let is_num = numeric(axis);
            let labels: Vec<String> = sweep
                .axis
                .iter()
                .find(|a| &a.name == axis)
                .map(|a| a.values.iter().map(|v| super::value_sets(a, v).0).collect())
                .unwrap_or_default();
            let xs = cells
                .iter()
                .map(|c| {
                    let l = &c.coords.iter().find(|(a, _)| a == axis).expect("axis").1;
                    if is_num {
                        l.parse().expect("numeric")
                    } else {
                        labels.iter().position(|x| x == l).unwrap_or(0) as f64 + 1.0
                    }
                })
                .collect();
            if !is_num {
                x_labels = Some(labels);
            }
            (axis.clone(), xs)
        }
        None => (
            "teacher iterations".into(),
            cells.iter().map(|c| c.snapshot as f64).collect(),
        ),
    };
    let series = cells
        .iter()
        .map(|c| {
            let mut parts: Vec<String> = c
                .coords
                .iter()
                .filter(|(a, _)| Some(a) != x_axis.as_ref())
                .map(|(a, l)| format!("{a}={l}"))
                .collect();
            if x_axis.is_some() && snapshots.len() > 1 {
                parts.push(format!("teacher {} it", c.snapshot));
            }
            if parts.is_empty() {
                "mean over seeds".into()
            } else {
                parts.join(", ")
            }
        })
        .collect();
    let positive = xs.iter().all(|&x| x > 0.0);
    let span = xs.iter().cloned().fold(f64::NEG_INFINITY, f64::max)
        / xs.iter().cloned().fold(f64::INFINITY, f64::min);
    let log_x = x_axis
        .as_ref()
        .and_then(|n| sweep.axis.iter().find(|a| &a.name == n))
        .and_then(|a| a.log)
        .unwrap_or(span >= 16.0)
        && positive;
    Layout {
        x_name,
        log_x,
        x_labels,
        xs,
        series,
    }
}

/// The figures: `(file name, caption)` for each one written.
fn draw(
    sweep: &SweepConfig,
    cells: &[Cell],
    lay: &Layout,
    dir: &Path,
) -> Result<Vec<(String, String)>> {
    if cells.is_empty() {
        return Ok(Vec::new());
    }
    type Pick = fn(&Cell) -> Option<ReplicateSummary>;
    type Measure = (
        &'static str,
        &'static str,
        Pick,
        Option<(f64, &'static str)>,
    );
    let measures: [Measure; 7] = [
        (
            "delta_e",
            "Delta_E(Phi_K, G)",
            |c| c.delta_e,
            Some((1.0, "Delta_E = 1")),
        ),
        (
            "delta_e_fine",
            "Delta_E(Phi_fine, G)",
            |c| c.delta_e_fine,
            Some((1.0, "Delta_E = 1")),
        ),
        (
            "copy_score",
            "copy score vs Phi_K (1 = copy)",
            |c| c.copy_score,
            None,
        ),
        (
            "copy_score_fine",
            "copy score vs Phi_fine (1 = copy)",
            |c| c.copy_score_fine,
            None,
        ),
        (
            "diversity",
            "student diversity, 1 - mean pairwise cosine (DP-DMD Eq. 9)",
            |c| c.diversity,
            None,
        ),
        (
            "diversity_relative",
            "student diversity / teacher diversity",
            |c| c.diversity_relative,
            Some((1.0, "teacher's diversity")),
        ),
        (
            "spread_ratio",
            "student RMS pairwise distance / teacher's",
            |c| c.spread_ratio,
            Some((1.0, "teacher's spread")),
        ),
    ];
    let mut written = Vec::new();
    for (file, what, pick, reference) in measures {
        let mut series: Vec<BandSeries> = Vec::new();
        for (i, c) in cells.iter().enumerate() {
            let Some(s) = pick(c) else { continue };
            let label = &lay.series[i];
            let idx = match series.iter().position(|x| &x.label == label) {
                Some(j) => j,
                None => {
                    series.push(BandSeries {
                        label: label.clone(),
                        points: Vec::new(),
                    });
                    series.len() - 1
                }
            };
            series[idx].points.push(BandPoint {
                x: lay.xs[i],
                y: s.mean,
                lo: s.lower,
                hi: s.upper,
                valid: c.n_counted > 0,
            });
        }
        if series.is_empty() {
            continue;
        }
        for s in &mut series {
            s.points.sort_by(|a, b| a.x.total_cmp(&b.x));
        }
        let title = format!(
            "{}: {what} against {} (mean, {:.0}% interval over seeds)",
            sweep.name,
            lay.x_name,
            LEVEL * 100.0
        );
        let img = band_plot(
            &series,
            &Axes::new(&title, &lay.x_name, what),
            &BandOptions {
                log_x: lay.log_x,
                reference: reference.map(|(y, l)| (y, l.to_string())),
                x_labels: lay.x_labels.clone(),
            },
        )?;
        let name = format!("{file}.png");
        save_png(&img, &dir.join(&name))?;
        written.push((name, title));
    }
    Ok(written)
}

/// Where the mean `Delta_E(Phi_K, G)` of counted cells crosses 1 along the x axis, per series.
fn transitions(cells: &[Cell], lay: &Layout) -> Vec<String> {
    let mut by_series: BTreeMap<&str, Vec<(f64, &Cell)>> = BTreeMap::new();
    for (i, c) in cells.iter().enumerate() {
        if c.n_counted > 0 && c.delta_e.is_some() {
            by_series
                .entry(lay.series[i].as_str())
                .or_default()
                .push((lay.xs[i], c));
        }
    }
    let mut out = Vec::new();
    for (series, mut pts) in by_series {
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut found = false;
        for w in pts.windows(2) {
            let (xa, a) = (w[0].0, w[0].1.delta_e.expect("some"));
            let (xb, b) = (w[1].0, w[1].1.delta_e.expect("some"));
            if (a.mean - 1.0) * (b.mean - 1.0) < 0.0 {
                let t = (a.mean - 1.0) / (a.mean - b.mean);
                let x = if lay.log_x {
                    2f64.powf(xa.log2() + t * (xb.log2() - xa.log2()))
                } else {
                    xa + t * (xb - xa)
                };
                let ci_overlaps_1 = |s: &ReplicateSummary| s.lower <= 1.0 && s.upper >= 1.0;
                out.push(format!(
                    "{series}: Delta_E crosses 1 between {} = {xa} ({:.3} [{:.3}, {:.3}]) and {} = {xb} ({:.3} [{:.3}, {:.3}]); interpolated{} at {} ~ {x:.3}{}",
                    lay.x_name,
                    a.mean,
                    a.lower,
                    a.upper,
                    lay.x_name,
                    b.mean,
                    b.lower,
                    b.upper,
                    if lay.log_x { " in log scale" } else { "" },
                    lay.x_name,
                    if ci_overlaps_1(&a) || ci_overlaps_1(&b) {
                        " (an end's interval contains 1: the crossing is uncertain)"
                    } else {
                        ""
                    }
                ));
                found = true;
            }
        }
        if !found && let (Some(first), Some(last)) = (pts.first(), pts.last()) {
            let side = |c: &Cell| {
                if c.delta_e.expect("some").mean > 1.0 {
                    "above"
                } else {
                    "below"
                }
            };
            out.push(format!(
                "{series}: no crossing of Delta_E = 1 over the counted points ({} = {} to {}: {} to {})",
                lay.x_name,
                first.0,
                last.0,
                side(first.1),
                side(last.1)
            ));
        }
    }
    out
}

fn fmt_summary(s: &Option<ReplicateSummary>) -> String {
    match s {
        Some(s) if s.n > 1 => format!("{:.3} [{:.3}, {:.3}]", s.mean, s.lower, s.upper),
        Some(s) => format!("{:.3} (1 seed)", s.mean),
        None => "-".into(),
    }
}

fn write_csv(sweep: &SweepConfig, rows: &[Row], cells: &[Cell], out: &Path) -> Result<()> {
    let axes: Vec<&str> = sweep.axis.iter().map(|a| a.name.as_str()).collect();
    let opt = |v: Option<f64>| v.map_or(String::new(), |x| format!("{x}"));
    let mut csv = format!(
        "point,{},snapshot,delta_e,delta_e_boot_lower,delta_e_boot_upper,delta_e_fine,copy_score,copy_score_fine,delta_e_fully_remapped,fit_status,gap_remaining,teacher_support_ratio,teacher_projected_support_ratio,teacher_fit_ratio,teacher_nn_ratio,diversity,diversity_relative,spread_ratio,counts\n",
        axes.join(",")
    );
    for r in rows {
        let coords: Vec<&str> = axes
            .iter()
            .map(|a| {
                r.coords
                    .iter()
                    .find(|(n, _)| n == a)
                    .map_or("", |(_, l)| l.as_str())
            })
            .collect();
        writeln!(
            csv,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            r.point,
            coords.join(","),
            r.snapshot,
            r.delta_e,
            opt(r.delta_e_bootstrap.map(|b| b.0)),
            opt(r.delta_e_bootstrap.map(|b| b.1)),
            opt(r.delta_e_fine),
            r.copy_score,
            opt(r.copy_score_fine),
            opt(r.delta_e_fully_remapped),
            r.fit_status,
            r.gap_remaining,
            opt(r.teacher_support_ratio),
            opt(r.teacher_projected_support_ratio),
            opt(r.teacher_fit_ratio),
            opt(r.teacher_nn_ratio),
            opt(r.diversity),
            opt(r.diversity_relative),
            opt(r.spread_ratio),
            r.counts
        )?;
    }
    crate::store::write_atomic(&out.join("points.csv"), csv.as_bytes())?;

    let factors: Vec<&str> = sweep
        .factor_axes()
        .iter()
        .map(|a| a.name.as_str())
        .collect();
    let mut csv = format!(
        "{}snapshot,n,n_counted",
        factors.iter().map(|f| format!("{f},")).collect::<String>()
    );
    for m in [
        "delta_e",
        "delta_e_fine",
        "copy_score",
        "copy_score_fine",
        "diversity",
        "diversity_relative",
        "spread_ratio",
    ] {
        write!(csv, ",{m}_mean,{m}_sd,{m}_lower,{m}_upper")?;
    }
    csv.push_str(",teacher_support_ratio,teacher_fit_ratio,teacher_nn_ratio\n");
    for c in cells {
        for f in &factors {
            let l = c.coords.iter().find(|(n, _)| n == f).map_or("", |(_, l)| l);
            write!(csv, "{l},")?;
        }
        write!(csv, "{},{},{}", c.snapshot, c.n, c.n_counted)?;
        for s in [
            &c.delta_e,
            &c.delta_e_fine,
            &c.copy_score,
            &c.copy_score_fine,
            &c.diversity,
            &c.diversity_relative,
            &c.spread_ratio,
        ] {
            match s {
                Some(s) => write!(csv, ",{},{},{},{}", s.mean, s.sd, s.lower, s.upper)?,
                None => csv.push_str(",,,,"),
            }
        }
        writeln!(
            csv,
            ",{},{},{}",
            opt(c.teacher_support_ratio),
            opt(c.teacher_fit_ratio),
            opt(c.teacher_nn_ratio)
        )?;
    }
    crate::store::write_atomic(&out.join("summary.csv"), csv.as_bytes())?;
    Ok(())
}

fn markdown(
    sweep: &SweepConfig,
    profile: &str,
    rows: &[Row],
    cells: &[Cell],
    missing: &[String],
    figures: &[(String, String)],
    transitions: &[String],
) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# Sweep `{}` ({profile} profile)\n", sweep.name);
    if !sweep.description.is_empty() {
        let _ = writeln!(md, "{}\n", sweep.description);
    }
    let axes: Vec<String> = sweep
        .axis
        .iter()
        .map(|a| {
            let labels: Vec<String> = a.values.iter().map(|v| super::value_sets(a, v).0).collect();
            format!("`{}` in {{{}}}", a.name, labels.join(", "))
        })
        .collect();
    let _ = writeln!(
        md,
        "Experiment `{}`; axes {}; {} point(s) finished, {} missing. Intervals: mean and {:.0}% Student-t interval over the `{}` axis (run-to-run variation). A point counts only when its student converged (distribution fit) and its teacher learned the data: on toy data its `Phi_32` samples land on the support at least {TEACHER_SUPPORT_MIN} times as often as the data, and on any data the sliced W2 distance of its samples to the training data is at most {TEACHER_FIT_MAX} times the data's own floor (two disjoint training subsets); cells with no counting point are summarised over all seeds and drawn hollow.\n",
        sweep.experiment.display(),
        axes.join(", "),
        rows.iter()
            .map(|r| r.point.as_str())
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        missing.len(),
        LEVEL * 100.0,
        sweep.replicate_axis
    );
    if !transitions.is_empty() {
        md.push_str("## Where Delta_E crosses 1\n\n");
        for t in transitions {
            let _ = writeln!(md, "- {t}");
        }
        md.push('\n');
    }
    md.push_str("## Summary\n\n");
    let factors: Vec<String> = sweep.factor_axes().iter().map(|a| a.name.clone()).collect();
    let _ = writeln!(
        md,
        "| {}teacher it | counted / seeds | Delta_E(Phi_K, G) | Delta_E(Phi_fine, G) | copy score | copy score (fine) | diversity G / teacher | spread G / teacher | teacher support | teacher SW2 / data floor | teacher NN distance / data's |",
        factors
            .iter()
            .map(|f| format!("{f} | "))
            .collect::<String>()
    );
    let _ = writeln!(md, "|{}", "---|".repeat(factors.len() + 11));
    for c in cells {
        let coords: String = factors
            .iter()
            .map(|f| {
                let l = c.coords.iter().find(|(n, _)| n == f).map_or("", |(_, l)| l);
                format!("{l} | ")
            })
            .collect();
        let _ = writeln!(
            md,
            "| {coords}{} | {} / {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            c.snapshot,
            c.n_counted,
            c.n,
            fmt_summary(&c.delta_e),
            fmt_summary(&c.delta_e_fine),
            fmt_summary(&c.copy_score),
            fmt_summary(&c.copy_score_fine),
            fmt_summary(&c.diversity_relative),
            fmt_summary(&c.spread_ratio),
            c.teacher_support_ratio
                .map_or("-".into(), |r| format!("{r:.2}")),
            c.teacher_fit_ratio
                .map_or("-".into(), |r| format!("{r:.2}")),
            c.teacher_nn_ratio.map_or("-".into(), |r| format!("{r:.2}"))
        );
    }
    md.push('\n');
    if !figures.is_empty() {
        md.push_str("## Figures\n\n");
        for (file, title) in figures {
            let _ = writeln!(md, "![{title}](figures/{file})\n");
        }
    }
    let not_counted: Vec<&Row> = rows.iter().filter(|r| !r.counts).collect();
    if !not_counted.is_empty() {
        md.push_str("## Points that do not count\n\n");
        for r in not_counted {
            let _ = writeln!(
                md,
                "- `{}` (teacher {} it): fit {} (gap left {:.2}){}{}",
                r.point,
                r.snapshot,
                r.fit_status,
                r.gap_remaining,
                r.teacher_support_ratio.map_or(String::new(), |t| format!(
                    ", teacher support ratio {t:.2}{}",
                    if t < TEACHER_SUPPORT_MIN {
                        " (teacher did not learn the data)"
                    } else {
                        ""
                    }
                )),
                r.teacher_fit_ratio.map_or(String::new(), |t| format!(
                    ", teacher SW2 to the data {t:.2}x the floor{}",
                    if t > TEACHER_FIT_MAX {
                        " (teacher did not learn the data)"
                    } else {
                        ""
                    }
                ))
            );
        }
        md.push('\n');
    }
    if !missing.is_empty() {
        let _ = writeln!(
            md,
            "Missing points (not finished): {}\n",
            missing.join(", ")
        );
    }
    md.push_str(
        "Per-point values: `points.csv`; cells: `summary.csv`; everything: `sweep.json`.\n",
    );
    md
}
