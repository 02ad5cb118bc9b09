//! Inputs are addressed by content: a user's teacher checkpoint replaced at the same path is
//! used (never a stale copy from the stage store), and a bad checkpoint is refused before
//! anything is copied or marked done, so that fixing the file is enough.

use dmd_integration::config;
use dmd_study::config::ExperimentConfig;
use dmd_study::pipeline::{Paths, Until, run_experiment};
use dmd_study::schema::{StudentMetrics, read_json};
use std::path::{Path, PathBuf};

const TINY: [&str; 2] = ["teacher.iterations=20", "distill.iterations=4"];

fn load(extra: &[String]) -> ExperimentConfig {
    let mut sets: Vec<String> = TINY.iter().map(|s| s.to_string()).collect();
    sets.extend(extra.iter().cloned());
    ExperimentConfig::load(&config("chessboard-r4"), "smoke", &sets).unwrap()
}

/// Trains a smoke teacher with `seed` and returns a copy of its weights at `to`.
fn trained_teacher(paths: &Paths, seed: u64, to: &Path) {
    let cfg = load(&[format!("teacher.seed={seed}")]);
    run_experiment(&cfg, "smoke", paths, Until::Teacher).unwrap();
    let stage = std::fs::read_dir(&paths.stages)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("teacher-")
        })
        .find(|p| {
            std::fs::read_to_string(p.join("key.json"))
                .unwrap()
                .contains(&format!("\"seed\": {seed}"))
        })
        .unwrap();
    std::fs::copy(stage.join("teacher.safetensors"), to).unwrap();
}

fn with_checkpoint(paths: &Paths, ckpt: &Path) -> anyhow::Result<StudentMetrics> {
    let cfg = load(&[format!("teacher_checkpoint=\"{}\"", ckpt.display())]);
    let r = run_experiment(&cfg, "smoke", paths, Until::Analyze)?;
    read_json(
        &paths.results.join(&r.name).join(&r.snapshots[0].metrics),
        "rerun",
    )
}

#[test]
fn a_replaced_user_checkpoint_is_used_and_a_bad_one_is_refused_until_fixed() {
    let tmp = tempfile::tempdir().unwrap();
    let paths = Paths {
        stages: tmp.path().join("runs"),
        results: tmp.path().join("results"),
    };
    let (a, b): (PathBuf, PathBuf) = (
        tmp.path().join("a.safetensors"),
        tmp.path().join("b.safetensors"),
    );
    trained_teacher(&paths, 0, &a);
    trained_teacher(&paths, 1, &b);
    let user = tmp.path().join("teacher.safetensors");

    std::fs::copy(&a, &user).unwrap();
    let from_a = with_checkpoint(&paths, &user).unwrap();
    // The same path, another file: the new teacher is used.
    std::fs::copy(&b, &user).unwrap();
    let from_b = with_checkpoint(&paths, &user).unwrap();
    assert_ne!(
        from_a.student().delta_e,
        from_b.student().delta_e,
        "the replaced checkpoint must be used, not the stage's copy of the old one"
    );

    // A truncated file: the error names the user's file, and nothing is cached for it.
    let bytes = std::fs::read(&a).unwrap();
    std::fs::write(&user, &bytes[..bytes.len() / 2]).unwrap();
    let err = format!("{:#}", with_checkpoint(&paths, &user).unwrap_err());
    assert!(err.contains(&user.display().to_string()), "{err}");
    // Fixing the file is enough.
    std::fs::copy(&a, &user).unwrap();
    let again = with_checkpoint(&paths, &user).unwrap();
    assert_eq!(again.student().delta_e, from_a.student().delta_e);
}
