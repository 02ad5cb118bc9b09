//! The measurements a pairing verdict rests on, beyond the paper's single `Delta_E`:
//! fresh-seed intervals (R disjoint blocks of N seeds), the same for the student's starting
//! point `Phi_1` (did it move?), the finite-N curve, the remapping ruler of this teacher at this
//! `D` and `N` (students `Phi_K(R_theta z)` with the teacher's exact distribution and a known
//! remapping), and the student's and `Phi_1`'s equivalent angles read from it. On conditional
//! data every one of them is within-class (only same-label pairs), so that getting the class
//! right is not scored as copying. The verdict itself is [`crate::gates::pairing_verdict`].

use anyhow::Result;
use dmd_analysis::{
    BootstrapConfig, EquivalentAngle, Extrapolation, FiniteNPoint, ReplicateSummary, Ruler,
    RulerPoint, block_pairings, delta_e_labelled, dt_ratio, extrapolate, finite_n_curve,
};
use ndarray::{Array2, ArrayView2, s};
use serde::{Deserialize, Serialize};

use crate::config::{EvalConfig, EvalPlan};
use crate::gates::LEVEL;

/// Bootstrap resamples of each ruler point (its copy-score interval says which angles the copy
/// score tells from a copy).
pub const RULER_BOOTSTRAP: usize = 50;

/// An equivalent angle with the angles of its interval's ends.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AngleInterval {
    /// The angle of the mean `E_DT / E_rand` over the fresh-seed blocks.
    pub estimate: EquivalentAngle,
    /// The angle of the interval's lower end.
    pub lower: EquivalentAngle,
    /// The angle of the interval's upper end.
    pub upper: EquivalentAngle,
}

impl AngleInterval {
    /// The angles of `ratio`'s mean and interval on `ruler`; `None` on an empty ruler.
    pub fn on(ruler: &Ruler, ratio: &ReplicateSummary) -> Option<Self> {
        Some(Self {
            estimate: ruler.equivalent_angle(ratio.mean)?,
            lower: ruler.equivalent_angle(ratio.lower)?,
            upper: ruler.equivalent_angle(ratio.upper)?,
        })
    }
}

/// Everything [`crate::gates::pairing_verdict`] reads about a student's pairing, as stored in
/// `metrics.json` (`evidence`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairingEvidence {
    /// Seeds per block (the claims' `N`).
    pub n: usize,
    /// Fresh-seed blocks `R` behind the intervals (which cover the evaluation seeds, not the
    /// training seeds: one student is one training run).
    pub replicates: usize,
    /// Whether the pairing measures are within-class (conditional data).
    pub within_class: bool,
    /// `G` against `Phi_K`, over the blocks.
    pub student: FiniteNPoint,
    /// `Phi_1` against `Phi_K`, over the blocks: where the student started.
    pub teacher_one_step: FiniteNPoint,
    /// The student's `Delta_E`, copy score and `E_DT / E_rand` against `N`.
    pub n_curve: Vec<FiniteNPoint>,
    /// The student's `Delta_E` extrapolated to large `N` from the curve (3 or more points).
    #[serde(default)]
    pub delta_e_large_n: Option<Extrapolation>,
    /// The student's copy score extrapolated to large `N`.
    #[serde(default)]
    pub copy_score_large_n: Option<Extrapolation>,
    /// The remapping ruler at `N` (its `theta = 0` point is the exact copy).
    pub ruler: Ruler,
    /// The smallest ruler angle whose copy-score interval lies below a copy's 1.
    pub copy_score_resolution: Option<f64>,
    /// The student's equivalent angle.
    pub student_angle: Option<AngleInterval>,
    /// `Phi_1`'s equivalent angle.
    pub teacher_one_step_angle: Option<AngleInterval>,
    /// The student's `E_DT / E_rand` interval is disjoint from `Phi_1`'s: its pairing measures
    /// tell it from its starting point.
    pub moved: bool,
}

/// The sample sets the evidence is measured on (rows aligned by seed).
pub struct EvidenceInput<'a> {
    /// `Phi_K(z)` over all drawn seeds.
    pub phi_k: &'a Array2<f32>,
    /// `Phi_1(z)` over all drawn seeds.
    pub phi_1: &'a Array2<f32>,
    /// `G(z)` over all drawn seeds.
    pub g: &'a Array2<f32>,
    /// The ruler's students `Phi_K(R_theta z)` on the first `N` seeds, one per
    /// `eval.ruler_angles`.
    pub ruler: &'a [Array2<f32>],
    /// Class labels of the seeds (conditional data).
    pub labels: Option<&'a [i64]>,
}

