//! Image grids: one labelled row per sample set (e.g. `Phi_1, Phi_8, Phi_32, G` and optionally
//! the nearest training neighbours), one column per seed (paper Figs. 1, 8, 9, 12).

use image::RgbImage;
use ndarray::ArrayView2;
use plotters::prelude::*;

use crate::canvas::{render, text};
use crate::error::{FigureError, Result, draw_err};

/// Shape `[C, H, W]` of the images stored flattened (channel-major) in each row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageShape {
    /// Channels (1 = grey, 3 = RGB).
    pub channels: usize,
    /// Height in pixels.
    pub height: usize,
    /// Width in pixels.
    pub width: usize,
}

impl ImageShape {
    /// Number of values per image.
    pub fn len(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// True when the shape has no pixels.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One labelled row of the grid: images as rows of an array, values in `[-1, 1]`.
#[derive(Debug, Clone)]
pub struct GridRow<'a> {
    /// Row label, e.g. "Phi_8(z)".
    pub label: String,
    /// Images (`n x C*H*W`), one per column.
    pub images: ArrayView2<'a, f32>,
}

const LABEL_W: u32 = 150;
const TITLE_H: u32 = 44;
const GAP: u32 = 4;

/// Draws the grid: up to `max_columns` (at most 30) columns, each image magnified by `scale`.
pub fn image_grid(
    rows: &[GridRow],
    shape: ImageShape,
    max_columns: usize,
    scale: u32,
    title: &str,
) -> Result<RgbImage> {
    const WHAT: &str = "image grid";
    if rows.is_empty() || shape.is_empty() || max_columns == 0 || scale == 0 {
        return Err(FigureError::Empty { what: WHAT });
    }
    if !(shape.channels == 1 || shape.channels == 3) {
        return Err(FigureError::Shape {
            what: WHAT,
            detail: format!("channels must be 1 or 3, got {}", shape.channels),
        });
    }
    for r in rows {
        if r.images.ncols() != shape.len() {
            return Err(FigureError::Shape {
                what: WHAT,
                detail: format!(
                    "row `{}` has {} values per image but the shape {:?} needs {}",
                    r.label,
                    r.images.ncols(),
                    shape,
                    shape.len()
                ),
            });
        }
    }
    let cols = rows
        .iter()
        .map(|r| r.images.nrows())
        .min()
        .unwrap_or(0)
        .min(max_columns.min(30));
    if cols == 0 {
        return Err(FigureError::Empty { what: WHAT });
    }
    let (cw, ch) = (shape.width as u32 * scale, shape.height as u32 * scale);
    let width = LABEL_W + cols as u32 * (cw + GAP) + GAP;
    let height = TITLE_H + rows.len() as u32 * (ch + GAP) + GAP + 24;
    let hw = shape.height * shape.width;
    render(WHAT, (width, height), |root| {
        root.draw_text(title, &text(22), (10, 10))
            .map_err(draw_err(WHAT))?;
        for (ri, row) in rows.iter().enumerate() {
            let y0 = TITLE_H + ri as u32 * (ch + GAP);
            root.draw_text(&row.label, &text(18), (8, (y0 + ch / 2) as i32 - 9))
                .map_err(draw_err(WHAT))?;
            for c in 0..cols {
                let img = row.images.row(c);
                let x0 = LABEL_W + c as u32 * (cw + GAP);
                for py in 0..shape.height {
                    for px in 0..shape.width {
                        let v = |k: usize| {
                            let t = (f64::from(img[k * hw + py * shape.width + px]) + 1.0) / 2.0;
                            (t.clamp(0.0, 1.0) * 255.0).round() as u8
                        };
                        let colour = if shape.channels == 1 {
                            let g = v(0);
                            RGBColor(g, g, g)
                        } else {
                            RGBColor(v(0), v(1), v(2))
                        };
                        for sy in 0..scale {
                            for sx in 0..scale {
                                let p = (
                                    (x0 + px as u32 * scale + sx) as i32,
                                    (y0 + py as u32 * scale + sy) as i32,
                                );
                                root.draw_pixel(p, &colour).map_err(draw_err(WHAT))?;
                            }
                        }
                    }
                }
            }
        }
        root.draw_text(
            "columns: seeds z (same seed in every row); pixel values [-1, 1] shown as black to white",
            &text(14),
            (LABEL_W as i32, (height - 22) as i32),
        )
        .map_err(draw_err(WHAT))?;
        Ok(())
    })
}
