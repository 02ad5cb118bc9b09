//! Parity with NVlabs/edm: EDM's own `EDMPrecond(DhariwalUNet)` weights, imported through
//! `dmd_nets::import` from a safetensors file in EDM's names, give EDM's outputs: the denoiser at
//! six noise levels, Euler `Phi_K` for K = 1, 2, 8 and EDM's Heun sampler for K = 2, 8, on the
//! unconditional and the 10-class network, each to 1e-5 relative (see
//! `fixtures/edm-golden/README.md`): every sample's relative L2 error
//! `||ours - edm|| / ||edm||` is at most 1e-5 for every output, and so is every pixel's error
//! relative to its row's largest magnitude, except in Heun with K = 2, whose last correction
//! amplifies one f32 rounding step of the network by 2e4 ([`check_heun_2`]; measured: 1.6e-5 on
//! the conditional network, relative L2 4.1e-6). `cargo test -p dmd-nets --test edm_golden --
//! --nocapture` prints both errors of every output.

use dmd_nets::import::{ImportOptions, import};
use dmd_nets::net::NetConfig;
use dmd_nets::sampler::{Solver, sample_in};
use safetensors::SafeTensors;
use safetensors::tensor::TensorView;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use tch::{Device, Kind, Tensor};

/// Largest tolerated difference: relative to the largest magnitude of EDM's output row
/// (per pixel) and relative to the row's L2 norm (per sample).
const REL_TOL: f64 = 1e-5;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/edm-golden")
        .join(format!("{name}.safetensors"))
}

struct Golden {
    bytes: Vec<u8>,
    config: NetConfig,
}

impl Golden {
    fn open(name: &str) -> Golden {
        let bytes = std::fs::read(fixture(name)).expect("fixture present");
        let (_, meta) = SafeTensors::read_metadata(&bytes).unwrap();
        let json = &meta.metadata().as_ref().unwrap()["config"];
        let config: NetConfig = serde_json::from_str(json).unwrap();
        Golden { bytes, config }
    }

    fn tensor(&self, name: &str) -> Tensor {
        let st = SafeTensors::deserialize(&self.bytes).unwrap();
        let v = st
            .tensor(name)
            .unwrap_or_else(|_| panic!("{name} in fixture"));
        assert_eq!(v.dtype(), safetensors::Dtype::F64);
        let shape: Vec<i64> = v.shape().iter().map(|&d| d as i64).collect();
        Tensor::from_data_size(v.data(), &shape, Kind::Double)
    }

