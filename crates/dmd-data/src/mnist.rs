//! MNIST (and Fashion-MNIST) from IDX files, as 32 x 32 images in `[-1, 1]`.
//!
//! Files: `<dir>/{train,t10k}-images.idx3-ubyte` and `<dir>/{train,t10k}-labels.idx1-ubyte`
//! (the names `cargo xtask setup` writes). The Fashion-MNIST names of the Debian package
//! (`train-images-idx3-ubyte.gz`, with a dash) and gzipped variants of both are also found.
//!
//! Processing: each 28 x 28 image is zero-padded by 2 pixels on every side to 32 x 32 (the
//! paper's MNIST resolution) and scaled as `x / 127.5 - 1`, so ink is near 1, background and
//! padding exactly -1. Validation is strict: images must be `n x 28 x 28`, labels `n` values in
//! `0..=9` with the same `n`.

use std::path::{Path, PathBuf};

use ndarray::{Array1, Array2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::dataset::Dataset;
use crate::error::{DataError, invalid};
use crate::idx::{IdxArray, parse_idx, read_file};
use crate::paths::{default_fashion_mnist_dir, default_mnist_dir};

/// Side of the stored MNIST images.
pub const MNIST_SIDE: usize = 28;
/// Side after zero-padding (the paper's resolution).
pub const PADDED_SIDE: usize = 32;
/// Number of digit classes.
pub const MNIST_CLASSES: usize = 10;

/// Which part of the data set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Split {
    /// The 60,000 training images (`train-*`).
    #[default]
    Train,
    /// The 10,000 test images (`t10k-*`).
    Test,
}

impl Split {
    /// File-name prefix of the split: `train` or `t10k`.
    pub fn prefix(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Test => "t10k",
        }
    }
}

/// The pair of IDX files of one split.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdxFilePair {
    /// The images file (`*-images.idx3-ubyte`).
    pub images: PathBuf,
    /// The labels file (`*-labels.idx1-ubyte`).
    pub labels: PathBuf,
}

/// The canonical MNIST file names of a split in `dir` (the files may not exist).
pub fn mnist_files(dir: &Path, split: Split) -> IdxFilePair {
    IdxFilePair {
        images: dir.join(format!("{}-images.idx3-ubyte", split.prefix())),
        labels: dir.join(format!("{}-labels.idx1-ubyte", split.prefix())),
    }
}

/// Finds the existing file among the accepted names of `kind` (`images`/`idx3` or
/// `labels`/`idx1`), or returns the canonical name (for the error message).
fn resolve(dir: &Path, split: Split, kind: &str, idx: &str) -> PathBuf {
    let p = split.prefix();
    let candidates = [
        format!("{p}-{kind}.{idx}-ubyte"),
        format!("{p}-{kind}-{idx}-ubyte"),
        format!("{p}-{kind}.{idx}-ubyte.gz"),
        format!("{p}-{kind}-{idx}-ubyte.gz"),
    ];
    candidates
        .iter()
        .map(|c| dir.join(c))
        .find(|path| path.is_file())
        .unwrap_or_else(|| dir.join(&candidates[0]))
}

/// Loads one split of MNIST (or any IDX set with MNIST's layout, e.g. Fashion-MNIST) from `dir`.
pub fn load_mnist(dir: &Path, split: Split) -> Result<Dataset, DataError> {
    load_image_split(dir, split, MNIST_SETUP_HINT, None)
}

const MNIST_SETUP_HINT: &str = "MNIST is not installed: run `cargo xtask setup` (it fetches the \
     four IDX files into the data folder's mnist/: $DMD_DATA, else $DMD_HOME/data, else \
     <workspace>/data), or point `dir` / DMD_DATA at a folder holding them";

const FASHION_SETUP_HINT: &str = "Fashion-MNIST is not installed: run `apt-get install \
     dataset-fashion-mnist` (files in /usr/share/datasets/fashion-mnist) or put the four IDX \
     files in <data folder>/fashion-mnist";

/// The md5 sums of the four canonical (uncompressed) MNIST files, as published with the
/// dataset; [`Mnist::load`] checks every file it reads against them.
pub const MNIST_MD5: [(&str, &str); 4] = [
    (
        "train-images.idx3-ubyte",
        "6bbc9ace898e44ae57da46a324031adb",
    ),
    (
        "train-labels.idx1-ubyte",
        "a25bea736e30d166cdddb491f175f624",
    ),
    ("t10k-images.idx3-ubyte", "2646ac647ad5339dbf082846283269ea"),
    ("t10k-labels.idx1-ubyte", "27ae3e4e09519cfbb04c329615203637"),
];

