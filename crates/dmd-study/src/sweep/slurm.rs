//! The Slurm backend of `dmd sweep` (`--backend slurm`): the sweep becomes three sbatch jobs,
//! written to `<out>/slurm/` (kept, so a user can read and resubmit them) and submitted with
//! dependencies, so no parent process has to stay alive:
//!
//! 1. `prepare.sbatch`: the stages many points share (every point's teacher, the MNIST
//!    classifier), computed once, in one job, before any point runs (no two nodes train the same
//!    teacher, and no file lock has to work across nodes);
//! 2. `array.sbatch`: one array task per missing point (`afterok` on prepare, at most
//!    `max_concurrent` at once), each running its point in-process by index
//!    (`dmd sweep ... --task $SLURM_ARRAY_TASK_ID`) and writing the point's `POINT.json`;
//! 3. `gather.sbatch`: the tables, figures and `SWEEP.md` (`afterany` on the array, so a failed
//!    point leaves the others' table).
//!
//! Preemption: the scripts ask Slurm for `--signal=B:USR1@<signal_s>` and forward it to `dmd`,
//! which checkpoints its running stage and exits with [`crate::jobs::EXIT_INTERRUPTED`]; the
//! script then requeues its task (`scontrol requeue`), which resumes from the checkpoint.
//!
//! The submission (`slurm/submission.json`) records the sweep file's sha256: a task or gather
//! job that finds the file edited since refuses with one line, and `--status` reports every
//! point as done, pending, running or failed (from `squeue`, and `sacct` when accounting is on)
//! with the log of each failure.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use super::{Point, SweepConfig};
use crate::store;

/// Resources of the sbatch jobs: the sweep file's `[slurm]` table, overridden by the command
/// line's `--slurm-*` flags.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SlurmConfig {
    /// `--partition`.
    pub partition: Option<String>,
    /// `--time` of each job, e.g. `"04:00:00"`.
    pub time: Option<String>,
    /// `--cpus-per-task` (also the libtorch thread count of each task; default 1).
    pub cpus_per_task: Option<u32>,
    /// `--mem`, e.g. `"8G"`.
    pub mem: Option<String>,
    /// `--gres`, e.g. `"gpu:1"`.
    pub gres: Option<String>,
    /// `--account`.
    pub account: Option<String>,
    /// Array tasks running at once (`--array=...%N`; default: no limit).
    pub max_concurrent: Option<usize>,
    /// Seconds before the end of a job at which Slurm sends SIGUSR1 (default 120).
    pub signal_s: Option<u32>,
    /// Extra `#SBATCH` lines, written as given (e.g. `"--qos=long"`).
    pub extra: Vec<String>,
}

impl SlurmConfig {
    /// `self` with every field `over` sets replaced.
    pub fn overridden_by(mut self, over: &SlurmConfig) -> Self {
        macro_rules! take {
            ($($f:ident),*) => {$(if over.$f.is_some() { self.$f = over.$f.clone(); })*};
        }
        take!(
            partition,
            time,
            cpus_per_task,
            mem,
            gres,
            account,
            max_concurrent,
            signal_s
        );
        self.extra.extend(over.extra.iter().cloned());
        self
    }

    fn cpus(&self) -> u32 {
        self.cpus_per_task.unwrap_or(1).max(1)
    }
}

/// The job ids of one submission.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobIds {
    /// The shared-stages job.
    pub prepare: String,
    /// The array of points.
    pub array: String,
    /// The gathering job.
    pub gather: String,
}

/// One array task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    /// `$SLURM_ARRAY_TASK_ID`: the point's index in the sweep.
    pub index: usize,
    /// The point's id.
    pub point: String,
}

/// `<out>/slurm/submission.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Submission {
    /// The sweep file (absolute).
    pub sweep: PathBuf,
    /// Its sha256 at submission: tasks and the gather job refuse an edited file.
    pub sweep_sha256: String,
    /// Profile.
    pub profile: String,
    /// The jobs.
    pub jobs: JobIds,
    /// The submitted points.
    pub tasks: Vec<Task>,
    /// The resources used.
    pub slurm: SlurmConfig,
}

/// Where the submission lives.
pub fn submission_path(out: &Path) -> PathBuf {
    out.join("slurm").join("submission.json")
}

/// The submission of a sweep's output folder, if any.
pub fn read_submission(out: &Path) -> Result<Option<Submission>> {
    let p = submission_path(out);
    if !p.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&p)?;
    Ok(Some(serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a submission record; delete it and resubmit",
            p.display()
        )
    })?))
}

