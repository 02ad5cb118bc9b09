//! EDM teacher training (Karras et al. 2022, Eq. 2 with `lambda(sigma)` and the noise-level
//! distribution of Table 1): `ln sigma ~ N(P_mean, P_std^2)`, `n ~ N(0, sigma^2 I)`,
//! `L = E[ lambda(sigma) ||D(y + n; sigma, c) - y||^2 ]` with `lambda = (sigma^2 + sd^2)/(sigma sd)^2`
//! (summed over a sample's values, averaged over the batch; computed by
//! [`dmd_nets::loss::edm_loss`]), Adam with a linear learning-rate ramp-up, an optional weight
//! EMA, dropout as configured in the network, class labels when the data has them. Snapshots
//! (EMA weights when enabled) are saved after the listed iteration counts.

use std::path::{Path, PathBuf};
use std::time::Instant;

use dmd_nets::denoiser::Denoiser;
use dmd_nets::loss::{EdmLossForm, edm_loss, sample_training_sigmas};
use serde::{Deserialize, Serialize};
use tch::Tensor;

use crate::checkpoint::{self, STATE_FILE};
use crate::config::{EmaConfig, TeacherConfig};
use crate::data::TrainData;
use crate::dmd::save_denoiser;
use crate::error::TrainError;
use crate::metrics::MetricLog;
use crate::optim::AdamW;
use crate::progress::iteration_bar;
use crate::rng::{Stream, reseed};
use crate::schedule::warmup_lr;

/// File names inside a teacher run directory.
pub mod files {
    /// Per-iteration metrics (JSON lines).
    pub const METRICS: &str = "metrics.jsonl";
    /// Final teacher (EMA weights when the EMA is on).
    pub const TEACHER: &str = "teacher.safetensors";
    /// Folder of the snapshots `teacher-{iteration:06}.safetensors`.
    pub const SNAPSHOTS: &str = "snapshots";
}

/// One line of the teacher's `metrics.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeacherRecord {
    /// Iteration index (0-based).
    pub iteration: u64,
    /// EDM loss of the batch.
    pub loss: f64,
    /// Gradient norm (before the optional clip).
    pub grad_norm: f64,
    /// Learning rate of this iteration.
    pub lr: f64,
    /// EMA decay of this iteration (absent without EMA).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ema_beta: Option<f64>,
    /// Seconds since the run started (accumulated over resumes).
    pub wall_s: f64,
}

/// What teacher training leaves behind.
#[derive(Debug, Clone)]
pub struct TeacherOutcome {
    /// The final teacher checkpoint.
    pub teacher_path: PathBuf,
    /// `(iteration, path)` of every snapshot, ascending.
    pub snapshots: Vec<(u64, PathBuf)>,
    /// JSONL metrics.
    pub metrics_path: PathBuf,
    /// Iterations completed.
    pub iterations: u64,
    /// The iteration this call resumed from, when it did.
    pub resumed_from: Option<u64>,
    /// Wall time accumulated over resumes.
    pub wall_s: f64,
}

/// The path of the snapshot after `iteration` updates.
pub fn snapshot_path(run_dir: &Path, iteration: u64) -> PathBuf {
    run_dir
        .join(files::SNAPSHOTS)
        .join(format!("teacher-{iteration:06}.safetensors"))
}

/// EMA decay after `cur_nimg` images with batch `batch` (EDM training_loop.py).
pub fn ema_beta(ema: &EmaConfig, batch: usize, cur_nimg: f64) -> f64 {
    let mut half = ema.halflife_nimg;
    if let Some(r) = ema.rampup_ratio {
        half = half.min(cur_nimg * r);
    }
    0.5f64.powf(batch as f64 / half.max(1e-8))
}

/// The teacher's training state.
struct TeacherState {
    net: Denoiser,
    ema: Option<Denoiser>,
    opt: AdamW,
    step: u64,
}

