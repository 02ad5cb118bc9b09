//! Distribution tests of the low-dimensional toys: chessboard, moons, Gaussian mixture, and
//! their placement in R^D.

mod common;

use common::{chi_square_quantile, chi_square_uniform};
use dmd_data::{
    Chessboard, DataError, Embedder, Embedding, GaussianMixture, Moons, ToyDistribution,
};
use ndarray::{Array2, Axis, s};

#[test]
fn chessboard_points_lie_only_on_dark_squares() {
    let board = Chessboard::default();
    let data = board.generate(20_000, 0).unwrap();
    assert_eq!(data.x.shape(), &[20_000, 4]);
    assert!(data.labels.is_none());
    // Paper setting: the board is in the first two coordinates, the others are exactly zero.
    assert!(data.x.slice(s![.., 2..]).iter().all(|&v| v == 0.0));
    for p in data.x.rows() {
        assert!(p[0].abs() <= 1.0 && p[1].abs() <= 1.0, "off the board: {p}");
        let (i, j) = board.square_of(p[0], p[1]).unwrap();
        assert_eq!((i + j) % 2, 0, "point {p} on light square ({i}, {j})");
    }
    let plane = data.x.slice(s![.., ..2]);
    assert_eq!(board.fraction_on_support(plane).unwrap(), 1.0);
}

#[test]
fn chessboard_is_uniform_across_and_within_dark_squares() {
    let board = Chessboard::default();
    assert_eq!(board.dark_squares().len(), 8);
    let n = 32_000;
    let data = board.generate(n, 1).unwrap();
    // Across the 8 dark squares.
    let dark = board.dark_squares();
    let mut per_square = vec![0usize; dark.len()];
    // Within squares: each split into 4 x 4 sub-cells -> 128 cells.
    let mut per_cell = vec![0usize; dark.len() * 16];
    let side = board.square_side();
    for p in data.x.rows() {
        let sq = board.square_of(p[0], p[1]).unwrap();
        let k = dark.iter().position(|&d| d == sq).unwrap();
        per_square[k] += 1;
        let u = ((p[0] + 1.0) / side - sq.0 as f32) * 4.0;
        let v = ((p[1] + 1.0) / side - sq.1 as f32) * 4.0;
        let cell = (u.floor() as usize).min(3) + 4 * (v.floor() as usize).min(3);
        per_cell[k * 16 + cell] += 1;
    }
    let chi_sq = chi_square_uniform(&per_square);
    assert!(
        chi_sq < chi_square_quantile(7, 3.09),
        "squares chi2 {chi_sq}: {per_square:?}"
    );
    let chi_cell = chi_square_uniform(&per_cell);
    assert!(
        chi_cell < chi_square_quantile(127, 3.09),
        "cells chi2 {chi_cell}"
    );
}

#[test]
fn chessboard_support_test_rejects_light_squares_and_off_board_points() {
    let board = Chessboard::default();
    // (-0.75, -0.75): square (0,0) dark; (-0.25, -0.75): (1,0) light; (0.25, 0.25): (2,2) dark.
    assert!(board.is_on_support(-0.75, -0.75));
    assert!(!board.is_on_support(-0.25, -0.75));
    assert!(board.is_on_support(0.25, 0.25));
    assert!(!board.is_on_support(1.5, 0.0));
    assert!(!board.is_on_support(f32::NAN, 0.0));
    let pts = Array2::from_shape_vec(
        (4, 2),
        vec![-0.75, -0.75, -0.25, -0.75, 0.25, 0.25, 3.0, 3.0],
    )
    .unwrap();
    assert_eq!(board.fraction_on_support(pts.view()).unwrap(), 0.5);
    // Wrong number of columns is a typed error.
    let bad = Array2::<f32>::zeros((3, 4));
    assert!(matches!(
        board.fraction_on_support(bad.view()),
        Err(DataError::ShapeMismatch { .. })
    ));
}

#[test]
fn moons_lie_on_their_arcs() {
    // Noise-free: every point is on an arc, to float precision.
    let exact = Moons {
        noise: 0.0,
        ..Moons::default()
    };
    let data = exact.generate(5_000, 2).unwrap();
    for p in data.x.rows() {
        assert!(
            Moons::distance_to_arcs(p[0], p[1]) < 1e-5,
            "{p} is off the arcs"
        );
        assert!(p[0] >= -1.0 - 1e-5 && p[0] <= 1.0 + 1e-5 && p[1].abs() <= 0.5 + 1e-5);
    }
    // Each point is on its labelled moon: moon 0 is the upper arc of the classical frame
    // (centred at (0,0)), moon 1 the lower (centred at (1, 1/2)).
    let labels = data.labels.as_ref().unwrap();
    let mut angle_bins = vec![0usize; 10];
    for (p, &l) in data.x.rows().into_iter().zip(labels) {
        let qx = p[0] * 1.5 + 0.5;
        let qy = p[1] * 1.5 + 0.25;
        let (cx, cy, sign) = if l == 0 {
            (0.0, 0.0, 1.0)
        } else {
            (1.0, 0.5, -1.0)
        };
        let r = ((qx - cx).powi(2) + (qy - cy).powi(2)).sqrt();
        assert!(
            (r - 1.0).abs() < 1e-4,
            "label {l} point {p} not on its arc (r = {r})"
        );
        assert!(sign * (qy - cy) >= -1e-4);
        // Angle along the arc is uniform on [0, pi].
        let t = (sign * (qy - cy)).atan2(sign * (qx - cx));
        let bin = ((t / std::f32::consts::PI) * 10.0).floor().clamp(0.0, 9.0) as usize;
        angle_bins[bin] += 1;
    }
    let chi = chi_square_uniform(&angle_bins);
    assert!(
        chi < chi_square_quantile(9, 3.09),
        "angle chi2 {chi}: {angle_bins:?}"
    );
    let ones = labels.iter().filter(|&&l| l == 1).count();
    assert!(
        (ones as f64 / 5_000.0 - 0.5).abs() < 0.03,
        "moon balance {ones}/5000"
    );
}

