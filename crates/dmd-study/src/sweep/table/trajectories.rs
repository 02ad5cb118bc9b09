//! Pairing over training across a sweep: each point's students' `trajectory.jsonl`, grouped by
//! grid cell (the non-replicate axes) and snapshot, averaged over the replicates point by point
//! (every replicate of a cell has the same schedule, so its k-th points share the iteration and
//! the cumulative learning rate), drawn against the cumulative learning rate and the iteration,
//! and tabulated at fractions of the run with t-intervals over the replicates (training seeds).

use std::collections::BTreeMap;

use dmd_analysis::replicate_summary;

use super::*;
use crate::pipeline::trajectory::{self, TrajectoryPoint};

/// Fractions of the run at which the table reads the trajectories.
const FRACTIONS: [f64; 5] = [0.0, 0.25, 0.5, 0.75, 1.0];

/// The replicates' trajectories of one grid cell and snapshot.
pub(super) struct CellTrajectory {
    /// `axis=label` of the non-replicate axes, and the snapshot.
    pub label: String,
    /// One trajectory per replicate, cut to the shortest.
    pub runs: Vec<Vec<TrajectoryPoint>>,
}

impl CellTrajectory {
    fn len(&self) -> usize {
        self.runs.iter().map(Vec::len).min().unwrap_or(0)
    }

    /// Point `k` of every replicate, summarised by `f` (mean and t-interval).
    fn at(&self, k: usize, f: fn(&TrajectoryPoint) -> f64) -> Option<ReplicateSummary> {
        let v: Vec<f64> = self
            .runs
            .iter()
            .map(|r| f(&r[k]))
            .filter(|x| x.is_finite())
            .collect();
        replicate_summary(&v, LEVEL)
    }
}

fn angle(p: &TrajectoryPoint) -> f64 {
    p.measures.angle.map_or(f64::NAN, |a| a.theta())
}

fn copy(p: &TrajectoryPoint) -> f64 {
    p.measures.copy_score
}

/// Reads every finished point's trajectories, grouped by cell and snapshot.
pub(super) fn read(
    sweep: &SweepConfig,
    points: &[Point],
    configs: &[ExperimentConfig],
    out: &Path,
) -> Result<Vec<CellTrajectory>> {
    let mut groups: BTreeMap<String, Vec<Vec<TrajectoryPoint>>> = BTreeMap::new();
    for (p, cfg) in points.iter().zip(configs) {
        let dir = out.join("points").join(&p.id).join(&cfg.name);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut snaps: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|d| {
                d.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("snapshot-"))
            })
            .collect();
        snaps.sort();
        for snap in snaps {
            let Some(t) = trajectory::read(&snap)? else {
                continue;
            };
            let cell: Vec<String> = p
                .coords
                .iter()
                .filter(|(axis, _)| *axis != sweep.replicate_axis)
                .map(|(axis, label)| format!("{axis}={label}"))
                .collect();
            let snap_name = snap.file_name().unwrap_or_default().to_string_lossy();
            let label = format!(
                "{} ({})",
                cell.join(", "),
                snap_name
                    .trim_start_matches("snapshot-")
                    .trim_start_matches('0')
            );
            groups.entry(label).or_default().push(t);
        }
    }
    Ok(groups
        .into_iter()
        .map(|(label, runs)| CellTrajectory { label, runs })
        .filter(|c| c.len() >= 2)
        .collect())
}

