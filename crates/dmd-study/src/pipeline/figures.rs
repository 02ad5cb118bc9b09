//! The pictures of one student (paper Figs. 1-12 that apply to its data), rendered from the
//! stored samples and per-seed measurements into `results/<experiment>/figures/`.

use anyhow::{Context, Result};
use dmd_figures::{
    Axes, GridRow, ImageShape, Panel, delta_vs_distance, displacement_scatter, distance_heatmap,
    dm_loss_curves, image_grid, paired_panels, ratio_histogram, save_png,
};
use dmd_train::TrainData;
use ndarray::{Array2, ArrayView2, s};
use std::path::{Path, PathBuf};

use super::analyze::{AnalysisInput, PER_SEED};
use crate::config::ExperimentConfig;
use crate::store;

/// Renders every figure of one student into `fig_dir`, file names prefixed with
/// `snapshot-<it>-`; returns the files written.
pub fn student_figures(
    cfg: &ExperimentConfig,
    snapshot: u64,
    input: &AnalysisInput,
    data: &TrainData,
    snap_dir: &Path,
    fig_dir: &Path,
) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(fig_dir)
        .with_context(|| format!("cannot create {}", fig_dir.display()))?;
    let e = &cfg.eval;
    let k = e.reference_steps;
    let kf = e.fine_steps;
    let mut written = Vec::new();
    let mut save = |name: &str, img: image::RgbImage| -> Result<()> {
        let p = fig_dir.join(format!("snapshot-{snapshot:06}-{name}.png"));
        save_png(&img, &p)?;
        written.push(p);
        Ok(())
    };
    let per_seed = store::load_arrays(&snap_dir.join(PER_SEED))?;
    let column = |name: &str| -> Vec<f64> {
        per_seed
            .get(name)
            .map(|a| a.iter().map(|&v| f64::from(v)).collect())
            .unwrap_or_default()
    };
    let tag = format!("{} (teacher {snapshot} it)", cfg.name);

    // Image quintuples (Fig. 1 top, 9, 12): Phi_1, Phi_K, Phi_K', G, nearest training image of Phi_K.
    if data.shape.len() == 3 {
        let shape = ImageShape {
            channels: data.shape[0] as usize,
            height: data.shape[1] as usize,
            width: data.shape[2] as usize,
        };
        let cols = 30.min(input.phi_fine.nrows());
        let nearest: Vec<usize> = column("nearest_train_index")
            .iter()
            .take(cols)
            .map(|&v| v as usize)
            .collect();
        let nn_rows: Array2<f32> = data.x.gather(&nearest)?;
        let head = |a: &Array2<f32>| a.slice(s![..cols, ..]).to_owned();
        let (p1, pk, pf, g) = (
            head(&input.phi_1),
            head(&input.phi_k),
            head(&input.phi_fine),
            head(&input.g),
        );
        let mut rows = vec![
            GridRow {
                label: "Phi_1(z)".into(),
                images: p1.view(),
            },
            GridRow {
                label: format!("Phi_{k}(z)"),
                images: pk.view(),
            },
            GridRow {
                label: format!("Phi_{kf}(z)"),
                images: pf.view(),
            },
            GridRow {
                label: "G(z)".into(),
                images: g.view(),
            },
        ];
        if nearest.len() == cols {
            rows.push(GridRow {
                label: format!("NN of Phi_{k}"),
                images: nn_rows.view(),
            });
        }
        save(
            "grid",
            image_grid(
                &rows,
                shape,
                cols,
                2,
                &format!("{tag}: same seed per column"),
            )?,
        )?;
    }

    // PCA triplets (Fig. 1 bottom, 10), or the 2-D plane for toys (Fig. 2, 8).
    let plan = crate::config::EvalPlan::new(e, input.phi_k.nrows().min(input.g.nrows()));
    let n_pca = plan.n_pca;
    let take = |a: &Array2<f32>| a.slice(s![..n_pca, ..]).to_owned();
    let (pk, p1, g) = (take(&input.phi_k), take(&input.phi_1), take(&input.g));
    let points = |a: ArrayView2<f64>| -> Vec<(f64, f64)> {
        a.rows()
            .into_iter()
            .map(|r| (r[0], r[1.min(r.len() - 1)]))
            .collect()
    };
    if let Some(toy) = cfg.data.as_toy() {
        let emb = toy.embedder()?;
        // The fine reference exists on the first N seeds only: every panel shows those seeds.
        let m = n_pca.min(input.phi_fine.nrows());
        let plane = |a: &Array2<f32>| -> Result<Vec<(f64, f64)>> {
            Ok(points(
                emb.project(a.slice(s![..m, ..]))?.mapv(f64::from).view(),
            ))
        };
        let (z, a, f, b, c) = (
            plane(&input.z)?,
            plane(&pk)?,
            plane(&input.phi_fine)?,
            plane(&p1)?,
            plane(&g)?,
        );
        let panels = [
            Panel {
                title: "noise z".into(),
                points: &z,
            },
            Panel {
                title: format!("Phi_{k}(z)"),
                points: &a,
            },
            Panel {
                title: format!("Phi_{kf}(z)"),
                points: &f,
            },
            Panel {
                title: "Phi_1(z)".into(),
                points: &b,
            },
            Panel {
                title: "G(z)".into(),
                points: &c,
            },
        ];
        save(
            "plane",
            paired_panels(
                &panels,
                0,
                false,
                &Axes::new(&format!("{tag}: data plane, colour = seed z"), "x1", "x2"),
            )?,
        )?;
    } else {
        let tri = dmd_analysis::TripletProjection::new(pk.view(), p1.view(), g.view())?;
        let (a, b, c) = (
            points(tri.teacher.view()),
            points(tri.teacher_one_step.view()),
            points(tri.student.view()),
        );
        let panels = [
            Panel {
                title: format!("Phi_{k}(z)"),
                points: &a,
            },
            Panel {
                title: "Phi_1(z)".into(),
                points: &b,
            },
            Panel {
                title: "G(z)".into(),
                points: &c,
            },
        ];
        save(
            "pca",
            paired_panels(
                &panels,
                0,
                true,
                &Axes::new(
                    &format!("{tag}: PCA of Phi_{k}, colour = seed"),
                    "PC 1",
                    "PC 2",
                ),
            )?,
        )?;
    }

    // Distance heatmap with the optimal assignment (Fig. 3, 7).
    let h = crate::config::EvalPlan::new(e, input.g.nrows()).n_heatmap;
    let heat = dmd_analysis::DistanceHeatmap::new(input.phi_k.view(), input.g.view(), h)?;
    save(
        "heatmap",
        distance_heatmap(
            heat.cost.view(),
            Some(&heat.assignment),
            &format!("{tag}: ||Phi_{k}(z_i) - G(z_j)||^2, boxes = OT"),
        )?,
    )?;

    // Displacement pairs (Fig. 11), delta vs D (Fig. 6), memorisation ratios (Fig. 5).
    save(
        "displacement",
        displacement_scatter(&column("teacher_one_step"), &column("student"), k, &tag)?,
    )?;
    let d_z = column("distance_to_train");
    let delta: Vec<f64> = column("delta").into_iter().take(d_z.len()).collect();
    save(
        "delta_vs_distance",
        delta_vs_distance(&d_z, &delta, k, &tag)?,
    )?;
    let rank: Vec<f64> = column("partner_rank").into_iter().take(d_z.len()).collect();
    if rank.len() == d_z.len() && !rank.is_empty() {
        save(
            "partner_rank_vs_distance",
            dmd_figures::scatter_with_line(
                &d_z,
                &rank,
                dmd_figures::ReferenceLine::Horizontal(0.5),
                "seeds",
                "0.5 = a random pairing's mean (0 = own partner nearest)",
                &Axes::new(
                    &format!("{tag}: pairing per seed, no Phi_1 term"),
                    &format!("D(z) = mean over training x of ||Phi_{k}(z) - x||"),
                    "rank of G(z_i) in the row ||Phi_K(z_i) - G(z_j)||^2 (0..1)",
                ),
            )?,
        )?;
    }
    save(
        "memorisation",
        ratio_histogram(
            &column("memorisation_ratio"),
            e.memorisation_threshold,
            40,
            &format!("{tag}: r = d1/d2 of Phi_{k}(z)"),
        )?,
    )?;
    Ok(written)
}

