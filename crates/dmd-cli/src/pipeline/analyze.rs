//! The measurements of one student (paper Sections 3-4), written to `metrics.json`:
//! Delta_E against the teacher's `Phi_K` and the fine reference with bootstrap intervals, its
//! controls (`Phi_1`, independent seeds), the copy score, the distribution fit that decides
//! whether a Delta_E may be read as copying at all, teacher memorisation, the displacement
//! `delta(z)` against `D(z)`, PCA, and for toys the fraction of samples on the data's support.

use anyhow::{Context, Result, bail};
use dmd_analysis::{
    BootstrapConfig, BootstrapInterval, CorrelationReport, DisplacementPairs, MemorisationSummary,
    NnConfig, Pca, bootstrap_interval, nearest_neighbours,
    sliced_wasserstein2,
};
use dmd_data::SupportReport;
use dmd_ot::{PairingInefficiency, pairing_inefficiency};
use dmd_train::TrainData;
use ndarray::{Array2, ArrayView2, Axis, s};
use serde::{Deserialize, Serialize};
use std::path::Path;

use crate::classifier::Classifier;
use crate::config::ExperimentConfig;
use crate::store;

/// Per-seed measurements saved beside `metrics.json` for the figures: `[n, 1]` columns
/// `teacher_one_step`, `student`, `delta`, `distance_to_train`, `memorisation_ratio`,
/// `nearest_train_index`.
pub const PER_SEED: &str = "per_seed.safetensors";

/// The sample sets of one student, as stored by the pipeline.
#[derive(Debug)]
pub struct AnalysisInput {
    /// `Phi_1(z)`.
    pub phi_1: Array2<f32>,
    /// `Phi_K(z)` (K = eval.reference_steps).
    pub phi_k: Array2<f32>,
    /// `Phi_K'(z)` (K' = eval.fine_steps).
    pub phi_fine: Array2<f32>,
    /// `Phi_K(z')` for independent seeds `z'`.
    pub phi_k_indep: Array2<f32>,
    /// `G(z)`.
    pub g: Array2<f32>,
}

impl AnalysisInput {
    /// Loads the teacher and student sample files.
    pub fn load(teacher_samples: &Path, student_samples: &Path) -> Result<Self> {
        let mut t = store::load_arrays(teacher_samples)?;
        let mut s = store::load_arrays(student_samples)?;
        let take = |m: &mut std::collections::HashMap<String, Array2<f32>>, k: &str, f: &Path| {
            m.remove(k)
                .with_context(|| format!("{} has no `{k}` array; delete it to recompute", f.display()))
        };
        Ok(Self {
            phi_1: take(&mut t, "phi_1", teacher_samples)?,
            phi_k: take(&mut t, "phi_k", teacher_samples)?,
            phi_fine: take(&mut t, "phi_fine", teacher_samples)?,
            phi_k_indep: take(&mut t, "phi_k_indep", teacher_samples)?,
            g: take(&mut s, "g", student_samples)?,
        })
    }
}

/// One Delta_E measurement with its bootstrap interval and the copy score.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PairingRow {
    /// `Delta_E = E_DT / E_OT - 1` (paper Eq. 6).
    pub delta_e: f64,
    /// Bootstrap interval of Delta_E over the N seeds (None when disabled).
    pub ci: Option<BootstrapInterval>,
    /// `(E_rand - E_DT) / (E_rand - E_OT)`: 1 = the identity pairing is optimal (copying),
    /// 0 = no better than a random pairing.
    pub copy_score: f64,
    /// `E_DT`, mean squared distance along the seed pairing.
    pub e_dt: f64,
    /// `E_OT`, mean squared distance of the optimal assignment.
    pub e_ot: f64,
    /// `E_rand`, mean squared distance of a random pairing.
    pub e_rand: f64,
    /// Fraction of seeds the optimal assignment maps to themselves.
    pub fixed_points: f64,
}

impl PairingRow {
    fn new(p: &PairingInefficiency, ci: Option<BootstrapInterval>) -> Self {
        Self {
            delta_e: p.delta_e,
            ci,
            copy_score: p.copy_score(),
            e_dt: p.e_dt,
            e_ot: p.e_ot,
            e_rand: p.e_rand,
            fixed_points: p.fixed_point_fraction(),
        }
    }
}

