//! Rendering into an in-memory RGB buffer and writing PNG files atomically.

use std::path::Path;

use image::{ImageFormat, RgbImage};
use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use crate::error::{FigureError, Result, draw_err};
use crate::font::{FONT_FAMILY, ensure_font};

/// The drawing area every figure draws on.
pub(crate) type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

/// Text style of the embedded font at `size` pixels.
pub(crate) fn text(size: u32) -> TextStyle<'static> {
    TextStyle::from((FONT_FAMILY, size).into_font()).color(&BLACK)
}

/// Draws with `draw` on a white `width x height` canvas and returns the image.
pub(crate) fn render(
    what: &'static str,
    (width, height): (u32, u32),
    draw: impl FnOnce(&Area) -> Result<()>,
) -> Result<RgbImage> {
    ensure_font()?;
    let mut buf = vec![255u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err(what))?;
        draw(&root)?;
        root.present().map_err(draw_err(what))?;
    }
    RgbImage::from_raw(width, height, buf).ok_or(FigureError::Draw {
        what,
        detail: "buffer size mismatch".into(),
    })
}

/// A chart with `f64` axes on both sides.
pub(crate) type XyChart<'a, 'b> =
    ChartContext<'a, BitMapBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// The standard single chart of a figure: title, light grid, compact tick labels, axis
/// descriptions, `x` and `y` ranges; `y_area` is the width reserved for the y tick labels.
pub(crate) fn xy_chart<'a, 'b>(
    area: &'a Area<'b>,
    what: &'static str,
    labels: (&str, &str, &str),
    x_range: (f64, f64),
    y_range: (f64, f64),
    y_area: u32,
) -> Result<XyChart<'a, 'b>> {
    xy_chart_with_x_ticks(area, what, labels, x_range, y_range, y_area, &tick)
}

/// [`xy_chart`] with its own formatter for the x tick labels (e.g. `2^v` on a log2 axis).
pub(crate) fn xy_chart_with_x_ticks<'a, 'b>(
    area: &'a Area<'b>,
    what: &'static str,
    (title, x_desc, y_desc): (&str, &str, &str),
    (x0, x1): (f64, f64),
    (y0, y1): (f64, f64),
    y_area: u32,
    x_tick: &dyn Fn(&f64) -> String,
) -> Result<XyChart<'a, 'b>> {
    let mut chart = ChartBuilder::on(area)
        .caption(title, text(22))
        .margin(14)
        .x_label_area_size(52)
        .y_label_area_size(y_area)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(draw_err(what))?;
    chart
        .configure_mesh()
        .x_label_formatter(x_tick)
        .y_label_formatter(&tick)
        .x_desc(x_desc)
        .y_desc(y_desc)
        .label_style(text(14))
        .axis_desc_style(text(15))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(draw_err(what))?;
    Ok(chart)
}

/// Draws the chart's series legend at `position` in the figures' common style.
pub(crate) fn draw_legend<'a, 'b: 'a>(
    chart: &mut XyChart<'a, 'b>,
    what: &'static str,
    position: SeriesLabelPosition,
) -> Result<()> {
    chart
        .configure_series_labels()
        .position(position)
        .label_font(text(15))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(draw_err(what))
}

/// Writes `img` as PNG to `path` (via a temporary file renamed into place).
pub fn save_png(img: &RgbImage, path: &Path) -> Result<()> {
    let io = |e: &dyn std::fmt::Display| FigureError::Io {
        path: path.display().to_string(),
        detail: e.to_string(),
    };
    dmd_io::write_atomic_with(path, |tmp| img.save_with_format(tmp, ImageFormat::Png))
        .map_err(|e| io(&e.into_io()))
}

/// Compact tick label: integers without decimals, otherwise up to 3 significant digits.
pub(crate) fn tick(v: &f64) -> String {
    let v = *v;
    if v == 0.0 {
        return "0".into();
    }
    if (v - v.round()).abs() < 1e-9 * v.abs().max(1.0) && v.abs() < 1e7 {
        return format!("{}", v.round() as i64);
    }
    let digits = (3 - 1 - v.abs().log10().floor() as i32).clamp(0, 8) as usize;
    let s = format!("{v:.digits$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Padded `(min, max)` of finite values; a degenerate range is widened to width 1.
pub(crate) fn padded_range(values: impl Iterator<Item = f64>, pad: f64) -> Option<(f64, f64)> {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if lo > hi {
        return None;
    }
    if hi - lo < 1e-12 {
        return Some((lo - 0.5, hi + 0.5));
    }
    let p = (hi - lo) * pad;
    Some((lo - p, hi + p))
}
