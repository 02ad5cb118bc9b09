//! The DMD distillation engine (DMD2 on EDM: Yin et al. 2024 with the EDM networks of Karras
//! et al. 2022; the paper's section 2.2 and Appendix E), with the GAN and regression ablations
//! and DP-DMD.
//!
//! Per iteration `k` (libtorch's generator reseeded from `(seed, k)`; [`DmdEngine::iteration`]):
//! 1. generator forward `x = G(z) = D_theta(T z; T, y)`, `z ~ N(0, I)`, `T = 80`
//!    (with gradient only when `k % update_ratio == 0`);
//! 2. on those iterations the generator step with the DM gradient (the paper's Eq. 3 in DMD2's
//!    form, [`dm_gradient`]): `x_t = x + sigma eps` with grid index `~ U{20..980}` of the
//!    ascending 1000-point Karras grid, `p_real = x - D_real(x_t)`, `p_fake = x - D_fake(x_t)`,
//!    `g = (p_real - p_fake) / mean|p_real|` (per sample), surrogate
//!    `L = 0.5 mean((x - sg(x - g))^2)` whose gradient is `g / numel` ([`dm_surrogate_loss`]);
//!    AdamW, grad-norm clip 10;
//! 3. every iteration the fake-score DSM step on the same, pre-update samples, detached:
//!    index `~ U{0..999}`, `L = mean((1/sigma^2 + 1/sigma_data^2) (D_fake(x + sigma eps) - x)^2)`
//!    ([`fake_score_loss`]).
//!
//! Both learning rates follow a linear warm-up stepped every iteration.

use std::path::{Path, PathBuf};
use std::time::Instant;

use dmd_nets::denoiser::{Denoiser, Precision};
use dmd_nets::karras::{RHO, SIGMA_MAX, SIGMA_MIN, karras_sigmas};
use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

use crate::checkpoint::{self, STATE_FILE};
use crate::config::{DistillConfig, GanReal, StudentInit};
use crate::data::TrainData;
use crate::error::TrainError;
use crate::gan::{self, GanHead};
use crate::metrics::MetricLog;
use crate::ode::{euler_rollout, teacher_sample};
use crate::optim::AdamW;
use crate::progress::iteration_bar;
use crate::rng::{Stream, reseed};
use crate::schedule::{SigmaGrid, index_range, warmup_lr};
use crate::score_model::ScoreModel;
use crate::trajectory::{NoProbe, Probe, TrajectoryLine, Window, is_point};

/// File names inside a distillation run directory.
pub mod files {
    /// Per-iteration metrics (JSON lines).
    pub const METRICS: &str = "metrics.jsonl";
    /// Final generator (a `dmd_nets` checkpoint, loadable with `Denoiser::load`).
    pub const GENERATOR: &str = "generator.safetensors";
    /// Final fake score.
    pub const FAKE: &str = "fake.safetensors";
    /// The generator measured during training (JSON lines, [`crate::trajectory::TrajectoryLine`]).
    pub const TRAJECTORY: &str = "trajectory.jsonl";
}

/// One line of `metrics.jsonl`. `dm_loss` and `generator_grad_norm` are `null` on iterations
/// without a generator update; the ablation fields are absent when their term is off.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DistillRecord {
    /// Iteration index (0-based).
    pub iteration: u64,
    /// Whether the generator was updated this iteration.
    pub generator_step: bool,
    /// DM surrogate loss `0.5 mean(g^2)` (the paper's Figure 4).
    pub dm_loss: Option<f64>,
    /// Fake-score DSM loss (plus the GAN D term when enabled).
    pub fake_loss: f64,
    /// Generator gradient norm before clipping.
    pub generator_grad_norm: Option<f64>,
    /// Fake-score gradient norm before clipping.
    pub fake_grad_norm: f64,
    /// Generator learning rate of this iteration.
    pub lr_generator: f64,
    /// Fake-score learning rate of this iteration.
    pub lr_fake: f64,
    /// GAN generator loss (unweighted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gan_g_loss: Option<f64>,
    /// GAN discriminator loss (unweighted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gan_d_loss: Option<f64>,
    /// Regression loss (unweighted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regression_loss: Option<f64>,
    /// DP-DMD diversity loss (unweighted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diversity_loss: Option<f64>,
    /// Seconds since the run started (accumulated over resumes).
    pub wall_s: f64,
}

/// Counters that make the schedule checkable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DistillStats {
    /// Generator updates taken.
    pub generator_updates: u64,
    /// Fake-score updates taken.
    pub fake_updates: u64,
    /// How often each ascending grid index was drawn for the DM gradient.
    pub dm_sigma_index_counts: Vec<i64>,
    /// How often each ascending grid index was drawn for the fake-score DSM loss.
    pub fake_sigma_index_counts: Vec<i64>,
}

