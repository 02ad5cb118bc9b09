//! The preconditioned denoiser with the toy MLP: shapes, the preconditioning formula, the score,
//! cloning, labels, samplers over a real network, and array conversion.

use dmd_nets::convert::{array_to_tensor, tensor_to_array, try_array_to_tensor};
use dmd_nets::denoiser::Denoiser;
use dmd_nets::mlp::MlpConfig;
use dmd_nets::net::NetConfig;
use dmd_nets::precond::{SIGMA_DATA, edm_coeffs};
use dmd_nets::sampler::{Solver, sample, sample_with};
use std::sync::{Mutex, MutexGuard};
use tch::{Device, Kind, Tensor};

fn mlp(dim: i64, classes: i64) -> Denoiser {
    let cfg = MlpConfig {
        num_classes: classes,
        ..MlpConfig::new(dim)
    };
    Denoiser::new(&NetConfig::Mlp(cfg), Device::Cpu).unwrap()
}

/// The tests of this binary run on parallel threads and share libtorch's global generator: each
/// test that reseeds it holds this lock, so another test's draws cannot fall between its seed
/// and the draws it depends on.
static RNG: Mutex<()> = Mutex::new(());

fn rng_lock() -> MutexGuard<'static, ()> {
    RNG.lock().unwrap_or_else(|e| e.into_inner())
}

fn max_abs(t: &Tensor) -> f64 {
    t.abs().max().double_value(&[])
}

#[test]
fn mlp_denoiser_applies_the_edm_preconditioning() {
    let _rng = rng_lock();
    tch::manual_seed(0);
    let den = mlp(4, 0);
    assert_eq!(den.config.data_shape(), vec![4]);
    assert_eq!(den.config.feature_dim(), 384);
    let x = Tensor::randn([5, 4], (Kind::Float, Device::Cpu)) * 3.0;
    let sig = [0.002f32, 0.1, 1.0, 10.0, 80.0];
    let sigma = Tensor::from_slice(&sig);
    let (d, feats) = tch::no_grad(|| den.denoise_with_features(&x, &sigma, None, false));
    assert_eq!(d.size(), vec![5, 4]);
    assert_eq!(feats.size(), vec![5, 384]);
    for (i, &s) in sig.iter().enumerate() {
        let c = edm_coeffs(s as f64, SIGMA_DATA);
        let xi = x.narrow(0, i as i64, 1);
        let c_noise = Tensor::from_slice(&[c.c_noise as f32]);
        let f = tch::no_grad(|| {
            den.raw()
                .forward_raw(&(&xi * c.c_in), &c_noise, None, false)
        });
        let expect = &xi * c.c_skip + f * c.c_out;
        let diff = max_abs(&(d.narrow(0, i as i64, 1) - expect));
        assert!(diff < 1e-5, "sigma {s}: {diff}");
    }
    // Score = (D - x)/sigma^2.
    let s = tch::no_grad(|| den.score(&x, &sigma, None));
    let expect = (&d - &x) / sigma.square().unsqueeze(1);
    assert!(max_abs(&(s - expect)) < 1e-4);
    // One sigma for the whole batch broadcasts.
    let d80 = tch::no_grad(|| den.denoise_at(&x, 80.0, None, false));
    let d80b = tch::no_grad(|| {
        den.denoise(
            &x,
            &Tensor::full([5], 80.0, (Kind::Float, Device::Cpu)),
            None,
            false,
        )
    });
    assert_eq!(max_abs(&(d80 - d80b)), 0.0);
}

#[test]
fn gradients_flow_to_parameters_and_inputs() {
    let _rng = rng_lock();
    tch::manual_seed(3);
    let den = mlp(4, 0);
    let x = Tensor::randn([8, 4], (Kind::Float, Device::Cpu)).set_requires_grad(true);
    let sigma = Tensor::full([8], 2.0, (Kind::Float, Device::Cpu));
    let loss = den
        .denoise(&x, &sigma, None, true)
        .square()
        .sum(Kind::Float);
    loss.backward();
    assert!(max_abs(&x.grad()) > 0.0);
    for t in den.vs.trainable_variables() {
        assert!(t.grad().defined(), "a parameter got no gradient");
    }
    assert!(!den.vs.variables()["model.map_noise.freqs"].requires_grad());
}

