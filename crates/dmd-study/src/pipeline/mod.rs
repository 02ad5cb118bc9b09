//! The experiment pipeline (docs/design.md): data -> teacher (+ snapshots) -> teacher samples ->
//! DMD student per snapshot -> student samples -> analysis -> figures.
//!
//! Every stage lives in a content-addressed folder under `runs/stages/` (see [`crate::store`])
//! and is skipped when it finished before with the same inputs, so a killed run resumes, and
//! experiments with identical data and teacher settings share the teacher. Teacher training and
//! distillation also checkpoint inside their stage and resume mid-stage.

pub mod analyze;
pub mod controls;
pub mod figures;
pub mod sampling;
pub mod teacher_gate;
pub mod trajectory;

use anyhow::{Context, Result, bail};
use dmd_data::DatasetSpec;
use dmd_nets::denoiser::{Denoiser, Precision};
use dmd_train::{DistillConfig, TeacherConfig, TrainData};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Instant;

use crate::config::{ConfigError, ExperimentConfig};
use crate::reference;
use crate::store::{self, Stage, StageDone, StageLock};

/// Where stages and results go.
#[derive(Debug, Clone)]
pub struct Paths {
    /// Content-addressed stage folders (`runs/stages`).
    pub stages: PathBuf,
    /// Per-experiment results (`results/<name>/`).
    pub results: PathBuf,
}

/// Where and with how many threads a stage computes: libtorch's reductions differ in the last
/// bits between thread counts and devices, so both are part of every torch stage's key.
#[derive(Debug, Clone, Serialize)]
pub struct Compute {
    /// libtorch's intra-op thread count.
    pub threads: i32,
    /// The resolved device (`Cpu`, `Cuda(0)`, ...).
    pub device: String,
}

impl Compute {
    /// The current thread count and `device`.
    pub fn now(device: tch::Device) -> Self {
        Self {
            threads: tch::get_num_threads(),
            device: format!("{device:?}"),
        }
    }
}

/// What determines the training set and the teacher (the teacher stage's key).
#[derive(Debug, Serialize)]
struct TeacherKey<'a> {
    data: &'a DatasetSpec,
    n_train: Option<usize>,
    data_seed: u64,
    teacher: &'a TeacherConfig,
    checkpoint: Option<&'a PathBuf>,
    /// sha256 of the user's checkpoint file: a replaced file is a new teacher, never a stale
    /// copy (absent without a user checkpoint, so other keys are unchanged).
    #[serde(skip_serializing_if = "Option::is_none")]
    checkpoint_sha256: Option<String>,
    /// sha256 of the data files no published checksum pins (`npy`, Fashion-MNIST): a file
    /// replaced at the same path is new data (empty, and absent from the key, otherwise).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    data_sha256: Vec<String>,
    compute: Compute,
}

/// What `dmd check` verifies beyond the config itself, each unless it is missing and listed in
/// `requires` (which a run reports as "not run"): the data files `[data]` reads (present,
/// MNIST's md5, IDX / `.npy` format, shapes and labels), and a teacher checkpoint the config
/// names (present, readable, holding the configured network). Errors name the key.
pub fn check_inputs(cfg: &ExperimentConfig, file: &std::path::Path) -> Result<(), ConfigError> {
    let brought_later = |p: &std::path::Path| {
        !p.exists()
            && cfg
                .requires
                .iter()
                .any(|r| dmd_data::paths::in_data_dir(&r.path) == p)
    };
    if !cfg.data.files().iter().any(|p| brought_later(p)) {
        let key_error = |key: &str, message: String| ConfigError::Key {
            file: file.to_path_buf(),
            key: key.into(),
            message,
        };
        let count = cfg
            .data
            .check_files()
            .map_err(|e| key_error("data", e.to_string()))?;
        if let (Some(have), Some(want)) = (count, cfg.n_train)
            && want > have
        {
            return Err(key_error(
                "n_train",
                format!(
                    "{want} training samples asked for but the data files hold {have}; lower n_train"
                ),
            ));
        }
    }
    if let Some(ckpt) = &cfg.teacher_checkpoint {
        let p = dmd_data::paths::in_data_dir(ckpt);
        if !brought_later(&p) {
            user_checkpoint(cfg).map_err(|e| ConfigError::Key {
                file: file.to_path_buf(),
                key: "teacher_checkpoint".into(),
                message: format!("{e:#}"),
            })?;
        }
    }
    if cfg.student_checkpoint.is_some() {
        user_student(cfg).map_err(|e| ConfigError::Key {
            file: file.to_path_buf(),
            key: "student_checkpoint".into(),
            message: format!("{e:#}"),
        })?;
    }
    Ok(())
}