/// What a finished distillation leaves behind.
#[derive(Debug, Clone)]
pub struct DistillOutcome {
    /// The final generator checkpoint (`dmd_nets` format).
    pub generator_path: PathBuf,
    /// The final fake-score checkpoint.
    pub fake_path: PathBuf,
    /// The resumable training state.
    pub state_path: PathBuf,
    /// The JSONL metrics.
    pub metrics_path: PathBuf,
    /// Iterations completed in total.
    pub iterations: u64,
    /// The iteration this call resumed from, when it did.
    pub resumed_from: Option<u64>,
    /// Schedule counters.
    pub stats: DistillStats,
    /// Wall time of the whole run, accumulated over resumes.
    pub wall_s: f64,
}

/// The noise levels of an N-step student, descending from `sigma_max`: the ascending grid
/// indices `n-1 - floor(i n / N)` (DMD2's `[999, 749, 499, 249]` for N = 4, n = 1000).
pub fn student_sigmas(steps: usize, grid_size: usize) -> Vec<f64> {
    let desc = karras_sigmas(grid_size, SIGMA_MIN, SIGMA_MAX, RHO);
    (0..steps).map(|i| desc[i * grid_size / steps]).collect()
}

/// Samples an N-step student: `x_0 = G(s_0 z; s_0)`, then for `i >= 1` re-noise
/// `x_i = G(x_{i-1} + s_i eps_i; s_i)` with fresh `eps_i`. For one step this is `G(z)`.
///
/// Always in f32, whatever precision the generator trains in (`distill.autocast`): these are
/// the samples the measurements use.
pub fn student_sample(
    generator: &Denoiser,
    z: &Tensor,
    labels: Option<&Tensor>,
    sigmas: &[f64],
) -> Tensor {
    tch::no_grad(|| rollout(generator, Precision::F32, z, labels, sigmas, false, false).0)
}

/// The generator roll-out; returns the final sample and the first step's output. With
/// `detach_first` the later steps see a detached copy of the first output.
fn rollout(
    generator: &Denoiser,
    precision: Precision,
    z: &Tensor,
    labels: Option<&Tensor>,
    sigmas: &[f64],
    train: bool,
    detach_first: bool,
) -> (Tensor, Tensor) {
    let b = z.size()[0];
    let full = |s: f64| Tensor::full([b], s, (Kind::Float, z.device()));
    let x0 = generator.denoise_in(precision, &(z * sigmas[0]), &full(sigmas[0]), labels, train);
    let mut x = if detach_first {
        x0.detach()
    } else {
        x0.shallow_clone()
    };
    for &s in &sigmas[1..] {
        let noisy = &x + x.randn_like() * s;
        x = generator.denoise_in(precision, &noisy, &full(s), labels, train);
    }
    (x, x0)
}

/// Per-sample broadcast of a `[B]` tensor against `[B, ...]`.
fn per_sample(v: &Tensor, ndim: usize) -> Tensor {
    let mut shape = vec![-1i64];
    shape.extend(std::iter::repeat_n(1i64, ndim - 1));
    v.reshape(shape.as_slice())
}

/// The distribution-matching (DM) gradient: the paper's Eq. 3 ("Why Are DMD Students Lazy?",
/// the DMD generator gradient) in DMD2's normalised form (Yin et al. 2024, with the weighting of
/// DMD, Yin et al. 2023). For generator samples `x` (`[B, ...]`, detached), a noise level
/// `sigma` and `x_t = x + sigma eps`, given `d_real = D_real(x_t; sigma)` (the teacher) and
/// `d_fake = D_fake(x_t; sigma)` (the fake score), both shaped like `x`:
///
/// `g = ((x - D_real) - (x - D_fake)) / w = sigma^2 (s_fake(x_t) - s_real(x_t)) / w`,
/// `w = mean_values |x - D_real|` per sample,
///
/// where `s = (D - x_t)/sigma^2` is the score (Karras et al. 2022, Eq. 3). The normalisation `w`
/// is DMD's `w_t = sigma_t^2 / alpha_t * CS / ||mu_real(x_t) - x||_1` with `alpha_t = 1` (the
/// `CS/||.||_1` is the mean over the sample's `C S` values), which also cancels the score's
/// `1/sigma^2`. Descending on `g` moves `x` along `s_real - s_fake`. Non-finite entries (e.g.
/// `0/0` where `D_real = x` exactly) are set to 0. Same shape as `x`, f32.
pub fn dm_gradient(x: &Tensor, d_real: &Tensor, d_fake: &Tensor) -> Tensor {
    let p_real = x - d_real;
    let p_fake = x - d_fake;
    let dims: Vec<i64> = (1..x.dim() as i64).collect();
    let w = p_real.abs().mean_dim(dims.as_slice(), true, Kind::Float);
    ((p_real - p_fake) / w).nan_to_num(0.0, 0.0, 0.0)
}

/// The generator's DM surrogate loss `L = 0.5 mean((x - sg(x - g))^2)` for samples `x` (with
/// gradient) and the DM gradient `g` of [`dm_gradient`] (`sg` = stop-gradient): its value is
/// `0.5 mean(g^2)` (the paper's Figure 4) and its gradient with respect to `x` is `g / numel`,
/// so backpropagating it applies `g` to the generator.
pub fn dm_surrogate_loss(x: &Tensor, g: &Tensor) -> Tensor {
    let target = (x - g).detach();
    (x - target).square().mean(Kind::Float) * 0.5
}

