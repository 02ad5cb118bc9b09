//! Throughput of one EDM teacher training step (noise draw, loss forward, backward, AdamW), the
//! same step as dmd-nets' `bench/peer_step.py` does in PyTorch, with the optimiser the pipeline
//! trains with: dmd-train's AdamW, whose update uses one temporary. (Fresh gradients per step,
//! as `set_to_none` does, measured slower here than zeroing the resident ones: a fresh
//! parameter-sized buffer per step costs page faults.)
//!
//! `cargo run --release -p dmd-train --example bench_step -- --model mlp|unet-cpu|unet-paper
//!  --iters N [--warmup W] [--loss fused|reference] [--threads T] [--device cpu|cuda]
//!  [--batch B] [--bf16]`
//!
//! Models: `mlp` = the toy MLP on R^4 (5x384, batch 512); `unet-cpu` = the CPU-profile UNet
//! (32x32x1, C = 32, mult [1, 2, 2], 1 block per level, attention at 8x8, batch 32);
//! `unet-paper` = the paper's MNIST UNet (`UnetConfig::mnist`, C = 64, 31M parameters, batch
//! 512 as the paper's teacher). `--bf16` runs the forward passes in bf16 (the config key
//! `teacher.autocast = "bf16"`). Prints one JSON line with `it_per_s`.

use dmd_nets::loss::{EdmLossForm, P_MEAN, P_STD, edm_loss, sample_training_sigmas};
use dmd_nets::{Denoiser, MlpConfig, NetConfig, UnetConfig};
use dmd_train::optim::{AdamW, AdamWConfig};
use std::time::Instant;
use tch::{Device, Kind, Tensor};

struct Args {
    model: String,
    iters: usize,
    warmup: usize,
    loss: String,
    threads: Option<i32>,
    device: Device,
    batch: Option<i64>,
    bf16: bool,
}

fn parse() -> Result<Args, String> {
    let mut a = Args {
        model: "mlp".into(),
        iters: 0,
        warmup: 0,
        loss: "fused".into(),
        threads: None,
        device: Device::Cpu,
        batch: None,
        bf16: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--model" => a.model = value()?,
            "--iters" => a.iters = value()?.parse().map_err(|e| format!("--iters: {e}"))?,
            "--warmup" => a.warmup = value()?.parse().map_err(|e| format!("--warmup: {e}"))?,
            "--loss" => a.loss = value()?,
            "--threads" => {
                a.threads = Some(value()?.parse().map_err(|e| format!("--threads: {e}"))?)
            }
            "--device" => {
                a.device = match value()?.as_str() {
                    "cpu" => Device::Cpu,
                    "cuda" => Device::Cuda(0),
                    other => return Err(format!("--device must be cpu or cuda, not `{other}`")),
                }
            }
            "--batch" => a.batch = Some(value()?.parse().map_err(|e| format!("--batch: {e}"))?),
            "--bf16" => a.bf16 = true,
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    if !["mlp", "unet-cpu", "unet-paper"].contains(&a.model.as_str()) {
        return Err(format!(
            "--model must be mlp, unet-cpu or unet-paper, not `{}`",
            a.model
        ));
    }
    if !["fused", "reference"].contains(&a.loss.as_str()) {
        return Err(format!(
            "--loss must be fused or reference, not `{}`",
            a.loss
        ));
    }
    let mlp = a.model == "mlp";
    if a.iters == 0 {
        a.iters = if mlp { 200 } else { 20 };
    }
    if a.warmup == 0 {
        a.warmup = if mlp { 20 } else { 3 };
    }
    Ok(a)
}

fn main() {
    // As the `dmd` binary does (dmd_nets::allocator): fewer page faults per step.
    dmd_nets::allocator::tune_cpu_allocator();
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("bench_step: {e}");
            std::process::exit(2);
        }
    };
    if let Some(t) = args.threads {
        tch::set_num_threads(t);
    }
    tch::manual_seed(0);
    let device = args.device;
    // As the `dmd` binary does on a GPU (and the PyTorch peer).
    if device.is_cuda() {
        tch::Cuda::cudnn_set_benchmark(true);
    }
    let (cfg, batch) = match args.model.as_str() {
        "mlp" => (NetConfig::Mlp(MlpConfig::new(4)), 512),
        "unet-paper" => (NetConfig::Unet(UnetConfig::mnist()), 512),
        _ => (NetConfig::Unet(UnetConfig::cpu_small()), 32),
    };
    let batch = args.batch.unwrap_or(batch);
    let mut den = Denoiser::new(&cfg, device).expect("the bench configs are valid");
    if args.bf16 {
        den.precision = dmd_nets::Precision::Bf16;
    }
    // torch.optim.AdamW's defaults, as the peer uses: betas (0.9, 0.999), eps 1e-8, wd 0.01.
    let mut opt = AdamW::for_var_store(&den.vs, AdamWConfig::default());
    let mut shape = vec![batch];
    shape.extend(cfg.data_shape());
    let y = Tensor::randn(shape.as_slice(), (Kind::Float, device)) * 0.5;
    let form = if args.loss == "fused" {
        EdmLossForm::EffectiveTarget
    } else {
        EdmLossForm::Weighted
    };

    let mut step = || {
        let sigma = sample_training_sigmas(batch, P_MEAN, P_STD, device);
        let noise = Tensor::randn(shape.as_slice(), (Kind::Float, device));
        let loss = edm_loss(&den, &y, &sigma, &noise, None, true, form);
        opt.zero_grad();
        loss.backward();
        opt.step(1e-4);
        loss
    };
    for _ in 0..args.warmup {
        let _ = step();
    }
    // The warm-up's kernels have finished before the clock starts.
    if let Device::Cuda(i) = device {
        tch::Cuda::synchronize(i as i64);
    }
    let t0 = Instant::now();
    let mut last = 0.0;
    for _ in 0..args.iters {
        last = step().double_value(&[]);
    }
    // Every GPU kernel queued has finished before the clock is read.
    if let Device::Cuda(i) = device {
        tch::Cuda::synchronize(i as i64);
    }
    let secs = t0.elapsed().as_secs_f64();
    // serde_json writes a non-finite loss as null, so the line stays JSON.
    let out = serde_json::json!({
        "impl": "rust-tch", "model": args.model, "loss": args.loss,
        "params": den.num_parameters(), "batch": batch, "iters": args.iters,
        "threads": tch::get_num_threads(),
        "device": if device.is_cuda() { "cuda" } else { "cpu" }, "bf16": args.bf16,
        "seconds": secs, "it_per_s": args.iters as f64 / secs, "last_loss": last,
    });
    println!("{out}");
}
