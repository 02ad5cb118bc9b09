//! `dmd sweep SWEEP.toml`: a grid over config keys of one experiment, seeds included, run as
//! independent `dmd run` jobs ([`crate::jobs`]), each point resumable and skipped when done,
//! then gathered into one table (CSV + JSON), figures with confidence bands from the seeds,
//! and `SWEEP.md`.
//!
//! A sweep file names the experiment config it varies and its axes:
//!
//! ```toml
//! name = "ambient-dim"
//! experiment = "../chessboard-r4.toml"        # relative to this file
//! [set]                                        # on every point
//! "teacher.net.linear_skip" = true
//! [[axis]]
//! name = "D"                                   # every key gets the value
//! keys = ["data.ambient_dim", "teacher.net.dim", "distill.student_net.dim"]
//! values = [2, 4, 8, 16, 64, 256, 1024]
//! [[axis]]
//! name = "seed"                                # the replicate axis (intervals over it)
//! keys = ["data_seed", "teacher.seed", "distill.seed", "eval.seed"]
//! values = [0, 1, 2]
//! [profile.smoke]
//! set = { "teacher.iterations" = 20 }
//! values = { D = [2, 4], seed = [0, 1] }
//! ```
//!
//! A value may also be a table of its own overrides, `{ label = "wide", "teacher.net.hidden" =
//! 1024 }`, for axes whose points differ in more than one way.
//!
//! The points form the Cartesian product of the axes. Point `D=16 seed=1` runs in
//! `<out>/points/D-16_seed-1/` (its results) against the shared stage store, so points that
//! share a teacher share it. A point finishes by writing `POINT.json` with the hash of its
//! resolved config; a rerun skips every point whose `POINT.json` matches, so a killed sweep
//! completes only the missing points.

pub mod slurm;
pub mod table;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;
use toml::{Table, Value};

use crate::config::{ConfigError, ExperimentConfig};
use crate::{jobs, store};

/// What `dmd sweep` runs (the command line's arguments).
#[derive(Debug, Clone)]
pub struct SweepOptions {
    /// Sweep file (TOML), e.g. configs/sweeps/ambient-dim.toml.
    pub sweep: PathBuf,
    /// Scale profile: smoke, cpu or paper (default: paper with a CUDA GPU, cpu otherwise).
    pub profile: Option<String>,
    /// Output folder (default: results/sweeps/<name>).
    pub out: Option<PathBuf>,
    /// Folder of the content-addressed stage outputs (shared with every other run).
    pub runs: PathBuf,
    /// Points run at once, each a child process with its share of the cores (default: one per
    /// CUDA GPU, each pinned to its own with CUDA_VISIBLE_DEVICES, else 2).
    pub jobs: Option<usize>,
    /// Only gather the finished points into the table and figures; run nothing.
    pub gather_only: bool,
    /// Where the points run.
    pub backend: Backend,
    /// Print every point's state (done, queued, failed with its log) and run nothing.
    pub status: bool,
    /// Slurm resources given on the command line (over the sweep file's `[slurm]`).
    pub slurm: slurm::SlurmConfig,
    /// Run only the stages the points share (teachers, classifier): the Slurm prepare job.
    pub prepare: bool,
    /// Run only the point with this index, in this process: a Slurm array task.
    pub task: Option<usize>,
}

/// Where the points of a sweep run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Backend {
    /// Child processes of this one, on this machine.
    #[default]
    Local,
    /// An sbatch job array (see [`slurm`]).
    Slurm,
}

/// A sweep file (see the module docs).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepConfig {
    /// Short name (folder and titles).
    pub name: String,
    /// What the sweep measures.
    #[serde(default)]
    pub description: String,
    /// The experiment config varied, relative to the sweep file.
    pub experiment: PathBuf,
    /// Overrides on every point (dotted keys).
    #[serde(default)]
    pub set: Table,
    /// The axes; points are their Cartesian product.
    pub axis: Vec<Axis>,
    /// The axis whose values are independent replicates (default `seed`): the table gives
    /// mean and Student-t interval over it.
    #[serde(default = "default_replicate_axis")]
    pub replicate_axis: String,
    /// Per-profile extra overrides and axis values.
    #[serde(default)]
    pub profile: BTreeMap<String, SweepProfile>,
    /// Resources of the Slurm backend's jobs.
    #[serde(default)]
    pub slurm: slurm::SlurmConfig,
}

fn default_replicate_axis() -> String {
    "seed".into()
}