/// The fake score's denoising score-matching loss (DMD2, Yin et al. 2024: the fake diffusion
/// model is trained with the standard denoising objective on the generator's samples), in EDM
/// form: for detached generator samples `x` (`[B, ...]`) and noise levels `sigma` (`[B]`),
/// drawing `eps ~ N(0, I)` (one `randn_like(x)` from libtorch's generator),
///
/// `L = mean_{b, values} (1/sigma^2 + 1/sigma_data^2) (D_fake(x + sigma eps; sigma) - x)^2`,
///
/// i.e. the EDM loss (Karras et al. 2022, Eq. 2 with `lambda(sigma) = (sigma^2 +
/// sigma_data^2)/(sigma sigma_data)^2` of Table 1, written as `1/sigma^2 + 1/sigma_data^2`)
/// averaged over the values of a sample instead of summed, with `sigma` from the training grid
/// rather than log-normal. `train` enables the fake network's dropout. Scalar f32 with gradient
/// through the fake network.
pub fn fake_score_loss(
    fake: &Denoiser,
    x: &Tensor,
    sigma: &Tensor,
    labels: Option<&Tensor>,
    train: bool,
) -> Tensor {
    let sig = per_sample(sigma, x.dim());
    let x_t = x + x.randn_like() * &sig;
    let d = fake.denoise(&x_t, sigma, labels, train);
    let sd2 = fake.sigma_data * fake.sigma_data;
    let weight = sig.square().reciprocal() + 1.0 / sd2;
    (weight * (d - x).square()).mean(Kind::Float)
}

fn is_finite(t: &Tensor) -> bool {
    t.isfinite().all().int64_value(&[]) == 1
}

fn finite(value: f64, iteration: u64, what: &str) -> Result<f64, TrainError> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(TrainError::non_finite(iteration, what))
    }
}

/// Real samples of the GAN discriminator.
struct GanState {
    head: GanHead,
    opt: AdamW,
    real: crate::data::Batches,
    real_labels: Option<Tensor>,
}

/// Fixed regression pairs `(z, Phi_K(z))`.
struct RegressionPool {
    z: Tensor,
    target: Tensor,
    labels: Option<Tensor>,
}

/// The distillation state: generator, fake score, optimisers, counters. Use [`distill`] for
/// a run with a directory; use the engine directly for benchmarks and in-memory experiments.
pub struct DmdEngine<'a> {
    cfg: DistillConfig,
    teacher: &'a dyn ScoreModel,
    /// The one-step (or N-step) student generator `G`.
    pub generator: Denoiser,
    /// The fake score `s_psi`.
    pub fake: Denoiser,
    opt_g: AdamW,
    opt_f: AdamW,
    gan: Option<GanState>,
    regression: Option<RegressionPool>,
    grid: SigmaGrid,
    dm_range: (i64, i64),
    sigmas: Vec<f64>,
    data_shape: Vec<i64>,
    num_classes: usize,
    device: Device,
    dm_hist: Tensor,
    fake_hist: Tensor,
    generator_updates: u64,
    fake_updates: u64,
    step: u64,
}

impl std::fmt::Debug for DmdEngine<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DmdEngine")
            .field("step", &self.step)
            .field("generator_updates", &self.generator_updates)
            .field("fake_updates", &self.fake_updates)
            .finish_non_exhaustive()
    }
}

impl<'a> DmdEngine<'a> {
    /// Builds generator and fake score (from the teacher or fresh), optimisers and pools.
    /// `real_data` is needed only by the GAN term with `real = data`.
    pub fn new(
        cfg: &DistillConfig,
        teacher: &'a dyn ScoreModel,
        real_data: Option<&TrainData>,
    ) -> Result<Self, TrainError> {
        cfg.validate()?;
        let device = teacher.device();
        let data_shape = teacher.data_shape();
        let num_classes = teacher.num_classes();
        reseed(cfg.seed, Stream::Init, 0);
        let generator = match &cfg.init {
            StudentInit::Teacher => teacher
                .as_denoiser()
                .ok_or_else(|| {
                    TrainError::Config(
                        "init.from = \"teacher\" needs a network teacher; for a closed-form \
                         teacher use init = { from = \"fresh\", net = ... }"
                            .into(),
                    )
                })?
                .try_clone()?,
            StudentInit::Fresh { net } => {
                if net.data_shape() != data_shape || net.num_classes() != num_classes {
                    return Err(TrainError::Config(format!(
                        "init.net has data shape {:?} and {} classes, the teacher {:?} and {}",
                        net.data_shape(),
                        net.num_classes(),
                        data_shape,
                        num_classes
                    )));
                }
                Denoiser::new(net, device)?
            }
        };
        let mut generator = generator;
        generator.precision = cfg.autocast;
        let fake = generator.try_clone()?;
        let opt_g = AdamW::for_var_store(&generator.vs, cfg.optimizer);
        let opt_f = AdamW::for_var_store(&fake.vs, cfg.optimizer);
        let desc = karras_sigmas(cfg.grid_size, SIGMA_MIN, SIGMA_MAX, RHO);
        let grid = SigmaGrid::from_descending(&desc, device);
        let dm_range = index_range(cfg.grid_size, cfg.dm_min_frac, cfg.dm_max_frac);
        let sigmas = student_sigmas(cfg.student_steps, cfg.grid_size);
        let n = cfg.grid_size as i64;
        let mut engine = DmdEngine {
            cfg: cfg.clone(),
            teacher,
            generator,
            fake,
            opt_g,
            opt_f,
            gan: None,
            regression: None,
            grid,
            dm_range,
            sigmas,
            data_shape,
            num_classes,
            device,
            dm_hist: Tensor::zeros([n], (Kind::Int64, device)),
            fake_hist: Tensor::zeros([n], (Kind::Int64, device)),
            generator_updates: 0,
            fake_updates: 0,
            step: 0,
        };
        if cfg.gan.enabled {
            engine.gan = Some(engine.build_gan(real_data)?);
        }
        if cfg.regression.enabled {
            engine.regression = Some(engine.build_regression_pool());
        }
        Ok(engine)
    }

