//! `dmd reproduce`: every experiment of the paper in order, then `results/REPORT.md`.
//!
//! Experiments that share data and teacher settings share the trained teacher (content-
//! addressed stages), and every finished stage is skipped, so a killed reproduce picks up
//! where it stopped. An experiment that needs files the user must bring (ImageNet-64) is
//! reported as "not run" with the files it needs; any other failure is reported and the run
//! goes on, then exits non-zero.

use anyhow::{Result, bail};
use clap::Args;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Instant;

use crate::config::ExperimentConfig;
use crate::pipeline::{self, Paths, Until};
use crate::store;

/// The paper's experiments, in the order they run (teachers are shared down the list).
pub const EXPERIMENTS: [&str; 9] = [
    "chessboard-r4",
    "moons-r4",
    "gmm32-r4",
    "mlp-manifold-cond",
    "mnist-uncond",
    "mnist-snapshots",
    "mnist-cond",
    "mnist-gan",
    "imagenet64",
];

/// Arguments of `dmd reproduce`.
#[derive(Debug, Args)]
pub struct ReproduceArgs {
    /// Scale profile: smoke, cpu or paper (default: paper with a CUDA GPU, cpu otherwise).
    #[arg(long)]
    pub profile: Option<String>,
    /// Run only these experiments (names as in configs/, repeatable).
    #[arg(long, num_args = 1..)]
    pub only: Vec<String>,
    /// Folder holding the experiment configs.
    #[arg(long, default_value = "configs")]
    pub configs: PathBuf,
    /// Results folder.
    #[arg(long, default_value = "results")]
    pub out: PathBuf,
    /// Folder of the content-addressed stage outputs.
    #[arg(long, default_value = "runs/stages")]
    pub runs: PathBuf,
}

/// How one experiment of a reproduce run ended.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExperimentStatus {
    /// Experiment name.
    pub name: String,
    /// `done`, `not run` or `failed`.
    pub status: String,
    /// Why, when not done.
    pub message: Option<String>,
    /// Wall time in this invocation, seconds.
    pub wall_s: f64,
}

/// Facts about the run written to `results/run_info.json` for the report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunInfo {
    /// Profile name.
    pub profile: String,
    /// CPU model and core count, GPU if any.
    pub hardware: String,
    /// `git rev-parse HEAD` of the checkout (with `-dirty` when modified).
    pub commit: String,
    /// Total wall time of this invocation, seconds.
    pub wall_s: f64,
    /// Per-experiment outcome.
    pub experiments: Vec<ExperimentStatus>,
}

/// Runs the experiments, writes `run_info.json` and the report.
pub fn run(a: ReproduceArgs) -> Result<()> {
    let start = Instant::now();
    let profile = a.profile.clone().unwrap_or_else(crate::default_profile);
    for name in &a.only {
        if !EXPERIMENTS.contains(&name.as_str()) {
            return Err(crate::config::ConfigError::Key {
                file: a.configs.clone(),
                key: "--only".into(),
                message: format!("unknown experiment `{name}`; expected one of {EXPERIMENTS:?}"),
            }
            .into());
        }
    }
    let selected: Vec<&str> = EXPERIMENTS
        .iter()
        .copied()
        .filter(|n| a.only.is_empty() || a.only.iter().any(|o| o == n))
        .collect();
    // Load every config first: a malformed one stops the run before hours of work.
    let mut configs = Vec::new();
    for name in &selected {
        let path = a.configs.join(format!("{name}.toml"));
        configs.push(ExperimentConfig::load(&path, &profile, &[])?);
    }
    let paths = Paths {
        stages: a.runs.clone(),
        results: a.out.clone(),
    };
    let mut statuses = Vec::new();
    let total = configs.len();
    for (i, cfg) in configs.iter().enumerate() {
        println!(
            "[reproduce] ({}/{total}) {} ({profile}) ...",
            i + 1,
            cfg.name
        );
        let t = Instant::now();
        let outcome = pipeline::run_experiment(cfg, &profile, &paths, Until::Analyze);
        let wall_s = t.elapsed().as_secs_f64();
        let status = match outcome {
            Ok(_) => {
                println!(
                    "[reproduce] ({}/{total}) {}: done in {wall_s:.0} s",
                    i + 1,
                    cfg.name
                );
                ExperimentStatus {
                    name: cfg.name.clone(),
                    status: "done".into(),
                    message: None,
                    wall_s,
                }
            }
            Err(e)
                if !cfg.requires.is_empty()
                    && e.to_string().contains("needs files you must bring") =>
            {
                println!(
                    "[reproduce] ({}/{total}) {}: not run: {e:#}",
                    i + 1,
                    cfg.name
                );
                ExperimentStatus {
                    name: cfg.name.clone(),
                    status: "not run".into(),
                    message: Some(format!("{e:#}")),
                    wall_s,
                }
            }
            Err(e) => {
                eprintln!(
                    "[reproduce] ({}/{total}) {}: FAILED: {e:#}",
                    i + 1,
                    cfg.name
                );
                ExperimentStatus {
                    name: cfg.name.clone(),
                    status: "failed".into(),
                    message: Some(format!("{e:#}")),
                    wall_s,
                }
            }
        };
        statuses.push(status);
    }
    let info = RunInfo {
        profile: profile.clone(),
        hardware: hardware(),
        commit: git_commit(),
        wall_s: start.elapsed().as_secs_f64(),
        experiments: statuses,
    };
    store::write_json_atomic(&a.out.join("run_info.json"), &info)?;
    let report = crate::report::write_report(&a.out)?;
    println!(
        "[reproduce] wrote {} ({:.0} s in all)",
        report.display(),
        info.wall_s
    );
    let failed: Vec<&str> = info
        .experiments
        .iter()
        .filter(|s| s.status == "failed")
        .map(|s| s.name.as_str())
        .collect();
    if !failed.is_empty() {
        bail!(
            "{} experiment(s) failed: {}",
            failed.len(),
            failed.join(", ")
        );
    }
    Ok(())
}

/// CPU model, core count and CUDA device count.
fn hardware() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let gpus = tch::Cuda::device_count();
    if gpus > 0 {
        format!("{cpu}, {cores} cores, {gpus} CUDA GPU(s)")
    } else {
        format!("{cpu}, {cores} cores, no GPU")
    }
}

/// The checkout's commit, `-dirty` when it has uncommitted changes.
fn git_commit() -> String {
    let run = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    match run(&["rev-parse", "--short=12", "HEAD"]) {
        Some(c) => {
            let dirty = run(&["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|s| !s.is_empty());
            if dirty { format!("{c}-dirty") } else { c }
        }
        None => "unknown (not a git checkout)".into(),
    }
}
