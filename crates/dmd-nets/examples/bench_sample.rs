//! Throughput of the deterministic sampler `Phi_K` on the `cpu` profile's MNIST UNet (C = 16,
//! mult [1, 2, 2], 1 block, attention at 8x8) at several chunk sizes: milliseconds per
//! sample and network evaluation.
//!
//! `cargo run --release -p dmd-nets --example bench_sample -- [N] [STEPS] [THREADS] [CHUNK...]`

use dmd_nets::sampler::{Solver, sample};
use dmd_nets::{Denoiser, NetConfig, UnetConfig};
use std::time::Instant;
use tch::{Device, Kind, Tensor};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let num = |i: usize, d: i64| args.get(i).map_or(d, |s| s.parse().expect("a number"));
    let (n, steps, threads) = (num(0, 500), num(1, 4), num(2, 1));
    let chunks: Vec<i64> = if args.len() > 3 {
        args[3..]
            .iter()
            .map(|s| s.parse().expect("a chunk"))
            .collect()
    } else {
        vec![500, 256, 128, 64, 32]
    };
    tch::set_num_threads(threads as i32);
    let cfg = NetConfig::Unet(UnetConfig {
        model_channels: 16,
        dropout: 0.0,
        ..UnetConfig::cpu_small()
    });
    let den = Denoiser::new(&cfg, Device::Cpu).expect("a valid config");
    tch::manual_seed(0);
    let z = Tensor::randn([n, 1, 32, 32], (Kind::Float, Device::Cpu));
    let _ = sample(&den, &z.narrow(0, 0, 8), None, 1, Solver::Euler, 8);
    let base = chunks[0];
    let first = sample(&den, &z, None, steps as usize, Solver::Euler, base);

    for chunk in chunks {
        let t = Instant::now();
        let out = sample(&den, &z, None, steps as usize, Solver::Euler, chunk);
        let s = t.elapsed().as_secs_f64();
        let diff = (&out - &first).abs().max().double_value(&[]);
        eprintln!("max |Phi(chunk {chunk}) - Phi(chunk {})| = {diff:e}", base);
        println!(
            "{{\"chunk\":{chunk},\"n\":{n},\"steps\":{steps},\"threads\":{threads},\"ms_per_sample_nfe\":{:.3}}}",
            1e3 * s / (n * steps) as f64
        );
    }
}
