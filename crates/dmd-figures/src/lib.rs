//! # dmd-figures
//!
//! The study's pictures as PNG files: image grids, PCA scatter plots, distance heatmaps with
//! the optimal assignment, displacement scatters, histograms and loss curves.
