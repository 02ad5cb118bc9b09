//! `dmd sweep --profile smoke` end to end: every point runs (tiny), the table has a row per
//! point and a cell per grid value with an interval over seeds, the figures are drawn, and a
//! rerun after losing a point runs only that point; `dmd report` shows the sweep.

use std::path::Path;
use std::process::Command;

fn sweep(out: &Path, runs: &Path) -> std::process::Output {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    Command::new(env!("CARGO_BIN_EXE_dmd"))
        .args([
            "sweep",
            "configs/sweeps/ambient-dim.toml",
            "--profile",
            "smoke",
            "--out",
        ])
        .arg(out)
        .arg("--runs")
        .arg(runs)
        .current_dir(&root)
        .output()
        .expect("dmd runs")
}

#[test]
fn smoke_sweep_gathers_every_point_and_reruns_only_missing_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let results = tmp.path().join("results");
    let (out, runs) = (
        results.join("sweeps").join("ambient-dim"),
        tmp.path().join("runs"),
    );
    let first = sweep(&out, &runs);
    let stdout = String::from_utf8_lossy(&first.stdout).into_owned();
    assert!(
        first.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(stdout.contains("4 point(s), 4 to run"), "{stdout}");

    let points = std::fs::read_to_string(out.join("points.csv")).unwrap();
    assert_eq!(points.lines().count(), 1 + 4, "{points}");
    assert!(
        points.starts_with("point,D,seed,snapshot,delta_e"),
        "{points}"
    );
    let summary = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    let cells: Vec<&str> = summary.lines().skip(1).collect();
    assert_eq!(cells.len(), 2, "one cell per D:\n{summary}");
    for c in &cells {
        let f: Vec<&str> = c.split(',').collect();
        assert_eq!(f[2], "2", "two seeds per cell: {c}");
        let (mean, lo, hi): (f64, f64, f64) = (
            f[4].parse().unwrap(),
            f[6].parse().unwrap(),
            f[7].parse().unwrap(),
        );
        assert!(lo <= mean && mean <= hi, "interval around the mean: {c}");
    }
    let md = std::fs::read_to_string(out.join("SWEEP.md")).unwrap();
    for fig in ["delta_e", "delta_e_fine", "copy_score", "copy_score_fine"] {
        let p = out.join("figures").join(format!("{fig}.png"));
        assert!(
            p.metadata().unwrap().len() > 1000,
            "{} too small",
            p.display()
        );
        assert!(md.contains(&format!("figures/{fig}.png")), "{md}");
    }

    // Lose one point (as if its job had been killed): the rerun runs only that one.
    let lost = out.join("points").join("D-8_seed-1");
    std::fs::remove_dir_all(&lost).unwrap();
    let kept_log = out.join("logs").join("D-2_seed-0.log");
    let kept_len = std::fs::metadata(&kept_log).unwrap().len();
    let second = sweep(&out, &runs);
    let stdout = String::from_utf8_lossy(&second.stdout);
    assert!(second.status.success(), "{stdout}");
    assert!(stdout.contains("4 point(s), 1 to run"), "{stdout}");
    assert!(stdout.contains("D-8_seed-1: done"), "{stdout}");
    assert_eq!(
        std::fs::metadata(&kept_log).unwrap().len(),
        kept_len,
        "a finished point ran again"
    );
    assert!(lost.join("POINT.json").is_file());
    assert_eq!(
        std::fs::read_to_string(out.join("points.csv"))
            .unwrap()
            .lines()
            .count(),
        5
    );

    // The report of the results folder holding the sweep has a section for it.
    let report = Command::new(env!("CARGO_BIN_EXE_dmd"))
        .args(["report", "--out"])
        .arg(&results)
        .output()
        .unwrap();
    assert!(report.status.success(), "{report:?}");
    let md = std::fs::read_to_string(results.join("REPORT.md")).unwrap();
    assert!(md.contains("## Sweeps (beyond the paper)"), "{md}");
    assert!(md.contains("### ambient-dim"), "{md}");
    assert!(
        md.contains("(sweeps/ambient-dim/figures/delta_e.png)"),
        "{md}"
    );
}
