//! Independent `dmd` jobs (one experiment or one sweep point each) run as child processes, a
//! bounded number at a time, each with its share of the CPU threads and its own log file.
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

/// How many jobs to run at once and how many threads each gets.
#[derive(Debug, Clone, Copy)]
pub struct Parallelism {
    /// Jobs at once.
    pub jobs: usize,
    /// Intra-op threads per job (libtorch and rayon).
    pub threads: usize,
}

impl Parallelism {
    /// `jobs` at once (default: 1 with a CUDA GPU, else 2 when there are at least 2 cores),
    /// sharing the machine's cores evenly.
    pub fn new(jobs: Option<usize>) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let jobs = jobs
            .unwrap_or(if tch::Cuda::is_available() { 1 } else { 2 })
            .clamp(1, cores.max(1));
        Self {
            jobs,
            threads: (cores / jobs).max(1),
        }
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
    let exe = dmd_executable()?;
    let queue: Mutex<VecDeque<usize>> = Mutex::new((0..jobs.len()).collect());
    let outcomes: Mutex<Vec<Option<JobOutcome>>> = Mutex::new(vec![None; jobs.len()]);
    let total = jobs.len();
    let finished = Mutex::new(0usize);
    std::thread::scope(|scope| -> Result<()> {
        let mut handles = Vec::new();
        for _ in 0..par.jobs.min(total.max(1)) {
            handles.push(scope.spawn(|| -> Result<()> {
                loop {
                    let Some(i) = queue.lock().expect("queue lock").pop_front() else {
                        return Ok(());
                    };
                    let job = &jobs[i];
                    println!(
                        "[{label}] start {} ({} thread(s); log: {})",
                        job.name,
                        par.threads,
                        job.log.display()
                    );
                    let outcome = run_one(&exe, job, par.threads)?;
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

/// Runs one child to completion.
fn run_one(exe: &std::path::Path, job: &Job, threads: usize) -> Result<JobOutcome> {
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
    let status = Command::new(exe)
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
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let p = Parallelism::new(Some(1));
        assert_eq!((p.jobs, p.threads), (1, cores));
        let p = Parallelism::new(Some(10_000));
        assert_eq!(p.jobs, cores);
        assert_eq!(p.threads, 1);
    }
}
