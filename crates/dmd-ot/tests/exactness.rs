//! Exactness of the assignment solver: brute force over all permutations (N <= 8, proptest,
//! tie-heavy integer costs included), an independent O(n^3) Hungarian method (N = 200-500), and
//! the dual certificate checked from scratch.

use dmd_ot::{Method, OtError, solve_assignment, solve_assignment_with, sq_euclidean_cost};
use ndarray::Array2;
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

const METHODS: [Method; 4] = [
    Method::Auto,
    Method::Jv,
    Method::AuctionJv,
    Method::ShortestPaths,
];

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

// ---------------------------------------------------------------------------------------------
// Wide dynamic range: costs spanning many orders of magnitude, certificate semantics, overflow.
// ---------------------------------------------------------------------------------------------

/// `n x n` costs with `log10` uniform in `[lo, hi]` (seeded).
fn log_uniform(seed: u64, n: usize, lo: f64, hi: f64) -> Array2<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Array2::from_shape_fn((n, n), |_| 10f64.powf(lo + (hi - lo) * rng.random::<f64>()))
}

#[test]
fn wide_dynamic_range_is_solved_exactly_by_every_method() {
    // 16 and 600 orders of magnitude; the optimum is made of the tiny entries, which auction
    // prices at the scale of the largest entry cannot resolve
    for (n, lo, hi, seed) in [
        (200usize, -8.0, 8.0, 1u64),
        (500, -8.0, 8.0, 2),
        (200, -300.0, 300.0, 3),
        (300, -300.0, 300.0, 4),
    ] {
        let c = log_uniform(seed, n, lo, hi);
        let reference = hungarian(&c);
        let jv = solve_assignment_with(c.view(), Method::Jv).expect("valid");
        for m in METHODS {
            let a = solve_assignment_with(c.view(), m).expect("valid");
            let rel = (a.total_cost - reference).abs() / reference;
            assert!(
                rel <= 1e-12,
                "n={n} 1e{lo}..1e{hi} {m:?}: total {:e} vs Hungarian {reference:e} (Jv {:e}), relative excess {rel:e}",
                a.total_cost,
                jv.total_cost
            );
            let cert = a.certificate(c.view()).expect("shape");
            assert!(
                cert.is_optimal(1e-12),
                "n={n} 1e{lo}..1e{hi} {m:?}: {cert:?}"
            );
        }
    }
}

#[test]
fn certificate_rejects_a_suboptimal_assignment_with_feasible_looking_duals() {
    // The optimum (identity, 3e-8) uses tiny entries; the swap of rows 0 and 1 costs 4e-6, 133x
    // more. Zero duals are feasible and the swapped pair's reduced costs are 2e-6: far below a
    // tolerance scaled by the largest entry (1e-12 * 1e8 = 1e-4), far above the optimum.
    let c = ndarray::array![[1e-8, 2e-6, 1e8], [2e-6, 1e-8, 1e8], [1e8, 1e8, 1e-8]];
    let best = brute_force(&c);
    let a = solve_assignment(c.view()).expect("valid");
    assert!((a.total_cost - best).abs() <= 1e-12 * best);
    assert!(a.certificate(c.view()).expect("shape").is_optimal(1e-12));
    let bad = dmd_ot::Assignment {
        row_to_col: vec![1, 0, 2],
        total_cost: c[[0, 1]] + c[[1, 0]] + c[[2, 2]],
        u: vec![0.0; 3],
        v: vec![0.0; 3],
        ..a.clone()
    };
    let cert = bad.certificate(c.view()).expect("shape");
    assert!(
        cert.min_reduced_cost >= 0.0,
        "the duals are feasible: {cert:?}"
    );
    assert!(
        !cert.is_optimal(1e-12),
        "a 133x suboptimal assignment passed: {cert:?}"
    );
    // the same with the duals of the optimum shifted so that the swapped pair looks tight
    let shifted = dmd_ot::Assignment {
        u: vec![2e-6, 2e-6, 1e-8],
        v: vec![0.0, 0.0, 0.0],
        ..bad
    };
    let cert = shifted.certificate(c.view()).expect("shape");
    assert!(
        !cert.is_optimal(1e-12),
        "infeasible duals (reduced cost {:e} on the optimum's pairs) passed: {cert:?}",
        cert.min_reduced_cost
    );
}

