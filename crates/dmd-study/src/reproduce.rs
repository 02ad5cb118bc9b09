//! `dmd reproduce`: every experiment of the paper in order, then `results/REPORT.md`.
//!
//! Experiments that share data and teacher settings share the trained teacher (content-
//! addressed stages), and every finished stage is skipped, so a killed reproduce picks up
//! where it stopped. Experiments run as child `dmd run` processes, `--jobs` at a time
//! ([`crate::jobs`]), each logging to `results/logs/<name>.log`. An experiment that needs files
//! the user must bring (ImageNet-64) is reported as "not run" with the files it needs; any
//! other failure is reported and the run goes on, then exits non-zero.

use anyhow::{Result, bail};
use std::path::PathBuf;
use std::time::Instant;

use crate::config::ExperimentConfig;
use crate::schema::{EXPERIMENTS, ExperimentOutcome, ExperimentStatus, RunInfo};
use crate::{jobs, store};

/// What `dmd reproduce` runs (the command line's arguments).
#[derive(Debug, Clone)]
pub struct ReproduceOptions {
    /// Scale profile: smoke, cpu or paper (default: paper with a CUDA GPU, cpu otherwise).
    pub profile: Option<String>,
    /// Run only these experiments (names as in configs/, repeatable).
    pub only: Vec<String>,
    /// Folder holding the experiment configs.
    pub configs: PathBuf,
    /// Results folder.
    pub out: PathBuf,
    /// Folder of the content-addressed stage outputs.
    pub runs: PathBuf,
    /// Experiments run at once, each a child process with its share of the cores (default:
    /// one per CUDA GPU, each pinned to its own with CUDA_VISIBLE_DEVICES, else 2).
    pub jobs: Option<usize>,
    /// Where the experiments run (local child processes, or an sbatch array).
    pub backend: crate::sweep::Backend,
    /// Slurm resources (`--slurm-*`).
    pub slurm: crate::sweep::slurm::SlurmConfig,
    /// Run only the teachers and the classifier of the selected experiments (the Slurm
    /// prepare job).
    pub prepare: bool,
}

/// `dmd reproduce --backend slurm`: a prepare job (every selected experiment's teacher), an
/// array of one `dmd run` per experiment, then `dmd report` (see [`crate::sweep::slurm`]).
fn submit_to_slurm(a: &ReproduceOptions, profile: &str, selected: &[&str]) -> Result<()> {
    use crate::sweep::slurm;
    let abs = |p: &std::path::Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let exe = std::env::current_exe()?;
    let cwd = std::env::current_dir()?;
    let (configs, out, runs) = (abs(&a.configs), abs(&a.out), abs(&a.runs));
    let s = |p: &std::path::Path| p.to_string_lossy().into_owned();
    let common = |mut v: Vec<String>| {
        v.extend(["--profile".into(), profile.to_string()]);
        v.extend(["--out".into(), s(&out), "--runs".into(), s(&runs)]);
        v
    };
    let mut prepare = common(vec!["reproduce".into(), "--configs".into(), s(&configs)]);
    prepare.push("--prepare".into());
    prepare.push("--only".into());
    prepare.extend(selected.iter().map(|n| n.to_string()));
    let array = common(vec!["run".into(), "${CONFIG}".into()]);
    let gather = vec!["report".into(), "--out".into(), s(&out)];
    let preamble = format!(
        "names=({})\nCONFIG={}/${{names[$SLURM_ARRAY_TASK_ID]}}.toml\n",
        selected.join(" "),
        s(&configs)
    );
    let mut spec = format!("0-{}", selected.len().saturating_sub(1));
    if let Some(n) = a.slurm.max_concurrent {
        spec.push_str(&format!("%{n}"));
    }
    let plan = slurm::ScriptPlan {
        exe: &exe,
        sweep_file: &configs,
        profile,
        out: &out,
        runs: &runs,
        cwd: &cwd,
    };
    let ids = slurm::submit_jobs(
        "reproduce",
        &a.slurm,
        &plan,
        [prepare, array, gather],
        &spec,
        &preamble,
    )?;
    println!(
        "[reproduce] submitted to Slurm: prepare job {}, array job {} ({} experiment(s): {}), report job {}; scripts in {}",
        ids.prepare,
        ids.array,
        selected.len(),
        selected.join(", "),
        ids.gather,
        out.join("slurm").display()
    );
    Ok(())
}

