//! The measurements of one student (paper Sections 3-4), written to `metrics.json`:
//! Delta_E against the teacher's `Phi_K` and the fine reference with bootstrap intervals, its
//! controls (`Phi_1`, independent seeds), the copy score, the distribution fit that decides
//! whether a Delta_E may be read as copying at all, teacher memorisation, the displacement
//! `delta(z)` against `D(z)`, PCA, and for toys the fraction of samples on the data's support.

use anyhow::{Context, Result, bail};
use dmd_analysis::{
    BootstrapConfig, CorrelationReport, DeltaEEstimate, DisplacementPairs, DisplacementSummary,
    DiversityReport, FrechetReport, MemorisationSummary, NnConfig, PairingReport, PairingSets, Pca,
    PcaSummary, RunMetrics, SlicedW2Report, median, nearest_neighbours, sliced_wasserstein2,
};
use dmd_data::SupportReport;
use dmd_train::TrainData;
use ndarray::{Array2, ArrayView2, s};
use serde::{Deserialize, Serialize};
use std::path::Path;

use crate::classifier::Classifier;
use crate::config::ExperimentConfig;
use crate::gates::{FitVerdict, fit_verdict};
use crate::store;

/// Per-seed measurements saved beside `metrics.json` for the figures: `[n, 1]` columns
/// `teacher_one_step`, `student`, `delta`, `partner_rank`, `partner_p_value`,
/// `distance_to_train`, `memorisation_ratio`, `nearest_train_index`.
pub const PER_SEED: &str = "per_seed.safetensors";

/// The sample sets of one student, as stored by the pipeline.
#[derive(Debug)]
pub struct AnalysisInput {
    /// The seeds `z ~ N(0, I)` (flattened), for the toy panels.
    pub z: Array2<f32>,
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
    /// The remapping ruler's students `Phi_K(R_theta z)` on the first `n_samples` seeds, one
    /// per `eval.ruler_angles`.
    pub ruler: Vec<Array2<f32>>,
    /// The seeds' class labels (conditional models).
    pub labels: Option<Vec<i64>>,
}

impl AnalysisInput {
    /// Loads the teacher and student sample files.
    pub fn load(teacher_samples: &Path, student_samples: &Path) -> Result<Self> {
        let mut t = store::load_arrays(teacher_samples)?;
        let mut s = store::load_arrays(student_samples)?;
        let take = |m: &mut std::collections::HashMap<String, Array2<f32>>, k: &str, f: &Path| {
            m.remove(k).with_context(|| {
                format!("{} has no `{k}` array; delete it to recompute", f.display())
            })
        };
        Ok(Self {
            z: take(&mut t, "z", teacher_samples)?,
            phi_1: take(&mut t, "phi_1", teacher_samples)?,
            phi_k: take(&mut t, "phi_k", teacher_samples)?,
            phi_fine: take(&mut t, "phi_fine", teacher_samples)?,
            phi_k_indep: take(&mut t, "phi_k_indep", teacher_samples)?,
            g: take(&mut s, "g", student_samples)?,
            ruler: (0..)
                .map_while(|i| t.remove(&format!("ruler_{i}")))
                .collect(),
            labels: t
                .remove("labels")
                .map(|c| c.iter().map(|&x| x.round() as i64).collect()),
        })
    }
}

/// Whether the student learnt the teacher's distribution, from the sliced W2 distances of
/// [`dmd_analysis::SlicedW2Report`]: only a converged student's Delta_E is read as copying or
/// remapping.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FitStatus {
    /// `SW2(G, Phi_K')` against the fine reference.
    pub sw2_student_fine: f64,
    /// `SW2(Phi_1, Phi_K')`: where the student started.
    pub sw2_teacher_one_step_fine: f64,
    /// `(SW2(G, Phi_K') - floor) / (SW2(Phi_1, Phi_K') - floor)`: the fraction of the initial
    /// distribution gap left (0 = matched to the noise floor, 1 = not moved); floor =
    /// `SW2(Phi_K(z'), Phi_K(z))`, the sampling noise at this N.
    pub gap_remaining: f64,
    /// `converged`, `not converged`, or `no gap` (Phi_1 already matches Phi_K within twice
    /// the noise floor, so the student had nothing to learn and its Delta_E says nothing about
    /// distillation); decided by [`crate::gates::fit_verdict`].
    pub status: FitVerdict,
    /// `status == "converged"`: the initial gap was real (`SW2(Phi_1) > 2 floor`) and
    /// `gap_remaining <= eval.fit_gap_max`.
    pub converged: bool,
    /// Mean `||G - Phi_1||` over mean `||Phi_K - Phi_1||`: how far the student moved from its
    /// initialisation, relative to the teacher's own multi-step displacement.
    pub moved_from_init: f64,
    /// Whether `G` and `Phi_1` were measured on seeds independent of the teacher's (false in
    /// files of an older analysis, or when fewer than `2 N` seeds were drawn).
    #[serde(default)]
    pub independent_seeds: bool,
}

