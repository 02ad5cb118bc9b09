//! Known-answer controls for the pairing measures: the remapping ruler (students with the
//! teacher's exact distribution and a known rotation of the noise), fresh-seed blocks and the
//! finite-N curve, and the per-seed partner rank.

use dmd_analysis::*;
use ndarray::{Array2, ArrayView2};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

fn gaussian(n: usize, d: usize, seed: u64) -> Array2<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Array2::from_shape_fn((n, d), |_| StandardNormal.sample(&mut rng))
}

/// A fixed "teacher": `tanh(A relu(B z))` with a 32-wide bottleneck, so its outputs in `D`
/// dimensions lie near a low-dimensional set, as images do.
struct Teacher {
    a: Array2<f32>,
    b: Array2<f32>,
}

impl Teacher {
    fn new(d: usize, seed: u64) -> Self {
        let h = 32;
        let scale = |m: Array2<f32>, fan_in: usize| m / (fan_in as f32).sqrt();
        Self {
            a: scale(gaussian(d, h, seed), h) * 2.0,
            b: scale(gaussian(h, d, seed + 1), d),
        }
    }

    fn phi(&self, z: ArrayView2<f32>) -> Array2<f32> {
        let hidden = z.dot(&self.b.t()).mapv(|v| v.max(0.0));
        hidden.dot(&self.a.t()).mapv(f32::tanh)
    }
}

fn point(
    teacher: &Teacher,
    z: &Array2<f32>,
    theta: f64,
    boot: Option<&BootstrapConfig>,
) -> RulerPoint {
    let phi = teacher.phi(z.view());
    let g = teacher.phi(rotate_noise(z.view(), theta, 7).view());
    let pairing = pairing::delta_e(phi.view(), g.view(), boot).unwrap();
    RulerPoint {
        theta,
        dt_ratio: dt_ratio(&pairing),
        pairing,
    }
}

#[test]
fn rotating_the_noise_is_orthogonal_and_the_identity_at_zero() {
    let z = gaussian(50, 9, 1);
    assert_eq!(rotate_noise(z.view(), 0.0, 3), z);
    let r = rotate_noise(z.view(), 0.7, 3);
    for (a, b) in z.rows().into_iter().zip(r.rows()) {
        let (na, nb) = (a.dot(&a), b.dot(&b));
        assert!((na - nb).abs() <= 1e-4 * na, "norms kept: {na} vs {nb}");
    }
    // pi/2 twice is pi: every paired coordinate flips sign; the odd one is kept.
    let half = rotate_noise(
        rotate_noise(z.view(), std::f64::consts::FRAC_PI_2, 3).view(),
        std::f64::consts::FRAC_PI_2,
        3,
    );
    let flipped = (0..9)
        .filter(|&c| (half[[0, c]] + z[[0, c]]).abs() < 1e-5)
        .count();
    assert_eq!(flipped, 8);
}

#[test]
fn the_ruler_runs_from_a_copy_to_a_random_pairing_monotonically_on_a_gaussian() {
    // A linear teacher: Gaussian outputs, where E_DT grows like 1 - cos(theta).
    let (n, d) = (500, 8);
    let a = gaussian(d, d, 11);
    let z = gaussian(n, d, 12);
    let phi = z.dot(&a);
    let mut last = (f64::NEG_INFINITY, f64::INFINITY);
    for k in 1..=8 {
        let theta = k as f64 * std::f64::consts::FRAC_PI_2 / 8.0;
        let g = rotate_noise(z.view(), theta, 5).dot(&a);
        let p = pairing::delta_e(phi.view(), g.view(), None).unwrap();
        let (ratio, copy) = (dt_ratio(&p), p.copy_score);
        assert!(
            ratio > last.0 && copy < last.1,
            "theta {theta}: {ratio} {copy} after {last:?}"
        );
        last = (ratio, copy);
    }
    // Near theta = 0 the copy score is 1; independent noise scores about 0.
    let tiny = rotate_noise(z.view(), 1e-3, 5).dot(&a);
    let p = pairing::delta_e(phi.view(), tiny.view(), None).unwrap();
    assert!(p.copy_score > 0.999 && dt_ratio(&p) < 1e-5, "{p:?}");
    let independent = gaussian(n, d, 13).dot(&a);
    let p = pairing::delta_e(phi.view(), independent.view(), None).unwrap();
    assert!(
        p.copy_score.abs() < 0.05,
        "independent seeds: {}",
        p.copy_score
    );
}

