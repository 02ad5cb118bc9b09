//! [`DatasetSpec`]: one serde enum naming every dataset, so a config file can select any of them.
//!
//! In TOML, the `name` tag picks the dataset and the remaining keys are its parameters (missing
//! keys take the paper's defaults; unknown keys are errors):
//!
//! ```toml
//! [data]
//! name = "chessboard"          # 4 x 4 board on [-1, 1]^2 ...
//! ambient_dim = 1024           # ... placed in R^1024
//! embedding = { kind = "random_isometry", seed = 7 }
//! ```

use std::path::PathBuf;

use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

use crate::chessboard::Chessboard;
use crate::dataset::Dataset;
use crate::embedding::SupportReport;
use crate::error::{DataError, invalid};
use crate::gmm::GaussianMixture;
use crate::mlp_manifold::MlpManifold;
use crate::mnist::{FashionMnist, MNIST_CLASSES, Mnist, PADDED_SIDE, mnist_files};
use crate::moons::Moons;
use crate::npy_dataset::NpyDataset;
use crate::toy::ToyDistribution;

/// Every dataset of the study, with its parameters. Serialised with a `name` tag:
/// `chessboard`, `moons`, `gmm`, `mlp_manifold`, `mnist`, `fashion_mnist`, `npy`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "snake_case", deny_unknown_fields)]
pub enum DatasetSpec {
    /// Uniform on the dark squares of a chessboard ([`Chessboard`]).
    Chessboard(Chessboard),
    /// Double moons ([`Moons`]).
    Moons(Moons),
    /// Gaussian mixture, 32 components in `R^4` by default ([`GaussianMixture`]).
    Gmm(GaussianMixture),
    /// 16-D manifold in 32 x 32 images with class stripes ([`MlpManifold`]).
    MlpManifold(MlpManifold),
    /// MNIST, 32 x 32 in `[-1, 1]` ([`Mnist`]).
    Mnist(Mnist),
    /// Fashion-MNIST, processed like MNIST ([`FashionMnist`]).
    FashionMnist(FashionMnist),
    /// Your own data from `.npy` files ([`NpyDataset`]); give `shape` so configs validate
    /// without the file.
    Npy(NpyDataset),
}

impl Default for DatasetSpec {
    /// The paper's headline low-dimensional setting: the 4 x 4 chessboard in `R^4`.
    fn default() -> Self {
        DatasetSpec::Chessboard(Chessboard::default())
    }
}