/// Checks `bytes` read from `path` against [`MNIST_MD5`] when `path` has a canonical MNIST
/// name (an error naming the file and the fix when they differ); other names pass.
pub fn verify_mnist_md5(path: &Path, bytes: &[u8]) -> Result<(), DataError> {
    use md5::{Digest, Md5};
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let Some((_, want)) = MNIST_MD5.iter().find(|(n, _)| name.as_deref() == Some(*n)) else {
        return Ok(());
    };
    let got: String = Md5::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    if got != *want {
        return Err(DataError::Format {
            path: path.to_path_buf(),
            reason: format!(
                "md5 {got} is not MNIST's {want}: the file is corrupt or altered; delete it and run `cargo xtask setup` to fetch it again"
            ),
        });
    }
    Ok(())
}

/// A check of a file's bytes before they are parsed.
type Verify = fn(&Path, &[u8]) -> Result<(), DataError>;

fn load_image_split(
    dir: &Path,
    split: Split,
    hint: &str,
    verify: Option<Verify>,
) -> Result<Dataset, DataError> {
    let (images, images_path, labels, labels_path) = read_split(dir, split, hint, verify)?;
    decode_pair(&images, &images_path, &labels, &labels_path)
}

/// Reads (and verifies) one split's images and labels files: `(images, its path, labels, its
/// path)`.
fn read_split(
    dir: &Path,
    split: Split,
    hint: &str,
    verify: Option<Verify>,
) -> Result<(IdxArray, PathBuf, IdxArray, PathBuf), DataError> {
    let images_path = resolve(dir, split, "images", "idx3");
    let labels_path = resolve(dir, split, "labels", "idx1");
    let images = read_idx(&images_path, hint, verify)?;
    let labels = read_idx(&labels_path, hint, verify)?;
    Ok((images, images_path, labels, labels_path))
}

/// Reads, verifies and validates one split's files without decoding the images (what
/// `dmd check` runs); returns the image count.
fn check_image_split(
    dir: &Path,
    split: Split,
    hint: &str,
    verify: Option<Verify>,
) -> Result<usize, DataError> {
    let (images, images_path, labels, labels_path) = read_split(dir, split, hint, verify)?;
    check_pair(&images, &images_path, &labels, &labels_path)
}

fn read_idx(path: &Path, hint: &str, verify: Option<Verify>) -> Result<IdxArray, DataError> {
    let bytes = read_file(path, hint)?;
    if let Some(v) = verify {
        v(path, &bytes)?;
    }
    parse_idx(&bytes).map_err(|source| DataError::Idx {
        path: path.to_path_buf(),
        source,
    })
}

/// Validates an images/labels IDX pair and converts it to a padded, scaled [`Dataset`].
pub fn decode_pair(
    images: &IdxArray,
    images_path: &Path,
    labels: &IdxArray,
    labels_path: &Path,
) -> Result<Dataset, DataError> {
    let n = check_pair(images, images_path, labels, labels_path)?;
    Ok(Dataset {
        x: pad_and_scale(&images.data, n),
        labels: Some(labels.data.iter().map(|&l| i64::from(l)).collect()),
        shape: vec![1, PADDED_SIDE, PADDED_SIDE],
        num_classes: Some(MNIST_CLASSES),
    })
}

/// Validates an images/labels IDX pair (shapes, counts, labels 0-9); returns the image count.
fn check_pair(
    images: &IdxArray,
    images_path: &Path,
    labels: &IdxArray,
    labels_path: &Path,
) -> Result<usize, DataError> {
    let format_err = |path: &Path, reason: String| DataError::Format {
        path: path.to_path_buf(),
        reason,
    };
    if images.dims.len() != 3 || images.dims[1] != MNIST_SIDE || images.dims[2] != MNIST_SIDE {
        return Err(format_err(
            images_path,
            format!(
                "expected images of shape n x {MNIST_SIDE} x {MNIST_SIDE}, found {:?}",
                images.dims
            ),
        ));
    }
    if labels.dims.len() != 1 {
        return Err(format_err(
            labels_path,
            format!("expected a 1-D label array, found shape {:?}", labels.dims),
        ));
    }
    let n = images.dims[0];
    if images.data.len() != n * MNIST_SIDE * MNIST_SIDE || labels.data.len() != labels.dims[0] {
        return Err(format_err(
            images_path,
            "IdxArray data length disagrees with its dims".to_string(),
        ));
    }
    if labels.dims[0] != n {
        return Err(format_err(
            labels_path,
            format!(
                "holds {} labels but {} holds {n} images",
                labels.dims[0],
                images_path.display()
            ),
        ));
    }
    if let Some(pos) = labels
        .data
        .iter()
        .position(|&l| l as usize >= MNIST_CLASSES)
    {
        return Err(format_err(
            labels_path,
            format!(
                "label {} at index {pos} is not a digit 0-9",
                labels.data[pos]
            ),
        ));
    }
    Ok(n)
}

