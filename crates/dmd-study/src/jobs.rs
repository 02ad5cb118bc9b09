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
//!
//! The live console: each child writes its stage, iteration, rate and ETA to a status file
//! beside its log (`$DMD_STATUS_FILE`, [`dmd_train::progress::report`]); the runner shows one
//! line per running job under an overall bar on a terminal, and the same lines every minute
//! in a log.

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
    let console = Console::new(label, total);
    let running: Mutex<Vec<(usize, Instant)>> = Mutex::new(Vec::new());
    let all_done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| -> Result<()> {
        let (console, running, all_done, finished_ref) = (&console, &running, &all_done, &finished);
        // The live view: the running jobs' status files, every second on a terminal, every
        // minute in a log.
        scope.spawn(move || {
            let start = Instant::now();
            let mut lines: Vec<indicatif::ProgressBar> = Vec::new();
            let mut last_log = Instant::now();
            while !all_done.load(std::sync::atomic::Ordering::SeqCst) {
                std::thread::sleep(std::time::Duration::from_millis(250));
                let now: Vec<String> = running
                    .lock()
                    .expect("running lock")
                    .iter()
                    .map(|&(i, since)| live_line(&jobs[i], since))
                    .collect();
                match &console.bars {
                    Some(m) => {
                        while lines.len() < now.len() {
                            let b = m.add(indicatif::ProgressBar::new_spinner());
                            lines.push(b);
                        }
                        while lines.len() > now.len() {
                            if let Some(b) = lines.pop() {
                                b.finish_and_clear();
                                m.remove(&b);
                            }
                        }
                        for (k, b) in lines.iter().enumerate() {
                            b.set_message(now.get(k).cloned().unwrap_or_default());
                            b.tick();
                        }
                    }
                    None if last_log.elapsed().as_secs() >= 60 && !now.is_empty() => {
                        last_log = Instant::now();
                        let done = *finished_ref.lock().expect("counter lock");
                        println!(
                            "[{}] {done}/{total} done after {}; {}",
                            console.label,
                            fmt_secs(start.elapsed().as_secs_f64()),
                            now.join("; ")
                        );
                    }
                    None => {}
                }
            }
            for b in lines {
                b.finish_and_clear();
            }
        });
        let mut handles = Vec::new();
        for slot in 0..par.jobs.min(total.max(1)) {
            let (queue, outcomes, finished) = (&queue, &outcomes, &finished);
            let _ = console;
            handles.push(scope.spawn(move || -> Result<()> {
                let gpu = par.gpu_of_slot(slot);
                loop {
                    let Some(i) = queue.lock().expect("queue lock").pop_front() else {
                        return Ok(());
                    };
                    let job = &jobs[i];
                    console.say(&format!(
                        "[{label}] start {} ({} thread(s){}; log: {})",
                        job.name,
                        par.threads,
                        gpu.map(|g| format!(", GPU {g}")).unwrap_or_default(),
                        job.log.display()
                    ));
                    running
                        .lock()
                        .expect("running lock")
                        .push((i, Instant::now()));
                    let outcome = run_one(exe, job, par.threads, gpu);
                    running
                        .lock()
                        .expect("running lock")
                        .retain(|&(k, _)| k != i);
                    let outcome = outcome?;
                    let done = {
                        let mut f = finished.lock().expect("counter lock");
                        *f += 1;
                        *f
                    };
                    console.overall.inc(1);
                    match &outcome.status {
                        JobStatus::Done => console.say(&format!(
                            "[{label}] ({done}/{total}) {}: done in {:.0} s",
                            job.name, outcome.wall_s
                        )),
                        JobStatus::NotRun(m) => console.say(&format!(
                            "[{label}] ({done}/{total}) {}: not run: {m}",
                            job.name
                        )),
                        JobStatus::Failed(m) => console.say(&format!(
                            "[{label}] ({done}/{total}) {}: FAILED after {:.0} s: {m} (log: {})",
                            job.name,
                            outcome.wall_s,
                            job.log.display()
                        )),
                    }
                    outcomes.lock().expect("outcomes lock")[i] = Some(outcome);
                }
            }));
        }
        let mut result = Ok(());
        for h in handles {
            let r = h.join().expect("job worker panicked");
            if result.is_ok() {
                result = r;
            }
        }
        all_done.store(true, std::sync::atomic::Ordering::SeqCst);
        console.overall.finish_and_clear();
        result
    })?;
    Ok(outcomes
        .into_inner()
        .expect("outcomes lock")
        .into_iter()
        .map(|o| o.expect("every job ran"))
        .collect())
}

/// The live-status file of a job's child (beside its log).
fn status_path(job: &Job) -> PathBuf {
    job.log.with_extension("status.json")
}

/// The console line of a running job: its stage, iteration, rate and ETA from its status file.
fn live_line(job: &Job, since: Instant) -> String {
    let status = std::fs::read(status_path(job))
        .ok()
        .and_then(|b| serde_json::from_slice::<dmd_train::progress::LiveStatus>(&b).ok());
    let elapsed = since.elapsed().as_secs_f64();
    match status {
        Some(st) if st.total > 0 => format!(
            "{}: {} {}/{} ({:.1} it/s, eta {}) [{}]",
            job.name,
            st.stage,
            st.pos,
            st.total,
            st.rate,
            st.eta_s.map_or("-".into(), fmt_secs),
            fmt_secs(elapsed)
        ),
        Some(st) => format!("{}: {} [{}]", job.name, st.stage, fmt_secs(elapsed)),
        None => format!("{}: starting [{}]", job.name, fmt_secs(elapsed)),
    }
}

/// `1h02m`, `4m05s`, `12s`.
fn fmt_secs(s: f64) -> String {
    let s = s.max(0.0).round() as u64;
    match (s / 3600, (s % 3600) / 60, s % 60) {
        (0, 0, sec) => format!("{sec}s"),
        (0, m, sec) => format!("{m}m{sec:02}s"),
        (h, m, _) => format!("{h}h{m:02}m"),
    }
}

/// The live console of a run: on a terminal, one line per running job (stage, iteration,
/// speed, ETA) under an overall bar; in a log, the same lines every minute.
struct Console {
    bars: Option<indicatif::MultiProgress>,
    overall: indicatif::ProgressBar,
    label: String,
}

impl Console {
    fn new(label: &str, total: usize) -> Self {
        use std::io::IsTerminal;
        let terminal = std::io::stdout().is_terminal();
        let bars = terminal.then(indicatif::MultiProgress::new);
        let overall = match &bars {
            Some(m) => m.add(crate::progress::bar(total as u64, label)),
            None => indicatif::ProgressBar::hidden(),
        };
        Self {
            bars,
            overall,
            label: label.to_string(),
        }
    }

    /// Prints a line above the bars.
    fn say(&self, line: &str) {
        match &self.bars {
            Some(m) => {
                let _ = m.println(line);
            }
            None => println!("{line}"),
        }
    }
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
    let status_file = status_path(job);
    let _ = std::fs::remove_file(&status_file);
    cmd.env(dmd_train::progress::STATUS_ENV, &status_file);
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
    // the status is live only: a finished job's log says the rest
    let _ = std::fs::remove_file(&status_file);
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