/// The DM loss of every student of the experiment against its iteration (Fig. 4), read from
/// their `metrics.jsonl`.
pub fn dm_loss_figure(logs: &[(u64, PathBuf)], path: &Path) -> Result<()> {
    let mut curves = Vec::new();
    // A student measured by `dmd eval` was trained elsewhere and has no log here.
    for (snapshot, log) in logs.iter().filter(|(_, log)| log.is_file()) {
        let text = std::fs::read_to_string(log)
            .with_context(|| format!("cannot read {}", log.display()))?;
        let points: Vec<(f64, f64)> = text
            .lines()
            .filter_map(|l| serde_json::from_str::<dmd_train::DistillRecord>(l).ok())
            .filter_map(|r| r.dm_loss.map(|v| (r.iteration as f64, v)))
            .collect();
        curves.push((format!("teacher {snapshot} it"), points));
    }
    save_png(&dm_loss_curves(&curves)?, path)?;
    Ok(())
}

/// The figures of a student's pairing evidence: the remapping ruler (copy score and
/// `E_DT / E_rand` against the rotation angle, the student and `Phi_1` marked at their
/// equivalent angles) and the finite-N curve (`Delta_E` and copy score against `N`).
pub fn evidence_figures(m: &crate::schema::StudentMetrics, fig_dir: &Path) -> Result<Vec<PathBuf>> {
    use dmd_figures::{BandOptions, BandPoint, BandSeries, band_plot};
    let Some(ev) = &m.evidence else {
        return Ok(Vec::new());
    };
    std::fs::create_dir_all(fig_dir)
        .with_context(|| format!("cannot create {}", fig_dir.display()))?;
    let tag = format!("{} (teacher {} it)", m.experiment, m.snapshot);
    let within = if ev.within_class {
        ", within class"
    } else {
        ""
    };
    let mut written = Vec::new();
    let mut save = |name: &str, series: &[BandSeries], axes: Axes, log_x: bool| -> Result<()> {
        let path = fig_dir.join(format!("snapshot-{:06}-{name}.png", m.snapshot));
        let opts = BandOptions {
            log_x,
            reference: None,
            x_labels: None,
        };
        save_png(&band_plot(series, &axes, &opts)?, &path)?;
        written.push(path);
        Ok(())
    };
    let point = |x: f64, y: f64, lo: f64, hi: f64| BandPoint {
        x,
        y,
        lo,
        hi,
        valid: true,
    };
    let ruler_series =
        |label: &str, f: &dyn Fn(&dmd_analysis::RulerPoint) -> (f64, f64, f64)| BandSeries {
            label: label.into(),
            points: ev
                .ruler
                .points
                .iter()
                .map(|p| {
                    let (y, lo, hi) = f(p);
                    point(p.theta, y, lo, hi)
                })
                .collect(),
        };
    let marker = |label: &str, angle: Option<crate::pipeline::controls::AngleInterval>, y: f64| {
        angle.map(|a| BandSeries {
            label: format!("{label} at its equivalent angle {}", a.estimate),
            points: vec![point(a.estimate.theta(), y, y, y)],
        })
    };
    let mut series = vec![
        ruler_series("ruler: copy score", &|p| {
            let c = p.pairing.copy_score;
            p.pairing
                .copy_score_interval
                .map_or((c, c, c), |iv| (c, iv.lower, iv.upper.min(1.0)))
        }),
        ruler_series("ruler: E_DT / E_rand", &|p| {
            (p.dt_ratio, p.dt_ratio, p.dt_ratio)
        }),
    ];
    series.extend(marker(
        "student",
        ev.student_angle,
        ev.student.dt_ratio.mean,
    ));
    series.extend(marker(
        "Phi_1",
        ev.teacher_one_step_angle,
        ev.teacher_one_step.dt_ratio.mean,
    ));
    save(
        "ruler",
        &series,
        Axes::new(
            &format!(
                "{tag}: remapping ruler G = Phi_K(R_theta z), N = {}{within}",
                ev.n
            ),
            "rotation angle theta of the noise (radians)",
            "copy score / E_DT over E_rand",
        ),
        false,
    )?;
    if ev.n_curve.len() >= 2 {
        let curve = |label: &str, f: &dyn Fn(&dmd_analysis::FiniteNPoint) -> dmd_analysis::ReplicateSummary| {
            BandSeries {
                label: label.into(),
                points: ev
                    .n_curve
                    .iter()
                    .map(|p| {
                        let s = f(p);
                        point(p.n as f64, s.mean, s.lower, s.upper)
                    })
                    .collect(),
            }
        };
        save(
            "n_curve",
            &[
                curve("Delta_E", &|p| p.delta_e),
                curve("copy score", &|p| p.copy_score),
                curve("E_DT / E_rand", &|p| p.dt_ratio),
            ],
            Axes::new(
                &format!("{tag}: pairing against the number of seeds N{within}"),
                "N (seeds per block; blocks = drawn seeds / N)",
                "mean over blocks, 95% t-interval",
            ),
            true,
        )?;
    }
    Ok(written)
}

