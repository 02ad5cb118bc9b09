//! The typed experiment config: one TOML file per experiment (see `configs/`), with
//! `[profile.smoke|cpu|paper]` override tables and `--set key=value` on the command line.
//!
//! Every struct denies unknown fields, so a misspelt key is an error naming the key and the
//! file, never a silently ignored setting.

mod eval;
pub mod layers;
pub mod resources;

use dmd_data::DatasetSpec;
use dmd_nets::device::DeviceChoice;
use dmd_train::{DistillConfig, TeacherConfig};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub use eval::{EvalConfig, EvalPlan};

/// The scale profiles every config may override (docs/design.md, "Scale profiles").
pub const PROFILES: [&str; 3] = ["smoke", "cpu", "paper"];

/// The default profile: `paper` when libtorch sees a CUDA GPU, `cpu` otherwise.
pub fn default_profile() -> String {
    if tch::Cuda::is_available() {
        "paper"
    } else {
        "cpu"
    }
    .to_string()
}

/// One experiment of the study.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentConfig {
    /// Short name; results go to `<out>/<name>/`.
    pub name: String,
    /// One line saying what the experiment shows.
    #[serde(default)]
    pub description: String,
    /// Device for teacher, student and sampling (`auto`, `cpu`, `cuda`).
    #[serde(default)]
    pub device: DeviceChoice,
    /// Training set size for synthetic data (MNIST: omit to use all 60,000 images).
    #[serde(default)]
    pub n_train: Option<usize>,
    /// Seed of the training set.
    #[serde(default)]
    pub data_seed: u64,
    /// The dataset (`name = "chessboard" | "moons" | "gmm" | "mlp_manifold" | "mnist" | ...`).
    pub data: DatasetSpec,
    /// EDM teacher training.
    pub teacher: TeacherConfig,
    /// A trained teacher to use instead of training one (a dmd-nets checkpoint; relative to
    /// `DMD_HOME` unless absolute). The `[teacher]` section then only describes its network.
    #[serde(default)]
    pub teacher_checkpoint: Option<PathBuf>,
    /// A one-step generator trained elsewhere (a dmd-nets checkpoint, e.g. written by
    /// `dmd import`) to measure instead of distilling one (`dmd eval`); relative to the data
    /// folder unless absolute. It is measured against the final teacher, keyed by its content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub student_checkpoint: Option<PathBuf>,
    /// Teacher snapshots (iteration counts) to distil from; empty = the final teacher only.
    #[serde(default)]
    pub distill_from: Vec<u64>,
    /// DMD distillation.
    #[serde(default)]
    pub distill: DistillConfig,
    /// Sampling and measurement.
    #[serde(default)]
    pub eval: EvalConfig,
    /// Files the user must bring (e.g. ImageNet-64 teacher weights); the run stops with a
    /// message naming each missing file.
    #[serde(default)]
    pub requires: Vec<RequiredFile>,
}

/// A file the experiment cannot run without, and what it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequiredFile {
    /// Path, relative to `DMD_HOME` unless absolute.
    pub path: PathBuf,
    /// What the file is and where to get it.
    pub what: String,
}

/// A config problem, reported as one line naming the file and the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read config {file}: {message}")]
    Io {
        /// The config file.
        file: PathBuf,
        /// The OS error.
        message: String,
    },
    /// The file is not valid TOML.
    #[error("config {file}: invalid TOML: {message}")]
    Syntax {
        /// The config file.
        file: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// A key is unknown, has the wrong type, or an impossible value.
    #[error("config {file}: key `{key}`: {message}")]
    Key {
        /// The config file.
        file: PathBuf,
        /// The dotted key path.
        key: String,
        /// What is wrong and what is expected.
        message: String,
    },
    /// A `--set` override is malformed.
    #[error("--set {set}: {message}")]
    Set {
        /// The override as given.
        set: String,
        /// What is wrong.
        message: String,
    },
}