/// Teacher quality on any data, two ways:
/// * distribution: sliced W2 of the teacher's fine-reference samples to the training data,
///   against the sampling noise of two disjoint training subsets of the same size (sees the
///   one-dimensional marginals: scale, spread, modes along random directions);
/// * precision: the median distance of the teacher's `Phi_K` samples to their nearest training
///   point, over the median distance of training points to their nearest *other* training
///   point (sees samples off the data's support, which marginals can hide; below 1 would mean
///   the teacher sits closer to the training points than they sit to each other).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TeacherFit {
    /// `SW2(Phi_K'(z), X_a)`: the teacher's fine-reference samples against `m` training rows.
    pub sw2_teacher_data: f64,
    /// `SW2(X_b, X_a)`: two disjoint sets of `m` training rows (the noise floor at this size).
    pub sw2_data_floor: f64,
    /// `sw2_teacher_data / sw2_data_floor`: about 1 for a teacher that generates the data's
    /// distribution, much larger for one that has not learnt it.
    pub ratio: f64,
    /// Rows per set `m` (`min(N, training rows / 2)`).
    pub m: usize,
    /// Median nearest-training-point distance of `Phi_K` samples over that of training points
    /// (self excluded).
    #[serde(default)]
    pub nn_ratio: Option<f64>,
    /// MNIST: the teacher's samples as the feature classifier sees them.
    #[serde(default)]
    pub classifier: Option<ClassifierCheck>,
}

/// The MNIST teacher seen through the feature classifier: are its samples digits, in the
/// data's class proportions, with the data's features? Gated by [`crate::gates::teacher_ok`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClassifierCheck {
    /// Share of the teacher's fine-reference samples the classifier assigns a class with
    /// probability at least [`crate::gates::CONFIDENT_PROBABILITY`].
    pub teacher_confident: f64,
    /// The same share for as many training images (the ceiling).
    pub data_confident: f64,
    /// Total-variation distance between the class shares the classifier predicts for the
    /// teacher's samples and for the training images (0 = same proportions).
    pub class_tv: f64,
    /// Frechet distance in classifier features between the teacher's samples and training
    /// images.
    pub fd_teacher_data: f64,
    /// The same between two disjoint sets of training images: the floor at this size.
    pub fd_data_floor: f64,
}

impl ClassifierCheck {
    /// Measures `teacher` samples against training rows `x` (the first `m` rows, and the next
    /// `m` for the floor; `m = min(rows of teacher, rows of x / 2)`).
    pub fn new(c: &Classifier, teacher: ArrayView2<f32>, x: ArrayView2<f32>) -> Result<Self> {
        let m = teacher.nrows().min(x.nrows() / 2);
        let (t, a, b) = (
            teacher.slice(s![..m, ..]),
            x.slice(s![..m, ..]),
            x.slice(s![m..2 * m, ..]),
        );
        let (pt, pa) = (c.probabilities_of(t), c.probabilities_of(a));
        let confident = |p: &Array2<f32>| {
            p.rows()
                .into_iter()
                .filter(|r| {
                    r.iter().cloned().fold(0.0f32, f32::max) as f64
                        >= crate::gates::CONFIDENT_PROBABILITY
                })
                .count() as f64
                / p.nrows().max(1) as f64
        };
        let shares = |p: &Array2<f32>| {
            let mut h = [0.0f64; 10];
            for r in p.rows() {
                let k = r
                    .iter()
                    .enumerate()
                    .max_by(|x, y| x.1.total_cmp(y.1))
                    .map_or(0, |(k, _)| k);
                h[k] += 1.0 / p.nrows().max(1) as f64;
            }
            h
        };
        let (ht, ha) = (shares(&pt), shares(&pa));
        let class_tv = 0.5 * ht.iter().zip(&ha).map(|(a, b)| (a - b).abs()).sum::<f64>();
        let (ft, fa, fb) = (c.features_of(t), c.features_of(a), c.features_of(b));
        Ok(Self {
            teacher_confident: confident(&pt),
            data_confident: confident(&pa),
            class_tv,
            fd_teacher_data: dmd_analysis::frechet_distance(ft.view(), fa.view())?,
            fd_data_floor: dmd_analysis::frechet_distance(fb.view(), fa.view())?,
        })
    }
}