#[test]
fn noisy_moons_scatter_by_the_noise_level() {
    let moons = Moons::default();
    let data = moons.generate(10_000, 3).unwrap();
    let plane = data.x.slice(s![.., ..2]);
    let on = moons.fraction_on_support(plane).unwrap();
    assert!(on > 0.99, "only {on} within 3 sigma of the arcs");
    // The distance to the arcs has RMS ~ the perpendicular noise std 2/3 * 0.05.
    let rms = (plane
        .rows()
        .into_iter()
        .map(|p| Moons::distance_to_arcs(p[0], p[1]).powi(2) as f64)
        .sum::<f64>()
        / 10_000.0)
        .sqrt();
    let want = 2.0 / 3.0 * 0.05;
    assert!(
        (rms / want - 1.0).abs() < 0.15,
        "rms distance {rms} vs {want}"
    );
    // Points far from the arcs are not on the support.
    assert!(!moons.is_on_support(0.0, 0.0));
    assert!(moons.is_on_support(-1.0, -0.25 * 2.0 / 3.0));
}

#[test]
fn gmm_component_frequencies_and_spread_match() {
    let gmm = GaussianMixture::default();
    let means = gmm.means().unwrap();
    assert_eq!(means.shape(), &[32, 4]);
    assert!(means.iter().all(|m| m.abs() <= 0.8));
    for i in 0..32 {
        for j in 0..i {
            let d = (&means.row(i) - &means.row(j)).mapv(|v| v * v).sum().sqrt();
            assert!(d >= 0.2 - 1e-6, "means {i} and {j} only {d} apart");
        }
    }
    let n = 32_000;
    let data = gmm.generate(n, 4).unwrap();
    assert_eq!(data.num_classes, Some(32));
    let counts = data.class_counts().unwrap();
    let chi = chi_square_uniform(&counts);
    assert!(
        chi < chi_square_quantile(31, 3.09),
        "component chi2 {chi}: {counts:?}"
    );
    // Residuals about the labelled mean: zero mean, std 0.05 per coordinate.
    let labels = data.labels.as_ref().unwrap();
    let mut residuals = data.x.clone();
    for (mut r, &l) in residuals.rows_mut().into_iter().zip(labels) {
        r -= &means.row(l as usize);
    }
    let std = residuals.std_axis(Axis(0), 0.0);
    let mean = residuals.mean_axis(Axis(0)).unwrap();
    for (&sd, &mu) in std.iter().zip(mean.iter()) {
        assert!((sd / 0.05 - 1.0).abs() < 0.03, "component std {sd}");
        assert!(mu.abs() < 0.002, "residual mean {mu}");
    }
    // The nearest mean recovers the component label for almost every sample.
    let nearest = gmm.nearest_component(data.x.view()).unwrap();
    let agree = nearest.iter().zip(labels).filter(|(a, b)| a == b).count();
    assert!(agree as f64 / n as f64 > 0.99, "{agree}/{n}");
    assert!(gmm.fraction_on_support(data.x.view()).unwrap() > 0.999);
    // Means are a property of the distribution, not of the sample seed.
    assert_eq!(gmm.means().unwrap(), means);
    let other = GaussianMixture {
        means_seed: 1,
        ..GaussianMixture::default()
    };
    assert_ne!(other.means().unwrap(), means);
}

