//! `dmd eval` measures a generator trained elsewhere with the pipeline's own measurements: the
//! generator of a distilled smoke student, measured as an outside checkpoint, gives the same
//! numbers as the pipeline's measurement of that student; it trains nothing, and a teacher
//! that would need training is refused with one line.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

const TINY: [&str; 8] = [
    "--profile",
    "smoke",
    "--set",
    "distill.iterations=4",
    "--set",
    "teacher.iterations=20",
    "--set",
    "teacher.snapshots=[]",
];

fn dmd(args: &[&str], out: &Path, runs: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dmd"))
        .args(args)
        .args(TINY)
        .arg("--out")
        .arg(out)
        .arg("--runs")
        .arg(runs)
        .current_dir(root())
        .env("RUST_LOG", "warn")
        .env("DMD_THREADS", "1")
        .output()
        .expect("dmd runs")
}

fn ok(o: &Output) {
    assert!(
        o.status.success(),
        "dmd failed:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn metrics(dir: &Path) -> Value {
    let snap = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("snapshot-")
        })
        .expect("a snapshot folder");
    serde_json::from_str(&std::fs::read_to_string(snap.join("metrics.json")).unwrap()).unwrap()
}

fn stages(runs: &Path, kind: &str) -> Vec<PathBuf> {
    std::fs::read_dir(runs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(kind))
        .collect()
}

#[test]
fn an_outside_generator_is_measured_like_the_pipelines_own_student() {
    let tmp = tempfile::tempdir().unwrap();
    let (out, runs) = (tmp.path().join("results"), tmp.path().join("runs"));
    ok(&dmd(&["run", "configs/chessboard-r4.toml"], &out, &runs));
    let students = stages(&runs, "student-");
    assert_eq!(students.len(), 1);
    // The generator, as a file from elsewhere.
    let outside = tmp.path().join("generator-from-elsewhere.safetensors");
    std::fs::copy(students[0].join("generator.safetensors"), &outside).unwrap();

    let o = dmd(
        &[
            "eval",
            "configs/chessboard-r4.toml",
            "--student",
            outside.to_str().unwrap(),
        ],
        &out,
        &runs,
    );
    ok(&o);
    // Nothing was trained: one teacher, and the new student stage holds the copied file only.
    assert_eq!(stages(&runs, "teacher-").len(), 1);
    let students_now = stages(&runs, "student-");
    assert_eq!(students_now.len(), 2);
    let evaluated = students_now.iter().find(|s| **s != students[0]).unwrap();
    assert!(
        !evaluated.join("metrics.jsonl").exists(),
        "no distillation log"
    );

    let mut own = metrics(&out.join("chessboard-r4"));
    let mut eval = metrics(&out.join("chessboard-r4-eval"));
    // The label names the experiment folder (`chessboard-r4-eval`); every number must agree.
    for m in [&mut own, &mut eval] {
        m["metrics"]["label"] = Value::Null;
    }
    for key in ["metrics", "fit", "support", "teacher_fit", "evidence"] {
        assert_eq!(
            own[key], eval[key],
            "`{key}` differs between the two measurements"
        );
    }
    assert!(
        out.join("chessboard-r4-eval/figures").is_dir(),
        "the same figures"
    );

    // A config whose teacher is not trained yet: refused, nothing trained.
    let fresh = tmp.path().join("runs-fresh");
    let o = dmd(
        &[
            "eval",
            "configs/moons-r4.toml",
            "--student",
            outside.to_str().unwrap(),
        ],
        &out,
        &fresh,
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("trains nothing") && err.contains("--teacher"),
        "{err}"
    );
    assert!(
        !fresh.exists()
            || stages(&fresh, "teacher-")
                .iter()
                .all(|t| !t.join("DONE.json").exists())
    );
}