impl TeacherFit {
    /// Measures the teacher's samples `phi_fine` against the training rows `x`, with the
    /// directions of `n_directions` and `seed`; `teacher_nearest` are the nearest-training-point
    /// distances of teacher samples and `data_nearest_other` those of training rows to their
    /// nearest *other* training row. `None` when there are fewer than 4 training rows.
    pub fn new(
        phi_fine: ArrayView2<f32>,
        x: ArrayView2<f32>,
        teacher_nearest: &[f64],
        data_nearest_other: &[f64],
        n_directions: usize,
        seed: u64,
    ) -> Result<Option<Self>> {
        let m = phi_fine.nrows().min(x.nrows() / 2);
        if m < 2 {
            return Ok(None);
        }
        let (a, b) = (x.slice(s![..m, ..]), x.slice(s![m..2 * m, ..]));
        let sw = |y: ArrayView2<f32>| sliced_wasserstein2(y, a, n_directions, seed);
        let sw2_teacher_data = sw(phi_fine.slice(s![..m, ..]))?;
        let sw2_data_floor = sw(b)?;
        Ok(Some(Self {
            sw2_teacher_data,
            sw2_data_floor,
            ratio: sw2_teacher_data / sw2_data_floor.max(f64::MIN_POSITIVE),
            m,
            nn_ratio: median(teacher_nearest)
                .zip(median(data_nearest_other))
                .map(|(t, d)| t / d.max(f64::MIN_POSITIVE)),
            classifier: None,
        }))
    }
}

/// Bytes of `f32` rows of a streamed training set searched per chunk by
/// [`nearest_in_training_set`] (so the search's memory does not grow with the set).
const NN_CHUNK_BYTES: usize = 16 << 20;

/// The nearest training rows of `queries`: one search over an in-memory training set, or a
/// chunked one over rows streamed from disk (same neighbours; see
/// [`dmd_analysis::nearest_neighbours_chunked`]).
pub fn nearest_in_training_set(
    queries: ArrayView2<f32>,
    data: &TrainData,
) -> Result<dmd_analysis::NeighbourResult> {
    let cfg = NnConfig::default();
    Ok(match data.x.as_memory() {
        Some(x) => nearest_neighbours(queries, x, &cfg)?,
        None => dmd_analysis::nearest_neighbours_chunked(
            queries,
            data.len(),
            NN_CHUNK_BYTES / (4 * data.x.dim().max(1)),
            |start, len| data.x.range(start, len).map_err(anyhow::Error::from),
            &cfg,
        )?,
    })
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
    /// The library's measurements: Delta_E with its controls and bootstrap intervals, sliced
    /// W2, Frechet distances (teacher PCA space; MNIST classifier features), memorisation,
    /// displacement, PCA.
    pub metrics: RunMetrics,
    /// Distribution-fit verdict.
    pub fit: FitStatus,
    /// Toy data only: fractions on the support.
    pub support: Option<SupportSummary>,
    /// The teacher's fit to the training data (any data; absent in files written before it
    /// was measured).
    #[serde(default)]
    pub teacher_fit: Option<TeacherFit>,
    /// MNIST only: the feature classifier's test accuracy.
    pub classifier_test_accuracy: Option<f64>,
    /// Fresh-seed intervals, `Phi_1`'s row, the finite-N curve, the remapping ruler and the
    /// equivalent angles: what the verdict reads ([`crate::gates::pairing_verdict`]).
    #[serde(default)]
    pub evidence: Option<super::controls::PairingEvidence>,
    /// Hash of what these measurements were computed from (the teacher and student sample
    /// files' contents (sha256) and the `[eval]` settings): a `metrics.json` whose key
    /// differs from the current run's is recomputed, never reused.
    #[serde(default)]
    pub inputs: String,
}

