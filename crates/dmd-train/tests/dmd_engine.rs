//! End-to-end checks of the DMD engine on CPU: convergence on a closed-form teacher (and its
//! failure without generator updates), exact resume, the update ratio and sigma range,
//! initialisation at Phi_1, and a NaN in the teacher stopping the run.

use std::cell::Cell;
use std::sync::{Mutex, MutexGuard};

use dmd_nets::denoiser::Denoiser;
use dmd_nets::mlp::MlpConfig;
use dmd_nets::net::NetConfig;
use dmd_train::{
    DistillConfig, DmdEngine, GaussianTeacher, ScoreModel, StudentInit, TrainError, distill,
};
use tch::{Device, Kind, Tensor};

/// The tests of this binary run on parallel threads, and training reseeds and draws from
/// libtorch's one global generator: each test holds this lock, so another test's draws cannot
/// fall between a reseed and the draws that follow it (which the exact-resume checks compare).
static RNG: Mutex<()> = Mutex::new(());

fn rng_lock() -> MutexGuard<'static, ()> {
    RNG.lock().unwrap_or_else(|e| e.into_inner())
}

fn small_mlp(dim: i64) -> NetConfig {
    NetConfig::Mlp(MlpConfig {
        hidden: 64,
        layers: 2,
        fourier_dim: 16,
        ..MlpConfig::new(dim)
    })
}

fn teacher() -> GaussianTeacher {
    GaussianTeacher::new(&[1.0, -0.5], &[vec![0.5, 0.2], vec![0.2, 0.3]], Device::Cpu).unwrap()
}

fn toy_cfg(iterations: u64) -> DistillConfig {
    DistillConfig {
        iterations,
        batch_size: 256,
        lr_generator: 1e-3,
        lr_fake: 1e-3,
        warmup_iters: 50,
        init: StudentInit::Fresh { net: small_mlp(2) },
        progress: false,
        ..DistillConfig::default()
    }
}

/// Mean and covariance of `[N, 2]` samples.
fn moments(x: &Tensor) -> (Vec<f64>, Vec<f64>) {
    let m = Vec::<f64>::try_from(x.mean_dim([0i64].as_slice(), false, Kind::Double)).unwrap();
    let c = x
        .to_kind(Kind::Double)
        .tr()
        .cov(1, None::<Tensor>, None::<Tensor>)
        .reshape([-1]);
    (m, Vec::<f64>::try_from(c).unwrap())
}

