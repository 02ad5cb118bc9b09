//! Checkpoints: bit-identical round trips, and clear errors for truncated, garbage, foreign and
//! config-mismatched files.

use dmd_nets::checkpoint::{KEY_CONFIG, read_config};
use dmd_nets::denoiser::Denoiser;
use dmd_nets::error::NetError;
use dmd_nets::mlp::MlpConfig;
use dmd_nets::net::NetConfig;
use dmd_nets::unet::UnetConfig;
use safetensors::SafeTensors;
use std::collections::HashMap;
use std::path::Path;
use tch::{Device, Kind, Tensor};

fn cond_mlp() -> NetConfig {
    NetConfig::Mlp(MlpConfig {
        num_classes: 3,
        dropout: 0.1,
        ..MlpConfig::new(4)
    })
}

fn perturb(den: &Denoiser) {
    // Give zero-initialised layers non-zero weights so outputs depend on every tensor.
    tch::no_grad(|| {
        for mut t in den.vs.trainable_variables() {
            t += Tensor::randn(t.size(), (Kind::Float, Device::Cpu)) * 0.02;
        }
    });
}

fn assert_same_outputs(a: &Denoiser, b: &Denoiser, x: &Tensor, labels: Option<&Tensor>) {
    let n = x.size()[0];
    let sigma = Tensor::logspace(-2.0, 1.9, n, 10.0, (Kind::Float, Device::Cpu));
    let da = tch::no_grad(|| a.denoise(x, &sigma, labels, false));
    let db = tch::no_grad(|| b.denoise(x, &sigma, labels, false));
    assert!(da.equal(&db), "outputs differ after the round trip");
}

#[test]
fn mlp_round_trip_is_bit_identical() {
    tch::manual_seed(0);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/mlp.safetensors");
    let den = Denoiser::new(&cond_mlp(), Device::Cpu).unwrap();
    den.save(&path).unwrap();
    assert_eq!(read_config(&path).unwrap(), cond_mlp());
    let back = Denoiser::load(&path, Device::Cpu).unwrap();
    assert_eq!(back.config, den.config);
    assert_eq!(back.num_parameters(), den.num_parameters());
    let x = Tensor::randn([6, 4], (Kind::Float, Device::Cpu));
    let y = Tensor::from_slice(&[0i64, 1, 2, 2, 1, 0]);
    assert_same_outputs(&den, &back, &x, Some(&y));
    // Buffers (the Fourier frequencies) travel too.
    let f = "model.map_noise.freqs";
    assert!(den.vs.variables()[f].equal(&back.vs.variables()[f]));
}

#[test]
fn unet_round_trip_is_bit_identical() {
    tch::manual_seed(1);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("unet.safetensors");
    let cfg = NetConfig::Unet(UnetConfig {
        num_classes: 10,
        ..UnetConfig::cpu_small()
    });
    let den = Denoiser::new(&cfg, Device::Cpu).unwrap();
    perturb(&den);
    den.save(&path).unwrap();
    let back = Denoiser::load(&path, Device::Cpu).unwrap();
    let x = Tensor::randn([3, 1, 32, 32], (Kind::Float, Device::Cpu));
    let y = Tensor::from_slice(&[9i64, 0, 4]);
    assert_same_outputs(&den, &back, &x, Some(&y));
}

fn expect_checkpoint_error(path: &Path, needle: &str) {
    match Denoiser::load(path, Device::Cpu) {
        Err(e @ NetError::Checkpoint { .. }) => {
            let msg = e.to_string();
            assert!(
                msg.contains(&path.display().to_string()),
                "names the file: {msg}"
            );
            assert!(msg.contains(needle), "expected `{needle}` in: {msg}");
        }
        Err(e) => panic!("wrong error kind: {e}"),
        Ok(_) => panic!("loading {} should fail", path.display()),
    }
}

#[test]
fn truncated_and_garbage_files_are_rejected() {
    tch::manual_seed(2);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    Denoiser::new(&cond_mlp(), Device::Cpu)
        .unwrap()
        .save(&path)
        .unwrap();
    let bytes = std::fs::read(&path).unwrap();

    let cut = dir.path().join("cut.safetensors");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    expect_checkpoint_error(&cut, "truncated or corrupt");
    let cut_header = dir.path().join("cut_header.safetensors");
    std::fs::write(&cut_header, &bytes[..40]).unwrap();
    expect_checkpoint_error(&cut_header, "truncated or corrupt");

    let junk = dir.path().join("junk.safetensors");
    std::fs::write(&junk, b"this is not a checkpoint at all, just some text").unwrap();
    expect_checkpoint_error(&junk, "truncated or corrupt");
    let empty = dir.path().join("empty.safetensors");
    std::fs::write(&empty, b"").unwrap();
    expect_checkpoint_error(&empty, "truncated or corrupt");

    let missing = dir.path().join("nope.safetensors");
    let e = Denoiser::load(&missing, Device::Cpu).unwrap_err();
    assert!(matches!(e, NetError::Io { .. }), "{e}");
    assert!(e.to_string().contains("nope.safetensors"));
}

