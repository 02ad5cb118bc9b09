//! Independent `dmd` jobs (one experiment or one sweep point each) run as child processes, a
//! bounded number at a time, each with its share of the CPU threads and its own log file. On a
//! machine with several GPUs each concurrent job gets its own: the job slot `k` runs its
//! children with `CUDA_VISIBLE_DEVICES=k mod GPUs`, so `cuda` in the child is that GPU.
//!
//! Child processes rather than threads: libtorch's intra-op thread count is process-wide, and a
//! child that crashes or is killed takes nothing else down. Jobs that share a stage (a
//! teacher, the MNIST classifier) compute it once: stages are locked ([`crate::store::Stage::lock`]).
//! A child that outlives a killed parent finishes its job; a rerun waits for its locks and
//! reuses what it finished.

use anyhow::{Context, Result};
use std::collections::VecDeque;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::Instant;

/// Exit code of `dmd` for an experiment that needs files the user must bring.
pub const EXIT_NOT_RUN: i32 = 3;

/// Exit code of `dmd` stopped by SIGTERM or SIGUSR1 after checkpointing its running stage (a
/// rerun resumes it); the Slurm task script requeues the task on it.
pub const EXIT_INTERRUPTED: i32 = 75;

/// One child invocation of `dmd`.
#[derive(Debug, Clone)]
pub struct Job {
    /// Shown in progress lines and outcomes.
    pub name: String,
    /// Arguments after the program name, e.g. `["run", "configs/x.toml", ...]`.
    pub args: Vec<String>,
    /// File receiving the child's stdout and stderr (appended, so a rerun keeps the old log).
    pub log: PathBuf,
}

/// How a job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobStatus {
    /// Exit code 0.
    Done,
    /// The experiment needs files the user must bring (exit code [`EXIT_NOT_RUN`]).
    NotRun(String),
    /// Any other exit; the message is the child's last `error:` line.
    Failed(String),
}

/// A finished job.
#[derive(Debug, Clone)]
pub struct JobOutcome {
    /// The job's name.
    pub name: String,
    /// How it ended.
    pub status: JobStatus,
    /// Wall time, seconds.
    pub wall_s: f64,
}

/// How many jobs to run at once, how many threads each gets, and the GPUs they share out.
#[derive(Debug, Clone, Copy)]
pub struct Parallelism {
    /// Jobs at once.
    pub jobs: usize,
    /// Intra-op threads per job (libtorch and rayon).
    pub threads: usize,
    /// GPUs to pin the jobs to (one per job slot, `CUDA_VISIBLE_DEVICES`); 0 pins nothing.
    pub gpus: usize,
}

impl Parallelism {
    /// `jobs` at once (default: one per CUDA GPU, else 2 when there are at least 2 cores),
    /// sharing the machine's cores evenly, each job slot pinned to its own GPU.
    pub fn new(jobs: Option<usize>) -> Self {
        let gpus = if tch::Cuda::is_available() {
            tch::Cuda::device_count().max(0) as usize
        } else {
            0
        };
        Self::for_machine(
            jobs,
            std::thread::available_parallelism().map_or(1, |n| n.get()),
            gpus,
        )
    }

    /// [`Parallelism::new`] for a machine with `cores` cores and `gpus` GPUs.
    pub fn for_machine(jobs: Option<usize>, cores: usize, gpus: usize) -> Self {
        let default = if gpus > 0 { gpus } else { 2 };
        let jobs = jobs.unwrap_or(default).clamp(1, cores.max(gpus).max(1));
        Self {
            jobs,
            threads: (cores / jobs).max(1),
            gpus,
        }
    }

    /// The `CUDA_VISIBLE_DEVICES` of the job slot `slot`, when GPUs are shared out.
    pub fn gpu_of_slot(&self, slot: usize) -> Option<usize> {
        (self.gpus > 0).then(|| slot % self.gpus)
    }
}

