//! The experiment pipeline (DESIGN.md): data -> teacher (+ snapshots) -> teacher samples ->
//! DMD student per snapshot -> student samples -> analysis -> figures.
//!
//! Every stage lives in a content-addressed folder under `runs/stages/` (see [`crate::store`])
//! and is skipped when it finished before with the same inputs, so a killed run resumes, and
//! experiments with identical data and teacher settings share the teacher. Teacher training and
//! distillation also checkpoint inside their stage and resume mid-stage.

pub mod analyze;
pub mod figures;
pub mod sampling;

use anyhow::{Context, Result, bail};
use dmd_data::DatasetSpec;
use dmd_nets::denoiser::Denoiser;
use dmd_train::{DistillConfig, TeacherConfig, TrainData};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::config::ExperimentConfig;
use crate::store::{self, Stage};

/// Where stages and results go.
#[derive(Debug, Clone)]
pub struct Paths {
    /// Content-addressed stage folders (`runs/stages`).
    pub stages: PathBuf,
    /// Per-experiment results (`results/<name>/`).
    pub results: PathBuf,
}

/// What determines the training set and the teacher (the teacher stage's key).
#[derive(Debug, Serialize)]
struct TeacherKey<'a> {
    data: &'a DatasetSpec,
    n_train: Option<usize>,
    data_seed: u64,
    teacher: &'a TeacherConfig,
    checkpoint: Option<&'a PathBuf>,
}

/// What determines the teacher samples of one snapshot.
#[derive(Debug, Serialize)]
struct SamplesKey {
    teacher: String,
    snapshot: u64,
    eval: SamplingKey,
}

/// The eval settings that change the samples (not the measurements).
#[derive(Debug, Serialize)]
struct SamplingKey {
    seed: u64,
    n: usize,
    n_indep: usize,
    steps: Vec<usize>,
    solver: dmd_nets::sampler::Solver,
}

/// What determines a student.
#[derive(Debug, Serialize)]
struct StudentKey<'a> {
    teacher: String,
    snapshot: u64,
    distill: &'a DistillConfig,
}

/// Wall times and where the outputs of one experiment are.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExperimentResult {
    /// Experiment name.
    pub name: String,
    /// Profile it ran under.
    pub profile: String,
    /// One entry per distilled snapshot.
    pub snapshots: Vec<SnapshotResult>,
    /// Teacher training wall time in seconds, as recorded when it was trained (possibly by an
    /// earlier run or another experiment sharing the teacher).
    pub teacher_wall_s: f64,
    /// Whole experiment wall time in this invocation.
    pub wall_s: f64,
}

/// Results for the student distilled from one teacher snapshot.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SnapshotResult {
    /// Teacher iterations of the snapshot.
    pub snapshot: u64,
    /// `metrics.json` of this student, relative to the experiment's results folder (so a
    /// results folder can be moved or committed and still be reported on).
    pub metrics: PathBuf,
    /// The student's per-iteration log (DM loss curve).
    pub distill_log: PathBuf,
    /// The samples (z, Phi_1, Phi_K, Phi_fine, Phi_K(z'), G) as safetensors.
    pub samples: PathBuf,
    /// Distillation wall time in seconds, as recorded when the student was distilled.
    pub distill_wall_s: f64,
}

/// How far a pipeline invocation goes (each subcommand of `dmd` stops at one of these).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Until {
    /// Train (or reuse) the teacher and its snapshots.
    Teacher,
    /// Also sample the teacher and distil the students.
    Distill,
    /// Also draw the student samples.
    Sample,
    /// Also measure everything and render the figures (the whole pipeline).
    Analyze,
}

