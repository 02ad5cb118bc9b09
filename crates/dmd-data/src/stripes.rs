//! Class-specific whitened stripe patterns for the MLP-manifold dataset.
//!
//! Class `c` of `C` gets a plane wave on the `S x S` pixel grid (row `r`, column `q`):
//!
//! `w_c[r, q] = cos(2 pi f_c (q cos(theta_c) + r sin(theta_c)) / S)`,
//! with orientation `theta_c = pi c / C` (evenly spaced in `[0, pi)`) and frequency
//! `f_c = 3 + (c mod 3)` cycles per image side.
//!
//! Whitening: each pattern is centred (its pixel mean removed), the `C` patterns are stacked as
//! the rows of `W` (`C x S^2`), and symmetrically (ZCA) whitened,
//! `W~ = (W W^T / S^2)^{-1/2} W`, so that `W~ W~^T / S^2 = I_C`: every class pattern has zero
//! mean and unit root-mean-square per pixel, and different classes are exactly orthogonal, while
//! each pattern stays as close as possible to its plane wave (the property of the symmetric choice).

use ndarray::Array2;

use crate::error::{DataError, invalid};
use crate::linalg::inverse_sqrt_spd;

/// Largest condition number of the stripe Gram matrix that is accepted for whitening.
const MAX_CONDITION: f64 = 1e8;

/// Orientation `theta_c` (radians) of class `c`'s stripes.
pub fn stripe_orientation(class: usize, num_classes: usize) -> f64 {
    std::f64::consts::PI * class as f64 / num_classes as f64
}

/// Frequency `f_c` (cycles per image side) of class `c`'s stripes.
pub fn stripe_frequency(class: usize) -> f64 {
    3.0 + (class % 3) as f64
}

/// The raw (un-whitened) plane waves, one class per row, `C x S^2`, row-major pixels.
pub fn raw_stripes(num_classes: usize, image_size: usize) -> Array2<f64> {
    let s = image_size as f64;
    Array2::from_shape_fn((num_classes, image_size * image_size), |(c, pixel)| {
        let (r, q) = ((pixel / image_size) as f64, (pixel % image_size) as f64);
        let theta = stripe_orientation(c, num_classes);
        let f = stripe_frequency(c);
        (2.0 * std::f64::consts::PI * f * (q * theta.cos() + r * theta.sin()) / s).cos()
    })
}

/// The whitened class patterns `W~` (`C x S^2`, see the module docs) as `f32`.
///
/// Errors if the patterns are too close to linearly dependent to whiten (more classes than the
/// image can hold distinct stripes for).
pub fn whitened_stripes(num_classes: usize, image_size: usize) -> Result<Array2<f32>, DataError> {
    if num_classes == 0 {
        return Err(invalid(
            "num_classes",
            "must be at least 1 when stripes are on",
        ));
    }
    let pixels = (image_size * image_size) as f64;
    let mut w = raw_stripes(num_classes, image_size);
    for mut row in w.rows_mut() {
        let mean = row.sum() / pixels;
        row.mapv_inplace(|v| v - mean);
    }
    let gram = w.dot(&w.t()) / pixels;
    let inv_sqrt = inverse_sqrt_spd(&gram, MAX_CONDITION).ok_or_else(|| {
        invalid(
            "num_classes",
            format!(
                "{num_classes} stripe patterns on a {image_size}x{image_size} image are linearly \
                 dependent and cannot be whitened; use fewer classes or a larger image"
            ),
        )
    })?;
    Ok(inv_sqrt.dot(&w).mapv(|v| v as f32))
}