/// One axis of a sweep.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Axis {
    /// Name, used in point names, tables and figures.
    pub name: String,
    /// Keys set to a scalar value (all to the same value).
    #[serde(default)]
    pub keys: Vec<String>,
    /// Values: scalars (set on every key) or tables of overrides with an optional `label`.
    pub values: Vec<Value>,
    /// Draw this axis on a logarithmic scale (default: when its values span a factor >= 16).
    #[serde(default)]
    pub log: Option<bool>,
}

/// What a profile changes in a sweep.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepProfile {
    /// Extra overrides on every point (after the sweep's `[set]`).
    #[serde(default)]
    pub set: Table,
    /// Replacement values per axis name.
    #[serde(default)]
    pub values: BTreeMap<String, Vec<Value>>,
}

/// One point of the grid.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Point {
    /// Folder-safe name, e.g. `D-16_seed-1`.
    pub id: String,
    /// `(axis name, value label)` per axis.
    pub coords: Vec<(String, String)>,
    /// The `--set` overrides of this point.
    pub sets: Vec<String>,
}

impl SweepConfig {
    /// Reads a sweep file and applies `profile`.
    pub fn load(path: &Path, profile: &str) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Io {
            file: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let table: Table = text
            .parse()
            .map_err(|e: toml::de::Error| ConfigError::Syntax {
                file: path.to_path_buf(),
                message: crate::config::layers::one_line(&e.to_string()),
            })?;
        let de = Value::Table(table);
        let mut cfg: SweepConfig =
            serde_path_to_error::deserialize(de).map_err(|e| ConfigError::Key {
                file: path.to_path_buf(),
                key: e.path().to_string(),
                message: crate::config::layers::one_line(&e.into_inner().to_string()),
            })?;
        let key_err = |key: &str, message: String| ConfigError::Key {
            file: path.to_path_buf(),
            key: key.into(),
            message,
        };
        if cfg.axis.is_empty() {
            return Err(key_err(
                "axis",
                "a sweep needs at least one [[axis]]".into(),
            ));
        }
        if let Some(p) = cfg.profile.remove(profile) {
            cfg.set.extend(p.set);
            for (name, values) in p.values {
                let Some(axis) = cfg.axis.iter_mut().find(|a| a.name == name) else {
                    return Err(key_err(
                        &format!("profile.{profile}.values.{name}"),
                        format!("no axis named `{name}`"),
                    ));
                };
                axis.values = values;
            }
        }
        cfg.profile.clear();
        for (i, a) in cfg.axis.iter().enumerate() {
            let key = format!("axis[{i}] ({})", a.name);
            if a.name.is_empty()
                || !a
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                return Err(key_err(
                    &key,
                    "name must be non-empty letters, digits or _".into(),
                ));
            }
            if a.values.is_empty() {
                return Err(key_err(&key, "`values` is empty".into()));
            }
            if a.values.iter().any(|v| !v.is_table()) && a.keys.is_empty() {
                return Err(key_err(
                    &key,
                    "scalar values need `keys` (the config keys they set)".into(),
                ));
            }
        }
        if cfg.experiment.is_relative() {
            cfg.experiment = path
                .parent()
                .unwrap_or(Path::new("."))
                .join(&cfg.experiment);
        }
        Ok(cfg)
    }

    /// The Cartesian product of the axes, first axis outermost.
    pub fn points(&self) -> Vec<Point> {
        let mut points = vec![Point {
            id: String::new(),
            coords: Vec::new(),
            sets: self.set.iter().map(|(k, v)| format!("{k}={v}")).collect(),
        }];
        for axis in &self.axis {
            let mut next = Vec::new();
            for p in &points {
                for v in &axis.values {
                    let (label, sets) = value_sets(axis, v);
                    let mut q = p.clone();
                    q.coords.push((axis.name.clone(), label));
                    q.sets.extend(sets);
                    next.push(q);
                }
            }
            points = next;
        }
        for p in &mut points {
            p.id = p
                .coords
                .iter()
                .map(|(a, l)| format!("{a}-{}", folder_safe(l)))
                .collect::<Vec<_>>()
                .join("_");
        }
        points
    }

    /// The non-replicate axes, in order.
    pub fn factor_axes(&self) -> Vec<&Axis> {
        self.axis
            .iter()
            .filter(|a| a.name != self.replicate_axis)
            .collect()
    }
}