    /// EDM's state dict alone, under EDM's names, written as the safetensors file a user would
    /// import (`model.` prefix and resample filters included).
    fn write_edm_state_dict(&self, dir: &Path) -> PathBuf {
        let st = SafeTensors::deserialize(&self.bytes).unwrap();
        let views: Vec<(String, TensorView<'_>)> = st
            .tensors()
            .into_iter()
            .filter_map(|(n, v)| n.strip_prefix("weights.").map(|s| (s.to_string(), v)))
            .collect();
        assert!(views.iter().any(|(n, _)| n.ends_with("resample_filter")));
        let path = dir.join("edm-state-dict.safetensors");
        safetensors::serialize_to_file(views, None::<HashMap<String, String>>, &path).unwrap();
        path
    }

    fn labels(&self) -> Option<Tensor> {
        (self.config.num_classes() > 0).then(|| self.tensor("input.class_onehot").argmax(1, false))
    }
}

/// Heun with `K = 2` (`edm.heun_2`): the correction at `sigma_1 = 0.002` multiplies the slope
/// `(x' - D(x'; 0.002))/0.002` by `(sigma_0 - sigma_1)/2`, so a difference of one f32 rounding
/// step (ulp) in one output of `D` (two float32 networks that sum in a different order differ
/// by that in a few percent of the pixels) becomes `(80 - 0.002)/(2 * 0.002) = 2e4` ulps of the
/// result: 1.2e-3 for outputs of size ~1, against rows of size ~150 for these random weights.
/// Each pixel is held to 1e-5 of its row's largest magnitude or two such amplified ulps of the
/// predictor `x'` (whose size is that of `Phi_1 = D(80 z; 80)`), whichever is larger, and at
/// most 1e-4 of the row overall.
fn check_heun_2(name: &str, ours: &Tensor, edm: &Tensor, predictor: &Tensor) {
    let amplification = (80.0 - 0.002) / (2.0 * 0.002);
    let n = edm.size()[0];
    let (ours, edm) = (ours.reshape([n, -1]), edm.reshape([n, -1]));
    let scale = edm.abs().amax([1], true);
    // ulp(v) = 2^(floor(log2 |v|) - 23) for f32
    let ulp = (predictor.reshape([n, -1]).abs().log2().floor() - 23.0).exp2();
    let allowed = (ulp * (2.0 * amplification)).maximum(&(&scale * REL_TOL));
    let diff = (&ours - &edm).abs();
    let over = (&diff - &allowed).max().double_value(&[]);
    assert!(
        over <= 0.0,
        "{name}: edm.heun_2 exceeds its per-pixel tolerance by {over:.2e}"
    );
    let err = worst_row_error(&ours, &edm);
    assert!(
        err <= 1e-4,
        "{name}: edm.heun_2 differs from EDM's by {err:.2e}"
    );
}

/// Largest `max |ours - edm| / max |edm|` over the rows.
fn worst_row_error(ours: &Tensor, edm: &Tensor) -> f64 {
    let n = edm.size()[0];
    let ours = ours.to_kind(Kind::Double).reshape([n, -1]);
    let edm = edm.reshape([n, -1]);
    let diff = (&ours - &edm).abs().amax([1], false);
    let scale = edm.abs().amax([1], false);
    (diff / scale).max().double_value(&[])
}

/// Largest `||ours - edm||_2 / ||edm||_2` over the rows (the relative error of each sample as
/// a vector).
fn worst_row_l2_error(ours: &Tensor, edm: &Tensor) -> f64 {
    let n = edm.size()[0];
    let ours = ours.to_kind(Kind::Double).reshape([n, -1]);
    let edm = edm.to_kind(Kind::Double).reshape([n, -1]);
    let diff = (&ours - &edm).norm_scalaropt_dim(2.0, [1], false);
    let scale = edm.norm_scalaropt_dim(2.0, [1], false);
    (diff / scale).max().double_value(&[])
}

fn check_network(name: &str) {
    let g = Golden::open(name);
    let dir = tempfile::tempdir().unwrap();
    let path = g.write_edm_state_dict(dir.path());
    let imported = import(
        &path,
        &g.config,
        0.5,
        &ImportOptions::default(),
        Device::Cpu,
    )
    .expect("EDM's state dict imports");
    assert_eq!(
        imported.dropped.len(),
        8,
        "the up/down blocks' resample filters"
    );
    let den = imported.denoiser;
    let labels = g.labels();

    let x = g.tensor("input.x");
    let sigma = g.tensor("input.sigma");
    let d = tch::no_grad(|| den.denoise(&x, &sigma, labels.as_ref(), false));
    let err = worst_row_error(&d, &g.tensor("edm.denoised"));
    let l2 = worst_row_l2_error(&d, &g.tensor("edm.denoised"));
    println!("{name} edm.denoised: max-abs error / row max {err:.2e}, relative L2 error {l2:.2e}");
    assert!(
        err <= REL_TOL && l2 <= REL_TOL,
        "{name}: denoiser differs from EDM's by {err:.2e} (max) / {l2:.2e} (L2)"
    );

    let z = g.tensor("input.z");
    for (solver, steps) in [
        (Solver::Euler, 1),
        (Solver::Euler, 2),
        (Solver::Euler, 8),
        (Solver::Heun, 2),
        (Solver::Heun, 8),
    ] {
        let key = match solver {
            Solver::Euler => format!("edm.euler_{steps}"),
            Solver::Heun => format!("edm.heun_{steps}"),
        };
        let ours = sample_in(&den, &z, labels.as_ref(), steps, solver, 64, Kind::Double);
        let l2 = worst_row_l2_error(&ours, &g.tensor(&key));
        println!(
            "{name} {key}: max-abs error / row max {:.2e}, relative L2 error {l2:.2e}",
            worst_row_error(&ours, &g.tensor(&key))
        );
        assert!(
            l2 <= REL_TOL,
            "{name}: {key} differs from EDM's by {l2:.2e} (relative L2 norm of a sample)"
        );
        if (solver, steps) == (Solver::Heun, 2) {
            check_heun_2(name, &ours, &g.tensor(&key), &g.tensor("edm.euler_1"));
            continue;
        }
        let err = worst_row_error(&ours, &g.tensor(&key));
        assert!(
            err <= REL_TOL,
            "{name}: {key} differs from EDM's by {err:.2e}"
        );
    }
}

#[test]
fn unconditional_network_matches_edm() {
    check_network("uncond");
}

#[test]
fn class_conditional_network_matches_edm() {
    check_network("cond");
}

#[test]
fn a_changed_resample_filter_is_refused_by_name() {
    let g = Golden::open("uncond");
    let st = SafeTensors::deserialize(&g.bytes).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let bad = [0.5f32, 0.0, 0.0, 0.5];
    let bad_bytes: Vec<u8> = bad.iter().flat_map(|v| v.to_le_bytes()).collect();
    let target = "model.enc.16x16_down.conv0.resample_filter";
    let views: Vec<(String, TensorView<'_>)> = st
        .tensors()
        .into_iter()
        .filter_map(|(n, v)| n.strip_prefix("weights.").map(|s| (s.to_string(), v)))
        .map(|(n, v)| {
            if n == target {
                let v =
                    TensorView::new(safetensors::Dtype::F32, vec![1, 1, 2, 2], &bad_bytes).unwrap();
                (n, v)
            } else {
                (n, v)
            }
        })
        .collect();
    let path = dir.path().join("bad.safetensors");
    safetensors::serialize_to_file(views, None::<HashMap<String, String>>, &path).unwrap();
    let err = import(
        &path,
        &g.config,
        0.5,
        &ImportOptions::default(),
        Device::Cpu,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains(target) && err.contains("resample filter"),
        "{err}"
    );
}

#[test]
fn a_missing_or_misshapen_tensor_is_named() {
    let g = Golden::open("cond");
    let dir = tempfile::tempdir().unwrap();
    let path = g.write_edm_state_dict(dir.path());
    // The conditional weights into the unconditional network: `model.map_label.weight` is extra.
    let uncond = Golden::open("uncond").config;
    let err = import(&path, &uncond, 0.5, &ImportOptions::default(), Device::Cpu)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("unexpected [`model.map_label.weight`]"),
        "{err}"
    );
    // A wider network: the first tensor that differs is named with both shapes.
    let mut wide = g.config.clone();
    if let NetConfig::Unet(u) = &mut wide {
        u.model_channels = 64;
    }
    let err = import(&path, &wide, 0.5, &ImportOptions::default(), Device::Cpu)
        .unwrap_err()
        .to_string();
    assert!(err.contains("has shape") && err.contains("needs"), "{err}");
    // A prefix that is not there.
    let opts = ImportOptions {
        strip_prefix: Some("module.".into()),
        key: None,
    };
    let err = import(&path, &g.config, 0.5, &opts, Device::Cpu)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("does not start with the prefix `module.`"),
        "{err}"
    );
}

