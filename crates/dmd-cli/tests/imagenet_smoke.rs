//! `configs/imagenet64.toml` end to end at the smoke profile on a synthetic 64x64x3 uint8 set
//! with an imported random teacher (EDM names, no metadata, through `dmd import`), and the
//! memory of streamed `.npy` data: a set 10x larger costs the same peak memory, where loading
//! it as f32 would add 4 bytes per pixel.

use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `imagenet64/train_x.npy` (uint8 `[n, 3, 64, 64]`) and `train_y.npy` (int64 labels in
/// `0..4`, the smoke profile's classes).
fn write_set(data: &Path, n: usize) {
    let dir = data.join("imagenet64");
    std::fs::create_dir_all(&dir).unwrap();
    let header = |dict: String| {
        let mut h = dict.into_bytes();
        while !(10 + h.len() + 1).is_multiple_of(64) {
            h.push(b' ');
        }
        h.push(b'\n');
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend_from_slice(&(h.len() as u16).to_le_bytes());
        out.extend_from_slice(&h);
        out
    };
    let mut x = header(format!(
        "{{'descr': '|u1', 'fortran_order': False, 'shape': ({n}, 3, 64, 64), }}"
    ));
    let mut state = 0x2545_f491_4f6c_dd1du64;
    x.extend((0..n * 3 * 64 * 64).map(|_| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 56) as u8
    }));
    std::fs::write(dir.join("train_x.npy"), x).unwrap();
    let mut y = header(format!(
        "{{'descr': '<i8', 'fortran_order': False, 'shape': ({n},), }}"
    ));
    y.extend((0..n as i64).flat_map(|i| (i * 37 % 4).to_le_bytes()));
    std::fs::write(dir.join("train_y.npy"), y).unwrap();
}

/// A random teacher of the smoke network saved under EDM's names without any metadata (as an
/// export from PyTorch would be), then imported with `dmd import`.
fn import_random_teacher(data: &Path, tmp: &Path) {
    let cfg = dmd_study::config::ExperimentConfig::load(
        &root().join("configs/imagenet64.toml"),
        "smoke",
        &[],
    )
    .unwrap();
    tch::manual_seed(0);
    let den = dmd_nets::Denoiser::new(&cfg.teacher.net, tch::Device::Cpu).unwrap();
    let with_meta = tmp.join("random.safetensors");
    den.save(&with_meta).unwrap();
    let bytes = std::fs::read(&with_meta).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let bare = tmp.join("edm-export.safetensors");
    safetensors::serialize_to_file(st.tensors(), None::<HashMap<String, String>>, &bare).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_dmd"))
        .arg("import")
        .arg(&bare)
        .args([
            "--config",
            "configs/imagenet64.toml",
            "--profile",
            "smoke",
            "-o",
        ])
        .arg(data.join("imagenet64/teacher.safetensors"))
        .current_dir(root())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// Runs the smoke ImageNet-64 experiment on `n` images; returns the run's peak memory in MiB.
fn run(n: usize) -> f64 {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    write_set(&data, n);
    import_random_teacher(&data, tmp.path());
    let out = tmp.path().join("results");
    let o = Command::new(env!("CARGO_BIN_EXE_dmd"))
        .args([
            "run",
            "configs/imagenet64.toml",
            "--profile",
            "smoke",
            "--out",
        ])
        .arg(&out)
        .arg("--runs")
        .arg(tmp.path().join("runs"))
        .current_dir(root())
        .env("DMD_DATA", &data)
        .env("DMD_THREADS", "1")
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "imagenet64 smoke run failed:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let summary: Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("imagenet64/summary.json")).unwrap(),
    )
    .unwrap();
    assert!(out.join("imagenet64/REPORT.md").exists() || out.join("imagenet64/figures").is_dir());
    summary["peak_rss_mib"]
        .as_f64()
        .expect("peak memory recorded")
}

#[test]
fn imagenet64_smoke_runs_and_memory_does_not_grow_with_the_set() {
    let (small, large) = (256, 2560);
    let peak_small = run(small);
    let peak_large = run(large);
    // 2304 more images are 28 MiB as uint8 and 108 MiB as f32 (twice that while converting).
    let f32_cost = (large - small) as f64 * 3.0 * 64.0 * 64.0 * 4.0 / (1 << 20) as f64;
    eprintln!(
        "peak memory: {peak_small:.0} MiB with {small} images, {peak_large:.0} MiB with {large} \
         (in f32 the extra images alone would be {f32_cost:.0} MiB)"
    );
    assert!(
        peak_large - peak_small < 0.25 * f32_cost,
        "peak memory grew from {peak_small:.0} to {peak_large:.0} MiB"
    );
}
