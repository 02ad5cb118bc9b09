use dmd_analysis::*;
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
fn main() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let n = 1000;
    // chessboard-ish: points on a few squares, tiny spread (near-ties)
    let phi = Array2::from_shape_fn((n, 4), |(_, j)| if j < 2 { (rng.random_range(0..4) as f32) * 0.5 + rng.random::<f32>() * 0.5 } else { 0.0 });
    let g = Array2::from_shape_fn((n, 4), |(i, j)| phi[[i, j]] + if j < 2 { rng.random::<f32>() * 0.3 } else { 0.0 });
    let cost = dmd_ot::sq_euclidean_cost(phi.view(), g.view());
    for m in [dmd_ot::Method::Auto, dmd_ot::Method::Jv, dmd_ot::Method::ShortestPaths] {
        let t = std::time::Instant::now();
        let a = dmd_ot::solve_assignment_with(cost.view(), m).unwrap();
        println!("{m:?}: {:?} {:?} total {}", t.elapsed(), a.stats, a.total_cost);
    }
    let boot = BootstrapConfig { n_resamples: 20, level: 0.95, seed: 1 };
    let t = std::time::Instant::now();
    let _ = pairing::delta_e(phi.view(), g.view(), Some(&boot)).unwrap();
    println!("20 resamples {:?}", t.elapsed());
}
#[allow(dead_code)]
fn unused() {}