/// The label and `--set` strings of one axis value.
fn value_sets(axis: &Axis, v: &Value) -> (String, Vec<String>) {
    match v {
        Value::Table(t) => {
            let label = match t.get("label") {
                Some(Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
                None => t.iter().next().map(|(_, v)| plain(v)).unwrap_or_default(),
            };
            let sets = t
                .iter()
                .filter(|(k, _)| k.as_str() != "label")
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            (label, sets)
        }
        scalar => (
            plain(scalar),
            axis.keys.iter().map(|k| format!("{k}={scalar}")).collect(),
        ),
    }
}

/// A value as a label: strings without quotes.
fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn folder_safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// What `POINT.json` records for a finished point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PointDone {
    /// [`point_hash`] of the point's resolved config.
    pub config_hash: String,
    /// The point's overrides.
    pub sets: Vec<String>,
    /// Wall time of the point's run, seconds.
    pub wall_s: f64,
}

/// Runs the sweep: the missing points, then the table and figures.
pub fn run(a: SweepOptions) -> Result<()> {
    let start = Instant::now();
    let profile = a
        .profile
        .clone()
        .unwrap_or_else(crate::config::default_profile);
    let sweep = SweepConfig::load(&a.sweep, &profile)?;
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("results/sweeps").join(&sweep.name));
    let points = sweep.points();
    // Resolve every point's config first: a bad value stops the sweep before any work.
    let mut configs = Vec::new();
    for p in &points {
        let cfg = ExperimentConfig::load(&sweep.experiment, &profile, &p.sets).map_err(|e| {
            ConfigError::Key {
                file: a.sweep.clone(),
                key: format!("point {}", p.id),
                message: e.to_string(),
            }
        })?;
        configs.push(cfg);
    }
    let hashes: Vec<String> = configs.iter().map(point_hash).collect();
    if a.task.is_some() || a.prepare || a.gather_only {
        slurm::check_unchanged(&a.sweep, &out)?;
    }
    if let Some(i) = a.task {
        return run_task(&points, &configs, &hashes, i, &profile, &out, &a.runs);
    }
    let todo: Vec<usize> = (0..points.len())
        .filter(|&i| !a.gather_only && !point_done(&out, &points[i], &hashes[i]))
        .collect();
    if a.status {
        return print_status(&points, &hashes, &out);
    }
    if a.prepare {
        return prepare(&todo, &configs, &profile, &out, &a.runs);
    }
    if a.backend == Backend::Slurm && !a.gather_only {
        if todo.is_empty() {
            println!("[sweep] {}: every point is done; gathering", sweep.name);
        } else {
            let abs = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
            let exe = std::env::current_exe().context("cannot locate the dmd binary")?;
            let cwd = std::env::current_dir()?;
            let (sweep_file, out_abs, runs_abs) = (abs(&a.sweep), abs(&out), abs(&a.runs));
            let cfg = sweep.slurm.clone().overridden_by(&a.slurm);
            let sub = slurm::submit(
                &sweep,
                &points,
                &todo,
                &cfg,
                &slurm::ScriptPlan {
                    exe: &exe,
                    sweep_file: &sweep_file,
                    profile: &profile,
                    out: &out_abs,
                    runs: &runs_abs,
                    cwd: &cwd,
                },
            )?;
            println!(
                "[sweep] {}: submitted to Slurm: prepare job {}, array job {} ({} task(s)), gather job {}; scripts in {}; `dmd sweep {} --status` shows progress",
                sweep.name,
                sub.jobs.prepare,
                sub.jobs.array,
                sub.tasks.len(),
                sub.jobs.gather,
                out.join("slurm").display(),
                a.sweep.display()
            );
            return Ok(());
        }
    }
    println!(
        "[sweep] {}: {} point(s), {} to run (profile {profile}); results in {}",
        sweep.name,
        points.len(),
        todo.len(),
        out.display()
    );
    let par = jobs::Parallelism::new(a.jobs);
    let todo = longest_first(todo, &configs);
    let job_list: Vec<jobs::Job> = todo
        .iter()
        .map(|&i| {
            let p = &points[i];
            let mut args = vec![
                "run".to_string(),
                sweep.experiment.to_string_lossy().into_owned(),
                "--profile".into(),
                profile.clone(),
                "--out".into(),
                out.join("points")
                    .join(&p.id)
                    .to_string_lossy()
                    .into_owned(),
                "--runs".into(),
                a.runs.to_string_lossy().into_owned(),
            ];
            for s in &p.sets {
                args.push("--set".into());
                args.push(s.clone());
            }
            jobs::Job {
                name: p.id.clone(),
                args,
                log: out.join("logs").join(format!("{}.log", p.id)),
            }
        })
        .collect();
    let outcomes = jobs::run_jobs("sweep", &job_list, par)?;
    let mut failed = Vec::new();
    for (&i, o) in todo.iter().zip(&outcomes) {
        match &o.status {
            jobs::JobStatus::Done => store::write_json_atomic(
                &out.join("points").join(&points[i].id).join("POINT.json"),
                &PointDone {
                    config_hash: hashes[i].clone(),
                    sets: points[i].sets.clone(),
                    wall_s: o.wall_s,
                },
            )?,
            _ => failed.push(points[i].id.clone()),
        }
    }
    let written = table::gather(&sweep, &points, &configs, &out, &profile)?;
    println!(
        "[sweep] {}: wrote {} ({:.0} s)",
        sweep.name,
        written.display(),
        start.elapsed().as_secs_f64()
    );
    if !failed.is_empty() {
        bail!(
            "{} point(s) failed: {} (logs in {})",
            failed.len(),
            failed.join(", "),
            out.join("logs").display()
        );
    }
    Ok(())
}

