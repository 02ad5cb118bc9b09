//! Exactness of the assignment solver: brute force over all permutations (N <= 8, proptest,
//! tie-heavy integer costs included), an independent O(n^3) Hungarian method (N = 200-500), and
//! the dual certificate checked from scratch.

use dmd_ot::{Method, OtError, solve_assignment, solve_assignment_with, sq_euclidean_cost};
use ndarray::Array2;
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

const METHODS: [Method; 3] = [Method::Auto, Method::Jv, Method::AuctionJv];

/// Minimum over all permutations by Heap's algorithm.
fn brute_force(c: &Array2<f64>) -> f64 {
    let n = c.nrows();
    let mut perm: Vec<usize> = (0..n).collect();
    let cost = |p: &[usize]| p.iter().enumerate().map(|(i, &j)| c[[i, j]]).sum::<f64>();
    let mut best = cost(&perm);
    let mut stack = vec![0usize; n];
    let mut i = 1;
    while i < n {
        if stack[i] < i {
            if i % 2 == 0 {
                perm.swap(0, i);
            } else {
                perm.swap(stack[i], i);
            }
            best = best.min(cost(&perm));
            stack[i] += 1;
            i = 1;
        } else {
            stack[i] = 0;
            i += 1;
        }
    }
    best
}

/// Textbook O(n^3) Hungarian method with potentials (Kuhn-Munkres, shortest-path form), written
/// independently of the crate's solver. Returns the optimal total cost.
fn hungarian(c: &Array2<f64>) -> f64 {
    let n = c.nrows();
    // 1-based arrays: p[j] = row matched to column j, way[j] = previous column on the path
    let mut u = vec![0.0f64; n + 1];
    let mut v = vec![0.0f64; n + 1];
    let mut p = vec![0usize; n + 1];
    let mut way = vec![0usize; n + 1];
    for i in 1..=n {
        p[0] = i;
        let mut j0 = 0usize;
        let mut minv = vec![f64::INFINITY; n + 1];
        let mut used = vec![false; n + 1];
        loop {
            used[j0] = true;
            let i0 = p[j0];
            let mut delta = f64::INFINITY;
            let mut j1 = 0usize;
            for j in 1..=n {
                if !used[j] {
                    let cur = c[[i0 - 1, j - 1]] - u[i0] - v[j];
                    if cur < minv[j] {
                        minv[j] = cur;
                        way[j] = j0;
                    }
                    if minv[j] < delta {
                        delta = minv[j];
                        j1 = j;
                    }
                }
            }
            for j in 0..=n {
                if used[j] {
                    u[p[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
            if p[j0] == 0 {
                break;
            }
        }
        loop {
            let j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
            if j0 == 0 {
                break;
            }
        }
    }
    (1..=n).map(|j| c[[p[j] - 1, j - 1]]).sum()
}

/// Checks the solution: a permutation, total cost consistent, dual feasible, tight on the assignment.
fn assert_certified(c: &Array2<f64>, method: Method) -> f64 {
    let n = c.nrows();
    let a = solve_assignment_with(c.view(), method).expect("valid cost matrix");
    let mut seen = vec![false; n];
    for &j in &a.row_to_col {
        assert!(!seen[j], "column {j} used twice");
        seen[j] = true;
    }
    let total: f64 = a
        .row_to_col
        .iter()
        .enumerate()
        .map(|(i, &j)| c[[i, j]])
        .sum();
    let scale = c.iter().fold(1.0f64, |m, &x| m.max(x.abs()));
    let tol = 1e-9 * scale;
    assert!((total - a.total_cost).abs() <= tol * n as f64);
    // recompute the reduced costs here rather than trusting the certificate
    for i in 0..n {
        for j in 0..n {
            let r = c[[i, j]] - a.u[i] - a.v[j];
            assert!(r >= -tol, "negative reduced cost {r} at ({i}, {j})");
        }
        let j = a.row_to_col[i];
        let r = c[[i, j]] - a.u[i] - a.v[j];
        assert!(r.abs() <= tol, "assignment not tight at row {i}: {r}");
    }
    let cert = a.certificate(c.view()).expect("matching shape");
    assert!(cert.is_optimal(1e-9), "{cert:?}");
    assert!(cert.duality_gap.abs() <= tol * n as f64, "{cert:?}");
    a.total_cost
}

fn random_matrix(rng: &mut ChaCha8Rng, n: usize, kind: u8) -> Array2<f64> {
    match kind {
        // uniform reals
        0 => Array2::from_shape_fn((n, n), |_| rng.random::<f64>() * 100.0),
        // tie-heavy small integers
        1 => Array2::from_shape_fn((n, n), |_| f64::from(rng.random_range(0..4u8))),
        // all equal
        2 => Array2::from_elem((n, n), 3.5),
        // low-dimensional squared distances (near-ties)
        _ => {
            let x = Array2::from_shape_fn((n, 2), |_| StandardNormal.sample(rng));
            let y = Array2::from_shape_fn((n, 2), |_| StandardNormal.sample(rng));
            sq_euclidean_cost(x.view(), y.view())
        }
    }
}

#[test]
fn matches_brute_force_on_many_seeds() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for trial in 0..600 {
        let n = 1 + trial % 8;
        let kind = (trial / 8 % 4) as u8;
        let c = random_matrix(&mut rng, n, kind);
        let best = brute_force(&c);
        for m in METHODS {
            let got = assert_certified(&c, m);
            assert!(
                (got - best).abs() <= 1e-9 * (1.0 + best.abs()),
                "trial {trial} n={n} kind={kind} {m:?}: {got} vs brute force {best}"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn proptest_integer_costs_match_brute_force(
        n in 1usize..=7,
        entries in proptest::collection::vec(0u8..6, 49),
    ) {
        let c = Array2::from_shape_fn((n, n), |(i, j)| f64::from(entries[i * 7 + j]));
        let best = brute_force(&c);
        for m in METHODS {
            let got = assert_certified(&c, m);
            prop_assert!((got - best).abs() < 1e-12, "{m:?}: {got} vs {best}");
        }
    }

    #[test]
    fn proptest_real_costs_match_brute_force(
        n in 1usize..=8,
        entries in proptest::collection::vec(-1.0e3f64..1.0e3, 64),
    ) {
        let c = Array2::from_shape_fn((n, n), |(i, j)| entries[i * 8 + j]);
        let best = brute_force(&c);
        for m in METHODS {
            let got = assert_certified(&c, m);
            prop_assert!((got - best).abs() <= 1e-9 * (1.0 + best.abs()), "{m:?}: {got} vs {best}");
        }
    }
}

#[test]
fn matches_independent_hungarian_on_medium_sizes() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    for (n, kind) in [(200, 3u8), (300, 1), (250, 0), (400, 3), (500, 1)] {
        let c = random_matrix(&mut rng, n, kind);
        let reference = hungarian(&c);
        for m in METHODS {
            let got = assert_certified(&c, m);
            assert!(
                (got - reference).abs() <= 1e-9 * (1.0 + reference.abs()),
                "n={n} kind={kind} {m:?}: {got} vs Hungarian {reference}"
            );
        }
    }
}

#[test]
fn high_dimensional_clustered_costs_match_hungarian() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let n = 200;
    let x = Array2::from_shape_fn((n, 1024), |_| StandardNormal.sample(&mut rng));
    let y = Array2::from_shape_fn((n, 1024), |_| StandardNormal.sample(&mut rng));
    let c = sq_euclidean_cost(x.view(), y.view());
    let reference = hungarian(&c);
    for m in METHODS {
        let got = assert_certified(&c, m);
        assert!(
            (got - reference).abs() <= 1e-9 * reference,
            "{m:?}: {got} vs {reference}"
        );
    }
}

#[test]
fn large_offsets_and_tiny_ranges_terminate_exactly() {
    // potentials near 1e12 with a range of 1e-3: bidding must not stall on rounding, and the
    // optimum must be found up to the resolution f64 has at that offset
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    for (n, offset, width) in [(6usize, 1e12, 1e-3), (7, -1e9, 1.0), (200, 1e8, 1e-2)] {
        let c = Array2::from_shape_fn((n, n), |_| offset + width * rng.random::<f64>());
        // the same matrix without the offset (exact: Sterbenz), on which the optimum is unchanged
        let c0 = c.mapv(|x| x - offset);
        let reference = if n <= 8 {
            brute_force(&c0)
        } else {
            hungarian(&c0)
        };
        let resolution = 64.0 * f64::EPSILON * offset.abs() * n as f64;
        for m in METHODS {
            let a = solve_assignment_with(c.view(), m).expect("valid");
            assert!(a.certificate(c.view()).expect("shape").is_optimal(1e-9));
            let got: f64 = a
                .row_to_col
                .iter()
                .enumerate()
                .map(|(i, &j)| c0[[i, j]])
                .sum();
            assert!(
                (got - reference).abs() <= resolution + 1e-12,
                "{m:?} n={n}: {got} vs {reference}"
            );
        }
    }
}

#[test]
fn rejects_bad_cost_matrices() {
    let empty = Array2::<f64>::zeros((0, 0));
    assert!(matches!(
        solve_assignment(empty.view()),
        Err(OtError::Empty { .. })
    ));
    let rect = Array2::<f64>::zeros((2, 3));
    assert!(matches!(
        solve_assignment(rect.view()),
        Err(OtError::ShapeMismatch { .. })
    ));
    let mut nan = Array2::<f64>::zeros((3, 3));
    nan[[1, 2]] = f64::NAN;
    match solve_assignment(nan.view()) {
        Err(OtError::NonFinite { row: 1, col: 2, .. }) => {}
        other => panic!("expected NonFinite at (1, 2), got {other:?}"),
    }
    let mut inf = Array2::<f64>::zeros((3, 3));
    inf[[0, 0]] = f64::INFINITY;
    assert!(matches!(
        solve_assignment(inf.view()),
        Err(OtError::NonFinite { .. })
    ));
}

#[test]
fn non_contiguous_views_are_accepted() {
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let c = random_matrix(&mut rng, 6, 0);
    let t = c.t();
    let a = solve_assignment(t).expect("valid");
    let owned = t.to_owned();
    assert!((a.total_cost - brute_force(&owned)).abs() < 1e-9);
}

#[test]
fn certificate_detects_a_suboptimal_assignment() {
    let c = ndarray::array![[0.0, 10.0], [10.0, 0.0]];
    let mut a = solve_assignment(c.view()).expect("valid");
    assert!(a.certificate(c.view()).expect("shape").is_optimal(1e-12));
    a.row_to_col = vec![1, 0];
    let cert = a.certificate(c.view()).expect("shape");
    assert!(!cert.is_optimal(1e-12), "{cert:?}");
    a.row_to_col = vec![0, 0];
    assert!(!a.certificate(c.view()).expect("shape").is_permutation);
}
