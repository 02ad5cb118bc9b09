//! Tests with known answers for the measurements of dmd-analysis.

use dmd_analysis::*;
use ndarray::{Array2, array};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

fn gaussian(n: usize, d: usize, seed: u64) -> Array2<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Array2::from_shape_fn((n, d), |_| StandardNormal.sample(&mut rng))
}

#[test]
fn stacked_queries_split_into_the_separate_searches() {
    let (a, b, x) = (gaussian(9, 6, 40), gaussian(5, 6, 41), gaussian(80, 6, 42));
    let cfg = NnConfig::default();
    let stacked = ndarray::concatenate(ndarray::Axis(0), &[a.view(), b.view()]).unwrap();
    let mut both = nearest_neighbours(stacked.view(), x.view(), &cfg).unwrap();
    let tail = both.split_off(9);
    let (na, nb) = (
        nearest_neighbours(a.view(), x.view(), &cfg).unwrap(),
        nearest_neighbours(b.view(), x.view(), &cfg).unwrap(),
    );
    assert_eq!((both.nearest, both.second), (na.nearest, na.second));
    assert_eq!((tail.nearest, tail.second), (nb.nearest, nb.second));
    assert_eq!(tail.d1.len(), 5);
}

#[test]
fn nn_search_equals_brute_force() {
    for (nq, nt, d, seed) in [(37, 501, 19, 1), (5, 2, 3, 2), (130, 700, 64, 3)] {
        let q = gaussian(nq, d, seed);
        let x = gaussian(nt, d, seed + 100);
        let bf = nearest_neighbours_brute_force(q.view(), x.view()).unwrap();
        for cfg in [
            NnConfig::default(),
            NnConfig {
                query_block: 7,
                train_block: 33,
                candidates: 2,
            },
        ] {
            let nn = nearest_neighbours(q.view(), x.view(), &cfg).unwrap();
            assert_eq!(nn.nearest, bf.nearest);
            assert_eq!(nn.second, bf.second);
            for i in 0..nq {
                assert!((nn.d1[i] - bf.d1[i]).abs() < 1e-9);
                assert!((nn.d2[i] - bf.d2[i]).abs() < 1e-9);
                let rel = (nn.mean_distance[i] - bf.mean_distance[i]).abs() / bf.mean_distance[i];
                assert!(rel < 1e-4, "D(z) rel err {rel}");
            }
        }
    }
}

#[test]
fn nn_rejects_bad_input() {
    let q = gaussian(3, 4, 0);
    assert!(nearest_neighbours(q.view(), gaussian(5, 3, 1).view(), &NnConfig::default()).is_err());
    assert!(nearest_neighbours(q.view(), gaussian(1, 4, 1).view(), &NnConfig::default()).is_err());
    let mut bad = gaussian(5, 4, 1);
    bad[[2, 2]] = f32::NAN;
    assert!(nearest_neighbours(q.view(), bad.view(), &NnConfig::default()).is_err());
    let mut inf = gaussian(5, 4, 1);
    inf[[4, 0]] = f32::INFINITY;
    assert!(nearest_neighbours(q.view(), inf.view(), &NnConfig::default()).is_err());
    let mut bad_q = gaussian(3, 4, 0);
    bad_q[[0, 3]] = f32::NEG_INFINITY;
    assert!(
        nearest_neighbours(bad_q.view(), gaussian(5, 4, 1).view(), &NnConfig::default()).is_err()
    );
}

#[test]
fn ratio_and_mean_distance_on_hand_made_points() {
    // Training points on a line: 0, 1, 3, 10 (in the first coordinate).
    let x = array![[0.0f32, 0.0], [1.0, 0.0], [3.0, 0.0], [10.0, 0.0]];
    let y = array![[0.5f32, 0.0], [2.9, 0.0], [0.0, 0.0]];
    let nn = nearest_neighbours(y.view(), x.view(), &NnConfig::default()).unwrap();
    let r = memorisation_ratios(&nn);
    // y=0.5 is equidistant from 0 and 1 -> r = 1.
    assert!((r[0] - 1.0).abs() < 1e-12);
    // y=2.9: d1 = 0.1 (to 3), d2 = 1.9 (to 1).
    assert_eq!(nn.nearest[1], 2);
    assert_eq!(nn.second[1], 1);
    assert!((r[1] - 0.1 / 1.9).abs() < 1e-6);
    // Exact copy of a training point -> r = 0.
    assert_eq!(r[2], 0.0);
    // D(y) for y = 2.9: (2.9 + 1.9 + 0.1 + 7.1) / 4 = 3.0.
    assert!((nn.mean_distance[1] - 3.0).abs() < 1e-5);
    assert!((memorised_fraction(&r, DEFAULT_MEMORISATION_THRESHOLD) - 2.0 / 3.0).abs() < 1e-12);
    let s = MemorisationSummary::from_neighbours(&nn, 1.0 / 3.0).unwrap();
    assert_eq!(s.n, 3);
    assert!((s.median_ratio - 0.1 / 1.9).abs() < 1e-6);
    assert!(MemorisationSummary::from_neighbours(&nn, 0.0).is_err());
}