/// The points to run, the longest first (by student iterations times the number of teachers
/// distilled from; ties keep the sweep's order), so that with several jobs at once a long point
/// never starts last and leaves the other slots idle.
fn longest_first(mut todo: Vec<usize>, configs: &[ExperimentConfig]) -> Vec<usize> {
    let cost = |i: usize| {
        let c = &configs[i];
        c.distill.iterations * c.distill_from.len().max(1) as u64
    };
    todo.sort_by_key(|&i| std::cmp::Reverse(cost(i)));
    todo
}

/// A Slurm array task: runs point `i` in this process and writes its `POINT.json`.
fn run_task(
    points: &[Point],
    configs: &[ExperimentConfig],
    hashes: &[String],
    i: usize,
    profile: &str,
    out: &Path,
    runs: &Path,
) -> Result<()> {
    let (Some(p), Some(cfg)) = (points.get(i), configs.get(i)) else {
        bail!(
            "--task {i}: the sweep has {} points (0 ... {})",
            points.len(),
            points.len().saturating_sub(1)
        );
    };
    let start = Instant::now();
    println!("[sweep] task {i}: point {}", p.id);
    let paths = crate::pipeline::Paths {
        stages: runs.to_path_buf(),
        results: out.join("points").join(&p.id),
    };
    crate::pipeline::run_experiment(cfg, profile, &paths, crate::pipeline::Until::Analyze)?;
    store::write_json_atomic(
        &out.join("points").join(&p.id).join("POINT.json"),
        &PointDone {
            config_hash: hashes[i].clone(),
            sets: p.sets.clone(),
            wall_s: start.elapsed().as_secs_f64(),
        },
    )?;
    println!("[sweep] task {i}: point {} done", p.id);
    Ok(())
}

/// The Slurm prepare job: every missing point's teacher (with its snapshots) and the MNIST
/// classifier, so that no two array tasks train the same stage.
fn prepare(
    todo: &[usize],
    configs: &[ExperimentConfig],
    profile: &str,
    out: &Path,
    runs: &Path,
) -> Result<()> {
    let paths = crate::pipeline::Paths {
        stages: runs.to_path_buf(),
        results: out.join("slurm").join("prepare"),
    };
    let mut seen = std::collections::BTreeSet::new();
    for &i in todo {
        let cfg = &configs[i];
        let key = store::config_hash(&crate::pipeline::teacher_reference_key(cfg, runs)?);
        if !seen.insert(key) {
            continue;
        }
        println!("[sweep] prepare: the teacher of {}", cfg.name);
        crate::pipeline::run_experiment(cfg, profile, &paths, crate::pipeline::Until::Teacher)?;
        crate::pipeline::classifier_stage(cfg, &paths, cfg.device.resolve()?)?;
    }
    println!("[sweep] prepare: {} teacher(s) ready", seen.len());
    Ok(())
}