    fn batch_shape(&self, b: i64) -> Vec<i64> {
        let mut s = vec![b];
        s.extend(&self.data_shape);
        s
    }

    fn draw_labels(&self, b: i64) -> Option<Tensor> {
        (self.num_classes > 0)
            .then(|| Tensor::randint(self.num_classes as i64, [b], (Kind::Int64, self.device)))
    }

    fn build_gan(&self, real_data: Option<&TrainData>) -> Result<GanState, TrainError> {
        let (real, real_labels) = match &self.cfg.gan.real {
            GanReal::Data => {
                let d = real_data.ok_or_else(|| {
                    TrainError::Config(
                        "gan.real = data needs the training data; pass it to distill or use \
                         gan.real = { source = \"teacher\" }"
                            .into(),
                    )
                })?;
                if d.shape != self.data_shape {
                    return Err(TrainError::Data(format!(
                        "GAN real data has shape {:?}, the teacher {:?}",
                        d.shape, self.data_shape
                    )));
                }
                let labels = d.labels_tensor(self.device);
                if (self.num_classes > 0) != labels.is_some() {
                    return Err(TrainError::Data(
                        "GAN real data must carry labels exactly when the networks are conditional"
                            .into(),
                    ));
                }
                (d.batches(self.device), labels)
            }
            GanReal::Teacher { steps, pool_size } => {
                reseed(self.cfg.seed, Stream::Pool, 1);
                let n = *pool_size as i64;
                let z = Tensor::randn(self.batch_shape(n).as_slice(), (Kind::Float, self.device));
                let y = self.draw_labels(n);
                let x = teacher_sample(
                    self.teacher,
                    &z,
                    y.as_ref(),
                    *steps,
                    self.cfg.batch_size as i64,
                );
                (crate::data::Batches::Resident(x), y)
            }
        };
        // probe the feature shape with a deterministic forward pass
        let probe = Tensor::zeros(self.batch_shape(2).as_slice(), (Kind::Float, self.device));
        let sigma = Tensor::ones([2], (Kind::Float, self.device));
        let y = (self.num_classes > 0).then(|| Tensor::zeros([2], (Kind::Int64, self.device)));
        let (_, feats) = tch::no_grad(|| {
            self.fake
                .denoise_with_features(&probe, &sigma, y.as_ref(), false)
        });
        reseed(self.cfg.seed, Stream::Init, 1);
        let head = GanHead::new(&feats.size(), self.device)?;
        let opt = AdamW::for_var_store(&head.vs, self.cfg.optimizer);
        Ok(GanState {
            head,
            opt,
            real,
            real_labels,
        })
    }

    fn build_regression_pool(&self) -> RegressionPool {
        reseed(self.cfg.seed, Stream::Pool, 2);
        let r = &self.cfg.regression;
        let n = r.pool_size as i64;
        let z = Tensor::randn(self.batch_shape(n).as_slice(), (Kind::Float, self.device));
        let labels = self.draw_labels(n);
        let target = teacher_sample(
            self.teacher,
            &z,
            labels.as_ref(),
            r.teacher_steps,
            self.cfg.batch_size as i64,
        );
        RegressionPool { z, target, labels }
    }

    /// The next iteration to run (= iterations completed).
    pub fn step(&self) -> u64 {
        self.step
    }

    /// The student's noise levels (`[80]` for the one-step generator).
    pub fn student_sigmas(&self) -> &[f64] {
        &self.sigmas
    }

    /// Schedule counters so far.
    pub fn stats(&self) -> DistillStats {
        DistillStats {
            generator_updates: self.generator_updates,
            fake_updates: self.fake_updates,
            dm_sigma_index_counts: Vec::<i64>::try_from(&self.dm_hist.to_device(Device::Cpu))
                .unwrap_or_default(),
            fake_sigma_index_counts: Vec::<i64>::try_from(&self.fake_hist.to_device(Device::Cpu))
                .unwrap_or_default(),
        }
    }

