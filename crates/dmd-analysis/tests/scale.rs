//! MNIST-scale smoke run of the dense measurements (2000 x 1024): PCA, Frechet distance in
//! pixel and PCA space, sliced W2, triplet projection. Prints timings; asserts only on values.
//! Ignored by default (a few seconds in release, much longer in debug):
//! `cargo test --release -p dmd-analysis --test scale -- --ignored --nocapture`.

use std::time::Instant;

use dmd_analysis::*;
use ndarray::Array2;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

#[test]
#[ignore = "MNIST-scale timing run; several seconds in release"]
fn mnist_scale_dense_measurements() {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let (n, d) = (2000, 1024);
    let x = Array2::from_shape_simple_fn((n, d), || StandardNormal.sample(&mut rng));
    let y = x.mapv(|v: f32| 0.9 * v + 0.1);
    let t = Instant::now();
    let pca = Pca::fit(x.view(), 2).unwrap();
    println!("PCA fit 2000x1024: {:.2} s", t.elapsed().as_secs_f64());
    assert_eq!(pca.components.dim(), (2, d));
    let t = Instant::now();
    let fd = frechet_distance(x.view(), y.view()).unwrap();
    println!(
        "Frechet (pixels, 1024-D): {:.2} s, FD = {fd:.3}",
        t.elapsed().as_secs_f64()
    );
    // Closed form for y = 0.9 x + 0.1 with x ~ N(0, I): |0.1|^2 d + d (1 - 0.9)^2 = 20.48,
    // up to sampling noise of the 1024-D covariance from 2000 samples.
    assert!(fd > 18.0 && fd < 23.0, "{fd}");
    let t = Instant::now();
    let fdp = frechet_distance_pca(x.view(), y.view(), 32).unwrap();
    println!(
        "Frechet (PCA-32): {:.2} s, FD = {fdp:.3}",
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let sw = sliced_wasserstein2(x.view(), y.view(), 256, 0).unwrap();
    println!(
        "SW2 (256 directions): {:.2} s, SW2 = {sw:.4}",
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let tp = TripletProjection::new(x.view(), y.view(), y.view()).unwrap();
    println!("triplet projection: {:.2} s", t.elapsed().as_secs_f64());
    assert_eq!(tp.student.dim(), (n, 2));
}