/// `--status`: every point's state and the log of each one not done.
fn print_status(points: &[Point], hashes: &[String], out: &Path) -> Result<()> {
    let Some(sub) = slurm::read_submission(out)? else {
        let done = (0..points.len())
            .filter(|&i| point_done(out, &points[i], &hashes[i]))
            .count();
        println!(
            "{done} of {} point(s) done; nothing was submitted to Slurm from {}",
            points.len(),
            out.display()
        );
        return Ok(());
    };
    let done = |i: usize| point_done(out, &points[i], &hashes[i]);
    println!(
        "Slurm jobs: prepare {}, array {}, gather {}",
        sub.jobs.prepare, sub.jobs.array, sub.jobs.gather
    );
    for (id, state, log) in slurm::status(&sub, points, &done, out) {
        let text = match state {
            slurm::PointState::Done => "done".to_string(),
            slurm::PointState::Queued(s) => s.to_lowercase(),
            slurm::PointState::NotRunning(Some(s)) => format!("not running ({})", s.to_lowercase()),
            slurm::PointState::NotRunning(None) => {
                "not done and not in the queue (failed, cancelled or not submitted)".to_string()
            }
        };
        match log {
            Some(l) if l.is_file() => println!("{id}: {text}; log {}", l.display()),
            _ => println!("{id}: {text}"),
        }
    }
    Ok(())
}

/// What a finished point's `POINT.json` must match: its resolved config and the version of
/// the measurements ([`crate::pipeline::analyze::ANALYSIS_VERSION`]), so that a sweep rerun
/// after the measurements changed re-measures every point (its stages are reused).
pub fn point_hash(cfg: &ExperimentConfig) -> String {
    store::config_hash(&(crate::pipeline::analyze::ANALYSIS_VERSION, cfg))
}