    /// Student samples for `z` (`[B, ...data_shape]`, standard normal), no gradient.
    pub fn generate(&self, z: &Tensor, labels: Option<&Tensor>) -> Tensor {
        student_sample(&self.generator, z, labels, &self.sigmas)
    }

    /// DP-DMD's diversity target `x~ = D_teacher(z_K; sigma_K)` where `z_K` is the teacher's
    /// state after `K` Euler steps from `sigma_max z` (the DP-DMD paper's Appendix C, x-prediction
    /// form).
    fn dp_anchor(&self, z: &Tensor, labels: Option<&Tensor>) -> Tensor {
        let c = &self.cfg.dp_dmd;
        let grid = karras_sigmas(c.teacher_steps, SIGMA_MIN, SIGMA_MAX, RHO);
        let path = &grid[..=c.anchor_step];
        tch::no_grad(|| {
            let zk = euler_rollout(self.teacher, &(z * grid[0]), path, labels);
            let s = Tensor::full(
                [z.size()[0]],
                path[c.anchor_step],
                (Kind::Float, z.device()),
            );
            self.teacher.denoise(&zk, &s, labels)
        })
    }

    /// Logits of the GAN head on `x` noised at a random grid level (full range).
    fn gan_logits(&self, head: &GanHead, x: &Tensor, labels: Option<&Tensor>) -> Tensor {
        let b = x.size()[0];
        let (_, sigma) = self.grid.sample(0, self.cfg.grid_size as i64 - 1, b);
        let noisy = x + x.randn_like() * per_sample(&sigma, x.dim());
        let (_, feats) = self
            .fake
            .denoise_with_features(&noisy, &sigma, labels, self.cfg.dropout);
        head.logits(&feats)
    }

    /// Runs one iteration (see the module docs) and returns its metrics record (with `wall_s` 0):
    /// the shared draws (labels, `z`), then the generator step (`generator_step`) on every
    /// `update_ratio`-th iteration (otherwise a gradient-free roll-out of the generator), then
    /// the fake-score step (`fake_score_step`) on the same, pre-update samples.
    pub fn iteration(&mut self) -> Result<DistillRecord, TrainError> {
        let k = self.step;
        reseed(self.cfg.seed, Stream::Iteration, k);
        let b = self.cfg.batch_size as i64;
        let generator_step = k.is_multiple_of(self.cfg.update_ratio);
        let lr_g = warmup_lr(self.cfg.lr_generator, k, self.cfg.warmup_iters);
        let lr_f = warmup_lr(self.cfg.lr_fake, k, self.cfg.warmup_iters);
        let labels = self.draw_labels(b);
        let labels = labels.as_ref();
        let z = Tensor::randn(self.batch_shape(b).as_slice(), (Kind::Float, self.device));
        let mut rec = DistillRecord {
            iteration: k,
            generator_step,
            dm_loss: None,
            fake_loss: 0.0,
            generator_grad_norm: None,
            fake_grad_norm: 0.0,
            lr_generator: lr_g,
            lr_fake: lr_f,
            gan_g_loss: None,
            gan_d_loss: None,
            regression_loss: None,
            diversity_loss: None,
            wall_s: 0.0,
        };
        let x_fake = if generator_step {
            self.generator_step(&z, labels, lr_g, &mut rec)?
        } else {
            let train = self.cfg.dropout;
            let p = self.generator.precision;
            tch::no_grad(|| rollout(&self.generator, p, &z, labels, &self.sigmas, train, false).0)
        };
        self.fake_score_step(&x_fake, labels, lr_f, &mut rec)?;
        self.step += 1;
        Ok(rec)
    }

    /// Steps 1-2 of the module docs: the generator roll-out `x = G(z)` with gradient, its loss
    /// (the DM surrogate plus the enabled GAN, regression and DP-DMD terms, each weighted) and
    /// one clipped AdamW step at learning rate `lr`. Fills the generator fields of `rec`;
    /// returns the detached, pre-update samples `x` for the fake-score step.
    fn generator_step(
        &mut self,
        z: &Tensor,
        labels: Option<&Tensor>,
        lr: f64,
        rec: &mut DistillRecord,
    ) -> Result<Tensor, TrainError> {
        let k = self.step;
        let dp = self.cfg.dp_dmd.enabled;
        let train = self.cfg.dropout;
        let p = self.generator.precision;
        let (x, x0) = rollout(&self.generator, p, z, labels, &self.sigmas, train, dp);
        let g = self.dm_term(&x, labels)?;
        let dm_loss = dm_surrogate_loss(&x, &g);
        rec.dm_loss = Some(finite(dm_loss.double_value(&[]), k, "DM surrogate loss")?);
        let mut total = dm_loss;
        if let Some(gs) = &self.gan {
            let l = self.gan_generator_loss(gs, &x, labels);
            rec.gan_g_loss = Some(finite(l.double_value(&[]), k, "GAN generator loss")?);
            total += l * self.cfg.gan.g_weight;
        }
        if let Some(pool) = &self.regression {
            let l = self.regression_loss(pool);
            rec.regression_loss = Some(finite(l.double_value(&[]), k, "regression loss")?);
            total += l * self.cfg.regression.weight;
        }
        if dp {
            let l = self.diversity_loss(z, &x0, labels)?;
            rec.diversity_loss = Some(finite(l.double_value(&[]), k, "DP-DMD diversity loss")?);
            total += l * self.cfg.dp_dmd.lambda_div;
        }
        self.opt_g.zero_grad();
        total.f_backward()?;
        let norm = self.opt_g.clip_grad_norm(self.cfg.grad_clip);
        rec.generator_grad_norm = Some(finite(norm, k, "generator gradient norm")?);
        self.opt_g.step(lr);
        self.generator_updates += 1;
        Ok(x.detach())
    }