#[test]
fn try_clone_copies_weights_into_an_independent_store() {
    let _rng = rng_lock();
    tch::manual_seed(4);
    let den = mlp(4, 3);
    let clone = den.try_clone().unwrap();
    let x = Tensor::randn([6, 4], (Kind::Float, Device::Cpu));
    let sigma = Tensor::full([6], 0.7, (Kind::Float, Device::Cpu));
    let y = Tensor::from_slice(&[0i64, 1, 2, 0, 1, 2]);
    let a = tch::no_grad(|| den.denoise(&x, &sigma, Some(&y), false));
    let b = tch::no_grad(|| clone.denoise(&x, &sigma, Some(&y), false));
    assert_eq!(max_abs(&(&a - &b)), 0.0);
    // Changing the clone leaves the original untouched.
    tch::no_grad(|| {
        for mut t in clone.vs.trainable_variables() {
            let _ = t.g_add_scalar_(0.1);
        }
    });
    let a2 = tch::no_grad(|| den.denoise(&x, &sigma, Some(&y), false));
    let b2 = tch::no_grad(|| clone.denoise(&x, &sigma, Some(&y), false));
    assert_eq!(max_abs(&(&a - &a2)), 0.0);
    assert!(max_abs(&(&a - &b2)) > 1e-4);
    // Labels matter for a conditional net.
    let y2 = Tensor::from_slice(&[1i64, 2, 0, 1, 2, 0]);
    let c = tch::no_grad(|| den.denoise(&x, &sigma, Some(&y2), false));
    assert!(max_abs(&(&a - c)) > 1e-6);
}

#[test]
fn sample_matches_the_closure_sampler_and_is_chunk_independent() {
    let _rng = rng_lock();
    tch::manual_seed(5);
    let den = mlp(4, 0);
    let z = Tensor::randn([10, 4], (Kind::Float, Device::Cpu));
    for solver in [Solver::Euler, Solver::Heun] {
        let a = sample(&den, &z, None, 8, solver, 1000);
        let b = sample(&den, &z, None, 8, solver, 3);
        let c =
            tch::no_grad(|| sample_with(|x, s| den.denoise_at(x, s, None, false), &z, 8, solver));
        assert_eq!(a.size(), vec![10, 4]);
        assert!(max_abs(&(&a - &b)) < 1e-4);
        assert!(max_abs(&(&a - &c)) < 1e-4);
        assert!(!a.requires_grad());
    }
    // Phi_1(z) = D(80 z; 80).
    let p1 = sample(&den, &z, None, 1, Solver::Euler, 4);
    let d = tch::no_grad(|| den.denoise_at(&(&z * 80.0), 80.0, None, false));
    assert!(max_abs(&(p1 - d)) < 1e-6);
}

#[test]
fn arrays_round_trip_through_tensors() {
    let a = ndarray::Array2::from_shape_fn((3, 8), |(i, j)| (i * 8 + j) as f32 * 0.5);
    let t = array_to_tensor(a.view(), &[2, 2, 2], Device::Cpu);
    assert_eq!(t.size(), vec![3, 2, 2, 2]);
    assert_eq!(tensor_to_array(&t), a);
    let t = array_to_tensor(a.view(), &[3, 8], Device::Cpu);
    assert_eq!(t.size(), vec![3, 8]);
    let e = try_array_to_tensor(a.view(), &[3, 3], Device::Cpu).unwrap_err();
    assert!(e.to_string().contains("8 values"), "{e}");
    // Non-standard layout (transposed view) converts by value.
    let at = a.t().to_owned();
    assert_eq!(
        tensor_to_array(&array_to_tensor(at.view(), &[3], Device::Cpu)),
        at
    );
    let tv = array_to_tensor(a.t(), &[3], Device::Cpu);
    assert_eq!(tensor_to_array(&tv), at);
}