#[test]
fn displacement_on_hand_made_points() {
    let phi_k = array![[0.0f32, 0.0], [1.0, 1.0]];
    let phi_1 = array![[3.0f32, 4.0], [1.0, 2.0]];
    let g = array![[0.0f32, 1.0], [1.0, 4.0]];
    let p = DisplacementPairs::new(phi_k.view(), phi_1.view(), g.view()).unwrap();
    assert_eq!(p.teacher_one_step, vec![5.0, 1.0]);
    assert_eq!(p.student, vec![1.0, 3.0]);
    assert_eq!(p.delta(), vec![-4.0, 2.0]);
    assert_eq!(p.fraction_closer(), 0.5);
    assert_eq!(
        relative_displacement(g.view(), phi_k.view(), phi_1.view()).unwrap(),
        vec![-4.0, 2.0]
    );
    assert!(row_distances(phi_k.view(), array![[0.0f32]].view()).is_err());
}

#[test]
fn pca_recovers_axes_of_anisotropic_gaussian() {
    // Standard deviations 5, 2, 0.5 along a rotated orthonormal basis.
    let (c, s) = (0.6f64, 0.8f64);
    let basis = array![[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]];
    let z = gaussian(4000, 3, 7);
    let scales = [5.0f64, 2.0, 0.5];
    let x = Array2::from_shape_fn((4000, 3), |(i, j)| {
        (0..3)
            .map(|k| f64::from(z[[i, k]]) * scales[k] * basis[[k, j]])
            .sum::<f64>() as f32
            + 10.0
    });
    let pca = Pca::fit(x.view(), 2).unwrap();
    for k in 0..2 {
        let dot: f64 = (0..3).map(|j| pca.components[[k, j]] * basis[[k, j]]).sum();
        assert!(
            dot.abs() > 0.999,
            "component {k} off axis: |cos| = {}",
            dot.abs()
        );
        let var = pca.explained_variance[k];
        assert!(
            (var / scales[k].powi(2) - 1.0).abs() < 0.1,
            "variance {var}"
        );
    }
    assert!((pca.mean[0] - 10.0).abs() < 0.3);
    let proj = pca.project(x.view()).unwrap();
    assert_eq!(proj.dim(), (4000, 2));
    let ratio = pca.explained_variance_ratio();
    assert!(ratio[0] > 0.8 && ratio[0] < 0.9);
    assert!(Pca::fit(x.view(), 4).is_err());
}

#[test]
fn correlations_on_synthetic_data_with_known_correlation() {
    let n = 5000;
    let rho = 0.6f64;
    let z = gaussian(n, 2, 11);
    let x: Vec<f64> = (0..n).map(|i| f64::from(z[[i, 0]])).collect();
    let y: Vec<f64> = (0..n)
        .map(|i| rho * x[i] + (1.0 - rho * rho).sqrt() * f64::from(z[[i, 1]]))
        .collect();
    let p = pearson(&x, &y).unwrap();
    assert!((p.r - rho).abs() < 0.03, "pearson {}", p.r);
    assert!(p.p_value < 1e-10);
    // Spearman of a bivariate normal: (6/pi) asin(rho/2).
    let expected = 6.0 / std::f64::consts::PI * (rho / 2.0).asin();
    let s = spearman(&x, &y).unwrap();
    assert!((s.r - expected).abs() < 0.03, "spearman {}", s.r);
    // Monotone transform: Spearman 1, Pearson < 1.
    let e: Vec<f64> = x.iter().map(|v| v.exp()).collect();
    assert!((spearman(&x, &e).unwrap().r - 1.0).abs() < 1e-12);
    assert!(pearson(&x, &e).unwrap().r < 0.95);
    // Independent: p-value not tiny.
    let w: Vec<f64> = (0..n).map(|i| f64::from(z[[i, 1]])).collect();
    assert!(pearson(&x, &w).unwrap().p_value > 0.001);
    assert!(pearson(&x[..2], &w[..2]).is_err());
}