    /// The DM gradient `g` of step 2 for the generator samples `x`, without gradient tracking:
    /// draws the grid index `~ U{dm_range}` (counted in the DM histogram) and `eps`, evaluates
    /// the teacher and the fake score at `x_t = x + sigma eps` and returns [`dm_gradient`].
    /// A non-finite teacher output is an error.
    fn dm_term(&mut self, x: &Tensor, labels: Option<&Tensor>) -> Result<Tensor, TrainError> {
        let b = x.size()[0];
        let (idx, sigma) = self.grid.sample(self.dm_range.0, self.dm_range.1, b);
        let _ = self.dm_hist.index_add_(0, &idx, &idx.ones_like());
        tch::no_grad(|| {
            let xd = x.detach();
            let x_t = &xd + xd.randn_like() * per_sample(&sigma, xd.dim());
            let d_real = self
                .teacher
                .denoise_in(self.cfg.autocast, &x_t, &sigma, labels);
            if !is_finite(&d_real) {
                return Err(TrainError::non_finite(
                    self.step,
                    "teacher output D_real(x_t) in the DM gradient",
                ));
            }
            let d_fake = self.fake.denoise(&x_t, &sigma, labels, self.cfg.dropout);
            Ok(dm_gradient(&xd, &d_real, &d_fake))
        })
    }

    /// The regression ablation's term (DMD1, with L2): `mean((G(z_r) - Phi_K(z_r))^2)` on a batch
    /// of pairs drawn with replacement from the fixed pool.
    fn regression_loss(&self, pool: &RegressionPool) -> Tensor {
        let b = self.cfg.batch_size as i64;
        let idx = Tensor::randint(pool.z.size()[0], [b], (Kind::Int64, self.device));
        let zr = pool.z.index_select(0, &idx);
        let yr = pool.labels.as_ref().map(|y| y.index_select(0, &idx));
        let (xr, _) = rollout(
            &self.generator,
            self.generator.precision,
            &zr,
            yr.as_ref(),
            &self.sigmas,
            self.cfg.dropout,
            false,
        );
        (xr - pool.target.index_select(0, &idx))
            .square()
            .mean(Kind::Float)
    }

    /// DP-DMD's diversity term: `mean((x_0 - x~)^2)` between the generator's first-step output
    /// `x_0` and the teacher anchor `x~` of [`Self::dp_anchor`]. A non-finite anchor is an error.
    fn diversity_loss(
        &self,
        z: &Tensor,
        x0: &Tensor,
        labels: Option<&Tensor>,
    ) -> Result<Tensor, TrainError> {
        let anchor = self.dp_anchor(z, labels);
        if !is_finite(&anchor) {
            return Err(TrainError::non_finite(
                self.step,
                "teacher output in the DP-DMD anchor",
            ));
        }
        Ok((x0 - anchor).square().mean(Kind::Float))
    }

    /// Step 3 of the module docs: the fake-score update on the detached generator samples
    /// `x_fake`: grid index `~ U{0..n-1}` (counted in the fake histogram), [`fake_score_loss`]
    /// plus, with the GAN term, the weighted discriminator loss ([`Self::gan_discriminator_loss`]);
    /// one clipped AdamW step of the fake score (and of the GAN head) at learning rate `lr`.
    /// Fills the fake-score fields of `rec`.
    fn fake_score_step(
        &mut self,
        x_fake: &Tensor,
        labels: Option<&Tensor>,
        lr: f64,
        rec: &mut DistillRecord,
    ) -> Result<(), TrainError> {
        let k = self.step;
        let b = x_fake.size()[0];
        let n = self.cfg.grid_size as i64;
        let (idx, sigma) = self.grid.sample(0, n - 1, b);
        let _ = self.fake_hist.index_add_(0, &idx, &idx.ones_like());
        let mut fake_total = fake_score_loss(&self.fake, x_fake, &sigma, labels, self.cfg.dropout);
        if let Some(gs) = &self.gan {
            let l = self.gan_discriminator_loss(gs, x_fake, labels)?;
            rec.gan_d_loss = Some(finite(l.double_value(&[]), k, "GAN discriminator loss")?);
            fake_total += l * self.cfg.gan.d_weight;
        }
        rec.fake_loss = finite(fake_total.double_value(&[]), k, "fake-score loss")?;
        self.opt_f.zero_grad();
        if let Some(gs) = &mut self.gan {
            gs.opt.zero_grad();
        }
        fake_total.f_backward()?;
        let norm = self.opt_f.clip_grad_norm(self.cfg.grad_clip);
        rec.fake_grad_norm = finite(norm, k, "fake-score gradient norm")?;
        self.opt_f.step(lr);
        if let Some(gs) = &mut self.gan {
            finite(
                gs.opt.clip_grad_norm(self.cfg.grad_clip),
                k,
                "GAN head gradient norm",
            )?;
            gs.opt.step(lr);
        }
        self.fake_updates += 1;
        Ok(())
    }