/// The teacher checkpoint a config names, resolved inside the data folder and checked: it
/// exists, reads as a dmd-nets checkpoint, and holds the network `[teacher.net]` describes.
/// Returns its path and the sha256 of its content; `None` without `teacher_checkpoint`.
pub fn user_checkpoint(cfg: &ExperimentConfig) -> Result<Option<(PathBuf, String)>> {
    cfg.teacher_checkpoint
        .as_ref()
        .map(|c| checked_checkpoint(c, "teacher_checkpoint", &cfg.teacher.net, "[teacher.net]"))
        .transpose()
}

/// The student checkpoint a config names (`dmd eval`), checked like [`user_checkpoint`]
/// against the student's network.
pub fn user_student(cfg: &ExperimentConfig) -> Result<Option<(PathBuf, String)>> {
    cfg.student_checkpoint
        .as_ref()
        .map(|c| {
            checked_checkpoint(
                c,
                "student_checkpoint",
                student_net(cfg),
                "the student's network",
            )
        })
        .transpose()
}

/// The network of the config's student (`[distill.init]`: a fresh network or the teacher's).
pub fn student_net(cfg: &ExperimentConfig) -> &dmd_nets::NetConfig {
    match &cfg.distill.init {
        dmd_train::StudentInit::Fresh { net } => net,
        dmd_train::StudentInit::Teacher => &cfg.teacher.net,
    }
}

/// A user's checkpoint (config key `key`) resolved inside the data folder: it exists, reads as
/// a dmd-nets checkpoint and holds `net` (`what` names it in the error). Returns its path and
/// the sha256 of its content, which keys the stage that uses it.
fn checked_checkpoint(
    ckpt: &std::path::Path,
    key: &str,
    net: &dmd_nets::NetConfig,
    what: &str,
) -> Result<(PathBuf, String)> {
    let path = dmd_data::paths::in_data_dir(ckpt);
    let bytes = std::fs::read(&path).with_context(|| {
        format!(
            "{key} {}: cannot read it; fix the path or bring the file",
            path.display()
        )
    })?;
    let found = dmd_nets::checkpoint::read_config(&path).with_context(|| {
        format!(
            "{key} {} is not a dmd-nets checkpoint (convert PyTorch files with `dmd import`)",
            path.display()
        )
    })?;
    if &found != net {
        bail!(
            "{key} {} holds a different network than {what} ({found:?}); fix the config or the file",
            path.display()
        );
    }
    use sha2::Digest;
    let sha: String = sha2::Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok((path, sha))
}

/// Makes a user's checkpoint (config key `key`) the output `file` of `stage` and marks the
/// stage done; a file that does not load is refused before anything is copied or marked.
fn adopt_checkpoint(stage: &Stage, key: &str, ckpt: PathBuf, file: &str) -> Result<()> {
    Denoiser::load(&ckpt, tch::Device::Cpu).with_context(|| {
        format!(
            "{key} {} cannot be loaded; fix or replace the file",
            ckpt.display()
        )
    })?;
    dmd_io::write_atomic_with(&stage.path(file), |tmp| {
        std::fs::copy(&ckpt, tmp).map(|_| ())
    })?;
    stage.mark_done(&StageDone {
        from: Some(ckpt),
        ..Default::default()
    })
}

/// What determines the teacher samples of one snapshot.
#[derive(Debug, Serialize)]
struct SamplesKey {
    teacher: String,
    snapshot: u64,
    compute: Compute,
    eval: SamplingKey,
}

/// The eval settings that change the samples (not the measurements).
#[derive(Debug, Serialize)]
struct SamplingKey {
    seed: u64,
    n: usize,
    n_indep: usize,
    /// Seeds of `Phi_fine` and of the ruler's students (the first `n_samples`).
    n_reference: usize,
    steps: Vec<usize>,
    solver: dmd_nets::sampler::Solver,
    ruler_angles: Vec<f64>,
}

