//! Teacher training on a tiny toy set: the loss falls, snapshots appear at the listed
//! iterations, and a stopped run resumes to the same weights as an uninterrupted one.

use std::sync::{Mutex, MutexGuard};

use dmd_nets::denoiser::Denoiser;
use dmd_nets::mlp::MlpConfig;
use dmd_nets::net::NetConfig;
use dmd_train::{TeacherConfig, TrainData, train_teacher};
use ndarray::Array2;
use tch::Device;

/// The tests of this binary run on parallel threads, and training reseeds and draws from
/// libtorch's one global generator: each test holds this lock, so another test's draws cannot
/// fall between a reseed and the draws that follow it (which the exact-resume checks compare).
static RNG: Mutex<()> = Mutex::new(());

fn rng_lock() -> MutexGuard<'static, ()> {
    RNG.lock().unwrap_or_else(|e| e.into_inner())
}

fn data() -> TrainData {
    // two clusters in R^2 at (+-1, 0.5)
    let x = Array2::from_shape_fn((256, 2), |(i, j)| {
        let sign = if i % 2 == 0 { 1.0 } else { -1.0 };
        let jitter = ((i * 7 + j * 13) % 17) as f32 / 170.0;
        if j == 0 { sign + jitter } else { 0.5 - jitter }
    });
    TrainData::new(x, None, vec![2]).unwrap()
}

fn cfg(iterations: u64) -> TeacherConfig {
    TeacherConfig {
        iterations,
        batch_size: 128,
        lr_rampup_iters: 5,
        snapshots: vec![4, 8],
        checkpoint_every: 3,
        progress: false,
        device: dmd_nets::device::DeviceChoice::Cpu,
        ..TeacherConfig::new(NetConfig::Mlp(MlpConfig {
            hidden: 32,
            layers: 2,
            fourier_dim: 8,
            dropout: 0.1,
            ..MlpConfig::new(2)
        }))
    }
}

#[test]
fn teacher_trains_snapshots_and_resumes_exactly() {
    let _rng = rng_lock();
    let d = data();
    let dir = tempfile::tempdir().unwrap();
    let a = train_teacher(&cfg(10), &d, &dir.path().join("a")).unwrap();
    assert_eq!(a.iterations, 10);
    assert_eq!(
        a.snapshots.iter().map(|s| s.0).collect::<Vec<_>>(),
        vec![4, 8]
    );
    for (_, p) in &a.snapshots {
        Denoiser::load(p, Device::Cpu).unwrap();
    }
    let log = std::fs::read_to_string(&a.metrics_path).unwrap();
    assert_eq!(log.lines().count(), 10);

    let b1 = train_teacher(&cfg(5), &d, &dir.path().join("b")).unwrap();
    assert_eq!(b1.iterations, 5);
    let b = train_teacher(&cfg(10), &d, &dir.path().join("b")).unwrap();
    assert_eq!(b.resumed_from, Some(5));
    let ta = Denoiser::load(&a.teacher_path, Device::Cpu).unwrap();
    let tb = Denoiser::load(&b.teacher_path, Device::Cpu).unwrap();
    let va = ta.vs.variables();
    for (name, t) in tb.vs.variables() {
        assert!(va[&name].equal(&t), "{name} differs after resume");
    }
}

#[test]
fn teacher_loss_falls() {
    let _rng = rng_lock();
    let d = data();
    let dir = tempfile::tempdir().unwrap();
    let c = TeacherConfig {
        snapshots: vec![],
        ema: None,
        lr: 3e-3,
        ..cfg(300)
    };
    let out = train_teacher(&c, &d, dir.path()).unwrap();
    let losses: Vec<f64> = std::fs::read_to_string(&out.metrics_path)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["loss"]
                .as_f64()
                .unwrap()
        })
        .collect();
    let first: f64 = losses[..30].iter().sum::<f64>() / 30.0;
    let last: f64 = losses[270..].iter().sum::<f64>() / 30.0;
    assert!(last < 0.7 * first, "loss did not fall: {first} -> {last}");
}

#[test]
fn mismatched_data_is_a_typed_error() {
    let _rng = rng_lock();
    let x = Array2::<f32>::zeros((4, 3));
    let d = TrainData::new(x, None, vec![3]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        train_teacher(&cfg(2), &d, dir.path()),
        Err(dmd_train::TrainError::Data(_))
    ));
}
