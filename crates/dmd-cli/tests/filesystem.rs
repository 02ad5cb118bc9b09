//! The file system against the run, end to end through the `dmd` binary: a read-only stage
//! store serves a fully cached run, an unwritable results folder is refused before any compute,
//! a full disk fails cleanly (one line, no `*.tmp` left, the last results kept whole), the data
//! files a config names are checked by `dmd check`, and the thread count keys the stages.
//!
//! Permissions do not bind root, so when the tests run as root the `dmd` children run as
//! `nobody` (uid/gid 65534) over folders handed to that user.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The uid the children run as: ours, or `nobody` when we are root.
fn child_uid(tmp: &Path) -> Option<u32> {
    let probe = tmp.join(".uid-probe");
    std::fs::write(&probe, b"").unwrap();
    let uid = std::fs::metadata(&probe).unwrap().uid();
    std::fs::remove_file(&probe).unwrap();
    (uid == 0).then_some(65534)
}

/// A temporary folder the child user owns.
fn scratch() -> (tempfile::TempDir, Option<u32>) {
    let tmp = tempfile::tempdir().unwrap();
    let uid = child_uid(tmp.path());
    if let Some(u) = uid {
        std::os::unix::fs::chown(tmp.path(), Some(u), Some(u)).unwrap();
    }
    (tmp, uid)
}

/// `dmd run` of the tiny chessboard config with `extra` arguments, one thread; `shell_prefix`
/// runs it under `sh -c` (for `ulimit`).
fn run(uid: Option<u32>, out: &Path, runs: &Path, extra: &[&str], shell_prefix: &str) -> Output {
    command(uid, out, runs, extra, shell_prefix)
        .output()
        .expect("dmd runs")
}

/// The [`run`] command, not started.
fn command(
    uid: Option<u32>,
    out: &Path,
    runs: &Path,
    extra: &[&str],
    shell_prefix: &str,
) -> Command {
    let mut args: Vec<String> = [
        "run",
        "configs/chessboard-r4.toml",
        "--profile",
        "smoke",
        "--set",
        "teacher.iterations=20",
        "--set",
        "distill.iterations=4",
        "--out",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.push(out.display().to_string());
    args.push("--runs".into());
    args.push(runs.display().to_string());
    args.extend(extra.iter().map(|s| s.to_string()));
    let bin = env!("CARGO_BIN_EXE_dmd");
    let mut c = if shell_prefix.is_empty() {
        let mut c = Command::new(bin);
        c.args(&args);
        c
    } else {
        let mut c = Command::new("sh");
        c.arg("-c")
            .arg(format!("{shell_prefix}; exec \"$0\" \"$@\""))
            .arg(bin)
            .args(&args);
        c
    };
    c.current_dir(root())
        .env("RUST_LOG", "warn")
        .env("DMD_THREADS", "1");
    if let Some(u) = uid {
        c.uid(u).gid(u);
    }
    c
}

fn error_line(o: &Output) -> String {
    let err = String::from_utf8_lossy(&o.stderr).trim().to_string();
    assert!(!o.status.success(), "the run should fail:\n{err}");
    assert_ne!(o.status.code(), Some(101), "a panic:\n{err}");
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error")).collect();
    assert_eq!(lines.len(), 1, "one error line:\n{err}");
    lines[0].to_string()
}

/// Every file under `dir`, relative, with its size and modification time.
fn listing(dir: &Path) -> Vec<(PathBuf, u64, i64, i64)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let m = e.metadata().unwrap();
            if m.is_dir() {
                stack.push(e.path());
            }
            let rel = e.path().strip_prefix(dir).unwrap().to_path_buf();
            out.push((rel, m.len(), m.mtime(), m.mtime_nsec()));
        }
    }
    out.sort();
    out
}