/// Seed of the coordinate planes of the ruler's rotations `R_theta` (one family of planes
/// for every angle and every experiment).
pub const RULER_PLANES_SEED: u64 = 0x5275_6c65;

/// What determines a student.
#[derive(Debug, Serialize)]
struct StudentKey<'a> {
    teacher: String,
    snapshot: u64,
    compute: Compute,
    distill: &'a DistillConfig,
    /// sha256 of a student trained elsewhere (`dmd eval`); absent for distilled students.
    #[serde(skip_serializing_if = "Option::is_none")]
    checkpoint_sha256: Option<String>,
    /// Points of the pairing-over-training trajectory measured while distilling (absent when
    /// off).
    #[serde(skip_serializing_if = "is_zero")]
    trajectory_points: u64,
    /// `eval.trajectory_seeds` when a smaller panel is set (absent for the default, all N).
    #[serde(skip_serializing_if = "is_zero")]
    trajectory_seeds: usize,
}

/// A key field left out at its default (so older stage keys keep their hash).
fn is_zero<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
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
    /// Peak resident memory of the process that ran it, MiB (Linux `VmHWM`; `None` elsewhere).
    #[serde(default)]
    pub peak_rss_mib: Option<f64>,
    /// Precision of the teacher's training forward passes (`teacher.autocast`).
    #[serde(default, skip_serializing_if = "Precision::is_f32")]
    pub teacher_autocast: Precision,
    /// Precision of the distillation's forward passes (`distill.autocast`).
    #[serde(default, skip_serializing_if = "Precision::is_f32")]
    pub distill_autocast: Precision,
}

/// The process's peak resident memory so far, MiB (`VmHWM` of `/proc/self/status`).
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
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
    // The results are written to a fresh folder that replaces `<results>/<name>` only when
    // everything succeeded: a failed or different run never leaves a mix of old and new files.
    let results = ResultsFolder::new(&paths.results, &cfg.name)?;
    let out_dir = results.work.clone();
    tracing::info!(experiment = %cfg.name, profile, ?device, "starting");

    let data = load_data(cfg)?;
    let teacher = teacher_stage(cfg, paths, &data)?;
    let teacher_wall_s = teacher.stage.recorded_wall_s();
    let mut snapshots = Vec::new();
    let result = |snapshots, start: Instant| ExperimentResult {
        name: cfg.name.clone(),
        profile: profile.to_string(),
        snapshots,
        teacher_wall_s,
        wall_s: start.elapsed().as_secs_f64(),
        peak_rss_mib: peak_rss_mib(),
        // A teacher given as a checkpoint was not trained here, in any precision.
        teacher_autocast: if cfg.teacher_checkpoint.is_some() {
            Precision::F32
        } else {
            cfg.teacher.autocast
        },
        distill_autocast: cfg.distill.autocast,
    };
    if until == Until::Teacher {
        return Ok(result(snapshots, start));
    }
    let classifier = classifier_stage(cfg, paths, device)?;
    for snapshot in cfg.distill_snapshots() {
        if dmd_train::interrupt::requested() {
            // A stop asked for between stages: finished stages are kept, the rest resumes.
            return Err(dmd_train::TrainError::Interrupted { iteration: 0 }.into());
        }
        if let Some(s) = snapshot_stages(
            cfg,
            paths,
            &results,
            &teacher,
            snapshot,
            &data,
            classifier.as_ref(),
            until,
            device,
        )? {
            snapshots.push(s);
        }
    }
    if until == Until::Analyze && snapshots.iter().any(|s| s.distill_log.is_file()) {
        let logs: Vec<(u64, PathBuf)> = snapshots
            .iter()
            .map(|s| (s.snapshot, s.distill_log.clone()))
            .collect();
        figures::dm_loss_figure(&logs, &out_dir.join("figures").join("dm_loss.png"))?;
    }
    let result = result(snapshots, start);
    if until == Until::Analyze {
        store::write_json_atomic(&out_dir.join("summary.json"), &result)?;
        store::write_json_atomic(&out_dir.join("config.json"), cfg)?;
        results.commit()?;
    }
    Ok(result)
}

