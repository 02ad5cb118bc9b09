//! The memorisation test's positive control: a teacher over-trained on a handful of points
//! reproduces them, and the same test (share of samples with `r = d1 / d2 < 1/3` above
//! [`MEMORISED_FRACTION_MAX`], the threshold of `dmd_study::gates`, ours, not the paper's) that
//! clears a teacher trained on plenty of data flags it.

use dmd_integration::config;
use dmd_study::config::ExperimentConfig;
use dmd_study::gates::MEMORISED_FRACTION_MAX;
use dmd_study::pipeline::{Paths, Until, run_experiment};
use dmd_study::schema::{StudentMetrics, read_json};

/// The memorised fraction of a chessboard teacher trained on `n_train` points for
/// `iterations` steps (smoke-sized networks and evaluation otherwise).
fn memorised_fraction(n_train: usize, iterations: u64) -> f64 {
    let tmp = tempfile::tempdir().unwrap();
    let paths = Paths {
        stages: tmp.path().join("stages"),
        results: tmp.path().join("results"),
    };
    let sets = [
        format!("n_train={n_train}"),
        format!("teacher.iterations={iterations}"),
        "teacher.batch_size=64".to_string(),
        "teacher.lr=2e-3".to_string(),
        "teacher.ema={ halflife_nimg = 2000.0, rampup_ratio = 0.05 }".to_string(),
        "teacher.net={ kind = \"mlp\", dim = 4, hidden = 256, layers = 4, fourier_dim = 32 }"
            .to_string(),
        "distill.iterations=2".to_string(),
        "eval.fine_steps=32".to_string(),
        "eval.reference_steps=32".to_string(),
        "eval.n_samples=200".to_string(),
        "eval.n_memorisation=200".to_string(),
        "eval.replicates=1".to_string(),
    ];
    let cfg = ExperimentConfig::load(&config("chessboard-r4"), "smoke", &sets).unwrap();
    run_experiment(&cfg, "smoke", &paths, Until::Analyze).unwrap();
    let m: StudentMetrics = read_json(
        &paths
            .results
            .join("chessboard-r4")
            .join(format!("snapshot-{iterations:06}"))
            .join("metrics.json"),
        "",
    )
    .unwrap();
    m.metrics.memorisation.unwrap().memorised_fraction
}

#[test]
fn an_over_trained_teacher_on_a_few_points_is_flagged_and_a_real_one_is_not() {
    let memoriser = memorised_fraction(12, 3000);
    // Plenty of data cannot be memorised at any length; 1000 steps keep the test short.
    let learner = memorised_fraction(20_000, 1000);
    eprintln!("memorised fraction: 12 points {memoriser:.3}, 20,000 points {learner:.3}");
    assert!(
        memoriser > MEMORISED_FRACTION_MAX,
        "12 training points, 3000 steps: {memoriser}"
    );
    assert!(
        learner <= MEMORISED_FRACTION_MAX,
        "20,000 training points: {learner}"
    );
}
