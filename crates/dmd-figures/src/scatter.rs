//! Scatter figures: seed-paired panels (PCA triplets, paper Figs. 1 and 10; 2-D toy panels
//! `z, Phi_8, Phi_1, G`, Figs. 2 and 8) and single scatters with a reference line
//! (displacement pairs with `y = x`, Fig. 11; `delta(z)` against `D(z)` with `delta = 0`, Fig. 6).

use image::RgbImage;
use plotters::prelude::*;

use crate::canvas::{draw_legend, padded_range, render, text, tick, xy_chart};
use crate::colour::{CATEGORICAL, seed_colours};
use crate::error::{FigureError, Result, draw_err};

/// One panel of a seed-paired figure: points in seed order (the same order in every panel).
#[derive(Debug, Clone)]
pub struct Panel<'a> {
    /// Panel title, e.g. "Phi_8(z)".
    pub title: String,
    /// 2-D points, one per seed.
    pub points: &'a [(f64, f64)],
}

/// Axis labels of a figure.
#[derive(Debug, Clone)]
pub struct Axes {
    /// Figure title.
    pub title: String,
    /// Horizontal axis label.
    pub x_label: String,
    /// Vertical axis label.
    pub y_label: String,
}

impl Axes {
    /// Convenience constructor.
    pub fn new(title: &str, x_label: &str, y_label: &str) -> Self {
        Self {
            title: title.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
        }
    }
}

const PANEL: u32 = 420;

/// Side-by-side scatter panels; every seed has one colour, taken from its position in
/// panel `colour_reference` (so matching colour patterns across panels mean copying).
///
/// With `shared_axes`, all panels use one range (best when the sets live on the same scale,
/// e.g. PCA triplets); otherwise each panel is scaled to its own points (e.g. noise `z` next to
/// data).
pub fn paired_panels(
    panels: &[Panel],
    colour_reference: usize,
    shared_axes: bool,
    axes: &Axes,
) -> Result<RgbImage> {
    const WHAT: &str = "paired panels";
    let n = panels.first().map(|p| p.points.len()).unwrap_or(0);
    if panels.is_empty() || n == 0 {
        return Err(FigureError::Empty { what: WHAT });
    }
    if panels.iter().any(|p| p.points.len() != n) || colour_reference >= panels.len() {
        return Err(FigureError::Shape {
            what: WHAT,
            detail: format!(
                "every panel needs the same number of seeds ({n}) and colour_reference < {}",
                panels.len()
            ),
        });
    }
    let colours = seed_colours(panels[colour_reference].points);
    let all = || panels.iter().flat_map(|p| p.points.iter());
    let (x0, x1) =
        padded_range(all().map(|p| p.0), 0.05).ok_or(FigureError::Empty { what: WHAT })?;
    let (y0, y1) =
        padded_range(all().map(|p| p.1), 0.05).ok_or(FigureError::Empty { what: WHAT })?;
    let width = PANEL * panels.len() as u32;
    let height = PANEL + 90;
    let point_size = if n > 500 { 2 } else { 3 };
    render(WHAT, (width, height), |root| {
        let (top, rest) = root.split_vertically(46);
        top.draw_text(&axes.title, &text(22), (12, 12))
            .map_err(draw_err(WHAT))?;
        let (body, foot) = rest.split_vertically(PANEL + 16);
        foot.draw_text(
            &format!(
                "colour = seed z, assigned by position in the \"{}\" panel; same colour = same seed in every panel",
                panels[colour_reference].title
            ),
            &text(14),
            (12, 4),
        )
        .map_err(draw_err(WHAT))?;
        let areas = body.split_evenly((1, panels.len()));
        for (area, panel) in areas.iter().zip(panels) {
            let ((x0, x1), (y0, y1)) = if shared_axes {
                ((x0, x1), (y0, y1))
            } else {
                let own = |f: fn(&(f64, f64)) -> f64| {
                    padded_range(panel.points.iter().map(f), 0.05).unwrap_or((-1.0, 1.0))
                };
                (own(|p| p.0), own(|p| p.1))
            };
            let mut chart = ChartBuilder::on(area)
                .caption(&panel.title, text(18))
                .margin(8)
                .x_label_area_size(40)
                .y_label_area_size(52)
                .build_cartesian_2d(x0..x1, y0..y1)
                .map_err(draw_err(WHAT))?;
            chart
                .configure_mesh()
                .x_label_formatter(&tick)
                .y_label_formatter(&tick)
                .x_desc(axes.x_label.as_str())
                .y_desc(axes.y_label.as_str())
                .label_style(text(12))
                .axis_desc_style(text(14))
                .x_labels(5)
                .y_labels(5)
                .light_line_style(WHITE)
                .draw()
                .map_err(draw_err(WHAT))?;
            chart
                .draw_series(
                    panel
                        .points
                        .iter()
                        .zip(&colours)
                        .filter(|(p, _)| p.0.is_finite() && p.1.is_finite())
                        .map(|(&p, c)| Circle::new(p, point_size, c.mix(0.85).filled())),
                )
                .map_err(draw_err(WHAT))?;
        }
        Ok(())
    })
}