/// How well the student's distribution matches the teacher's.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FitSummary {
    /// `SW2(G, Phi_K)`.
    pub sw2_student: f64,
    /// `SW2(Phi_1, Phi_K)`: where the student started.
    pub sw2_teacher_one_step: f64,
    /// `SW2(Phi_K(z'), Phi_K(z))`: sampling noise floor.
    pub sw2_floor: f64,
    /// `(SW2(G) - floor) / (SW2(Phi_1) - floor)`: the fraction of the initial distribution gap
    /// left (0 = matched to the noise floor, 1 = not moved).
    pub gap_remaining: f64,
    /// `converged`, `not converged`, or `no gap` (Phi_1 already matches Phi_K within twice
    /// the noise floor, so the student had nothing to learn and its Delta_E says nothing about
    /// distillation).
    pub status: String,
    /// `status == "converged"`: the initial gap was real (`SW2(Phi_1) > 2 floor`) and
    /// `gap_remaining <= eval.fit_gap_max`. Only then is a Delta_E read as copying/remapping.
    pub converged: bool,
    /// Frechet distance in the teacher's leading PCA space: student, start, floor.
    pub frechet_pca: dmd_analysis::FrechetReport,
    /// Mean `||G - Phi_1||` over mean `||Phi_K - Phi_1||`: how far the student moved from its
    /// initialisation, relative to the teacher's own multi-step displacement.
    pub moved_from_init: f64,
}

/// Teacher quality on toy data: fraction of samples on the data's support.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SupportSummary {
    /// Training data itself (the ceiling the tolerance allows).
    pub data: SupportReport,
    /// `Phi_K'(z)` (fine reference).
    pub teacher_fine: SupportReport,
    /// `Phi_K(z)`.
    pub teacher_k: SupportReport,
    /// `G(z)`.
    pub student: SupportReport,
}

/// Everything measured about one student: the content of `metrics.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StudentMetrics {
    /// Experiment name.
    pub experiment: String,
    /// Teacher snapshot (iterations) the student was distilled from.
    pub snapshot: u64,
    /// Seeds used for Delta_E.
    pub n: usize,
    /// The teacher's reference step count K.
    pub reference_steps: usize,
    /// The fine reference's step count.
    pub fine_steps: usize,
    /// `Delta_E(Phi_K, G)`: the paper's measure.
    pub delta_e: PairingRow,
    /// `Delta_E(Phi_fine, G)`.
    pub delta_e_fine: PairingRow,
    /// `Delta_E(Phi_K, Phi_1)`: the student's starting point.
    pub delta_e_teacher_one_step: PairingRow,
    /// `Delta_E(Phi_K(z), Phi_K(z'))`: full remapping (independent seeds).
    pub delta_e_remapped: PairingRow,
    /// Distribution fit.
    pub fit: FitSummary,
    /// Teacher samples' memorisation of the training set (paper Sec. 4.1).
    pub memorisation: Option<MemorisationSummary>,
    /// `delta(z)` statistics and its correlation with `D(z)` (paper Sec. 4.2.1).
    pub displacement: dmd_analysis::DisplacementSummary,
    /// Explained-variance ratios of the teacher samples' two leading components.
    pub pca_explained_variance: Vec<f64>,
    /// Toy data only: fractions on the support.
    pub support: Option<SupportSummary>,
    /// MNIST only: Frechet distance in the feature space of the trained MNIST classifier
    /// (an FID for 32x32 digits): student, start, floor.
    pub frechet_classifier: Option<dmd_analysis::FrechetReport>,
    /// MNIST only: the feature classifier's test accuracy.
    pub classifier_test_accuracy: Option<f64>,
}

