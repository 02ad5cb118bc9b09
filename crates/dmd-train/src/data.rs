//! Training data as it crosses into torch: rows of flattened samples, optional class labels,
//! and the per-sample shape (`[D]` for toys, `[C, H, W]` for images).

use dmd_data::Rows;
use ndarray::Array1;
use tch::{Device, Kind, Tensor};

use crate::error::TrainError;

/// A training set: `x` has one flattened sample per row (in memory, or streamed from an `|u1`
/// `.npy` file), `shape` is the per-sample shape.
#[derive(Debug, Clone)]
pub struct TrainData {
    /// Samples, one per row, flattened in C order.
    pub x: Rows,
    /// Class labels in `0..num_classes`, one per row, when the dataset has them.
    pub labels: Option<Array1<i64>>,
    /// Per-sample shape; its product equals the number of columns of `x`.
    pub shape: Vec<i64>,
}

impl TrainData {
    /// Checks that the shape matches the rows, labels match the rows and are non-negative,
    /// and that the values are finite (rows in memory; streamed rows are bytes, always finite).
    pub fn new(
        x: impl Into<Rows>,
        labels: Option<Array1<i64>>,
        shape: Vec<i64>,
    ) -> Result<Self, TrainError> {
        let x = x.into();
        let numel: i64 = shape.iter().product();
        if shape.is_empty() || shape.iter().any(|&d| d <= 0) || numel as usize != x.dim() {
            return Err(TrainError::Data(format!(
                "per-sample shape {shape:?} does not match {} columns; give the shape whose product is the row length",
                x.dim()
            )));
        }
        if x.is_empty() {
            return Err(TrainError::Data("the training set is empty".into()));
        }
        if let Some(l) = &labels {
            if l.len() != x.len() {
                return Err(TrainError::Data(format!(
                    "{} labels for {} samples; give one label per row",
                    l.len(),
                    x.len()
                )));
            }
            if l.iter().any(|&c| c < 0) {
                return Err(TrainError::Data("labels must be >= 0".into()));
            }
        }
        if x.as_memory()
            .is_some_and(|m| m.iter().any(|v| !v.is_finite()))
        {
            return Err(TrainError::Data(
                "the training set contains NaN or infinite values".into(),
            ));
        }
        Ok(TrainData { x, labels, shape })
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.x.len()
    }

    /// True when there are no samples (never, after [`TrainData::new`]).
    pub fn is_empty(&self) -> bool {
        self.x.is_empty()
    }

    /// Largest label + 1 (0 when unlabelled).
    pub fn label_count(&self) -> usize {
        self.labels
            .as_ref()
            .map_or(0, |l| l.iter().copied().max().map_or(0, |m| m as usize + 1))
    }

    /// Where training batches come from on `device`: the whole set as one tensor for rows in
    /// memory, rows read from disk per batch for streamed ones.
    pub fn batches(&self, device: Device) -> Batches {
        match &self.x {
            Rows::Memory(x) => {
                let flat: Vec<f32> = x.iter().copied().collect();
                let mut size = vec![x.nrows() as i64];
                size.extend(&self.shape);
                Batches::Resident(Tensor::from_slice(&flat).reshape(size).to_device(device))
            }
            Rows::Npy(_) => Batches::Streamed {
                rows: self.x.clone(),
                shape: self.shape.clone(),
                device,
            },
        }
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

/// Training batches by row index (see [`TrainData::batches`]).
#[derive(Debug)]
pub enum Batches {
    /// Every sample, `[N, shape...]`, on the training device.
    Resident(Tensor),
    /// Rows read from disk for each batch, then moved to `device`.
    Streamed {
        /// The rows.
        rows: Rows,
        /// Per-sample shape.
        shape: Vec<i64>,
        /// The training device.
        device: Device,
    },
}

impl Batches {
    /// Number of samples.
    pub fn len(&self) -> i64 {
        match self {
            Batches::Resident(t) => t.size()[0],
            Batches::Streamed { rows, .. } => rows.len() as i64,
        }
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The samples at `idx` (i64 `[B]`, any device), `[B, shape...]` on the training device.
    pub fn draw(&self, idx: &Tensor) -> Result<Tensor, TrainError> {
        match self {
            Batches::Resident(t) => Ok(t.index_select(0, idx)),
            Batches::Streamed {
                rows,
                shape,
                device,
            } => {
                let index: Vec<i64> = Vec::try_from(&idx.to_device(Device::Cpu))
                    .map_err(|e| TrainError::Data(format!("batch indices: {e}")))?;
                let index: Vec<usize> = index.iter().map(|&i| i as usize).collect();
                let x = rows
                    .gather(&index)
                    .map_err(|e| TrainError::Data(e.to_string()))?;
                let mut size = vec![index.len() as i64];
                size.extend(shape);
                let flat = x.as_slice().expect("gathered rows are contiguous");
                Ok(Tensor::from_slice(flat).reshape(size).to_device(*device))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn shape_and_labels_are_checked() {
        let x = Array2::<f32>::zeros((3, 4));
        assert!(TrainData::new(x.clone(), None, vec![4]).is_ok());
        assert!(TrainData::new(x.clone(), None, vec![1, 2, 2]).is_ok());
        assert!(TrainData::new(x.clone(), None, vec![5]).is_err());
        assert!(TrainData::new(x.clone(), Some(Array1::from(vec![0, 1])), vec![4]).is_err());
        let d = TrainData::new(x, Some(Array1::from(vec![0, 2, 1])), vec![2, 2]).unwrap();
        assert_eq!(d.label_count(), 3);
        assert_eq!(
            d.batches(Device::Cpu)
                .draw(&Tensor::from_slice(&[2i64, 0]))
                .unwrap()
                .size(),
            vec![2, 2, 2]
        );
    }
}