/// One job of a local reproduce: a whole experiment (`dmd run`), or one student of a
/// many-snapshot experiment computed ahead of it (`dmd sample --set distill_from=[s]`, which
/// fills the same content-addressed stages the experiment then reuses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedJob {
    /// The experiment (its config's name).
    pub experiment: String,
    /// The teacher snapshot whose samples and student this job computes ahead, if any.
    pub prefetch: Option<u64>,
}

impl PlannedJob {
    /// A whole experiment.
    pub fn whole(experiment: &str) -> Self {
        Self {
            experiment: experiment.to_string(),
            prefetch: None,
        }
    }

    /// Its name in progress lines and logs: `mnist-snapshots@1024` for a prefetch.
    pub fn name(&self) -> String {
        match self.prefetch {
            Some(s) => format!("{}@{s}", self.experiment),
            None => self.experiment.clone(),
        }
    }
}

/// The order of a local reproduce. An experiment with several students of its own (the
/// teacher-convergence snapshots) is the longest by far and would leave the other slots idle
/// at the end; so each of its students that no other experiment distils is first computed by
/// a job of its own, those jobs run first, and the experiment itself runs last, when it only
/// measures what they computed. The other experiments keep the order of [`EXPERIMENTS`].
pub fn job_order(plan: &crate::plan::Plan) -> Vec<PlannedJob> {
    let (many, single): (Vec<_>, Vec<_>) = plan
        .experiments
        .iter()
        .partition(|e| e.skipped.is_none() && e.students.len() > 1);
    let ahead = many.iter().flat_map(|e| {
        e.students
            .iter()
            .filter(|s| s.shared_with.is_none())
            .map(|s| PlannedJob {
                experiment: e.name.clone(),
                prefetch: Some(s.snapshot),
            })
    });
    ahead
        .chain(
            single
                .iter()
                .chain(&many)
                .map(|e| PlannedJob::whole(&e.name)),
        )
        .collect()
}

