//! Histogram of memorisation ratios `r(y) = ||y - x^1|| / ||y - x^2||` with the threshold
//! marked (paper Figs. 5 and 12).

use image::RgbImage;
use plotters::prelude::*;

use crate::canvas::{draw_legend, render, xy_chart};
use crate::colour::CATEGORICAL;
use crate::error::{FigureError, Result, draw_err};

/// Histogram of `ratios` on `[0, 1]` with `bins` bins and a dashed line at `threshold`.
pub fn ratio_histogram(
    ratios: &[f64],
    threshold: f64,
    bins: usize,
    title: &str,
) -> Result<RgbImage> {
    const WHAT: &str = "ratio histogram";
    let vals: Vec<f64> = ratios.iter().copied().filter(|v| v.is_finite()).collect();
    if vals.is_empty() || bins == 0 {
        return Err(FigureError::Empty { what: WHAT });
    }
    let mut counts = vec![0usize; bins];
    for v in &vals {
        let b = ((v.clamp(0.0, 1.0)) * bins as f64).floor() as usize;
        counts[b.min(bins - 1)] += 1;
    }
    let below = vals.iter().filter(|&&v| v < threshold).count();
    let ymax = *counts.iter().max().expect("bins > 0") as f64 * 1.15 + 1.0;
    let bar = CATEGORICAL[0];
    let line = CATEGORICAL[3];
    render(WHAT, (900, 620), |root| {
        let mut chart = xy_chart(
            root,
            WHAT,
            (
                title,
                "r(y) = ||y - x1(y)|| / ||y - x2(y)||  (x1, x2: nearest, second-nearest training points)",
                "number of samples",
            ),
            (0.0, 1.0),
            (0.0, ymax),
            70,
        )?;
        let w = 1.0 / bins as f64;
        chart
            .draw_series(counts.iter().enumerate().map(|(b, &c)| {
                Rectangle::new(
                    [(b as f64 * w, 0.0), ((b + 1) as f64 * w, c as f64)],
                    bar.mix(0.8).filled(),
                )
            }))
            .map_err(draw_err(WHAT))?
            .label(format!("samples (n = {})", vals.len()))
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], bar.filled()));
        chart
            .draw_series(DashedLineSeries::new(
                vec![(threshold, 0.0), (threshold, ymax)],
                10,
                6,
                line.stroke_width(3),
            ))
            .map_err(draw_err(WHAT))?
            .label(format!("threshold r = {threshold:.3}: {below} memorised"))
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], line.stroke_width(3))
            });
        draw_legend(&mut chart, WHAT, SeriesLabelPosition::UpperLeft)
    })
}
