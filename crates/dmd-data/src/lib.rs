//! # dmd-data
//!
//! The datasets of the DMD copying study as `ndarray` arrays (rows = samples), deterministic
//! by seed and free of any torch dependency: low-dimensional toys (chessboard, double moons,
//! a 32-component Gaussian mixture) placed in an ambient space of any dimension, the
//! MLP-manifold (a low-dimensional Gaussian pushed through a fixed random MLP, plus class
//! stripes), and MNIST read from IDX files.
