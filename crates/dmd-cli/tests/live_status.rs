//! The live console's source: a `dmd` process started with `DMD_STATUS_FILE` keeps its current
//! stage (and iteration, rate and ETA while training) in that file, typed, for the parent's view.

use std::path::Path;
use std::process::Command;

#[test]
fn a_run_reports_its_stages_to_the_status_file() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let tmp = tempfile::tempdir().unwrap();
    let status = tmp.path().join("job.status.json");
    let out = Command::new(env!("CARGO_BIN_EXE_dmd"))
        .args([
            "run",
            "configs/moons-r4.toml",
            "--profile",
            "smoke",
            "--out",
        ])
        .arg(tmp.path().join("out"))
        .arg("--runs")
        .arg(tmp.path().join("runs"))
        .current_dir(&root)
        .env("DMD_STATUS_FILE", &status)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let last: dmd_train::progress::LiveStatus =
        serde_json::from_slice(&std::fs::read(&status).unwrap()).unwrap();
    // the last stage of a run is its measurement
    assert!(last.stage.starts_with("measuring"), "{last:?}");
}