/// Entries of a property-test matrix: `10^e` per entry, then the tie pattern `kind`:
/// 0 plain, 1 repeated values (exponents rounded to 4 levels), 2 some all-equal rows,
/// 3 one outlier entry at `10^12` or `10^-12`.
fn wide_from_exponents(n: usize, exps: &[f64], kind: u8, pick: usize) -> Array2<f64> {
    let stride = (exps.len() as f64).sqrt() as usize;
    let mut c = Array2::from_shape_fn((n, n), |(i, j)| {
        let e = exps[i * stride + j];
        let e = if kind == 1 {
            (e / 8.0).round() * 8.0
        } else {
            e
        };
        10f64.powf(e)
    });
    match kind {
        2 => {
            for i in (pick % n..n).step_by(2) {
                let val = c[[i, 0]];
                c.row_mut(i).fill(val);
            }
        }
        3 => {
            let (i, j) = (pick % n, (pick / n) % n);
            c[[i, j]] = if pick.is_multiple_of(2) { 1e12 } else { 1e-12 };
        }
        _ => {}
    }
    c
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn proptest_wide_range_matches_brute_force(
        n in 1usize..=7,
        exps in proptest::collection::vec(-12.0f64..12.0, 49),
        kind in 0u8..4,
        pick in 0usize..1000,
    ) {
        let c = wide_from_exponents(n, &exps, kind, pick);
        let best = brute_force(&c);
        for m in METHODS {
            let a = solve_assignment_with(c.view(), m).expect("valid");
            prop_assert!(
                (a.total_cost - best).abs() <= 1e-12 * best,
                "{m:?} kind={kind}: {:e} vs brute force {best:e}", a.total_cost
            );
            let cert = a.certificate(c.view()).expect("shape");
            prop_assert!(cert.is_optimal(1e-12), "{m:?} kind={kind}: {cert:?}");
        }
    }

    #[test]
    fn proptest_wide_range_matches_jv(
        n in 8usize..=60,
        exps in proptest::collection::vec(-12.0f64..12.0, 3600),
        kind in 0u8..4,
        pick in 0usize..10_000,
    ) {
        let c = wide_from_exponents(n, &exps, kind, pick);
        let jv = solve_assignment_with(c.view(), Method::Jv).expect("valid");
        let reference = hungarian(&c);
        prop_assert!(
            (jv.total_cost - reference).abs() <= 1e-12 * reference,
            "Jv kind={kind}: {:e} vs Hungarian {reference:e}", jv.total_cost
        );
        for m in [Method::Auto, Method::AuctionJv] {
            let a = solve_assignment_with(c.view(), m).expect("valid");
            prop_assert!(
                (a.total_cost - jv.total_cost).abs() <= 1e-12 * jv.total_cost,
                "{m:?} n={n} kind={kind}: {:e} vs Jv {:e}", a.total_cost, jv.total_cost
            );
            let cert = a.certificate(c.view()).expect("shape");
            prop_assert!(cert.is_optimal(1e-12), "{m:?} n={n} kind={kind}: {cert:?}");
        }
    }
}

#[test]
fn one_outlier_point_does_not_start_a_price_war() {
    // near-copy sets (y_i = x_i + 0.01 noise, N = 2000, d = 16) with one point 1e4 away: the cost
    // range (1e8) sets the auction's epsilon schedule while every other difference is ~1e-3, so
    // bidding alone took seconds. Asserted on the solver's work counters, not on time.
    let (n, d) = (2000usize, 16usize);
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let x: Array2<f32> = Array2::from_shape_fn((n, d), |_| StandardNormal.sample(&mut rng));
    let z: Array2<f32> = Array2::from_shape_fn((n, d), |_| StandardNormal.sample(&mut rng));
    let mut y = &x + &(z * 0.01f32);
    y[[0, 0]] += 1e4;
    let c = sq_euclidean_cost(x.view(), y.view());
    let a = solve_assignment(c.view()).expect("valid");
    let jv = solve_assignment_with(c.view(), Method::Jv).expect("valid");
    assert!(
        (a.total_cost - jv.total_cost).abs() <= 1e-12 * jv.total_cost,
        "{} vs Jv {}",
        a.total_cost,
        jv.total_cost
    );
    // A JV solve here costs a few passes over the n x n matrix. Allow 4n row passes (4 more
    // passes over the matrix) for bidding and for the shortest-path searches together: the
    // auction made 35n bids, and the exact finish from its prices ~250n row scans (4-7 s).
    let budget = 4 * n as u64;
    assert!(
        a.stats.auction_bids <= budget,
        "auction made {} bids ({} phases), over {budget}: {:?}",
        a.stats.auction_bids,
        a.stats.auction_phases,
        a.stats
    );
    assert!(
        a.stats.auction_bids + a.stats.path_scans <= budget,
        "{} bids + {} shortest-path row scans, over {budget}: {:?}",
        a.stats.auction_bids,
        a.stats.path_scans,
        a.stats
    );
    assert!(a.certificate(c.view()).expect("shape").is_optimal(1e-12));
}

