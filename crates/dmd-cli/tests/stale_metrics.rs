//! A results folder reused with a changed config: the measurements are recomputed from the new
//! student, never read back from the old `metrics.json` (their `inputs` key names the sample
//! files, which are content-addressed, and the `[eval]` settings).

use std::path::Path;
use std::process::Command;

fn run(out: &Path, runs: &Path, iterations: u32) -> serde_json::Value {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let o = Command::new(env!("CARGO_BIN_EXE_dmd"))
        .args(["run", "configs/chessboard-r4.toml", "--profile", "smoke"])
        .arg("--set")
        .arg(format!("distill.iterations={iterations}"))
        .arg("--out")
        .arg(out)
        .arg("--runs")
        .arg(runs)
        .current_dir(&root)
        .output()
        .expect("dmd runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let dir = out.join("chessboard-r4");
    let snap = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("snapshot-"))
        })
        .expect("a snapshot folder");
    serde_json::from_str(&std::fs::read_to_string(snap.join("metrics.json")).unwrap()).unwrap()
}

#[test]
fn changed_student_is_measured_again_in_the_same_results_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let (out, runs) = (tmp.path().join("results"), tmp.path().join("runs"));
    let a = run(&out, &runs, 3);
    let b = run(&out, &runs, 12);
    assert_ne!(
        a["inputs"], b["inputs"],
        "a new student gives a new inputs key"
    );
    assert_ne!(
        a["metrics"]["pairing"]["student"]["delta_e"],
        b["metrics"]["pairing"]["student"]["delta_e"],
        "the measurements come from the new student, not the old metrics.json"
    );
    // The same config again reuses the measurements (same key, same values).
    let c = run(&out, &runs, 12);
    assert_eq!(b, c);
}
