//! Pairing over training: the student measured on a fixed panel of seeds while it trains.
//!
//! The panel is the first seeds of the teacher's sample sets (`eval.trajectory_seeds`, by
//! default all of the claims' `N = eval.n_samples`), with the teacher's `Phi_K(z)` and its
//! remapping ruler cached, and the teacher's `Phi_K(z')` on independent seeds for the fit. At every point the probe draws `G(z)` and
//! records the equivalent remapping angle on the ruler, `E_DT / E_rand`, the copy score,
//! `Delta_E` (within class on conditional data) and the sliced W2 of `G(z)` against `Phi_K(z')`
//! beside its noise floor `SW2(Phi_K(z), Phi_K(z'))`. The training loop adds the cumulative
//! learning rate and the DM loss ([`dmd_train::TrajectoryLine`]).
//!
//! `Delta_E` and the copy score stay at their copy values for rotations of the noise up to
//! about 0.5 rad on MNIST, so an early drift away from the teacher's pairing shows only in the
//! angle (read from `E_DT / E_rand`, which grows from the first degree on; misfit raises it
//! too, hence the fit beside it).

use std::path::Path;

use anyhow::Result;
use dmd_analysis::{EquivalentAngle, Ruler, delta_e_labelled, dt_ratio, sliced_wasserstein2};
use dmd_train::{DmdEngine, Probe, TrainError, TrajectoryLine};
use ndarray::{Array2, s};
use serde::{Deserialize, Serialize};
use tch::{Device, Tensor};

use super::controls::measure_ruler;
use super::sampling::{self, chunk_ranges};
use crate::config::ExperimentConfig;
use crate::store;

/// Seed of libtorch's generator before each observation (multi-step students draw re-noising
/// from it), so that a point does not depend on what ran before it.
const PROBE_SEED: i64 = 0x7a3c;

/// What the probe measures at one point (one line of `trajectory.jsonl`, with the fields of
/// [`dmd_train::TrajectoryLine`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairingPoint {
    /// `Delta_E(Phi_K, G)` on the panel (paper Eq. 6).
    pub delta_e: f64,
    /// Copy score `(E_rand - E_DT) / (E_rand - E_OT)`.
    pub copy_score: f64,
    /// `E_DT / E_rand`, the statistic the angle is read from.
    pub dt_ratio: f64,
    /// Share of seeds whose optimal partner is their own.
    pub fixed_point_fraction: f64,
    /// The equivalent remapping angle on the teacher's ruler (an upper bound on the remapping
    /// when the student does not fit).
    pub angle: Option<EquivalentAngle>,
    /// `SW2(G(z), Phi_K(z'))`: the fit, on seeds independent of the teacher's.
    pub fit_sw2: f64,
    /// `SW2(Phi_K(z), Phi_K(z'))`: the sampling noise floor of the fit at this `N`.
    pub fit_floor_sw2: f64,
    /// Seeds in the panel (0 in logs written before it was recorded).
    #[serde(default)]
    pub n: usize,
}

/// One line of a student's `trajectory.jsonl`, read back.
pub type TrajectoryPoint = TrajectoryLine<PairingPoint>;

/// The fixed panel and the teacher's cached references.
pub struct TrajectoryProbe {
    every: u64,
    z: Tensor,
    labels: Option<Tensor>,
    label_values: Option<Vec<i64>>,
    phi_k: Array2<f32>,
    phi_k_indep: Array2<f32>,
    ruler: Ruler,
    fit_floor_sw2: f64,
    sigmas: Vec<f64>,
    chunk: usize,
    sw_projections: usize,
    sw_seed: u64,
}

