//! Renders every figure type of dmd-figures from synthetic data into a folder:
//! `cargo run -p dmd-figures --example gallery -- OUT_DIR`.

use std::f64::consts::PI;
use std::path::Path;

use dmd_figures::*;
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// A synthetic 32x32 "digit": a ring whose radius and thickness depend on `a`, `b`.
fn blob(a: f64, b: f64, noise: f64, rng: &mut ChaCha8Rng) -> Vec<f32> {
    let mut v = Vec::with_capacity(1024);
    for y in 0..32 {
        for x in 0..32 {
            let (dx, dy) = (x as f64 - 15.5 - 3.0 * b, y as f64 - 15.5);
            let r = (dx * dx + dy * dy).sqrt();
            let ring = (-((r - 8.0 - 3.0 * a) / (1.5 + b.abs())).powi(2)).exp();
            let n: f64 = StandardNormal.sample(rng);
            v.push(((2.0 * ring - 1.0) + noise * n).clamp(-1.0, 1.0) as f32);
        }
    }
    v
}

fn main() -> Result<()> {
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "docs/figures".into());
    let out = Path::new(&out);
    std::fs::create_dir_all(out).map_err(|e| FigureError::Io {
        path: out.display().to_string(),
        detail: e.to_string(),
    })?;
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let normal = |rng: &mut ChaCha8Rng| -> f64 { StandardNormal.sample(rng) };

    // Image quintuple grid: Phi_1 (blurry), Phi_8, Phi_32, G (close to Phi_8), nearest neighbour.
    let n = 30;
    let params: Vec<(f64, f64)> = (0..n)
        .map(|_| (normal(&mut rng) * 0.5, normal(&mut rng) * 0.4))
        .collect();
    let mut rows = vec![];
    for (noise, jitter) in [
        (0.6, 0.0),
        (0.05, 0.0),
        (0.02, 0.0),
        (0.08, 0.05),
        (0.0, 0.3),
    ] {
        let mut a = Array2::<f32>::zeros((n, 1024));
        for (i, &(p, q)) in params.iter().enumerate() {
            let v = blob(p + jitter * normal(&mut rng), q, noise, &mut rng);
            a.row_mut(i).assign(&ndarray::ArrayView1::from(&v));
        }
        rows.push(a);
    }
    let labels = ["Phi_1(z)", "Phi_8(z)", "Phi_32(z)", "G(z)", "nearest train"];
    let grid_rows: Vec<GridRow> = rows
        .iter()
        .zip(labels)
        .map(|(a, l)| GridRow {
            label: l.into(),
            images: a.view(),
        })
        .collect();
    let shape = ImageShape {
        channels: 1,
        height: 32,
        width: 32,
    };
    save_png(
        &image_grid(
            &grid_rows,
            shape,
            30,
            2,
            "Image quintuples from the same seeds z (synthetic)",
        )?,
        &out.join("grid.png"),
    )?;

    // PCA triplet panels: G copies Phi_8, Phi_1 is a shrunk, noisy version.
    let m = 2000;
    let phi8: Vec<(f64, f64)> = (0..m)
        .map(|_| {
            let t = rng.random_range(0.0..2.0 * PI);
            (
                3.0 * t.cos() + 0.3 * normal(&mut rng),
                1.5 * t.sin() + 0.3 * normal(&mut rng),
            )
        })
        .collect();
    let phi1: Vec<(f64, f64)> = phi8
        .iter()
        .map(|p| {
            (
                0.4 * p.0 + 0.2 * normal(&mut rng),
                0.4 * p.1 + 0.2 * normal(&mut rng),
            )
        })
        .collect();
    let g: Vec<(f64, f64)> = phi8
        .iter()
        .map(|p| (p.0 + 0.15 * normal(&mut rng), p.1 + 0.15 * normal(&mut rng)))
        .collect();
    let panels = [
        Panel {
            title: "teacher Phi_8(z)".into(),
            points: &phi8,
        },
        Panel {
            title: "teacher Phi_1(z)".into(),
            points: &phi1,
        },
        Panel {
            title: "student G(z)".into(),
            points: &g,
        },
    ];
    save_png(
        &paired_panels(
            &panels,
            0,
            true,
            &Axes::new(
                "2000 triplets on the top-2 PCs of Phi_8 (synthetic copying)",
                "PC 1",
                "PC 2",
            ),
        )?,
        &out.join("pca_triplets.png"),
    )?;

    // 2-D toy panels: z, Phi_8 on a chessboard, Phi_1 blurred, G remapped (permuted).
    let k = 1000;
    let z: Vec<(f64, f64)> = (0..k)
        .map(|_| (normal(&mut rng), normal(&mut rng)))
        .collect();
    let square = |p: (f64, f64)| {
        // Map a Gaussian point to one of the black squares of a 4x4 chessboard on [-1, 1]^2.
        let u = 0.5 * (1.0 + (p.0 / 1.5).tanh());
        let v = 0.5 * (1.0 + (p.1 / 1.5).tanh());
        let (cx, cy) = ((u * 4.0).floor().min(3.0), (v * 4.0).floor().min(3.0));
        let cx = if (cx + cy) as i32 % 2 == 0 {
            cx
        } else {
            (cx + 1.0) % 4.0
        };
        (
            -1.0 + 0.5 * cx + 0.5 * (u * 4.0).fract(),
            -1.0 + 0.5 * cy + 0.5 * (v * 4.0).fract(),
        )
    };
    let phi8t: Vec<(f64, f64)> = z.iter().map(|&p| square(p)).collect();
    let phi1t: Vec<(f64, f64)> = phi8t.iter().map(|p| (0.6 * p.0, 0.6 * p.1)).collect();
    let gt: Vec<(f64, f64)> = z.iter().map(|&p| square((p.1, -p.0))).collect();
    let panels = [
        Panel {
            title: "noise z".into(),
            points: &z,
        },
        Panel {
            title: "teacher Phi_8(z)".into(),
            points: &phi8t,
        },
        Panel {
            title: "teacher Phi_1(z)".into(),
            points: &phi1t,
        },
        Panel {
            title: "student G(z)".into(),
            points: &gt,
        },
    ];
    save_png(
        &paired_panels(
            &panels,
            0,
            false,
            &Axes::new(
                "Chessboard toy: the student remaps the seeds (synthetic)",
                "x_1",
                "x_2",
            ),
        )?,
        &out.join("toy_panels.png"),
    )?;

    // Heatmap: near-diagonal cost with the identity as assignment (copying).
    let h = 100;
    let cost = Array2::from_shape_fn((h, h), |(i, j)| {
        let d = (i as f64 - j as f64).abs();
        if i == j {
            0.2
        } else {
            5.0 + (d * 0.37).sin() + 0.02 * d
        }
    });
    let ident: Vec<usize> = (0..h).collect();
    save_png(
        &distance_heatmap(
            cost.view(),
            Some(&ident),
            "Squared distances ||Phi_8(z_i) - G(z_j)||^2 (synthetic, copying)",
        )?,
        &out.join("heatmap.png"),
    )?;

    // Displacement scatter and delta vs D.
    let t1: Vec<f64> = (0..m).map(|_| 8.0 + 2.0 * normal(&mut rng)).collect();
    let st: Vec<f64> = t1
        .iter()
        .map(|v| (0.35 * v + 0.6 * normal(&mut rng)).abs())
        .collect();
    save_png(
        &displacement_scatter(
            &t1,
            &st,
            8,
            "Student vs one-step teacher distance to Phi_8 (synthetic)",
        )?,
        &out.join("displacement.png"),
    )?;
    let dz: Vec<f64> = (0..m).map(|_| 10.0 + normal(&mut rng)).collect();
    let delta: Vec<f64> = dz
        .iter()
        .map(|d| -0.8 * (d - 10.0) - 4.0 + normal(&mut rng))
        .collect();
    save_png(
        &delta_vs_distance(
            &dz,
            &delta,
            8,
            "Relative displacement vs distance to the training set (synthetic)",
        )?,
        &out.join("delta_vs_distance.png"),
    )?;

    // Memorisation ratio histogram.
    let ratios: Vec<f64> = (0..m)
        .map(|_| (0.9 + 0.04 * normal(&mut rng)).min(1.0))
        .collect();
    save_png(
        &ratio_histogram(
            &ratios,
            1.0 / 3.0,
            50,
            "Memorisation ratios of Phi_8 samples (synthetic)",
        )?,
        &out.join("memorisation_hist.png"),
    )?;

    // DM loss curves: rise then fall, per teacher snapshot.
    let curves: Vec<Curve> = [1024, 2048, 3072, 4096, 6144, 8192]
        .iter()
        .enumerate()
        .map(|(i, &snap)| {
            let peak = 1.0 + 0.2 * i as f64;
            let pts = (0..200)
                .map(|s| {
                    let t = s as f64 * 50.0;
                    (t, peak * (t / 800.0) * (-(t / 2500.0)).exp() + 0.05)
                })
                .collect();
            (format!("teacher {snap} it"), pts)
        })
        .collect();
    save_png(&dm_loss_curves(&curves)?, &out.join("dm_loss.png"))?;
    println!("wrote 8 figures to {}", out.display());
    Ok(())
}