impl StudentMetrics {
    /// `Delta_E(Phi_K, G)` with its interval (the paper's measure).
    pub fn student(&self) -> &DeltaEEstimate {
        &self.pairing().student
    }

    /// All Delta_E values.
    pub fn pairing(&self) -> &PairingReport {
        self.metrics
            .pairing
            .as_ref()
            .expect("the pipeline always measures the pairing")
    }
}

/// Version of the measurements themselves: bumped when a change to `dmd-analysis` alters the
/// numbers computed from the same samples, so that stored `metrics.json` files are recomputed.
/// 2: `Delta_E` bootstrap intervals re-centred on the estimate; the teacher's fit to the data.
/// 3: the teacher's nearest-neighbour ratio uses the true median (mean of the middle two).
/// 4-5: fresh-seed blocks, the finite-N curve, the remapping ruler, equivalent angles,
///    within-class pairing on conditional data, partner ranks, the fit on independent seeds,
///    the classifier teacher gate.
pub const ANALYSIS_VERSION: u32 = 5;

/// The [`StudentMetrics::inputs`] key of a student's measurements.
pub fn inputs_key(
    cfg: &ExperimentConfig,
    teacher_samples: &Path,
    student_samples: &Path,
) -> Result<String> {
    Ok(store::config_hash(&(
        ANALYSIS_VERSION,
        store::file_sha256(teacher_samples)?,
        store::file_sha256(student_samples)?,
        &cfg.eval,
    )))
}

