//! # dmd-figures
//!
//! The study's pictures as PNG files: image grids, PCA scatter plots, distance heatmaps with
//! the optimal assignment, displacement scatters, histograms and loss curves. Every function
//! returns an [`image::RgbImage`]; [`save_png`] writes it. Text uses an embedded DejaVu Sans
//! font, so no system font is needed.
//!
//! ```
//! use dmd_figures::{ratio_histogram, save_png};
//! let img = ratio_histogram(&[0.5, 0.7, 0.9, 0.2], 1.0 / 3.0, 20, "memorisation ratios").unwrap();
//! assert_eq!(img.dimensions(), (900, 620));
//! # let dir = tempfile::tempdir().unwrap();
//! save_png(&img, &dir.path().join("hist.png")).unwrap();
//! ```

pub mod bands;
mod canvas;
pub mod colour;
pub mod curves;
pub mod error;
pub mod font;
pub mod grid;
pub mod heatmap;
pub mod histogram;
pub mod scatter;

pub use bands::{BandOptions, BandPoint, BandSeries, band_plot};
pub use canvas::save_png;
pub use curves::{Curve, dm_loss_curves, line_curves};
pub use error::{FigureError, Result};
pub use grid::{GridRow, ImageShape, image_grid};
pub use heatmap::distance_heatmap;
pub use histogram::ratio_histogram;
pub use scatter::{
    Axes, Panel, ReferenceLine, delta_vs_distance, displacement_scatter, paired_panels,
    scatter_with_line,
};