/// An experiment's results folder, written fresh beside the final one and swapped in by
/// [`ResultsFolder::commit`]; dropped without a commit, the partial folder is removed.
pub struct ResultsFolder {
    /// Where this run writes (`<results>/.<name>.partial-<pid>`).
    pub work: PathBuf,
    /// The final folder (`<results>/<name>`), whose measurements may be reused.
    pub last: PathBuf,
    committed: std::cell::Cell<bool>,
}

impl ResultsFolder {
    /// Creates the fresh folder, which also checks that `results` is writable before any
    /// compute.
    pub fn new(results: &std::path::Path, name: &str) -> Result<Self> {
        let work = results.join(format!(".{name}.partial-{}", std::process::id()));
        if work.exists() {
            std::fs::remove_dir_all(&work)
                .with_context(|| format!("cannot clear {}", work.display()))?;
        }
        std::fs::create_dir_all(&work).with_context(|| {
            format!(
                "cannot write results under {}: make it writable or choose another --out",
                results.display()
            )
        })?;
        Ok(Self {
            work,
            last: results.join(name),
            committed: std::cell::Cell::new(false),
        })
    }

    /// Replaces the final folder with the fresh one (the old one is moved aside first, then
    /// deleted).
    pub fn commit(&self) -> Result<()> {
        for attempt in 0..5 {
            if self.last.exists() {
                let old = self.last.with_file_name(format!(
                    ".{}.old-{}-{attempt}",
                    self.last.file_name().unwrap_or_default().to_string_lossy(),
                    std::process::id()
                ));
                if std::fs::rename(&self.last, &old).is_ok() {
                    let _ = std::fs::remove_dir_all(&old);
                }
            }
            if std::fs::rename(&self.work, &self.last).is_ok() {
                self.committed.set(true);
                return Ok(());
            }
        }
        bail!(
            "cannot move {} to {}; remove the latter and rerun",
            self.work.display(),
            self.last.display()
        )
    }
}

impl Drop for ResultsFolder {
    fn drop(&mut self) {
        if !self.committed.get() {
            let _ = std::fs::remove_dir_all(&self.work);
        }
    }
}

/// The trained teacher's stage and the hash that keys everything computed from it.
pub struct TeacherStage {
    /// The teacher's stage folder (weights and snapshots).
    pub stage: Stage,
    /// Hash of the teacher's key (part of the samples' and students' keys).
    pub hash: String,
}

impl TeacherStage {
    /// The weights of the teacher at `snapshot` iterations.
    pub fn weights(&self, cfg: &ExperimentConfig, snapshot: u64) -> PathBuf {
        if snapshot == cfg.teacher.iterations {
            self.stage.path(dmd_train::teacher::files::TEACHER)
        } else {
            dmd_train::teacher::snapshot_path(&self.stage.dir, snapshot)
        }
    }
}