    /// The GAN ablation's non-saturating generator loss ([`gan::g_loss`], unweighted) on the
    /// generator samples `x` (with gradient), noised at a random grid level.
    fn gan_generator_loss(&self, gs: &GanState, x: &Tensor, labels: Option<&Tensor>) -> Tensor {
        gan::g_loss(&self.gan_logits(&gs.head, x, labels))
    }

    /// The GAN ablation's discriminator loss ([`gan::d_loss`], unweighted) on a batch of real
    /// samples drawn with replacement from the real pool against the generator samples `x_fake`.
    fn gan_discriminator_loss(
        &self,
        gs: &GanState,
        x_fake: &Tensor,
        labels: Option<&Tensor>,
    ) -> Result<Tensor, TrainError> {
        let b = x_fake.size()[0];
        let ri = Tensor::randint(gs.real.len(), [b], (Kind::Int64, self.device));
        let real = gs.real.draw(&ri)?;
        let real_labels = gs.real_labels.as_ref().map(|y| y.index_select(0, &ri));
        let l_real = self.gan_logits(&gs.head, &real, real_labels.as_ref());
        let l_fake = self.gan_logits(&gs.head, x_fake, labels);
        Ok(gan::d_loss(&l_real, &l_fake))
    }

    /// Every tensor of the resumable state.
    pub fn state_tensors(&self) -> Vec<(String, Tensor)> {
        let mut t = checkpoint::var_store_tensors(&self.generator.vs, "generator.");
        t.extend(checkpoint::var_store_tensors(&self.fake.vs, "fake."));
        t.extend(self.opt_g.state_tensors("opt_generator."));
        t.extend(self.opt_f.state_tensors("opt_fake."));
        if let Some(gs) = &self.gan {
            t.extend(checkpoint::var_store_tensors(&gs.head.vs, "gan."));
            t.extend(gs.opt.state_tensors("opt_gan."));
        }
        t.push(("meta.step".into(), Tensor::from(self.step as i64)));
        t.push((
            "meta.generator_updates".into(),
            Tensor::from(self.generator_updates as i64),
        ));
        t.push((
            "meta.fake_updates".into(),
            Tensor::from(self.fake_updates as i64),
        ));
        t.push(("stats.dm_hist".into(), self.dm_hist.shallow_clone()));
        t.push(("stats.fake_hist".into(), self.fake_hist.shallow_clone()));
        t
    }

    /// Restores a state written by [`DmdEngine::state_tensors`].
    pub fn restore(&mut self, t: &std::collections::HashMap<String, Tensor>) -> Result<(), String> {
        checkpoint::restore_var_store(&self.generator.vs, t, "generator.")?;
        checkpoint::restore_var_store(&self.fake.vs, t, "fake.")?;
        self.opt_g.load_state(t, "opt_generator.")?;
        self.opt_f.load_state(t, "opt_fake.")?;
        if let Some(gs) = &mut self.gan {
            checkpoint::restore_var_store(&gs.head.vs, t, "gan.")?;
            gs.opt.load_state(t, "opt_gan.")?;
        }
        let int = |key: &str| -> Result<u64, String> {
            u64::try_from(checkpoint::get_i64(t, key)?).map_err(|e| e.to_string())
        };
        self.step = int("meta.step")?;
        self.generator_updates = int("meta.generator_updates")?;
        self.fake_updates = int("meta.fake_updates")?;
        for (key, hist) in [
            ("stats.dm_hist", &mut self.dm_hist),
            ("stats.fake_hist", &mut self.fake_hist),
        ] {
            let src = t
                .get(key)
                .ok_or_else(|| format!("missing tensor `{key}`"))?;
            if src.size() != hist.size() {
                return Err(format!("`{key}` has the wrong length (grid_size changed?)"));
            }
            hist.copy_(src);
        }
        Ok(())
    }
}

/// Saves a denoiser atomically ([`dmd_io::write_atomic_with`]).
pub(crate) fn save_denoiser(d: &Denoiser, path: &Path) -> Result<(), TrainError> {
    dmd_io::write_atomic_with(path, |tmp| d.save(tmp))
        .map_err(|e| TrainError::io(path, e.into_io()))
}