/// Refuses to go on when the sweep file changed since it was submitted.
pub fn check_unchanged(sweep_file: &Path, out: &Path) -> Result<()> {
    let Some(sub) = read_submission(out)? else {
        return Ok(());
    };
    let now = store::file_sha256(sweep_file)?;
    if now != sub.sweep_sha256 {
        bail!(
            "{} changed since it was submitted to Slurm (sha256 {} then, {} now): rerun `dmd sweep {} --backend slurm` to submit the changed points",
            sweep_file.display(),
            &sub.sweep_sha256[..12],
            &now[..12],
            sweep_file.display()
        );
    }
    Ok(())
}

/// What a generated script runs.
pub struct ScriptPlan<'a> {
    /// The `dmd` binary (absolute).
    pub exe: &'a Path,
    /// The sweep file (absolute).
    pub sweep_file: &'a Path,
    /// Profile.
    pub profile: &'a str,
    /// Output folder (absolute).
    pub out: &'a Path,
    /// Stage store (absolute).
    pub runs: &'a Path,
    /// Working directory of the jobs.
    pub cwd: &'a Path,
}

/// A shell word: single-quoted, except a `${VAR}` reference, which the job's shell expands.
fn quote(s: &str) -> String {
    if s.starts_with("${") && s.ends_with('}') && !s.contains(['\'', '"', ' ']) {
        return format!("\"{s}\"");
    }
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// One sbatch script: the resources, then `dmd sweep <args>` run in the background with
/// SIGUSR1/SIGTERM forwarded to it, and a requeue when it stopped to be preempted.
pub fn script(
    name: &str,
    kind: &str,
    cfg: &SlurmConfig,
    plan: &ScriptPlan,
    dmd_args: &[String],
    array: Option<&str>,
    preamble: &str,
) -> String {
    let mut s = String::from("#!/bin/bash\n");
    let mut line = |l: String| {
        s.push_str("#SBATCH ");
        s.push_str(&l);
        s.push('\n');
    };
    line(format!("--job-name=dmd-{name}-{kind}"));
    if let Some(p) = &cfg.partition {
        line(format!("--partition={p}"));
    }
    if let Some(t) = &cfg.time {
        line(format!("--time={t}"));
    }
    line(format!("--cpus-per-task={}", cfg.cpus()));
    if let Some(m) = &cfg.mem {
        line(format!("--mem={m}"));
    }
    if let Some(g) = &cfg.gres {
        line(format!("--gres={g}"));
    }
    if let Some(a) = &cfg.account {
        line(format!("--account={a}"));
    }
    if let Some(spec) = array {
        line(format!("--array={spec}"));
    }
    let log = plan.out.join("logs").join(if array.is_some() {
        format!("slurm-{kind}-%A_%a.log")
    } else {
        format!("slurm-{kind}-%j.log")
    });
    line(format!("--output={}", log.display()));
    line("--requeue".into());
    line(format!("--signal=B:USR1@{}", cfg.signal_s.unwrap_or(120)));
    for e in &cfg.extra {
        line(e.trim_start_matches("#SBATCH").trim().to_string());
    }
    let args: Vec<String> = dmd_args.iter().map(|a| quote(a)).collect();
    let requeue = if array.is_some() {
        "${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}"
    } else {
        "${SLURM_JOB_ID}"
    };
    s.push_str(&format!(
        r#"
# Generated by `dmd sweep --backend slurm`; resubmit with `sbatch` (see slurm/submission.json).
set -u
cd {cwd}
export DMD_THREADS=${{SLURM_CPUS_PER_TASK:-1}} RAYON_NUM_THREADS=${{SLURM_CPUS_PER_TASK:-1}} OMP_NUM_THREADS=${{SLURM_CPUS_PER_TASK:-1}}
{preamble}{exe} {args} &
pid=$!
# Slurm's warning before a preemption or the time limit: dmd checkpoints and exits {code}.
trap 'kill -USR1 $pid 2>/dev/null' USR1 TERM
wait $pid; rc=$?
while kill -0 $pid 2>/dev/null; do wait $pid; rc=$?; done
if [ $rc -eq {code} ]; then
    echo "dmd stopped to be preempted; requeueing {requeue}"
    scontrol requeue {requeue}
fi
exit $rc
"#,
        cwd = quote(&plan.cwd.to_string_lossy()),
        exe = quote(&plan.exe.to_string_lossy()),
        args = args.join(" "),
        code = crate::jobs::EXIT_INTERRUPTED,
    ));
    s
}

fn sbatch(script: &Path, dependency: Option<String>) -> Result<String> {
    let mut cmd = Command::new("sbatch");
    cmd.arg("--parsable");
    if let Some(d) = dependency {
        cmd.arg(format!("--dependency={d}"));
    }
    let out = cmd.arg(script).output().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            anyhow::anyhow!(
                "sbatch is not on PATH: submit from a Slurm login node, or run with --backend local"
            )
        } else {
            anyhow::anyhow!("cannot run sbatch: {e}")
        }
    })?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr).replace('\n', " ");
        bail!(
            "sbatch refused {}: {}; check the [slurm] table or the --slurm-* flags (partition, time, account, gres)",
            script.display(),
            err.trim()
        );
    }
    let id = String::from_utf8_lossy(&out.stdout)
        .trim()
        .split(';')
        .next()
        .unwrap_or_default()
        .to_string();
    if id.is_empty() {
        bail!("sbatch printed no job id for {}", script.display());
    }
    Ok(id)
}