#[test]
fn ranks_average_ties() {
    assert_eq!(
        correlation::ranks(&[3.0, 1.0, 3.0, 2.0]),
        vec![3.5, 1.0, 3.5, 2.0]
    );
}

#[test]
fn sliced_w2_zero_for_identical_and_closed_form_for_shift() {
    let x = gaussian(500, 4, 3);
    assert_eq!(sliced_wasserstein2(x.view(), x.view(), 64, 0).unwrap(), 0.0);
    // Shift by mu: projected W2^2 = (theta.mu)^2 exactly, E over the sphere = |mu|^2 / d; with
    // 2000 directions the Monte Carlo error of SW2 is about 1.1% (sd).
    let mu = [2.0f32, -1.0, 0.5, 1.0];
    let mut y = x.clone();
    for mut r in y.rows_mut() {
        for (v, m) in r.iter_mut().zip(mu) {
            *v += m;
        }
    }
    let expected = (mu.iter().map(|m| m * m).sum::<f32>() as f64 / 4.0).sqrt();
    let sw = sliced_wasserstein2(x.view(), y.view(), 4000, 1).unwrap();
    assert!(
        (sw - expected).abs() / expected < 0.03,
        "{sw} vs {expected}"
    );
    // Deterministic in the seed.
    let a = sliced_wasserstein2(x.view(), gaussian(300, 4, 9).view(), 32, 5).unwrap();
    let b = sliced_wasserstein2(x.view(), gaussian(300, 4, 9).view(), 32, 5).unwrap();
    assert_eq!(a, b);
}

#[test]
fn w2_1d_unequal_sizes() {
    // {0, 1} vs {0.5}: integral of (q - 0.5)^2 = 0.25.
    let w = distribution_fit::wasserstein2_sq_1d_sorted(&[0.0, 1.0], &[0.5]);
    assert!((w - 0.25).abs() < 1e-12);
}

#[test]
fn frechet_closed_form() {
    let x = gaussian(500, 5, 4);
    assert!(frechet_distance(x.view(), x.view()).unwrap() < 1e-8);
    // Diagonal Gaussians: FD = |mu1-mu2|^2 + sum (s1 - s2)^2.
    let d = 3;
    let a = GaussianFit {
        mean: ndarray::arr1(&[0.0, 1.0, 2.0]),
        covariance: Array2::from_diag(&ndarray::arr1(&[1.0, 4.0, 9.0])),
    };
    let b = GaussianFit {
        mean: ndarray::arr1(&[1.0, 1.0, 0.0]),
        covariance: Array2::from_diag(&ndarray::arr1(&[4.0, 4.0, 1.0])),
    };
    let fd = frechet_distance_from_moments(&a, &b).unwrap();
    let expected = (1.0 + 0.0 + 4.0) + (1.0 + 0.0 + 4.0);
    assert!((fd - expected).abs() < 1e-9, "{fd}");
    let _ = d;
    // Full covariances: FD(N(0, S), N(0, S)) = 0 with a non-diagonal S.
    let s = ndarray::array![[2.0, 0.5], [0.5, 1.0]];
    let g = GaussianFit {
        mean: ndarray::arr1(&[0.0, 0.0]),
        covariance: s,
    };
    assert!(frechet_distance_from_moments(&g, &g).unwrap() < 1e-10);
    // Sample version: a shift of (3, 0, ...) gives FD ~ 9.
    let mut y = gaussian(4000, 5, 5);
    y.column_mut(0).mapv_inplace(|v| v + 3.0);
    let big = gaussian(4000, 5, 6);
    let fd = frechet_distance(big.view(), y.view()).unwrap();
    assert!((fd - 9.0).abs() < 0.5, "{fd}");
    let rep = FrechetReport::new("pixels", big.view(), y.view(), Some(big.view()), None).unwrap();
    assert!((rep.student - fd).abs() < 1e-9 && rep.teacher_one_step.unwrap() < 1e-9);
    let rep = FrechetReport::in_pca_space(5, big.view(), y.view(), None, None).unwrap();
    assert!((rep.student - fd).abs() < 1e-3 * fd && rep.space == "pca-5");
    let sw = SlicedW2Report::new(big.view(), y.view(), Some(big.view()), None, 16, 0).unwrap();
    assert!(sw.student > 0.5 && sw.teacher_one_step == Some(0.0) && sw.floor.is_none());
    let fdp = frechet_distance_pca(big.view(), y.view(), 5).unwrap();
    assert!((fdp - fd).abs() < 1e-3 * fd.max(1.0), "{fdp} vs {fd}");
}

