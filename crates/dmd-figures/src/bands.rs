//! Sweep figures: a measure against a swept parameter, one line per series, each point with a
//! confidence interval drawn as a shaded band and a bar. Points that do not count (teacher or
//! student not converged) are drawn hollow and left out of the band.

use image::RgbImage;
use plotters::prelude::*;

use crate::canvas::{draw_legend, padded_range, render, tick, xy_chart_with_x_ticks};
use crate::colour::categorical;
use crate::error::{FigureError, Result, draw_err};
use crate::scatter::Axes;

/// One point of a sweep: the mean over seeds and its confidence interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BandPoint {
    /// Swept parameter value.
    pub x: f64,
    /// Mean of the measure over seeds.
    pub y: f64,
    /// Lower end of the interval.
    pub lo: f64,
    /// Upper end of the interval.
    pub hi: f64,
    /// Whether the point counts (converged); hollow markers otherwise.
    pub valid: bool,
}

/// A labelled line of [`BandPoint`]s.
#[derive(Debug, Clone, PartialEq)]
pub struct BandSeries {
    /// Legend entry.
    pub label: String,
    /// Points, in increasing `x`.
    pub points: Vec<BandPoint>,
}

/// Options of a band plot.
#[derive(Debug, Clone, Default)]
pub struct BandOptions {
    /// Logarithmic `x` axis (base 2; every `x` must be positive).
    pub log_x: bool,
    /// A horizontal reference line and its legend entry (e.g. `Delta_E = 1`).
    pub reference: Option<(f64, String)>,
    /// Categorical `x` axis: point `x = i` (1-based) is labelled `x_labels[i - 1]`, other
    /// ticks are left blank (for sweeps over methods, initialisations, ...).
    pub x_labels: Option<Vec<String>>,
}