#[test]
fn overflowing_costs_are_an_error() {
    // entries near 1e307: every entry is finite, but sums of them are not
    for n in [4usize, 40, 100] {
        let c = Array2::from_shape_fn((n, n), |(i, j)| {
            1e307 * (1.0 + ((i * 7 + j * 3) % 11) as f64 / 11.0)
        });
        for m in METHODS {
            match solve_assignment_with(c.view(), m) {
                Err(OtError::Overflow { .. }) => {}
                Ok(a)
                    if a.total_cost.is_finite()
                        && a.u.iter().chain(&a.v).all(|x| x.is_finite()) =>
                {
                    // small n: the optimum itself is representable; it must then be right
                    let best = if n <= 8 {
                        brute_force(&c)
                    } else {
                        hungarian(&c)
                    };
                    assert!(
                        (a.total_cost - best).abs() <= 1e-12 * best,
                        "n={n} {m:?}: {:e} vs {best:e}",
                        a.total_cost
                    );
                    assert!(a.certificate(c.view()).expect("shape").is_optimal(1e-12));
                }
                other => {
                    panic!("n={n} {m:?}: expected Err(Overflow) or a finite optimum, got {other:?}")
                }
            }
        }
        match dmd_ot::pairing_inefficiency_from_cost(c.view()) {
            Err(OtError::Overflow { .. }) => {}
            Ok(p) if [p.e_dt, p.e_ot, p.e_rand].iter().all(|x| x.is_finite()) => {}
            other => panic!("n={n}: expected Err(Overflow) or finite energies, got {other:?}"),
        }
    }
    let c = Array2::from_elem((100, 100), 1e307);
    let err = solve_assignment(c.view()).expect_err("the total 1e309 overflows");
    assert!(matches!(err, OtError::Overflow { .. }), "{err:?}");
    assert!(err.to_string().contains("rescale"), "{err}");
}

#[test]
fn copy_like_low_dimensional_sets_keep_the_auction() {
    // A copying student in the chessboard's R^4 (two coordinates zero, small offsets): the
    // matched costs are ~1e-2 of the range, so the auction's last epsilon resolves them. A
    // coarseness limit set at 1e-2 of the matched cost sent this to JV alone, whose ~90 shortest
    // paths per row over the many near-ties made every bootstrap resample 6x slower.
    let n = 1000usize;
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let x = Array2::from_shape_fn((n, 4), |(_, j)| {
        if j < 2 {
            f32::from(rng.random_range(0u8..4)) * 0.5 + rng.random::<f32>() * 0.5
        } else {
            0.0
        }
    });
    let y = Array2::from_shape_fn((n, 4), |(i, j)| {
        x[[i, j]]
            + if j < 2 {
                rng.random::<f32>() * 0.3
            } else {
                0.0
            }
    });
    let c = sq_euclidean_cost(x.view(), y.view());
    let a = solve_assignment(c.view()).expect("valid");
    assert_eq!(a.stats.method, Method::AuctionJv, "{:?}", a.stats);
    assert!(a.stats.path_scans <= 5 * n as u64, "{:?}", a.stats);
    let jv = solve_assignment_with(c.view(), Method::Jv).expect("valid");
    assert!((a.total_cost - jv.total_cost).abs() <= 1e-12 * jv.total_cost);
}
