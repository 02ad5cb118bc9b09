//! Typed, serde-(de)serialisable configs of teacher training and distillation. Every field
//! has the paper's default (*Why Are DMD Students Lazy?*, Appendix E; EDM, Karras et al. 2022;
//! DMD2, Yin et al. 2024; the DP-DMD paper, section 5), and unknown keys are rejected.

use dmd_nets::denoiser::Precision;
use dmd_nets::device::DeviceChoice;
use dmd_nets::net::NetConfig;
use serde::{Deserialize, Serialize};

use crate::error::TrainError;
use crate::optim::AdamWConfig;

fn d_true() -> bool {
    true
}

/// `x > 0` and not NaN.
pub(crate) fn positive(x: f64) -> bool {
    x > 0.0
}

// ---------------------------------------------------------------- teacher

/// Exponential moving average of the teacher's weights (EDM training/training_loop.py):
/// `beta = 0.5^(batch / max(h, 1e-8))` with half-life `h = min(halflife_nimg, rampup_ratio * cur_nimg)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmaConfig {
    /// Half-life in images (EDM MNIST-scale default 0.5 Mimg).
    pub halflife_nimg: f64,
    /// EMA ramp-up ratio (EDM 0.05); `None` disables the ramp-up.
    pub rampup_ratio: Option<f64>,
}

impl Default for EmaConfig {
    fn default() -> Self {
        EmaConfig {
            halflife_nimg: 500_000.0,
            rampup_ratio: Some(0.05),
        }
    }
}

/// EDM teacher training (Karras et al. 2022: Eq. 2, Table 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeacherConfig {
    /// The denoiser network (dropout is part of it).
    pub net: NetConfig,
    /// Training iterations (paper's largest snapshot: 8192).
    #[serde(default = "teacher_iterations")]
    pub iterations: u64,
    /// Minibatch size (EDM MNIST-scale: 512).
    #[serde(default = "d_512")]
    pub batch_size: usize,
    /// Peak learning rate (EDM: 1e-3).
    #[serde(default = "teacher_lr")]
    pub lr: f64,
    /// Linear learning-rate ramp-up length in iterations.
    #[serde(default = "teacher_rampup")]
    pub lr_rampup_iters: u64,
    /// Adam hyperparameters (betas 0.9/0.999, eps 1e-8, no weight decay).
    #[serde(default = "AdamWConfig::adam")]
    pub adam: AdamWConfig,
    /// Mean of ln(sigma) (EDM P_mean = -1.2).
    #[serde(default = "p_mean")]
    pub p_mean: f64,
    /// Std of ln(sigma) (EDM P_std = 1.2).
    #[serde(default = "p_std")]
    pub p_std: f64,
    /// Optional gradient-norm clip (EDM uses none).
    #[serde(default)]
    pub grad_clip: Option<f64>,
    /// Weight EMA; `None` trains without one (snapshots are then the raw weights).
    #[serde(default = "some_ema")]
    pub ema: Option<EmaConfig>,
    /// Iterations (counted in completed updates) after which a teacher snapshot is saved.
    #[serde(default = "paper_snapshots")]
    pub snapshots: Vec<u64>,
    /// Save the resumable training state every this many iterations (and at the end).
    #[serde(default = "d_1000")]
    pub checkpoint_every: u64,
    /// Seed of every random draw.
    #[serde(default)]
    pub seed: u64,
    /// Precision of the teacher's forward passes while it trains: `"f32"` (default, also
    /// `"off"`) or `"bf16"` (bf16 autocast: the raw network in bf16 from f32 master weights,
    /// attention softmax and preconditioning in f32; meant for GPUs with bf16 tensor cores,
    /// slow on most CPUs). Sampling for the measurements stays f32.
    #[serde(default, skip_serializing_if = "Precision::is_f32")]
    pub autocast: Precision,
    /// Device.
    #[serde(default)]
    pub device: DeviceChoice,
    /// Show a progress bar.
    #[serde(default = "d_true")]
    pub progress: bool,
}

fn teacher_iterations() -> u64 {
    8192
}
fn d_512() -> usize {
    512
}
fn teacher_lr() -> f64 {
    1e-3
}
fn teacher_rampup() -> u64 {
    200
}
fn p_mean() -> f64 {
    dmd_nets::loss::P_MEAN
}
fn p_std() -> f64 {
    dmd_nets::loss::P_STD
}
fn some_ema() -> Option<EmaConfig> {
    Some(EmaConfig::default())
}
fn paper_snapshots() -> Vec<u64> {
    vec![1024, 2048, 3072, 4096, 6144, 8192]
}
fn d_1000() -> u64 {
    1000
}

