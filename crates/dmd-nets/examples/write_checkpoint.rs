//! Writes a checkpoint of a small conditional UNet plus an independent dump of its tensors, for
//! the Python interop check `scripts/check_safetensors.py`.
//!
//! `cargo run -p dmd-nets --example write_checkpoint -- PATH` writes `PATH` (safetensors) and the
//! folder `PATH.dump/` holding one `<tensor name>.npy` per tensor and `config.json`.

use dmd_nets::{Denoiser, NetConfig, UnetConfig};
use std::path::PathBuf;
use tch::{Device, Kind, Tensor};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = PathBuf::from(
        std::env::args()
            .nth(1)
            .ok_or("usage: write_checkpoint PATH (the .safetensors file to write)")?,
    );
    tch::manual_seed(0);
    let cfg = NetConfig::Unet(UnetConfig {
        num_classes: 10,
        ..UnetConfig::cpu_small()
    });
    let den = Denoiser::new(&cfg, Device::Cpu)?;
    // Non-zero values in the zero-initialised layers, so every tensor carries information.
    tch::no_grad(|| {
        for mut t in den.vs.trainable_variables() {
            t += Tensor::randn(t.size(), (Kind::Float, Device::Cpu)) * 0.01;
        }
    });
    den.save(&path)?;

    let mut dump = path.clone().into_os_string();
    dump.push(".dump");
    let dump = PathBuf::from(dump);
    std::fs::create_dir_all(&dump)?;
    let vars = den.vs.variables();
    for (name, t) in &vars {
        t.detach().write_npy(dump.join(format!("{name}.npy")))?;
    }
    std::fs::write(
        dump.join("config.json"),
        serde_json::to_string_pretty(&den.config)?,
    )?;
    println!(
        "{{\"checkpoint\": {:?}, \"dump\": {:?}, \"tensors\": {}, \"parameters\": {}}}",
        path.display().to_string(),
        dump.display().to_string(),
        vars.len(),
        den.num_parameters()
    );
    Ok(())
}
