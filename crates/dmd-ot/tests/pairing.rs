//! Invariants of the pairing inefficiency Delta_E (paper Definition 1) and its error cases.

use dmd_ot::{
    OtError, PairingInefficiency, pairing_inefficiency, pairing_inefficiency_from_cost,
    pairing_inefficiency_within_classes, solve_assignment, sq_euclidean_cost,
};
use ndarray::{Array2, array};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

fn gaussian(rng: &mut ChaCha8Rng, n: usize, d: usize) -> Array2<f32> {
    Array2::from_shape_fn((n, d), |_| StandardNormal.sample(rng))
}

#[test]
fn delta_e_is_non_negative_and_consistent() {
    let mut rng = ChaCha8Rng::seed_from_u64(10);
    for (n, d) in [(1, 3), (2, 2), (50, 4), (120, 1024), (300, 4)] {
        let phi = gaussian(&mut rng, n, d);
        let g = gaussian(&mut rng, n, d);
        let p = pairing_inefficiency(phi.view(), g.view()).expect("valid input");
        assert!(p.delta_e >= 0.0);
        assert!(p.e_dt >= p.e_ot * (1.0 - 1e-12));
        assert!((p.delta_e - (p.e_dt / p.e_ot - 1.0).max(0.0)).abs() < 1e-12);
        assert_eq!(p.n, n);
        // E_OT is the mean cost of the returned assignment, E_rand the mean of the cost matrix
        let c = sq_euclidean_cost(phi.view(), g.view());
        let mean_assigned = p
            .assignment
            .iter()
            .enumerate()
            .map(|(i, &j)| c[[i, j]])
            .sum::<f64>()
            / n as f64;
        assert!((mean_assigned - p.e_ot).abs() <= 1e-9 * p.e_ot);
        assert!((c.mean().expect("non-empty") - p.e_rand).abs() <= 1e-9 * p.e_rand);
        assert!(p.e_ot <= p.e_rand * (1.0 + 1e-12));
    }
}

#[test]
fn delta_e_is_scale_invariant() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let phi = gaussian(&mut rng, 200, 4);
    let g = gaussian(&mut rng, 200, 4);
    let base = pairing_inefficiency(phi.view(), g.view()).expect("valid");
    for c in [0.5f32, 4.0, 1e-3, 250.0] {
        let scaled = pairing_inefficiency((&phi * c).view(), (&g * c).view()).expect("valid");
        assert!(
            (scaled.delta_e - base.delta_e).abs() <= 1e-5 * (1.0 + base.delta_e),
            "c={c}: {} vs {}",
            scaled.delta_e,
            base.delta_e
        );
    }
}

#[test]
fn tiny_perturbation_copies_the_pairing() {
    let mut rng = ChaCha8Rng::seed_from_u64(12);
    let phi = gaussian(&mut rng, 300, 8);
    let noise = gaussian(&mut rng, 300, 8);
    let g = &phi + &(noise * 1e-3);
    let p = pairing_inefficiency(phi.view(), g.view()).expect("valid");
    assert_eq!(p.delta_e, 0.0, "{p:?}");
    assert_eq!(p.assignment, (0..300).collect::<Vec<_>>());
    assert!((p.copy_score() - 1.0).abs() < 1e-12);
    assert_eq!(p.fixed_point_fraction(), 1.0);
}

#[test]
fn permuting_g_makes_delta_e_positive() {
    let mut rng = ChaCha8Rng::seed_from_u64(13);
    let n = 400;
    let phi = gaussian(&mut rng, n, 4);
    let noise = gaussian(&mut rng, n, 4);
    let g = &phi + &(noise * 0.05);
    let mut perm: Vec<usize> = (0..n).collect();
    perm.shuffle(&mut rng);
    let g_perm = Array2::from_shape_fn((n, 4), |(i, k)| g[[perm[i], k]]);
    let copy = pairing_inefficiency(phi.view(), g.view()).expect("valid");
    let remap = pairing_inefficiency(phi.view(), g_perm.view()).expect("valid");
    assert!(copy.delta_e < 0.05, "{}", copy.delta_e);
    assert!(remap.delta_e > 10.0, "{}", remap.delta_e);
    // a random permutation is about as bad as random pairing
    assert!(remap.copy_score() < 0.2, "{}", remap.copy_score());
    // the optimal assignment undoes the permutation (up to near-coincident points)
    let undone = (0..n).filter(|&i| perm[remap.assignment[i]] == i).count();
    assert!(undone > n * 9 / 10, "{undone}");
}

#[test]
fn identical_sets_have_undefined_delta_e() {
    let mut rng = ChaCha8Rng::seed_from_u64(14);
    let phi = gaussian(&mut rng, 20, 3);
    match pairing_inefficiency(phi.view(), phi.view()) {
        Err(OtError::ZeroOptimalCost { e_dt }) => assert_eq!(e_dt, 0.0),
        other => panic!("expected ZeroOptimalCost, got {other:?}"),
    }
    // a permutation of the same set: E_OT = 0 but E_DT > 0
    let rev = Array2::from_shape_fn((20, 3), |(i, k)| phi[[19 - i, k]]);
    match pairing_inefficiency(phi.view(), rev.view()) {
        Err(OtError::ZeroOptimalCost { e_dt }) => assert!(e_dt > 0.0),
        other => panic!("expected ZeroOptimalCost, got {other:?}"),
    }
}