#[test]
fn bf16_precision_runs_and_stays_close_to_f32() {
    let _rng = rng_lock();
    tch::manual_seed(6);
    let mut den = mlp(4, 0);
    let x = Tensor::randn([16, 4], (Kind::Float, Device::Cpu));
    let sigma = Tensor::full([16], 1.0, (Kind::Float, Device::Cpu));
    let a = tch::no_grad(|| den.denoise(&x, &sigma, None, false));
    den.precision = dmd_nets::Precision::Bf16;
    let b = tch::no_grad(|| den.denoise(&x, &sigma, None, false));
    assert_eq!(b.kind(), Kind::Float);
    let rel = max_abs(&(&a - &b)) / max_abs(&a);
    assert!(
        rel > 0.0 && rel < 0.1,
        "bf16 vs f32 relative difference {rel}"
    );
}

#[test]
fn fused_edm_loss_equals_the_reference_form() {
    use dmd_nets::loss::{EdmLossForm, P_MEAN, P_STD, edm_loss, sample_training_sigmas};
    let _rng = rng_lock();
    tch::manual_seed(8);
    let den = mlp(4, 0);
    let y = Tensor::randn([64, 4], (Kind::Float, Device::Cpu)) * 0.5;
    let sigma = sample_training_sigmas(64, P_MEAN, P_STD, Device::Cpu);
    let n = Tensor::randn([64, 4], (Kind::Float, Device::Cpu));
    let loss = |form| edm_loss(&den, &y, &sigma, &n, None, false, form).double_value(&[]);
    let a = loss(EdmLossForm::EffectiveTarget);
    let b = loss(EdmLossForm::Weighted);
    assert!(a.is_finite() && a > 0.0);
    assert!((a - b).abs() <= 1e-4 * b, "{a} vs {b}");
    // The weighted form by hand: mean_b sum_i lambda(sigma_b) (D(y + sigma n) - y)^2.
    let sd = den.sigma_data;
    let s = sigma.reshape([-1, 1]);
    let d = tch::no_grad(|| den.denoise(&(&y + &n * &s), &sigma, None, false));
    let lambda = (s.square() + sd * sd) / (&s * sd).square();
    let by_hand = (lambda * (d - &y).square())
        .sum_dim_intlist([1i64].as_slice(), false, Kind::Float)
        .mean(Kind::Float)
        .double_value(&[]);
    assert_eq!(b, by_hand);
}

#[test]
fn bad_inputs_and_configs_give_errors() {
    use dmd_nets::sampler::try_sample;
    let _rng = rng_lock();
    tch::manual_seed(9);
    let den = mlp(4, 2);
    let z = Tensor::randn([3, 5], (Kind::Float, Device::Cpu));
    let e = try_sample(&den, &z, None, 2, Solver::Euler, 8).unwrap_err();
    assert!(e.to_string().contains("expected [B, 4]"), "{e}");
    let z = Tensor::randn([3, 4], (Kind::Float, Device::Cpu));
    assert!(try_sample(&den, &z, None, 2, Solver::Euler, 8).is_err());
    let y = Tensor::from_slice(&[0i64, 1, 1]);
    assert_eq!(
        try_sample(&den, &z, Some(&y), 2, Solver::Heun, 2)
            .unwrap()
            .size(),
        vec![3, 4]
    );
    for bad in [
        MlpConfig {
            fourier_dim: 31,
            ..MlpConfig::new(4)
        },
        MlpConfig {
            dim: 0,
            ..MlpConfig::new(4)
        },
        MlpConfig {
            dropout: 1.0,
            ..MlpConfig::new(4)
        },
    ] {
        let e = Denoiser::new(&NetConfig::Mlp(bad), Device::Cpu).unwrap_err();
        assert!(
            e.to_string().starts_with("invalid network config: mlp:"),
            "{e}"
        );
    }
}