/// Runs one experiment up to `until` (skipping finished stages) and, when it runs to the end,
/// writes `results/<name>/summary.json`.
pub fn run_experiment(
    cfg: &ExperimentConfig,
    profile: &str,
    paths: &Paths,
    until: Until,
) -> Result<ExperimentResult> {
    let start = Instant::now();
    check_required_files(cfg)?;
    let device = cfg.device.resolve()?;
    let out_dir = paths.results.join(&cfg.name);
    std::fs::create_dir_all(&out_dir)
        .with_context(|| format!("cannot create {}", out_dir.display()))?;
    tracing::info!(experiment = %cfg.name, profile, ?device, "starting");

    // 1. data
    let data = load_data(cfg)?;

    // 2. teacher (with snapshots)
    let mut teacher_cfg = cfg.teacher.clone();
    teacher_cfg.device = cfg.device;
    let teacher_key = TeacherKey {
        data: &cfg.data,
        n_train: cfg.n_train,
        data_seed: cfg.data_seed,
        teacher: &cfg.teacher,
        checkpoint: cfg.teacher_checkpoint.as_ref(),
    };
    let teacher_stage = Stage::new(&paths.stages, "teacher", &teacher_key)?;
    let teacher_hash = store::config_hash(&teacher_key);
    if let Some(ckpt) = &cfg.teacher_checkpoint {
        let ckpt = if ckpt.is_absolute() {
            ckpt.clone()
        } else {
            dmd_home().join(ckpt)
        };
        let net = dmd_nets::checkpoint::read_config(&ckpt)?;
        if net != cfg.teacher.net {
            bail!(
                "teacher checkpoint {} holds a different network than [teacher.net] ({net:?}); fix the config or the file",
                ckpt.display()
            );
        }
        if !teacher_stage
            .path(dmd_train::teacher::files::TEACHER)
            .exists()
        {
            std::fs::copy(
                &ckpt,
                teacher_stage.path(dmd_train::teacher::files::TEACHER),
            )
            .with_context(|| format!("cannot copy {}", ckpt.display()))?;
        }
        teacher_stage.mark_done(&serde_json::json!({ "from": ckpt }))?;
    }
    let teacher_lock = teacher_stage.lock()?;
    if teacher_stage.is_done() {
        tracing::info!("teacher: reusing {}", teacher_stage.dir.display());
    } else {
        tracing::info!("teacher: training in {}", teacher_stage.dir.display());
        let outcome = dmd_train::train_teacher(&teacher_cfg, &data, &teacher_stage.dir)?;
        teacher_stage.mark_done(&serde_json::json!({
            "iterations": outcome.iterations,
            "wall_s": outcome.wall_s,
        }))?;
    }

    drop(teacher_lock);
    let teacher_wall_s = teacher_stage.recorded_wall_s();
    let mut snapshots = Vec::new();
    if until == Until::Teacher {
        return Ok(ExperimentResult {
            name: cfg.name.clone(),
            profile: profile.to_string(),
            snapshots,
            teacher_wall_s,
            wall_s: start.elapsed().as_secs_f64(),
        });
    }

    let classifier = match &cfg.data {
        DatasetSpec::Mnist(_) => Some(crate::classifier::cached(
            &paths.stages,
            &crate::classifier::ClassifierKey {
                revision: 1,
                epochs: cfg.eval.classifier_epochs,
                train_size: cfg.eval.classifier_train_size,
                seed: 0,
            },
            device,
        )?),
        _ => None,
    };

    // 3.-6. per snapshot: teacher samples, student, student samples, analysis
    for snapshot in cfg.distill_snapshots() {
        let teacher_path = if snapshot == cfg.teacher.iterations {
            teacher_stage.path(dmd_train::teacher::files::TEACHER)
        } else {
            dmd_train::teacher::snapshot_path(&teacher_stage.dir, snapshot)
        };
        let teacher = Denoiser::load(&teacher_path, device)?;
        let num_classes = cfg.teacher.net.num_classes();
        let shape = cfg.teacher.net.data_shape();

        let e = &cfg.eval;
        let n = e.n_samples.max(e.n_pca);
        let samples_key = SamplesKey {
            teacher: teacher_hash.clone(),
            snapshot,
            eval: SamplingKey {
                seed: e.seed,
                n,
                n_indep: e.n_samples,
                steps: vec![1, e.reference_steps, e.fine_steps],
                solver: e.solver,
            },
        };
        let samples_stage = Stage::new(&paths.stages, "samples", &samples_key)?;
        let samples_file = samples_stage.path("teacher_samples.safetensors");
        let samples_lock = samples_stage.lock()?;
        if !samples_stage.is_done() {
            tracing::info!(
                snapshot,
                n,
                "sampling the teacher (Phi_1, Phi_{}, Phi_{})",
                e.reference_steps,
                e.fine_steps
            );
            let (z, labels) = sampling::seeds(e.seed, n, &shape, num_classes, device);
            let (z_indep, labels_indep) =
                sampling::seeds(e.seed + 1, e.n_samples, &shape, num_classes, device);
            let ts = |z: &tch::Tensor, y: Option<&tch::Tensor>, k: usize| {
                sampling::teacher_samples(&teacher, z, y, k, e.solver, e.chunk)
            };
            let phi_1 = ts(&z, labels.as_ref(), 1);
            let phi_k = ts(&z, labels.as_ref(), e.reference_steps);
            let phi_fine = ts(&z, labels.as_ref(), e.fine_steps);
            let phi_k_indep = ts(&z_indep, labels_indep.as_ref(), e.reference_steps);
            let z_rows = dmd_nets::convert::tensor_to_array(&z);
            let mut arrays = vec![
                ("z", &z_rows),
                ("phi_1", &phi_1),
                ("phi_k", &phi_k),
                ("phi_fine", &phi_fine),
                ("phi_k_indep", &phi_k_indep),
            ];
            let label_cols = labels.as_ref().map(sampling::labels_column);
            if let Some(l) = &label_cols {
                arrays.push(("labels", l));
            }
            store::save_arrays(&samples_file, &arrays)?;
            samples_stage.mark_done(&serde_json::json!({ "n": n }))?;
        }

        let student_key = StudentKey {
            teacher: teacher_hash.clone(),
            snapshot,
            distill: &cfg.distill,
        };
        drop(samples_lock);
        let student_stage = Stage::new(&paths.stages, "student", &student_key)?;
        // Held through the student's sampling too, which writes into the student's folder.
        let student_lock = student_stage.lock()?;
        if !student_stage.is_done() {
            tracing::info!(snapshot, "distilling in {}", student_stage.dir.display());
            let outcome =
                dmd_train::distill(&cfg.distill, &teacher, Some(&data), &student_stage.dir)?;
            student_stage.mark_done(&serde_json::json!({
                "iterations": outcome.iterations,
                "wall_s": outcome.wall_s,
            }))?;
        }
        if until == Until::Distill {
            continue;
        }
        let student_samples = student_stage.path(&format!(
            "student_samples-{}.safetensors",
            store::config_hash(&samples_key)
        ));
        if !student_samples.is_file() {
            let loaded = store::load_arrays(&samples_file)?;
            let z = sampling::rows_to_tensor(&loaded["z"], &shape, device)?;
            let labels = loaded
                .get("labels")
                .map(|c| sampling::labels_from_column(c, device));
            let generator = Denoiser::load(
                &student_stage.path(dmd_train::dmd::files::GENERATOR),
                device,
            )?;
            let sigmas =
                dmd_train::student_sigmas(cfg.distill.student_steps, cfg.distill.grid_size);
            let mut parts = Vec::new();
            let n = z.size()[0];
            let chunk = cfg.eval.chunk as i64;
            let mut start = 0;
            while start < n {
                let len = chunk.min(n - start);
                let y = labels.as_ref().map(|l| l.narrow(0, start, len));
                parts.push(dmd_train::student_sample(
                    &generator,
                    &z.narrow(0, start, len),
                    y.as_ref(),
                    &sigmas,
                ));
                start += len;
            }
            let g = dmd_nets::convert::tensor_to_array(&tch::Tensor::cat(&parts, 0));
            store::save_arrays(&student_samples, &[("g", &g)])?;
        }
        drop(student_lock);

        if until == Until::Sample {
            continue;
        }
        let snap_dir = out_dir.join(format!("snapshot-{snapshot:06}"));
        let input = analyze::AnalysisInput::load(&samples_file, &student_samples)?;
        let inputs = analyze::inputs_key(cfg, &samples_file, &student_samples);
        analyze::analyze(
            cfg,
            snapshot,
            &input,
            &data,
            classifier.as_ref(),
            &snap_dir,
            &inputs,
        )?;
        let fig_dir = out_dir.join("figures");
        figures::student_figures(cfg, snapshot, &input, &data, &snap_dir, &fig_dir)?;
        snapshots.push(SnapshotResult {
            snapshot,
            metrics: PathBuf::from(format!("snapshot-{snapshot:06}")).join("metrics.json"),
            distill_log: student_stage.path(dmd_train::dmd::files::METRICS),
            samples: samples_file,
            distill_wall_s: student_stage.recorded_wall_s(),
        });
    }
    if until == Until::Analyze && !snapshots.is_empty() {
        let logs: Vec<(u64, PathBuf)> = snapshots
            .iter()
            .map(|s| (s.snapshot, s.distill_log.clone()))
            .collect();
        figures::dm_loss_figure(&logs, &out_dir.join("figures").join("dm_loss.png"))?;
    }
    let result = ExperimentResult {
        name: cfg.name.clone(),
        profile: profile.to_string(),
        snapshots,
        teacher_wall_s,
        wall_s: start.elapsed().as_secs_f64(),
    };
    if until == Until::Analyze {
        store::write_json_atomic(&out_dir.join("summary.json"), &result)?;
        store::write_json_atomic(&out_dir.join("config.json"), cfg)?;
    }
    Ok(result)
}