#[test]
fn input_errors_are_typed() {
    let a = Array2::<f32>::zeros((5, 3));
    let b = Array2::<f32>::zeros((5, 4));
    assert!(matches!(
        pairing_inefficiency(a.view(), b.view()),
        Err(OtError::ShapeMismatch { .. })
    ));
    let c = Array2::<f32>::zeros((4, 3));
    assert!(matches!(
        pairing_inefficiency(a.view(), c.view()),
        Err(OtError::ShapeMismatch { .. })
    ));
    let e = Array2::<f32>::zeros((0, 3));
    assert!(matches!(
        pairing_inefficiency(e.view(), e.view()),
        Err(OtError::Empty { .. })
    ));
    let mut nan = Array2::<f32>::ones((5, 3));
    nan[[2, 1]] = f32::NAN;
    match pairing_inefficiency(a.view(), nan.view()) {
        Err(OtError::NonFinite {
            what: "g",
            row: 2,
            col: 1,
            ..
        }) => {}
        other => panic!("expected NonFinite in g at (2, 1), got {other:?}"),
    }
    let mut inf = Array2::<f32>::ones((5, 3));
    inf[[0, 2]] = f32::NEG_INFINITY;
    match pairing_inefficiency(inf.view(), a.view()) {
        Err(OtError::NonFinite {
            what: "phi",
            row: 0,
            col: 2,
            ..
        }) => {}
        other => panic!("expected NonFinite in phi at (0, 2), got {other:?}"),
    }
    // error messages say what to do
    let msg = pairing_inefficiency(a.view(), b.view())
        .unwrap_err()
        .to_string();
    assert!(msg.contains("same dimension"), "{msg}");
}

#[test]
fn serde_round_trip_and_copy_score() {
    let p = PairingInefficiency {
        delta_e: 0.5,
        e_dt: 3.0,
        e_ot: 2.0,
        e_rand: 6.0,
        n: 3,
        assignment: vec![2, 0, 1],
    };
    assert!((p.copy_score() - 0.75).abs() < 1e-15);
    let s = serde_json::to_string(&p).expect("serialise");
    let back: PairingInefficiency = serde_json::from_str(&s).expect("deserialise");
    assert_eq!(back, p);
}

#[test]
fn cost_matrix_paths_agree() {
    // direct (d <= 16) and GEMM (d > 16) paths against a plain f64 loop, data far from the origin
    let mut rng = ChaCha8Rng::seed_from_u64(15);
    for d in [1usize, 4, 16, 17, 300] {
        let x = gaussian(&mut rng, 37, d) + 100.0f32;
        let y = gaussian(&mut rng, 23, d) + 100.0f32;
        let c = sq_euclidean_cost(x.view(), y.view());
        assert_eq!(c.dim(), (37, 23));
        for i in 0..37 {
            for j in 0..23 {
                let exact: f64 = (0..d)
                    .map(|k| (f64::from(x[[i, k]]) - f64::from(y[[j, k]])).powi(2))
                    .sum();
                assert!((c[[i, j]] - exact).abs() <= 1e-9 * (1.0 + exact), "d={d}");
                assert!(c[[i, j]] >= 0.0);
            }
        }
    }
    let x = gaussian(&mut rng, 3, 40);
    let c = sq_euclidean_cost(x.view(), x.view());
    for i in 0..3 {
        assert!(c[[i, i]].abs() < 1e-9);
    }
    assert!(dmd_ot::try_sq_euclidean_cost(x.view(), gaussian(&mut rng, 3, 4).view()).is_err());
    let a = solve_assignment(c.view()).expect("valid");
    assert_eq!(a.row_to_col, vec![0, 1, 2]);
}

