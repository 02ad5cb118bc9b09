//! Benchmark of the exact two-nearest-neighbour search with mean distance (paper Sec. 4.1 and
//! 4.2.1 at MNIST scale): 2000 queries x 60,000 training rows x 1024 dims, f32.
//!
//! `cargo run --release -p dmd-analysis --example bench_nn -- [--write-npy DIR] [--repeats R]
//!  [--nq N] [--nt N] [--dim D]` prints one JSON object. With `--write-npy`, the same seeded data
//! is written as `queries.npy` and `train.npy` for `bench/peers_nn.py`.
#![allow(unsafe_code)] // only for timing the bare `gemm` call as a reference

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use dmd_analysis::{NnConfig, nearest_neighbours};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Seeded data resembling MNIST in [-1, 1]: a shared low-rank structure plus noise.
fn data(n: usize, d: usize, seed: u64) -> Array2<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Array2::from_shape_simple_fn((n, d), || rng.random_range(-1.0f32..1.0))
}

fn write_npy(path: &Path, a: &Array2<f32>) -> std::io::Result<()> {
    let (n, d) = a.dim();
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({n}, {d}), }}");
    let total = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - total % 64) % 64));
    header.push('\n');
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    f.write_all(b"\x93NUMPY\x01\x00")?;
    f.write_all(&(header.len() as u16).to_le_bytes())?;
    f.write_all(header.as_bytes())?;
    for v in a.iter() {
        f.write_all(&v.to_le_bytes())?;
    }
    f.flush()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn bare_gemm(q: &Array2<f32>, x: &Array2<f32>, out: &mut [f32]) {
    let (m, k) = q.dim();
    let n = x.nrows();
    let (q, x) = (q.as_slice().unwrap(), x.as_slice().unwrap());
    assert_eq!(out.len(), m * n);
    // SAFETY: the strides address exactly the m*k, n*k and m*n elements of the three slices.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out.as_mut_ptr(),
            1,
            n as isize,
            false,
            q.as_ptr(),
            1,
            k as isize,
            x.as_ptr(),
            k as isize,
            1,
            0.0f32,
            1.0f32,
            false,
            false,
            false,
            gemm::Parallelism::Rayon(0),
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let get = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .map(|i| args[i + 1].clone())
    };
    let nq: usize = get("--nq").map_or(2000, |v| v.parse().expect("--nq"));
    let nt: usize = get("--nt").map_or(60_000, |v| v.parse().expect("--nt"));
    let d: usize = get("--dim").map_or(1024, |v| v.parse().expect("--dim"));
    let repeats: usize = get("--repeats").map_or(3, |v| v.parse().expect("--repeats"));
    let queries = data(nq, d, 1);
    let train = data(nt, d, 2);
    if let Some(dir) = get("--write-npy") {
        let dir = Path::new(&dir);
        std::fs::create_dir_all(dir).expect("create npy dir");
        write_npy(&dir.join("queries.npy"), &queries).expect("write queries.npy");
        write_npy(&dir.join("train.npy"), &train).expect("write train.npy");
    }
    let mut cfg = NnConfig::default();
    if let Some(v) = get("--query-block") {
        cfg.query_block = v.parse().expect("--query-block");
    }
    if let Some(v) = get("--train-block") {
        cfg.train_block = v.parse().expect("--train-block");
    }
    let mut nn_times = vec![];
    let mut gemm_times = vec![];
    let mut out = vec![0f32; nq * nt];
    let mut result = None;
    for _ in 0..repeats {
        let t = Instant::now();
        result = Some(nearest_neighbours(queries.view(), train.view(), &cfg).expect("nn"));
        nn_times.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        bare_gemm(&queries, &train, &mut out);
        gemm_times.push(t.elapsed().as_secs_f64());
    }
    let r = result.expect("repeats >= 1");
    let nn_s = median(nn_times.clone());
    let gemm_s = median(gemm_times.clone());
    let flops = 2.0 * nq as f64 * nt as f64 * d as f64;
    println!(
        "{{\"nq\": {nq}, \"nt\": {nt}, \"dim\": {d}, \"query_block\": {}, \"train_block\": {}, \"threads\": {}, \"nn_s\": {nn_s:.4}, \"nn_times\": {nn_times:?}, \
         \"bare_gemm_s\": {gemm_s:.4}, \"gemm_times\": {gemm_times:?}, \"nn_over_gemm\": {:.3}, \"gemm_gflops\": {:.1}, \
         \"checksum\": {{\"nearest0\": {}, \"second0\": {}, \"d1_0\": {:.6}, \"mean_distance0\": {:.6}, \"sum_nearest\": {}}}}}",
        cfg.query_block,
        cfg.train_block,
        rayon::current_num_threads(),
        nn_s / gemm_s,
        flops / gemm_s / 1e9,
        r.nearest[0],
        r.second[0],
        r.d1[0],
        r.mean_distance[0],
        r.nearest.iter().sum::<usize>()
    );
}