/// The remapping ruler of one teacher on its first `N` seeds: `phi_k_n` (`Phi_K(z)`, `N` rows)
/// against each of `rotated` (`Phi_K(R_theta z)` for `e.ruler_angles`, at least `N` rows),
/// within class with `labels`, plus the exact copy at `theta = 0`; each point with bootstrap
/// intervals when `intervals` (and `e.bootstrap >= 2`).
pub fn measure_ruler(
    e: &EvalConfig,
    phi_k_n: ArrayView2<f32>,
    rotated: &[Array2<f32>],
    labels: Option<&[i64]>,
    intervals: bool,
) -> Result<Ruler> {
    let n = phi_k_n.nrows();
    let boot = BootstrapConfig {
        n_resamples: e.bootstrap.min(RULER_BOOTSTRAP),
        level: LEVEL,
        seed: e.seed,
    };
    let boot = (intervals && boot.n_resamples >= 2).then_some(&boot);
    let mut points = Vec::with_capacity(rotated.len() + 1);
    for (&theta, rotated) in e.ruler_angles.iter().zip(rotated) {
        let pairing = delta_e_labelled(phi_k_n, rotated.slice(s![..n, ..]), labels, boot)?;
        points.push(RulerPoint {
            theta,
            dt_ratio: dt_ratio(&pairing),
            pairing,
        });
    }
    let e_rand = points.first().map_or(f64::NAN, |p| p.pairing.e_rand);
    points.push(RulerPoint::exact_copy(n, e_rand));
    Ok(Ruler::new(n, points))
}

/// Measures the [`PairingEvidence`] of one student.
pub fn pairing_evidence(
    e: &EvalConfig,
    plan: &EvalPlan,
    input: &EvidenceInput,
) -> Result<PairingEvidence> {
    let n = plan.n_pairing;
    let rows = n * plan.replicates;
    let labels_of = |m: usize| input.labels.map(|l| &l[..m]);
    tracing::info!(n, replicates = plan.replicates, "fresh-seed blocks");
    let point = |other: &Array2<f32>| -> Result<FiniteNPoint> {
        let blocks = block_pairings(
            input.phi_k.slice(s![..rows, ..]),
            other.slice(s![..rows, ..]),
            labels_of(rows),
            n,
        )?;
        FiniteNPoint::from_blocks(n, &blocks, LEVEL)
            .ok_or_else(|| anyhow::anyhow!("no fresh-seed block of {n} seeds"))
    };
    let student = point(input.g)?;
    let teacher_one_step = point(input.phi_1)?;
    tracing::info!(ns = ?plan.n_curve, "finite-N curve");
    let all = input.g.nrows().min(input.phi_k.nrows());
    let n_curve = finite_n_curve(
        input.phi_k.slice(s![..all, ..]),
        input.g.slice(s![..all, ..]),
        labels_of(all),
        &plan.n_curve,
        LEVEL,
    )?;
    tracing::info!(angles = input.ruler.len(), "remapping ruler");
    let ruler = measure_ruler(
        e,
        input.phi_k.slice(s![..n, ..]),
        input.ruler,
        labels_of(n),
        true,
    )?;
    let moved = student.dt_ratio.has_interval()
        && (student.dt_ratio.upper < teacher_one_step.dt_ratio.lower
            || student.dt_ratio.lower > teacher_one_step.dt_ratio.upper);
    let large_n = |f: fn(&FiniteNPoint) -> f64| {
        extrapolate(
            &n_curve
                .iter()
                .map(|p| (p.n as f64, f(p)))
                .collect::<Vec<_>>(),
        )
    };
    Ok(PairingEvidence {
        delta_e_large_n: large_n(|p| p.delta_e.mean),
        copy_score_large_n: large_n(|p| p.copy_score.mean),
        n,
        replicates: plan.replicates,
        within_class: input.labels.is_some(),
        student_angle: AngleInterval::on(&ruler, &student.dt_ratio),
        teacher_one_step_angle: AngleInterval::on(&ruler, &teacher_one_step.dt_ratio),
        copy_score_resolution: ruler.copy_score_resolution(),
        student,
        teacher_one_step,
        n_curve,
        ruler,
        moved,
    })
}