impl TeacherState {
    fn tensors(&self) -> Vec<(String, Tensor)> {
        let mut t = checkpoint::var_store_tensors(&self.net.vs, "net.");
        if let Some(e) = &self.ema {
            t.extend(checkpoint::var_store_tensors(&e.vs, "ema."));
        }
        t.extend(self.opt.state_tensors("opt."));
        t.push(("meta.step".into(), Tensor::from(self.step as i64)));
        t
    }

    fn restore(&mut self, t: &std::collections::HashMap<String, Tensor>) -> Result<(), String> {
        checkpoint::restore_var_store(&self.net.vs, t, "net.")?;
        if let Some(e) = &self.ema {
            checkpoint::restore_var_store(&e.vs, t, "ema.")?;
        }
        self.opt.load_state(t, "opt.")?;
        self.step =
            u64::try_from(checkpoint::get_i64(t, "meta.step")?).map_err(|e| e.to_string())?;
        Ok(())
    }

    /// The weights snapshots and the final teacher use.
    fn published(&self) -> &Denoiser {
        self.ema.as_ref().unwrap_or(&self.net)
    }
}

/// Trains an EDM teacher on `data` in `run_dir` (created if needed); resumes from
/// `run_dir/state.safetensors` when present (same config apart from `iterations`,
/// `checkpoint_every`, `progress`).
pub fn train_teacher(
    cfg: &TeacherConfig,
    data: &TrainData,
    run_dir: &Path,
) -> Result<TeacherOutcome, TrainError> {
    cfg.validate()?;
    let device = cfg
        .device
        .resolve()
        .map_err(|e| TrainError::Config(e.to_string()))?;
    if data.shape != cfg.net.data_shape() {
        return Err(TrainError::Data(format!(
            "data has per-sample shape {:?}, the network expects {:?}",
            data.shape,
            cfg.net.data_shape()
        )));
    }
    let classes = cfg.net.num_classes();
    match (&data.labels, classes) {
        (None, c) if c > 0 => {
            return Err(TrainError::Data(format!(
                "the network is conditional on {c} classes but the data has no labels"
            )));
        }
        (Some(_), c) if data.label_count() > c => {
            return Err(TrainError::Data(format!(
                "labels go up to {} but the network has {c} classes (0 = unconditional: \
                 the labels are then ignored only if you drop them)",
                data.label_count() - 1
            )));
        }
        _ => {}
    }
    std::fs::create_dir_all(run_dir.join(files::SNAPSHOTS))
        .map_err(|e| TrainError::io(run_dir, e))?;

    reseed(cfg.seed, Stream::Init, 0);
    let mut net = Denoiser::new(&cfg.net, device)?;
    net.precision = cfg.autocast;
    let ema = cfg.ema.as_ref().map(|_| net.try_clone()).transpose()?;
    let opt = AdamW::for_var_store(&net.vs, cfg.adam);
    let mut st = TeacherState {
        net,
        ema,
        opt,
        step: 0,
    };

    let state_path = run_dir.join(STATE_FILE);
    let config_json = serde_json::to_value(cfg)?;
    let mut wall_offset = 0.0;
    let mut resumed_from = None;
    if let Some(r) = checkpoint::load_resumable(&state_path, &config_json)? {
        st.restore(&r.tensors)
            .map_err(|message| TrainError::Checkpoint {
                path: state_path.clone(),
                message,
            })?;
        wall_offset = r.wall_s;
        resumed_from = Some(st.step);
        tracing::info!(step = st.step, "resuming teacher training");
    }

    let x_all = data.batches(device);
    let y_all = if classes > 0 {
        data.labels_tensor(device)
    } else {
        None
    };
    let n = data.len() as i64;
    let b = cfg.batch_size as i64;

    let metrics_path = run_dir.join(files::METRICS);
    let mut log = MetricLog::open(&metrics_path, st.step)?;
    let start = Instant::now();
    let save_state = |st: &TeacherState, wall: f64| {
        checkpoint::save_resumable(&state_path, st.tensors(), wall, &config_json)
    };
    let bar = iteration_bar("teacher", st.step, cfg.iterations, cfg.progress);
    while st.step < cfg.iterations {
        let k = st.step;
        reseed(cfg.seed, Stream::Iteration, k);
        let lr = warmup_lr(cfg.lr, k, cfg.lr_rampup_iters);
        let idx = Tensor::randint(n, [b], (tch::Kind::Int64, device));
        let y = x_all.draw(&idx)?;
        let labels = y_all.as_ref().map(|l| l.index_select(0, &idx));
        let sigma = sample_training_sigmas(b, cfg.p_mean, cfg.p_std, device);
        let noise = y.randn_like();
        let loss = edm_loss(
            &st.net,
            &y,
            &sigma,
            &noise,
            labels.as_ref(),
            true,
            EdmLossForm::Weighted,
        );
        let loss_v = loss.double_value(&[]);
        if !loss_v.is_finite() {
            bar.abandon();
            return Err(TrainError::non_finite(k, "teacher EDM loss"));
        }
        st.opt.zero_grad();
        loss.f_backward()?;
        let grad_norm = match cfg.grad_clip {
            Some(c) => st.opt.clip_grad_norm(c),
            None => st.opt.grad_norm(),
        };
        if !grad_norm.is_finite() {
            bar.abandon();
            return Err(TrainError::non_finite(k, "teacher gradient norm"));
        }
        st.opt.step(lr);
        let mut ema_b = None;
        if let (Some(ema), Some(ec)) = (&st.ema, &cfg.ema) {
            let beta = ema_beta(ec, cfg.batch_size, ((k + 1) * cfg.batch_size as u64) as f64);
            tch::no_grad(|| {
                let src = st.net.vs.variables();
                for (name, mut e) in ema.vs.variables() {
                    if let Some(p) = src.get(&name) {
                        // ema <- p + beta (ema - p)  (= lerp(p, ema, beta))
                        e.copy_(&p.lerp(&e, beta));
                    }
                }
            });
            ema_b = Some(beta);
        }
        st.step += 1;
        let wall = wall_offset + start.elapsed().as_secs_f64();
        log.write(&TeacherRecord {
            iteration: k,
            loss: loss_v,
            grad_norm,
            lr,
            ema_beta: ema_b,
            wall_s: wall,
        })?;
        bar.inc();
        if cfg.snapshots.contains(&st.step) {
            save_denoiser(st.published(), &snapshot_path(run_dir, st.step))?;
        }
        if st.step.is_multiple_of(cfg.checkpoint_every) && st.step < cfg.iterations {
            save_state(&st, wall)?;
        }
        if crate::interrupt::requested() && st.step < cfg.iterations {
            save_state(&st, wall)?;
            bar.abandon();
            tracing::warn!(step = st.step, "teacher training interrupted; state saved");
            return Err(TrainError::Interrupted { iteration: st.step });
        }
    }
    bar.finish();
    let wall_s = wall_offset + start.elapsed().as_secs_f64();
    save_state(&st, wall_s)?;
    let teacher_path = run_dir.join(files::TEACHER);
    save_denoiser(st.published(), &teacher_path)?;
    let mut snapshots: Vec<(u64, PathBuf)> = cfg
        .snapshots
        .iter()
        .filter(|&&i| i <= st.step)
        .map(|&i| (i, snapshot_path(run_dir, i)))
        .filter(|(_, p)| p.exists())
        .collect();
    snapshots.sort();
    snapshots.dedup();
    tracing::info!(iterations = st.step, wall_s, "teacher training finished");
    Ok(TeacherOutcome {
        teacher_path,
        snapshots,
        metrics_path,
        iterations: st.step,
        resumed_from,
        wall_s,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ema_beta_follows_edm() {
        let e = EmaConfig {
            halflife_nimg: 500_000.0,
            rampup_ratio: None,
        };
        let b = ema_beta(&e, 512, 1e9);
        assert!((b - 0.5f64.powf(512.0 / 500_000.0)).abs() < 1e-15);
        let r = EmaConfig {
            halflife_nimg: 500_000.0,
            rampup_ratio: Some(0.05),
        };
        // early: half-life = 0.05 * 512 = 25.6 images -> beta = 0.5^20
        assert!((ema_beta(&r, 512, 512.0) - 0.5f64.powf(20.0)).abs() < 1e-12);
    }
}
