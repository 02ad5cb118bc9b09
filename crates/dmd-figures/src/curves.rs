//! Line plots of training curves, e.g. the DM loss of students initialised from several
//! teacher snapshots (paper Fig. 4).

use image::RgbImage;
use plotters::prelude::*;

use crate::canvas::{draw_legend, padded_range, render, xy_chart};
use crate::colour::categorical;
use crate::error::{FigureError, Result, draw_err};
use crate::scatter::Axes;

/// One labelled curve: `(step, value)` points.
pub type Curve = (String, Vec<(f64, f64)>);

/// Draws every curve in its own colour with a legend.
pub fn line_curves(curves: &[Curve], axes: &Axes) -> Result<RgbImage> {
    const WHAT: &str = "curves";
    let finite = || {
        curves
            .iter()
            .flat_map(|c| c.1.iter())
            .filter(|p| p.0.is_finite() && p.1.is_finite())
    };
    let (x0, x1) =
        padded_range(finite().map(|p| p.0), 0.0).ok_or(FigureError::Empty { what: WHAT })?;
    let (y0, y1) =
        padded_range(finite().map(|p| p.1), 0.06).ok_or(FigureError::Empty { what: WHAT })?;
    render(WHAT, (960, 640), |root| {
        let mut chart = xy_chart(
            root,
            WHAT,
            (&axes.title, &axes.x_label, &axes.y_label),
            (x0, x1),
            (y0, y1),
            80,
        )?;
        for (i, (label, pts)) in curves.iter().enumerate() {
            let c = categorical(i);
            chart
                .draw_series(LineSeries::new(
                    pts.iter()
                        .copied()
                        .filter(|p| p.0.is_finite() && p.1.is_finite()),
                    c.stroke_width(2),
                ))
                .map_err(draw_err(WHAT))?
                .label(label.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 22, y)], c.stroke_width(3))
                });
        }
        draw_legend(&mut chart, WHAT, SeriesLabelPosition::UpperRight)
    })
}

/// Paper Fig. 4: DM loss against distillation step, one curve per teacher snapshot.
pub fn dm_loss_curves(curves: &[Curve]) -> Result<RgbImage> {
    line_curves(
        curves,
        &Axes::new(
            "Distribution-matching loss during distillation (one student per teacher snapshot)",
            "distillation iteration",
            "DM loss",
        ),
    )
}