/// Writes `prepare.sbatch`, `array.sbatch` (array `spec`, `preamble` before the command) and
/// `gather.sbatch` into `<out>/slurm/` with the `dmd` arguments of each, and submits them with
/// their dependencies (array after prepare succeeded, gather after the array ended).
pub fn submit_jobs(
    name: &str,
    cfg: &SlurmConfig,
    plan: &ScriptPlan,
    args: [Vec<String>; 3],
    spec: &str,
    preamble: &str,
) -> Result<JobIds> {
    let dir = plan.out.join("slurm");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    std::fs::create_dir_all(plan.out.join("logs"))?;
    let [prepare, array, gather] = args;
    let write =
        |kind: &str, args: Vec<String>, array: Option<&str>, pre: &str| -> Result<PathBuf> {
            let p = dir.join(format!("{kind}.sbatch"));
            store::write_atomic(
                &p,
                script(name, kind, cfg, plan, &args, array, pre).as_bytes(),
            )?;
            Ok(p)
        };
    let prepare = write("prepare", prepare, None, "")?;
    let array = write("array", array, Some(spec), preamble)?;
    let gather = write("gather", gather, None, "")?;
    let prepare_id = sbatch(&prepare, None)?;
    let array_id = sbatch(&array, Some(format!("afterok:{prepare_id}")))?;
    let gather_id = sbatch(&gather, Some(format!("afterany:{array_id}")))?;
    Ok(JobIds {
        prepare: prepare_id,
        array: array_id,
        gather: gather_id,
    })
}

/// Writes the three scripts for the points `todo` (indices into `points`) and submits them;
/// records and returns the submission.
pub fn submit(
    sweep: &SweepConfig,
    points: &[Point],
    todo: &[usize],
    cfg: &SlurmConfig,
    plan: &ScriptPlan,
) -> Result<Submission> {
    let base = |extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = vec![
            "sweep".into(),
            plan.sweep_file.to_string_lossy().into_owned(),
            "--profile".into(),
            plan.profile.into(),
            "--out".into(),
            plan.out.to_string_lossy().into_owned(),
            "--runs".into(),
            plan.runs.to_string_lossy().into_owned(),
        ];
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let indices: Vec<String> = todo.iter().map(|i| i.to_string()).collect();
    let mut spec = indices.join(",");
    if let Some(n) = cfg.max_concurrent {
        spec.push_str(&format!("%{n}"));
    }
    let sweep_sha256 = store::file_sha256(plan.sweep_file)?;
    let jobs = submit_jobs(
        &sweep.name,
        cfg,
        plan,
        [
            base(&["--prepare"]),
            base(&["--task", "${SLURM_ARRAY_TASK_ID}"]),
            base(&["--gather-only"]),
        ],
        &spec,
        "",
    )?;
    let sub = Submission {
        sweep: plan.sweep_file.to_path_buf(),
        sweep_sha256,
        profile: plan.profile.to_string(),
        jobs,
        tasks: todo
            .iter()
            .map(|&i| Task {
                index: i,
                point: points[i].id.clone(),
            })
            .collect(),
        slurm: cfg.clone(),
    };
    store::write_json_atomic(&submission_path(plan.out), &sub)?;
    Ok(sub)
}

