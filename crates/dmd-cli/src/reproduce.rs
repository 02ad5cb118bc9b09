//! `dmd reproduce`: every experiment of the paper in order, then `results/REPORT.md`.
//!
//! Experiments that share data and teacher settings share the trained teacher (content-
//! addressed stages), and every finished stage is skipped, so a killed reproduce picks up
//! where it stopped. Experiments run as child `dmd run` processes, `--jobs` at a time
//! ([`crate::jobs`]), each logging to `results/logs/<name>.log`. An experiment that needs files
//! the user must bring (ImageNet-64) is reported as "not run" with the files it needs; any
//! other failure is reported and the run goes on, then exits non-zero.

use anyhow::{Result, bail};
use clap::Args;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Instant;

use crate::config::ExperimentConfig;
use crate::{jobs, store};

/// The paper's experiments, in the order they start. mnist-snapshots and mnist-gan reuse
/// mnist-uncond's teacher, so mnist-cond comes first: with two jobs at a time the two MNIST
/// teachers train side by side.
pub const EXPERIMENTS: [&str; 9] = [
    "chessboard-r4",
    "moons-r4",
    "gmm32-r4",
    "mlp-manifold-cond",
    "mnist-uncond",
    "mnist-cond",
    "mnist-snapshots",
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
    /// Experiments run at once, each a child process with its share of the cores (default:
    /// 1 with a CUDA GPU, else 2).
    #[arg(long)]
    pub jobs: Option<usize>,
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
    let par = jobs::Parallelism::new(a.jobs);
    println!(
        "[reproduce] {} experiment(s), profile {profile}, {} at a time with {} thread(s) each; logs in {}",
        configs.len(),
        par.jobs,
        par.threads,
        a.out.join("logs").display()
    );
    let job_list: Vec<jobs::Job> = selected
        .iter()
        .map(|name| jobs::Job {
            name: name.to_string(),
            args: vec![
                "run".into(),
                a.configs
                    .join(format!("{name}.toml"))
                    .to_string_lossy()
                    .into_owned(),
                "--profile".into(),
                profile.clone(),
                "--out".into(),
                a.out.to_string_lossy().into_owned(),
                "--runs".into(),
                a.runs.to_string_lossy().into_owned(),
            ],
            log: a.out.join("logs").join(format!("{name}.log")),
        })
        .collect();
    let statuses: Vec<ExperimentStatus> = jobs::run_jobs("reproduce", &job_list, par)?
        .into_iter()
        .map(|o| {
            let (status, message) = match o.status {
                jobs::JobStatus::Done => ("done", None),
                jobs::JobStatus::NotRun(m) => ("not run", Some(m)),
                jobs::JobStatus::Failed(m) => ("failed", Some(m)),
            };
            ExperimentStatus {
                name: o.name,
                status: status.into(),
                message,
                wall_s: o.wall_s,
            }
        })
        .collect();
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