/// Stage 2: trains the teacher with its snapshots (or takes the user's checkpoint), reused
/// when done.
pub fn teacher_stage(
    cfg: &ExperimentConfig,
    paths: &Paths,
    data: &TrainData,
) -> Result<TeacherStage> {
    let mut teacher_cfg = cfg.teacher.clone();
    teacher_cfg.device = cfg.device;
    let user = user_checkpoint(cfg)?;
    let teacher_key = TeacherKey {
        data: &cfg.data,
        n_train: cfg.n_train,
        data_seed: cfg.data_seed,
        teacher: &cfg.teacher,
        checkpoint: cfg.teacher_checkpoint.as_ref(),
        checkpoint_sha256: user.as_ref().map(|(_, sha)| sha.clone()),
        data_sha256: cfg
            .data
            .unpinned_files()
            .iter()
            .map(|f| store::file_sha256_cached(f, &paths.stages))
            .collect::<Result<_>>()?,
        compute: Compute::now(cfg.device.resolve()?),
    };
    let stage = Stage::new(&paths.stages, "teacher", &teacher_key)?;
    let hash = store::config_hash(&teacher_key);
    let _lock = stage.lock()?;
    let user_given = user.is_some();
    if let Some((ckpt, _)) = user.filter(|_| !stage.is_done()) {
        adopt_checkpoint(
            &stage,
            "teacher_checkpoint",
            ckpt,
            dmd_train::teacher::files::TEACHER,
        )?;
    }
    if !stage.is_done() && !user_given && !reference::retrain_requested() {
        let key_hash = store::config_hash(&reference::reference_key(&teacher_key)?);
        if let Some((dir, m)) = reference::find(&reference::reference_dir(), &key_hash)? {
            tracing::info!(
                "teacher: using the reference teacher {} (trained by `{}` at {}; --retrain-teachers trains it here)",
                dir.display(),
                m.provenance.command,
                m.provenance.commit
            );
            reference::adopt(&dir, &m, &stage)?;
        }
    }
    if stage.is_done() {
        tracing::info!("teacher: reusing {}", stage.dir.display());
    } else if let Some(student) = &cfg.student_checkpoint {
        return Err(BadInput(format!(
            "measuring {} trains nothing, but this config's teacher is not trained yet: \
             give a teacher checkpoint (dmd eval --teacher FILE, or teacher_checkpoint) or \
             run `dmd train-teacher` with this config first",
            student.display()
        ))
        .into());
    } else {
        tracing::info!("teacher: training in {}", stage.dir.display());
        let outcome = dmd_train::train_teacher(&teacher_cfg, data, &stage.dir)?;
        stage.mark_done(&StageDone {
            iterations: Some(outcome.iterations),
            wall_s: Some(outcome.wall_s),
            ..Default::default()
        })?;
    }
    Ok(TeacherStage { stage, hash })
}

/// The MNIST feature classifier (MNIST data only), trained once and shared.
pub fn classifier_stage(
    cfg: &ExperimentConfig,
    paths: &Paths,
    device: tch::Device,
) -> Result<Option<(crate::classifier::Classifier, f64)>> {
    Ok(match &cfg.data {
        DatasetSpec::Mnist(_) => Some(crate::classifier::cached(
            &paths.stages,
            &crate::classifier::ClassifierKey {
                revision: 1,
                epochs: cfg.eval.classifier_epochs,
                train_size: cfg.eval.classifier_train_size,
                seed: 0,
                compute: Compute::now(device),
            },
            device,
        )?),
        _ => None,
    })
}

/// The teacher's sample sets of one snapshot: their file and the key they were drawn with.
pub struct TeacherSamples {
    /// `teacher_samples.safetensors` (z, Phi_1, Phi_K, Phi_fine, Phi_K(z'), labels).
    pub file: PathBuf,
    /// Hash of the sampling key (names the student's sample file).
    pub key_hash: String,
}

