//! The teacher gate over a teacher's snapshots, without any student: for every snapshot the
//! fine reference `Phi_fine(z)` on the claims' `N` seeds, the sliced W2 to the training data
//! against the data's own floor, on MNIST the classifier check (share of confidently
//! classified samples, class balance, feature Frechet distance against the data's floor) and
//! its verdict ([`crate::gates::classifier_ok`]), and a grid of samples
//! (`dmd teacher-gate`, `<results>/teacher-gate/<name>/`, beside the experiments' folders,
//! which a run replaces whole).

use anyhow::{Context, Result};
use dmd_figures::{GridRow, ImageShape, image_grid, save_png};
use ndarray::s;
use serde::{Deserialize, Serialize};

use super::analyze::{ClassifierCheck, TeacherFit};
use super::{Paths, classifier_stage, load_checked, load_data, sampling, teacher_stage};
use crate::config::ExperimentConfig;

/// Samples shown per snapshot in the grid.
const GRID_SAMPLES: usize = 64;

/// The gate of one snapshot.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SnapshotGate {
    /// Teacher iterations.
    pub snapshot: u64,
    /// Seeds sampled (`eval.n_samples`).
    pub n: usize,
    /// `Phi_fine` steps.
    pub steps: usize,
    /// Sliced W2 to the training data against the data's own floor.
    pub fit: Option<TeacherFit>,
    /// MNIST: the classifier check.
    pub classifier: Option<ClassifierCheck>,
    /// The classifier gate's verdict (`None` without a classifier).
    pub passes: Option<bool>,
    /// The grid of samples, relative to the gate's folder.
    pub grid: String,
    /// Seconds spent sampling this snapshot.
    pub sample_s: f64,
}

/// `teacher-gate/gate.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TeacherGateReport {
    /// Experiment.
    pub experiment: String,
    /// Profile.
    pub profile: String,
    /// The MNIST classifier's test accuracy.
    pub classifier_test_accuracy: Option<f64>,
    /// One per snapshot, by iteration.
    pub snapshots: Vec<SnapshotGate>,
}

/// Measures the gate at every snapshot of `cfg`'s teacher (training or adopting it first)
/// and writes `gate.json`, `GATE.md` and the grids into `<results>/teacher-gate/<name>/`.
pub fn teacher_gate(
    cfg: &ExperimentConfig,
    profile: &str,
    paths: &Paths,
) -> Result<TeacherGateReport> {
    let device = cfg.device.resolve()?;
    let data = load_data(cfg)?;
    let teacher = teacher_stage(cfg, paths, &data)?;
    let classifier = classifier_stage(cfg, paths, device)?;
    let out = paths.results.join("teacher-gate").join(&cfg.name);
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let e = &cfg.eval;
    let mut snapshots: Vec<u64> = cfg.teacher.snapshots.clone();
    snapshots.push(cfg.teacher.iterations);
    snapshots.sort_unstable();
    snapshots.dedup();
    let shape = cfg.teacher.net.data_shape();
    let n = e.n_samples;
    let head_rows = data.x.range(0, 2 * n.min(data.len() / 2))?;
    let mut gates = Vec::new();
    for snapshot in snapshots {
        let t0 = std::time::Instant::now();
        let net = load_checked(
            &teacher.weights(cfg, snapshot),
            &cfg.teacher.net,
            &teacher.stage,
            device,
        )?;
        tracing::info!(snapshot, n, steps = e.fine_steps, "teacher gate: sampling");
        let (z, labels) = sampling::seeds(e.seed, n, &shape, cfg.teacher.net.num_classes(), device);
        let phi =
            sampling::teacher_samples(&net, &z, labels.as_ref(), e.fine_steps, e.solver, e.chunk);
        let sample_s = t0.elapsed().as_secs_f64();
        let fit = TeacherFit::new(
            phi.view(),
            head_rows.view(),
            &[],
            &[],
            e.sw_projections,
            e.seed,
        )?;
        let check = classifier
            .as_ref()
            .map(|(c, _)| ClassifierCheck::new(c, phi.view(), head_rows.view()))
            .transpose()?;
        let grid = format!("snapshot-{snapshot:06}-grid.png");
        if shape.len() == 3 {
            let cols = 16;
            let rows_n = GRID_SAMPLES.min(phi.nrows());
            let rows: Vec<GridRow> = (0..rows_n.div_ceil(cols))
                .map(|r| GridRow {
                    label: if r == 0 {
                        format!("Phi_{}(z)", e.fine_steps)
                    } else {
                        String::new()
                    },
                    images: phi.slice(s![r * cols..((r + 1) * cols).min(rows_n), ..]),
                })
                .collect();
            let img = image_grid(
                &rows,
                ImageShape {
                    channels: shape[0] as usize,
                    height: shape[1] as usize,
                    width: shape[2] as usize,
                },
                cols,
                2,
                &format!("{} teacher at {snapshot} iterations", cfg.name),
            )?;
            save_png(&img, &out.join(&grid))?;
        }
        gates.push(SnapshotGate {
            snapshot,
            n,
            steps: e.fine_steps,
            passes: check.as_ref().map(crate::gates::classifier_ok),
            fit,
            classifier: check,
            grid,
            sample_s,
        });
    }
    let report = TeacherGateReport {
        experiment: cfg.name.clone(),
        profile: profile.to_string(),
        classifier_test_accuracy: classifier.as_ref().map(|(_, a)| *a),
        snapshots: gates,
    };
    crate::store::write_json_atomic(&out.join("gate.json"), &report)?;
    crate::store::write_atomic(&out.join("GATE.md"), markdown(&report).as_bytes())?;
    Ok(report)
}

/// The gate as a markdown table with the grids.
pub fn markdown(r: &TeacherGateReport) -> String {
    use std::fmt::Write as _;
    let mut md = String::new();
    let _ = writeln!(
        md,
        "# Teacher gate: {} ({} profile)\n",
        r.experiment, r.profile
    );
    if let Some(a) = r.classifier_test_accuracy {
        let _ = writeln!(
            md,
            "MNIST feature classifier: test accuracy {:.2}%. The gate passes when the share of confidently classified samples (max probability >= {}) is at least {} of the training images' and the class shares are within total variation {} of the data's.\n",
            100.0 * a,
            crate::gates::CONFIDENT_PROBABILITY,
            crate::gates::TEACHER_CONFIDENT_MIN,
            crate::gates::TEACHER_CLASS_TV_MAX
        );
    }
    let _ = writeln!(
        md,
        "| snapshot | N | confident share (data) | class-share TV | feature FD (data floor) | SW2 / data floor | gate |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|---|");
    for g in &r.snapshots {
        let c = g.classifier.as_ref();
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} |",
            g.snapshot,
            g.n,
            c.map_or("-".into(), |c| format!(
                "{:.1}% ({:.1}%)",
                100.0 * c.teacher_confident,
                100.0 * c.data_confident
            )),
            c.map_or("-".into(), |c| format!("{:.3}", c.class_tv)),
            c.map_or("-".into(), |c| format!(
                "{:.2} ({:.2})",
                c.fd_teacher_data, c.fd_data_floor
            )),
            g.fit
                .as_ref()
                .map_or("-".into(), |f| format!("{:.2}", f.ratio)),
            match g.passes {
                Some(true) => "passes",
                Some(false) => "fails",
                None => "-",
            }
        );
    }
    md.push('\n');
    for g in &r.snapshots {
        let _ = writeln!(md, "![snapshot {}]({})", g.snapshot, g.grid);
    }
    md
}