/// The figures (angle and copy score against the cumulative learning rate, angle against the
/// iteration), one curve per cell at the replicates' mean; `(file name, caption)` each.
pub(super) fn draw(
    sweep: &SweepConfig,
    cells: &[CellTrajectory],
    dir: &Path,
) -> Result<Vec<(String, String)>> {
    if cells.is_empty() {
        return Ok(Vec::new());
    }
    type Of = fn(&TrajectoryPoint) -> f64;
    type Spec = (&'static str, &'static str, Of, &'static str, Of);
    let specs: [Spec; 3] = [
        (
            "trajectory_angle_lr",
            "cumulative generator learning rate sum_t lr_t (over generator updates)",
            |p| p.cumulative_lr,
            "equivalent remapping angle (rad)",
            angle,
        ),
        (
            "trajectory_copy_lr",
            "cumulative generator learning rate sum_t lr_t (over generator updates)",
            |p| p.cumulative_lr,
            "copy score",
            copy,
        ),
        (
            "trajectory_angle_iteration",
            "distillation iteration",
            |p| p.iteration as f64,
            "equivalent remapping angle (rad)",
            angle,
        ),
    ];
    let mut written = Vec::new();
    for (name, x_label, x, y_label, y) in specs {
        let curves: Vec<dmd_figures::Curve> = cells
            .iter()
            .map(|c| {
                let pts = (0..c.len())
                    .filter_map(|k| {
                        let xs = c.at(k, x)?;
                        let ys = c.at(k, y)?;
                        Some((xs.mean, ys.mean))
                    })
                    .collect();
                (c.label.clone(), pts)
            })
            .collect();
        let caption = format!(
            "{}: {y_label} against the {x_label} (mean over {})",
            sweep.name, sweep.replicate_axis
        );
        // The long caption goes under the figure in SWEEP.md; the plot's own title stays short
        // enough to fit its width.
        let title = format!("{y_label}, mean over {}", sweep.replicate_axis);
        let axes = dmd_figures::Axes::new(&title, x_label, y_label);
        let file = format!("{name}.png");
        dmd_figures::save_png(&dmd_figures::line_curves(&curves, &axes)?, &dir.join(&file))?;
        written.push((file, caption));
    }
    Ok(written)
}

fn fmt(s: Option<ReplicateSummary>) -> String {
    match s {
        Some(s) if s.has_interval() => format!("{:.3} [{:.3}, {:.3}]", s.mean, s.lower, s.upper),
        Some(s) => format!("{:.3} (n = {})", s.mean, s.n),
        None => "-".into(),
    }
}

/// The markdown section: per cell, the angle and copy score at fractions of the run (mean and
/// t-interval over the replicates), the distillation's wall time and the probe's share of it.
pub(super) fn markdown(sweep: &SweepConfig, cells: &[CellTrajectory]) -> String {
    use std::fmt::Write as _;
    let mut md = String::new();
    if cells.is_empty() {
        return md;
    }
    let _ = writeln!(
        md,
        "## Pairing over training\n\nEach student measured on a fixed panel of the teacher's seeds along its run (`trajectory.jsonl` in its results). Mean and {:.0}% t-interval over `{}` (training seeds) at fractions of the run; the equivalent angle is an upper bound on the remapping when the student does not fit.\n",
        100.0 * LEVEL,
        sweep.replicate_axis
    );
    let _ = writeln!(
        md,
        "| cell | replicates | fraction of run | iteration | sum lr | equivalent angle (rad) | copy score | distillation wall (min) | probe share |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|---|---|---|");
    for c in cells {
        let len = c.len();
        let last = |r: &Vec<TrajectoryPoint>| r[len - 1].wall_s;
        let walls: Vec<f64> = c.runs.iter().map(last).collect();
        let wall = walls.iter().sum::<f64>() / walls.len() as f64;
        let probe: f64 = c
            .runs
            .iter()
            .map(|r| r[..len].iter().map(|p| p.probe_s).sum::<f64>())
            .sum::<f64>()
            / walls.iter().sum::<f64>().max(f64::MIN_POSITIVE);
        for (i, f) in FRACTIONS.iter().enumerate() {
            let k = ((len - 1) as f64 * f).round() as usize;
            let p = &c.runs[0][k];
            let tail = if i + 1 == FRACTIONS.len() {
                format!("{:.1} | {:.1}%", wall / 60.0, 100.0 * probe)
            } else {
                " | ".into()
            };
            let _ = writeln!(
                md,
                "| {} | {} | {:.2} | {} | {:.3e} | {} | {} | {tail} |",
                if i == 0 { c.label.as_str() } else { "" },
                c.runs.len(),
                f,
                p.iteration,
                p.cumulative_lr,
                fmt(c.at(k, angle)),
                fmt(c.at(k, copy)),
            );
        }
    }
    md.push('\n');
    md
}