/// Runs the experiments, writes `run_info.json` and the report.
pub fn run(a: ReproduceOptions) -> Result<()> {
    let start = Instant::now();
    let profile = a
        .profile
        .clone()
        .unwrap_or_else(crate::config::default_profile);
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
    if a.prepare {
        let paths = crate::pipeline::Paths {
            stages: a.runs.clone(),
            results: a.out.join("slurm").join("prepare"),
        };
        for cfg in &configs {
            println!("[reproduce] prepare: the teacher of {}", cfg.name);
            match crate::pipeline::run_experiment(
                cfg,
                &profile,
                &paths,
                crate::pipeline::Until::Teacher,
            ) {
                Err(e) if e.downcast_ref::<crate::pipeline::MissingFiles>().is_some() => {
                    println!("[reproduce] prepare: {} not run: {e}", cfg.name);
                    continue;
                }
                other => other?,
            };
            crate::pipeline::classifier_stage(cfg, &paths, cfg.device.resolve()?)?;
        }
        return Ok(());
    }
    if a.backend == crate::sweep::Backend::Slurm {
        return submit_to_slurm(&a, &profile, &selected);
    }
    // Students of a many-snapshot experiment run as jobs of their own first (see
    // [`job_order`]); without a plan (an unreadable data file, say) every experiment simply
    // runs whole, in order.
    let plan = crate::plan::plan(&a.configs, &profile, &a.only, &a.runs)
        .map_err(|e| println!("[reproduce] no prefetch of students ({e:#}); experiments run whole"))
        .ok();
    let order = match &plan {
        Some(p) => job_order(p),
        None => selected.iter().map(|n| PlannedJob::whole(n)).collect(),
    };
    let par = jobs::Parallelism::new(a.jobs);
    let ahead = order.iter().filter(|j| j.prefetch.is_some()).count();
    println!(
        "[reproduce] {} experiment(s){}, profile {profile}, {} at a time with {} thread(s) each; logs in {}",
        configs.len(),
        if ahead > 0 {
            format!(" and {ahead} student(s) computed ahead of their experiment")
        } else {
            String::new()
        },
        par.jobs,
        par.threads,
        a.out.join("logs").display()
    );
    let job_list: Vec<jobs::Job> = order
        .iter()
        .map(|j| {
            let mut args = vec![
                if j.prefetch.is_some() {
                    "sample"
                } else {
                    "run"
                }
                .to_string(),
                a.configs
                    .join(format!("{}.toml", j.experiment))
                    .to_string_lossy()
                    .into_owned(),
                "--profile".into(),
                profile.clone(),
                "--out".into(),
                a.out.to_string_lossy().into_owned(),
                "--runs".into(),
                a.runs.to_string_lossy().into_owned(),
            ];
            if let Some(snapshot) = j.prefetch {
                args.extend(["--set".into(), format!("distill_from=[{snapshot}]")]);
            }
            jobs::Job {
                name: j.name(),
                args,
                log: a.out.join("logs").join(format!("{}.log", j.name())),
            }
        })
        .collect();
    let outcomes = jobs::run_jobs("reproduce", &job_list, par)?;
    let mut statuses: Vec<ExperimentStatus> = outcomes
        .into_iter()
        .zip(&order)
        .filter_map(|(o, j)| {
            // A prefetch only warms the stage store: when it fails, its experiment computes
            // the same stages itself (and reports any error).
            if j.prefetch.is_some() {
                if let jobs::JobStatus::Failed(m) = &o.status {
                    println!(
                        "[reproduce] prefetch {} failed ({m}); {} computes it itself",
                        o.name, j.experiment
                    );
                }
                return None;
            }
            Some(o)
        })
        .map(|o| {
            let (status, message) = match o.status {
                jobs::JobStatus::Done => (ExperimentOutcome::Done, None),
                jobs::JobStatus::NotRun(m) => (ExperimentOutcome::NotRun, Some(m)),
                jobs::JobStatus::Failed(m) => (ExperimentOutcome::Failed, Some(m)),
            };
            ExperimentStatus {
                name: o.name,
                status,
                message,
                wall_s: o.wall_s,
            }
        })
        .collect();
    // In the paper's order, whatever order they ran in.
    statuses.sort_by_key(|st| EXPERIMENTS.iter().position(|n| *n == st.name));
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
        .filter(|s| s.status == ExperimentOutcome::Failed)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// At `cpu` the snapshots' own students (not the 8192 one, which mnist-uncond distils)
    /// run first as jobs of their own, every experiment runs once as a whole, and
    /// mnist-snapshots runs last, after mnist-uncond.
    #[test]
    fn many_snapshot_students_run_first_and_their_experiment_last() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let stages = tempfile::tempdir().unwrap();
        let plan = crate::plan::plan(&root.join("configs"), "cpu", &[], stages.path()).unwrap();
        let order = job_order(&plan);
        let names: Vec<String> = order.iter().map(PlannedJob::name).collect();
        assert_eq!(
            names[..3],
            [
                "mnist-snapshots@1024",
                "mnist-snapshots@2048",
                "mnist-snapshots@4096"
            ],
            "{names:?}"
        );
        assert_eq!(names.last().unwrap(), "mnist-snapshots", "{names:?}");
        let whole: Vec<&str> = order
            .iter()
            .filter(|j| j.prefetch.is_none())
            .map(|j| j.experiment.as_str())
            .collect();
        let mut sorted = whole.clone();
        sorted.sort_unstable();
        let mut all = EXPERIMENTS.to_vec();
        all.sort_unstable();
        assert_eq!(sorted, all, "every experiment once: {whole:?}");
        // With nothing to split, the order is EXPERIMENTS'.
        let toys = crate::plan::plan(
            &root.join("configs"),
            "cpu",
            &["moons-r4".into(), "chessboard-r4".into()],
            stages.path(),
        )
        .unwrap();
        let names: Vec<String> = job_order(&toys).iter().map(PlannedJob::name).collect();
        assert_eq!(names, ["chessboard-r4", "moons-r4"]);
    }
}
