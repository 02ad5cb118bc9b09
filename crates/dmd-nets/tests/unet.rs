//! ADM UNet: parameter counts of the paper's configurations, reference parameter names, output
//! and feature shapes.

use dmd_nets::denoiser::Denoiser;
use dmd_nets::net::NetConfig;
use dmd_nets::unet::UnetConfig;
use tch::{Device, Kind, Tensor};

#[test]
fn mnist_unet_has_the_reference_parameter_count() {
    let den = Denoiser::new(&NetConfig::Unet(UnetConfig::mnist()), Device::Cpu).unwrap();
    assert_eq!(den.num_parameters(), 31_118_593);
    let ten = UnetConfig {
        num_classes: 10,
        ..UnetConfig::mnist()
    };
    let den = Denoiser::new(&NetConfig::Unet(ten), Device::Cpu).unwrap();
    assert_eq!(den.num_parameters(), 31_121_153);
}

#[test]
fn imagenet64_unet_has_the_reference_parameter_count() {
    let n = dmd_nets::unet::count_parameters(&UnetConfig::imagenet64()).unwrap();
    assert_eq!(n, 295_899_267);
}

#[test]
fn parameter_names_follow_the_reference_layout() {
    let den = Denoiser::new(&NetConfig::Unet(UnetConfig::mnist()), Device::Cpu).unwrap();
    let vars = den.vs.variables();
    for name in [
        "model.map_layer0.weight",
        "model.map_layer1.bias",
        "model.enc.32x32_conv.weight",
        "model.enc.32x32_block0.norm0.weight",
        "model.enc.32x32_block0.qkv.weight",
        "model.enc.16x16_down.conv0.weight",
        "model.enc.16x16_block0.skip.weight",
        "model.enc.4x4_block2.affine.weight",
        "model.dec.4x4_in0.proj.weight",
        "model.dec.4x4_in1.conv1.bias",
        "model.dec.8x8_up.norm1.weight",
        "model.dec.32x32_block3.norm2.bias",
        "model.out_norm.weight",
        "model.out_conv.weight",
    ] {
        assert!(vars.contains_key(name), "missing {name}");
    }
    assert!(!vars.contains_key("model.map_label.weight"));
    assert!(
        !vars.contains_key("model.dec.4x4_in1.qkv.weight"),
        "in1 has no attention"
    );
    // Zero-initialised output conv: a fresh network's raw output is exactly zero.
    let w = &vars["model.out_conv.weight"];
    assert_eq!(w.abs().sum(Kind::Float).double_value(&[]), 0.0);
}

#[test]
fn mnist_unet_output_and_feature_shapes() {
    tch::manual_seed(1);
    let cfg = NetConfig::Unet(UnetConfig::mnist());
    let den = Denoiser::new(&cfg, Device::Cpu).unwrap();
    let x = Tensor::randn([2, 1, 32, 32], (Kind::Float, Device::Cpu));
    let sigma = Tensor::from_slice(&[0.5f32, 10.0]);
    let (d, f) = tch::no_grad(|| den.denoise_with_features(&x, &sigma, None, false));
    assert_eq!(d.size(), vec![2, 1, 32, 32]);
    assert_eq!(f.size(), vec![2, cfg.feature_dim(), 4, 4]);
    assert_eq!(cfg.feature_dim(), 256);
    // With the zero-initialised out_conv, D = c_skip x exactly.
    let c = dmd_nets::precond::edm_coeffs(10.0, 0.5);
    let expect = x.get(1) * c.c_skip;
    let diff = (d.get(1) - expect).abs().max().double_value(&[]);
    assert!(diff < 1e-6, "{diff}");
}

#[test]
fn conditional_imagenet_shaped_unet_runs_with_labels() {
    tch::manual_seed(2);
    // The 64x64x3 conditional layout at reduced width (the full C = 192 net is counted above).
    let cfg = UnetConfig {
        model_channels: 32,
        num_blocks: 1,
        ..UnetConfig::imagenet64()
    };
    let cfg = NetConfig::Unet(cfg);
    let den = Denoiser::new(&cfg, Device::Cpu).unwrap();
    // Make the output non-trivial so labels matter.
    tch::no_grad(|| {
        for (name, mut t) in den.vs.variables() {
            if name.contains("out_conv") || name.ends_with("conv1.weight") || name.contains("proj")
            {
                t.copy_(&(Tensor::randn(t.size(), (Kind::Float, Device::Cpu)) * 0.05));
            }
        }
    });
    let x = Tensor::randn([2, 3, 64, 64], (Kind::Float, Device::Cpu));
    let sigma = Tensor::from_slice(&[1.0f32, 1.0]);
    let y0 = Tensor::from_slice(&[3i64, 999]);
    let y1 = Tensor::from_slice(&[4i64, 0]);
    den.check_inputs(&x, &sigma, Some(&y0)).unwrap();
    let (d0, f) = tch::no_grad(|| den.denoise_with_features(&x, &sigma, Some(&y0), false));
    let d1 = tch::no_grad(|| den.denoise(&x, &sigma, Some(&y1), false));
    assert_eq!(d0.size(), vec![2, 3, 64, 64]);
    assert_eq!(f.size(), vec![2, 32 * 4, 8, 8]);
    assert!(
        (d0 - d1).abs().max().double_value(&[]) > 1e-6,
        "labels must change D"
    );
    assert!(den.check_inputs(&x, &sigma, None).is_err());
    assert!(
        den.check_inputs(&x, &sigma, Some(&Tensor::from_slice(&[0i64, 1000])))
            .is_err()
    );
}

#[test]
fn invalid_configs_are_rejected_with_a_reason() {
    let bad = UnetConfig {
        img_resolution: 30,
        ..UnetConfig::mnist()
    };
    let e = Denoiser::new(&NetConfig::Unet(bad), Device::Cpu).unwrap_err();
    assert!(e.to_string().contains("img_resolution"), "{e}");
    let bad = UnetConfig {
        model_channels: 36,
        ..UnetConfig::mnist()
    };
    assert!(Denoiser::new(&NetConfig::Unet(bad), Device::Cpu).is_err());
}