/// Whether the point finished with the same resolved config.
fn point_done(out: &Path, p: &Point, hash: &str) -> bool {
    std::fs::read_to_string(out.join("points").join(&p.id).join("POINT.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<PointDone>(&t).ok())
        .is_some_and(|d| d.config_hash == hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    const SWEEP: &str = r#"
name = "t"
experiment = "exp.toml"
[set]
"distill.iterations" = 7
[[axis]]
name = "D"
keys = ["data.ambient_dim", "teacher.net.dim"]
values = [2, 4, 8]
[[axis]]
name = "arm"
values = [{ label = "wide", "teacher.net.hidden" = 64 }, { label = "narrow", "teacher.net.hidden" = 8 }]
[[axis]]
name = "seed"
keys = ["data_seed"]
values = [0, 1]
[profile.smoke]
set = { "teacher.iterations" = 3 }
values = { D = [2, 4] }
"#;

    #[test]
    fn points_are_the_cartesian_product_with_profile_values() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "s.toml", SWEEP);
        let full = SweepConfig::load(&p, "cpu").unwrap();
        assert_eq!(full.points().len(), 3 * 2 * 2);
        let s = SweepConfig::load(&p, "smoke").unwrap();
        let pts = s.points();
        assert_eq!(pts.len(), 2 * 2 * 2);
        assert_eq!(pts[0].id, "D-2_arm-wide_seed-0");
        assert_eq!(pts[7].id, "D-4_arm-narrow_seed-1");
        let sets = &pts[3].sets;
        for want in [
            "distill.iterations=7",
            "teacher.iterations=3",
            "data.ambient_dim=2",
            "teacher.net.dim=2",
            "teacher.net.hidden=8",
            "data_seed=1",
        ] {
            assert!(
                sets.iter().any(|s| s == want),
                "{want} missing from {sets:?}"
            );
        }
        assert_eq!(s.factor_axes().len(), 2);
        assert_eq!(s.experiment, dir.path().join("exp.toml"));
    }

    #[test]
    fn every_shipped_sweep_resolves_on_every_profile() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/sweeps");
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "toml") {
                continue;
            }
            for profile in crate::config::PROFILES {
                let s = SweepConfig::load(&path, profile)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                for p in s.points() {
                    ExperimentConfig::load(&s.experiment, profile, &p.sets).unwrap_or_else(|e| {
                        panic!("{} ({profile}) point {}: {e}", path.display(), p.id)
                    });
                }
            }
            n += 1;
        }
        assert!(n >= 2, "sweeps found: {n}");
    }

    /// Published sweeps whose experiment's `cpu` teacher was replaced on purpose after they
    /// ran (the MNIST teachers of issue #17); docs/sweeps/README.md says that a rerun trains
    /// against the new teacher.
    const REPLACED_TEACHER: &[&str] = &["dp-dmd-mnist"];

    /// Every published sweep point (`docs/sweeps/<sweep>/points/<point>/<experiment>/
    /// config.json`) was trained with the data and teacher that main's sweep file resolves
    /// to at `cpu`, so rerunning the sweep reuses or reproduces those teachers: a changed
    /// experiment default that a sweep inherits shows up here.
    #[test]
    fn published_sweep_points_resolve_to_their_recorded_teachers() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut checked = 0;
        for entry in std::fs::read_dir(root.join("configs/sweeps"))
            .unwrap()
            .flatten()
        {
            let path = entry.path();
            let Some(name) = path.file_stem().and_then(|n| n.to_str()) else {
                continue;
            };
            let points_dir = root.join("docs/sweeps").join(name).join("points");
            if path.extension().is_none_or(|e| e != "toml")
                || !points_dir.is_dir()
                || REPLACED_TEACHER.contains(&name)
            {
                continue;
            }
            let s = SweepConfig::load(&path, "cpu").unwrap();
            for p in s.points() {
                let cfg = ExperimentConfig::load(&s.experiment, "cpu", &p.sets).unwrap();
                let recorded = points_dir.join(&p.id).join(&cfg.name).join("config.json");
                if !recorded.exists() {
                    continue;
                }
                let old: ExperimentConfig =
                    serde_json::from_str(&std::fs::read_to_string(&recorded).unwrap())
                        .unwrap_or_else(|e| panic!("{}: {e}", recorded.display()));
                let teacher = |c: &ExperimentConfig| {
                    let mut t = c.teacher.clone();
                    // Where and how visibly it trains changes no weight.
                    t.device = old.teacher.device;
                    t.progress = old.teacher.progress;
                    t.checkpoint_every = old.teacher.checkpoint_every;
                    serde_json::to_value((&c.data, c.n_train, c.data_seed, t)).unwrap()
                };
                assert_eq!(
                    teacher(&cfg),
                    teacher(&old),
                    "{name} point {}: main's config trains another teacher than {}",
                    p.id,
                    recorded.display()
                );
                checked += 1;
            }
        }
        assert!(checked >= 20, "published points checked: {checked}");
    }

    #[test]
    fn the_longest_points_run_first() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../configs/sweeps/lr-ladder-vectors.toml");
        let s = SweepConfig::load(&path, "cpu").unwrap();
        let points = s.points();
        let configs: Vec<ExperimentConfig> = points
            .iter()
            .map(|p| ExperimentConfig::load(&s.experiment, "cpu", &p.sets).unwrap())
            .collect();
        let order = longest_first((0..points.len()).collect(), &configs);
        let its: Vec<u64> = order
            .iter()
            .map(|&i| configs[i].distill.iterations)
            .collect();
        assert_eq!(its[..3], [100_000; 3], "{its:?}");
        assert!(its.windows(2).all(|w| w[0] >= w[1]), "{its:?}");
        // Equal costs keep the sweep's order (seed 0 before seed 1).
        assert!(order[0] < order[1] && order[1] < order[2]);
    }

    #[test]
    fn points_finished_under_older_measurements_are_not_done() {
        let exp = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/chessboard-r4.toml");
        let cfg = ExperimentConfig::load(&exp, "smoke", &[]).unwrap();
        // POINT.json files written before the analysis version entered the hash hold the plain
        // config hash: such points are re-measured.
        assert_ne!(point_hash(&cfg), store::config_hash(&cfg));
        assert_eq!(point_hash(&cfg), point_hash(&cfg.clone()));
    }

    #[test]
    fn bad_sweeps_name_the_problem() {
        let dir = tempfile::tempdir().unwrap();
        for (text, needle) in [
            (
                "name = \"t\"\nexperiment = \"e.toml\"\naxis = []\n",
                "at least one",
            ),
            (
                "name = \"t\"\nexperiment = \"e.toml\"\n[[axis]]\nname = \"D\"\nvalues = [1]\n",
                "need `keys`",
            ),
            (
                "name = \"t\"\nexperiment = \"e.toml\"\nbogus = 1\n[[axis]]\nname = \"D\"\nkeys = [\"a\"]\nvalues = [1]\n",
                "bogus",
            ),
            (
                "name = \"t\"\nexperiment = \"e.toml\"\n[[axis]]\nname = \"D\"\nkeys = [\"a\"]\nvalues = [1]\n[profile.cpu]\nvalues = { X = [1] }\n",
                "no axis named `X`",
            ),
            ("name = \"t\"\nexperiment = [", "invalid TOML"),
        ] {
            let p = write(dir.path(), "bad.toml", text);
            let e = SweepConfig::load(&p, "cpu").unwrap_err().to_string();
            assert!(e.contains(needle), "{e} lacks {needle}");
            assert!(!e.contains('\n'), "one line: {e}");
        }
    }
}
