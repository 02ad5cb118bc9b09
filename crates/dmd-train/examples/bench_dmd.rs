//! Benchmark: DMD iterations per second, update ratio 5, teacher = a randomly initialised
//! network (the speed does not depend on its weights), on the paper's toy MLP (dim 4, 5x384,
//! Fourier 32) at batch 512, the CPU-profile ADM UNet (`UnetConfig::cpu_small`, 32x32x1) at
//! batch 32, or the paper's MNIST UNet (`UnetConfig::mnist`, C = 64) at the paper's batch 32.
//! `DEVICE` is `cpu` (default) or `cuda`; `BATCH` overrides the batch; `bf16` runs the forward
//! passes in bf16 (`distill.autocast = "bf16"`). Prints one JSON object.
//!
//! `cargo run --release -p dmd-train --example bench_dmd [-- ITERATIONS [mlp|unet-cpu|unet-paper
//! [DEVICE [BATCH [f32|bf16]]]]]`

use std::time::Instant;

use dmd_nets::denoiser::{Denoiser, Precision};
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
        "unet-paper" => (NetConfig::Unet(UnetConfig::mnist()), 32, 3),
        other => {
            return Err(format!("model must be mlp, unet-cpu or unet-paper, not `{other}`").into());
        }
    };
    let device = match std::env::args().nth(3).as_deref() {
        None | Some("cpu") => Device::Cpu,
        Some("cuda") => Device::Cuda(0),
        Some(other) => return Err(format!("device must be cpu or cuda, not `{other}`").into()),
    };
    let batch: usize = std::env::args()
        .nth(4)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(batch);
    let autocast = match std::env::args().nth(5).as_deref() {
        None | Some("f32") => Precision::F32,
        Some("bf16") => Precision::Bf16,
        Some(other) => return Err(format!("precision must be f32 or bf16, not `{other}`").into()),
    };
    // As the `dmd` binary does on a GPU (and the PyTorch peer).
    if device.is_cuda() {
        tch::Cuda::cudnn_set_benchmark(true);
    }
    tch::manual_seed(0);
    // The engine runs the teacher's D_real, the generator and the fake score in `autocast`.
    let teacher = Denoiser::new(&net, device)?;
    let cfg = DistillConfig {
        autocast,
        batch_size: batch,
        init: StudentInit::Teacher,
        progress: false,
        ..DistillConfig::default()
    };
    let mut engine = DmdEngine::new(&cfg, &teacher, None)?;
    for _ in 0..warmup {
        engine.iteration()?; // warm-up
    }
    // The warm-up's kernels have finished before the clock starts.
    if let Device::Cuda(i) = device {
        tch::Cuda::synchronize(i as i64);
    }
    let start = Instant::now();
    for _ in 0..iterations {
        engine.iteration()?;
    }
    // Every GPU kernel queued has finished before the clock is read.
    if let Device::Cuda(i) = device {
        tch::Cuda::synchronize(i as i64);
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
        "device": if device.is_cuda() { "cuda" } else { "cpu" },
        "bf16": autocast == Precision::Bf16,
    });
    println!("{out}");
    Ok(())
}
