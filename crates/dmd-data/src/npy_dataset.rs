//! Bring your own data: a dataset read from NumPy `.npy` files ([`NpyDataset`]).
//!
//! The samples file holds one sample per entry of its first axis (`n x ...`, e.g.
//! `n x 3 x 64 x 64` for ImageNet-64); the sample shape is the remaining axes. An optional labels
//! file holds `n` integers in `0..num_classes`. In a config:
//!
//! ```toml
//! [data]
//! name = "npy"
//! path = "imagenet64/train_x.npy"     # relative to $DMD_HOME/data
//! labels = "imagenet64/train_y.npy"   # optional, 1-D integers
//! num_classes = 1000                  # required with labels
//! scale = "uint8"                     # |u1 images -> x / 127.5 - 1; default "none"
//! shape = [3, 64, 64]                 # sample shape; lets configs validate without the file
//! ```

use std::path::{Path, PathBuf};

use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};

use crate::dataset::Dataset;
use crate::error::{DataError, invalid};
use crate::mnist::{subsample, subsample_indices};
use crate::npy::{NpyDtype, NpyScale, read_npy_f32, read_npy_header, read_npy_i64};
use crate::paths::default_data_dir;
use crate::rows::{NpyRows, RowSet, Rows};

/// A dataset read from `.npy` files (see the [module docs](self)).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NpyDataset {
    /// The samples file (`n x ...`, dtype `<f4`, `<f8` or `|u1`); a relative path is relative to
    /// [`default_data_dir`].
    pub path: PathBuf,
    /// Optional labels file: a 1-D array of `n` integers (`<i8`, `<i4` or `|u1`), same base folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<PathBuf>,
    /// Number of classes; required with `labels` (every label must lie in `0..num_classes`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num_classes: Option<usize>,
    /// How `|u1` samples become `f32`: `"none"` (as is, the default) or `"uint8"` (`x / 127.5 - 1`).
    #[serde(default)]
    pub scale: NpyScale,
    /// The expected sample shape (all axes but the first). Configs should give it, so that
    /// [`crate::DatasetSpec::sample_shape`] and validation work without the file; when the file
    /// is read its shape must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shape: Option<Vec<usize>>,
}

/// `path` if absolute, else `<data dir>/path`.
fn resolve(path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        default_data_dir().join(path)
    }
}

impl NpyDataset {
    /// The samples file, resolved against [`default_data_dir`].
    pub fn samples_path(&self) -> PathBuf {
        resolve(&self.path)
    }

    /// The labels file, resolved against [`default_data_dir`].
    pub fn labels_path(&self) -> Option<PathBuf> {
        self.labels.as_deref().map(resolve)
    }

    /// Number of label classes: `num_classes` when there are labels.
    pub fn num_classes(&self) -> Option<usize> {
        self.labels.as_ref().and(self.num_classes)
    }

    /// Checks the parameters without touching the files: `num_classes` given (and > 0) exactly
    /// when `labels` is, `shape` (if given) non-empty with no zero axis.
    pub fn validate(&self) -> Result<(), DataError> {
        match (&self.labels, self.num_classes) {
            (Some(_), None) => {
                return Err(invalid(
                    "num_classes",
                    "a labels file is given, so num_classes is required (labels must lie in 0..num_classes)",
                ));
            }
            (None, Some(_)) => {
                return Err(invalid(
                    "num_classes",
                    "num_classes is given without a labels file; add `labels = \"...npy\"` or drop num_classes",
                ));
            }
            (_, Some(0)) => return Err(invalid("num_classes", "must be at least 1")),
            _ => {}
        }
        if let Some(shape) = &self.shape
            && (shape.is_empty() || shape.contains(&0))
        {
            return Err(invalid(
                "shape",
                format!(
                    "the sample shape must have at least one axis and no zero axis, got {shape:?}"
                ),
            ));
        }
        Ok(())
    }

    /// The sample shape read from the samples file's header only (cheap), checked against
    /// `shape` when given.
    pub fn file_sample_shape(&self) -> Result<Vec<usize>, DataError> {
        let path = self.samples_path();
        let header = read_npy_header(&path)?;
        self.check_shape(&path, &header.shape)
    }

    /// The sample shape: `shape` when given, else read from the file's header; empty when neither
    /// is available (the file is missing or invalid: [`Self::file_sample_shape`] says why).
    pub fn sample_shape(&self) -> Vec<usize> {
        match &self.shape {
            Some(shape) => shape.clone(),
            None => self.file_sample_shape().unwrap_or_default(),
        }
    }

