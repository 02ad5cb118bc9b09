//! The in-memory dataset every generator and loader returns.

use ndarray::{Array1, Array2};

/// A dataset held in memory: one sample per row of `x`, flattened, as `f32`.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    /// Samples, `n x prod(shape)`, rows = samples (images flattened row-major, channel first).
    pub x: Array2<f32>,
    /// Class label per sample, when the dataset has classes (MNIST digits, MLP-manifold stripe
    /// classes, mixture components, moon index).
    pub labels: Option<Array1<i64>>,
    /// Shape of one sample, e.g. `[4]` for a toy in `R^4` or `[1, 32, 32]` for MNIST.
    pub shape: Vec<usize>,
    /// Number of classes the labels range over (`0..num_classes`), when there are labels.
    pub num_classes: Option<usize>,
}

impl Dataset {
    /// Number of samples.
    pub fn len(&self) -> usize {
        self.x.nrows()
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.x.nrows() == 0
    }

    /// Flattened dimension of one sample (`prod(shape)`, the number of columns of `x`).
    pub fn dim(&self) -> usize {
        self.x.ncols()
    }

    /// Number of samples per class (`None` without labels). Labels outside `0..num_classes` are
    /// not counted.
    pub fn class_counts(&self) -> Option<Vec<usize>> {
        let labels = self.labels.as_ref()?;
        let k = self.num_classes?;
        let mut counts = vec![0usize; k];
        for &l in labels {
            if l >= 0 && (l as usize) < k {
                counts[l as usize] += 1;
            }
        }
        Some(counts)
    }
}