/// Measures one student and writes `snap_dir/metrics.json` and the per-seed columns (skipped
/// when both exist and were computed from the same inputs, `inputs` = [`inputs_key`]).
pub fn analyze(
    cfg: &ExperimentConfig,
    snapshot: u64,
    input: &AnalysisInput,
    data: &TrainData,
    classifier: Option<&(Classifier, f64)>,
    snap_dir: &Path,
    inputs: &str,
) -> Result<StudentMetrics> {
    let path = snap_dir.join("metrics.json");
    let per_seed_path = snap_dir.join(PER_SEED);
    if let Some(m) = stored_metrics(&path, &per_seed_path, inputs) {
        return Ok(m);
    }
    let e = &cfg.eval;
    let plan = crate::config::EvalPlan::new(e, input.phi_k.nrows());
    let n = plan.n_pairing;
    if input.g.nrows() < n {
        bail!("student samples have {} rows, need {n}", input.g.nrows());
    }
    let rows = |a: &Array2<f32>| a.slice(s![..n, ..]).to_owned();
    let (phi_k, phi_1, phi_fine, g) = (
        rows(&input.phi_k),
        rows(&input.phi_1),
        rows(&input.phi_fine),
        rows(&input.g),
    );
    let m = n.min(input.phi_k_indep.nrows());
    let phi_k_indep = input.phi_k_indep.slice(s![..m, ..]).to_owned();
    let boot = BootstrapConfig {
        n_resamples: e.bootstrap,
        level: 0.95,
        seed: e.seed,
    };

    tracing::info!(n, "Delta_E and controls");
    let pairing = PairingReport::new(
        &PairingSets {
            k: e.reference_steps,
            phi_k: phi_k.view(),
            g: g.view(),
            fine: Some((e.fine_steps, phi_fine.view())),
            phi_1: Some(phi_1.view()),
            phi_k_independent: (m == n).then(|| phi_k_indep.view()),
        },
        (e.bootstrap >= 2).then_some(&boot),
        e.seed,
    )?;

    if input.ruler.len() != e.ruler_angles.len() {
        bail!(
            "the teacher samples hold {} ruler students but eval.ruler_angles has {}; delete the samples stage to redraw them",
            input.ruler.len(),
            e.ruler_angles.len()
        );
    }
    let evidence = super::controls::pairing_evidence(
        e,
        &plan,
        &super::controls::EvidenceInput {
            phi_k: &input.phi_k,
            phi_1: &input.phi_1,
            g: &input.g,
            ruler: &input.ruler,
            labels: input.labels.as_deref(),
        },
    )?;
    let ranks = dmd_analysis::partner_ranks(phi_k.view(), g.view())?;

    let pairs = DisplacementPairs::new(phi_k.view(), phi_1.view(), g.view())?;
    // The fit compares distributions, so the student (and its start Phi_1) are drawn on seeds
    // independent of the teacher's (the second block of N): on the same seeds a copier would
    // share the teacher's sampling noise and pass more easily than a remapper.
    let independent = input.g.nrows() >= 2 * n && input.phi_1.nrows() >= 2 * n;
    let fit_rows = |a: &Array2<f32>| {
        if independent {
            a.slice(s![n..2 * n, ..]).to_owned()
        } else {
            rows(a)
        }
    };
    let (g_fit, phi_1_fit) = (fit_rows(&input.g), fit_rows(&input.phi_1));
    let (sliced_w2, mut fit) = distribution_fit(
        e,
        &phi_k,
        &phi_fine,
        &phi_1_fit,
        &g_fit,
        &phi_k_indep,
        &pairs,
    )?;
    fit.independent_seeds = independent;
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let frechet = frechet_reports(n, &phi_k, &phi_1_fit, &g_fit, &phi_k_indep, classifier)?;
    tracing::info!(
        train = data.len(),
        "nearest training neighbours of the teacher samples"
    );
    let n_mem = plan.n_memorisation;
    // One pass over the training set answers both the teacher samples (memorisation) and as
    // many training rows (their distance to the nearest *other* row is their second
    // neighbour: the first is themselves), for the teacher's precision in `TeacherFit`.
    let n_own = n_mem.min(data.len());
    let own_rows = data.x.range(0, n_own)?;
    let queries = ndarray::concatenate(
        ndarray::Axis(0),
        &[phi_k.slice(s![..n_mem, ..]), own_rows.view()],
    )?;
    let mut nn = nearest_in_training_set(queries.view(), data)?;
    let own = nn.split_off(n_mem);
    let memorisation = MemorisationSummary::from_neighbours(&nn, e.memorisation_threshold)?;
    let delta = pairs.delta();
    let displacement = DisplacementSummary {
        mean_teacher_one_step: mean(&pairs.teacher_one_step),
        mean_student: mean(&pairs.student),
        fraction_closer: pairs.fraction_closer(),
        delta_vs_distance_to_train: CorrelationReport::new(&delta[..n_mem], &nn.mean_distance).ok(),
        mean_partner_rank: Some(ranks.mean_rank()),
        partner_rank_vs_distance_to_train: CorrelationReport::new(
            &ranks.rank[..n_mem],
            &nn.mean_distance,
        )
        .ok(),
    };
    let n_pca = plan.n_pca;
    let pca = Pca::fit(input.phi_k.slice(s![..n_pca, ..]), 2.min(phi_k.ncols()))?;

    let support = support_summary(cfg, data, &phi_fine, &phi_k, &g, n)?;

    // TeacherFit and ClassifierCheck read the first 2 x (teacher samples) training rows.
    let head_rows = data.x.range(0, 2 * phi_fine.nrows())?;
    let mut teacher_fit = TeacherFit::new(
        phi_fine.view(),
        head_rows.view(),
        &nn.d1,
        &own.d2,
        e.sw_projections,
        e.seed,
    )?;
    if let (Some(t), Some((c, _))) = (teacher_fit.as_mut(), classifier) {
        tracing::info!("the teacher through the feature classifier");
        t.classifier = Some(ClassifierCheck::new(c, phi_fine.view(), head_rows.view())?);
    }

    let metrics = StudentMetrics {
        experiment: cfg.name.clone(),
        snapshot,
        metrics: RunMetrics {
            label: format!("{} / teacher {snapshot} it", cfg.name),
            n_samples: n,
            pairing: Some(pairing),
            sliced_w2: Some(sliced_w2),
            frechet,
            memorisation: Some(memorisation),
            displacement: Some(displacement),
            pca: Some(PcaSummary {
                explained_variance_ratio: pca.explained_variance_ratio(),
            }),
            diversity: Some(DiversityReport::new(
                "pixels",
                phi_k.view(),
                g.view(),
                Some(phi_1.view()),
            )?),
        },
        fit,
        support,
        teacher_fit,
        classifier_test_accuracy: classifier.map(|(_, acc)| *acc),
        evidence: Some(evidence),
        inputs: inputs.to_string(),
    };
    std::fs::create_dir_all(snap_dir)?;
    write_per_seed(&per_seed_path, &pairs, &delta, &ranks, &nn)?;
    store::write_json_atomic(&path, &metrics)?;
    Ok(metrics)
}

