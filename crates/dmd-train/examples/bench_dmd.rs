//! Benchmark: DMD iterations per second on the paper's toy MLP (dim 4, 5x384, Fourier 32),
//! batch 512, update ratio 5, teacher = a randomly initialised MLP (the speed does not depend
//! on its weights). Prints one JSON object.
//!
//! `cargo run --release -p dmd-train --example bench_dmd [-- ITERATIONS]`

use std::time::Instant;

use dmd_nets::denoiser::Denoiser;
use dmd_nets::mlp::MlpConfig;
use dmd_nets::net::NetConfig;
use dmd_train::{DistillConfig, DmdEngine, StudentInit};
use tch::Device;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let iterations: u64 = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(200);
    tch::manual_seed(0);
    let teacher = Denoiser::new(&NetConfig::Mlp(MlpConfig::new(4)), Device::Cpu)?;
    let cfg = DistillConfig {
        batch_size: 512,
        init: StudentInit::Teacher,
        progress: false,
        ..DistillConfig::default()
    };
    let mut engine = DmdEngine::new(&cfg, &teacher, None)?;
    for _ in 0..20 {
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
        "dim": 4, "hidden": 384, "layers": 5, "batch": 512, "update_ratio": 5,
        "iterations": iterations,
        "seconds": secs,
        "it_per_s": iterations as f64 / secs,
        "threads": tch::get_num_threads(),
    });
    println!("{out}");
    Ok(())
}
