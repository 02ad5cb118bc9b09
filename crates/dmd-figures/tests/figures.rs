//! Figure tests that can fail: each PNG decodes, has the expected size, is not blank, and its
//! pixels change when the input changes.

use dmd_figures::*;
use image::RgbImage;
use ndarray::Array2;

/// Saves, decodes and returns the image, checking size and non-blankness.
fn roundtrip(img: &RgbImage, expected: (u32, u32)) -> RgbImage {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fig.png");
    save_png(img, &path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    let decoded = image::load_from_memory(&bytes).unwrap().to_rgb8();
    assert_eq!(decoded.dimensions(), expected);
    assert_eq!(&decoded, img);
    let non_white = decoded.pixels().filter(|p| p.0 != [255, 255, 255]).count();
    let total = (expected.0 * expected.1) as usize;
    assert!(
        non_white > total / 200,
        "figure is (nearly) blank: {non_white} of {total} pixels drawn"
    );
    let colours: std::collections::HashSet<[u8; 3]> = decoded.pixels().map(|p| p.0).collect();
    assert!(
        colours.len() > 5,
        "figure has only {} colours",
        colours.len()
    );
    decoded
}

fn differ(a: &RgbImage, b: &RgbImage) {
    assert_eq!(a.dimensions(), b.dimensions());
    let diff = a.pixels().zip(b.pixels()).filter(|(p, q)| p != q).count();
    assert!(
        diff > 50,
        "figures for different inputs are identical ({diff} pixels differ)"
    );
}

fn points(n: usize, phase: f64) -> Vec<(f64, f64)> {
    (0..n)
        .map(|i| {
            let t = i as f64 * 0.37 + phase;
            (t.cos() * (1.0 + 0.1 * i as f64 % 3.0), t.sin())
        })
        .collect()
}

#[test]
fn image_grid_renders_and_changes() {
    let shape = ImageShape {
        channels: 1,
        height: 8,
        width: 8,
    };
    let a = Array2::from_shape_fn((5, 64), |(i, j)| ((i * 7 + j) % 13) as f32 / 6.5 - 1.0);
    let b = a.mapv(|v| -v);
    fn rows(x: &Array2<f32>) -> Vec<GridRow<'_>> {
        vec![
            GridRow {
                label: "Phi_1(z)".into(),
                images: x.view(),
            },
            GridRow {
                label: "G(z)".into(),
                images: x.view(),
            },
        ]
    }
    let ia = image_grid(&rows(&a), shape, 30, 3, "grid").unwrap();
    let ib = image_grid(&rows(&b), shape, 30, 3, "grid").unwrap();
    let (w, h) = ia.dimensions();
    assert_eq!(w, 150 + 5 * (24 + 4) + 4);
    assert_eq!(h, 44 + 2 * (24 + 4) + 4 + 24);
    roundtrip(&ia, (w, h));
    differ(&ia, &ib);
    // A pixel of value -1 is black, +1 white: first image's pixel (0, 0) is -1 -> black.
    let p = ia.get_pixel(150, 44);
    assert_eq!(p.0, [0, 0, 0]);
    // Wrong width is an error, not a panic.
    let bad = Array2::<f32>::zeros((3, 10));
    assert!(
        image_grid(
            &[GridRow {
                label: "x".into(),
                images: bad.view()
            }],
            shape,
            30,
            3,
            "t"
        )
        .is_err()
    );
}

#[test]
fn rgb_grid_renders() {
    let shape = ImageShape {
        channels: 3,
        height: 4,
        width: 4,
    };
    let a = Array2::from_shape_fn((2, 48), |(_, j)| if j < 16 { 1.0 } else { -1.0 });
    let img = image_grid(
        &[GridRow {
            label: "rgb".into(),
            images: a.view(),
        }],
        shape,
        30,
        4,
        "rgb",
    )
    .unwrap();
    // Red channel on, green and blue off -> pure red pixel.
    assert_eq!(img.get_pixel(151, 45).0, [255, 0, 0]);
}