/// Stage 3: the teacher's sample sets at one snapshot, reused when done.
pub fn teacher_samples_stage(
    cfg: &ExperimentConfig,
    paths: &Paths,
    teacher_hash: &str,
    snapshot: u64,
    teacher: &Denoiser,
    device: tch::Device,
) -> Result<TeacherSamples> {
    let e = &cfg.eval;
    let num_classes = cfg.teacher.net.num_classes();
    let shape = cfg.teacher.net.data_shape();
    let plan = crate::config::EvalPlan::new(e, crate::config::EvalPlan::drawn(e));
    let n = plan.n_drawn;
    let samples_key = SamplesKey {
        teacher: teacher_hash.to_string(),
        snapshot,
        compute: Compute::now(device),
        eval: SamplingKey {
            seed: e.seed,
            n,
            n_indep: plan.n_indep,
            n_reference: plan.n_pairing,
            steps: vec![1, e.reference_steps, e.fine_steps],
            solver: e.solver,
            ruler_angles: e.ruler_angles.clone(),
        },
    };
    let stage = Stage::new(&paths.stages, "samples", &samples_key)?;
    let file = stage.path("teacher_samples.safetensors");
    let _lock = stage.lock()?;
    if !stage.is_done() {
        dmd_train::progress::report_stage(&format!("sampling the teacher ({snapshot} it)"));
        tracing::info!(
            snapshot,
            n,
            "sampling the teacher (Phi_1, Phi_{}, Phi_{})",
            e.reference_steps,
            e.fine_steps
        );
        let (z, labels) = sampling::seeds(e.seed, n, &shape, num_classes, device);
        let (z_indep, labels_indep) =
            sampling::seeds(e.seed + 1, plan.n_indep, &shape, num_classes, device);
        let ts = |z: &tch::Tensor, y: Option<&tch::Tensor>, k: usize| {
            sampling::teacher_samples(teacher, z, y, k, e.solver, e.chunk)
        };
        let phi_1 = ts(&z, labels.as_ref(), 1);
        let phi_k = ts(&z, labels.as_ref(), e.reference_steps);
        // The fine reference and the ruler on the first N seeds (the claims' set).
        let n_ref = plan.n_pairing as i64;
        let (z_ref, labels_ref) = (
            z.narrow(0, 0, n_ref),
            labels.as_ref().map(|l| l.narrow(0, 0, n_ref)),
        );
        let phi_fine = ts(&z_ref, labels_ref.as_ref(), e.fine_steps);
        let phi_k_indep = ts(&z_indep, labels_indep.as_ref(), e.reference_steps);
        let z_rows = dmd_nets::convert::tensor_to_array(&z);
        let z_ref_rows = z_rows.slice(ndarray::s![..plan.n_pairing, ..]);
        tracing::info!(
            angles = e.ruler_angles.len(),
            "the remapping ruler: Phi_K(R_theta z)"
        );
        let ruler: Vec<ndarray::Array2<f32>> = e
            .ruler_angles
            .iter()
            .map(|&theta| {
                let rotated = dmd_analysis::rotate_noise(z_ref_rows, theta, RULER_PLANES_SEED);
                let zr = sampling::rows_to_tensor(&rotated, &shape, device)?;
                Ok(ts(&zr, labels_ref.as_ref(), e.reference_steps))
            })
            .collect::<Result<_>>()?;
        let ruler_names: Vec<String> = (0..ruler.len()).map(|i| format!("ruler_{i}")).collect();
        let mut arrays = vec![
            ("z", &z_rows),
            ("phi_1", &phi_1),
            ("phi_k", &phi_k),
            ("phi_fine", &phi_fine),
            ("phi_k_indep", &phi_k_indep),
        ];
        for (name, a) in ruler_names.iter().zip(&ruler) {
            arrays.push((name.as_str(), a));
        }
        let label_cols = labels.as_ref().map(sampling::labels_column);
        if let Some(l) = &label_cols {
            arrays.push(("labels", l));
        }
        store::save_arrays(&file, &arrays)?;
        stage.mark_done(&StageDone {
            n: Some(n),
            ..Default::default()
        })?;
    }
    Ok(TeacherSamples {
        file,
        key_hash: store::config_hash(&samples_key),
    })
}

/// Stage 4: the DMD student of one snapshot, reused when done. Returns its stage, locked:
/// the lock is held through the student's sampling, which writes into the same folder.
pub fn student_stage(
    cfg: &ExperimentConfig,
    paths: &Paths,
    teacher_hash: &str,
    snapshot: u64,
    teacher: &Denoiser,
    samples: &TeacherSamples,
    data: &TrainData,
) -> Result<(Stage, StageLock)> {
    let user = user_student(cfg)?;
    let student_key = StudentKey {
        trajectory_points: if user.is_some() {
            0
        } else {
            cfg.eval.trajectory_points
        },
        trajectory_seeds: if user.is_some() || cfg.eval.trajectory_points == 0 {
            0
        } else {
            cfg.eval.trajectory_seeds
        },
        teacher: teacher_hash.to_string(),
        snapshot,
        compute: Compute::now(teacher.device()),
        distill: &cfg.distill,
        checkpoint_sha256: user.as_ref().map(|(_, sha)| sha.clone()),
    };
    let stage = Stage::new(&paths.stages, "student", &student_key)?;
    let lock = stage.lock()?;
    if stage.is_done() {
        return Ok((stage, lock));
    }
    if let Some((ckpt, _)) = user {
        tracing::info!("student: measuring {}", ckpt.display());
        adopt_checkpoint(
            &stage,
            "student_checkpoint",
            ckpt,
            dmd_train::dmd::files::GENERATOR,
        )?;
    } else {
        tracing::info!(snapshot, "distilling in {}", stage.dir.display());
        let mut probe = trajectory::TrajectoryProbe::new(cfg, &samples.file, teacher.device())?;
        let outcome = dmd_train::distill_with(
            &cfg.distill,
            teacher,
            Some(data),
            &stage.dir,
            probe.as_mut(),
        )?;
        stage.mark_done(&StageDone {
            iterations: Some(outcome.iterations),
            wall_s: Some(outcome.wall_s),
            ..Default::default()
        })?;
    }
    Ok((stage, lock))
}

