//! Criterion benchmarks: cost matrix and exact assignment at N = 1000, 2000, 4000 for d = 4 and
//! d = 1024, plus Sinkhorn iterations. Data: seeded Gaussian sets (see `common/mod.rs`).

#![allow(missing_docs)]

mod common;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use dmd_ot::{solve_assignment, sq_euclidean_cost};
use std::time::Duration;

fn sizes() -> Vec<usize> {
    match std::env::var("DMD_OT_BENCH_N") {
        Ok(s) => s.split(',').filter_map(|t| t.trim().parse().ok()).collect(),
        Err(_) => vec![1000, 2000, 4000],
    }
}

fn bench_assignment(cr: &mut Criterion) {
    for d in [4usize, 1024] {
        let mut group = cr.benchmark_group(format!("d{d}"));
        group.sample_size(10);
        group.measurement_time(Duration::from_secs(10));
        for n in sizes() {
            let (phi, g) = common::point_sets(n, d, 0);
            group.bench_with_input(BenchmarkId::new("cost_matrix", n), &n, |b, _| {
                b.iter(|| sq_euclidean_cost(phi.view(), g.view()))
            });
            let c = sq_euclidean_cost(phi.view(), g.view());
            group.bench_with_input(BenchmarkId::new("assignment", n), &n, |b, _| {
                b.iter(|| solve_assignment(c.view()).expect("finite square cost"))
            });
            group.bench_with_input(BenchmarkId::new("cost_plus_assignment", n), &n, |b, _| {
                b.iter(|| {
                    let c = sq_euclidean_cost(phi.view(), g.view());
                    solve_assignment(c.view()).expect("finite square cost")
                })
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench_assignment);
criterion_main!(benches);
