//! Distance heatmap (paper Figs. 3 and 7): squared distances between teacher samples
//! `Phi_K(z_i)` (horizontal) and student samples `G(z_j)` (vertical), with the optimal
//! assignment `j = pi(i)` outlined. Copying shows as boxes on the diagonal.

use image::RgbImage;
use ndarray::ArrayView2;
use plotters::prelude::*;

use crate::canvas::{render, text, tick};
use crate::colour::viridis;
use crate::error::{FigureError, Result, draw_err};

/// Draws `cost` (`n x m`, entry `(i, j)`) and, if given, boxes at `(i, assignment[i])`.
pub fn distance_heatmap(
    cost: ArrayView2<f64>,
    assignment: Option<&[usize]>,
    title: &str,
) -> Result<RgbImage> {
    const WHAT: &str = "distance heatmap";
    let (n, m) = cost.dim();
    if n == 0 || m == 0 {
        return Err(FigureError::Empty { what: WHAT });
    }
    if let Some(a) = assignment
        && (a.len() != n || a.iter().any(|&j| j >= m))
    {
        return Err(FigureError::Shape {
            what: WHAT,
            detail: format!("assignment must have {n} entries, each < {m}"),
        });
    }
    let (lo, hi) = cost
        .iter()
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    if lo > hi {
        return Err(FigureError::Empty { what: WHAT });
    }
    let span = if hi > lo { hi - lo } else { 1.0 };
    let box_colour = RGBColor(230, 20, 20);
    render(WHAT, (900, 800), |root| {
        let (main, bar) = root.split_horizontally(790);
        let mut chart = ChartBuilder::on(&main)
            .caption(title, text(22))
            .margin(12)
            .x_label_area_size(50)
            .y_label_area_size(60)
            .build_cartesian_2d(0f64..n as f64, 0f64..m as f64)
            .map_err(draw_err(WHAT))?;
        chart
            .configure_mesh()
            .x_label_formatter(&tick)
            .y_label_formatter(&tick)
            .disable_mesh()
            .x_desc("teacher sample index i (Phi_K(z_i))")
            .y_desc("student sample index j (G(z_j))")
            .label_style(text(14))
            .axis_desc_style(text(16))
            .draw()
            .map_err(draw_err(WHAT))?;
        chart
            .draw_series(cost.indexed_iter().map(|((i, j), &v)| {
                let c = viridis((v - lo) / span);
                Rectangle::new(
                    [(i as f64, j as f64), (i as f64 + 1.0, j as f64 + 1.0)],
                    c.filled(),
                )
            }))
            .map_err(draw_err(WHAT))?;
        if let Some(a) = assignment {
            chart
                .draw_series(a.iter().enumerate().map(|(i, &j)| {
                    Rectangle::new(
                        [(i as f64, j as f64), (i as f64 + 1.0, j as f64 + 1.0)],
                        box_colour.stroke_width(2),
                    )
                }))
                .map_err(draw_err(WHAT))?
                .label("optimal transport assignment j = pi(i)")
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 6), (x + 12, y + 6)], box_colour.stroke_width(2))
                });
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .label_font(text(14))
                .background_style(WHITE.mix(0.9))
                .border_style(BLACK)
                .draw()
                .map_err(draw_err(WHAT))?;
        }
        // Colour bar.
        let (top, bottom) = (70i32, 700i32);
        let steps = 120;
        for s in 0..steps {
            let t0 = s as f64 / steps as f64;
            let y_hi = bottom - ((bottom - top) as f64 * (t0 + 1.0 / steps as f64)) as i32;
            let y_lo = bottom - ((bottom - top) as f64 * t0) as i32 + 1;
            bar.draw(&Rectangle::new(
                [(8, y_hi), (30, y_lo)],
                viridis(t0).filled(),
            ))
            .map_err(draw_err(WHAT))?;
        }
        bar.draw_text("dist^2", &text(13), (2, top - 40))
            .map_err(draw_err(WHAT))?;
        bar.draw_text(&format!("{hi:.3}"), &text(12), (2, top - 20))
            .map_err(draw_err(WHAT))?;
        bar.draw_text(&format!("{lo:.3}"), &text(12), (2, bottom + 6))
            .map_err(draw_err(WHAT))?;
        Ok(())
    })
}