/// Sets `mode` on every file and `dir_mode` on every folder under (and including) `dir`.
fn chmod_tree(dir: &Path, dir_mode: u32, mode: u32) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.metadata().unwrap().is_dir() {
            chmod_tree(&e.path(), dir_mode, mode);
        } else {
            std::fs::set_permissions(e.path(), std::fs::Permissions::from_mode(mode)).unwrap();
        }
    }
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(dir_mode)).unwrap();
}

const METRICS: &str = "chessboard-r4/snapshot-000020/metrics.json";

#[test]
fn a_read_only_stage_store_serves_a_fully_cached_run() {
    let (tmp, uid) = scratch();
    let runs = tmp.path().join("runs");
    let first = run(uid, &tmp.path().join("out1"), &runs, &[], "");
    assert!(first.status.success(), "{first:?}");
    let before = listing(&runs);
    chmod_tree(&runs, 0o555, 0o444);
    let second = run(uid, &tmp.path().join("out2"), &runs, &[], "");
    chmod_tree(&runs, 0o755, 0o644);
    assert!(
        second.status.success(),
        "a cached run must not need to write the store: {}",
        String::from_utf8_lossy(&second.stderr)
    );
    assert_eq!(before, listing(&runs), "nothing in the store was touched");
    let read = |out: &str| std::fs::read_to_string(tmp.path().join(out).join(METRICS)).unwrap();
    assert_eq!(read("out1"), read("out2"));
}

#[test]
fn an_unwritable_results_folder_is_refused_before_any_compute() {
    let (tmp, uid) = scratch();
    let (out, runs) = (tmp.path().join("out"), tmp.path().join("runs"));
    std::fs::create_dir(&out).unwrap();
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o555)).unwrap();
    let line = error_line(&run(uid, &out, &runs, &[], ""));
    assert!(line.contains(&out.display().to_string()), "{line}");
    assert!(
        !runs.exists() || std::fs::read_dir(&runs).unwrap().next().is_none(),
        "no stage was computed: {line}"
    );
}

#[test]
fn a_full_disk_fails_cleanly_and_keeps_the_last_results() {
    let (tmp, uid) = scratch();
    let (out, runs) = (tmp.path().join("out"), tmp.path().join("runs"));
    let first = run(uid, &out, &runs, &[], "");
    assert!(first.status.success(), "{first:?}");
    let results_before = listing(&out.join("chessboard-r4"));
    let metrics_before = std::fs::read(out.join(METRICS)).unwrap();
    // A new student (its stages are not cached) with every file capped at 8 KiB: writes past
    // the cap fail with EFBIG, as they would with ENOSPC on a full disk.
    let full = run(
        uid,
        &out,
        &runs,
        &["--set", "distill.lr_generator=0.0002"],
        "trap '' XFSZ; ulimit -f 8",
    );
    let line = error_line(&full);
    assert!(
        line.contains(&tmp.path().display().to_string())
            && !line.contains(".tmp.")
            && line.contains("free disk space"),
        "names the destination, not a temporary file: {line}"
    );
    assert_eq!(
        results_before,
        listing(&out.join("chessboard-r4")),
        "the last results are kept whole: {line}"
    );
    assert_eq!(metrics_before, std::fs::read(out.join(METRICS)).unwrap());
    let leftovers: Vec<PathBuf> = [&out, &runs]
        .iter()
        .flat_map(|d| listing(d))
        .map(|(p, ..)| p)
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.ends_with(".tmp") || name.contains(".partial-")
        })
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let again = run(
        uid,
        &out,
        &runs,
        &["--set", "distill.lr_generator=0.0002"],
        "",
    );
    assert!(
        again.status.success(),
        "the rerun after freeing space succeeds: {}",
        String::from_utf8_lossy(&again.stderr)
    );
}

#[test]
fn the_thread_count_keys_the_stages_it_changes() {
    let (tmp, uid) = scratch();
    let runs = tmp.path().join("runs");
    for threads in ["1", "2"] {
        let o = command(
            uid,
            &tmp.path().join(format!("out{threads}")),
            &runs,
            &[],
            "",
        )
        .env("DMD_THREADS", threads)
        .output()
        .unwrap();
        assert!(o.status.success(), "{o:?}");
    }
    let teachers: Vec<String> = std::fs::read_dir(&runs)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("teacher-"))
        .collect();
    assert_eq!(
        teachers.len(),
        2,
        "one teacher per thread count: {teachers:?}"
    );
}