/// Stage 5: the student's samples `G(z)` on the teacher's seeds, in the student's folder
/// (call with the student's lock held).
pub fn student_samples_stage(
    cfg: &ExperimentConfig,
    student: &Stage,
    samples: &TeacherSamples,
    device: tch::Device,
) -> Result<PathBuf> {
    let path = student.path(&format!("student_samples-{}.safetensors", samples.key_hash));
    if path.is_file() {
        return Ok(path);
    }
    dmd_train::progress::report_stage("sampling the student");
    let loaded = store::load_arrays(&samples.file)?;
    let z = sampling::rows_to_tensor(&loaded["z"], &cfg.teacher.net.data_shape(), device)?;
    let labels = loaded
        .get("labels")
        .map(|c| sampling::labels_from_column(c, device));
    let generator = load_checked(
        &student.path(dmd_train::dmd::files::GENERATOR),
        student_net(cfg),
        student,
        device,
    )?;
    let sigmas = dmd_train::student_sigmas(cfg.distill.student_steps, cfg.distill.grid_size);
    let g = sampling::student_samples(&generator, &z, labels.as_ref(), &sigmas, cfg.eval.chunk);
    store::save_arrays(&path, &[("g", &g)])?;
    Ok(path)
}

/// Stages 3-7 for one teacher snapshot: teacher samples, student, student samples, then the
/// measurements and figures. `None` when `until` stops before the analysis.
#[allow(clippy::too_many_arguments)]
fn snapshot_stages(
    cfg: &ExperimentConfig,
    paths: &Paths,
    results: &ResultsFolder,
    teacher_stage: &TeacherStage,
    snapshot: u64,
    data: &TrainData,
    classifier: Option<&(crate::classifier::Classifier, f64)>,
    until: Until,
    device: tch::Device,
) -> Result<Option<SnapshotResult>> {
    let teacher = load_checked(
        &teacher_stage.weights(cfg, snapshot),
        &cfg.teacher.net,
        &teacher_stage.stage,
        device,
    )?;
    let samples =
        teacher_samples_stage(cfg, paths, &teacher_stage.hash, snapshot, &teacher, device)?;
    let (student, student_lock) = student_stage(
        cfg,
        paths,
        &teacher_stage.hash,
        snapshot,
        &teacher,
        &samples,
        data,
    )?;
    if until == Until::Distill {
        return Ok(None);
    }
    let student_samples = student_samples_stage(cfg, &student, &samples, device)?;
    drop(student_lock);
    if until == Until::Sample {
        return Ok(None);
    }
    let out_dir = &results.work;
    let snap_name = format!("snapshot-{snapshot:06}");
    let snap_dir = out_dir.join(&snap_name);
    // Measurements of the same inputs in the last results are reused (analyze checks the key).
    std::fs::create_dir_all(&snap_dir)
        .with_context(|| format!("cannot create {}", snap_dir.display()))?;
    for f in ["metrics.json", analyze::PER_SEED] {
        let old = results.last.join(&snap_name).join(f);
        if old.is_file() {
            let _ = std::fs::copy(&old, snap_dir.join(f));
        }
    }
    dmd_train::progress::report_stage(&format!("measuring ({snapshot} it)"));
    let input = analyze::AnalysisInput::load(&samples.file, &student_samples)?;
    let inputs = analyze::inputs_key(cfg, &samples.file, &student_samples)?;
    let metrics = analyze::analyze(cfg, snapshot, &input, data, classifier, &snap_dir, &inputs)?;
    figures::evidence_figures(&metrics, &out_dir.join("figures"))?;
    if let Some(points) = trajectory::read(&student.dir)? {
        dmd_io::write_atomic_with(&snap_dir.join(dmd_train::dmd::files::TRAJECTORY), |tmp| {
            std::fs::copy(student.path(dmd_train::dmd::files::TRAJECTORY), tmp).map(|_| ())
        })
        .with_context(|| format!("cannot copy the trajectory into {}", snap_dir.display()))?;
        figures::trajectory_figures(
            &points,
            &format!("{} (teacher {snapshot} it)", cfg.name),
            snapshot,
            &out_dir.join("figures"),
        )?;
    }
    figures::student_figures(
        cfg,
        snapshot,
        &input,
        data,
        &snap_dir,
        &out_dir.join("figures"),
    )?;
    Ok(Some(SnapshotResult {
        snapshot,
        metrics: PathBuf::from(format!("snapshot-{snapshot:06}")).join("metrics.json"),
        distill_log: student.path(dmd_train::dmd::files::METRICS),
        samples: samples.file,
        distill_wall_s: student.recorded_wall_s(),
    }))
}