#[test]
fn linear_skip_starts_at_zero_adds_d_squared_parameters_and_keeps_old_hashes() {
    let plain = MlpConfig::new(6);
    let skip = MlpConfig {
        linear_skip: true,
        ..MlpConfig::new(6)
    };
    let _rng = rng_lock();
    tch::manual_seed(3);
    let a = Denoiser::new(&NetConfig::Mlp(plain.clone()), Device::Cpu).unwrap();
    tch::manual_seed(3);
    let b = Denoiser::new(&NetConfig::Mlp(skip.clone()), Device::Cpu).unwrap();
    assert_eq!(b.num_parameters() - a.num_parameters(), 36);
    // The bypass is zero at initialisation: same outputs as the plain MLP with the same seed.
    let x = Tensor::randn([7, 6], (Kind::Float, Device::Cpu));
    let (da, db) = tch::no_grad(|| {
        (
            a.denoise_at(&x, 0.5, None, false),
            b.denoise_at(&x, 0.5, None, false),
        )
    });
    assert!(max_abs(&(da - db)) < 1e-6);
    // Off, the field is not serialised (config hashes of existing runs are unchanged); on, it
    // round-trips.
    let json = serde_json::to_string(&plain).unwrap();
    assert!(!json.contains("linear_skip"), "{json}");
    let back: MlpConfig = serde_json::from_str(&serde_json::to_string(&skip).unwrap()).unwrap();
    assert!(back.linear_skip);
}

#[test]
fn bf16_precision_on_a_unet_with_attention_stays_close_to_f32() {
    let _rng = rng_lock();
    tch::manual_seed(7);
    let cfg = dmd_nets::UnetConfig {
        model_channels: 16,
        channel_mult: vec![1, 2],
        attn_resolutions: vec![16],
        img_resolution: 16,
        dropout: 0.0,
        ..dmd_nets::UnetConfig::cpu_small()
    };
    let mut den = Denoiser::new(&NetConfig::Unet(cfg), Device::Cpu).unwrap();
    // EDM initialises the output layer at zero (F = 0, D = c_skip x in any precision): give
    // every weight a trained-looking value first.
    tch::no_grad(|| {
        for (_, mut v) in den.vs.variables() {
            let _ = v.g_add_(&(v.randn_like() * 0.1));
        }
    });
    let x = Tensor::randn([4, 1, 16, 16], (Kind::Float, Device::Cpu));
    let sigma = Tensor::full([4], 2.0, (Kind::Float, Device::Cpu));
    let a = tch::no_grad(|| den.denoise(&x, &sigma, None, false));
    den.precision = dmd_nets::Precision::Bf16;
    let b = tch::no_grad(|| den.denoise(&x, &sigma, None, false));
    assert_eq!(b.kind(), Kind::Float);
    // f32 on request, whatever the denoiser's own precision.
    let c = tch::no_grad(|| den.denoise_in(dmd_nets::Precision::F32, &x, &sigma, None, false));
    assert!(c.equal(&a));
    let rel = (&a - &b).norm().double_value(&[]) / a.norm().double_value(&[]);
    assert!(
        rel > 0.0 && rel < 0.05,
        "bf16 vs f32 relative difference {rel}"
    );
}

/// The samples' stage key leaves out `eval.chunk`: a UNet's `Phi_K` (convolutions, group norm,
/// attention) must not depend on how the seeds are chunked.
#[test]
fn a_unet_samples_the_same_in_any_chunking() {
    let _rng = rng_lock();
    tch::manual_seed(11);
    let cfg = dmd_nets::UnetConfig {
        model_channels: 8,
        channel_mult: vec![1, 2],
        attn_resolutions: vec![8],
        img_resolution: 16,
        num_classes: 3,
        dropout: 0.0,
        ..dmd_nets::UnetConfig::cpu_small()
    };
    let den = Denoiser::new(&NetConfig::Unet(cfg), Device::Cpu).unwrap();
    tch::no_grad(|| {
        for (_, mut v) in den.vs.variables() {
            let _ = v.g_add_(&(v.randn_like() * 0.1));
        }
    });
    let z = Tensor::randn([7, 1, 16, 16], (Kind::Float, Device::Cpu));
    let y = Tensor::from_slice(&[0i64, 1, 2, 0, 1, 2, 0]);
    let whole = sample(&den, &z, Some(&y), 3, Solver::Euler, 7);
    assert!(max_abs(&whole) > 0.1, "a non-trivial network");
    for chunk in [1, 2, 3] {
        let chunked = sample(&den, &z, Some(&y), 3, Solver::Euler, chunk);
        assert!(
            max_abs(&(&whole - &chunked)) < 1e-5,
            "chunk {chunk} differs from one chunk"
        );
    }
}
