//! The training compute a profile asks for (`dmd plan`): per experiment, the teacher it trains
//! (or reuses: shared with an earlier experiment, shipped as a reference teacher, or given as a
//! checkpoint) and its students, each with its network, parameter count, batch and iterations.
//! `cargo xtask gpu-check` multiplies these by measured step times to extrapolate a profile's
//! wall time on a GPU.

use anyhow::Result;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

use crate::config::ExperimentConfig;
use crate::schema::EXPERIMENTS;
use crate::{pipeline, reference, store};

/// Everything one profile trains, experiment by experiment (`dmd plan --json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Plan {
    /// The profile.
    pub profile: String,
    /// The experiments of `dmd reproduce`, in its order.
    pub experiments: Vec<PlannedExperiment>,
}

/// One experiment's training work.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlannedExperiment {
    /// Experiment name.
    pub name: String,
    /// Its teacher.
    pub teacher: PlannedTeacher,
    /// One student per distilled teacher snapshot.
    pub students: Vec<PlannedRun>,
    /// Why the experiment would not run (files the user must bring), if so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

/// What a teacher costs: a training run, or nothing when it is reused.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlannedTeacher {
    /// The training run (iterations = the teacher's last snapshot).
    pub run: PlannedRun,
    /// Who provides it when it is not trained here.
    pub source: TeacherSource,
}

/// Where an experiment's teacher comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "detail")]
pub enum TeacherSource {
    /// Trained by this experiment.
    Trained,
    /// The same teacher as this earlier experiment's (one stage, trained once).
    SharedWith(String),
    /// A reference teacher shipped in `reference-teachers/` (its folder).
    Reference(String),
    /// A checkpoint the config names (`teacher_checkpoint`).
    Checkpoint(String),
}

/// One network trained for some iterations at some batch.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlannedRun {
    /// `mlp` or `unet`, with its width: e.g. `unet C=64`.
    pub net: String,
    /// Trainable parameters.
    pub params: i64,
    /// Minibatch size.
    pub batch: usize,
    /// Iterations.
    pub iterations: u64,
    /// Teacher snapshot a student distils from (0 for the teacher itself).
    #[serde(default)]
    pub snapshot: u64,
    /// The diffusion-GAN ablation is on (a discriminator head adds to each iteration).
    #[serde(default)]
    pub gan: bool,
    /// A student that an earlier experiment distils too (same teacher, snapshot and
    /// distillation config: one stage, trained once), by that experiment's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_with: Option<String>,
}