/// Max abs error of (mean, cov) of the student's samples against the Gaussian teacher.
fn moment_error(engine: &DmdEngine) -> (f64, f64) {
    tch::manual_seed(12345);
    let z = Tensor::randn([8192, 2], (Kind::Float, Device::Cpu));
    let (m, c) = moments(&engine.generate(&z, None));
    let t = teacher();
    let me = m
        .iter()
        .zip(t.mean())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    let want = [t.cov()[0][0], t.cov()[0][1], t.cov()[1][0], t.cov()[1][1]];
    let ce = c
        .iter()
        .zip(want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    (me, ce)
}

/// Tolerances: mean within 0.1, covariance entries within 0.1 (the target has variances 0.5
/// and 0.3); the untrained generator misses by far more.
#[test]
fn dmd_matches_a_gaussian_teacher_and_fails_without_generator_updates() {
    let _rng = rng_lock();
    let t = teacher();
    let iters = 1200;
    let mut trained = DmdEngine::new(&toy_cfg(iters), &t, None).unwrap();
    for _ in 0..iters {
        trained.iteration().unwrap();
    }
    let (me, ce) = moment_error(&trained);
    eprintln!("trained: mean err {me:.4}, cov err {ce:.4}");
    assert!(
        me < 0.1 && ce < 0.1,
        "DMD did not match the teacher: mean err {me}, cov err {ce}"
    );

    // the control: generator updated only at iteration 0, where the warm-up lr is 0
    let frozen_cfg = DistillConfig {
        update_ratio: iters + 1,
        ..toy_cfg(iters)
    };
    let mut frozen = DmdEngine::new(&frozen_cfg, &t, None).unwrap();
    for _ in 0..50 {
        frozen.iteration().unwrap();
    }
    let (me0, ce0) = moment_error(&frozen);
    eprintln!("no generator updates: mean err {me0:.4}, cov err {ce0:.4}");
    assert!(
        me0 >= 0.1 || ce0 >= 0.1,
        "control unexpectedly matched the teacher"
    );
}

/// Counts: generator updates = ceil(N / ratio), fake every iteration; DM indices only in
/// 20..=980 and both ends hit; fake indices over the full grid.
#[test]
fn update_ratio_and_dm_sigma_range_are_honoured() {
    let _rng = rng_lock();
    let t = teacher();
    let cfg = DistillConfig {
        batch_size: 512,
        ..toy_cfg(23)
    };
    let mut e = DmdEngine::new(&cfg, &t, None).unwrap();
    let mut gen_iters = Vec::new();
    for _ in 0..23 {
        let r = e.iteration().unwrap();
        if r.generator_step {
            gen_iters.push(r.iteration);
            assert!(r.dm_loss.is_some() && r.generator_grad_norm.is_some());
        } else {
            assert!(r.dm_loss.is_none());
        }
    }
    assert_eq!(gen_iters, vec![0, 5, 10, 15, 20]);
    let s = e.stats();
    assert_eq!((s.generator_updates, s.fake_updates), (5, 23));
    let dm: i64 = s.dm_sigma_index_counts.iter().sum();
    assert_eq!(dm, 5 * 512);
    let lo = s.dm_sigma_index_counts.iter().position(|&c| c > 0).unwrap();
    let hi = s
        .dm_sigma_index_counts
        .iter()
        .rposition(|&c| c > 0)
        .unwrap();
    assert!(
        lo >= 20 && hi <= 980,
        "DM indices outside [20, 980]: {lo}..{hi}"
    );
    assert!(lo <= 22 && hi >= 978, "range not covered: {lo}..{hi}");
    let fake: i64 = s.fake_sigma_index_counts.iter().sum();
    assert_eq!(fake, 23 * 512);
    let flo = s
        .fake_sigma_index_counts
        .iter()
        .position(|&c| c > 0)
        .unwrap();
    assert!(
        flo < 20,
        "fake-score indices should reach below 20, got {flo}"
    );
}

/// With `init = teacher`, G(z) = D_teacher(80 z; 80) = Phi_1(z) exactly at step 0.
#[test]
fn initialisation_gives_phi_1() {
    let _rng = rng_lock();
    tch::manual_seed(3);
    let teacher = Denoiser::new(&small_mlp(4), Device::Cpu).unwrap();
    let cfg = DistillConfig {
        init: StudentInit::Teacher,
        progress: false,
        ..DistillConfig::default()
    };
    let e = DmdEngine::new(&cfg, &teacher, None).unwrap();
    let z = Tensor::randn([64, 4], (Kind::Float, Device::Cpu));
    let g = e.generate(&z, None);
    let phi1 =
        dmd_nets::sampler::sample(&teacher, &z, None, 1, dmd_nets::sampler::Solver::Euler, 64);
    assert!(
        g.equal(&phi1),
        "max diff {}",
        (g - phi1).abs().max().double_value(&[])
    );
    // a closed-form teacher cannot initialise a student
    let cf = DistillConfig {
        init: StudentInit::Teacher,
        ..toy_cfg(1)
    };
    assert!(matches!(
        DmdEngine::new(&cf, &self::teacher(), None),
        Err(TrainError::Config(_))
    ));
}

/// `distill.autocast = "bf16"`: the generator and the fake score train in bf16, while the
/// samples the measurements use (`generate`, `student_sample`) stay f32: at initialisation they
/// equal the f32 teacher's `Phi_1` bit for bit, and the bf16 forward pass does not.
#[test]
fn bf16_autocast_trains_in_bf16_and_samples_in_f32() {
    use dmd_nets::denoiser::Precision;
    let _rng = rng_lock();
    tch::manual_seed(3);
    let teacher = Denoiser::new(&small_mlp(4), Device::Cpu).unwrap();
    let cfg = DistillConfig {
        init: StudentInit::Teacher,
        autocast: Precision::Bf16,
        batch_size: 64,
        progress: false,
        ..DistillConfig::default()
    };
    let mut e = DmdEngine::new(&cfg, &teacher, None).unwrap();
    assert_eq!(e.generator.precision, Precision::Bf16);
    assert_eq!(e.fake.precision, Precision::Bf16);
    // The caller's teacher is untouched (its samples for the measurements stay f32).
    assert_eq!(teacher.precision, Precision::F32);
    let z = Tensor::randn([64, 4], (Kind::Float, Device::Cpu));
    let phi1 =
        dmd_nets::sampler::sample(&teacher, &z, None, 1, dmd_nets::sampler::Solver::Euler, 64);
    assert!(e.generate(&z, None).equal(&phi1));
    let sigma = Tensor::full([64], 80.0, (Kind::Float, Device::Cpu));
    let bf16 = tch::no_grad(|| e.generator.denoise(&(&z * 80.0), &sigma, None, false));
    assert!(!bf16.equal(&phi1), "the bf16 forward pass is not f32");
    let rel = (&bf16 - &phi1).norm().double_value(&[]) / phi1.norm().double_value(&[]);
    assert!(rel < 0.05, "bf16 vs f32 relative difference {rel}");
    for _ in 0..6 {
        e.iteration().unwrap();
    }
    assert!(e.generate(&z, None).isfinite().all().int64_value(&[]) == 1);
}

/// N iterations straight vs N/2, stop, resume, N/2: identical parameters, bit for bit.
#[test]
fn resume_reproduces_an_uninterrupted_run() {
    let _rng = rng_lock();
    let t = teacher();
    let dir = tempfile::tempdir().unwrap();
    let straight = distill(&toy_cfg(12), &t, None, &dir.path().join("a")).unwrap();
    let half = distill(&toy_cfg(6), &t, None, &dir.path().join("b")).unwrap();
    assert_eq!(half.iterations, 6);
    let resumed = distill(&toy_cfg(12), &t, None, &dir.path().join("b")).unwrap();
    assert_eq!(resumed.resumed_from, Some(6));
    assert_eq!(resumed.stats, straight.stats);
    for (pa, pb) in [
        (&straight.generator_path, &resumed.generator_path),
        (&straight.fake_path, &resumed.fake_path),
    ] {
        let a = Denoiser::load(pa, Device::Cpu).unwrap();
        let b = Denoiser::load(pb, Device::Cpu).unwrap();
        let va = a.vs.variables();
        for (name, tb) in b.vs.variables() {
            assert!(
                va[&name].equal(&tb),
                "parameter {name} differs after resume"
            );
        }
    }
    let lines = std::fs::read_to_string(&resumed.metrics_path).unwrap();
    assert_eq!(lines.lines().count(), 12);
    // a different config is refused
    let other = DistillConfig {
        lr_fake: 5e-4,
        ..toy_cfg(14)
    };
    assert!(matches!(
        distill(&other, &t, None, &dir.path().join("b")),
        Err(TrainError::Checkpoint { .. })
    ));
}

/// A teacher that returns NaN from its `poison_after`-th call on.
struct Poisoned {
    inner: GaussianTeacher,
    calls: Cell<u64>,
    poison_after: u64,
}

impl ScoreModel for Poisoned {
    fn denoise(&self, x: &Tensor, sigma: &Tensor, labels: Option<&Tensor>) -> Tensor {
        let n = self.calls.get();
        self.calls.set(n + 1);
        let d = self.inner.denoise(x, sigma, labels);
        if n >= self.poison_after {
            d * f64::NAN
        } else {
            d
        }
    }
    fn data_shape(&self) -> Vec<i64> {
        self.inner.data_shape()
    }
    fn num_classes(&self) -> usize {
        0
    }
    fn device(&self) -> Device {
        Device::Cpu
    }
}

#[test]
fn nan_in_the_teacher_stops_the_run_and_keeps_the_checkpoint() {
    let _rng = rng_lock();
    // the teacher is called once per generator step (iterations 0, 5, 10, ...): poison the 3rd
    let t = Poisoned {
        inner: teacher(),
        calls: Cell::new(0),
        poison_after: 2,
    };
    let dir = tempfile::tempdir().unwrap();
    let cfg = DistillConfig {
        checkpoint_every: 4,
        ..toy_cfg(40)
    };
    let err = distill(&cfg, &t, None, dir.path()).unwrap_err();
    match &err {
        TrainError::NonFinite {
            iteration,
            quantity,
        } => {
            assert_eq!(*iteration, 10);
            assert!(quantity.contains("teacher"), "{quantity}");
        }
        other => panic!("expected NonFinite, got {other}"),
    }
    assert!(err.to_string().contains("iteration 10"));
    // the last good checkpoint (after 8 iterations) loads and resumes with a healthy teacher
    let state = dmd_train::checkpoint::load(&dir.path().join("state.safetensors")).unwrap();
    assert_eq!(
        dmd_train::checkpoint::get_i64(&state, "meta.step").unwrap(),
        8
    );
    let healthy = teacher();
    let out = distill(
        &DistillConfig {
            iterations: 12,
            ..cfg
        },
        &healthy,
        None,
        dir.path(),
    )
    .unwrap();
    assert_eq!(out.resumed_from, Some(8));
}

/// The generator's mean output on fixed seeds: a deterministic probe that reads the engine.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Mean {
    mean: Vec<f64>,
}