#[test]
fn at_image_dimension_a_quarter_turn_separates_from_a_copy_and_is_placed_on_the_ruler() {
    let (n, d) = (1000, 1024);
    let teacher = Teacher::new(d, 21);
    let z = gaussian(n, d, 22);
    let boot = BootstrapConfig {
        n_resamples: 40,
        level: 0.95,
        seed: 3,
    };
    let quarter = point(&teacher, &z, std::f64::consts::FRAC_PI_4, Some(&boot));
    let iv = quarter.pairing.copy_score_interval.unwrap();
    eprintln!(
        "pi/4 at D = {d}, N = {n}: copy score {:.4} [{:.4}, {:.4}], Delta_E {:.4}, E_DT/E_rand {:.4}",
        quarter.pairing.copy_score, iv.lower, iv.upper, quarter.pairing.delta_e, quarter.dt_ratio
    );
    assert!(
        iv.upper < 1.0,
        "pi/4 must separate from the copy's 1: {iv:?}"
    );
    let grid = [0.1, 0.2, 0.4, 0.6, 0.8, 1.2, 1.57];
    let mut points: Vec<RulerPoint> = grid.iter().map(|&t| point(&teacher, &z, t, None)).collect();
    points.push(RulerPoint::exact_copy(n, quarter.pairing.e_rand));
    points.push(quarter.clone());
    let ruler = Ruler::new(n, points);
    assert_eq!(
        ruler.copy_score_resolution(),
        Some(std::f64::consts::FRAC_PI_4),
        "the only point with an interval, pi/4, is the smallest that separates"
    );
    for p in &ruler.points {
        eprintln!(
            "theta {:.2}: copy score {:.4}, Delta_E {:.4}, E_DT/E_rand {:.4}",
            p.theta, p.pairing.copy_score, p.pairing.delta_e, p.dt_ratio
        );
    }
    assert_eq!(ruler.points[0].theta, 0.0);
    // A student rotated by an angle off the grid is placed near it.
    let student = point(&teacher, &z, 0.3, None);
    match ruler.equivalent_angle(student.dt_ratio).unwrap() {
        EquivalentAngle::About(t) => assert!((t - 0.3).abs() < 0.05, "placed at {t}"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        ruler.equivalent_angle(0.0),
        Some(EquivalentAngle::AtMost(t)) if t == 0.1
    ));
    assert!(matches!(
        ruler.equivalent_angle(10.0),
        Some(EquivalentAngle::AtLeast(t)) if t == 1.57
    ));
}

#[test]
fn fresh_seed_blocks_are_independent_replicates_within_their_bounds() {
    let (phi, g) = (gaussian(1000, 4, 31), gaussian(1000, 4, 32));
    let blocks = block_pairings(phi.view(), g.view(), None, 300).unwrap();
    assert_eq!(blocks.len(), 3, "floor(1000 / 300) disjoint blocks");
    let whole = dmd_ot::pairing_inefficiency(
        phi.slice(ndarray::s![300..600, ..]),
        g.slice(ndarray::s![300..600, ..]),
    )
    .unwrap();
    assert_eq!(blocks[1].e_ot, whole.e_ot, "block 1 is rows 300..600");
    let curve = finite_n_curve(
        phi.view(),
        g.view(),
        None,
        &[1, 100, 250, 500, 1000, 4000],
        0.95,
    )
    .unwrap();
    let ns: Vec<usize> = curve.iter().map(|p| p.n).collect();
    assert_eq!(
        ns,
        [100, 250, 500, 1000],
        "sizes that do not fit are skipped"
    );
    for p in &curve {
        assert!(p.delta_e.lower >= 0.0 && p.copy_score.upper <= 1.0, "{p:?}");
        assert_eq!(p.delta_e.has_interval(), p.n < 1000);
    }
    // E_OT falls with N, so an independent pairing's Delta_E rises with N.
    assert!(curve[0].delta_e.mean < curve[3].delta_e.mean, "{curve:?}");
    // The within-class path runs per block too.
    let labels: Vec<i64> = (0..1000).map(|i| i % 3).collect();
    let within = block_pairings(phi.view(), g.view(), Some(&labels), 500).unwrap();
    assert_eq!(within.len(), 2);
    assert!(within.iter().zip(&blocks).all(|(w, _)| {
        w.assignment
            .iter()
            .enumerate()
            .all(|(i, &j)| labels[i] == labels[j])
    }));
}

#[test]
fn partner_ranks_are_zero_for_a_copy_and_uniform_for_a_random_pairing() {
    let (n, d) = (400, 6);
    let phi = gaussian(n, d, 41);
    let copy = &phi + &(gaussian(n, d, 42) * 1e-3);
    let r = partner_ranks(phi.view(), copy.view()).unwrap();
    assert_eq!(r.mean_rank(), 0.0);
    assert_eq!(r.nearest_fraction(), 1.0);
    assert!(r.p_value.iter().all(|&p| p == 1.0 / n as f64));
    let random = partner_ranks(phi.view(), gaussian(n, d, 43).view()).unwrap();
    assert!(
        (random.mean_rank() - 0.5).abs() < 0.05,
        "{}",
        random.mean_rank()
    );
    let small = random.p_value.iter().filter(|&&p| p <= 0.1).count() as f64 / n as f64;
    assert!(
        (small - 0.1).abs() < 0.05,
        "P(p <= 0.1) = {small} under a random pairing"
    );
    assert!(
        partner_ranks(
            phi.slice(ndarray::s![..1, ..]),
            copy.slice(ndarray::s![..1, ..])
        )
        .is_err()
    );
}

#[test]
fn the_large_n_extrapolation_recovers_a_power_law_limit() {
    let points: Vec<(f64, f64)> = [250.0, 500.0, 1000.0, 2000.0, 4000.0, 8000.0]
        .iter()
        .map(|&n: &f64| (n, 1.5 - 3.0 * n.powf(-0.5)))
        .collect();
    let x = extrapolate(&points).unwrap();
    assert!(
        (x.limit - 1.5).abs() < 1e-9 && (x.alpha - 0.5).abs() < 1e-9,
        "{x:?}"
    );
    assert!(extrapolate(&points[..2]).is_none());
}

#[test]
fn a_correlation_with_a_constant_is_undefined_not_zero() {
    let x = [1.0, 2.0, 3.0, 4.0];
    assert!(spearman(&x, &[0.0; 4]).is_err());
    assert!(pearson(&[5.0; 4], &x).is_err());
    assert!((spearman(&x, &[1.0, 3.0, 2.0, 4.0]).unwrap().r - 0.8).abs() < 1e-12);
}