/// Draws the series (see the module docs).
pub fn band_plot(series: &[BandSeries], axes: &Axes, opts: &BandOptions) -> Result<RgbImage> {
    const WHAT: &str = "sweep band plot";
    if opts.log_x
        && series
            .iter()
            .flat_map(|s| &s.points)
            .any(|p| p.x.is_nan() || p.x <= 0.0)
    {
        return Err(FigureError::Draw {
            what: WHAT,
            detail: "a logarithmic x axis needs positive x values".into(),
        });
    }
    let fx = |x: f64| if opts.log_x { x.log2() } else { x };
    let all = || series.iter().flat_map(|s| s.points.iter());
    let (x0, x1) =
        padded_range(all().map(|p| fx(p.x)), 0.05).ok_or(FigureError::Empty { what: WHAT })?;
    let ys = all()
        .flat_map(|p| [p.y, p.lo, p.hi])
        .chain(opts.reference.iter().map(|r| r.0));
    let (y0, y1) = padded_range(ys, 0.08).ok_or(FigureError::Empty { what: WHAT })?;
    render(WHAT, (960, 640), |root| {
        let x_fmt = |v: &f64| {
            if let Some(labels) = &opts.x_labels {
                let i = v.round();
                if (v - i).abs() < 1e-6 && i >= 1.0 && i as usize <= labels.len() {
                    labels[i as usize - 1].clone()
                } else {
                    String::new()
                }
            } else if opts.log_x {
                tick(&2f64.powf(*v))
            } else {
                tick(v)
            }
        };
        let x_desc = if opts.log_x {
            format!("{} (log scale)", axes.x_label)
        } else {
            axes.x_label.clone()
        };
        let mut chart = xy_chart_with_x_ticks(
            root,
            WHAT,
            (&axes.title, &x_desc, &axes.y_label),
            (x0, x1),
            (y0, y1),
            80,
            &x_fmt,
        )?;
        if let Some((y, label)) = &opts.reference {
            let grey = RGBColor(120, 120, 120);
            chart
                .draw_series(LineSeries::new([(x0, *y), (x1, *y)], grey.stroke_width(1)))
                .map_err(draw_err(WHAT))?
                .label(label.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 22, y)], grey));
        }
        for (i, s) in series.iter().enumerate() {
            let c = categorical(i);
            let valid: Vec<&BandPoint> = s.points.iter().filter(|p| p.valid).collect();
            if valid.len() >= 2 {
                let mut poly: Vec<(f64, f64)> = valid.iter().map(|p| (fx(p.x), p.hi)).collect();
                poly.extend(valid.iter().rev().map(|p| (fx(p.x), p.lo)));
                chart
                    .draw_series(std::iter::once(Polygon::new(poly, c.mix(0.18).filled())))
                    .map_err(draw_err(WHAT))?;
            }
            chart
                .draw_series(LineSeries::new(
                    s.points.iter().map(|p| (fx(p.x), p.y)),
                    c.stroke_width(2),
                ))
                .map_err(draw_err(WHAT))?
                .label(s.label.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 22, y)], c.stroke_width(3))
                });
            for p in &s.points {
                let x = fx(p.x);
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(x, p.lo), (x, p.hi)],
                        c.stroke_width(2),
                    )))
                    .map_err(draw_err(WHAT))?;
                let style = if p.valid { c.filled() } else { WHITE.filled() };
                chart
                    .draw_series([
                        Circle::new((x, p.y), 6, style),
                        Circle::new((x, p.y), 6, c.stroke_width(2)),
                    ])
                    .map_err(draw_err(WHAT))?;
            }
        }
        if series.iter().flat_map(|s| &s.points).any(|p| !p.valid) {
            chart
                .draw_series(std::iter::once(Circle::new((x0, y0), 0, WHITE.filled())))
                .map_err(draw_err(WHAT))?
                .label("hollow: not converged (does not count)")
                .legend(|(x, y)| Circle::new((x + 11, y), 6, BLACK.stroke_width(2)));
        }
        draw_legend(&mut chart, WHAT, SeriesLabelPosition::UpperRight)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(shift: f64, valid_last: bool) -> Vec<BandSeries> {
        vec![BandSeries {
            label: "Delta_E".into(),
            points: [2.0, 4.0, 16.0, 256.0, 1024.0]
                .iter()
                .enumerate()
                .map(|(i, &x)| BandPoint {
                    x,
                    y: 5.0 / (i as f64 + 1.0) + shift,
                    lo: 4.0 / (i as f64 + 1.0) + shift,
                    hi: 6.0 / (i as f64 + 1.0) + shift,
                    valid: i < 4 || valid_last,
                })
                .collect(),
        }]
    }

    #[test]
    fn band_plot_draws_and_depends_on_the_data() {
        let axes = Axes::new("Delta_E against D", "ambient dimension D", "Delta_E");
        let opts = BandOptions {
            log_x: true,
            reference: Some((1.0, "Delta_E = 1".into())),
            x_labels: None,
        };
        let a = band_plot(&series(0.0, false), &axes, &opts).unwrap();
        let b = band_plot(&series(1.0, true), &axes, &opts).unwrap();
        assert_eq!(a.dimensions(), (960, 640));
        let non_white = a.pixels().filter(|p| p.0 != [255, 255, 255]).count();
        assert!(non_white > 10_000, "{non_white} drawn pixels");
        let differ = a.pixels().zip(b.pixels()).filter(|(p, q)| p != q).count();
        assert!(differ > 1000, "{differ} pixels differ");
    }

    #[test]
    fn log_axis_rejects_non_positive_x_and_empty_input_is_an_error() {
        let axes = Axes::new("t", "x", "y");
        let mut s = series(0.0, true);
        s[0].points[0].x = 0.0;
        let log = BandOptions {
            log_x: true,
            reference: None,
            x_labels: None,
        };
        assert!(band_plot(&s, &axes, &log).is_err());
        assert!(band_plot(&s, &axes, &BandOptions::default()).is_ok());
        assert!(band_plot(&[], &axes, &BandOptions::default()).is_err());
    }

    #[test]
    fn categorical_axis_draws_its_labels() {
        // Two methods at x = 1, 2: the tick labels must be drawn (pixels differ from the same
        // plot with blank labels).
        let s = vec![BandSeries {
            label: "mean over seeds".into(),
            points: (1..=2)
                .map(|i| BandPoint {
                    x: i as f64,
                    y: i as f64,
                    lo: i as f64 - 0.5,
                    hi: i as f64 + 0.5,
                    valid: true,
                })
                .collect(),
        }];
        let axes = Axes::new("Delta_E by method", "method", "Delta_E");
        let with = |labels: &[&str]| BandOptions {
            x_labels: Some(labels.iter().map(|l| l.to_string()).collect()),
            ..BandOptions::default()
        };
        let a = band_plot(&s, &axes, &with(&["dmd", "dp-dmd"])).unwrap();
        let b = band_plot(&s, &axes, &with(&["", ""])).unwrap();
        let differ = a.pixels().zip(b.pixels()).filter(|(p, q)| p != q).count();
        assert!(differ > 50, "{differ} pixels differ");
    }
}