struct MeanProbe {
    z: Tensor,
    every: u64,
}

impl dmd_train::Probe for MeanProbe {
    type Record = Mean;

    fn every(&self) -> u64 {
        self.every
    }

    fn observe(&mut self, engine: &DmdEngine) -> Result<Mean, TrainError> {
        let g = engine.generate(&self.z, None);
        let mean = Vec::<f64>::try_from(g.mean_dim([0i64].as_slice(), false, Kind::Double));
        Ok(Mean {
            mean: mean.unwrap(),
        })
    }
}

/// The trajectory of a run stopped at 7 (not a point) and resumed equals the uninterrupted
/// run's: same iterations, cumulative learning rates, DM-loss windows and measurements.
#[test]
fn trajectory_of_a_resumed_run_equals_the_uninterrupted_one() {
    let _rng = rng_lock();
    let t = teacher();
    let dir = tempfile::tempdir().unwrap();
    let z = Tensor::from_slice(&[0.3f32, -1.2, 0.8, 0.1, -0.4, 2.0]).reshape([3, 2]);
    let probe = || MeanProbe {
        z: z.shallow_clone(),
        every: 4,
    };
    let run = |iterations: u64, sub: &str, p: &mut MeanProbe| {
        dmd_train::distill_with(
            &toy_cfg(iterations),
            &t,
            None,
            &dir.path().join(sub),
            Some(p),
        )
        .unwrap()
    };
    run(14, "a", &mut probe());
    run(7, "b", &mut probe());
    let resumed = run(14, "b", &mut probe());
    assert_eq!(resumed.resumed_from, Some(7));
    let read = |sub: &str| {
        dmd_train::read_trajectory::<Mean>(&dir.path().join(sub).join("trajectory.jsonl")).unwrap()
    };
    let (a, b) = (read("a"), read("b"));
    let iters: Vec<u64> = a.iter().map(|l| l.iteration).collect();
    assert_eq!(iters, vec![0, 4, 8, 12, 14]);
    assert_eq!(a.len(), b.len());
    for (la, lb) in a.iter().zip(&b) {
        assert_eq!(
            (la.iteration, la.cumulative_lr, la.dm_loss, &la.measures),
            (lb.iteration, lb.cumulative_lr, lb.dm_loss, &lb.measures),
        );
    }
    assert!(a[0].dm_loss.is_none() && a[0].cumulative_lr == 0.0);
    // generator updates every `update_ratio` iterations: [4, 8) holds one, [12, 14) none
    assert_eq!(toy_cfg(14).update_ratio, 5);
    assert!(a[2].cumulative_lr > a[1].cumulative_lr && a[2].dm_loss.is_some());
    assert!(a[4].cumulative_lr == a[3].cumulative_lr && a[4].dm_loss.is_none());
    // the generator moved: its measurement at the end differs from its initialisation
    assert_ne!(a[0].measures, a[4].measures);
}