/// Distils `teacher` into a student as configured, in `run_dir` (created if needed).
///
/// Resumes from `run_dir/state.safetensors` when it exists and was written with the same
/// config (apart from `iterations`, `checkpoint_every`, `progress`). Writes `metrics.jsonl`
/// every iteration, the state every `checkpoint_every` iterations and at the end, then the
/// final `generator.safetensors` and `fake.safetensors`. A non-finite loss, gradient or teacher
/// output stops the run with [`TrainError::NonFinite`] and leaves the last checkpoint in place.
pub fn distill(
    cfg: &DistillConfig,
    teacher: &dyn ScoreModel,
    real_data: Option<&TrainData>,
    run_dir: &Path,
) -> Result<DistillOutcome, TrainError> {
    distill_with(cfg, teacher, real_data, run_dir, None::<&mut NoProbe>)
}

/// [`distill`], measuring the generator with `probe` along the way: at iteration 0, every
/// [`Probe::every`] iterations and at the end, one line of `trajectory.jsonl` each
/// ([`TrajectoryLine`]); on resume the trajectory is cut and continued like `metrics.jsonl`.
pub fn distill_with<P: Probe>(
    cfg: &DistillConfig,
    teacher: &dyn ScoreModel,
    real_data: Option<&TrainData>,
    run_dir: &Path,
    mut probe: Option<&mut P>,
) -> Result<DistillOutcome, TrainError> {
    std::fs::create_dir_all(run_dir).map_err(|e| TrainError::io(run_dir, e))?;
    let mut engine = DmdEngine::new(cfg, teacher, real_data)?;
    let state_path = run_dir.join(STATE_FILE);
    let config_json = serde_json::to_value(cfg)?;
    let mut wall_offset = 0.0;
    let mut resumed_from = None;
    if let Some(r) = checkpoint::load_resumable(&state_path, &config_json)? {
        engine
            .restore(&r.tensors)
            .map_err(|message| TrainError::Checkpoint {
                path: state_path.clone(),
                message,
            })?;
        wall_offset = r.wall_s;
        resumed_from = Some(engine.step());
        tracing::info!(
            step = engine.step(),
            "resuming distillation from {}",
            state_path.display()
        );
    }
    let metrics_path = run_dir.join(files::METRICS);
    let mut log = MetricLog::open(&metrics_path, engine.step())?;
    let start = Instant::now();
    let save_state = |engine: &DmdEngine, wall: f64| {
        checkpoint::save_resumable(&state_path, engine.state_tensors(), wall, &config_json)
    };
    let every = probe.as_ref().map_or(u64::MAX, |p| p.every().max(1));
    let mut trajectory = match probe {
        Some(_) => Some((
            MetricLog::open(&run_dir.join(files::TRAJECTORY), engine.step())?,
            Window::replay(&metrics_path, engine.step(), every)?,
        )),
        None => None,
    };
    let observe = |engine: &DmdEngine,
                   trajectory: &mut Option<(MetricLog, Window)>,
                   probe: &mut Option<&mut P>|
     -> Result<(), TrainError> {
        let (Some((log, window)), Some(p)) = (trajectory.as_mut(), probe.as_mut()) else {
            return Ok(());
        };
        if !is_point(engine.step(), cfg.iterations, every) {
            return Ok(());
        }
        let t = Instant::now();
        let measures = p.observe(engine)?;
        log.write(&TrajectoryLine {
            iteration: engine.step(),
            cumulative_lr: window.cumulative_lr,
            dm_loss: window.close(),
            probe_s: t.elapsed().as_secs_f64(),
            wall_s: wall_offset + start.elapsed().as_secs_f64(),
            measures,
        })
    };
    let bar = iteration_bar("distill", engine.step(), cfg.iterations, cfg.progress);
    observe(&engine, &mut trajectory, &mut probe)?;
    while engine.step() < cfg.iterations {
        let mut rec = match engine.iteration() {
            Ok(r) => r,
            Err(e) => {
                bar.abandon();
                tracing::error!("distillation stopped: {e}");
                return Err(e);
            }
        };
        let wall = wall_offset + start.elapsed().as_secs_f64();
        rec.wall_s = wall;
        log.write(&rec)?;
        if let Some((_, window)) = trajectory.as_mut() {
            window.add(&rec);
        }
        observe(&engine, &mut trajectory, &mut probe)?;
        bar.inc();
        if engine.step().is_multiple_of(cfg.checkpoint_every) && engine.step() < cfg.iterations {
            save_state(&engine, wall)?;
        }
        if crate::interrupt::requested() && engine.step() < cfg.iterations {
            save_state(&engine, wall)?;
            bar.abandon();
            tracing::warn!(
                step = engine.step(),
                "distillation interrupted; state saved"
            );
            return Err(TrainError::Interrupted {
                iteration: engine.step(),
            });
        }
    }
    bar.finish();
    let wall_s = wall_offset + start.elapsed().as_secs_f64();
    save_state(&engine, wall_s)?;
    let generator_path = run_dir.join(files::GENERATOR);
    let fake_path = run_dir.join(files::FAKE);
    save_denoiser(&engine.generator, &generator_path)?;
    save_denoiser(&engine.fake, &fake_path)?;
    tracing::info!(iterations = engine.step(), wall_s, "distillation finished");
    Ok(DistillOutcome {
        generator_path,
        fake_path,
        state_path,
        metrics_path,
        iterations: engine.step(),
        resumed_from,
        stats: engine.stats(),
        wall_s,
    })
}