impl ExperimentConfig {
    /// Loads `path` with the profile's overrides and the `--set` pairs, then validates it.
    pub fn load(path: &Path, profile: &str, sets: &[String]) -> Result<Self, ConfigError> {
        if !PROFILES.contains(&profile) {
            return Err(ConfigError::Key {
                file: path.to_path_buf(),
                key: "--profile".into(),
                message: format!("unknown profile `{profile}`; expected one of {PROFILES:?}"),
            });
        }
        let table = layers::load_layers(path, profile, sets)?;
        let de = toml::Value::Table(table);
        let cfg: ExperimentConfig = serde_path_to_error::deserialize(de).map_err(|e| {
            let key = e.path().to_string();
            ConfigError::Key {
                file: path.to_path_buf(),
                key: if key == "." {
                    "(top level)".into()
                } else {
                    key
                },
                message: layers::one_line(&e.into_inner().to_string()),
            }
        })?;
        cfg.validate(path)?;
        Ok(cfg)
    }

    /// Checks values serde cannot: positive counts, consistent shapes, known snapshots.
    pub fn validate(&self, file: &Path) -> Result<(), ConfigError> {
        let key_err = |key: &str, message: String| ConfigError::Key {
            file: file.to_path_buf(),
            key: key.into(),
            message,
        };
        if self.name.trim().is_empty()
            || !self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(key_err(
                "name",
                format!(
                    "`{}` must be non-empty and use only letters, digits, - and _",
                    self.name
                ),
            ));
        }
        self.data
            .validate()
            .map_err(|e| key_err("data", e.to_string()))?;
        if self.n_train == Some(0) {
            return Err(key_err("n_train", "must be >= 1".into()));
        }
        if self.n_train.is_none() && self.data.as_toy().is_some() {
            return Err(key_err(
                "n_train",
                "synthetic data needs a training set size, e.g. n_train = 100000".into(),
            ));
        }
        if self.teacher.iterations == 0 {
            return Err(key_err("teacher.iterations", "must be >= 1".into()));
        }
        self.teacher
            .validate()
            .map_err(|e| key_err("teacher", e.to_string()))?;
        self.distill
            .validate()
            .map_err(|e| key_err("distill", e.to_string()))?;
        if self.distill.iterations == 0 {
            return Err(key_err("distill.iterations", "must be >= 1".into()));
        }
        let data_shape: Vec<i64> = self.data.sample_shape().iter().map(|&d| d as i64).collect();
        if self.teacher.net.data_shape() != data_shape {
            return Err(key_err(
                "teacher.net",
                format!(
                    "the network's data shape {:?} does not match the dataset's {:?}",
                    self.teacher.net.data_shape(),
                    data_shape
                ),
            ));
        }
        let classes = self.teacher.net.num_classes();
        if classes > 0 && self.data.num_classes() != Some(classes) {
            return Err(key_err(
                "teacher.net.num_classes",
                format!(
                    "{classes} classes, but the dataset has {:?}",
                    self.data.num_classes()
                ),
            ));
        }
        for s in &self.distill_from {
            if *s != self.teacher.iterations && !self.teacher.snapshots.contains(s) {
                return Err(key_err(
                    "distill_from",
                    format!("snapshot {s} is neither in teacher.snapshots nor teacher.iterations"),
                ));
            }
        }
        if self.student_checkpoint.is_some() && !self.distill_from.is_empty() {
            return Err(key_err(
                "student_checkpoint",
                "a student trained elsewhere is measured against the final teacher only; \
                 remove distill_from"
                    .into(),
            ));
        }
        let e = &self.eval;
        for (k, v) in [
            ("eval.n_samples", e.n_samples),
            ("eval.n_pca", e.n_pca),
            ("eval.n_heatmap", e.n_heatmap),
            ("eval.n_memorisation", e.n_memorisation),
            ("eval.reference_steps", e.reference_steps),
            ("eval.fine_steps", e.fine_steps),
            ("eval.chunk", e.chunk),
            ("eval.sw_projections", e.sw_projections),
            ("eval.replicates", e.replicates),
        ] {
            if v == 0 {
                return Err(key_err(k, "must be >= 1".into()));
            }
        }
        if e.n_samples < 2 {
            return Err(key_err(
                "eval.n_samples",
                "Delta_E needs at least 2 samples".into(),
            ));
        }
        if let Some(&n) = e.n_curve.iter().find(|&&n| n < 2) {
            return Err(key_err(
                "eval.n_curve",
                format!("{n}: every N must be at least 2"),
            ));
        }
        // Conditional runs pair seeds within class: a block of N seeds drawn uniformly over K
        // classes holds N (N - 1) / (2 K) same-class pairs on average, and a block without any
        // has no within-class pairing to measure.
        if classes > 0 && e.n_samples * (e.n_samples - 1) < 2 * classes {
            let need = (1..)
                .find(|n: &usize| n * (n - 1) >= 2 * classes)
                .unwrap_or(2);
            return Err(key_err(
                "eval.n_samples",
                format!(
                    "{} seeds over {classes} classes hold {:.2} same-class pairs per block on \
                     average, too few to pair within class; use at least {need}",
                    e.n_samples,
                    (e.n_samples * (e.n_samples - 1)) as f64 / (2 * classes) as f64
                ),
            ));
        }
        if let Some(&t) = e
            .ruler_angles
            .iter()
            .find(|&&t| !(t > 0.0 && t <= std::f64::consts::PI))
        {
            return Err(key_err(
                "eval.ruler_angles",
                format!(
                    "{t}: every angle must be in (0, pi] radians (0, the exact copy, is always on the ruler)"
                ),
            ));
        }
        if !(e.fit_gap_max > 0.0 && e.fit_gap_max <= 1.0) {
            return Err(key_err(
                "eval.fit_gap_max",
                format!("{} must be in (0, 1]", e.fit_gap_max),
            ));
        }
        for (section, net) in [
            ("teacher.net", Some(&self.teacher.net)),
            (
                "distill.init.net",
                match &self.distill.init {
                    dmd_train::StudentInit::Fresh { net } => Some(net),
                    dmd_train::StudentInit::Teacher => None,
                },
            ),
        ] {
            if let Some(net) = net {
                check_net(net).map_err(|(k, m)| key_err(&format!("{section}.{k}"), m))?;
            }
        }
        if let Some(available) = resources::machine_memory() {
            resources::MemoryEstimate::of(self).check(file, self, available)?;
        }
        Ok(())
    }

    /// The snapshots to distil from (the final teacher when none are listed).
    pub fn distill_snapshots(&self) -> Vec<u64> {
        if self.distill_from.is_empty() {
            vec![self.teacher.iterations]
        } else {
            self.distill_from.clone()
        }
    }
}

/// Sizes a network config cannot have (zero widths, depths or channels): `(key, message)`.
fn check_net(net: &dmd_nets::NetConfig) -> Result<(), (&'static str, String)> {
    match net {
        dmd_nets::NetConfig::Mlp(m) => {
            for (k, v) in [("hidden", m.hidden), ("layers", m.layers), ("dim", m.dim)] {
                if v <= 0 {
                    return Err((k, "must be >= 1".into()));
                }
            }
        }
        dmd_nets::NetConfig::Unet(u) => {
            for (k, v) in [
                ("model_channels", u.model_channels),
                ("num_blocks", u.num_blocks),
                ("img_resolution", u.img_resolution),
                ("in_channels", u.in_channels),
            ] {
                if v <= 0 {
                    return Err((k, "must be >= 1".into()));
                }
            }
            if u.channel_mult.is_empty() || u.channel_mult.iter().any(|&m| m <= 0) {
                return Err(("channel_mult", "needs at least one level, each >= 1".into()));
            }
        }
    }
    Ok(())
}
