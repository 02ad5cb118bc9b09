//! The Slurm backend's bad input, without a cluster: no `sbatch` on PATH, and a sweep file
//! edited after submission (tasks and the gather job refuse it), each one line naming the fix
//! with a non-zero exit. (The real cluster runs in CI: scripts/ci-slurm.sh.)

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn dmd(args: &[&str], path: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dmd"))
        .args(args)
        .current_dir(root())
        .env("PATH", path)
        .env("RUST_LOG", "warn")
        .output()
        .expect("dmd runs")
}

fn one_error_line(o: &Output) -> String {
    assert!(!o.status.success(), "should have failed");
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(lines.len(), 1, "{err}");
    lines[0].to_string()
}

#[test]
fn no_sbatch_on_path_is_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let o = dmd(
        &[
            "sweep",
            "configs/sweeps/lr-ladder-vectors.toml",
            "--profile",
            "smoke",
            "--backend",
            "slurm",
            "--out",
            out.to_str().unwrap(),
        ],
        "/nonexistent",
    );
    let line = one_error_line(&o);
    assert!(
        line.contains("sbatch is not on PATH") && line.contains("--backend local"),
        "{line}"
    );
}

#[test]
fn a_sweep_file_edited_after_submission_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let sweep = tmp.path().join("ladder.toml");
    let text = std::fs::read_to_string(root().join("configs/sweeps/lr-ladder-vectors.toml"))
        .unwrap()
        .replace(
            "experiment = \"../chessboard-r4.toml\"",
            &format!(
                "experiment = \"{}\"",
                root().join("configs/chessboard-r4.toml").display()
            ),
        );
    std::fs::write(&sweep, &text).unwrap();
    let out = tmp.path().join("out");
    std::fs::create_dir_all(out.join("slurm")).unwrap();
    // what a submission of the file as it was records
    let sha = dmd_study::store::file_sha256(&sweep).unwrap();
    let sub = dmd_study::sweep::slurm::Submission {
        sweep: sweep.clone(),
        sweep_sha256: sha,
        profile: "smoke".into(),
        jobs: dmd_study::sweep::slurm::JobIds {
            prepare: "1".into(),
            array: "2".into(),
            gather: "3".into(),
        },
        tasks: vec![],
        slurm: Default::default(),
    };
    std::fs::write(
        out.join("slurm/submission.json"),
        serde_json::to_string(&sub).unwrap(),
    )
    .unwrap();
    std::fs::write(
        &sweep,
        text.replace("values = [0, 1, 2]", "values = [0, 1]"),
    )
    .unwrap();
    let path = std::env::var("PATH").unwrap_or_default();
    for extra in [["--task", "0"], ["--gather-only", "--profile"]] {
        let mut args = vec![
            "sweep",
            sweep.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend(extra);
        if extra[1] == "--profile" {
            args.push("smoke");
        } else {
            args.extend(["--profile", "smoke"]);
        }
        let line = one_error_line(&dmd(&args, &path));
        assert!(
            line.contains("changed since it was submitted") && line.contains("--backend slurm"),
            "{line}"
        );
    }
}