    /// Validates the full array shape `n x sample...` and returns the sample shape.
    fn check_shape(&self, path: &Path, full: &[usize]) -> Result<Vec<usize>, DataError> {
        if full.len() < 2 {
            return Err(DataError::Format {
                path: path.to_path_buf(),
                reason: format!(
                    "samples must have shape (n, ...) with at least 2 axes, found {full:?}; \
                     for vectors save a.reshape(len(a), -1)"
                ),
            });
        }
        let sample = full[1..].to_vec();
        if let Some(expected) = &self.shape
            && *expected != sample
        {
            return Err(DataError::Format {
                path: path.to_path_buf(),
                reason: format!(
                    "the file's sample shape is {sample:?} (array {full:?}) but the config \
                     says shape = {expected:?}; fix `shape` or the file"
                ),
            });
        }
        Ok(sample)
    }

    /// Checks the files as [`Self::load`] would without reading the samples: the samples
    /// file's header, length and shape, and the whole labels file (count and range); returns the
    /// sample count.
    pub fn check_files(&self) -> Result<usize, DataError> {
        self.validate()?;
        let path = self.samples_path();
        let header = read_npy_header(&path)?;
        self.check_shape(&path, &header.shape)?;
        if let (Some(lpath), Some(k)) = (self.labels_path(), self.num_classes) {
            self.read_labels(&lpath, header.shape[0], k, &path)?;
        }
        Ok(header.shape[0])
    }

    /// Reads the whole dataset in file order: samples as `n x prod(shape)` `f32` rows, labels
    /// validated to be `n` values in `0..num_classes`.
    pub fn load(&self) -> Result<Dataset, DataError> {
        self.validate()?;
        let path = self.samples_path();
        let samples = read_npy_f32(&path, self.scale)?;
        let shape = self.check_shape(&path, &samples.shape)?;
        let n = samples.shape[0];
        let dim: usize = shape.iter().product();
        let x = Array2::from_shape_vec((n, dim), samples.data).map_err(|e| DataError::Format {
            path: path.clone(),
            reason: format!("samples do not fit an {n} x {dim} matrix: {e}"),
        })?;
        let labels = match (self.labels_path(), self.num_classes) {
            (Some(lpath), Some(k)) => Some(self.read_labels(&lpath, n, k, &path)?),
            _ => None,
        };
        Ok(Dataset {
            x,
            labels,
            shape,
            num_classes: self.num_classes(),
        })
    }

    fn read_labels(
        &self,
        lpath: &Path,
        n: usize,
        k: usize,
        samples_path: &Path,
    ) -> Result<Array1<i64>, DataError> {
        let labels = read_npy_i64(lpath)?;
        let format_err = |reason: String| DataError::Format {
            path: lpath.to_path_buf(),
            reason,
        };
        if labels.shape.len() != 1 {
            return Err(format_err(format!(
                "labels must be a 1-D array, found shape {:?}; save labels.reshape(-1)",
                labels.shape
            )));
        }
        if labels.shape[0] != n {
            return Err(format_err(format!(
                "holds {} labels but {} holds {n} samples",
                labels.shape[0],
                samples_path.display()
            )));
        }
        if let Some(pos) = labels
            .data
            .iter()
            .position(|&l| l < 0 || l as u64 >= k as u64)
        {
            return Err(format_err(format!(
                "label {} at index {pos} is outside 0..{k} (num_classes = {k}); fix num_classes \
                 or remap the labels",
                labels.data[pos]
            )));
        }
        Ok(Array1::from(labels.data))
    }

    /// `n = None`: the whole dataset in file order; `Some(n)`: `n` samples drawn without
    /// replacement with `seed` (as [`crate::Mnist::generate`]).
    pub fn generate(&self, n: Option<usize>, seed: u64) -> Result<Dataset, DataError> {
        subsample(self.load()?, n, seed)
    }

    /// The same samples as [`Self::generate`], with `|u1` files left on disk and read row by
    /// row ([`crate::NpyRows`]): memory holds the labels, not the samples. Other dtypes are
    /// loaded into memory.
    pub fn open(&self, n: Option<usize>, seed: u64) -> Result<RowSet, DataError> {
        self.validate()?;
        let path = self.samples_path();
        let header = read_npy_header(&path)?;
        if header.dtype != NpyDtype::U8 {
            return self.generate(n, seed).map(RowSet::from);
        }
        let shape = self.check_shape(&path, &header.shape)?;
        let total = header.shape[0];
        let mut rows = NpyRows::open(&path, self.scale)?;
        let keep = subsample_indices(total, n, seed)?;
        let labels = match (self.labels_path(), self.num_classes) {
            (Some(lpath), Some(k)) => {
                let all = self.read_labels(&lpath, total, k, &path)?;
                Some(match &keep {
                    Some(keep) => keep.iter().map(|&i| all[i]).collect(),
                    None => all,
                })
            }
            _ => None,
        };
        if let Some(keep) = keep {
            rows = rows.select(keep)?;
        }
        Ok(RowSet {
            rows: Rows::Npy(rows),
            labels,
            shape,
            num_classes: self.num_classes(),
        })
    }
}