/// The `dmd` executable the children run: `$DMD_BIN` when set (a program embedding this
/// library), else the running executable (the `dmd` command line itself).
pub fn dmd_executable() -> Result<PathBuf> {
    match std::env::var_os("DMD_BIN") {
        Some(p) => Ok(PathBuf::from(p)),
        None => std::env::current_exe().context("cannot locate the dmd executable"),
    }
}

/// Runs `jobs` with `par.jobs` at once, in order of the list, printing a line when each starts
/// and ends (prefixed with `label`). Returns the outcomes in the order of `jobs`.
pub fn run_jobs(label: &str, jobs: &[Job], par: Parallelism) -> Result<Vec<JobOutcome>> {
    run_jobs_with(&dmd_executable()?, label, jobs, par)
}

/// [`run_jobs`] with the program `exe` instead of `dmd`.
pub fn run_jobs_with(
    exe: &std::path::Path,
    label: &str,
    jobs: &[Job],
    par: Parallelism,
) -> Result<Vec<JobOutcome>> {
    let queue: Mutex<VecDeque<usize>> = Mutex::new((0..jobs.len()).collect());
    let outcomes: Mutex<Vec<Option<JobOutcome>>> = Mutex::new(vec![None; jobs.len()]);
    let total = jobs.len();
    let finished = Mutex::new(0usize);
    std::thread::scope(|scope| -> Result<()> {
        let mut handles = Vec::new();
        for slot in 0..par.jobs.min(total.max(1)) {
            let (queue, outcomes, finished) = (&queue, &outcomes, &finished);
            handles.push(scope.spawn(move || -> Result<()> {
                let gpu = par.gpu_of_slot(slot);
                loop {
                    let Some(i) = queue.lock().expect("queue lock").pop_front() else {
                        return Ok(());
                    };
                    let job = &jobs[i];
                    println!(
                        "[{label}] start {} ({} thread(s){}; log: {})",
                        job.name,
                        par.threads,
                        gpu.map(|g| format!(", GPU {g}")).unwrap_or_default(),
                        job.log.display()
                    );
                    let outcome = run_one(exe, job, par.threads, gpu)?;
                    let done = {
                        let mut f = finished.lock().expect("counter lock");
                        *f += 1;
                        *f
                    };
                    match &outcome.status {
                        JobStatus::Done => println!(
                            "[{label}] ({done}/{total}) {}: done in {:.0} s",
                            job.name, outcome.wall_s
                        ),
                        JobStatus::NotRun(m) => {
                            println!("[{label}] ({done}/{total}) {}: not run: {m}", job.name)
                        }
                        JobStatus::Failed(m) => eprintln!(
                            "[{label}] ({done}/{total}) {}: FAILED after {:.0} s: {m} (log: {})",
                            job.name,
                            outcome.wall_s,
                            job.log.display()
                        ),
                    }
                    outcomes.lock().expect("outcomes lock")[i] = Some(outcome);
                }
            }));
        }
        for h in handles {
            h.join().expect("job worker panicked")?;
        }
        Ok(())
    })?;
    Ok(outcomes
        .into_inner()
        .expect("outcomes lock")
        .into_iter()
        .map(|o| o.expect("every job ran"))
        .collect())
}