/// Measures one student and writes `snap_dir/metrics.json` (skipped when it exists).
pub fn analyze(
    cfg: &ExperimentConfig,
    snapshot: u64,
    input: &AnalysisInput,
    data: &TrainData,
    classifier: Option<&(Classifier, f64)>,
    snap_dir: &Path,
) -> Result<StudentMetrics> {
    let path = snap_dir.join("metrics.json");
    let per_seed_path = snap_dir.join(PER_SEED);
    if path.is_file() && per_seed_path.is_file() {
        let text = std::fs::read_to_string(&path)?;
        if let Ok(m) = serde_json::from_str::<StudentMetrics>(&text) {
            return Ok(m);
        }
        tracing::warn!("{} is unreadable; recomputing it", path.display());
    }
    let e = &cfg.eval;
    let n = e.n_samples.min(input.phi_k.nrows());
    if input.g.nrows() < n {
        bail!("student samples have {} rows, need {n}", input.g.nrows());
    }
    let rows = |a: &Array2<f32>| a.slice(s![..n, ..]).to_owned();
    let (phi_k, phi_1, phi_fine, g) = (rows(&input.phi_k), rows(&input.phi_1), rows(&input.phi_fine), rows(&input.g));
    let phi_k_indep = input.phi_k_indep.slice(s![..n.min(input.phi_k_indep.nrows()), ..]).to_owned();
    let boot = BootstrapConfig { n_resamples: e.bootstrap, level: 0.95, seed: e.seed };

    tracing::info!(n, "Delta_E and controls");
    let delta_e = pairing_with_ci(phi_k.view(), g.view(), &boot)?;
    let delta_e_fine = pairing_with_ci(phi_fine.view(), g.view(), &boot)?;
    let delta_e_teacher_one_step = PairingRow::new(&pairing_inefficiency(phi_k.view(), phi_1.view())?, None);
    let m = phi_k_indep.nrows();
    let delta_e_remapped = PairingRow::new(
        &pairing_inefficiency(phi_k.slice(s![..m, ..]), phi_k_indep.view())?,
        None,
    );

    tracing::info!("distribution fit");
    let sw = |a: ArrayView2<f32>, b: ArrayView2<f32>| sliced_wasserstein2(a, b, e.sw_projections, e.seed);
    let sw2_student = sw(g.view(), phi_k.view())?;
    let sw2_teacher_one_step = sw(phi_1.view(), phi_k.view())?;
    let sw2_floor = sw(phi_k_indep.view(), phi_k.slice(s![..m, ..]))?;
    let gap_remaining = (sw2_student - sw2_floor).max(0.0) / (sw2_teacher_one_step - sw2_floor).max(f64::MIN_POSITIVE);
    // One PCA of the teacher samples serves the Frechet distance (leading `pca_dims`
    // components) and the explained-variance summary (first two).
    let pca_dims = phi_k.ncols().min(32).min(n.saturating_sub(1)).max(1);
    let pca = Pca::fit(phi_k.view(), pca_dims)?;
    let project = |a: ArrayView2<f32>| -> Result<Array2<f32>> { Ok(pca.project(a)?.mapv(|v| v as f32)) };
    let (qk, qg, q1, qi) = (
        project(phi_k.view())?,
        project(g.view())?,
        project(phi_1.view())?,
        project(phi_k_indep.view())?,
    );
    let fd = |a: &Array2<f32>, b: ArrayView2<f32>| dmd_analysis::frechet_distance(a.view(), b);
    let frechet_pca = dmd_analysis::FrechetReport {
        space: format!("pca-{pca_dims}"),
        student: fd(&qg, qk.view())?,
        teacher_one_step: Some(fd(&q1, qk.view())?),
        floor: Some(fd(&qi, qk.slice(s![..m, ..]))?),
    };
    let pairs = DisplacementPairs::new(phi_k.view(), phi_1.view(), g.view())?;
    let moved = dmd_analysis::row_distances(g.view(), phi_1.view())?;
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let moved_from_init = mean(&moved) / mean(&pairs.teacher_one_step).max(f64::MIN_POSITIVE);
    let status = if sw2_teacher_one_step <= 2.0 * sw2_floor {
        "no gap"
    } else if gap_remaining <= e.fit_gap_max {
        "converged"
    } else {
        "not converged"
    };
    let fit = FitSummary {
        sw2_student,
        sw2_teacher_one_step,
        sw2_floor,
        gap_remaining,
        status: status.into(),
        converged: status == "converged",
        frechet_pca,
        moved_from_init,
    };

    tracing::info!(train = data.x.nrows(), "nearest training neighbours of the teacher samples");
    let n_mem = e.n_memorisation.min(n);
    let nn = nearest_neighbours(phi_k.slice(s![..n_mem, ..]), data.x.view(), &NnConfig::default())?;
    let memorisation = Some(MemorisationSummary::from_neighbours(&nn, e.memorisation_threshold)?);
    let delta = pairs.delta();
    let correlation = CorrelationReport::new(&delta[..n_mem], &nn.mean_distance).ok();
    let displacement = dmd_analysis::DisplacementSummary {
        mean_teacher_one_step: mean(&pairs.teacher_one_step),
        mean_student: mean(&pairs.student),
        fraction_closer: pairs.fraction_closer(),
        delta_vs_distance_to_train: correlation,
    };
    let support = match cfg.data.as_toy() {
        Some(_) => {
            let tol = dmd_data::DEFAULT_OFF_PLANE_TOL;
            let rep = |a: ArrayView2<f32>| -> Result<SupportReport> {
                Ok(cfg.data.support_report(a, tol)?.expect("toy data has a support test"))
            };
            let n_data = data.x.nrows().min(n);
            Some(SupportSummary {
                data: rep(data.x.slice(s![..n_data, ..]))?,
                teacher_fine: rep(phi_fine.view())?,
                teacher_k: rep(phi_k.view())?,
                student: rep(g.view())?,
            })
        }
        None => None,
    };

    let (frechet_classifier, classifier_test_accuracy) = match classifier {
        Some((c, acc)) => {
            let f = |a: &Array2<f32>| c.features_of(a.view());
            let (fk, fg, f1, fi) = (f(&phi_k), f(&g), f(&phi_1), f(&phi_k_indep));
            let fd = |a: &Array2<f32>, b: &Array2<f32>| dmd_analysis::frechet_distance(a.view(), b.view());
            let report = dmd_analysis::FrechetReport {
                space: "mnist-classifier".into(),
                student: fd(&fg, &fk)?,
                teacher_one_step: Some(fd(&f1, &fk)?),
                floor: Some(fd(&fi, &fk.slice(s![..m, ..]).to_owned())?),
            };
            (Some(report), Some(*acc))
        }
        None => (None, None),
    };

    let metrics = StudentMetrics {
        experiment: cfg.name.clone(),
        snapshot,
        n,
        reference_steps: e.reference_steps,
        fine_steps: e.fine_steps,
        delta_e,
        delta_e_fine,
        delta_e_teacher_one_step,
        delta_e_remapped,
        fit,
        memorisation,
        displacement,
        pca_explained_variance: pca.explained_variance_ratio().into_iter().take(2).collect(),
        support,
        frechet_classifier,
        classifier_test_accuracy,
    };
    std::fs::create_dir_all(snap_dir)?;
    let col = |v: &[f64]| Array2::from_shape_fn((v.len(), 1), |(i, _)| v[i] as f32);
    let ratios = dmd_analysis::memorisation_ratios(&nn);
    let nearest: Vec<f64> = nn.nearest.iter().map(|&i| i as f64).collect();
    store::save_arrays(
        &per_seed_path,
        &[
            ("teacher_one_step", &col(&pairs.teacher_one_step)),
            ("student", &col(&pairs.student)),
            ("delta", &col(&delta)),
            ("distance_to_train", &col(&nn.mean_distance)),
            ("memorisation_ratio", &col(&ratios)),
            ("nearest_train_index", &col(&nearest)),
        ],
    )?;
    store::write_json_atomic(&path, &metrics)?;
    Ok(metrics)
}

/// Delta_E of `(phi, g)` and its percentile bootstrap interval over the seeds (the optimal
/// assignment is re-solved for every resample).
fn pairing_with_ci(phi: ArrayView2<f32>, g: ArrayView2<f32>, boot: &BootstrapConfig) -> Result<PairingRow> {
    let p = pairing_inefficiency(phi, g)?;
    let ci = if boot.n_resamples >= 2 {
        Some(bootstrap_interval(phi.nrows(), boot, |idx| {
            let a = phi.select(Axis(0), idx);
            let b = g.select(Axis(0), idx);
            pairing_inefficiency(a.view(), b.view())
                .map(|r| r.delta_e)
                .map_err(|e| dmd_analysis::AnalysisError::InvalidParameter { name: "bootstrap", reason: e.to_string() })
        })?)
    } else {
        None
    };
    Ok(PairingRow::new(&p, ci))
}
