//! The chessboard: the uniform distribution on the dark squares of an `m x m` board (the paper's
//! 4 x 4 board, Section 3.3 and Fig. 2), placed in `R^D`.
//!
//! The board covers `[-h, h]^2` (`h = half_width`, default 1) with squares of side `s = 2h/m`
//! (0.5 for the default 4 x 4 board on `[-1, 1]^2`). Square `(i, j)` (column `i` from the left,
//! row `j` from the bottom, both from 0) is `[-h + i s, -h + (i+1) s) x [-h + j s, -h + (j+1) s)`
//! and is dark when `i + j` is even, so the bottom-left square is dark; a 4 x 4 board has 8 dark
//! squares. A sample picks a dark square uniformly, then a point uniformly inside it, which is
//! exactly the uniform law on the union of the dark squares.

use ndarray::{Array1, Array2, ArrayView2};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::embedding::Embedding;
use crate::error::{DataError, invalid};
use crate::toy::{ToyDistribution, validate_placement};

/// The chessboard distribution in `R^D` (see the module docs). Defaults are the paper's setting:
/// a 4 x 4 board on `[-1, 1]^2` in the first two coordinates of `R^4`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Chessboard {
    /// Squares per side `m` (default 4).
    pub squares_per_side: usize,
    /// Half the board width `h`: the board is `[-h, h]^2` (default 1).
    pub half_width: f32,
    /// Ambient dimension `D` (default 4).
    pub ambient_dim: usize,
    /// Placement of the board's plane in `R^D` (default: the first two coordinates).
    pub embedding: Embedding,
}

impl Default for Chessboard {
    fn default() -> Self {
        Self {
            squares_per_side: 4,
            half_width: 1.0,
            ambient_dim: 4,
            embedding: Embedding::FirstCoordinates {},
        }
    }
}

impl Chessboard {
    /// Side length `s = 2h/m` of one square.
    pub fn square_side(&self) -> f32 {
        2.0 * self.half_width / self.squares_per_side as f32
    }

    /// The dark squares as `(column, row)` indices, in row-major order from the bottom-left.
    pub fn dark_squares(&self) -> Vec<(usize, usize)> {
        let m = self.squares_per_side;
        (0..m)
            .flat_map(|j| (0..m).map(move |i| (i, j)))
            .filter(|(i, j)| (i + j) % 2 == 0)
            .collect()
    }

    /// The square `(column, row)` containing a plane point, or `None` off the board.
    /// Squares are half-open, except that the board's outer edge at `+h` is included.
    pub fn square_of(&self, x: f32, y: f32) -> Option<(usize, usize)> {
        let h = self.half_width;
        if !(x >= -h && x <= h && y >= -h && y <= h) {
            return None;
        }
        Some((self.cell_index(x), self.cell_index(y)))
    }

    /// Whether a plane point lies on a dark square.
    pub fn is_on_support(&self, x: f32, y: f32) -> bool {
        matches!(self.square_of(x, y), Some((i, j)) if (i + j) % 2 == 0)
    }

    /// Index of the row/column containing coordinate `v` (assumed inside `[-h, h]`).
    fn cell_index(&self, v: f32) -> usize {
        let m = self.squares_per_side;
        (((v + self.half_width) / self.square_side())
            .floor()
            .max(0.0) as usize)
            .min(m - 1)
    }

    /// Coordinate at fraction `u` in `[0, 1)` of cell `i`.
    ///
    /// `u` is first mapped into `[margin, 1 - margin]` with `margin = 16 m eps_f32` (7.6e-6 of a
    /// cell for m = 4), far above the float rounding of the position and of [`Self::square_of`],
    /// so every sample is classified into the cell it was drawn in. The resulting law is uniform
    /// on the cell shrunk by that relative margin, a negligible change.
    fn coordinate_in_cell(&self, i: usize, u: f32) -> f32 {
        let margin = (16.0 * self.squares_per_side as f32 * f32::EPSILON).min(0.25);
        let u = margin + u * (1.0 - 2.0 * margin);
        -self.half_width + (i as f32 + u) * self.square_side()
    }
}

impl ToyDistribution for Chessboard {
    fn intrinsic_dim(&self) -> usize {
        2
    }

    fn ambient_dim(&self) -> usize {
        self.ambient_dim
    }

    fn embedding(&self) -> &Embedding {
        &self.embedding
    }

    fn num_classes(&self) -> Option<usize> {
        None
    }

    fn validate(&self) -> Result<(), DataError> {
        if self.squares_per_side == 0 {
            return Err(invalid(
                "squares_per_side",
                "must be at least 1 (the paper uses 4)",
            ));
        }
        if !(self.half_width > 0.0 && self.half_width.is_finite()) {
            return Err(invalid(
                "half_width",
                format!("must be a positive number, got {}", self.half_width),
            ));
        }
        validate_placement(2, self.ambient_dim)
    }

    fn sample_intrinsic(
        &self,
        n: usize,
        rng: &mut ChaCha8Rng,
    ) -> Result<(Array2<f32>, Option<Array1<i64>>), DataError> {
        let dark = self.dark_squares();
        let mut out = Array2::<f32>::zeros((n, 2));
        for mut row in out.rows_mut() {
            let (i, j) = dark[rng.random_range(0..dark.len())];
            let u: f32 = rng.random();
            let v: f32 = rng.random();
            row[0] = self.coordinate_in_cell(i, u);
            row[1] = self.coordinate_in_cell(j, v);
        }
        Ok((out, None))
    }

    fn on_support_mask(&self, points: ArrayView2<f32>) -> Result<Vec<bool>, DataError> {
        Ok(points
            .rows()
            .into_iter()
            .map(|p| self.is_on_support(p[0], p[1]))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinates_near_a_cell_edge_stay_in_their_cell() {
        let just_below_one = 1.0f32.next_down();
        for m in [1, 2, 3, 4, 7, 16, 100] {
            for half_width in [0.5, 1.0, 3.0] {
                let board = Chessboard {
                    squares_per_side: m,
                    half_width,
                    ..Chessboard::default()
                };
                for i in 0..m {
                    for u in [0.0, 1e-7, 0.5, just_below_one.next_down(), just_below_one] {
                        let v = board.coordinate_in_cell(i, u);
                        assert_eq!(
                            board.cell_index(v),
                            i,
                            "m {m}, h {half_width}, cell {i}, u {u}"
                        );
                    }
                }
            }
        }
        let odd = Chessboard {
            squares_per_side: 3,
            ..Chessboard::default()
        };
        assert_eq!(odd.dark_squares().len(), 5);
    }
}
