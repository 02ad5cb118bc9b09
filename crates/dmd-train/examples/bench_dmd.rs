//! Benchmark: DMD iterations per second, update ratio 5, teacher = a randomly initialised
//! network (the speed does not depend on its weights), on the paper's toy MLP (dim 4, 5x384,
//! Fourier 32) at batch 512 or the CPU-profile ADM UNet (`UnetConfig::cpu_small`, 32x32x1) at
//! batch 32. Prints one JSON object.
//!
//! `cargo run --release -p dmd-train --example bench_dmd [-- ITERATIONS [mlp|unet-cpu]]`

use std::time::Instant;

use dmd_nets::denoiser::Denoiser;
use dmd_nets::mlp::MlpConfig;
use dmd_nets::net::NetConfig;
use dmd_nets::unet::UnetConfig;
use dmd_train::{DistillConfig, DmdEngine, StudentInit};
use tch::Device;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // As the `dmd` binary does (dmd_nets::allocator): fewer page faults per step.
    dmd_nets::allocator::tune_cpu_allocator();
    let iterations: u64 = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(200);
    let model = std::env::args().nth(2).unwrap_or_else(|| "mlp".into());
    let (net, batch, warmup) = match model.as_str() {
        "mlp" => (NetConfig::Mlp(MlpConfig::new(4)), 512, 20),
        "unet-cpu" => (NetConfig::Unet(UnetConfig::cpu_small()), 32, 3),
        other => return Err(format!("model must be mlp or unet-cpu, not `{other}`").into()),
    };
    tch::manual_seed(0);
    let teacher = Denoiser::new(&net, Device::Cpu)?;
    let cfg = DistillConfig {
        batch_size: batch,
        init: StudentInit::Teacher,
        progress: false,
        ..DistillConfig::default()
    };
    let mut engine = DmdEngine::new(&cfg, &teacher, None)?;
    for _ in 0..warmup {
        engine.iteration()?; // warm-up
    }
    let start = Instant::now();
    for _ in 0..iterations {
        engine.iteration()?;
    }
    let secs = start.elapsed().as_secs_f64();
    let out = serde_json::json!({
        "bench": "dmd_iteration",
        "impl": "rust-tch",
        "model": model, "params": teacher.num_parameters(), "batch": batch, "update_ratio": 5,
        "iterations": iterations,
        "seconds": secs,
        "it_per_s": iterations as f64 / secs,
        "threads": tch::get_num_threads(),
    });
    println!("{out}");
    Ok(())
}
