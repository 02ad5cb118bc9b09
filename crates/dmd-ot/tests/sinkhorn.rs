//! Sinkhorn: marginals, convergence, and agreement with the exact assignment as eps -> 0.

use dmd_ot::{OtError, SinkhornConfig, sinkhorn, solve_assignment, sq_euclidean_cost};
use ndarray::Array2;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

fn cost(seed: u64, n: usize, d: usize) -> Array2<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let x: Array2<f32> = Array2::from_shape_fn((n, d), |_| StandardNormal.sample(&mut rng));
    let y: Array2<f32> = Array2::from_shape_fn((n, d), |_| StandardNormal.sample(&mut rng));
    sq_euclidean_cost(x.view(), y.view())
}

/// Row and column sums of the plan rebuilt from the returned potentials.
fn marginal_errors(c: &Array2<f64>, f: &[f64], g: &[f64], eps: f64) -> (f64, f64) {
    let (n, m) = c.dim();
    let p = Array2::from_shape_fn((n, m), |(i, j)| ((f[i] + g[j] - c[[i, j]]) / eps).exp());
    let rows: f64 = p
        .rows()
        .into_iter()
        .map(|r| (r.sum() - 1.0 / n as f64).abs())
        .sum();
    let cols: f64 = p
        .columns()
        .into_iter()
        .map(|col| (col.sum() - 1.0 / m as f64).abs())
        .sum();
    (rows, cols)
}

#[test]
fn converges_with_correct_marginals() {
    for (d, seed) in [(4usize, 1u64), (1024, 2)] {
        let c = cost(seed, 60, d);
        let res = sinkhorn(c.view(), &SinkhornConfig::default()).expect("valid");
        assert!(res.converged, "{res:?}");
        assert!(res.marginal_error < SinkhornConfig::default().tol);
        let (rows, cols) = marginal_errors(&c, &res.f, &res.g, res.epsilon);
        assert!(rows < 1e-4 && cols < 1e-4, "d={d}: {rows} {cols}");
        let exact = solve_assignment(c.view()).expect("valid").mean_cost();
        assert!(
            res.cost >= exact * (1.0 - 1e-6),
            "entropic plan below the optimum"
        );
    }
}

#[test]
fn approaches_the_exact_cost_as_epsilon_shrinks() {
    for (d, seed) in [(4usize, 3u64), (1024, 4)] {
        let c = cost(seed, 40, d);
        let exact = solve_assignment(c.view()).expect("valid").mean_cost();
        let mean = c.mean().expect("non-empty");
        let mut gaps = Vec::new();
        for rel in [1e-1, 1e-2, 1e-3] {
            let cfg = SinkhornConfig {
                epsilon_rel: rel,
                max_iter: 200_000,
                ..SinkhornConfig::default()
            };
            let res = sinkhorn(c.view(), &cfg).expect("valid");
            gaps.push((res.cost - exact) / (mean - exact));
        }
        assert!(gaps[2] < gaps[0], "d={d}: {gaps:?}");
        assert!(gaps[2].abs() < 1e-2, "d={d}: relative gap {gaps:?}");
    }
}

#[test]
fn rectangular_and_non_contiguous_inputs() {
    let c = cost(5, 30, 3);
    let sub = c.slice(ndarray::s![..20, ..]);
    let res = sinkhorn(sub, &SinkhornConfig::default()).expect("valid");
    assert_eq!((res.f.len(), res.g.len()), (20, 30));
    let owned = sub.to_owned();
    let (rows, cols) = marginal_errors(&owned, &res.f, &res.g, res.epsilon);
    assert!(rows < 1e-4 && cols < 1e-4, "{rows} {cols}");
    let t = sinkhorn(c.t(), &SinkhornConfig::default()).expect("valid");
    assert!(t.converged);
}

