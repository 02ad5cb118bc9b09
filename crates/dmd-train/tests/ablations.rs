//! The ablation switches run end to end and log their terms: diffusion-GAN (teacher pool and
//! training data as real samples), regression toward Phi_K, and DP-DMD with a 2-step student.

use dmd_nets::denoiser::Denoiser;
use dmd_nets::mlp::MlpConfig;
use dmd_nets::net::NetConfig;
use dmd_train::{
    DistillConfig, DmdEngine, DpDmdConfig, GanConfig, GanReal, RegressionConfig, StudentInit,
    TrainData,
};
use tch::{Device, Kind, Tensor};

fn teacher() -> Denoiser {
    tch::manual_seed(1);
    let net = NetConfig::Mlp(MlpConfig {
        hidden: 32,
        layers: 2,
        fourier_dim: 8,
        ..MlpConfig::new(3)
    });
    Denoiser::new(&net, Device::Cpu).unwrap()
}

fn base() -> DistillConfig {
    DistillConfig {
        batch_size: 64,
        lr_generator: 1e-3,
        lr_fake: 1e-3,
        warmup_iters: 0,
        init: StudentInit::Teacher,
        progress: false,
        ..DistillConfig::default()
    }
}

fn run(
    cfg: &DistillConfig,
    t: &Denoiser,
    data: Option<&TrainData>,
    n: u64,
) -> Vec<dmd_train::DistillRecord> {
    let mut e = DmdEngine::new(cfg, t, data).unwrap();
    (0..n).map(|_| e.iteration().unwrap()).collect()
}

#[test]
fn gan_term_logs_both_losses_with_either_real_source() {
    let t = teacher();
    let gan = GanConfig {
        enabled: true,
        real: GanReal::Teacher {
            steps: 4,
            pool_size: 128,
        },
        ..GanConfig::default()
    };
    let recs = run(&DistillConfig { gan, ..base() }, &t, None, 6);
    assert!(
        recs.iter()
            .all(|r| r.gan_d_loss.is_some_and(f64::is_finite))
    );
    assert!(
        recs[0].gan_g_loss.is_some()
            && recs[1].gan_g_loss.is_none()
            && recs[5].gan_g_loss.is_some()
    );

    let x = ndarray::Array2::from_shape_fn((100, 3), |(i, j)| ((i + j) % 5) as f32 / 5.0);
    let data = TrainData::new(x, None, vec![3]).unwrap();
    let gan = GanConfig {
        enabled: true,
        ..GanConfig::default()
    };
    let recs = run(
        &DistillConfig {
            gan: gan.clone(),
            ..base()
        },
        &t,
        Some(&data),
        2,
    );
    assert!(recs[0].gan_d_loss.is_some());
    // real = data without data is a config error
    assert!(DmdEngine::new(&DistillConfig { gan, ..base() }, &t, None).is_err());
}

#[test]
fn regression_term_pulls_toward_the_teacher_ode() {
    let t = teacher();
    let regression = RegressionConfig {
        enabled: true,
        weight: 10.0,
        teacher_steps: 4,
        pool_size: 256,
    };
    let cfg = DistillConfig {
        regression,
        update_ratio: 1,
        ..base()
    };
    let recs = run(&cfg, &t, None, 30);
    let first = recs[0].regression_loss.unwrap();
    let last = recs[29].regression_loss.unwrap();
    assert!(
        last < first,
        "regression loss did not fall: {first} -> {last}"
    );
}

#[test]
fn dp_dmd_two_step_student_logs_the_diversity_loss() {
    let t = teacher();
    let cfg = |lambda_div: f64| DistillConfig {
        student_steps: 2,
        dp_dmd: DpDmdConfig {
            enabled: true,
            teacher_steps: 8,
            lambda_div,
            ..DpDmdConfig::default()
        },
        update_ratio: 1,
        ..base()
    };
    let mut e = DmdEngine::new(&cfg(5.0), &t, None).unwrap();
    assert_eq!(e.student_sigmas().len(), 2);
    assert_eq!(e.student_sigmas()[0], 80.0);
    let on: Vec<_> = (0..20).map(|_| e.iteration().unwrap()).collect();
    assert!(
        on.iter()
            .all(|r| r.diversity_loss.is_some_and(f64::is_finite) && r.dm_loss.is_some())
    );
    let z = Tensor::randn([5, 3], (Kind::Float, Device::Cpu));
    assert_eq!(e.generate(&z, None).size(), vec![5, 3]);
    // The same run with the diversity term weighted 0 logs it but does not pull on it: the
    // term (weighted up here so that 20 steps show it clearly) is what makes it fall.
    let off = run(&cfg(0.0), &t, None, 20);
    let avg = |r: &[dmd_train::DistillRecord]| {
        r.iter().map(|r| r.diversity_loss.unwrap()).sum::<f64>() / r.len() as f64
    };
    let (first, last) = (avg(&on[..4]), avg(&on[16..]));
    assert!(
        last < 0.95 * first,
        "diversity loss did not fall: {first} -> {last}"
    );
    assert!(
        last < 0.95 * avg(&off[16..]),
        "the diversity term made no difference: on {last}, off {}",
        avg(&off[16..])
    );
}