/// `n` row-major 28 x 28 byte images -> `n x 1024` rows, zero-padded to 32 x 32 and scaled by
/// `x / 127.5 - 1` (padding = -1).
fn pad_and_scale(pixels: &[u8], n: usize) -> Array2<f32> {
    let pad = (PADDED_SIDE - MNIST_SIDE) / 2;
    let scale: [f32; 256] = std::array::from_fn(|v| v as f32 / 127.5 - 1.0);
    let mut out = vec![-1.0f32; n * PADDED_SIDE * PADDED_SIDE];
    for (dst, image) in out
        .chunks_exact_mut(PADDED_SIDE * PADDED_SIDE)
        .zip(pixels.chunks_exact(MNIST_SIDE * MNIST_SIDE))
    {
        for (r, line) in image.chunks_exact(MNIST_SIDE).enumerate() {
            let start = (r + pad) * PADDED_SIDE + pad;
            for (d, &v) in dst[start..start + MNIST_SIDE].iter_mut().zip(line) {
                *d = scale[usize::from(v)];
            }
        }
    }
    Array2::from_shape_vec((n, PADDED_SIDE * PADDED_SIDE), out)
        .expect("buffer length is n * 32 * 32 by construction")
}

/// Keeps `n` samples drawn without replacement (seeded partial Fisher-Yates), in draw order;
/// `None` keeps everything in file order.
pub(crate) fn subsample(data: Dataset, n: Option<usize>, seed: u64) -> Result<Dataset, DataError> {
    let Some(keep) = subsample_indices(data.len(), n, seed)? else {
        return Ok(data);
    };
    let x = data.x.select(ndarray::Axis(0), &keep);
    let labels = data
        .labels
        .map(|l| keep.iter().map(|&i| l[i]).collect::<Array1<i64>>());
    Ok(Dataset { x, labels, ..data })
}

/// The rows [`subsample`] keeps of a set of `total`: `n` drawn without replacement with
/// `seed`, in draw order; `None` for all of them in file order.
pub(crate) fn subsample_indices(
    total: usize,
    n: Option<usize>,
    seed: u64,
) -> Result<Option<Vec<usize>>, DataError> {
    let Some(n) = n else { return Ok(None) };
    if n > total {
        return Err(invalid(
            "n",
            format!("asked for {n} samples but the split holds only {total}"),
        ));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut order: Vec<usize> = (0..total).collect();
    for i in 0..n {
        let j = rng.random_range(i..total);
        order.swap(i, j);
    }
    order.truncate(n);
    Ok(Some(order))
}

/// MNIST as a dataset spec: a split and an optional folder (default [`default_mnist_dir`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Mnist {
    /// Train (60,000) or test (10,000).
    pub split: Split,
    /// Folder with the IDX files; `None` = `<data folder>/mnist` ([`default_mnist_dir`]).
    pub dir: Option<PathBuf>,
}

impl Mnist {
    /// The folder the files are read from.
    pub fn dir(&self) -> PathBuf {
        self.dir.clone().unwrap_or_else(default_mnist_dir)
    }

    /// The whole split in file order.
    pub fn load(&self) -> Result<Dataset, DataError> {
        load_image_split(
            &self.dir(),
            self.split,
            MNIST_SETUP_HINT,
            Some(verify_mnist_md5),
        )
    }

    /// Checks the split's files as [`Self::load`] would (present, md5, IDX format, shapes,
    /// labels) without decoding the images; returns the image count.
    pub fn check_files(&self) -> Result<usize, DataError> {
        check_image_split(
            &self.dir(),
            self.split,
            MNIST_SETUP_HINT,
            Some(verify_mnist_md5),
        )
    }

    /// `n = None`: the whole split in file order; `Some(n)`: `n` images drawn without replacement
    /// with `seed`.
    pub fn generate(&self, n: Option<usize>, seed: u64) -> Result<Dataset, DataError> {
        subsample(self.load()?, n, seed)
    }
}

/// Fashion-MNIST as a dataset spec (same layout and processing as MNIST); default folder
/// [`default_fashion_mnist_dir`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FashionMnist {
    /// Train (60,000) or test (10,000).
    pub split: Split,
    /// Folder with the IDX files; `None` = `<data folder>/fashion-mnist` if it exists, else
    /// `/usr/share/datasets/fashion-mnist`.
    pub dir: Option<PathBuf>,
}

impl FashionMnist {
    /// The folder the files are read from.
    pub fn dir(&self) -> PathBuf {
        self.dir.clone().unwrap_or_else(default_fashion_mnist_dir)
    }

    /// The whole split in file order.
    pub fn load(&self) -> Result<Dataset, DataError> {
        load_image_split(&self.dir(), self.split, FASHION_SETUP_HINT, None)
    }

    /// As [`Mnist::check_files`] (no published checksum to compare against).
    pub fn check_files(&self) -> Result<usize, DataError> {
        check_image_split(&self.dir(), self.split, FASHION_SETUP_HINT, None)
    }

    /// As [`Mnist::generate`].
    pub fn generate(&self, n: Option<usize>, seed: u64) -> Result<Dataset, DataError> {
        subsample(self.load()?, n, seed)
    }
}