/// Runs one child to completion (pinned to `gpu` when given).
fn run_one(
    exe: &std::path::Path,
    job: &Job,
    threads: usize,
    gpu: Option<usize>,
) -> Result<JobOutcome> {
    if let Some(dir) = job.log.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&job.log)
        .with_context(|| format!("cannot open {}", job.log.display()))?;
    let start_len = log.metadata().map_or(0, |m| m.len());
    let t = Instant::now();
    let mut cmd = Command::new(exe);
    if let Some(g) = gpu {
        cmd.env("CUDA_VISIBLE_DEVICES", g.to_string());
    }
    if crate::reference::retrain_requested() {
        cmd.env(crate::reference::RETRAIN_ENV, "1");
    }
    let status = cmd
        .args(&job.args)
        .env("DMD_THREADS", threads.to_string())
        .env("RAYON_NUM_THREADS", threads.to_string())
        .env("OMP_NUM_THREADS", threads.to_string())
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .status()
        .with_context(|| format!("cannot start {}", exe.display()))?;
    let wall_s = t.elapsed().as_secs_f64();
    let status = match status.code() {
        Some(0) => JobStatus::Done,
        code => {
            let message = last_error_line(&job.log, start_len).unwrap_or_else(|| match code {
                Some(c) => format!("exit code {c}"),
                None => "killed by a signal".to_string(),
            });
            if code == Some(EXIT_NOT_RUN) {
                JobStatus::NotRun(message)
            } else {
                JobStatus::Failed(message)
            }
        }
    };
    Ok(JobOutcome {
        name: job.name.clone(),
        status,
        wall_s,
    })
}

/// The last `error: ...` line the child wrote to its log after byte `from`.
fn last_error_line(log: &std::path::Path, from: u64) -> Option<String> {
    let bytes = std::fs::read(log).ok()?;
    let tail = String::from_utf8_lossy(bytes.get(from as usize..)?);
    tail.lines()
        .rev()
        .find_map(|l| l.strip_prefix("error: "))
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_error_line_reads_only_the_new_part_of_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("x.log");
        std::fs::write(&log, "error: old failure\n").unwrap();
        let from = std::fs::metadata(&log).unwrap().len();
        assert_eq!(last_error_line(&log, from), None);
        std::fs::write(
            &log,
            "error: old failure\nINFO working\nerror: config bad\n",
        )
        .unwrap();
        assert_eq!(last_error_line(&log, from).as_deref(), Some("config bad"));
    }

    #[test]
    fn parallelism_shares_the_cores() {
        let p = Parallelism::for_machine(Some(1), 8, 0);
        assert_eq!((p.jobs, p.threads, p.gpu_of_slot(0)), (1, 8, None));
        let p = Parallelism::for_machine(Some(10_000), 8, 0);
        assert_eq!((p.jobs, p.threads), (8, 1));
        assert_eq!(Parallelism::for_machine(None, 8, 0).jobs, 2);
        // one job per GPU by default, each slot its own GPU
        let p = Parallelism::for_machine(None, 16, 4);
        assert_eq!((p.jobs, p.threads), (4, 4));
        let slots: Vec<_> = (0..4).map(|k| p.gpu_of_slot(k)).collect();
        assert_eq!(slots, [Some(0), Some(1), Some(2), Some(3)]);
    }

    /// Four jobs at once on a machine reporting four GPUs: each child sees a different
    /// `CUDA_VISIBLE_DEVICES` (the children are a script that records it while the others run).
    #[test]
    fn four_jobs_on_four_gpus_each_get_their_own() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("fake-dmd.sh");
        std::fs::write(
            &script,
            "#!/bin/sh\necho \"$CUDA_VISIBLE_DEVICES\" > \"$1\"\nsleep 0.5\n",
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let jobs: Vec<Job> = (0..4)
            .map(|k| Job {
                name: format!("job{k}"),
                args: vec![dir.path().join(format!("seen{k}")).display().to_string()],
                log: dir.path().join(format!("job{k}.log")),
            })
            .collect();
        let par = Parallelism::for_machine(None, 4, 4);
        let out = run_jobs_with(&script, "test", &jobs, par).unwrap();
        assert!(out.iter().all(|o| o.status == JobStatus::Done), "{out:?}");
        let mut seen: Vec<String> = (0..4)
            .map(|k| {
                std::fs::read_to_string(dir.path().join(format!("seen{k}")))
                    .unwrap()
                    .trim()
                    .to_string()
            })
            .collect();
        seen.sort();
        assert_eq!(seen, ["0", "1", "2", "3"]);
    }
}
