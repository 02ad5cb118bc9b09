#![allow(missing_docs)]
#[path = "../benches/common/mod.rs"]
mod common;
use dmd_ot::*;
use std::time::Instant;
fn main() {
    let n: usize = std::env::args().nth(1).unwrap().parse().unwrap();
    let (phi, g) = common::point_sets(n, 1024, 0);
    let c = sq_euclidean_cost(phi.view(), g.view());
    let mut ts = vec![];
    for it in [10usize, 110] {
        let cfg = SinkhornConfig { max_iter: it, tol: 1e-300, epsilon_rel: 1.0, ..Default::default() };
        let t = Instant::now();
        let r = sinkhorn(c.view(), &cfg).unwrap();
        ts.push(t.elapsed().as_secs_f64());
        println!("iters {} err {:e} t {:.3}", r.iterations, r.marginal_error, ts.last().unwrap());
    }
    println!("ms/iter {:.3}", (ts[1] - ts[0]) * 10.0);
}