/// Pairing over training: the equivalent angle on the ruler (radians), the copy score,
/// `E_DT / E_rand` and the fit's distance to its noise floor (`SW2 / floor - 1`) against the
/// iteration (`trajectory-iteration.png`) and against the cumulative learning rate
/// (`trajectory-lr.png`).
pub fn trajectory_figures(
    points: &[crate::pipeline::trajectory::TrajectoryPoint],
    tag: &str,
    snapshot: u64,
    fig_dir: &Path,
) -> Result<Vec<PathBuf>> {
    if points.len() < 2 {
        return Ok(Vec::new());
    }
    std::fs::create_dir_all(fig_dir)
        .with_context(|| format!("cannot create {}", fig_dir.display()))?;
    type Of = fn(&crate::pipeline::trajectory::TrajectoryPoint) -> f64;
    let measures: [(&str, Of); 4] = [
        ("equivalent angle (rad)", |p| {
            p.measures.angle.map_or(f64::NAN, |a| a.theta())
        }),
        ("copy score", |p| p.measures.copy_score),
        ("E_DT / E_rand", |p| p.measures.dt_ratio),
        ("fit: SW2 / floor - 1", |p| {
            p.measures.fit_sw2 / p.measures.fit_floor_sw2.max(f64::MIN_POSITIVE) - 1.0
        }),
    ];
    let mut written = Vec::new();
    let axes: [(&str, &str, Of); 2] = [
        ("iteration", "distillation iteration", |p| {
            p.iteration as f64
        }),
        ("lr", "cumulative generator learning rate sum_t lr_t", |p| {
            p.cumulative_lr
        }),
    ];
    for (name, x_label, x) in axes {
        let curves: Vec<dmd_figures::Curve> = measures
            .iter()
            .map(|(label, y)| {
                (
                    (*label).to_string(),
                    points.iter().map(|p| (x(p), y(p))).collect(),
                )
            })
            .collect();
        let path = fig_dir.join(format!("snapshot-{snapshot:06}-trajectory-{name}.png"));
        let axes = Axes::new(
            &format!("{tag}: pairing over training (fixed panel of seeds)"),
            x_label,
            "value",
        );
        save_png(&dmd_figures::line_curves(&curves, &axes)?, &path)?;
        written.push(path);
    }
    Ok(written)
}