/// A stored `metrics.json` computed from the same `inputs`, when it and the per-seed file
/// exist; otherwise `None` (logging why it is recomputed).
fn stored_metrics(path: &Path, per_seed: &Path, inputs: &str) -> Option<StudentMetrics> {
    if !(path.is_file() && per_seed.is_file()) {
        return None;
    }
    let text = std::fs::read_to_string(path).ok()?;
    match serde_json::from_str::<StudentMetrics>(&text) {
        Ok(m) if m.inputs == inputs => Some(m),
        Ok(_) => {
            tracing::info!(
                "{} was measured from other samples or settings; recomputing it",
                path.display()
            );
            None
        }
        Err(_) => {
            tracing::warn!("{} is unreadable; recomputing it", path.display());
            None
        }
    }
}

/// The distribution fit: sliced W2 against `Phi_K` (with the `Phi_K(z')` floor) as reported,
/// and the fit verdict against the fine reference ([`crate::gates::fit_verdict`]).
fn distribution_fit(
    e: &crate::config::EvalConfig,
    phi_k: &Array2<f32>,
    phi_fine: &Array2<f32>,
    phi_1: &Array2<f32>,
    g: &Array2<f32>,
    phi_k_indep: &Array2<f32>,
    pairs: &DisplacementPairs,
) -> Result<(SlicedW2Report, FitStatus)> {
    tracing::info!("distribution fit");
    // As Delta_E: against Phi_K (the paper's reference) with the Phi_K(z') noise floor.
    let sliced_w2 = SlicedW2Report::new(
        phi_k.view(),
        g.view(),
        Some(phi_1.view()),
        Some(phi_k_indep.view()),
        e.sw_projections,
        e.seed,
    )?;
    // The fit verdict uses the fine reference Phi_K': the DM gradient drives the student toward
    // the teacher's ODE distribution, which Euler-K samples only blur (on the chessboard 69% of
    // Phi_8 vs 85% of Phi_32 samples lie on the squares). Same-size noise floor: SW2 between the
    // two independent Phi_K sets.
    let fine_fit = SlicedW2Report::new(
        phi_fine.view(),
        g.view(),
        Some(phi_1.view()),
        None,
        e.sw_projections,
        e.seed,
    )?;
    let (sw_g, sw_1, floor) = (
        fine_fit.student,
        fine_fit.teacher_one_step.unwrap_or(f64::NAN),
        sliced_w2.floor.unwrap_or(0.0),
    );
    let gap_remaining = (sw_g - floor).max(0.0) / (sw_1 - floor).max(f64::MIN_POSITIVE);
    let status = fit_verdict(sw_1, floor, gap_remaining, e.fit_gap_max);
    let moved = dmd_analysis::row_distances(g.view(), phi_1.view())?;
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let fit = FitStatus {
        sw2_student_fine: sw_g,
        sw2_teacher_one_step_fine: sw_1,
        gap_remaining,
        status,
        converged: status == FitVerdict::Converged,
        moved_from_init: mean(&moved) / mean(&pairs.teacher_one_step).max(f64::MIN_POSITIVE),
        independent_seeds: false,
    };

    Ok((sliced_w2, fit))
}