impl TeacherConfig {
    /// The defaults for `net`.
    pub fn new(net: NetConfig) -> Self {
        TeacherConfig {
            net,
            iterations: teacher_iterations(),
            batch_size: d_512(),
            lr: teacher_lr(),
            lr_rampup_iters: teacher_rampup(),
            adam: AdamWConfig::adam(),
            p_mean: p_mean(),
            p_std: p_std(),
            grad_clip: None,
            ema: some_ema(),
            snapshots: paper_snapshots(),
            checkpoint_every: d_1000(),
            seed: 0,
            autocast: Precision::F32,
            device: DeviceChoice::Auto,
            progress: true,
        }
    }

    /// Checks ranges and consistency; the message names the field.
    pub fn validate(&self) -> Result<(), TrainError> {
        let bad = |m: String| Err(TrainError::Config(format!("teacher: {m}")));
        if self.batch_size == 0 {
            return bad("batch_size must be >= 1".into());
        }
        if !(self.lr > 0.0 && self.lr.is_finite()) {
            return bad(format!("lr = {} must be positive", self.lr));
        }
        if !positive(self.p_std) {
            return bad(format!("p_std = {} must be positive", self.p_std));
        }
        if self.checkpoint_every == 0 {
            return bad("checkpoint_every must be >= 1".into());
        }
        if let Some(c) = self.grad_clip
            && !positive(c)
        {
            return bad(format!("grad_clip = {c} must be positive"));
        }
        if let Some(e) = &self.ema
            && !positive(e.halflife_nimg)
        {
            return bad(format!(
                "ema.halflife_nimg = {} must be positive",
                e.halflife_nimg
            ));
        }
        self.adam.validate("teacher.adam")
    }
}

// ---------------------------------------------------------------- distillation

/// How the generator and the fake score are initialised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "from", rename_all = "snake_case", deny_unknown_fields)]
pub enum StudentInit {
    /// Both are copies of the teacher network (the paper; the teacher must be a network).
    Teacher,
    /// A freshly initialised network (seeded), the fake score a copy of it. Used to distil a
    /// closed-form teacher, or to study students that do not start at `Phi_1`.
    Fresh {
        /// The student network.
        net: NetConfig,
    },
}

/// Where the GAN discriminator's "real" samples come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "snake_case", deny_unknown_fields)]
pub enum GanReal {
    /// The training set (DMD2's choice on ImageNet); `distill` must be given the data.
    Data,
    /// A fixed pool of teacher ODE samples `Phi_K(z)` computed once at the start.
    Teacher {
        /// Euler steps K of the pool's samples.
        #[serde(default = "d_32")]
        steps: usize,
        /// Number of pool samples.
        #[serde(default = "d_4096")]
        pool_size: usize,
    },
}

fn d_32() -> usize {
    32
}
fn d_4096() -> usize {
    4096
}

/// The diffusion-GAN ablation term (DMD2): a classifier head on the fake network's features.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GanConfig {
    /// Switch (off by default).
    pub enabled: bool,
    /// Weight of the discriminator loss added to the fake-score loss (DMD2: 1e-2).
    pub d_weight: f64,
    /// Weight of the generator's non-saturating GAN loss (DMD2: 3e-3).
    pub g_weight: f64,
    /// Source of real samples.
    pub real: GanReal,
}

impl Default for GanConfig {
    fn default() -> Self {
        GanConfig {
            enabled: false,
            d_weight: 1e-2,
            g_weight: 3e-3,
            real: GanReal::Data,
        }
    }
}

/// The regression ablation term (DMD1): `weight * mean((G(z) - Phi_K(z))^2)` on a fixed pool
/// of teacher ODE pairs. L2 replaces DMD1's LPIPS, whose weights are not available offline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RegressionConfig {
    /// Switch (off by default).
    pub enabled: bool,
    /// Weight lambda_reg (DMD1: 0.25 with LPIPS, unverified).
    pub weight: f64,
    /// Euler steps K of the teacher's ODE targets.
    pub teacher_steps: usize,
    /// Number of (z, Phi_K(z)) pairs computed at the start.
    pub pool_size: usize,
}