#[test]
fn bootstrap_interval_of_the_mean_covers_truth() {
    let x: Vec<f64> = gaussian(400, 1, 8)
        .iter()
        .map(|&v| f64::from(v) + 2.0)
        .collect();
    let ci = bootstrap_interval(x.len(), &BootstrapConfig::default(), |idx| {
        Ok(idx.iter().map(|&i| x[i]).sum::<f64>() / idx.len() as f64)
    })
    .unwrap();
    assert!(ci.lower < 2.0 && 2.0 < ci.upper, "{ci:?}");
    let width = ci.upper - ci.lower;
    // Theoretical 95% width: 2 * 1.96 / sqrt(400) = 0.196.
    assert!((width - 0.196).abs() < 0.05, "{width}");
}

/// A student that half-copies: `g = phi + noise`, whose `Delta_E` is moderate.
fn half_copy(n: usize, seed: u64) -> (Array2<f32>, Array2<f32>) {
    let phi = gaussian(n, 8, seed);
    let g = &phi + &gaussian(n, 8, seed + 1000).mapv(|v| 1.5 * v);
    (phi, g)
}

#[test]
fn delta_e_interval_is_centred_on_the_estimate_and_calibrated() {
    let n = 100;
    let cfg = BootstrapConfig {
        n_resamples: 60,
        level: 0.9,
        seed: 1,
    };
    let (phi, g) = half_copy(n, 1);
    let est = delta_e(phi.view(), g.view(), Some(&cfg)).unwrap();
    let iv = est.delta_e_interval.unwrap();
    assert!(est.delta_e > 0.05, "{}", est.delta_e);
    assert!(
        iv.lower <= est.delta_e && est.delta_e <= iv.upper,
        "{iv:?} vs {}",
        est.delta_e
    );
    let cs = est.copy_score_interval.unwrap();
    assert!(
        cs.lower <= est.copy_score && est.copy_score <= cs.upper,
        "{cs:?}"
    );
    // Resamples hold ~63% distinct seeds, whose optimal assignment costs more: their Delta_E
    // sits below the estimate, which is what the re-centring corrects.
    assert!(iv.centre_shift > 0.0, "{iv:?}");
    // The interval's width matches the spread of Delta_E over fresh draws of N seeds
    // (90% interval = 2 * 1.645 standard deviations for a normal spread).
    let fresh: Vec<f64> = (0..12)
        .map(|s| {
            let (p, q) = half_copy(n, 100 + s);
            delta_e(p.view(), q.view(), None).unwrap().delta_e
        })
        .collect();
    let mean = fresh.iter().sum::<f64>() / fresh.len() as f64;
    let sd =
        (fresh.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (fresh.len() - 1) as f64).sqrt();
    let ratio = (iv.upper - iv.lower) / (2.0 * 1.645 * sd);
    assert!(
        (0.4..2.5).contains(&ratio),
        "width {iv:?}, fresh sd {sd}, ratio {ratio}"
    );
}

#[test]
fn metrics_round_trip() {
    let m = RunMetrics {
        label: "toy".into(),
        n_samples: 10,
        pca: Some(PcaSummary {
            explained_variance_ratio: vec![0.5, 0.2],
        }),
        ..Default::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("metrics.json");
    m.write(&path).unwrap();
    assert_eq!(RunMetrics::read(&path).unwrap(), m);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("\"memorisation\": null"));
    // Files written before diversity was measured have no `diversity` key and still load.
    let old: String = text
        .lines()
        .filter(|l| !l.contains("\"diversity\""))
        .collect::<Vec<_>>()
        .join("\n")
        .replace("]\n  },\n}", "]\n  }\n}");
    assert_eq!(RunMetrics::from_json(&old).unwrap(), m, "{old}");
}

