//! `teacher.autocast` and `distill.autocast` (`"bf16"`): the forward passes of training run in
//! bf16, which changes the trained weights (new stages, never a reuse of the f32 ones), keeps
//! every number finite, and is listed in the report; a bad value is one line naming the key.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn dmd(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dmd"))
        .args(args)
        .current_dir(root())
        .env("RUST_LOG", "warn")
        .env("DMD_THREADS", "1")
        .output()
        .expect("dmd runs")
}

fn run(out: &Path, runs: &Path, extra: &[&str]) -> Output {
    let (out, runs) = (out.to_str().unwrap(), runs.to_str().unwrap());
    let mut args = vec![
        "run",
        "configs/chessboard-r4.toml",
        "--profile",
        "smoke",
        "--set",
        "distill.iterations=20",
        "--set",
        "teacher.iterations=60",
        "--set",
        "teacher.snapshots=[]",
        "--out",
        out,
        "--runs",
        runs,
    ];
    args.extend_from_slice(extra);
    dmd(&args)
}

fn ok(o: &Output) {
    assert!(
        o.status.success(),
        "dmd failed:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn stages(runs: &Path, kind: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(runs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(kind))
        .collect();
    v.sort();
    v
}

#[test]
fn bf16_autocast_trains_new_stages_and_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let (f32_out, bf16_out) = (tmp.path().join("f32"), tmp.path().join("bf16"));
    ok(&run(&f32_out, &runs, &[]));
    ok(&run(
        &bf16_out,
        &runs,
        &[
            "--set",
            "teacher.autocast=\"bf16\"",
            "--set",
            "distill.autocast=\"bf16\"",
        ],
    ));
    // Two teachers and two students: the precision is part of their keys.
    let teachers = stages(&runs, "teacher-");
    assert_eq!(teachers.len(), 2, "{teachers:?}");
    assert_eq!(stages(&runs, "student-").len(), 2);
    // bf16 arithmetic changed the trained weights.
    let weights: Vec<Vec<u8>> = teachers
        .iter()
        .map(|t| std::fs::read(t.join("teacher.safetensors")).unwrap())
        .collect();
    assert_ne!(weights[0], weights[1]);
    // Finite measurements, and the summary records the precision.
    let summary: Value = serde_json::from_str(
        &std::fs::read_to_string(bf16_out.join("chessboard-r4/summary.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(summary["teacher_autocast"], "bf16");
    assert_eq!(summary["distill_autocast"], "bf16");
    let f32_summary = std::fs::read_to_string(f32_out.join("chessboard-r4/summary.json")).unwrap();
    assert!(!f32_summary.contains("autocast"), "{f32_summary}");
    let snap = summary["snapshots"][0]["metrics"].as_str().unwrap();
    let metrics: Value = serde_json::from_str(
        &std::fs::read_to_string(bf16_out.join("chessboard-r4").join(snap)).unwrap(),
    )
    .unwrap();
    let de = metrics["metrics"]["pairing"]["student"]["delta_e"].as_f64();
    assert!(de.is_some_and(f64::is_finite), "Delta_E {de:?}");
    // The report lists it, and only for the run that used it.
    ok(&dmd(&["report", "--out", bf16_out.to_str().unwrap()]));
    ok(&dmd(&["report", "--out", f32_out.to_str().unwrap()]));
    let report = std::fs::read_to_string(bf16_out.join("REPORT.md")).unwrap();
    assert!(report.contains("**bf16 autocast** in the forward passes of teacher training"));
    let report = std::fs::read_to_string(f32_out.join("REPORT.md")).unwrap();
    assert!(!report.contains("bf16 autocast"));
}

#[test]
fn an_unknown_precision_names_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    let o = run(
        &tmp.path().join("out"),
        &tmp.path().join("runs"),
        &["--set", "distill.autocast=\"fp8\""],
    );
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("autocast"), "{err}");
    assert!(err.contains("bf16"), "{err}");
}