/// Frechet distances: in the teacher's PCA space, and in the MNIST classifier's features.
fn frechet_reports(
    n: usize,
    phi_k: &Array2<f32>,
    phi_1: &Array2<f32>,
    g: &Array2<f32>,
    phi_k_indep: &Array2<f32>,
    classifier: Option<&(Classifier, f64)>,
) -> Result<Vec<FrechetReport>> {
    let pca_dims = phi_k.ncols().min(32).min(n.saturating_sub(1)).max(1);
    let mut frechet = vec![FrechetReport::in_pca_space(
        pca_dims,
        phi_k.view(),
        g.view(),
        Some(phi_1.view()),
        Some(phi_k_indep.view()),
    )?];
    if let Some((c, _)) = classifier {
        let f = |a: &Array2<f32>| c.features_of(a.view());
        let (fk, fg, f1, fi) = (f(phi_k), f(g), f(phi_1), f(phi_k_indep));
        frechet.push(FrechetReport::new(
            "mnist-classifier",
            fk.view(),
            fg.view(),
            Some(f1.view()),
            Some(fi.view()),
        )?);
    }
    Ok(frechet)
}

/// Toy data only: the fraction of data, teacher and student samples on the data's support.
fn support_summary(
    cfg: &ExperimentConfig,
    data: &TrainData,
    phi_fine: &Array2<f32>,
    phi_k: &Array2<f32>,
    g: &Array2<f32>,
    n: usize,
) -> Result<Option<SupportSummary>> {
    let support = match cfg.data.as_toy() {
        Some(_) => {
            let rep = |a: ArrayView2<f32>| -> Result<SupportReport> {
                cfg.data
                    .support_report(a, dmd_data::DEFAULT_OFF_PLANE_TOL)?
                    .context("toy data has a support test")
            };
            Some(SupportSummary {
                data: rep(data.x.range(0, n)?.view())?,
                teacher_fine: rep(phi_fine.view())?,
                teacher_k: rep(phi_k.view())?,
                student: rep(g.view())?,
            })
        }
        None => None,
    };

    Ok(support)
}

/// The per-seed columns ([`PER_SEED`]) for the figures.
fn write_per_seed(
    path: &Path,
    pairs: &DisplacementPairs,
    delta: &[f64],
    ranks: &dmd_analysis::PartnerRanks,
    nn: &dmd_analysis::NeighbourResult,
) -> Result<()> {
    let col = |v: &[f64]| Array2::from_shape_fn((v.len(), 1), |(i, _)| v[i] as f32);
    let ratios = dmd_analysis::memorisation_ratios(nn);
    let nearest: Vec<f64> = nn.nearest.iter().map(|&i| i as f64).collect();
    store::save_arrays(
        path,
        &[
            ("teacher_one_step", &col(&pairs.teacher_one_step)),
            ("student", &col(&pairs.student)),
            ("delta", &col(delta)),
            ("partner_rank", &col(&ranks.rank)),
            ("partner_p_value", &col(&ranks.p_value)),
            ("distance_to_train", &col(&nn.mean_distance)),
            ("memorisation_ratio", &col(&ratios)),
            ("nearest_train_index", &col(&nearest)),
        ],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The key follows the sample files' contents, not their paths: a file rewritten in place is
    /// a new key, the same bytes under another name the same key, and so is a changed `[eval]`.
    #[test]
    fn the_inputs_key_addresses_contents_not_paths() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let cfg = ExperimentConfig::load(&root.join("configs/moons-r4.toml"), "smoke", &[])
            .expect("shipped config");
        let tmp = tempfile::tempdir().unwrap();
        let (t, s, s2) = (
            tmp.path().join("t.npy"),
            tmp.path().join("s.npy"),
            tmp.path().join("copy-of-s.npy"),
        );
        std::fs::write(&t, b"teacher samples").unwrap();
        std::fs::write(&s, b"student samples").unwrap();
        std::fs::write(&s2, b"student samples").unwrap();
        let key = inputs_key(&cfg, &t, &s).unwrap();
        assert_eq!(
            key,
            inputs_key(&cfg, &t, &s2).unwrap(),
            "same bytes, same key"
        );
        std::fs::write(&s, b"student samples, retrained").unwrap();
        assert_ne!(
            key,
            inputs_key(&cfg, &t, &s).unwrap(),
            "same path, new bytes"
        );
        let mut other = cfg.clone();
        other.eval.n_samples += 1;
        assert_ne!(
            inputs_key(&cfg, &t, &s2).unwrap(),
            inputs_key(&other, &t, &s2).unwrap(),
            "[eval] is part of the key"
        );
    }
}