#[test]
fn delta_e_controls_behave() {
    let n = 120;
    let phi = gaussian(n, 16, 21);
    // A student that copies: the teacher plus tiny noise -> Delta_E ~ 0, copy score ~ 1.
    let noise = gaussian(n, 16, 22);
    let g = &phi + &(noise.mapv(|v| 0.01 * v));
    let cfg = BootstrapConfig {
        n_resamples: 30,
        level: 0.9,
        seed: 3,
    };
    let copy = delta_e(phi.view(), g.view(), Some(&cfg)).unwrap();
    assert!(copy.delta_e < 1e-9, "{}", copy.delta_e);
    assert!((copy.copy_score - 1.0).abs() < 1e-9);
    assert_eq!(copy.fixed_point_fraction, 1.0);
    let iv = copy.delta_e_interval.unwrap();
    assert!(iv.lower >= 0.0 && iv.upper < 1e-6 && iv.n_resamples == 30);
    // Permuting the student's rows destroys the pairing: Delta_E large, copy score ~ 0.
    let perm = delta_e(phi.view(), permute_rows(g.view(), 5).view(), None).unwrap();
    assert!(perm.delta_e > 100.0, "{}", perm.delta_e);
    assert!(perm.copy_score.abs() < 0.2, "{}", perm.copy_score);
    // Scale invariance (paper Lemma 3).
    let g2 = g.mapv(|v| 3.0 * v);
    let phi2 = phi.mapv(|v| 3.0 * v);
    let noisy = &g + &(noise.mapv(|v| 0.5 * v));
    let a = delta_e(phi.view(), noisy.view(), None).unwrap();
    let b = delta_e(phi2.view(), (&g2 + &noise.mapv(|v| 1.5 * v)).view(), None).unwrap();
    assert!((a.delta_e - b.delta_e).abs() < 1e-6 * a.delta_e.max(1.0));
    // Report: student copies, the independent-seed reference remaps.
    let independent = gaussian(n, 16, 99);
    let sets = PairingSets {
        k: 8,
        phi_k: phi.view(),
        g: noisy.view(),
        fine: Some((32, phi.view())),
        phi_1: Some(g.view()),
        phi_k_independent: Some(independent.view()),
    };
    let rep = PairingReport::new(&sets, None, 1).unwrap();
    assert!(rep.student.delta_e < rep.fully_remapped.as_ref().unwrap().delta_e);
    assert!(rep.permuted.delta_e > 10.0 * rep.student.delta_e);
    assert_eq!(rep.fine_k, Some(32));
    // The heatmap's assignment is optimal: the identity for a copying student.
    let h = DistanceHeatmap::new(phi.view(), g.view(), 50).unwrap();
    assert_eq!(h.assignment, (0..50).collect::<Vec<_>>());
    assert_eq!(h.cost.dim(), (50, 50));
    assert!(DistanceHeatmap::new(phi.view(), g.view(), 500).is_err());
}

#[test]
fn nn_exact_despite_large_common_offset() {
    // A large common offset makes ||y||^2 + ||x||^2 - 2 y.x lose most of its f32 digits; the
    // exact f64 re-ranking of the candidates must still return the brute-force winners.
    let q = gaussian(40, 16, 31).mapv(|v| 300.0 + 0.05 * v);
    let x = gaussian(400, 16, 32).mapv(|v| 300.0 + 0.05 * v);
    let bf = nearest_neighbours_brute_force(q.view(), x.view()).unwrap();
    let cfg = NnConfig {
        candidates: MAX_CANDIDATES,
        ..NnConfig::default()
    };
    let nn = nearest_neighbours(q.view(), x.view(), &cfg).unwrap();
    assert_eq!(nn.nearest, bf.nearest);
    assert_eq!(nn.second, bf.second);
    for i in 0..40 {
        assert!((nn.d1[i] - bf.d1[i]).abs() < 1e-9);
    }
}

/// The chunked search (for training sets streamed from disk) finds the same two neighbours
/// and, to rounding, the same mean distance as one search over the whole set, for chunk sizes
/// that do and do not divide the set (a last chunk of one row included).
#[test]
fn chunked_nearest_neighbours_equal_the_whole_set_search() {
    let train = gaussian(61, 12, 3);
    let queries = gaussian(9, 12, 4);
    let whole = nearest_neighbours(queries.view(), train.view(), &NnConfig::default()).unwrap();
    for chunk in [2, 7, 20, 60, 61, 1000] {
        let read = |start: usize, len: usize| {
            Ok::<_, AnalysisError>(train.slice(ndarray::s![start..start + len, ..]).to_owned())
        };
        let c = nearest_neighbours_chunked(queries.view(), 61, chunk, read, &NnConfig::default())
            .unwrap();
        assert_eq!(c.nearest, whole.nearest, "chunk {chunk}");
        assert_eq!(c.second, whole.second, "chunk {chunk}");
        for (a, b) in
            c.d1.iter()
                .chain(&c.d2)
                .zip(whole.d1.iter().chain(&whole.d2))
        {
            assert!(
                (a - b).abs() <= 1e-12 * b.max(1.0),
                "chunk {chunk}: {a} vs {b}"
            );
        }
        for (a, b) in c.mean_distance.iter().zip(&whole.mean_distance) {
            assert!((a - b).abs() <= 1e-5 * b, "chunk {chunk}: {a} vs {b}");
        }
    }
}
