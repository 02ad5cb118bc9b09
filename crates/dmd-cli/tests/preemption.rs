//! Preemption: SIGUSR1 (Slurm's `--signal=B:USR1@120` warning) or SIGTERM while a student
//! trains makes `dmd` write the student's state and exit with the interrupted code; the rerun
//! (a requeued Slurm task) resumes from it, and its results equal an uninterrupted run's bit for
//! bit: the generator's weights and every measurement.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

const ARGS: [&str; 8] = [
    "--profile",
    "smoke",
    "--set",
    "distill.iterations=4000",
    "--set",
    "distill.checkpoint_every=100000",
    "--set",
    "eval.trajectory_points=8",
];

fn dmd(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_dmd"));
    c.arg("run")
        .arg("configs/moons-r4.toml")
        .args(ARGS)
        .arg("--out")
        .arg(dir.join("results"))
        .arg("--runs")
        .arg(dir.join("stages"))
        .current_dir(root())
        .env("RUST_LOG", "warn")
        .env("DMD_THREADS", "1");
    c
}

/// The student stage folder of a store.
fn student_dir(dir: &Path) -> Option<PathBuf> {
    std::fs::read_dir(dir.join("stages"))
        .ok()?
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("student-")
        })
}

fn lines(p: &Path) -> usize {
    std::fs::read_to_string(p).map_or(0, |t| t.lines().count())
}

/// Waits until the student has logged `n` iterations, then signals the process.
fn signal_after(child: &mut Child, dir: &Path, n: usize, signal: &str) {
    let start = Instant::now();
    loop {
        if let Some(s) = student_dir(dir)
            && lines(&s.join("metrics.jsonl")) >= n
        {
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before it could be signalled"
        );
        assert!(start.elapsed() < Duration::from_secs(300), "no progress");
        std::thread::sleep(Duration::from_millis(20));
    }
    let ok = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(child.id().to_string())
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{signal} failed");
}

fn snapshot_file(dir: &Path, name: &str) -> Vec<u8> {
    let res = dir.join("results").join("moons-r4");
    let snap = std::fs::read_dir(&res)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("snapshot-")
        })
        .expect("a snapshot folder");
    std::fs::read(snap.join(name)).unwrap()
}

fn measurements(dir: &Path) -> serde_json::Value {
    let mut v: serde_json::Value =
        serde_json::from_slice(&snapshot_file(dir, "metrics.json")).unwrap();
    // where the inputs were read from differs between the two stores
    v.as_object_mut().unwrap().remove("inputs");
    v
}

#[test]
fn a_signalled_run_checkpoints_and_its_rerun_equals_an_uninterrupted_one() {
    let tmp = tempfile::tempdir().unwrap();
    let (straight, cut) = (tmp.path().join("straight"), tmp.path().join("cut"));
    let out = dmd(&straight).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    for (signal, after) in [("USR1", 600), ("TERM", 2500)] {
        let mut child = dmd(&cut).spawn().unwrap();
        signal_after(&mut child, &cut, after, signal);
        let status = child.wait().unwrap();
        assert_eq!(
            status.code(),
            Some(dmd_study::jobs::EXIT_INTERRUPTED),
            "SIGTERM/SIGUSR1 must exit with the interrupted code"
        );
        let s = student_dir(&cut).unwrap();
        assert!(s.join("state.safetensors").is_file());
        assert!(!s.join("DONE.json").exists());
    }
    let out = dmd(&cut).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let (a, b) = (student_dir(&straight).unwrap(), student_dir(&cut).unwrap());
    for f in ["generator.safetensors", "fake.safetensors"] {
        assert!(
            std::fs::read(a.join(f)).unwrap() == std::fs::read(b.join(f)).unwrap(),
            "{f} differs from the uninterrupted run's"
        );
    }
    let strip = |t: &str| -> Vec<serde_json::Value> {
        t.lines()
            .map(|l| {
                let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
                let m = v.as_object_mut().unwrap();
                m.remove("wall_s");
                m.remove("probe_s");
                v
            })
            .collect()
    };
    for f in ["metrics.jsonl", "trajectory.jsonl"] {
        let read = |d: &Path| strip(&std::fs::read_to_string(d.join(f)).unwrap());
        assert_eq!(
            read(&a),
            read(&b),
            "{f} differs from the uninterrupted run's"
        );
    }
    assert_eq!(measurements(&straight), measurements(&cut));
}