#[test]
fn from_cost_is_the_same_computation() {
    // Known answer: the direct pairing costs 4 per row, the swap 1.
    let c = array![[4.0, 1.0], [1.0, 4.0]];
    let p = pairing_inefficiency_from_cost(c.view()).expect("valid");
    assert_eq!((p.e_dt, p.e_ot, p.e_rand, p.delta_e), (4.0, 1.0, 2.5, 3.0));
    assert_eq!((p.n, p.assignment.clone()), (2, vec![1, 0]));
    assert_eq!(p.copy_score(), -1.0);
    // From points, `pairing_inefficiency` is exactly `pairing_inefficiency_from_cost` of the
    // squared-Euclidean cost matrix (direct and GEMM cost paths).
    let mut rng = ChaCha8Rng::seed_from_u64(16);
    for (n, d) in [(1, 2), (40, 3), (90, 40)] {
        let phi = gaussian(&mut rng, n, d);
        let g = gaussian(&mut rng, n, d);
        let c = sq_euclidean_cost(phi.view(), g.view());
        assert_eq!(
            pairing_inefficiency_from_cost(c.view()).expect("valid"),
            pairing_inefficiency(phi.view(), g.view()).expect("valid")
        );
    }
    // Errors: empty, non-square, non-finite, E_OT = 0.
    assert!(matches!(
        pairing_inefficiency_from_cost(Array2::<f64>::zeros((0, 0)).view()),
        Err(OtError::Empty { .. })
    ));
    assert!(matches!(
        pairing_inefficiency_from_cost(Array2::<f64>::ones((2, 3)).view()),
        Err(OtError::ShapeMismatch { .. })
    ));
    let mut nan = Array2::<f64>::ones((3, 3));
    nan[[1, 2]] = f64::NAN;
    assert!(matches!(
        pairing_inefficiency_from_cost(nan.view()),
        Err(OtError::NonFinite { row: 1, col: 2, .. })
    ));
    let swap = array![[1.0, 0.0], [0.0, 1.0]];
    assert_eq!(
        pairing_inefficiency_from_cost(swap.view()),
        Err(OtError::ZeroOptimalCost { e_dt: 1.0 })
    );
}

/// All permutations of `0..n` (brute force for tiny n).
fn permutations(n: usize) -> Vec<Vec<usize>> {
    if n == 0 {
        return vec![vec![]];
    }
    let mut out = Vec::new();
    for p in permutations(n - 1) {
        for at in 0..=p.len() {
            let mut q = p.clone();
            q.insert(at, n - 1);
            out.push(q);
        }
    }
    out
}

#[test]
fn within_classes_is_the_best_label_preserving_pairing() {
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    let labels = [0i64, 1, 0, 2, 1, 0, 1, 2];
    let n = labels.len();
    let c = sq_euclidean_cost(
        gaussian(&mut rng, n, 3).view(),
        gaussian(&mut rng, n, 3).view(),
    );
    let w = pairing_inefficiency_within_classes(c.view(), &labels).unwrap();
    let brute = permutations(n)
        .into_iter()
        .filter(|p| (0..n).all(|i| labels[p[i]] == labels[i]))
        .map(|p| (0..n).map(|i| c[[i, p[i]]]).sum::<f64>() / n as f64)
        .fold(f64::INFINITY, f64::min);
    assert!(
        (w.e_ot - brute).abs() <= 1e-12 * brute,
        "{} vs {brute}",
        w.e_ot
    );
    assert!(
        w.assignment
            .iter()
            .enumerate()
            .all(|(i, &j)| labels[i] == labels[j])
    );
    let e_rand: f64 = (0..n)
        .map(|i| {
            let same: Vec<usize> = (0..n).filter(|&j| labels[j] == labels[i]).collect();
            same.iter().map(|&j| c[[i, j]]).sum::<f64>() / same.len() as f64
        })
        .sum::<f64>()
        / n as f64;
    assert!((w.e_rand - e_rand).abs() <= 1e-12 * e_rand);
    // Restricting the pairings can only raise the optimum.
    let all = pairing_inefficiency_from_cost(c.view()).unwrap();
    assert!(w.e_ot >= all.e_ot * (1.0 - 1e-12) && w.e_dt == all.e_dt);
    // One class is the unrestricted computation.
    let one = pairing_inefficiency_within_classes(c.view(), &[3; 8]).unwrap();
    assert!((one.e_ot - all.e_ot).abs() <= 1e-12 * all.e_ot && one.e_rand == all.e_rand);
    assert!(matches!(
        pairing_inefficiency_within_classes(c.view(), &labels[..7]),
        Err(OtError::ShapeMismatch { .. })
    ));
}

/// A student that draws the right class but pairs seeds at random inside it: the unrestricted
/// copy score rewards the class (far-apart class centres), the within-class one sees no
/// pairing left.
#[test]
fn within_classes_does_not_reward_getting_the_class_right() {
    let mut rng = ChaCha8Rng::seed_from_u64(22);
    let (n, d, k) = (400, 8, 4);
    let labels: Vec<i64> = (0..n as i64).map(|i| i % k).collect();
    let centre = |l: i64| 20.0 * l as f32;
    let mut phi = gaussian(&mut rng, n, d);
    let mut g = gaussian(&mut rng, n, d);
    for i in 0..n {
        phi[[i, 0]] += centre(labels[i]);
        g[[i, 0]] += centre(labels[i]);
    }
    let c = sq_euclidean_cost(phi.view(), g.view());
    let all = pairing_inefficiency_from_cost(c.view()).unwrap();
    let within = pairing_inefficiency_within_classes(c.view(), &labels).unwrap();
    assert!(all.copy_score() > 0.9, "unrestricted {}", all.copy_score());
    assert!(
        within.copy_score().abs() < 0.15,
        "within {}",
        within.copy_score()
    );
}