/// Builds the training set; labels are kept only for a conditional teacher.
fn load_data(cfg: &ExperimentConfig) -> Result<TrainData> {
    let ds = cfg.data.generate(cfg.n_train, cfg.data_seed)?;
    let labels = if cfg.teacher.net.num_classes() > 0 {
        match ds.labels {
            Some(l) => Some(l),
            None => bail!(
                "the teacher is conditional but dataset `{}` has no labels",
                cfg.data.name()
            ),
        }
    } else {
        None
    };
    let shape: Vec<i64> = ds.shape.iter().map(|&d| d as i64).collect();
    Ok(TrainData::new(ds.x, labels, shape)?)
}

/// Stops with one line per missing file the experiment needs the user to bring.
fn check_required_files(cfg: &ExperimentConfig) -> Result<()> {
    let home = dmd_home();
    let missing: Vec<String> = cfg
        .requires
        .iter()
        .filter_map(|r| {
            let p = if r.path.is_absolute() {
                r.path.clone()
            } else {
                home.join(&r.path)
            };
            (!p.is_file()).then(|| format!("{} ({})", p.display(), r.what))
        })
        .collect();
    if !missing.is_empty() {
        return Err(MissingFiles {
            experiment: cfg.name.clone(),
            files: missing.join("; "),
        }
        .into());
    }
    Ok(())
}

/// An experiment needs files the user must bring (e.g. ImageNet-64 teacher weights).
#[derive(Debug, thiserror::Error)]
#[error("experiment `{experiment}` needs files you must bring: {files}")]
pub struct MissingFiles {
    /// Experiment name.
    pub experiment: String,
    /// Each missing file with what it is, `; `-separated.
    pub files: String,
}

/// `$DMD_HOME`, or the checkout's `.dmd` folder.
pub fn dmd_home() -> PathBuf {
    std::env::var_os("DMD_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.dmd"))
}