impl Default for RegressionConfig {
    fn default() -> Self {
        RegressionConfig {
            enabled: false,
            weight: 0.25,
            teacher_steps: 32,
            pool_size: 4096,
        }
    }
}

/// DP-DMD (the DP-DMD paper's Algorithm 1 and Appendix C) for an N-step student: the first step is trained
/// in x-prediction form toward the teacher's denoised estimate after K teacher steps; its output
/// is detached before the remaining steps, which take the DMD loss.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DpDmdConfig {
    /// Switch (off by default).
    pub enabled: bool,
    /// Diversity anchor step K (paper: 5).
    pub anchor_step: usize,
    /// Steps of the teacher's Euler grid in which the anchor is taken (ours: 32).
    pub teacher_steps: usize,
    /// Diversity-loss weight lambda (paper: 0.05).
    pub lambda_div: f64,
}

impl Default for DpDmdConfig {
    fn default() -> Self {
        DpDmdConfig {
            enabled: false,
            anchor_step: 5,
            teacher_steps: 32,
            lambda_div: 0.05,
        }
    }
}

/// DMD distillation (DMD2, Yin et al. 2024, on EDM networks; paper Appendix E). The networks live
/// on the teacher's device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DistillConfig {
    /// Distillation iterations (paper: 50k).
    pub iterations: u64,
    /// Batch size (paper: 512 toys, 32 images).
    pub batch_size: usize,
    /// Generator learning rate (paper 2e-6; CPU-scale toys need ~1e-4: at 2e-6 a student of a
    /// few thousand iterations never leaves its initialisation `Phi_1`).
    pub lr_generator: f64,
    /// Fake-score learning rate (paper 2e-6).
    pub lr_fake: f64,
    /// AdamW of both networks (betas 0.9/0.999, weight decay 0.01).
    pub optimizer: AdamWConfig,
    /// Linear warm-up of both learning rates, in iterations (500).
    pub warmup_iters: u64,
    /// Gradient-norm clip of each network (10).
    pub grad_clip: f64,
    /// One generator update every this many iterations (fake score every iteration): 5.
    pub update_ratio: u64,
    /// Points of the Karras grid the noise levels are drawn from (1000).
    pub grid_size: usize,
    /// Lower end of the DM-loss grid-index range as a fraction (0.02).
    pub dm_min_frac: f64,
    /// Upper end of the DM-loss grid-index range as a fraction (0.98).
    pub dm_max_frac: f64,
    /// Initialisation of generator and fake score.
    pub init: StudentInit,
    /// Student sampling steps N (1 = the one-step DMD generator of the paper).
    pub student_steps: usize,
    /// Train the networks with dropout active (DMD2 keeps the teacher's dropout off: false).
    pub dropout: bool,
    /// The diffusion-GAN ablation.
    pub gan: GanConfig,
    /// The regression ablation.
    pub regression: RegressionConfig,
    /// DP-DMD (needs `student_steps >= 2`).
    pub dp_dmd: DpDmdConfig,
    /// Save the resumable state every this many iterations (and at the end).
    pub checkpoint_every: u64,
    /// Seed of every random draw.
    pub seed: u64,
    /// Precision of the generator's, the fake score's and the teacher's forward passes while
    /// distilling: `"f32"` (default, also `"off"`) or `"bf16"` (bf16 autocast, as
    /// `teacher.autocast`). Sampling for the measurements stays f32.
    #[serde(skip_serializing_if = "Precision::is_f32")]
    pub autocast: Precision,
    /// Show a progress bar.
    pub progress: bool,
}

impl Default for DistillConfig {
    fn default() -> Self {
        DistillConfig {
            iterations: 50_000,
            batch_size: 512,
            lr_generator: 2e-6,
            lr_fake: 2e-6,
            optimizer: AdamWConfig::default(),
            warmup_iters: 500,
            grad_clip: 10.0,
            update_ratio: 5,
            grid_size: 1000,
            dm_min_frac: 0.02,
            dm_max_frac: 0.98,
            init: StudentInit::Teacher,
            student_steps: 1,
            dropout: false,
            gan: GanConfig::default(),
            regression: RegressionConfig::default(),
            dp_dmd: DpDmdConfig::default(),
            checkpoint_every: 1000,
            seed: 0,
            autocast: Precision::F32,
            progress: true,
        }
    }
}

