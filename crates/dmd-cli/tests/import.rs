//! `dmd import` end to end on NVlabs/edm's own weights (the golden fixtures of dmd-nets): a
//! `torch.save` checkpoint and an EDM-named safetensors state dict each become a dmd-nets
//! checkpoint whose denoiser gives EDM's outputs; bad input gets one line and exit code 2.

use safetensors::SafeTensors;
use safetensors::tensor::TensorView;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use tch::{Device, Kind, Tensor};

fn golden(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../dmd-nets/tests/fixtures/edm-golden")
        .join(file)
}

fn dmd(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dmd"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("dmd runs")
}

/// The golden file's network config (JSON) and a tensor of it.
fn net_json() -> String {
    let bytes = std::fs::read(golden("uncond.safetensors")).unwrap();
    let (_, meta) = SafeTensors::read_metadata(&bytes).unwrap();
    meta.metadata().as_ref().unwrap()["config"].clone()
}

fn golden_tensor(name: &str) -> Tensor {
    let bytes = std::fs::read(golden("uncond.safetensors")).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let v = st.tensor(name).unwrap();
    let shape: Vec<i64> = v.shape().iter().map(|&d| d as i64).collect();
    Tensor::from_data_size(v.data(), &shape, Kind::Double)
}

/// Loads the imported checkpoint and checks its denoiser against EDM's at six noise levels.
fn assert_gives_edms_outputs(ckpt: &Path) {
    let den = dmd_nets::Denoiser::load(ckpt, Device::Cpu).expect("a dmd-nets checkpoint");
    let x = golden_tensor("input.x");
    let sigma = golden_tensor("input.sigma");
    let d = tch::no_grad(|| den.denoise(&x, &sigma, None, false)).to_kind(Kind::Double);
    let edm = golden_tensor("edm.denoised");
    let err = ((&d - &edm).abs().max() / edm.abs().max()).double_value(&[]);
    assert!(
        err <= 1e-5,
        "imported denoiser differs from EDM's by {err:.2e}"
    );
}

fn ok(o: &Output) -> String {
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        o.status.success(),
        "dmd import failed:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    out
}

fn one_error_line(o: &Output) -> String {
    let err = String::from_utf8_lossy(&o.stderr).trim().to_string();
    assert_eq!(o.status.code(), Some(2), "exit code 2 expected:\n{err}");
    assert_eq!(
        err.lines().filter(|l| l.starts_with("error")).count(),
        1,
        "{err}"
    );
    err
}

#[test]
fn a_torch_save_checkpoint_imports_to_edms_network() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("teacher.safetensors");
    let json = net_json();
    let pt = golden("uncond.pt");
    let o = dmd(&[
        "import",
        pt.to_str().unwrap(),
        "--key",
        "ema",
        "--net",
        &json,
        "-o",
        out.to_str().unwrap(),
    ]);
    let said = ok(&o);
    assert!(
        said.contains("checked and dropped 8 EDM resample filters"),
        "{said}"
    );
    assert_gives_edms_outputs(&out);
}

#[test]
fn an_edm_named_safetensors_state_dict_imports_with_a_config_file() {
    let dir = tempfile::tempdir().unwrap();
    // EDM's state dict alone, as `scripts/edm_pkl_to_safetensors.py` writes it (no config).
    let bytes = std::fs::read(golden("uncond.safetensors")).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let views: Vec<(String, TensorView<'_>)> = st
        .tensors()
        .into_iter()
        .filter_map(|(n, v)| n.strip_prefix("weights.").map(|s| (s.to_string(), v)))
        .collect();
    let src = dir.path().join("edm.safetensors");
    safetensors::serialize_to_file(views, None::<HashMap<String, String>>, &src).unwrap();
    // The network from an experiment config's [teacher.net].
    let net: serde_json::Value = serde_json::from_str(&net_json()).unwrap();
    let inline = net
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| format!("{k} = {v}"))
        .collect::<Vec<_>>()
        .join(", ");
    let config = dir.path().join("edm.toml");
    std::fs::write(
        &config,
        format!(
            "name = \"edm\"\nteacher_checkpoint = \"t.safetensors\"\n[data]\nname = \"npy\"\n\
             path = \"x.npy\"\nshape = [1, 32, 32]\n[teacher]\niterations = 1\nsnapshots = []\n\
             net = {{ {inline} }}\n"
        ),
    )
    .unwrap();
    let out = dir.path().join("teacher.safetensors");
    let o = dmd(&[
        "import",
        src.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
        "--profile",
        "paper",
        "-o",
        out.to_str().unwrap(),
    ]);
    ok(&o);
    assert_gives_edms_outputs(&out);

    // Without a network: one line naming both ways to give it.
    let o = dmd(&["import", src.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    let err = one_error_line(&o);
    assert!(err.contains("--config") && err.contains("--net"), "{err}");

    // A network the weights do not fit: the first tensor that differs, with both shapes.
    let wide = net_json().replace("\"model_channels\": 32", "\"model_channels\": 64");
    assert_ne!(wide, net_json());
    let o = dmd(&[
        "import",
        src.to_str().unwrap(),
        "--net",
        &wide,
        "-o",
        out.to_str().unwrap(),
    ]);
    let err = one_error_line(&o);
    assert!(
        err.contains("has shape") && err.contains("the network config needs"),
        "{err}"
    );
}