/// `dmd check` of `config` with `--set` pairs, from the repository root.
fn check(config: &str, sets: &[String]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_dmd"));
    c.args(["check", config]);
    for s in sets {
        c.args(["--set", s]);
    }
    c.current_dir(root()).output().expect("dmd runs")
}

#[test]
fn check_verifies_the_data_files_a_config_names() {
    let tmp = tempfile::tempdir().unwrap();
    // An .npy dataset: missing, then of another shape than the config says.
    let npy = tmp.path().join("x.npy");
    let npy_sets = |d: usize| {
        vec![
            format!(
                "data={{ name = \"npy\", path = \"{}\", shape = [{d}] }}",
                npy.display()
            ),
            format!("teacher.net.dim={d}"),
        ]
    };
    let line = error_line(&check("configs/chessboard-r4.toml", &npy_sets(4)));
    assert!(line.contains("x.npy") && line.contains("`data`"), "{line}");
    dmd_data::write_npy_f32(&npy, &[10, 3], &[0.0; 30]).unwrap();
    let line = error_line(&check("configs/chessboard-r4.toml", &npy_sets(4)));
    assert!(line.contains("[3]") && line.contains("[4]"), "{line}");
    let line = error_line(&check("configs/chessboard-r4.toml", &npy_sets(3)));
    assert!(
        line.contains("`n_train`") && line.contains("hold 10"),
        "{line}"
    );

    // MNIST with one flipped byte: refused by md5, naming the file and the fix.
    let src = dmd_data::paths::default_data_dir().join("mnist");
    let dir = tmp.path().join("mnist");
    std::fs::create_dir(&dir).unwrap();
    for name in ["train-images.idx3-ubyte", "train-labels.idx1-ubyte"] {
        std::fs::copy(src.join(name), dir.join(name)).expect("MNIST installed (cargo xtask setup)");
    }
    let dir_set = format!("data.dir=\"{}\"", dir.display());
    let ok = check("configs/mnist-uncond.toml", std::slice::from_ref(&dir_set));
    assert!(ok.status.success(), "{ok:?}");
    let images = dir.join("train-images.idx3-ubyte");
    let mut bytes = std::fs::read(&images).unwrap();
    bytes[20_000] ^= 1;
    std::fs::write(&images, bytes).unwrap();
    let line = error_line(&check("configs/mnist-uncond.toml", &[dir_set]));
    assert!(
        line.contains("md5") && line.contains("train-images") && line.contains("xtask setup"),
        "{line}"
    );
}

#[test]
fn an_npy_dataset_replaced_at_the_same_path_is_new_data() {
    let (tmp, uid) = scratch();
    let (out, runs) = (tmp.path().join("out"), tmp.path().join("runs"));
    let npy = tmp.path().join("points.npy");
    let data_set = format!(
        "data={{ name = \"npy\", path = \"{}\", shape = [4] }}",
        npy.display()
    );
    let teachers = || -> Vec<String> {
        std::fs::read_dir(&runs)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("teacher-"))
            .collect()
    };
    for (round, scale) in [(1, 1.0f32), (2, 2.0)] {
        let values: Vec<f32> = (0..600 * 4)
            .map(|i| scale * ((i % 97) as f32 / 97.0 - 0.5))
            .collect();
        dmd_data::write_npy_f32(&npy, &[600, 4], &values).unwrap();
        if let Some(u) = uid {
            std::os::unix::fs::chown(&npy, Some(u), Some(u)).unwrap();
        }
        let o = run(
            uid,
            &out,
            &runs,
            &["--set", &data_set, "--set", "n_train=500"],
            "",
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(teachers().len(), round, "round {round}: {:?}", teachers());
    }
}