#[test]
fn random_isometry_preserves_pairwise_distances() {
    let board = Chessboard::default();
    let plane = board
        .generate(200, 5)
        .unwrap()
        .x
        .slice(s![.., ..2])
        .to_owned();
    let iso = Embedder::new(2, 1024, &Embedding::RandomIsometry { seed: 11 }).unwrap();
    let q = iso.matrix();
    let qqt = q.dot(&q.t());
    for ((i, j), v) in qqt.indexed_iter() {
        let want = if i == j { 1.0 } else { 0.0 };
        assert!((v - want).abs() < 1e-5, "Q Q^T[{i},{j}] = {v}");
    }
    let high = iso.embed(plane.view()).unwrap();
    assert_eq!(high.shape(), &[200, 1024]);
    // The data really spread over many coordinates (not the first two).
    assert!(high.slice(s![.., 2..]).iter().any(|v| v.abs() > 1e-3));
    for a in 0..200 {
        for b in (a + 1)..200 {
            let d_low = (&plane.row(a) - &plane.row(b)).mapv(|v| v * v).sum().sqrt();
            let d_high = (&high.row(a) - &high.row(b)).mapv(|v| v * v).sum().sqrt();
            assert!(
                (d_low - d_high).abs() < 1e-5 * (1.0 + d_low),
                "{d_low} vs {d_high}"
            );
        }
    }
    // Projection inverts the embedding; embedded points are on the plane.
    let back = iso.project(high.view()).unwrap();
    assert!(
        back.iter()
            .zip(plane.iter())
            .all(|(a, b)| (a - b).abs() < 1e-5)
    );
    assert!(
        iso.off_plane_distance(high.view())
            .unwrap()
            .iter()
            .all(|&d| d < 1e-5)
    );
    // A different seed gives a different plane.
    let other = Embedder::new(2, 1024, &Embedding::RandomIsometry { seed: 12 }).unwrap();
    assert_ne!(other.matrix(), iso.matrix());
}

#[test]
fn support_report_separates_plane_support_from_off_plane_noise() {
    let board = Chessboard {
        ambient_dim: 32,
        embedding: Embedding::RandomIsometry { seed: 3 },
        ..Chessboard::default()
    };
    let data = board.generate(1_000, 6).unwrap();
    let clean = board.support_report(data.x.view(), 0.01).unwrap();
    assert_eq!(clean.fraction_on_support, 1.0);
    assert!(clean.mean_off_plane_distance < 1e-5);
    // Push every point 0.5 away from the plane along a direction orthogonal to it.
    let embedder = board.embedder().unwrap();
    let q = embedder.matrix();
    let mut dir = ndarray::Array1::<f32>::zeros(32);
    dir[0] = 1.0;
    let inplane = q.t().dot(&q.dot(&dir));
    let mut normal = &dir - &inplane;
    let norm = normal.dot(&normal).sqrt();
    normal /= norm;
    let shifted = &data.x + &(normal.insert_axis(Axis(0)) * 0.5);
    let report = board.support_report(shifted.view(), 0.1).unwrap();
    assert_eq!(report.fraction_projected_on_support, 1.0);
    assert_eq!(report.fraction_on_support, 0.0);
    assert!((report.mean_off_plane_distance - 0.5).abs() < 1e-4);
    // Points on light squares fail even on the plane.
    let light = Array2::from_shape_vec((1, 2), vec![-0.25f32, -0.75]).unwrap();
    let light_high = embedder.embed(light.view()).unwrap();
    let r = board.support_report(light_high.view(), 0.1).unwrap();
    assert_eq!(r.fraction_projected_on_support, 0.0);
}

#[test]
fn same_seed_same_data_different_seed_different_data() {
    let toys: Vec<Box<dyn ToyDistribution>> = vec![
        Box::new(Chessboard::default()),
        Box::new(Moons::default()),
        Box::new(GaussianMixture::default()),
        Box::new(Chessboard {
            ambient_dim: 128,
            embedding: Embedding::RandomIsometry { seed: 1 },
            ..Chessboard::default()
        }),
    ];
    for toy in toys {
        let a = toy.generate(300, 42).unwrap();
        let b = toy.generate(300, 42).unwrap();
        let c = toy.generate(300, 43).unwrap();
        assert_eq!(a, b);
        assert_ne!(a.x, c.x);
    }
}

#[test]
fn invalid_parameters_are_typed_errors() {
    let cases: Vec<Box<dyn ToyDistribution>> = vec![
        Box::new(Chessboard {
            ambient_dim: 1,
            ..Chessboard::default()
        }),
        Box::new(Chessboard {
            squares_per_side: 0,
            ..Chessboard::default()
        }),
        Box::new(Chessboard {
            half_width: -1.0,
            ..Chessboard::default()
        }),
        Box::new(Moons {
            noise: f32::NAN,
            ..Moons::default()
        }),
        Box::new(GaussianMixture {
            components: 0,
            ..GaussianMixture::default()
        }),
        Box::new(GaussianMixture {
            ambient_dim: 3,
            ..GaussianMixture::default()
        }),
        Box::new(GaussianMixture {
            component_std: 0.0,
            ..GaussianMixture::default()
        }),
        // 100 components 0.2 apart cannot fit in [-0.8, 0.8]^1.
        Box::new(GaussianMixture {
            dim: 1,
            ambient_dim: 1,
            components: 100,
            ..GaussianMixture::default()
        }),
    ];
    for toy in cases {
        let err = toy.generate(10, 0).unwrap_err();
        assert!(matches!(err, DataError::InvalidParameter { .. }), "{err}");
        assert!(!err.to_string().is_empty());
    }
    assert!(Embedder::new(3, 2, &Embedding::FirstCoordinates {}).is_err());
    assert!(Embedder::new(0, 2, &Embedding::FirstCoordinates {}).is_err());
}
