//! Training rows that need not fit in memory: [`Rows`] is either an in-memory `f32` matrix
//! (synthetic sets, MNIST) or an `|u1` `.npy` file read row by row from disk ([`NpyRows`]), so
//! an ImageNet-scale set costs its labels in memory, not `4 * N * D` bytes of `f32`.
//!
//! Rows are read with positioned reads (`pread`), not a memory map: a full scan of a mapped
//! file would count every touched page towards the process's resident memory.

use crate::error::DataError;
use crate::npy::{NpyDtype, NpyScale, read_npy_header};
use ndarray::{Array1, Array2, ArrayView2, s};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Training rows, flattened in C order: in memory, or streamed from an `|u1` `.npy` file.
#[derive(Debug, Clone)]
pub enum Rows {
    /// All rows in memory.
    Memory(Array2<f32>),
    /// Rows read from disk on demand.
    Npy(NpyRows),
}

impl From<Array2<f32>> for Rows {
    fn from(x: Array2<f32>) -> Self {
        Rows::Memory(x)
    }
}

impl Rows {
    /// Number of rows.
    pub fn len(&self) -> usize {
        match self {
            Rows::Memory(x) => x.nrows(),
            Rows::Npy(r) => r.len(),
        }
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Row length (elements per sample).
    pub fn dim(&self) -> usize {
        match self {
            Rows::Memory(x) => x.ncols(),
            Rows::Npy(r) => r.dim,
        }
    }

    /// The rows at `index` (repeats allowed), in that order.
    pub fn gather(&self, index: &[usize]) -> Result<Array2<f32>, DataError> {
        match self {
            Rows::Memory(x) => {
                check_index(index, x.nrows())?;
                Ok(x.select(ndarray::Axis(0), index))
            }
            Rows::Npy(r) => r.gather(index),
        }
    }

    /// Rows `start..start + n` (clamped to the end).
    pub fn range(&self, start: usize, n: usize) -> Result<Array2<f32>, DataError> {
        let end = (start + n).min(self.len());
        let start = start.min(end);
        match self {
            Rows::Memory(x) => Ok(x.slice(s![start..end, ..]).to_owned()),
            Rows::Npy(r) => r.gather(&(start..end).collect::<Vec<_>>()),
        }
    }

    /// The in-memory matrix, when the rows are in memory.
    pub fn as_memory(&self) -> Option<ArrayView2<'_, f32>> {
        match self {
            Rows::Memory(x) => Some(x.view()),
            Rows::Npy(_) => None,
        }
    }
}

fn check_index(index: &[usize], n: usize) -> Result<(), DataError> {
    match index.iter().find(|&&i| i >= n) {
        Some(&i) => Err(DataError::InvalidParameter {
            name: "index",
            reason: format!("row {i} requested from a set of {n} rows"),
        }),
        None => Ok(()),
    }
}

/// The rows of an `|u1` `.npy` file (`[N, ...]`), optionally a selection of them, converted to
/// `f32` as they are read (`x / 127.5 - 1` with [`NpyScale::Uint8`]).
#[derive(Debug, Clone)]
pub struct NpyRows {
    path: PathBuf,
    file: Arc<File>,
    data_offset: u64,
    scale: NpyScale,
    rows_in_file: usize,
    dim: usize,
    /// File rows in order, when only some of them (or a permutation) are used.
    select: Option<Arc<[usize]>>,
}

impl NpyRows {
    /// Opens `path` (an `|u1` `.npy` of at least one dimension) after checking its header and
    /// length; reads no samples.
    pub fn open(path: &Path, scale: NpyScale) -> Result<Self, DataError> {
        let header = read_npy_header(path)?;
        if header.dtype != NpyDtype::U8 {
            return Err(DataError::Format {
                path: path.to_path_buf(),
                reason: format!(
                    "rows are streamed from `|u1` files only, this one is `{}`",
                    header.dtype.descr()
                ),
            });
        }
        let Some((&n, rest)) = header.shape.split_first() else {
            return Err(DataError::Format {
                path: path.to_path_buf(),
                reason: "a 0-d array has no rows".into(),
            });
        };
        let file = File::open(path).map_err(|source| DataError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(Self {
            path: path.to_path_buf(),
            file: Arc::new(file),
            data_offset: header.data_offset as u64,
            scale,
            rows_in_file: n,
            dim: rest.iter().product(),
            select: None,
        })
    }

    /// These rows restricted to the file rows `keep`, in that order.
    pub fn select(mut self, keep: Vec<usize>) -> Result<Self, DataError> {
        check_index(&keep, self.rows_in_file)?;
        self.select = Some(keep.into());
        Ok(self)
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.select.as_ref().map_or(self.rows_in_file, |s| s.len())
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Row length.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The rows at `index` (positions in this selection), read from disk.
    pub fn gather(&self, index: &[usize]) -> Result<Array2<f32>, DataError> {
        check_index(index, self.len())?;
        let mut out = Array2::<f32>::zeros((index.len(), self.dim));
        let mut buf = vec![0u8; self.dim];
        let table = crate::npy::u8_table(self.scale);
        for (row, &i) in out.rows_mut().into_iter().zip(index) {
            let file_row = self.select.as_ref().map_or(i, |s| s[i]);
            let at = self.data_offset + (file_row * self.dim) as u64;
            self.file
                .read_exact_at(&mut buf, at)
                .map_err(|source| DataError::Io {
                    path: self.path.clone(),
                    source,
                })?;
            for (o, &b) in row.into_iter().zip(&buf) {
                *o = table[b as usize];
            }
        }
        Ok(out)
    }
}

/// A training set whose rows may stay on disk: rows, labels, per-sample shape and class count
/// (as [`crate::Dataset`]).
#[derive(Debug, Clone)]
pub struct RowSet {
    /// The samples, one flattened row each.
    pub rows: Rows,
    /// Class labels, one per row, when the dataset has them.
    pub labels: Option<Array1<i64>>,
    /// Per-sample shape.
    pub shape: Vec<usize>,
    /// Number of classes, when labelled.
    pub num_classes: Option<usize>,
}

impl From<crate::Dataset> for RowSet {
    fn from(d: crate::Dataset) -> Self {
        RowSet {
            rows: Rows::Memory(d.x),
            labels: d.labels,
            shape: d.shape,
            num_classes: d.num_classes,
        }
    }
}