/// `dir` relative to the working folder when it lies inside it.
fn shown(dir: &Path) -> String {
    let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    std::env::current_dir()
        .and_then(std::fs::canonicalize)
        .ok()
        .and_then(|cwd| dir.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .unwrap_or(dir)
        .display()
        .to_string()
}

fn net_label(net: &dmd_nets::NetConfig) -> String {
    match net {
        dmd_nets::NetConfig::Mlp(m) => format!("mlp {}x{}", m.layers, m.hidden),
        dmd_nets::NetConfig::Unet(u) => format!("unet C={}", u.model_channels),
    }
}

fn params(net: &dmd_nets::NetConfig) -> Result<i64> {
    Ok(match net {
        dmd_nets::NetConfig::Unet(u) => dmd_nets::unet::count_parameters(u)?,
        other => dmd_nets::Denoiser::new(other, tch::Device::Cpu)?.num_parameters(),
    })
}

/// The plan of `profile` for the experiment configs in `configs` (`<name>.toml`), all of
/// [`EXPERIMENTS`] or those in `only`; `stages` caches data-file sums for the teacher keys.
pub fn plan(configs: &Path, profile: &str, only: &[String], stages: &Path) -> Result<Plan> {
    let mut experiments = Vec::new();
    let mut trained_by: BTreeMap<String, String> = BTreeMap::new();
    let mut distilled_by: BTreeMap<String, String> = BTreeMap::new();
    for name in EXPERIMENTS {
        if !only.is_empty() && !only.iter().any(|o| o == name) {
            continue;
        }
        let cfg = ExperimentConfig::load(&configs.join(format!("{name}.toml")), profile, &[])?;
        experiments.push(plan_one(&cfg, stages, &mut trained_by, &mut distilled_by)?);
    }
    Ok(Plan {
        profile: profile.to_string(),
        experiments,
    })
}

fn plan_one(
    cfg: &ExperimentConfig,
    stages: &Path,
    trained_by: &mut BTreeMap<String, String>,
    distilled_by: &mut BTreeMap<String, String>,
) -> Result<PlannedExperiment> {
    let skipped = pipeline::check_required_files(cfg)
        .err()
        .map(|e| e.to_string());
    let teacher_params = params(&cfg.teacher.net)?;
    // What identifies the teacher (students of the same teacher, snapshot and distillation
    // config are one stage).
    let teacher_hash = match &cfg.teacher_checkpoint {
        Some(ckpt) => format!("checkpoint {}", ckpt.display()),
        None => store::config_hash(&pipeline::teacher_reference_key(cfg, stages)?),
    };
    let source = if let Some(ckpt) = &cfg.teacher_checkpoint {
        TeacherSource::Checkpoint(ckpt.display().to_string())
    } else {
        if let Some(first) = trained_by.get(&teacher_hash) {
            TeacherSource::SharedWith(first.clone())
        } else {
            trained_by.insert(teacher_hash.clone(), cfg.name.clone());
            match reference::find(&reference::reference_dir(), &teacher_hash)? {
                Some((dir, _)) if !reference::retrain_requested() => {
                    TeacherSource::Reference(shown(&dir))
                }
                _ => TeacherSource::Trained,
            }
        }
    };
    let student_net = pipeline::student_net(cfg);
    let student_params = params(student_net)?;
    let students = cfg
        .distill_snapshots()
        .into_iter()
        .map(|snapshot| {
            let key = store::config_hash(&(&teacher_hash, snapshot, &cfg.distill));
            let shared_with = distilled_by.get(&key).cloned();
            distilled_by.entry(key).or_insert_with(|| cfg.name.clone());
            PlannedRun {
                net: net_label(student_net),
                params: student_params,
                batch: cfg.distill.batch_size,
                iterations: cfg.distill.iterations,
                snapshot,
                gan: cfg.distill.gan.enabled,
                shared_with,
            }
        })
        .collect();
    Ok(PlannedExperiment {
        name: cfg.name.clone(),
        teacher: PlannedTeacher {
            run: PlannedRun {
                net: net_label(&cfg.teacher.net),
                params: teacher_params,
                batch: cfg.teacher.batch_size,
                iterations: cfg.teacher.iterations,
                snapshot: 0,
                gan: false,
                shared_with: None,
            },
            source,
        },
        students,
        skipped,
    })
}

impl Plan {
    /// A Markdown table of the plan.
    pub fn table(&self) -> String {
        let mut s = format!(
            "Training work of the `{}` profile (teachers reused from another experiment, a reference teacher or a checkpoint cost nothing here):\n\n| experiment | teacher | its x batch | students | its x batch (each) |\n|---|---|---|---|---|\n",
            self.profile
        );
        for e in &self.experiments {
            let t = &e.teacher;
            let teacher = match &t.source {
                TeacherSource::Trained => {
                    format!("{} ({} params), trained", t.run.net, t.run.params)
                }
                TeacherSource::SharedWith(o) => format!("{}, shared with {o}", t.run.net),
                TeacherSource::Reference(d) => format!("{}, reference teacher {d}", t.run.net),
                TeacherSource::Checkpoint(c) => format!("{}, checkpoint {c}", t.run.net),
            };
            let first = e.students.first();
            let shared = e
                .students
                .iter()
                .filter(|r| r.shared_with.is_some())
                .count();
            s.push_str(&format!(
                "| {}{} | {teacher} | {} x {} | {} x {}{} | {} |\n",
                e.name,
                if e.skipped.is_some() {
                    " (skipped: files to bring)"
                } else {
                    ""
                },
                t.run.iterations,
                t.run.batch,
                e.students.len(),
                first.map_or("-".into(), |r| format!(
                    "{} ({} params){}",
                    r.net,
                    r.params,
                    if r.gan { ", GAN" } else { "" }
                )),
                if shared > 0 {
                    format!(" ({shared} shared with an earlier experiment)")
                } else {
                    String::new()
                },
                first.map_or("-".into(), |r| format!("{} x {}", r.iterations, r.batch)),
            ));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_paper_plan_counts_shared_teachers_and_students_once() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let stages = tempfile::tempdir().unwrap();
        let p = plan(&root.join("configs"), "paper", &[], stages.path()).unwrap();
        let by_name = |n: &str| p.experiments.iter().find(|e| e.name == n).unwrap();
        assert_eq!(p.experiments.len(), EXPERIMENTS.len());
        let uncond = by_name("mnist-uncond");
        assert_eq!(uncond.teacher.source, TeacherSource::Trained);
        assert_eq!(uncond.teacher.run.params, 31_118_593);
        assert_eq!(
            (uncond.teacher.run.batch, uncond.teacher.run.iterations),
            (512, 8192)
        );
        let snapshots = by_name("mnist-snapshots");
        assert_eq!(
            snapshots.teacher.source,
            TeacherSource::SharedWith("mnist-uncond".into())
        );
        // Its 8192-iteration student is mnist-uncond's; the other five are its own.
        let shared: Vec<u64> = snapshots
            .students
            .iter()
            .filter(|s| s.shared_with.as_deref() == Some("mnist-uncond"))
            .map(|s| s.snapshot)
            .collect();
        assert_eq!(shared, [8192]);
        assert_eq!(snapshots.students.len(), 6);
        assert!(by_name("mnist-gan").students[0].gan);
        let imagenet = by_name("imagenet64");
        assert!(matches!(
            imagenet.teacher.source,
            TeacherSource::Checkpoint(_)
        ));
        // The JSON a tool reads back is the same plan.
        let back: Plan = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
        assert_eq!(back.experiments.len(), p.experiments.len());
        assert!(p.table().contains("| mnist-uncond |"));
    }
}