/// A point's state as `--status` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PointState {
    /// Finished with the current config (`POINT.json`).
    Done,
    /// In the queue, with the scheduler's state (PENDING, RUNNING, REQUEUED ...).
    Queued(String),
    /// Not in the queue and not finished: failed, cancelled or never submitted; with the
    /// scheduler's final state when accounting knows it.
    NotRunning(Option<String>),
}

/// `squeue` states of the array's tasks, by index.
fn queue_states(array: &str) -> std::collections::BTreeMap<usize, String> {
    let mut m = std::collections::BTreeMap::new();
    let Ok(out) = Command::new("squeue")
        .args(["-h", "-r", "-j", array, "-o", "%K %T"])
        .output()
    else {
        return m;
    };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let mut it = line.split_whitespace();
        if let (Some(k), Some(state)) = (it.next(), it.next())
            && let Ok(k) = k.parse()
        {
            m.insert(k, state.to_string());
        }
    }
    m
}

/// `sacct` final states of the array's tasks, by index (empty without accounting).
fn accounting_states(array: &str) -> std::collections::BTreeMap<usize, String> {
    let mut m = std::collections::BTreeMap::new();
    let Ok(out) = Command::new("sacct")
        .args(["-n", "-P", "-X", "-j", array, "-o", "JobID,State"])
        .output()
    else {
        return m;
    };
    if !out.status.success() {
        return m;
    }
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let mut it = line.split('|');
        if let (Some(id), Some(state)) = (it.next(), it.next())
            && let Some(k) = id.split('_').nth(1).and_then(|k| k.parse().ok())
        {
            m.insert(k, state.to_string());
        }
    }
    m
}

/// Every point's state and, when it is not done, the log to read.
pub fn status(
    sub: &Submission,
    points: &[Point],
    done: &dyn Fn(usize) -> bool,
    out: &Path,
) -> Vec<(String, PointState, Option<PathBuf>)> {
    let queue = queue_states(&sub.jobs.array);
    let acct = accounting_states(&sub.jobs.array);
    points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let log = out
                .join("logs")
                .join(format!("slurm-array-{}_{i}.log", sub.jobs.array));
            let state = if done(i) {
                PointState::Done
            } else if let Some(s) = queue.get(&i) {
                PointState::Queued(s.clone())
            } else {
                PointState::NotRunning(acct.get(&i).cloned())
            };
            let log = (state != PointState::Done).then_some(log);
            (p.id.clone(), state, log)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_forwards_the_signal_and_requeues_on_the_interrupted_code() {
        let cfg = SlurmConfig {
            partition: Some("gpu".into()),
            gres: Some("gpu:1".into()),
            cpus_per_task: Some(4),
            extra: vec!["--qos=long".into()],
            ..Default::default()
        };
        let plan = ScriptPlan {
            exe: Path::new("/opt/dmd"),
            sweep_file: Path::new("/s/x.toml"),
            profile: "cpu",
            out: Path::new("/r/x"),
            runs: Path::new("/r/stages"),
            cwd: Path::new("/repo"),
        };
        let args = [
            "sweep".into(),
            "it's".into(),
            "${SLURM_ARRAY_TASK_ID}".into(),
        ];
        let s = script("x", "array", &cfg, &plan, &args, Some("3,5%2"), "");
        for want in [
            "#SBATCH --partition=gpu",
            "#SBATCH --gres=gpu:1",
            "#SBATCH --cpus-per-task=4",
            "#SBATCH --qos=long",
            "#SBATCH --requeue",
            "#SBATCH --signal=B:USR1@120",
            "#SBATCH --output=/r/x/logs/slurm-array-%A_%a.log",
            "#SBATCH --array=3,5%2",
            "'/opt/dmd' 'sweep' 'it'\\''s' \"${SLURM_ARRAY_TASK_ID}\" &",
            "trap 'kill -USR1 $pid 2>/dev/null' USR1 TERM",
            "if [ $rc -eq 75 ]; then",
            "scontrol requeue ${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}",
        ] {
            assert!(s.contains(want), "missing {want:?} in\n{s}");
        }
    }

    #[test]
    fn command_line_resources_override_the_table() {
        let table = SlurmConfig {
            partition: Some("cpu".into()),
            time: Some("01:00:00".into()),
            ..Default::default()
        };
        let over = SlurmConfig {
            time: Some("04:00:00".into()),
            ..Default::default()
        };
        let c = table.overridden_by(&over);
        assert_eq!(c.partition.as_deref(), Some("cpu"));
        assert_eq!(c.time.as_deref(), Some("04:00:00"));
    }
}