#[test]
fn parameter_and_input_errors() {
    let c = cost(6, 5, 2);
    let bad = SinkhornConfig {
        scaling_factor: 1.5,
        ..SinkhornConfig::default()
    };
    assert!(matches!(
        sinkhorn(c.view(), &bad),
        Err(OtError::InvalidParameter {
            name: "scaling_factor",
            ..
        })
    ));
    let constant = Array2::from_elem((4, 4), 2.0);
    assert!(matches!(
        sinkhorn(constant.view(), &SinkhornConfig::default()),
        Err(OtError::InvalidParameter {
            name: "epsilon",
            ..
        })
    ));
    let abs = SinkhornConfig {
        epsilon: Some(0.5),
        ..SinkhornConfig::default()
    };
    let res = sinkhorn(constant.view(), &abs).expect("absolute eps works on constant costs");
    assert!((res.cost - 2.0).abs() < 1e-6);
    let empty = Array2::<f64>::zeros((0, 4));
    assert!(matches!(
        sinkhorn(empty.view(), &abs),
        Err(OtError::Empty { .. })
    ));
    let mut nan = c.clone();
    nan[[0, 0]] = f64::NAN;
    assert!(matches!(
        sinkhorn(nan.view(), &abs),
        Err(OtError::NonFinite { .. })
    ));
}

/// Near-copy point sets: `y = x + noise * N(0, I)`, so the exact optimum is tiny.
fn near_copy_cost(seed: u64, n: usize, scale: f32, noise: f32) -> Array2<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let x: Array2<f32> = Array2::from_shape_fn((n, 4), |_| StandardNormal.sample(&mut rng));
    let z: Array2<f32> = Array2::from_shape_fn((n, 4), |_| StandardNormal.sample(&mut rng));
    let x = x * scale;
    let y = &x + &(z * (noise * scale));
    sq_euclidean_cost(x.view(), y.view())
}

#[test]
fn degenerate_regularisation_is_not_reported_as_converged() {
    // eps = 1e-100 on costs of order 1: the plan cannot be represented (exp((f + g - C) / eps)
    // is 0 or inf almost everywhere), so whatever comes back must not claim convergence
    let c = near_copy_cost(3, 100, 1.0, 1e-4);
    let exact = solve_assignment(c.view()).expect("valid").mean_cost();
    for eps in [1e-100, 1e-300] {
        let cfg = SinkhornConfig {
            epsilon: Some(eps),
            ..SinkhornConfig::default()
        };
        let res = sinkhorn(c.view(), &cfg).expect("valid parameters");
        let honest = !res.converged || (res.cost - exact).abs() <= 1e-3 * exact.max(1e-300);
        assert!(
            honest,
            "eps={eps:e}: converged = true at cost {:e} against the exact {exact:e} (marginal error {:e})",
            res.cost, res.marginal_error
        );
        if res.converged {
            let (rows, cols) = marginal_errors(&c, &res.f, &res.g, res.epsilon);
            assert!(rows < 1e-4 && cols < 1e-4, "{rows} {cols}");
        }
    }
}

#[test]
fn tiny_cost_matrices_converge_to_the_right_cost() {
    // squared distances of order 1e-38: the relative epsilon is ~1e-40, below f32's range
    for (seed, scale) in [(3u64, 1e-19f32), (4, 1e-20)] {
        let c = near_copy_cost(seed, 100, scale, 1e-2);
        let exact = solve_assignment(c.view()).expect("valid").mean_cost();
        let mean = c.mean().expect("non-empty");
        let res = sinkhorn(c.view(), &SinkhornConfig::default()).expect("valid");
        assert!(
            res.converged && res.cost.is_finite(),
            "scale {scale:e}: converged {} cost {:e} (exact {exact:e}, mean {mean:e}, marginal error {:e})",
            res.converged,
            res.cost,
            res.marginal_error
        );
        assert!(
            res.cost >= exact * (1.0 - 1e-6) && res.cost <= mean,
            "scale {scale:e}: cost {:e} outside [exact {exact:e}, mean {mean:e}]",
            res.cost
        );
    }
}
