//! Bad input and concurrency, end to end through the `dmd` binary: each case gets one clear
//! line and exit code 2 (never a panic or an abort), concurrent runs of one config never fail,
//! a results folder never mixes two runs, and a stage checkpoint of another network is named
//! with the fix.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn dmd(args: &[&str], out: &Path, runs: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dmd"))
        .args(args)
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

fn check(sets: &[&str]) -> Output {
    let mut args = vec!["check", "configs/chessboard-r4.toml", "--profile", "smoke"];
    for s in sets {
        args.extend(["--set", s]);
    }
    Command::new(env!("CARGO_BIN_EXE_dmd"))
        .args(&args)
        .current_dir(root())
        .output()
        .expect("dmd runs")
}

fn one_error_line(o: &Output) -> String {
    let err = String::from_utf8_lossy(&o.stderr).trim().to_string();
    assert_eq!(o.status.code(), Some(2), "exit code 2 expected:\n{err}");
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error")).collect();
    assert_eq!(lines.len(), 1, "one error line:\n{err}");
    err
}

const TINY: [&str; 4] = [
    "--set",
    "distill.iterations=4",
    "--set",
    "teacher.iterations=20",
];

fn run_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec!["run", "configs/chessboard-r4.toml", "--profile", "smoke"];
    a.extend(TINY);
    a.extend(extra);
    a
}

#[test]
fn sizes_that_cannot_fit_are_refused_before_any_compute() {
    for (set, key) in [
        ("eval.n_samples=1000000000000", "eval.n_samples"),
        ("eval.n_samples=200000", "eval.n_samples"),
        ("eval.n_pca=1000000000000", "eval.n_pca"),
        ("eval.n_pca=0", "eval.n_pca"),
        ("eval.n_memorisation=0", "eval.n_memorisation"),
        ("teacher.net.hidden=0", "teacher.net.hidden"),
    ] {
        let err = one_error_line(&check(&[set]));
        assert!(err.contains(&format!("key `{key}`")), "{set}: {err}");
        let tmp = tempfile::tempdir().unwrap();
        let o = dmd(
            &[
                "run",
                "configs/chessboard-r4.toml",
                "--profile",
                "smoke",
                "--set",
                set,
            ],
            &tmp.path().join("out"),
            &tmp.path().join("runs"),
        );
        let err = one_error_line(&o);
        assert!(err.contains(key), "run {set}: {err}");
        assert!(
            !tmp.path().join("runs").exists(),
            "{set}: nothing computed before the error"
        );
    }
}

#[test]
fn check_without_a_config_is_an_error() {
    let o = Command::new(env!("CARGO_BIN_EXE_dmd"))
        .arg("check")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn concurrent_runs_of_one_config_never_fail_and_agree() {
    let tmp = tempfile::tempdir().unwrap();
    let (out, runs) = (tmp.path().join("out"), tmp.path().join("runs"));
    let mut first: Option<String> = None;
    for round in 0..20 {
        let spawn = || {
            let mut c = Command::new(env!("CARGO_BIN_EXE_dmd"));
            c.args(run_args(&[]))
                .arg("--out")
                .arg(&out)
                .arg("--runs")
                .arg(&runs)
                .current_dir(root())
                .env("RUST_LOG", "warn")
                .env("DMD_THREADS", "1");
            c.spawn().unwrap()
        };
        let (a, b) = (spawn(), spawn());
        for child in [a, b] {
            let o = child.wait_with_output().unwrap();
            assert!(o.status.success(), "round {round}: {o:?}");
        }
        let metrics =
            std::fs::read_to_string(out.join("chessboard-r4/snapshot-000020/metrics.json"))
                .unwrap();
        match &first {
            None => first = Some(metrics),
            Some(f) => assert_eq!(f, &metrics, "round {round} measured something else"),
        }
        let leftovers: Vec<_> = std::fs::read_dir(&out)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with('.'))
            .collect();
        assert!(leftovers.is_empty(), "round {round}: {leftovers:?}");
    }
}

#[test]
fn a_new_run_replaces_the_results_folder_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let (out, runs) = (tmp.path().join("out"), tmp.path().join("runs"));
    let snaps = |from: &str| {
        let o = dmd(
            &run_args(&[
                "--set",
                "teacher.snapshots=[10]",
                "--set",
                &format!("distill_from={from}"),
            ]),
            &out,
            &runs,
        );
        assert!(o.status.success(), "{o:?}");
        let mut v: Vec<String> = std::fs::read_dir(out.join("chessboard-r4"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("snapshot-"))
            .collect();
        v.sort();
        v
    };
    assert_eq!(snaps("[10, 20]"), ["snapshot-000010", "snapshot-000020"]);
    assert_eq!(
        snaps("[20]"),
        ["snapshot-000020"],
        "no folder of the old run is left"
    );
}

#[test]
fn a_stage_checkpoint_of_another_network_names_the_file_and_the_fix() {
    let tmp = tempfile::tempdir().unwrap();
    let (out, runs) = (tmp.path().join("out"), tmp.path().join("runs"));
    let teacher_of = |extra: &[&str]| {
        let o = dmd(&run_args(extra), &out, &runs);
        assert!(o.status.success(), "{o:?}");
        let cfg: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(out.join("chessboard-r4/config.json")).unwrap(),
        )
        .unwrap();
        let hidden = cfg["teacher"]["net"]["hidden"].as_i64().unwrap();
        std::fs::read_dir(&runs)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("teacher-")
                    && std::fs::read_to_string(p.join("key.json"))
                        .unwrap()
                        .contains(&format!("\"hidden\": {hidden}"))
            })
            .map(|p| p.join("teacher.safetensors"))
            .next()
            .unwrap()
    };
    let ours = teacher_of(&[]);
    let other = teacher_of(&["--set", "teacher.net.hidden=16"]);
    std::fs::copy(&other, &ours).unwrap();
    let err = one_error_line(&dmd(&run_args(&[]), &out, &runs));
    assert!(err.contains(&ours.display().to_string()), "{err}");
    assert!(
        err.contains("different network") && err.contains("delete"),
        "{err}"
    );
}