/// A stored network that does not fit its config (a stage folder edited by hand, a file from
/// another run): reported with exit code 2, naming the file, both networks and the fix.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadInput(pub String);

/// Loads a checkpoint of `stage` and checks that it holds the network `net` its config names.
pub fn load_checked(
    path: &std::path::Path,
    net: &dmd_nets::NetConfig,
    stage: &Stage,
    device: tch::Device,
) -> Result<Denoiser> {
    let fix = format!("delete {} and rerun", stage.dir.display());
    let found = dmd_nets::checkpoint::read_config(path)
        .map_err(|e| BadInput(format!("{}: {e}; {fix}", path.display())))?;
    if &found != net {
        return Err(BadInput(format!(
            "{} holds a different network than the config: found {found:?}, the config names {net:?}; {fix}",
            path.display()
        ))
        .into());
    }
    Denoiser::load(path, device)
        .map_err(|e| BadInput(format!("{}: {e}; {fix}", path.display())).into())
}

/// Builds the training set; labels are kept only for a conditional teacher.
fn load_data(cfg: &ExperimentConfig) -> Result<TrainData> {
    // `|u1` .npy samples stay on disk and are read by row; everything else is in memory.
    let ds = cfg.data.open(cfg.n_train, cfg.data_seed)?;
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
    Ok(TrainData::new(ds.rows, labels, shape)?)
}

/// Stops with one line per missing file the experiment needs the user to bring.
pub(crate) fn check_required_files(cfg: &ExperimentConfig) -> Result<()> {
    let missing: Vec<String> = cfg
        .requires
        .iter()
        .filter_map(|r| {
            let p = dmd_data::paths::in_data_dir(&r.path);
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

/// The reference key of `cfg`'s trained teacher (its teacher stage key without the compute;
/// see [`crate::reference`]); `stages` caches the sums of unpinned data files.
pub fn teacher_reference_key(
    cfg: &ExperimentConfig,
    stages: &std::path::Path,
) -> Result<serde_json::Value> {
    let teacher_key = TeacherKey {
        data: &cfg.data,
        n_train: cfg.n_train,
        data_seed: cfg.data_seed,
        teacher: &cfg.teacher,
        checkpoint: None,
        checkpoint_sha256: None,
        data_sha256: cfg
            .data
            .unpinned_files()
            .iter()
            .map(|f| store::file_sha256_cached(f, stages))
            .collect::<Result<_>>()?,
        compute: Compute::now(tch::Device::Cpu),
    };
    reference::reference_key(&teacher_key)
}

/// The finished teacher stage in `paths.stages` of `cfg`'s teacher, whatever thread count and
/// device trained it (its reference key matches; see [`crate::reference`]), with its key.
pub fn finished_teacher_stage(
    cfg: &ExperimentConfig,
    paths: &Paths,
) -> Result<(PathBuf, serde_json::Value)> {
    let want = teacher_reference_key(cfg, &paths.stages)?;
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&paths.stages)
        .with_context(|| format!("cannot read the stage store {}", paths.stages.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("teacher-"))
        })
        .collect();
    dirs.sort();
    for dir in dirs {
        let Ok(text) = std::fs::read_to_string(dir.join("key.json")) else {
            continue;
        };
        let Ok(key) = serde_json::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        if reference::reference_key(&key)? == want && dir.join("DONE.json").is_file() {
            return Ok((dir, key));
        }
    }
    bail!(
        "no finished teacher of {} in {}: train it first with `dmd train-teacher`",
        cfg.name,
        paths.stages.display()
    )
}
