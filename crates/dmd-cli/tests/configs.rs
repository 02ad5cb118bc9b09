//! Every shipped config loads under every profile, and every malformed fixture is rejected
//! with one line on stderr naming the problem and exit code 2.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn dmd(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_dmd"))
        .args(args)
        .current_dir(root())
        .env("RUST_LOG", "error")
        .output()
        .expect("dmd runs")
}

#[test]
fn shipped_configs_load_under_every_profile() {
    let mut configs: Vec<PathBuf> = std::fs::read_dir(root().join("configs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    configs.sort();
    assert!(
        configs.len() >= 9,
        "expected a config per experiment, found {configs:?}"
    );
    for profile in ["smoke", "cpu", "paper"] {
        let mut args = vec!["check", "--profile", profile];
        let paths: Vec<String> = configs.iter().map(|p| p.display().to_string()).collect();
        args.extend(paths.iter().map(String::as_str));
        let out = dmd(&args);
        assert!(
            out.status.success(),
            "profile {profile}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn malformed_configs_fail_with_one_line_and_exit_code_2() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bad");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 10);
    for f in files {
        let out = dmd(&["check", f.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{}: {stderr}", f.display());
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(
            lines.len(),
            1,
            "{}: expected one line, got {stderr}",
            f.display()
        );
        assert!(lines[0].starts_with("error: "), "{}: {stderr}", f.display());
    }
}

#[test]
fn set_overrides_are_checked_like_the_file() {
    let cfg = root().join("configs/chessboard-r4.toml");
    let cfg = cfg.to_str().unwrap();
    let ok = dmd(&["check", cfg, "--set", "teacher.iterations=123"]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let bad = dmd(&["check", cfg, "--set", "teacher.iterationz=123"]);
    assert_eq!(bad.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(stderr.contains("iterationz"), "{stderr}");
}

/// A conditional run whose blocks of seeds would hold no same-class pair (1000 classes, 16
/// seeds) is refused by `dmd check`, naming the key and the count that works.
#[test]
fn too_few_seeds_per_class_are_refused_before_any_compute() {
    let o = dmd(&[
        "check",
        "configs/imagenet64.toml",
        "--profile",
        "smoke",
        "--set",
        "data.num_classes=1000",
        "--set",
        "teacher.net.num_classes=1000",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("eval.n_samples") && err.contains("use at least 46"),
        "{err}"
    );
}