impl DistillConfig {
    /// Checks ranges and consistency; the message names the field.
    pub fn validate(&self) -> Result<(), TrainError> {
        let bad = |m: String| Err(TrainError::Config(format!("distill: {m}")));
        if self.batch_size == 0 {
            return bad("batch_size must be >= 1".into());
        }
        for (name, lr) in [
            ("lr_generator", self.lr_generator),
            ("lr_fake", self.lr_fake),
        ] {
            if !(lr > 0.0 && lr.is_finite()) {
                return bad(format!("{name} = {lr} must be positive"));
            }
        }
        if self.update_ratio == 0 {
            return bad("update_ratio must be >= 1 (1 = generator every iteration)".into());
        }
        if !positive(self.grad_clip) {
            return bad(format!("grad_clip = {} must be positive", self.grad_clip));
        }
        if self.grid_size < 2 {
            return bad(format!("grid_size = {} must be >= 2", self.grid_size));
        }
        if !(0.0 <= self.dm_min_frac
            && self.dm_min_frac <= self.dm_max_frac
            && self.dm_max_frac <= 1.0)
        {
            return bad(format!(
                "need 0 <= dm_min_frac <= dm_max_frac <= 1, got {} and {}",
                self.dm_min_frac, self.dm_max_frac
            ));
        }
        if self.student_steps == 0 || self.student_steps > self.grid_size {
            return bad(format!(
                "student_steps = {} must lie in 1..={}",
                self.student_steps, self.grid_size
            ));
        }
        if self.checkpoint_every == 0 {
            return bad("checkpoint_every must be >= 1".into());
        }
        if self.dp_dmd.enabled {
            if self.student_steps < 2 {
                return bad(
                    "dp_dmd needs student_steps >= 2 (its first step is the diversity step)".into(),
                );
            }
            if self.dp_dmd.anchor_step == 0 || self.dp_dmd.anchor_step >= self.dp_dmd.teacher_steps
            {
                return bad(format!(
                    "dp_dmd.anchor_step = {} must lie in 1..{} (dp_dmd.teacher_steps)",
                    self.dp_dmd.anchor_step, self.dp_dmd.teacher_steps
                ));
            }
        }
        if self.regression.enabled
            && (self.regression.teacher_steps == 0 || self.regression.pool_size == 0)
        {
            return bad("regression.teacher_steps and regression.pool_size must be >= 1".into());
        }
        if let GanReal::Teacher { steps, pool_size } = self.gan.real
            && self.gan.enabled
            && (steps == 0 || pool_size == 0)
        {
            return bad("gan.real.steps and gan.real.pool_size must be >= 1".into());
        }
        self.optimizer.validate("distill.optimizer")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distill_defaults_are_the_papers_and_unknown_keys_fail() {
        let c: DistillConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(c, DistillConfig::default());
        assert_eq!(c.lr_generator, 2e-6);
        assert_eq!(c.update_ratio, 5);
        assert_eq!(c.warmup_iters, 500);
        assert_eq!(c.optimizer.weight_decay, 0.01);
        assert!(!c.gan.enabled && !c.regression.enabled && !c.dp_dmd.enabled);
        assert!(serde_json::from_str::<DistillConfig>("{\"lr\": 1}").is_err());
        assert!(c.validate().is_ok());
        let bad = DistillConfig {
            student_steps: 1,
            dp_dmd: DpDmdConfig {
                enabled: true,
                ..Default::default()
            },
            ..Default::default()
        };
        assert!(bad.validate().is_err());
    }

    #[test]
    fn teacher_defaults() {
        let c: TeacherConfig =
            serde_json::from_str("{\"net\": {\"kind\": \"mlp\", \"dim\": 4}}").unwrap();
        assert_eq!(c.snapshots, vec![1024, 2048, 3072, 4096, 6144, 8192]);
        assert_eq!((c.p_mean, c.p_std), (-1.2, 1.2));
        assert_eq!(c.adam.weight_decay, 0.0);
        assert!(c.validate().is_ok());
        assert!(
            serde_json::from_str::<TeacherConfig>(
                "{\"net\": {\"kind\": \"mlp\", \"dim\": 4}, \"x\": 1}"
            )
            .is_err()
        );
    }
}
