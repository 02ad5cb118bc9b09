//! Training data as it crosses into torch: rows of flattened samples, optional class labels,
//! and the per-sample shape (`[D]` for toys, `[C, H, W]` for images).

use ndarray::{Array1, Array2};
use tch::{Device, Kind, Tensor};

use crate::error::TrainError;

/// A training set: `x` has one flattened sample per row, `shape` is the per-sample shape.
#[derive(Debug, Clone)]
pub struct TrainData {
    /// Samples, one per row, flattened in C order.
    pub x: Array2<f32>,
    /// Class labels in `0..num_classes`, one per row, when the dataset has them.
    pub labels: Option<Array1<i64>>,
    /// Per-sample shape; its product equals the number of columns of `x`.
    pub shape: Vec<i64>,
}

impl TrainData {
    /// Checks that the shape matches the rows, labels match the rows and are non-negative,
    /// and that the values are finite.
    pub fn new(
        x: Array2<f32>,
        labels: Option<Array1<i64>>,
        shape: Vec<i64>,
    ) -> Result<Self, TrainError> {
        let numel: i64 = shape.iter().product();
        if shape.is_empty() || shape.iter().any(|&d| d <= 0) || numel as usize != x.ncols() {
            return Err(TrainError::Data(format!(
                "per-sample shape {shape:?} does not match {} columns; give the shape whose product is the row length",
                x.ncols()
            )));
        }
        if x.nrows() == 0 {
            return Err(TrainError::Data("the training set is empty".into()));
        }
        if let Some(l) = &labels {
            if l.len() != x.nrows() {
                return Err(TrainError::Data(format!(
                    "{} labels for {} samples; give one label per row",
                    l.len(),
                    x.nrows()
                )));
            }
            if l.iter().any(|&c| c < 0) {
                return Err(TrainError::Data("labels must be >= 0".into()));
            }
        }
        if x.iter().any(|v| !v.is_finite()) {
            return Err(TrainError::Data(
                "the training set contains NaN or infinite values".into(),
            ));
        }
        Ok(TrainData { x, labels, shape })
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.x.nrows()
    }

    /// True when there are no samples (never, after [`TrainData::new`]).
    pub fn is_empty(&self) -> bool {
        self.x.nrows() == 0
    }

    /// Largest label + 1 (0 when unlabelled).
    pub fn label_count(&self) -> usize {
        self.labels
            .as_ref()
            .map_or(0, |l| l.iter().copied().max().map_or(0, |m| m as usize + 1))
    }

    /// The samples as a `[N, shape...]` f32 tensor on `device`.
    pub fn x_tensor(&self, device: Device) -> Tensor {
        let flat: Vec<f32> = self.x.iter().copied().collect();
        let mut size = vec![self.x.nrows() as i64];
        size.extend(&self.shape);
        Tensor::from_slice(&flat).reshape(size).to_device(device)
    }

    /// The labels as an i64 tensor `[N]` on `device`.
    pub fn labels_tensor(&self, device: Device) -> Option<Tensor> {
        self.labels.as_ref().map(|l| {
            Tensor::from_slice(&l.to_vec())
                .to_kind(Kind::Int64)
                .to_device(device)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_and_labels_are_checked() {
        let x = Array2::<f32>::zeros((3, 4));
        assert!(TrainData::new(x.clone(), None, vec![4]).is_ok());
        assert!(TrainData::new(x.clone(), None, vec![1, 2, 2]).is_ok());
        assert!(TrainData::new(x.clone(), None, vec![5]).is_err());
        assert!(TrainData::new(x.clone(), Some(Array1::from(vec![0, 1])), vec![4]).is_err());
        let d = TrainData::new(x, Some(Array1::from(vec![0, 2, 1])), vec![2, 2]).unwrap();
        assert_eq!(d.label_count(), 3);
        assert_eq!(d.x_tensor(Device::Cpu).size(), vec![3, 2, 2]);
    }
}