#[test]
fn paired_panels_render_and_change() {
    let p1 = points(300, 0.0);
    let p2 = points(300, 1.0);
    let make = |a: &[(f64, f64)], b: &[(f64, f64)], shared| {
        paired_panels(
            &[
                Panel {
                    title: "Phi_8".into(),
                    points: a,
                },
                Panel {
                    title: "G".into(),
                    points: b,
                },
            ],
            0,
            shared,
            &Axes::new("PCA", "PC 1", "PC 2"),
        )
        .unwrap()
    };
    let ia = make(&p1, &p1, true);
    let ib = make(&p1, &p2, true);
    roundtrip(&ia, (840, 510));
    differ(&ia, &ib);
    // Own axes differ from shared axes when the panels have different scales.
    let p3: Vec<(f64, f64)> = p1.iter().map(|p| (3.0 * p.0, 3.0 * p.1)).collect();
    differ(&make(&p1, &p3, true), &make(&p1, &p3, false));
    assert!(
        paired_panels(
            &[
                Panel {
                    title: "a".into(),
                    points: &p1
                },
                Panel {
                    title: "b".into(),
                    points: &p2[..10]
                }
            ],
            0,
            true,
            &Axes::new("t", "x", "y")
        )
        .is_err()
    );
}

#[test]
fn heatmap_renders_and_marks_assignment() {
    let cost = Array2::from_shape_fn((20, 20), |(i, j)| ((i as f64) - (j as f64)).powi(2));
    let ident: Vec<usize> = (0..20).collect();
    let rev: Vec<usize> = (0..20).rev().collect();
    let ia = distance_heatmap(cost.view(), Some(&ident), "heatmap").unwrap();
    let ib = distance_heatmap(cost.view(), Some(&rev), "heatmap").unwrap();
    let ic = distance_heatmap(cost.view(), None, "heatmap").unwrap();
    roundtrip(&ia, (900, 800));
    differ(&ia, &ib);
    differ(&ia, &ic);
    let red = |img: &RgbImage| img.pixels().filter(|p| p.0 == [230, 20, 20]).count();
    assert!(red(&ia) > 100);
    assert_eq!(red(&ic), 0);
    assert!(distance_heatmap(cost.view(), Some(&[25]), "bad").is_err());
}

#[test]
fn scatters_render_and_change() {
    let x: Vec<f64> = (0..200).map(|i| i as f64 * 0.05).collect();
    let y1: Vec<f64> = x.iter().map(|v| 0.5 * v).collect();
    let y2: Vec<f64> = x.iter().map(|v| 0.1 * v + 2.0).collect();
    let a = displacement_scatter(&x, &y1, 8, "displacement").unwrap();
    let b = displacement_scatter(&x, &y2, 8, "displacement").unwrap();
    roundtrip(&a, (760, 760));
    differ(&a, &b);
    let c = delta_vs_distance(&x, &y1, 8, "delta").unwrap();
    let d = delta_vs_distance(&x, &y2, 8, "delta").unwrap();
    roundtrip(&c, (900, 680));
    differ(&c, &d);
    assert!(displacement_scatter(&x, &y1[..3], 8, "t").is_err());
    assert!(displacement_scatter(&[f64::NAN], &[1.0], 8, "t").is_err());
}

#[test]
fn histogram_and_curves_render_and_change() {
    let r1: Vec<f64> = (0..500)
        .map(|i| 0.5 + 0.4 * ((i as f64) * 0.1).sin())
        .collect();
    let r2: Vec<f64> = r1.iter().map(|v| v * 0.5).collect();
    let a = ratio_histogram(&r1, 1.0 / 3.0, 40, "ratios").unwrap();
    let b = ratio_histogram(&r2, 1.0 / 3.0, 40, "ratios").unwrap();
    roundtrip(&a, (900, 620));
    differ(&a, &b);
    assert!(ratio_histogram(&[], 0.3, 10, "empty").is_err());
    let c1: Vec<Curve> = vec![(
        "a".into(),
        (0..50).map(|i| (i as f64, (i as f64).sqrt())).collect(),
    )];
    let c2: Vec<Curve> = vec![
        (
            "a".into(),
            (0..50).map(|i| (i as f64, (i as f64).sqrt())).collect(),
        ),
        (
            "b".into(),
            (0..50)
                .map(|i| (i as f64, 7.0 - (i as f64) * 0.1))
                .collect(),
        ),
    ];
    let ia = dm_loss_curves(&c1).unwrap();
    let ib = dm_loss_curves(&c2).unwrap();
    roundtrip(&ia, (960, 640));
    differ(&ia, &ib);
}
