//! The study pipeline end to end, in process through the `dmd-study` library, on the smoke
//! profile: every stage runs, `metrics.json` reads back typed, the report is written from the
//! results folder, a rerun reuses every stage, and a changed student in the same results folder
//! is measured again (its `inputs` key names the content-addressed sample files and the
//! `[eval]` settings), never read back from the old `metrics.json`.

use dmd_integration::config;
use dmd_study::config::ExperimentConfig;
use dmd_study::pipeline::{Paths, Until, run_experiment};
use dmd_study::schema::{ExperimentResult, StudentMetrics, read_json};
use std::path::Path;

fn run(paths: &Paths, iterations: u32) -> (ExperimentResult, StudentMetrics) {
    let cfg = ExperimentConfig::load(
        &config("chessboard-r4"),
        "smoke",
        &[format!("distill.iterations={iterations}")],
    )
    .expect("the shipped config loads");
    let result = run_experiment(&cfg, "smoke", paths, Until::Analyze).expect("the pipeline runs");
    let dir = paths.results.join(&result.name);
    let summary: ExperimentResult =
        read_json(&dir.join("summary.json"), "rerun").expect("summary.json reads back typed");
    assert_eq!(summary.snapshots.len(), 1);
    let metrics: StudentMetrics = read_json(&dir.join(&summary.snapshots[0].metrics), "rerun")
        .expect("metrics.json reads back typed");
    (result, metrics)
}

fn stage_dirs(stages: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(stages)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn smoke_pipeline_runs_reports_resumes_and_remeasures_a_changed_student() {
    let tmp = tempfile::tempdir().unwrap();
    let paths = Paths {
        stages: tmp.path().join("runs"),
        results: tmp.path().join("results"),
    };
    let (first, a) = run(&paths, 3);
    assert_eq!(first.name, "chessboard-r4");
    assert!(a.student().delta_e.is_finite() && a.student().delta_e >= -1e-9);
    assert!(a.fit.gap_remaining >= 0.0, "{:?}", a.fit);
    let figures = paths.results.join("chessboard-r4/figures");
    assert!(
        std::fs::read_dir(&figures).unwrap().count() >= 5,
        "figures written to {}",
        figures.display()
    );
    let report = dmd_study::report::write_report(&paths.results).expect("the report is written");
    let text = std::fs::read_to_string(report).unwrap();
    assert!(
        text.contains("| 1 | low-D chessboard (R^4): the student remaps |"),
        "{text}"
    );
    assert!(text.contains("### moons-r4\n\nnot run"), "{text}");

    // A rerun of the same config adds no stage and reads the same measurements.
    let stages = stage_dirs(&paths.stages);
    let (_, again) = run(&paths, 3);
    assert_eq!(
        stage_dirs(&paths.stages),
        stages,
        "a rerun computes no new stage"
    );
    assert_eq!(
        serde_json::to_value(&again).unwrap(),
        serde_json::to_value(&a).unwrap()
    );

    // A changed student in the same results folder is measured again.
    let (_, b) = run(&paths, 12);
    assert_ne!(a.inputs, b.inputs, "a new student gives a new inputs key");
    assert_ne!(
        a.student().delta_e,
        b.student().delta_e,
        "the measurements come from the new student, not the old metrics.json"
    );
}
