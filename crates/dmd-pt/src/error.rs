//! Errors: [`PtError`] names the file, [`ErrorKind`] says what is wrong with it.

use std::path::PathBuf;

use crate::tensor::DType;

/// A file that could not be read, and why.
#[derive(Debug, thiserror::Error)]
#[error("cannot read PyTorch file {}: {kind}", path.display())]
pub struct PtError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong with it.
    pub kind: ErrorKind,
}

/// What is wrong with a file (or, for [`ErrorKind::NotFloat`], with a conversion).
#[derive(Debug, thiserror::Error)]
pub enum ErrorKind {
    /// Opening or reading the file failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The file is the format `torch.save` wrote before PyTorch 1.6 (one pickle after another,
    /// not a zip archive).
    #[error(
        "this is the legacy (pre-1.6) torch.save format, which is not supported; re-save it with \
         torch.save(..., _use_new_zipfile_serialization=True) or a current PyTorch"
    )]
    Legacy,
    /// The file is not a zip archive at all.
    #[error("not a zip archive (torch.save has written zip archives since PyTorch 1.6)")]
    NotZip,
    /// The file starts like a zip archive but cannot be read as one (corrupt, truncated, or
    /// using zip features `torch.save` does not, such as compression).
    #[error("{0}")]
    Zip(String),
    /// The archive has no `<folder>/data.pkl`.
    #[error("no <folder>/data.pkl in the archive: not a torch.save file")]
    MissingDataPkl,
    /// The archive's `byteorder` record is not `little`.
    #[error(
        "the tensors were saved in {0:?} byte order; only little-endian files are supported \
         (re-save them on a little-endian machine)"
    )]
    ByteOrder(String),
    /// The pickle uses an opcode this reader does not implement.
    #[error("unsupported pickle opcode {name} (0x{opcode:02x}) at byte {offset} of data.pkl")]
    UnsupportedOpcode {
        /// The opcode byte.
        opcode: u8,
        /// The opcode's name in Python's `pickletools`, or `unknown`.
        name: &'static str,
        /// Its offset in `data.pkl`.
        offset: usize,
    },
    /// The pickle names a global (a class or function) outside the allow-list.
    #[error(
        "unsupported global {module}.{name} in data.pkl: only state-dict globals are allowed \
         (no code from the file is ever run)"
    )]
    UnsupportedGlobal {
        /// The global's module.
        module: String,
        /// The global's name.
        name: String,
    },
    /// The pickle is malformed or uses a supported opcode in an unsupported way.
    #[error("bad pickle at byte {offset} of data.pkl: {message}")]
    Pickle {
        /// Offset of the offending opcode in `data.pkl`.
        offset: usize,
        /// What is wrong.
        message: String,
    },
    /// The pickle's object tree could not be turned into a [`Value`](crate::Value).
    #[error("unsupported value at `{at}`: {message}")]
    Value {
        /// Where in the tree (dotted key path).
        at: String,
        /// What is wrong.
        message: String,
    },
    /// A tensor refers to a storage the archive does not hold.
    #[error("storage `{key}` (data/{key}) is missing from the archive")]
    MissingStorage {
        /// The storage key.
        key: String,
    },
    /// A storage holds fewer bytes than the pickle says it has.
    #[error("storage `{key}` holds {actual} bytes, but the pickle says {expected}")]
    ShortStorage {
        /// The storage key.
        key: String,
        /// Bytes the pickle declares (elements times element size).
        expected: u64,
        /// Bytes in the archive.
        actual: u64,
    },
    /// A tensor's offset, shape and stride reach past the end of its storage.
    #[error(
        "tensor `{tensor}` ({view}) runs past the end of its storage `{key}` ({numel} elements)"
    )]
    ViewOutOfBounds {
        /// The tensor's dotted name.
        tensor: String,
        /// The view: `offset 5, shape [6, 4], stride [4, 1]` (in elements).
        view: String,
        /// Its storage key.
        key: String,
        /// Elements in the storage.
        numel: u64,
    },
    /// A tensor's contiguous copy could not be allocated.
    #[error("tensor `{tensor}` needs {bytes} bytes, which cannot be allocated")]
    TooLarge {
        /// The tensor's dotted name.
        tensor: String,
        /// Bytes requested (saturated at `u64::MAX`).
        bytes: u64,
    },
    /// A key path given to [`read_state_dict_at`](crate::read_state_dict_at) or
    /// [`Value::lookup`](crate::Value::lookup) does not exist.
    #[error("no entry `{key}` {at}: {found}")]
    NoSuchKey {
        /// The missing key.
        key: String,
        /// Where it was looked for: `at the top level`, or `in` and the dotted path.
        at: String,
        /// What is there instead: the dictionary's keys, or the type of a non-dictionary.
        found: String,
    },
    /// Flattening gave two tensors the same dotted name (e.g. keys `a.b` and `a` → `b`).
    #[error("two tensors are both named `{0}` once nested keys are joined with dots")]
    DuplicateName(String),
    /// [`RawTensor::to_f32`](crate::RawTensor::to_f32) on a tensor that is not floating point.
    #[error("a {0} tensor is not floating point and is not converted to f32")]
    NotFloat(DType),
}
