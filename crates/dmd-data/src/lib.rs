//! # dmd-data
//!
//! The datasets of the DMD copying study as `ndarray` arrays (rows = samples, `f32`),
//! deterministic by seed and free of any torch dependency: low-dimensional toys (chessboard,
//! double moons, a 32-component Gaussian mixture) placed in an ambient space of any dimension,
//! the MLP-manifold (a low-dimensional Gaussian pushed through a fixed random MLP, plus class
//! stripes), MNIST read from IDX files, and your own data read from NumPy `.npy` files
//! ([`NpyDataset`], `name = "npy"`, e.g. ImageNet-64 arrays saved with `np.save`).
//!
//! Every dataset is a small parameter struct whose `Default` is the paper's setting, and all of
//! them are named by one serde enum, [`DatasetSpec`], so a TOML config can select any of them.
//! Generation takes a sample count and a seed (a `ChaCha8Rng` seeded from the `u64`): the same
//! seed gives bit-identical arrays.
//!
//! ```
//! use dmd_data::{Chessboard, DatasetSpec, Embedding, ToyDistribution};
//!
//! // The paper's chessboard: 4 x 4 board on [-1, 1]^2 in the first two coordinates of R^4.
//! let spec = DatasetSpec::Chessboard(Chessboard::default());
//! let data = spec.generate(Some(1000), 0)?;
//! assert_eq!(data.x.shape(), &[1000, 4]);
//! assert_eq!(data.shape, vec![4]);
//!
//! // The same board on a random 2-plane of R^64; project back to test the support.
//! let board = Chessboard {
//!     ambient_dim: 64,
//!     embedding: Embedding::RandomIsometry { seed: 7 },
//!     ..Chessboard::default()
//! };
//! let high = board.generate(500, 1)?;
//! let report = board.support_report(high.x.view(), 1e-4)?;
//! assert_eq!(report.fraction_on_support, 1.0);
//!
//! // Any dataset from a config (here TOML): missing keys take the paper's defaults.
//! let from_config: DatasetSpec = toml::from_str("name = \"moons\"\nambient_dim = 16").unwrap();
//! assert_eq!(from_config, DatasetSpec::Moons(dmd_data::Moons { ambient_dim: 16, ..Default::default() }));
//! let moons = from_config.generate(Some(256), 3)?;
//! assert_eq!(moons.num_classes, Some(2));
//! # Ok::<(), dmd_data::DataError>(())
//! ```
//!
//! Modules: [`chessboard`], [`moons`], [`gmm`] (the toys, sharing [`ToyDistribution`] and
//! [`embedding`]), [`mlp_manifold`] with [`stripes`], [`mnist`] with [`idx`], [`spec`],
//! [`npy_dataset`] with [`npy`] (bring your own data), [`paths`] (where downloaded data live).

pub mod chessboard;
pub mod dataset;
pub mod embedding;
pub mod error;
pub mod gmm;
pub mod idx;
mod linalg;
pub mod mlp_manifold;
pub mod mnist;
pub mod moons;
pub mod npy;
pub mod npy_dataset;
pub mod paths;
pub mod rows;
pub mod spec;
pub mod stripes;
pub mod toy;

pub use chessboard::Chessboard;
pub use dataset::Dataset;
pub use embedding::{DEFAULT_OFF_PLANE_TOL, Embedder, Embedding, SupportReport};
pub use error::{DataError, IdxError, NpyError};
pub use gmm::GaussianMixture;
pub use idx::{IdxArray, encode_idx, parse_idx, read_idx_file};
pub use mlp_manifold::{MlpManifold, MlpManifoldMap};
pub use mnist::{FashionMnist, Mnist, Split, load_mnist, mnist_files};
pub use moons::Moons;
pub use npy::{
    NpyArray, NpyDtype, NpyHeader, NpyScale, encode_npy_f32, parse_npy_f32, parse_npy_header,
    parse_npy_i64, read_npy_f32, read_npy_header, read_npy_i64, write_npy_f32,
};
pub use npy_dataset::NpyDataset;
pub use paths::{default_data_dir, default_fashion_mnist_dir, default_mnist_dir};
pub use rows::{NpyRows, RowSet, Rows};
pub use spec::DatasetSpec;
pub use toy::ToyDistribution;
