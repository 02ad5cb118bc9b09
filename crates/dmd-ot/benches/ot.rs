//! Criterion benchmarks: cost matrix and exact assignment at N = 1000, 2000, 4000 for d = 4 and
//! d = 1024, plus Sinkhorn iterations. Data: seeded Gaussian sets (see `common/mod.rs`).

#![allow(missing_docs)]

mod common;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use dmd_ot::{SinkhornConfig, sinkhorn, solve_assignment, sq_euclidean_cost};
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

/// Ten Sinkhorn iterations at a fixed eps (5% of the cost spread), setup included.
fn bench_sinkhorn(cr: &mut Criterion) {
    let mut group = cr.benchmark_group("sinkhorn_10_iters");
    group.sample_size(10);
    for d in [4usize, 1024] {
        for n in sizes() {
            let (phi, g) = common::point_sets(n, d, 0);
            let c = sq_euclidean_cost(phi.view(), g.view());
            let cfg = SinkhornConfig {
                max_iter: 10,
                tol: 1e-300,
                epsilon_rel: 0.05,
                initial_epsilon_rel: 0.05,
                ..SinkhornConfig::default()
            };
            group.bench_with_input(BenchmarkId::new(format!("d{d}"), n), &n, |b, _| {
                b.iter(|| sinkhorn(c.view(), &cfg).expect("finite cost"))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench_assignment, bench_sinkhorn);
criterion_main!(benches);