/// Rewrites the checkpoint at `src` into `dst` with the metadata changed by `edit`.
fn rewrite(src: &Path, dst: &Path, edit: impl FnOnce(&mut HashMap<String, String>)) {
    let bytes = std::fs::read(src).unwrap();
    let (_, meta) = SafeTensors::read_metadata(&bytes).unwrap();
    let mut info = meta.metadata().clone().unwrap();
    edit(&mut info);
    let st = SafeTensors::deserialize(&bytes).unwrap();
    safetensors::serialize_to_file(st.tensors(), Some(info), dst).unwrap();
}

#[test]
fn foreign_and_mismatched_files_are_rejected() {
    tch::manual_seed(3);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    let den = Denoiser::new(&cond_mlp(), Device::Cpu).unwrap();
    den.save(&path).unwrap();

    // A config whose shapes differ from the stored tensors.
    let wrong_dim = dir.path().join("wrong_dim.safetensors");
    rewrite(&path, &wrong_dim, |m| {
        let cfg = NetConfig::Mlp(MlpConfig {
            num_classes: 3,
            ..MlpConfig::new(5)
        });
        m.insert(KEY_CONFIG.into(), serde_json::to_string(&cfg).unwrap());
    });
    expect_checkpoint_error(&wrong_dim, "shape");

    // A config with a different set of tensors.
    let wrong_set = dir.path().join("wrong_set.safetensors");
    rewrite(&path, &wrong_set, |m| {
        let cfg = NetConfig::Mlp(MlpConfig::new(4));
        m.insert(KEY_CONFIG.into(), serde_json::to_string(&cfg).unwrap());
    });
    expect_checkpoint_error(&wrong_set, "unexpected [`model.map_label.weight`]");

    // A config that does not parse, and no config at all.
    let bad_json = dir.path().join("bad_json.safetensors");
    rewrite(&path, &bad_json, |m| {
        m.insert(KEY_CONFIG.into(), r#"{"kind": "resnet"}"#.into());
    });
    expect_checkpoint_error(&bad_json, "does not parse");
    let plain = dir.path().join("plain.safetensors");
    den.vs.save(&plain).unwrap();
    expect_checkpoint_error(&plain, "not a dmd-nets checkpoint");
}

#[test]
fn config_json_is_tagged_and_strict() {
    let json = serde_json::to_string(&cond_mlp()).unwrap();
    assert!(json.contains(r#""kind":"mlp""#), "{json}");
    let back: NetConfig = serde_json::from_str(&json).unwrap();
    assert_eq!(back, cond_mlp());
    let unet: NetConfig = serde_json::from_str(r#"{"kind":"unet","model_channels":32}"#).unwrap();
    assert_eq!(
        unet,
        NetConfig::Unet(UnetConfig {
            model_channels: 32,
            ..UnetConfig::mnist()
        })
    );
    let mlp: NetConfig = serde_json::from_str(r#"{"kind":"mlp","dim":2}"#).unwrap();
    assert_eq!(mlp, NetConfig::Mlp(MlpConfig::new(2)));
    assert!(serde_json::from_str::<NetConfig>(r#"{"kind":"mlp","dim":2,"width":3}"#).is_err());
}

/// The same network saved again gives the same bytes (the metadata's order does not follow
/// a hash map's per-instance order), and the file still reads back.
#[test]
fn saving_the_same_network_twice_gives_identical_files() {
    tch::manual_seed(3);
    let dir = tempfile::tempdir().unwrap();
    let den = Denoiser::new(&cond_mlp(), Device::Cpu).unwrap();
    perturb(&den);
    let files: Vec<Vec<u8>> = (0..8)
        .map(|i| {
            let p = dir.path().join(format!("n{i}.safetensors"));
            den.save(&p).unwrap();
            Denoiser::load(&p, Device::Cpu).unwrap();
            std::fs::read(&p).unwrap()
        })
        .collect();
    assert!(files.windows(2).all(|w| w[0] == w[1]));
}