/// The same EDM weights saved by PyTorch's `torch.save` inside a training checkpoint
/// (`{"ema": state_dict, "step": 1000}`, made by `fixtures/edm-golden/make_pt.py`) import,
/// without Python, to the network that gives EDM's outputs.
#[test]
fn a_torch_save_checkpoint_imports_to_edms_network() {
    let g = Golden::open("uncond");
    let pt = fixture("uncond").with_extension("pt");
    let opts = ImportOptions {
        strip_prefix: None,
        key: Some("ema".into()),
    };
    let imported = import(&pt, &g.config, 0.5, &opts, Device::Cpu).expect("torch.save imports");
    assert_eq!(imported.dropped.len(), 8);
    let x = g.tensor("input.x");
    let sigma = g.tensor("input.sigma");
    let d = tch::no_grad(|| imported.denoiser.denoise(&x, &sigma, None, false));
    let err = worst_row_error(&d, &g.tensor("edm.denoised"));
    assert!(err <= REL_TOL, "denoiser differs from EDM's by {err:.2e}");
    // Without the key, the checkpoint's `step` and `ema.` names do not fit the network.
    let err = import(&pt, &g.config, 0.5, &ImportOptions::default(), Device::Cpu)
        .unwrap_err()
        .to_string();
    assert!(err.contains("unexpected [`model.ema.model."), "{err}");
}