impl DatasetSpec {
    /// The `name` tag of the variant.
    pub fn name(&self) -> &'static str {
        match self {
            DatasetSpec::Chessboard(_) => "chessboard",
            DatasetSpec::Moons(_) => "moons",
            DatasetSpec::Gmm(_) => "gmm",
            DatasetSpec::MlpManifold(_) => "mlp_manifold",
            DatasetSpec::Mnist(_) => "mnist",
            DatasetSpec::FashionMnist(_) => "fashion_mnist",
            DatasetSpec::Npy(_) => "npy",
        }
    }

    /// Builds the data. Synthetic sets need `n = Some(count)` and are deterministic in `seed`.
    /// For (Fashion-)MNIST and `npy`, `n = None` loads the whole split in file order, and `Some(n)`
    /// keeps `n` samples drawn without replacement with `seed`.
    pub fn generate(&self, n: Option<usize>, seed: u64) -> Result<Dataset, DataError> {
        let count = || {
            n.ok_or_else(|| {
                invalid(
                    "n",
                    format!(
                        "the synthetic dataset `{}` needs a sample count (Some(n))",
                        self.name()
                    ),
                )
            })
        };
        match self {
            DatasetSpec::Chessboard(d) => d.generate(count()?, seed),
            DatasetSpec::Moons(d) => d.generate(count()?, seed),
            DatasetSpec::Gmm(d) => d.generate(count()?, seed),
            DatasetSpec::MlpManifold(d) => d.generate(count()?, seed),
            DatasetSpec::Mnist(d) => d.generate(n, seed),
            DatasetSpec::FashionMnist(d) => d.generate(n, seed),
            DatasetSpec::Npy(d) => d.generate(n, seed),
        }
    }

    /// The training set as [`Self::generate`] gives it, with `|u1` `.npy` samples left on disk
    /// and read by row ([`crate::Rows::Npy`]); every other dataset in memory.
    pub fn open(&self, n: Option<usize>, seed: u64) -> Result<crate::RowSet, DataError> {
        match self {
            DatasetSpec::Npy(d) => d.open(n, seed),
            other => other.generate(n, seed).map(crate::RowSet::from),
        }
    }

    /// Checks the parameters without generating anything (MNIST and `.npy` files are not read
    /// here; see [`NpyDataset::file_sample_shape`] for a cheap header check).
    pub fn validate(&self) -> Result<(), DataError> {
        match self.as_toy() {
            Some(toy) => toy.validate(),
            None => match self {
                DatasetSpec::MlpManifold(d) => d.validate(),
                DatasetSpec::Npy(d) => d.validate(),
                _ => Ok(()),
            },
        }
    }

    /// Checks the files the dataset reads, as loading it would (present, checksum where one is
    /// published, format, shapes, labels), without decoding the samples; returns the sample
    /// count of the files (`None` for the synthetic sets, which read none).
    pub fn check_files(&self) -> Result<Option<usize>, DataError> {
        match self {
            DatasetSpec::Mnist(d) => d.check_files().map(Some),
            DatasetSpec::FashionMnist(d) => d.check_files().map(Some),
            DatasetSpec::Npy(d) => d.check_files().map(Some),
            _ => Ok(None),
        }
    }

    /// The files whose content no published checksum pins (so a run keys its stages by their
    /// content hash): `npy` and Fashion-MNIST files. MNIST's are checked against their
    /// published md5 on every load ([`crate::mnist::MNIST_MD5`]): any other content fails.
    pub fn unpinned_files(&self) -> Vec<PathBuf> {
        match self {
            DatasetSpec::Mnist(_) => Vec::new(),
            _ => self.files(),
        }
    }

    /// The files the dataset reads, whether or not they exist (none for the synthetic sets).
    pub fn files(&self) -> Vec<PathBuf> {
        match self {
            DatasetSpec::Mnist(d) => {
                let f = mnist_files(&d.dir(), d.split);
                vec![f.images, f.labels]
            }
            DatasetSpec::FashionMnist(d) => {
                let f = mnist_files(&d.dir(), d.split);
                vec![f.images, f.labels]
            }
            DatasetSpec::Npy(d) => std::iter::once(d.samples_path())
                .chain(d.labels_path())
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Shape of one sample: `[D]` for the toys, `[1, S, S]` for images. For `npy` it is the
    /// config's `shape` when given, else read from the file's header (cheap); empty when neither
    /// is available (then [`Self::dim`] is 0).
    pub fn sample_shape(&self) -> Vec<usize> {
        match self {
            DatasetSpec::Chessboard(d) => vec![d.ambient_dim],
            DatasetSpec::Moons(d) => vec![d.ambient_dim],
            DatasetSpec::Gmm(d) => vec![d.ambient_dim],
            DatasetSpec::MlpManifold(d) => d.sample_shape(),
            DatasetSpec::Mnist(_) | DatasetSpec::FashionMnist(_) => {
                vec![1, PADDED_SIDE, PADDED_SIDE]
            }
            DatasetSpec::Npy(d) => d.sample_shape(),
        }
    }

    /// Flattened dimension of one sample (the number of columns of [`Dataset::x`]).
    pub fn dim(&self) -> usize {
        let shape = self.sample_shape();
        if shape.is_empty() {
            return 0;
        }
        shape.iter().product()
    }

    /// Intrinsic dimension `k` of the data, where it is known by construction: 2 for the
    /// chessboard (uniform on squares of a plane, whatever the embedding), `latent_dim` for the
    /// MLP-manifold; `None` for the others (moons are noisy arcs, the mixture's components
    /// have their own widths, MNIST's dimension is an estimate, not a parameter).
    pub fn intrinsic_dim(&self) -> Option<usize> {
        match self {
            DatasetSpec::Chessboard(_) => Some(2),
            DatasetSpec::MlpManifold(d) => Some(d.latent_dim),
            _ => None,
        }
    }

    /// Number of label classes, if the dataset has labels.
    pub fn num_classes(&self) -> Option<usize> {
        match self {
            DatasetSpec::Chessboard(d) => d.num_classes(),
            DatasetSpec::Moons(d) => d.num_classes(),
            DatasetSpec::Gmm(d) => d.num_classes(),
            DatasetSpec::MlpManifold(d) => d.stripes.then_some(d.num_classes),
            DatasetSpec::Mnist(_) | DatasetSpec::FashionMnist(_) => Some(MNIST_CLASSES),
            DatasetSpec::Npy(d) => d.num_classes(),
        }
    }

    /// The toy distribution behind the spec (chessboard, moons, mixture), if it is one.
    pub fn as_toy(&self) -> Option<&dyn ToyDistribution> {
        match self {
            DatasetSpec::Chessboard(d) => Some(d),
            DatasetSpec::Moons(d) => Some(d),
            DatasetSpec::Gmm(d) => Some(d),
            _ => None,
        }
    }

    /// For the toys, how many ambient points (`n x D`, e.g. teacher samples) lie on the data's
    /// support (see [`ToyDistribution::support_report`]); `None` for datasets without an exact
    /// support test (MLP-manifold, MNIST, `npy`).
    pub fn support_report(
        &self,
        points: ArrayView2<f32>,
        off_plane_tol: f32,
    ) -> Result<Option<SupportReport>, DataError> {
        self.as_toy()
            .map(|toy| toy.support_report(points, off_plane_tol))
            .transpose()
    }
}