impl TrajectoryProbe {
    /// The panel of `cfg`'s first `eval.trajectory_seeds` seeds (all `eval.n_samples` by
    /// default; [`crate::config::EvalPlan::n_trajectory`]) from the teacher's sample sets in
    /// `teacher_samples`; `None` when `eval.trajectory_points` is 0.
    pub fn new(
        cfg: &ExperimentConfig,
        teacher_samples: &Path,
        device: Device,
    ) -> Result<Option<Self>> {
        let e = &cfg.eval;
        if e.trajectory_points == 0 {
            return Ok(None);
        }
        let mut t = store::load_arrays(teacher_samples)?;
        let mut take = |name: &str| {
            t.remove(name)
                .ok_or_else(|| anyhow::anyhow!("{} has no `{name}`", teacher_samples.display()))
        };
        let z_all = take("z")?;
        let n = crate::config::EvalPlan::new(e, z_all.nrows()).n_trajectory;
        let phi_k = take("phi_k")?.slice(s![..n, ..]).to_owned();
        let indep = take("phi_k_indep")?;
        let phi_k_indep = indep.slice(s![..n.min(indep.nrows()), ..]).to_owned();
        let rotated: Vec<Array2<f32>> = (0..e.ruler_angles.len())
            .map(|i| take(&format!("ruler_{i}")))
            .collect::<Result<_>>()?;
        let label_col = t.remove("labels");
        let label_values: Option<Vec<i64>> = label_col
            .as_ref()
            .map(|c| c.iter().take(n).map(|&v| v as i64).collect());
        let ruler = measure_ruler(e, phi_k.view(), &rotated, label_values.as_deref(), false)?;
        let z_rows = z_all.slice(s![..n, ..]).to_owned();
        let z = sampling::rows_to_tensor(&z_rows, &cfg.teacher.net.data_shape(), device)?;
        let labels = label_col
            .map(|c| sampling::labels_from_column(&c.slice(s![..n, ..]).to_owned(), device));
        let fit_floor_sw2 =
            sliced_wasserstein2(phi_k.view(), phi_k_indep.view(), e.sw_projections, e.seed)?;
        Ok(Some(Self {
            every: (cfg.distill.iterations / e.trajectory_points).max(1),
            z,
            labels,
            label_values,
            phi_k,
            phi_k_indep,
            ruler,
            fit_floor_sw2,
            sigmas: dmd_train::student_sigmas(cfg.distill.student_steps, cfg.distill.grid_size),
            chunk: e.chunk,
            sw_projections: e.sw_projections,
            sw_seed: e.seed,
        }))
    }

    fn measure(&self, engine: &DmdEngine) -> Result<PairingPoint> {
        tch::manual_seed(PROBE_SEED);
        let n = self.z.size()[0] as usize;
        let parts: Vec<Tensor> = chunk_ranges(n, self.chunk)
            .map(|(start, len)| {
                let (start, len) = (start as i64, len as i64);
                let y = self.labels.as_ref().map(|l| l.narrow(0, start, len));
                dmd_train::student_sample(
                    &engine.generator,
                    &self.z.narrow(0, start, len),
                    y.as_ref(),
                    &self.sigmas,
                )
            })
            .collect();
        let g = dmd_nets::convert::tensor_to_array(&Tensor::cat(&parts, 0));
        let p = delta_e_labelled(
            self.phi_k.view(),
            g.view(),
            self.label_values.as_deref(),
            None,
        )?;
        let ratio = dt_ratio(&p);
        Ok(PairingPoint {
            delta_e: p.delta_e,
            copy_score: p.copy_score,
            dt_ratio: ratio,
            fixed_point_fraction: p.fixed_point_fraction,
            angle: self.ruler.equivalent_angle(ratio),
            fit_sw2: sliced_wasserstein2(
                g.view(),
                self.phi_k_indep.view(),
                self.sw_projections,
                self.sw_seed,
            )?,
            fit_floor_sw2: self.fit_floor_sw2,
            n,
        })
    }
}

impl Probe for TrajectoryProbe {
    type Record = PairingPoint;

    fn every(&self) -> u64 {
        self.every
    }

    fn observe(&mut self, engine: &DmdEngine) -> Result<PairingPoint, TrainError> {
        self.measure(engine)
            .map_err(|e| TrainError::Probe(format!("{e:#}")))
    }
}

/// A student's `trajectory.jsonl` read back (`None` when it has none: a student trained
/// before trajectories existed, or with `eval.trajectory_points = 0`).
pub fn read(stage_dir: &Path) -> Result<Option<Vec<TrajectoryPoint>>> {
    let path = stage_dir.join(dmd_train::dmd::files::TRAJECTORY);
    if !path.is_file() {
        return Ok(None);
    }
    Ok(Some(dmd_train::read_trajectory(&path)?))
}