/// A reference line drawn across a scatter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ReferenceLine {
    /// `y = x` (points below: closer than the reference).
    Diagonal,
    /// `y = value`.
    Horizontal(f64),
}

/// A scatter of `(x_i, y_i)` with a dashed reference line and a legend.
pub fn scatter_with_line(
    x: &[f64],
    y: &[f64],
    line: ReferenceLine,
    point_label: &str,
    line_label: &str,
    axes: &Axes,
) -> Result<RgbImage> {
    const WHAT: &str = "scatter";
    if x.len() != y.len() {
        return Err(FigureError::Shape {
            what: WHAT,
            detail: format!("{} x values but {} y values", x.len(), y.len()),
        });
    }
    let pts: Vec<(f64, f64)> = x
        .iter()
        .zip(y)
        .map(|(&a, &b)| (a, b))
        .filter(|p| p.0.is_finite() && p.1.is_finite())
        .collect();
    if pts.is_empty() {
        return Err(FigureError::Empty { what: WHAT });
    }
    let (mut x0, mut x1) = padded_range(pts.iter().map(|p| p.0), 0.05).expect("non-empty");
    let (mut y0, mut y1) = padded_range(pts.iter().map(|p| p.1), 0.05).expect("non-empty");
    match line {
        ReferenceLine::Diagonal => {
            // Same range on both axes so that y = x is the diagonal.
            let lo = x0.min(y0).min(0.0);
            let hi = x1.max(y1);
            (x0, x1, y0, y1) = (lo, hi, lo, hi);
        }
        ReferenceLine::Horizontal(v) => {
            y0 = y0.min(v);
            y1 = y1.max(v);
            // Headroom above the data for the legend.
            y1 += 0.2 * (y1 - y0);
        }
    }
    let point_colour = CATEGORICAL[0];
    let line_colour = CATEGORICAL[3];
    let size = if matches!(line, ReferenceLine::Diagonal) {
        (760, 760)
    } else {
        (900, 680)
    };
    render(WHAT, size, |root| {
        let mut chart = xy_chart(
            root,
            WHAT,
            (&axes.title, &axes.x_label, &axes.y_label),
            (x0, x1),
            (y0, y1),
            70,
        )?;
        chart
            .draw_series(
                pts.iter()
                    .map(|&p| Circle::new(p, 3, point_colour.mix(0.55).filled())),
            )
            .map_err(draw_err(WHAT))?
            .label(point_label)
            .legend(move |(a, b)| Circle::new((a + 10, b), 4, point_colour.filled()));
        let ends = match line {
            ReferenceLine::Diagonal => vec![(x0, x0), (x1, x1)],
            ReferenceLine::Horizontal(v) => vec![(x0, v), (x1, v)],
        };
        chart
            .draw_series(DashedLineSeries::new(
                ends,
                10,
                6,
                line_colour.stroke_width(3),
            ))
            .map_err(draw_err(WHAT))?
            .label(line_label)
            .legend(move |(a, b)| {
                PathElement::new(vec![(a, b), (a + 20, b)], line_colour.stroke_width(3))
            });
        draw_legend(&mut chart, WHAT, SeriesLabelPosition::UpperLeft)
    })
}

/// Paper Fig. 11: `||G - Phi_K||` (vertical) against `||Phi_1 - Phi_K||` (horizontal), `y = x`.
pub fn displacement_scatter(
    teacher_one_step: &[f64],
    student: &[f64],
    k: usize,
    title: &str,
) -> Result<RgbImage> {
    let below = teacher_one_step
        .iter()
        .zip(student)
        .filter(|(t, s)| s < t)
        .count();
    scatter_with_line(
        teacher_one_step,
        student,
        ReferenceLine::Diagonal,
        &format!(
            "seeds ({below} of {} below y = x: student closer)",
            student.len()
        ),
        "y = x",
        &Axes::new(
            title,
            &format!("||Phi_1(z) - Phi_{k}(z)||"),
            &format!("||G(z) - Phi_{k}(z)||"),
        ),
    )
}

/// Paper Fig. 6: `delta(z)` against `D(z)` with the line `delta = 0`.
pub fn delta_vs_distance(
    distance_to_train: &[f64],
    delta: &[f64],
    k: usize,
    title: &str,
) -> Result<RgbImage> {
    scatter_with_line(
        distance_to_train,
        delta,
        ReferenceLine::Horizontal(0.0),
        "seeds",
        "delta = 0 (below: student moved toward its teacher sample)",
        &Axes::new(
            title,
            &format!("D(z) = mean over training x of ||Phi_{k}(z) - x||"),
            &format!("delta(z) = ||G - Phi_{k}|| - ||Phi_1 - Phi_{k}||"),
        ),
    )
}
